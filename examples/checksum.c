/* A small self-checking program bundled with llmcompiler for `make demo`:
 * CRC-32 over generated records, a histogram and an insertion sort. */
#include <stdio.h>
#include <string.h>

#define N 64

struct record {
    unsigned id;
    char name[16];
    unsigned score;
};

static unsigned crc_table[256];

static void crc_init(void) {
    for (unsigned i = 0; i < 256; i++) {
        unsigned c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static unsigned crc32(const unsigned char *buf, size_t len) {
    unsigned c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void make_records(struct record *r, int n) {
    unsigned seed = 12345;
    memset(r, 0, (size_t)n * sizeof *r); /* the CRC reads every byte of every name */
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        r[i].id = (unsigned)i;
        r[i].score = (seed >> 8) % 1000;
        snprintf(r[i].name, sizeof r[i].name, "item-%02d", i);
    }
}

static void sort_by_score(struct record *r, int n) {
    for (int i = 1; i < n; i++) {
        struct record key = r[i];
        int j = i - 1;
        while (j >= 0 && r[j].score > key.score) {
            r[j + 1] = r[j];
            j--;
        }
        r[j + 1] = key;
    }
}

static void histogram(const struct record *r, int n, unsigned bins[10]) {
    memset(bins, 0, 10 * sizeof bins[0]);
    for (int i = 0; i < n; i++) {
        switch (r[i].score / 100) {
        case 0: case 1: case 2: bins[0]++; break;
        case 3: case 4: bins[1]++; break;
        case 5: bins[2]++; break;
        case 6: bins[3]++; break;
        case 7: bins[4]++; break;
        default: bins[5 + r[i].score % 5]++; break;
        }
    }
}

int main(void) {
    struct record records[N];
    unsigned bins[10];
    crc_init();
    make_records(records, N);
    sort_by_score(records, N);
    histogram(records, N, bins);
    unsigned crc = crc32((const unsigned char *)records, sizeof records);
    printf("lowest %s (%u), highest %s (%u)\n", records[0].name, records[0].score,
           records[N - 1].name, records[N - 1].score);
    for (int i = 0; i < 10; i++)
        printf("%u%c", bins[i], i == 9 ? '\n' : ' ');
    printf("crc %08x\n", crc);
    return 0;
}
