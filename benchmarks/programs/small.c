/* Small benchmark program: a prime sieve, an insertion sort and a rolling checksum. */
#include <stdio.h>

#define LIMIT 2000

static unsigned char composite[LIMIT + 1];

static int sieve(int limit) {
    int count = 0;
    for (int i = 2; i <= limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (int j = i * i; j <= limit; j += i)
            composite[j] = 1;
    }
    return count;
}

static void insertion_sort(unsigned *a, int n) {
    for (int i = 1; i < n; i++) {
        unsigned v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static unsigned adler_like(const unsigned *a, int n) {
    unsigned s1 = 1, s2 = 0;
    for (int i = 0; i < n; i++) {
        s1 = (s1 + (a[i] & 0xffu)) % 65521u;
        s2 = (s2 + s1) % 65521u;
    }
    return (s2 << 16) | s1;
}

int main(void) {
    unsigned data[128];
    unsigned x = 2463534242u;
    for (int i = 0; i < 128; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = x % 10007u;
    }
    insertion_sort(data, 128);
    int sorted = 1;
    for (int i = 1; i < 128; i++)
        if (data[i - 1] > data[i])
            sorted = 0;
    int primes = sieve(LIMIT);
    printf("small: primes=%d sorted=%d min=%u max=%u checksum=%u\n",
           primes, sorted, data[0], data[127], adler_like(data, 128));
    return 0;
}
