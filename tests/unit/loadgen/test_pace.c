/*
 * Tests for src/loadgen/pace.c: the token bucket's rate and burst, driven by a
 * fake clock (nanoseconds chosen by the test; nothing here reads the time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loadgen/gen.h"

#define SEC 1000000000LL

static void test_unlimited(void **state)
{
    (void)state;
    tl_loadgen__bucket b;
    tl_loadgen__bucket_init(&b, 0, 10, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tl_loadgen__bucket_take(&b, 100, 0), 0);
}

static void test_burst_then_wait(void **state)
{
    (void)state;
    tl_loadgen__bucket b;
    tl_loadgen__bucket_init(&b, 100, 20, 5 * SEC); /* 100 events/s, burst 20 */
    assert_int_equal(tl_loadgen__bucket_take(&b, 10, 5 * SEC), 0);
    assert_int_equal(tl_loadgen__bucket_take(&b, 10, 5 * SEC), 0);
    /* empty: 10 tokens take 100 ms at 100/s */
    int64_t w = tl_loadgen__bucket_take(&b, 10, 5 * SEC);
    assert_in_range(w, 100000000 - 10, 100000000 + 10);
    /* nothing was taken by the refusal: 50 ms later half is there, the wait halves */
    w = tl_loadgen__bucket_take(&b, 10, 5 * SEC + 50000000);
    assert_in_range(w, 50000000 - 10, 50000000 + 10);
    assert_int_equal(tl_loadgen__bucket_take(&b, 10, 5 * SEC + 100000001), 0);
    /* a long pause does not store more than the burst */
    assert_int_equal(tl_loadgen__bucket_take(&b, 20, 100 * SEC), 0);
    assert_true(tl_loadgen__bucket_take(&b, 1, 100 * SEC) > 0);
}

/* A client that sends batch-sized requests whenever the bucket lets it, for `secs` of fake
 * time, sends rate*secs events give or take the burst. */
static uint64_t simulate(double rate, double burst, int batch, double secs)
{
    tl_loadgen__bucket b;
    int64_t now = 1000;
    int64_t end = now + (int64_t)(secs * SEC);
    uint64_t sent = 0;
    tl_loadgen__bucket_init(&b, rate, burst, now);
    while (now < end) {
        int64_t w = tl_loadgen__bucket_take(&b, batch, now);
        if (w == 0) {
            sent += (uint64_t)batch;
            now += 1000; /* a request takes 1 us to send */
        } else {
            assert_true(w > 0);
            now += w;
        }
    }
    return sent;
}

static void test_long_run_rate(void **state)
{
    (void)state;
    /* the demo: 15 events/s in batches of 10 */
    uint64_t n = simulate(15, 10, 10, 60);
    assert_in_range(n, 900, 910);
    /* the freshness background load */
    n = simulate(2000, 100, 10, 10);
    assert_in_range(n, 20000, 20100);
    /* single events at 1 per second */
    n = simulate(1, 1, 1, 100);
    assert_in_range(n, 100, 101);
}

static void test_request_above_burst(void **state)
{
    (void)state;
    tl_loadgen__bucket b;
    tl_loadgen__bucket_init(&b, 10, 5, 0);
    /* asking for more than the bucket can hold is capped, not refused forever */
    assert_int_equal(tl_loadgen__bucket_take(&b, 50, 0), 0);
    int64_t w = tl_loadgen__bucket_take(&b, 50, 0);
    assert_in_range(w, SEC / 2 - 10, SEC / 2 + 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlimited),
        cmocka_unit_test(test_burst_then_wait),
        cmocka_unit_test(test_long_run_rate),
        cmocka_unit_test(test_request_above_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
