/* Unit tests for src/tsdb/hll.c: accuracy, exact merges, sparse/dense, serialization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "tsdb/tsdb.h"

#define SE (1.04 / 128.0) /* 1.04 / sqrt(16384) */

/* Items are spread over 64 bits with a fixed multiplier so runs are reproducible. */
static uint64_t item(uint64_t seed, uint64_t i)
{
    return (i + 1) * 0x9e3779b97f4a7c15ULL + seed * 0x632be59bd9b4e019ULL;
}

static void check_accuracy(uint64_t n, uint64_t seed)
{
    tl_tsdb_hll h;
    tl_tsdb_hll_init(&h);
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(tl_tsdb_hll_add(&h, item(seed, i)), 0);
        assert_int_equal(tl_tsdb_hll_add(&h, item(seed, i)), 0); /* repeats change nothing */
    }
    double e = tl_tsdb_hll_estimate(&h);
    double err = fabs(e - (double)n) / (double)n;
    if (err > 3 * SE)
        fail_msg("n=%llu estimate=%.1f relative error %.4f > %.4f", (unsigned long long)n, e, err,
                 3 * SE);
    tl_tsdb_hll_deinit(&h);
}

static void test_accuracy(void **state)
{
    (void)state;
    check_accuracy(10, 1);
    check_accuracy(1000, 2);
    check_accuracy(100000, 3);
    check_accuracy(1000000, 4);
}

static void test_accuracy_many_seeds_small(void **state)
{
    (void)state;
    /* Small cardinalities are where raw HyperLogLog goes wrong; check several runs. */
    for (uint64_t s = 10; s < 30; s++) {
        check_accuracy(10, s);
        check_accuracy(100, s);
        check_accuracy(5000, s);
    }
}

static void test_empty(void **state)
{
    (void)state;
    tl_tsdb_hll h;
    tl_tsdb_hll_init(&h);
    assert_true(tl_tsdb_hll_estimate(&h) == 0.0);
    assert_int_equal(tl_tsdb_hll_count(&h), 0);
    assert_int_equal(tl_tsdb_hll_add(&h, 42), 0);
    assert_int_equal(tl_tsdb_hll_count(&h), 1);
    tl_tsdb_hll_deinit(&h);
}

static void assert_same_registers(const tl_tsdb_hll *a, const tl_tsdb_hll *b)
{
    static uint8_t ra[TL_TSDB_HLL_REGISTERS], rb[TL_TSDB_HLL_REGISTERS];
    tl_tsdb_hll_registers(a, ra);
    tl_tsdb_hll_registers(b, rb);
    assert_memory_equal(ra, rb, TL_TSDB_HLL_REGISTERS);
}

/* merge(sketch(A), sketch(B)) has the registers of sketch(A ∪ B), for each combination of
 * sparse and dense operands. */
static void check_merge(uint64_t na, uint64_t nb)
{
    tl_tsdb_hll a, b, u;
    tl_tsdb_hll_init(&a);
    tl_tsdb_hll_init(&b);
    tl_tsdb_hll_init(&u);
    for (uint64_t i = 0; i < na; i++) {
        assert_int_equal(tl_tsdb_hll_add(&a, item(7, i)), 0);
        assert_int_equal(tl_tsdb_hll_add(&u, item(7, i)), 0);
    }
    /* B overlaps A by half. */
    for (uint64_t i = na / 2; i < na / 2 + nb; i++) {
        assert_int_equal(tl_tsdb_hll_add(&b, item(7, i)), 0);
        assert_int_equal(tl_tsdb_hll_add(&u, item(7, i)), 0);
    }
    tl_tsdb_hll a2;
    tl_tsdb_hll_init(&a2);
    assert_int_equal(tl_tsdb_hll_merge(&a2, &a), 0);
    assert_int_equal(tl_tsdb_hll_merge(&a2, &b), 0);
    assert_same_registers(&a2, &u);
    assert_true(tl_tsdb_hll_estimate(&a2) == tl_tsdb_hll_estimate(&u));
    /* And the other way round. */
    assert_int_equal(tl_tsdb_hll_merge(&b, &a), 0);
    assert_same_registers(&b, &u);
    tl_tsdb_hll_deinit(&a);
    tl_tsdb_hll_deinit(&a2);
    tl_tsdb_hll_deinit(&b);
    tl_tsdb_hll_deinit(&u);
}

static void test_merge_exact(void **state)
{
    (void)state;
    check_merge(100, 100);     /* sparse + sparse */
    check_merge(1500, 1500);   /* sparse + sparse -> dense union */
    check_merge(50000, 100);   /* dense + sparse */
    check_merge(100, 50000);   /* sparse + dense */
    check_merge(40000, 40000); /* dense + dense */
}

static void test_sparse_promotes_to_dense(void **state)
{
    (void)state;
    tl_tsdb_hll h, d;
    tl_tsdb_hll_init(&h);
    tl_tsdb_hll_init(&d);
    uint64_t i = 0;
    while (!tl_tsdb_hll_is_dense(&h)) {
        assert_int_equal(tl_tsdb_hll_add(&h, item(9, i++)), 0);
        assert_true(i < 10000);
    }
    /* It turns dense right past the sparse limit of non-zero registers. */
    assert_true(i > TL_TSDB_HLL_SPARSE_MAX);
    assert_true(i < TL_TSDB_HLL_SPARSE_MAX + 200);
    assert_int_equal(tl_tsdb_hll_bytes(&h), TL_TSDB_HLL_REGISTERS);
    /* Promotion is lossless: exactly SPARSE_MAX + 1 registers are set, and adding the same
     * items once more (now dense) changes none of them. */
    static uint8_t regs[TL_TSDB_HLL_REGISTERS];
    tl_tsdb_hll_registers(&h, regs);
    size_t nz = 0;
    for (size_t k = 0; k < TL_TSDB_HLL_REGISTERS; k++)
        nz += regs[k] != 0;
    assert_int_equal(nz, TL_TSDB_HLL_SPARSE_MAX + 1);
    for (uint64_t k = 0; k < i; k++) {
        assert_int_equal(tl_tsdb_hll_add(&d, item(9, k)), 0);
        assert_int_equal(tl_tsdb_hll_add(&h, item(9, k)), 0);
    }
    assert_true(tl_tsdb_hll_is_dense(&d));
    assert_same_registers(&h, &d);
    tl_tsdb_hll_deinit(&h);
    tl_tsdb_hll_deinit(&d);
}

static void roundtrip(uint64_t n)
{
    tl_tsdb_hll h, back;
    tl_tsdb_hll_init(&h);
    tl_tsdb_hll_init(&back);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(tl_tsdb_hll_add(&h, item(3, i)), 0);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_tsdb_hll_encode(&h, &b), 0);
    const uint8_t *p = (const uint8_t *)b.ptr, *end = p + b.len;
    assert_int_equal(tl_tsdb_hll_decode(&back, &p, end), 0);
    assert_ptr_equal(p, end);
    assert_same_registers(&h, &back);
    assert_int_equal(tl_tsdb_hll_is_dense(&h), tl_tsdb_hll_is_dense(&back));
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < b.len; cut += (b.len > 100 ? 997 : 1)) {
        tl_tsdb_hll x;
        tl_tsdb_hll_init(&x);
        p = (const uint8_t *)b.ptr;
        assert_int_equal(tl_tsdb_hll_decode(&x, &p, p + cut), TL_ECORRUPT);
        tl_tsdb_hll_deinit(&x);
    }
    tl_buf_deinit(&b);
    tl_tsdb_hll_deinit(&h);
    tl_tsdb_hll_deinit(&back);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    roundtrip(0);
    roundtrip(37);
    roundtrip(20000);
}

static void test_decode_rejects_bad_values(void **state)
{
    (void)state;
    /* sparse, 2 entries, second index delta 0 (duplicate index) */
    const uint8_t dup[] = {0, 2, 5, 3, 0, 4};
    /* sparse, 1 entry, value 52 (over 64 - 14 + 1) */
    const uint8_t big[] = {0, 1, 5, 52};
    /* unknown encoding */
    const uint8_t enc[] = {7};
    const uint8_t *cases[] = {dup, big, enc};
    size_t lens[] = {sizeof dup, sizeof big, sizeof enc};
    for (size_t i = 0; i < 3; i++) {
        tl_tsdb_hll h;
        tl_tsdb_hll_init(&h);
        const uint8_t *p = cases[i];
        assert_int_equal(tl_tsdb_hll_decode(&h, &p, p + lens[i]), TL_ECORRUPT);
        tl_tsdb_hll_deinit(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_accuracy_many_seeds_small),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_sparse_promotes_to_dense),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_decode_rejects_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
