/*
 * bench_json — parse throughput of the JSON reader on a realistic Segment
 * /v1/batch body, the shape the ingest path sees most.
 *
 * The body holds 100 events (track and page, alternating) with the context an
 * analytics.js client sends: page, campaign, library, user agent, locale, ip,
 * plus properties, ids and ISO timestamps; about 1 KB per event. Each round
 * parses the whole body into an arena and resets it, as the collector does per
 * request. It also times compact re-serialization (tl_json_write_value).
 *
 * Usage: bench_json [rounds]   (default 20000)
 * Prints bytes, rounds, MB/s (1 MB = 10^6 bytes) and events/s for each.
 */
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>

#define EVENTS 100

static int build_batch(tl_buf *b)
{
    static const char *const paths[] = {"/", "/pricing", "/docs/getting-started", "/blog/launch",
                                        "/signup"};
    static const char *const events[] = {"Signed Up", "Order Completed", "Product Viewed",
                                         "Checkout Started", "Video Played"};
    int rc = tl_buf_puts(b, "{\"batch\":[");
    for (int i = 0; i < EVENTS && rc == 0; i++) {
        const char *path = paths[i % 5];
        bool track = i % 2 == 0;
        rc = tl_buf_printf(
            b,
            "%s{\"type\":\"%s\",%s%s%s"
            "\"messageId\":\"ajs-next-%08x-4f1c-9a4e-%012x\","
            "\"anonymousId\":\"0d9c2b1e-7a3f-4e8b-b1c2-%012x\",\"userId\":\"user_%d\","
            "\"timestamp\":\"2024-05-01T12:%02d:%02d.%03dZ\","
            "\"sentAt\":\"2024-05-01T12:%02d:%02d.%03dZ\","
            "\"properties\":{\"url\":\"https://www.example.com%s?utm_source=newsletter\","
            "\"path\":\"%s\",\"referrer\":\"https://www.google.com/\",\"title\":\"Example \\u2014 "
            "Page %d\",\"search\":\"?utm_source=newsletter\",\"revenue\":%d.%02d,"
            "\"currency\":\"USD\",\"quantity\":%d,\"in_stock\":%s,\"tags\":[\"new\",\"sale\"]},"
            "\"context\":{\"ip\":\"203.0.113.%d\",\"locale\":\"en-US\",\"userAgent\":"
            "\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/124.0.0.0 Safari/537.36\",\"page\":{\"url\":\"https://www.example.com%s"
            "\",\"path\":\"%s\",\"referrer\":\"https://www.google.com/\",\"title\":\"Example\","
            "\"search\":\"\"},\"campaign\":{\"name\":\"spring_sale\",\"source\":\"newsletter\","
            "\"medium\":\"email\",\"term\":\"analytics\",\"content\":\"hero-link\"},"
            "\"library\":{\"name\":\"analytics.js\",\"version\":\"next-1.70.0\"},"
            "\"screen\":{\"width\":1512,\"height\":982,\"density\":2},\"timezone\":"
            "\"Europe/Berlin\"},\"integrations\":{\"All\":true}}",
            i ? "," : "", track ? "track" : "page", track ? "\"event\":\"" : "",
            track ? events[i % 5] : "", track ? "\"," : "\"name\":\"Home\",",
            (unsigned)i * 2654435761u, i * 7919, i * 104729, i, i % 60, (i * 7) % 60, i % 1000,
            i % 60, (i * 7) % 60, (i + 40) % 1000, path, path, i, i * 3, i % 100, i % 5 + 1,
            i % 3 ? "true" : "false", i % 250, path, path);
    }
    if (rc == 0)
        rc = tl_buf_puts(b, "],\"sentAt\":\"2024-05-01T12:30:00.000Z\",\"context\":{\"library\":"
                            "{\"name\":\"analytics-node\",\"version\":\"2.1.0\"}}}");
    return rc;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    tl_buf body, out;
    tl_arena *a = tl_arena_new(1024 * 1024); /* one chunk holds a whole parsed body */
    tl_json *v = NULL;
    tl_json_error err;
    tl_json_limits lim = {.max_depth = 64, .max_string_len = 32 * 1024, .max_members = 1000};
    int64_t t0, t1;
    double secs, mb;

    if (rounds <= 0 || !a)
        return 2;
    tl_buf_init(&body);
    tl_buf_init(&out);
    if (build_batch(&body) != 0)
        return 1;
    /* sanity: it parses and holds 100 events */
    if (tl_json_parse(a, body.ptr, body.len, &lim, &v, &err) != 0) {
        fprintf(stderr, "bench body does not parse: %s\n", err.msg);
        return 1;
    }
    if (tl_json_get(v, "batch")->len != EVENTS) {
        fprintf(stderr, "expected %d events\n", EVENTS);
        return 1;
    }

    /* warm up, then time */
    for (long i = 0; i < rounds / 10 + 1; i++) {
        tl_arena_reset(a);
        (void)tl_json_parse(a, body.ptr, body.len, &lim, &v, &err);
    }
    t0 = tl_mono_ns();
    for (long i = 0; i < rounds; i++) {
        tl_arena_reset(a);
        if (tl_json_parse(a, body.ptr, body.len, &lim, &v, &err) != 0)
            return 1;
    }
    t1 = tl_mono_ns();
    secs = (double)(t1 - t0) / 1e9;
    mb = (double)body.len * (double)rounds / 1e6;
    printf("json parse: body %zu bytes (%d events), %ld rounds, %.3f s: %.0f MB/s, %.2f M "
           "events/s, arena %zu bytes per body\n",
           body.len, EVENTS, rounds, secs, mb / secs, (double)EVENTS * (double)rounds / secs / 1e6,
           tl_arena_used(a));

    t0 = tl_mono_ns();
    for (long i = 0; i < rounds; i++) {
        tl_buf_reset(&out);
        if (tl_json_write_value(&out, v) != 0)
            return 1;
    }
    t1 = tl_mono_ns();
    secs = (double)(t1 - t0) / 1e9;
    printf("json write: %zu bytes out, %ld rounds, %.3f s: %.0f MB/s\n", out.len, rounds, secs,
           (double)out.len * (double)rounds / 1e6 / secs);

    tl_buf_deinit(&body);
    tl_buf_deinit(&out);
    tl_arena_free(a);
    return 0;
}
