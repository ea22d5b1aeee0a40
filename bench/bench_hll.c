/*
 * bench_hll — HyperLogLog throughput: adds per second (sparse and dense
 * phases), merge time (dense+dense, sparse into dense, sparse+sparse) and
 * estimate time. Prints one line per figure; the numbers go to BENCHMARKS.md.
 */
#include <stdio.h>

#include "tsdb/tsdb.h"

static double secs(int64_t t0)
{
    return (double)(tl_mono_ns() - t0) / 1e9;
}

static uint64_t item(uint64_t i)
{
    return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

int main(void)
{
    /* Dense adds: 20 M distinct items into one sketch. */
    const uint64_t n = 20000000;
    tl_tsdb_hll h;
    tl_tsdb_hll_init(&h);
    int64_t t0 = tl_mono_ns();
    for (uint64_t i = 0; i < n; i++)
        if (tl_tsdb_hll_add(&h, item(i)) != 0)
            return 1;
    double s = secs(t0);
    printf("hll add (dense, 20M distinct):      %.1f M adds/s  (estimate %.0f, error %+.3f%%)\n",
           (double)n / s / 1e6, tl_tsdb_hll_estimate(&h),
           100.0 * (tl_tsdb_hll_estimate(&h) - (double)n) / (double)n);

    /* Sparse adds: many small sketches of 1000 items (a typical busy minute). */
    const int rounds = 2000;
    t0 = tl_mono_ns();
    for (int r = 0; r < rounds; r++) {
        tl_tsdb_hll sp;
        tl_tsdb_hll_init(&sp);
        for (uint64_t i = 0; i < 1000; i++)
            if (tl_tsdb_hll_add(&sp, item((uint64_t)r * 1000 + i)) != 0)
                return 1;
        tl_tsdb_hll_deinit(&sp);
    }
    s = secs(t0);
    printf("hll add (sparse, 1000 per sketch):  %.1f M adds/s\n", rounds * 1000.0 / s / 1e6);

    /* Merges. */
    tl_tsdb_hll d2, sp;
    tl_tsdb_hll_init(&d2);
    tl_tsdb_hll_init(&sp);
    for (uint64_t i = 0; i < 100000; i++)
        tl_tsdb_hll_add(&d2, item(n + i));
    for (uint64_t i = 0; i < 500; i++)
        tl_tsdb_hll_add(&sp, item(2 * n + i));
    const int m = 20000;
    t0 = tl_mono_ns();
    for (int i = 0; i < m; i++)
        tl_tsdb_hll_merge(&h, &d2);
    s = secs(t0);
    printf("hll merge dense+dense:              %.2f us/merge\n", s / m * 1e6);
    t0 = tl_mono_ns();
    for (int i = 0; i < m; i++)
        tl_tsdb_hll_merge(&h, &sp);
    s = secs(t0);
    printf("hll merge sparse(500) into dense:   %.2f us/merge\n", s / m * 1e6);
    t0 = tl_mono_ns();
    for (int i = 0; i < m; i++) {
        tl_tsdb_hll acc;
        tl_tsdb_hll_init(&acc);
        tl_tsdb_hll_merge(&acc, &sp);
        tl_tsdb_hll_merge(&acc, &sp);
        tl_tsdb_hll_deinit(&acc);
    }
    s = secs(t0);
    printf("hll merge sparse(500)+sparse(500):  %.2f us/merge\n", s / (2.0 * m) * 1e6);
    volatile double sink = 0;
    t0 = tl_mono_ns();
    for (int i = 0; i < m; i++)
        sink += tl_tsdb_hll_estimate(&h);
    s = secs(t0);
    printf("hll estimate (dense):               %.2f us\n", s / m * 1e6);
    t0 = tl_mono_ns();
    for (int i = 0; i < m; i++)
        sink += tl_tsdb_hll_estimate(&sp);
    s = secs(t0);
    printf("hll estimate (sparse, 500):         %.2f us\n", s / m * 1e6);
    (void)sink;
    tl_tsdb_hll_deinit(&h);
    tl_tsdb_hll_deinit(&d2);
    tl_tsdb_hll_deinit(&sp);
    return 0;
}
