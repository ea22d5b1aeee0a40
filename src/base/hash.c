/*
 * Hashing: XXH3-64 from libxxhash for hash tables, partitioning and
 * visitor ids; CRC-32C (Castagnoli) for record checksums in the journal.
 *
 * CRC-32C uses the SSE4.2 crc32 instruction when the CPU has it (8 bytes per
 * instruction, ~20 GB/s) and a slicing-by-8 table otherwise. No Debian
 * library exports a hardware CRC-32C for C callers, and the journal checks
 * every byte it writes and reads, so it is ours.
 */
#include "base/base.h"

#include <string.h>
#include <xxhash.h>

uint64_t tl_hash64(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}

#define POLY 0x82f63b78u /* CRC-32C, reflected */

static uint32_t table[8][256];

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static uint32_t crc_soft(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

#include <pthread.h>
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int use_hw;

static void init(void)
{
    build_table();
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t tl_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&once, init);
    crc = ~crc;
#if defined(__x86_64__)
    if (use_hw)
        return ~crc_hw(crc, p, n);
#endif
    return ~crc_soft(crc, p, n);
}
