/* Large benchmark program: several independent components, each exercised by main()
 * and folded into printed checksums.
 *   1. recursive-descent expression parser and evaluator with variables
 *   2. backtracking regular-expression matcher (. * + ? ^ $ [] classes)
 *   3. binary-heap priority queue driving Dijkstra's shortest paths
 *   4. integer matrix operations modulo a prime (multiply, power, determinant)
 *   5. LZ77-style compressor and decompressor
 *   6. table-driven CRC-32
 *   7. arbitrary-precision unsigned add and multiply (factorials, Fibonacci)
 *   8. base64 encoding and decoding
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* 1. Expression parser and evaluator                                  */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *src;
    int pos;
    int error;
    long long vars[26];
} Parser;

static void skip_spaces(Parser *p) {
    while (p->src[p->pos] == ' ' || p->src[p->pos] == '\t')
        p->pos++;
}

static int peek(Parser *p) {
    skip_spaces(p);
    return (unsigned char)p->src[p->pos];
}

static int accept(Parser *p, char c) {
    if (peek(p) == c) {
        p->pos++;
        return 1;
    }
    return 0;
}

static long long clamp_value(long long v) {
    const long long limit = 1000000000000LL;
    if (v > limit)
        return limit;
    if (v < -limit)
        return -limit;
    return v;
}

/* Multiplies two clamped values, saturating instead of overflowing. */
static long long mul_clamped(long long a, long long b) {
    const long long limit = 1000000000000LL;
    long long ua = a < 0 ? -a : a, ub = b < 0 ? -b : b;
    if (ua != 0 && ub > limit / ua)
        return (a < 0) != (b < 0) ? -limit : limit;
    return a * b;
}

static long long parse_expr(Parser *p);

static long long parse_number(Parser *p) {
    long long v = 0;
    int digits = 0;
    while (p->src[p->pos] >= '0' && p->src[p->pos] <= '9') {
        if (v < 100000000000LL)
            v = v * 10 + (p->src[p->pos] - '0');
        p->pos++;
        digits++;
    }
    if (digits == 0)
        p->error = 1;
    return clamp_value(v);
}

static long long call_builtin(Parser *p, const char *name, int len) {
    long long args[4];
    int n = 0;
    if (!accept(p, '(')) {
        p->error = 1;
        return 0;
    }
    if (!accept(p, ')')) {
        do {
            long long v = parse_expr(p);
            if (n < 4)
                args[n++] = v;
        } while (accept(p, ','));
        if (!accept(p, ')'))
            p->error = 1;
    }
    if (len == 3 && strncmp(name, "max", 3) == 0 && n >= 1) {
        long long m = args[0];
        for (int i = 1; i < n; i++)
            if (args[i] > m)
                m = args[i];
        return m;
    }
    if (len == 3 && strncmp(name, "min", 3) == 0 && n >= 1) {
        long long m = args[0];
        for (int i = 1; i < n; i++)
            if (args[i] < m)
                m = args[i];
        return m;
    }
    if (len == 3 && strncmp(name, "abs", 3) == 0 && n == 1)
        return args[0] < 0 ? -args[0] : args[0];
    if (len == 3 && strncmp(name, "gcd", 3) == 0 && n == 2) {
        long long a = args[0] < 0 ? -args[0] : args[0];
        long long b = args[1] < 0 ? -args[1] : args[1];
        while (b != 0) {
            long long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
    p->error = 1;
    return 0;
}

static long long parse_primary(Parser *p) {
    int c = peek(p);
    if (c == '(') {
        p->pos++;
        long long v = parse_expr(p);
        if (!accept(p, ')'))
            p->error = 1;
        return v;
    }
    if (c == '-') {
        p->pos++;
        return -parse_primary(p);
    }
    if (c >= '0' && c <= '9')
        return parse_number(p);
    if (c >= 'a' && c <= 'z') {
        int start = p->pos;
        while (p->src[p->pos] >= 'a' && p->src[p->pos] <= 'z')
            p->pos++;
        int len = p->pos - start;
        if (len == 1)
            return p->vars[c - 'a'];
        return call_builtin(p, p->src + start, len);
    }
    p->error = 1;
    return 0;
}

static long long parse_power(Parser *p) {
    long long base = parse_primary(p);
    if (accept(p, '^')) {
        long long e = parse_power(p);
        long long r = 1;
        for (long long i = 0; i < e && i < 62; i++)
            r = mul_clamped(r, base);
        return r;
    }
    return base;
}

static long long parse_term(Parser *p) {
    long long v = parse_power(p);
    for (;;) {
        if (accept(p, '*')) {
            v = mul_clamped(v, parse_power(p));
        } else if (accept(p, '/')) {
            long long d = parse_power(p);
            if (d == 0)
                p->error = 1;
            else
                v /= d;
        } else if (accept(p, '%')) {
            long long d = parse_power(p);
            if (d == 0)
                p->error = 1;
            else
                v %= d;
        } else {
            return v;
        }
    }
}

static long long parse_expr(Parser *p) {
    long long v = parse_term(p);
    for (;;) {
        if (accept(p, '+'))
            v = clamp_value(v + parse_term(p));
        else if (accept(p, '-'))
            v = clamp_value(v - parse_term(p));
        else
            return v;
    }
}

/* Statement: either "x = expr" or a bare expression. */
static long long eval_statement(Parser *p, const char *line) {
    p->src = line;
    p->pos = 0;
    p->error = 0;
    int target = -1;
    skip_spaces(p);
    if (line[p->pos] >= 'a' && line[p->pos] <= 'z' &&
        !(line[p->pos + 1] >= 'a' && line[p->pos + 1] <= 'z')) {
        int save = p->pos;
        int var = line[p->pos] - 'a';
        p->pos++;
        if (accept(p, '='))
            target = var;
        else
            p->pos = save;
    }
    long long v = parse_expr(p);
    if (peek(p) != '\0')
        p->error = 1;
    if (!p->error && target >= 0)
        p->vars[target] = v;
    return p->error ? 0 : v;
}

static unsigned run_expressions(void) {
    static const char *const program[] = {
        "a = 12",
        "b = a * 3 + 4",
        "c = (a + b) * (b - a) / 7",
        "d = 2 ^ 10 - max(a, b, c)",
        "e = gcd(462, 1071) + min(9, -3, 4)",
        "f = abs(a - b * c) % 97",
        "-(a + b) * -(c - d) + e * f",
        "g = 3 ^ 2 ^ 2",
        "h = (g % 13) * (g / 13) - 17",
        "1 + + 2",
        "x = y = 3",
        "max(a, b",
        "a * (b + c) * (d + e) * (f + g) * (h + 1000)",
    };
    Parser p;
    memset(&p, 0, sizeof p);
    unsigned h = 17;
    int errors = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof program / sizeof program[0]; i++) {
            long long v = eval_statement(&p, program[i]);
            errors += p.error;
            h = h * 31u + (unsigned)(unsigned long long)v;
        }
        p.vars['a' - 'a'] += round;
    }
    return h ^ (unsigned)errors;
}

/* ------------------------------------------------------------------ */
/* 2. Backtracking regular-expression matcher                          */
/* ------------------------------------------------------------------ */

/* Length of the single-character atom at re: a literal, '.', an escape or a class. */
static int atom_length(const char *re) {
    if (re[0] == '\\' && re[1] != '\0')
        return 2;
    if (re[0] == '[') {
        int i = 1;
        if (re[i] == '^')
            i++;
        if (re[i] == ']')
            i++;
        while (re[i] != '\0' && re[i] != ']')
            i++;
        return re[i] == ']' ? i + 1 : i;
    }
    return 1;
}

static int class_matches(const char *cls, int len, char c) {
    int i = 1, negate = 0, found = 0;
    if (cls[i] == '^') {
        negate = 1;
        i++;
    }
    int end = cls[len - 1] == ']' ? len - 1 : len;
    while (i < end) {
        if (i + 2 < end && cls[i + 1] == '-') {
            if (c >= cls[i] && c <= cls[i + 2])
                found = 1;
            i += 3;
        } else {
            if (c == cls[i])
                found = 1;
            i++;
        }
    }
    return found != negate;
}

static int atom_matches(const char *re, int len, char c) {
    if (c == '\0')
        return 0;
    if (re[0] == '.')
        return 1;
    if (re[0] == '[')
        return class_matches(re, len, c);
    if (re[0] == '\\') {
        switch (re[1]) {
        case 'd': return c >= '0' && c <= '9';
        case 'w': return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_';
        case 's': return c == ' ' || c == '\t' || c == '\n';
        default: return c == re[1];
        }
    }
    return c == re[0];
}

static unsigned regex_steps;

static int match_here(const char *re, const char *text);

/* Greedy repetition of an atom, at least min times, then the rest of the pattern. */
static int match_repeat(const char *atom, int alen, int min, const char *rest, const char *text) {
    const char *t = text;
    while (atom_matches(atom, alen, *t))
        t++;
    for (;;) {
        regex_steps++;
        if (t - text >= min && match_here(rest, t))
            return 1;
        if (t == text)
            return 0;
        t--;
    }
}

static int match_here(const char *re, const char *text) {
    regex_steps++;
    if (re[0] == '\0')
        return 1;
    if (re[0] == '$' && re[1] == '\0')
        return *text == '\0';
    int alen = atom_length(re);
    char op = re[alen];
    if (op == '*')
        return match_repeat(re, alen, 0, re + alen + 1, text);
    if (op == '+')
        return match_repeat(re, alen, 1, re + alen + 1, text);
    if (op == '?') {
        if (atom_matches(re, alen, *text) && match_here(re + alen + 1, text + 1))
            return 1;
        return match_here(re + alen + 1, text);
    }
    if (atom_matches(re, alen, *text))
        return match_here(re + alen, text + 1);
    return 0;
}

/* Returns the offset of the first match, or -1. */
static int regex_search(const char *re, const char *text) {
    if (re[0] == '^')
        return match_here(re + 1, text) ? 0 : -1;
    const char *t = text;
    do {
        if (match_here(re, t))
            return (int)(t - text);
    } while (*t++ != '\0');
    return -1;
}

static unsigned run_regex(void) {
    static const char *const patterns[] = {
        "^hello", "wor.d$", "a*b+c?d", "[0-9]+\\.[0-9]+", "\\w+@\\w+\\.com",
        "^[^ ]+ [a-z]+$", "colou?r", "x[a-c-]*y", "\\s\\d\\d\\s", "(", "^$", "z+z+z+z+q",
    };
    static const char *const texts[] = {
        "hello world", "say hello to the world", "aaabbbd and abcd", "pi is 3.14159 or so",
        "mail bob@example.com now", "one two", "the color and the colour",
        "xay xa-by xy x-y", "call 42 now or 7 later", "", "zzzzzzzzzzzzzzzzzzzzzzzz", "(paren)",
    };
    unsigned h = 5381;
    int hits = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
            for (size_t j = 0; j < sizeof texts / sizeof texts[0]; j++) {
                int at = regex_search(patterns[i], texts[j]);
                if (at >= 0)
                    hits++;
                h = h * 33u + (unsigned)(at + 2);
            }
        }
    }
    return h ^ ((unsigned)hits << 20) ^ regex_steps;
}

/* ------------------------------------------------------------------ */
/* 3. Binary-heap priority queue and Dijkstra's algorithm              */
/* ------------------------------------------------------------------ */

typedef struct {
    unsigned priority;
    int value;
} HeapEntry;

typedef struct {
    HeapEntry *items;
    int size;
    int capacity;
} Heap;

static int heap_init(Heap *h, int capacity) {
    h->items = malloc((size_t)capacity * sizeof *h->items);
    h->size = 0;
    h->capacity = h->items ? capacity : 0;
    return h->items != NULL;
}

static void heap_free(Heap *h) {
    free(h->items);
    h->items = NULL;
    h->size = h->capacity = 0;
}

static int heap_push(Heap *h, unsigned priority, int value) {
    if (h->size == h->capacity) {
        int cap = h->capacity ? h->capacity * 2 : 16;
        HeapEntry *grown = realloc(h->items, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return 0;
        h->items = grown;
        h->capacity = cap;
    }
    int i = h->size++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (h->items[parent].priority <= priority)
            break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i].priority = priority;
    h->items[i].value = value;
    return 1;
}

static HeapEntry heap_pop(Heap *h) {
    HeapEntry top = h->items[0];
    HeapEntry last = h->items[--h->size];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= h->size)
            break;
        if (child + 1 < h->size && h->items[child + 1].priority < h->items[child].priority)
            child++;
        if (last.priority <= h->items[child].priority)
            break;
        h->items[i] = h->items[child];
        i = child;
    }
    if (h->size > 0)
        h->items[i] = last;
    return top;
}

#define GRID_W 24
#define GRID_H 18
#define INF_DIST 0xffffffffu

static unsigned cell_cost(int x, int y) {
    unsigned v = (unsigned)x * 73856093u ^ (unsigned)y * 19349663u;
    v ^= v >> 13;
    v *= 0x5bd1e995u;
    v ^= v >> 15;
    return 1u + v % 9u;
}

/* Shortest path on a grid graph where entering a cell costs cell_cost. */
static unsigned run_dijkstra(void) {
    static unsigned dist[GRID_W * GRID_H];
    static const int dx[4] = {1, -1, 0, 0};
    static const int dy[4] = {0, 0, 1, -1};
    Heap heap;
    if (!heap_init(&heap, 8))
        return 0;
    for (int i = 0; i < GRID_W * GRID_H; i++)
        dist[i] = INF_DIST;
    dist[0] = 0;
    heap_push(&heap, 0, 0);
    int pops = 0;
    while (heap.size > 0) {
        HeapEntry e = heap_pop(&heap);
        pops++;
        if (e.priority != dist[e.value])
            continue;
        int x = e.value % GRID_W, y = e.value / GRID_W;
        for (int d = 0; d < 4; d++) {
            int nx = x + dx[d], ny = y + dy[d];
            if (nx < 0 || ny < 0 || nx >= GRID_W || ny >= GRID_H)
                continue;
            int n = ny * GRID_W + nx;
            unsigned nd = e.priority + cell_cost(nx, ny);
            if (nd < dist[n]) {
                dist[n] = nd;
                heap_push(&heap, nd, n);
            }
        }
    }
    unsigned h = 0;
    for (int i = 0; i < GRID_W * GRID_H; i++)
        h = h * 2654435761u + dist[i];
    unsigned far = dist[GRID_W * GRID_H - 1];
    heap_free(&heap);

    /* Heap sort of pseudo-random keys as a second check on the queue. */
    Heap sorter;
    if (!heap_init(&sorter, 4))
        return h;
    unsigned seed = 987654321u;
    for (int i = 0; i < 500; i++) {
        seed = seed * 1664525u + 1013904223u;
        heap_push(&sorter, seed >> 8, i);
    }
    unsigned prev = 0, ordered = 1, order_hash = 0;
    while (sorter.size > 0) {
        HeapEntry e = heap_pop(&sorter);
        if (e.priority < prev)
            ordered = 0;
        prev = e.priority;
        order_hash = order_hash * 31u + (unsigned)e.value;
    }
    heap_free(&sorter);
    return h ^ far ^ (ordered << 31) ^ order_hash ^ (unsigned)pops;
}

/* ------------------------------------------------------------------ */
/* 4. Integer matrices modulo a prime                                  */
/* ------------------------------------------------------------------ */

#define MOD_P 1000003u
#define MAT_N 6

typedef struct {
    unsigned v[MAT_N][MAT_N];
} Matrix;

static unsigned mod_mul(unsigned a, unsigned b) {
    return (unsigned)((unsigned long long)a * b % MOD_P);
}

static unsigned mod_pow(unsigned base, unsigned exp) {
    unsigned result = 1;
    base %= MOD_P;
    while (exp > 0) {
        if (exp & 1u)
            result = mod_mul(result, base);
        base = mod_mul(base, base);
        exp >>= 1;
    }
    return result;
}

static void mat_identity(Matrix *m) {
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            m->v[i][j] = i == j;
}

static void mat_mul(const Matrix *a, const Matrix *b, Matrix *out) {
    Matrix tmp;
    for (int i = 0; i < MAT_N; i++) {
        for (int j = 0; j < MAT_N; j++) {
            unsigned long long acc = 0;
            for (int k = 0; k < MAT_N; k++)
                acc += (unsigned long long)a->v[i][k] * b->v[k][j];
            tmp.v[i][j] = (unsigned)(acc % MOD_P);
        }
    }
    *out = tmp;
}

static void mat_pow(const Matrix *m, unsigned exp, Matrix *out) {
    Matrix base = *m, result;
    mat_identity(&result);
    while (exp > 0) {
        if (exp & 1u)
            mat_mul(&result, &base, &result);
        mat_mul(&base, &base, &base);
        exp >>= 1;
    }
    *out = result;
}

/* Determinant by Gaussian elimination over GF(MOD_P). */
static unsigned mat_det(const Matrix *m) {
    Matrix a = *m;
    unsigned det = 1;
    for (int col = 0; col < MAT_N; col++) {
        int pivot = -1;
        for (int r = col; r < MAT_N; r++)
            if (a.v[r][col] != 0) {
                pivot = r;
                break;
            }
        if (pivot < 0)
            return 0;
        if (pivot != col) {
            for (int j = 0; j < MAT_N; j++) {
                unsigned t = a.v[col][j];
                a.v[col][j] = a.v[pivot][j];
                a.v[pivot][j] = t;
            }
            det = (MOD_P - det) % MOD_P;
        }
        det = mod_mul(det, a.v[col][col]);
        unsigned inv = mod_pow(a.v[col][col], MOD_P - 2);
        for (int r = col + 1; r < MAT_N; r++) {
            unsigned factor = mod_mul(a.v[r][col], inv);
            for (int j = col; j < MAT_N; j++) {
                unsigned sub = mod_mul(factor, a.v[col][j]);
                a.v[r][j] = (a.v[r][j] + MOD_P - sub) % MOD_P;
            }
        }
    }
    return det;
}

static unsigned mat_trace(const Matrix *m) {
    unsigned t = 0;
    for (int i = 0; i < MAT_N; i++)
        t = (t + m->v[i][i]) % MOD_P;
    return t;
}

static unsigned run_matrix(void) {
    Matrix m, p, q;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            m.v[i][j] = ((unsigned)(i * MAT_N + j) * 2654435761u >> 7) % MOD_P;
    unsigned h = 0;
    for (unsigned e = 1; e <= 40; e += 3) {
        mat_pow(&m, e, &p);
        h = h * 131u + mat_trace(&p);
        h ^= mat_det(&p);
    }
    /* det(A*B) == det(A)*det(B) */
    mat_pow(&m, 5, &p);
    mat_identity(&q);
    for (int i = 0; i < MAT_N; i++)
        q.v[i][(i + 1) % MAT_N] = (unsigned)(i + 3);
    Matrix pq;
    mat_mul(&p, &q, &pq);
    unsigned consistent = mat_det(&pq) == mod_mul(mat_det(&p), mat_det(&q));
    return h ^ (consistent << 30) ^ mat_det(&m);
}

/* ------------------------------------------------------------------ */
/* 5. LZ77-style compression                                           */
/* ------------------------------------------------------------------ */

/* Format: a control byte holds 8 flags (1 = match); a literal is one byte, a match is
 * two bytes: 12-bit distance - 1 and 4-bit length - 3. */
#define LZ_WINDOW 4096
#define LZ_MIN_MATCH 3
#define LZ_MAX_MATCH 18
#define LZ_HASH_BITS 10

static unsigned lz_hash3(const unsigned char *p) {
    unsigned v = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - LZ_HASH_BITS);
}

static size_t lz_compress(const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    static int head[1 << LZ_HASH_BITS];
    static int prev[LZ_WINDOW];
    for (int i = 0; i < (1 << LZ_HASH_BITS); i++)
        head[i] = -1;
    size_t ip = 0, op = 0, flag_pos = 0;
    int bit = 8;
    while (ip < n) {
        if (bit == 8) {
            if (op >= cap)
                return 0;
            flag_pos = op++;
            out[flag_pos] = 0;
            bit = 0;
        }
        size_t best_len = 0, best_dist = 0;
        if (ip + LZ_MIN_MATCH <= n) {
            unsigned hv = lz_hash3(in + ip);
            int cand = head[hv];
            int chain = 32;
            while (cand >= 0 && chain-- > 0 && ip - (size_t)cand <= LZ_WINDOW) {
                size_t len = 0;
                while (len < LZ_MAX_MATCH && ip + len < n && in[cand + len] == in[ip + len])
                    len++;
                if (len > best_len) {
                    best_len = len;
                    best_dist = ip - (size_t)cand;
                }
                int next = prev[cand % LZ_WINDOW];
                if (next >= cand)
                    break;
                cand = next;
            }
        }
        size_t advance;
        if (best_len >= LZ_MIN_MATCH) {
            if (op + 2 > cap)
                return 0;
            unsigned code = (unsigned)(best_dist - 1) << 4 | (unsigned)(best_len - LZ_MIN_MATCH);
            out[op++] = (unsigned char)(code >> 8);
            out[op++] = (unsigned char)code;
            out[flag_pos] |= (unsigned char)(1u << bit);
            advance = best_len;
        } else {
            if (op >= cap)
                return 0;
            out[op++] = in[ip];
            advance = 1;
        }
        bit++;
        for (size_t k = 0; k < advance; k++, ip++) {
            if (ip + LZ_MIN_MATCH <= n) {
                unsigned hv = lz_hash3(in + ip);
                prev[ip % LZ_WINDOW] = head[hv];
                head[hv] = (int)ip;
            }
        }
    }
    return op;
}

/* Returns the decompressed size, or (size_t)-1 on corrupt input. */
static size_t lz_decompress(const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    size_t ip = 0, op = 0;
    while (ip < n) {
        unsigned flags = in[ip++];
        for (int bit = 0; bit < 8 && ip < n; bit++) {
            if (flags & (1u << bit)) {
                if (ip + 2 > n)
                    return (size_t)-1;
                unsigned code = (unsigned)in[ip] << 8 | in[ip + 1];
                ip += 2;
                size_t dist = (code >> 4) + 1, len = (code & 15u) + LZ_MIN_MATCH;
                if (dist > op || op + len > cap)
                    return (size_t)-1;
                for (size_t k = 0; k < len; k++, op++)
                    out[op] = out[op - dist];
            } else {
                if (op >= cap)
                    return (size_t)-1;
                out[op++] = in[ip++];
            }
        }
    }
    return op;
}

/* ------------------------------------------------------------------ */
/* 6. CRC-32 (IEEE 802.3, reflected)                                   */
/* ------------------------------------------------------------------ */

static unsigned crc_table[256];

static void crc_init(void) {
    for (unsigned i = 0; i < 256; i++) {
        unsigned c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static unsigned crc32_update(unsigned crc, const unsigned char *p, size_t n) {
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* Bitwise reference implementation used to cross-check the table. */
static unsigned crc32_bitwise(const unsigned char *p, size_t n) {
    unsigned crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static size_t make_corpus(unsigned char *buf, size_t cap) {
    static const char *const words[] = {
        "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ",
        "compiler ", "pass ", "pipeline ", "loop ", "vector ", "inline ", "\n",
    };
    unsigned seed = 42u;
    size_t n = 0;
    while (n < cap) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % (sizeof words / sizeof words[0])];
        size_t len = strlen(w);
        if (n + len > cap)
            break;
        memcpy(buf + n, w, len);
        n += len;
        if (((seed >> 8) & 31u) == 0 && n + 4 <= cap) {
            buf[n++] = (unsigned char)('0' + (seed >> 24) % 10u);
            buf[n++] = (unsigned char)(seed >> 3);
            buf[n++] = (unsigned char)(seed >> 11);
            buf[n++] = ' ';
        }
    }
    return n;
}

static unsigned run_compression(void) {
    enum { CORPUS = 12000 };
    static unsigned char corpus[CORPUS];
    static unsigned char packed[CORPUS + CORPUS / 8 + 16];
    static unsigned char unpacked[CORPUS];
    size_t n = make_corpus(corpus, CORPUS);
    size_t packed_len = lz_compress(corpus, n, packed, sizeof packed);
    size_t unpacked_len = lz_decompress(packed, packed_len, unpacked, sizeof unpacked);
    int same = unpacked_len == n && memcmp(corpus, unpacked, n) == 0;
    unsigned crc_in = crc32_update(0, corpus, n);
    unsigned crc_ref = crc32_bitwise(corpus, n);
    unsigned crc_packed = crc32_update(0, packed, packed_len);
    /* Incremental CRC over two halves must equal the one-shot CRC. */
    unsigned crc_split = crc32_update(crc32_update(0, corpus, n / 3), corpus + n / 3, n - n / 3);
    /* A corrupted stream must be rejected or decode to something different. */
    if (packed_len > 10)
        packed[packed_len / 2] ^= 0x5au;
    size_t bad_len = lz_decompress(packed, packed_len, unpacked, sizeof unpacked);
    int detected = bad_len != n || memcmp(corpus, unpacked, n) != 0;
    return crc_in ^ crc_packed * 3u ^ (unsigned)packed_len << 8 ^ (unsigned)same << 31 ^
           (unsigned)(crc_ref == crc_in) << 30 ^ (unsigned)(crc_split == crc_in) << 29 ^
           (unsigned)detected << 28;
}

/* ------------------------------------------------------------------ */
/* 7. Arbitrary-precision unsigned integers (base 10^4 limbs)          */
/* ------------------------------------------------------------------ */

#define BIG_BASE 10000u
#define BIG_LIMBS 160

typedef struct {
    unsigned short limb[BIG_LIMBS]; /* little-endian limbs */
    int len;                        /* used limbs, at least 1 */
    int overflow;
} BigNum;

static void big_set(BigNum *b, unsigned v) {
    memset(b, 0, sizeof *b);
    b->len = 0;
    do {
        b->limb[b->len++] = (unsigned short)(v % BIG_BASE);
        v /= BIG_BASE;
    } while (v > 0);
}

static void big_add(const BigNum *a, const BigNum *b, BigNum *out) {
    BigNum r;
    memset(&r, 0, sizeof r);
    int n = a->len > b->len ? a->len : b->len;
    unsigned carry = 0;
    for (int i = 0; i < n; i++) {
        unsigned s = carry;
        if (i < a->len)
            s += a->limb[i];
        if (i < b->len)
            s += b->limb[i];
        r.limb[i] = (unsigned short)(s % BIG_BASE);
        carry = s / BIG_BASE;
    }
    r.len = n;
    if (carry) {
        if (n < BIG_LIMBS)
            r.limb[r.len++] = (unsigned short)carry;
        else
            r.overflow = 1;
    }
    r.overflow |= a->overflow | b->overflow;
    *out = r;
}

static void big_mul(const BigNum *a, const BigNum *b, BigNum *out) {
    unsigned acc[2 * BIG_LIMBS];
    BigNum r;
    memset(&r, 0, sizeof r);
    memset(acc, 0, sizeof acc);
    for (int i = 0; i < a->len; i++) {
        unsigned carry = 0;
        for (int j = 0; j < b->len; j++) {
            unsigned cur = acc[i + j] + (unsigned)a->limb[i] * b->limb[j] + carry;
            acc[i + j] = cur % BIG_BASE;
            carry = cur / BIG_BASE;
        }
        int k = i + b->len;
        while (carry) {
            unsigned cur = acc[k] + carry;
            acc[k++] = cur % BIG_BASE;
            carry = cur / BIG_BASE;
        }
    }
    int len = a->len + b->len;
    while (len > 1 && acc[len - 1] == 0)
        len--;
    if (len > BIG_LIMBS) {
        r.overflow = 1;
        len = BIG_LIMBS;
    }
    for (int i = 0; i < len; i++)
        r.limb[i] = (unsigned short)acc[i];
    r.len = len;
    r.overflow |= a->overflow | b->overflow;
    *out = r;
}

static int big_compare(const BigNum *a, const BigNum *b) {
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    for (int i = a->len - 1; i >= 0; i--)
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

/* Decimal digit sum and digit count. */
static unsigned big_digit_sum(const BigNum *b, int *digits) {
    unsigned sum = 0;
    int count = 0;
    for (int i = 0; i < b->len; i++) {
        unsigned v = b->limb[i];
        for (int d = 0; d < 4; d++) {
            sum += v % 10u;
            if (v != 0 || i < b->len - 1)
                count = i * 4 + d + 1;
            v /= 10u;
        }
    }
    *digits = count > 0 ? count : 1;
    return sum;
}

static unsigned run_bignum(void) {
    BigNum fact, k, fa, fb, fc, sq;
    big_set(&fact, 1);
    unsigned h = 0;
    int digits = 0;
    for (unsigned i = 2; i <= 200; i++) {
        big_set(&k, i);
        big_mul(&fact, &k, &fact);
        if (i % 25 == 0) {
            h = h * 131u + big_digit_sum(&fact, &digits);
            h ^= (unsigned)digits;
        }
    }
    big_set(&fa, 0);
    big_set(&fb, 1);
    for (int i = 0; i < 500; i++) {
        big_add(&fa, &fb, &fc);
        fa = fb;
        fb = fc;
    }
    h = h * 131u + big_digit_sum(&fb, &digits) + (unsigned)digits;
    /* F(2n) = F(n) * (2 F(n+1) - F(n)); check the simpler identity F(n+1)^2 > F(n)^2. */
    big_mul(&fb, &fb, &sq);
    big_mul(&fa, &fa, &fc);
    int cmp = big_compare(&sq, &fc);
    h = h * 131u + big_digit_sum(&sq, &digits) + (unsigned)digits;
    return h ^ (unsigned)(cmp + 1) << 28 ^ (unsigned)(fact.overflow | sq.overflow) << 31;
}

/* ------------------------------------------------------------------ */
/* 8. Base64                                                           */
/* ------------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const unsigned char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63u];
        out[o++] = b64_alphabet[(v >> 12) & 63u];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63u] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63u] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Returns the decoded length, or -1 for malformed input. */
static long b64_decode(const char *in, unsigned char *out) {
    size_t n = strlen(in);
    if (n % 4 != 0)
        return -1;
    long o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad)
                    return -1;
                v[k] = b64_value(in[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[o++] = (unsigned char)(bits >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(bits >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)bits;
    }
    return o;
}

static unsigned run_base64(void) {
    unsigned char data[300];
    char text[410];
    unsigned char back[300];
    unsigned h = 0;
    int roundtrips = 0;
    for (size_t len = 0; len < sizeof data; len += 7) {
        for (size_t i = 0; i < len; i++)
            data[i] = (unsigned char)(i * 37u + len * 11u);
        size_t tl = b64_encode(data, len, text);
        long bl = b64_decode(text, back);
        if (bl == (long)len && memcmp(data, back, len) == 0)
            roundtrips++;
        h = h * 33u + crc32_update(0, (const unsigned char *)text, tl);
    }
    static const char *const bad[] = {"abc", "ab=c", "a@bc", "====", "QUJD", "QUI=", "QQ=="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        h = h * 33u + (unsigned)(b64_decode(bad[i], back) + 7);
    return h ^ (unsigned)roundtrips;
}

/* ------------------------------------------------------------------ */

int main(void) {
    crc_init();
    unsigned results[8];
    results[0] = run_expressions();
    results[1] = run_regex();
    results[2] = run_dijkstra();
    results[3] = run_matrix();
    results[4] = run_compression();
    results[5] = run_bignum();
    results[6] = run_base64();
    unsigned all = 0;
    for (int i = 0; i < 7; i++)
        all = crc32_update(all, (const unsigned char *)&results[i], sizeof results[i]);
    results[7] = all;
    printf("large: combined=%08x\n", results[7]);
    static const char *const names[] = {"expr", "regex", "dijkstra", "matrix", "lz+crc", "bignum", "base64"};
    for (int i = 0; i < 7; i++)
        printf("  %-8s %08x\n", names[i], results[i]);
    return 0;
}
