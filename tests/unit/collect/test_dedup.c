/* Unit tests for collect/dedup.c: the two-generation messageId set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collect/dedup.h"

/* Real keys are 64-bit hashes of site and messageId; the tests use hashes too, so they spread
 * over the shards as real ones do. */
static uint64_t K(uint64_t i)
{
    return tl_hash64(&i, sizeof i, 1);
}

static void test_insert_and_repeat(void **state)
{
    tl_dedup *d;
    assert_int_equal(tl_dedup_new(1000, 1000000, &d), 0);
    int64_t now = tl_now_ms();
    for (uint64_t k = 0; k < 100000; k++)
        assert_true(tl_dedup_insert(d, K(k), now));
    for (uint64_t k = 0; k < 100000; k++)
        assert_false(tl_dedup_insert(d, K(k), now));
    assert_int_equal(tl_dedup_size(d), 100000);
    assert_int_equal(tl_dedup_early_rotations(d), 0);
    tl_dedup_remove(d, K(7));
    assert_true(tl_dedup_insert(d, K(7), now));
    assert_false(tl_dedup_insert(d, K(7), now));
    tl_dedup_free(d);
}

static void test_horizon(void **state)
{
    tl_dedup *d;
    assert_int_equal(tl_dedup_new(1000, 1000000, &d), 0);
    int64_t t0 = tl_now_ms();
    assert_true(tl_dedup_insert(d, K(42), t0));
    /* within one horizon: remembered (even across one rotation) */
    assert_false(tl_dedup_insert(d, K(42), t0 + 999));
    assert_true(tl_dedup_insert(d, K(43), t0 + 1500)); /* rotates: 42 moves to prev */
    assert_false(tl_dedup_insert(d, K(42), t0 + 1600));
    /* after two horizons: forgotten */
    assert_true(tl_dedup_insert(d, K(44), t0 + 2600)); /* rotates again: 42's generation dropped */
    assert_true(tl_dedup_insert(d, K(42), t0 + 2700));
    tl_dedup_free(d);
}

static void test_max_entries(void **state)
{
    tl_dedup *d;
    assert_int_equal(tl_dedup_new(3600000, 2000, &d), 0);
    int64_t now = tl_now_ms();
    for (uint64_t k = 1; k <= 5000; k++)
        tl_dedup_insert(d, K(k), now);
    assert_true(tl_dedup_size(d) <= 2000);
    assert_true(tl_dedup_early_rotations(d) >= 2);
    /* the newest keys are still known */
    assert_false(tl_dedup_insert(d, K(5000), now));
    tl_dedup_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_and_repeat),
        cmocka_unit_test(test_horizon),
        cmocka_unit_test(test_max_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
