/*
 * pace — the token bucket that holds tally loadgen to its rate.
 *
 * Tokens are events. They accrue at `rate` per second up to `burst`; a request
 * of n events leaves when n tokens are there and takes them. Time comes in as
 * an argument (monotonic nanoseconds), so the bucket is a pure function of the
 * times it is shown and the tests drive it with a fake clock.
 *
 * Why a bucket and not "sleep 1/rate between requests": requests take
 * variable time and several are in flight at once; the bucket keeps the long
 * run average exact whatever the latency, and bounds bursts to `burst` events.
 *
 * Invariant: 0 <= tokens <= burst. Cost: O(1) per call.
 */
#include "loadgen/gen.h"

void tl_loadgen__bucket_init(tl_loadgen__bucket *b, double rate, double burst, int64_t now_ns)
{
    b->rate = rate > 0 ? rate : 0;
    b->burst = burst > 1 ? burst : 1;
    b->tokens = b->burst;
    b->last_ns = now_ns;
}

int64_t tl_loadgen__bucket_take(tl_loadgen__bucket *b, double n, int64_t now_ns)
{
    if (b->rate <= 0)
        return 0;
    if (n > b->burst)
        n = b->burst;
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * b->rate / 1e9;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now_ns;
    }
    if (b->tokens >= n) {
        b->tokens -= n;
        return 0;
    }
    double wait_ns = (n - b->tokens) * 1e9 / b->rate;
    int64_t w = (int64_t)wait_ns + 1;
    return w > 0 ? w : 1;
}
