/* Unit tests for collect/dedup.c: the two-generation messageId set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collect/dedup.h"

static void test_insert_and_repeat(void **state)
{
    tl_dedup *d;
    assert_int_equal(tl_dedup_new(1000, 1000000, &d), 0);
    int64_t now = tl_now_ms();
    /* keys are 64-bit hashes; 0 and 1 share slots with 2 and 3 by design, so start at 2 */
    for (uint64_t k = 2; k < 100002; k++)
        assert_true(tl_dedup_insert(d, k, now));
    for (uint64_t k = 2; k < 100002; k++)
        assert_false(tl_dedup_insert(d, k, now));
    assert_int_equal(tl_dedup_size(d), 100000);
    tl_dedup_remove(d, 7);
    assert_true(tl_dedup_insert(d, 7, now));
    assert_false(tl_dedup_insert(d, 7, now));
    tl_dedup_free(d);
}

static void test_horizon(void **state)
{
    tl_dedup *d;
    assert_int_equal(tl_dedup_new(1000, 1000000, &d), 0);
    int64_t t0 = tl_now_ms();
    assert_true(tl_dedup_insert(d, 42, t0));
    /* within one horizon: remembered (even across one rotation) */
    assert_false(tl_dedup_insert(d, 42, t0 + 999));
    assert_true(tl_dedup_insert(d, 43, t0 + 1500)); /* rotates: 42 moves to prev */
    assert_false(tl_dedup_insert(d, 42, t0 + 1600));
    /* after two horizons: forgotten */
    assert_true(tl_dedup_insert(d, 44, t0 + 2600)); /* rotates again: 42's generation dropped */
    assert_true(tl_dedup_insert(d, 42, t0 + 2700));
    tl_dedup_free(d);
}

static void test_max_entries(void **state)
{
    tl_dedup *d;
    assert_int_equal(tl_dedup_new(3600000, 2000, &d), 0);
    int64_t now = tl_now_ms();
    for (uint64_t k = 1; k <= 5000; k++)
        tl_dedup_insert(d, k, now);
    assert_true(tl_dedup_size(d) <= 2000);
    assert_true(tl_dedup_early_rotations(d) >= 2);
    /* the newest keys are still known */
    assert_false(tl_dedup_insert(d, 5000, now));
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
