/* Medium benchmark program: a tiny text adventure driven by a command script,
 * an open-addressing hash table of visit counts, a merge sort and a checksum. */
#include <stdio.h>
#include <string.h>

#define ROOMS 6
#define MAX_ITEMS 8
#define TABLE_SLOTS 64

enum { NORTH, EAST, SOUTH, WEST };

typedef struct {
    const char *name;
    int exits[4];      /* room index or -1 */
    int item;          /* item index or -1 */
    int locked_dir;    /* direction needing the key, or -1 */
} Room;

typedef struct {
    int room;
    int inventory[MAX_ITEMS];
    int item_count;
    unsigned score;
    int moves;
} Player;

static Room rooms[ROOMS] = {
    {"hall",    {1, 2, -1, -1}, -1, -1},
    {"library", {-1, 3, 0, -1}, 0, -1},
    {"kitchen", {3, -1, -1, 0}, 1, NORTH},
    {"study",   {-1, 4, 2, 1}, 2, -1},
    {"vault",   {5, -1, -1, 3}, 3, NORTH},
    {"garden",  {-1, -1, 4, -1}, 4, -1},
};
static const char *const item_names[] = {"key", "bread", "map", "gold", "rose"};
static const unsigned item_values[] = {5, 2, 7, 50, 11};

typedef struct {
    char key[16];
    unsigned count;
    int used;
} Slot;

static Slot table[TABLE_SLOTS];

static unsigned hash_name(const char *s) {
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void table_bump(const char *key) {
    unsigned i = hash_name(key) & (TABLE_SLOTS - 1);
    while (table[i].used && strcmp(table[i].key, key) != 0)
        i = (i + 1) & (TABLE_SLOTS - 1);
    if (!table[i].used) {
        table[i].used = 1;
        strncpy(table[i].key, key, sizeof table[i].key - 1);
        table[i].key[sizeof table[i].key - 1] = '\0';
    }
    table[i].count++;
}

static int has_item(const Player *p, int item) {
    for (int i = 0; i < p->item_count; i++)
        if (p->inventory[i] == item)
            return 1;
    return 0;
}

static int parse_dir(char c) {
    switch (c) {
    case 'n': return NORTH;
    case 'e': return EAST;
    case 's': return SOUTH;
    case 'w': return WEST;
    default: return -1;
    }
}

/* Room events are small bytecode programs run by a stack VM on entry. */
enum { EV_END, EV_PUSH, EV_SCORE, EV_MOVES, EV_ADD, EV_MUL, EV_MOD, EV_JZ, EV_JMP,
       EV_HAS, EV_AWARD, EV_DUP, EV_LT };

static const unsigned char event_code[] = {
    /* 0: award moves % 7 if the map is carried */
    EV_PUSH, 2, EV_HAS, EV_JZ, 10, EV_MOVES, EV_PUSH, 7, EV_MOD, EV_AWARD,
    /* 10: */ EV_END,
    /* 11: award 3 if score < 100, else 1 */
    EV_SCORE, EV_PUSH, 100, EV_LT, EV_JZ, 22, EV_PUSH, 3, EV_AWARD, EV_JMP, 25,
    /* 22: */ EV_PUSH, 1, EV_AWARD,
    /* 25: */ EV_END,
    /* 26: award (moves + 2) * 2 % 5 */
    EV_MOVES, EV_PUSH, 2, EV_ADD, EV_DUP, EV_ADD, EV_PUSH, 5, EV_MOD, EV_AWARD, EV_END,
};
static const int room_event[ROOMS] = {-1, 0, 11, 26, 11, 0};

static unsigned run_event(const Player *p, int pc) {
    unsigned stack[16];
    int sp = 0;
    unsigned award = 0;
    int budget = 64;
    while (budget-- > 0 && pc >= 0 && pc < (int)sizeof event_code) {
        unsigned a, b;
        switch (event_code[pc++]) {
        case EV_END: return award;
        case EV_PUSH: if (sp < 16) stack[sp++] = event_code[pc]; pc++; break;
        case EV_SCORE: if (sp < 16) stack[sp++] = p->score; break;
        case EV_MOVES: if (sp < 16) stack[sp++] = (unsigned)p->moves; break;
        case EV_DUP: if (sp > 0 && sp < 16) { stack[sp] = stack[sp - 1]; sp++; } break;
        case EV_ADD: case EV_MUL: case EV_MOD: case EV_LT:
            if (sp < 2)
                return award;
            b = stack[--sp];
            a = stack[--sp];
            if (event_code[pc - 1] == EV_ADD) stack[sp++] = a + b;
            else if (event_code[pc - 1] == EV_MUL) stack[sp++] = a * b;
            else if (event_code[pc - 1] == EV_MOD) stack[sp++] = b ? a % b : 0;
            else stack[sp++] = a < b;
            break;
        case EV_JZ:
            a = sp > 0 ? stack[--sp] : 0;
            pc = a ? pc + 1 : event_code[pc];
            break;
        case EV_JMP: pc = event_code[pc]; break;
        case EV_HAS:
            a = sp > 0 ? stack[--sp] : 0;
            if (sp < 16) stack[sp++] = (unsigned)has_item(p, (int)a);
            break;
        case EV_AWARD: award += sp > 0 ? stack[--sp] : 0; break;
        default: return award;
        }
    }
    return award;
}

/* Writes "name,name,..." for the inventory into out (always terminated). */
static size_t describe_inventory(const Player *p, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < p->item_count; i++) {
        const char *name = item_names[p->inventory[i]];
        size_t n = strlen(name);
        if (len + n + 2 > cap)
            break;
        if (len > 0)
            out[len++] = ',';
        memcpy(out + len, name, n);
        len += n;
        out[len] = '\0';
    }
    return len;
}

/* Executes one command; returns 0 if the command failed. */
static int step(Player *p, char cmd) {
    Room *here = &rooms[p->room];
    int dir = parse_dir(cmd);
    p->moves++;
    if (dir >= 0) {
        int next = here->exits[dir];
        if (next < 0)
            return 0;
        if (rooms[next].locked_dir == dir && !has_item(p, 0))
            return 0;
        p->room = next;
        table_bump(rooms[next].name);
        if (room_event[next] >= 0)
            p->score += run_event(p, room_event[next]);
        return 1;
    }
    if (cmd == 't' && here->item >= 0 && p->item_count < MAX_ITEMS) {
        p->inventory[p->item_count++] = here->item;
        p->score += item_values[here->item];
        here->item = -1;
        return 1;
    }
    if (cmd == 'd' && p->item_count > 0) {
        int item = p->inventory[--p->item_count];
        if (here->item < 0)
            here->item = item;
        p->score -= item_values[item] / 2u;
        return 1;
    }
    return 0;
}

static void merge_sort(unsigned *a, unsigned *tmp, int lo, int hi) {
    if (hi - lo < 2)
        return;
    int mid = lo + (hi - lo) / 2;
    merge_sort(a, tmp, lo, mid);
    merge_sort(a, tmp, mid, hi);
    int i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < mid)
        tmp[k++] = a[i++];
    while (j < hi)
        tmp[k++] = a[j++];
    memcpy(a + lo, tmp + lo, (size_t)(hi - lo) * sizeof *a);
}

int main(void) {
    static const char script[] = "tntettwdsxtnnttenswnete";
    Player player = {0, {0}, 0, 0, 0};
    int failed = 0;
    unsigned trace = 0;

    for (int round = 0; round < 40; round++) {
        for (const char *c = script; *c; c++) {
            if (!step(&player, *c))
                failed++;
            trace = trace * 31u + (unsigned)player.room * 7u + player.score;
        }
        char inv[64];
        size_t len = describe_inventory(&player, inv, sizeof inv);
        trace ^= hash_name(inv) + (unsigned)len;
        /* Put everything back so each round replays the same world. */
        while (player.item_count > 0)
            step(&player, 'd');
        for (int r = 0; r < ROOMS; r++)
            if (rooms[r].item < 0 && r > 0)
                rooms[r].item = r - 1 < 5 ? r - 1 : -1;
    }

    unsigned counts[TABLE_SLOTS];
    unsigned tmp[TABLE_SLOTS];
    int used = 0;
    unsigned names = 0;
    for (int i = 0; i < TABLE_SLOTS; i++) {
        if (table[i].used) {
            counts[used++] = table[i].count * 256u + (hash_name(table[i].key) & 255u);
            names ^= hash_name(table[i].key);
        }
    }
    merge_sort(counts, tmp, 0, used);
    unsigned sorted_sum = 0;
    for (int i = 0; i < used; i++)
        sorted_sum = sorted_sum * 131u + counts[i];

    printf("medium: score=%u moves=%d failed=%d rooms=%d trace=%u sorted=%u names=%u item=%s\n",
           player.score, player.moves, failed, used, trace, sorted_sum, names,
           item_names[rooms[player.room].item >= 0 ? rooms[player.room].item : 0]);
    return 0;
}
