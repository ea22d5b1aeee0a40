/*
 * freshness — how long after its 2xx an event shows up in the real-time view.
 *
 * Method. For i = 1..N: POST /v1/track to a dedicated probe site with a NEW
 * anonymousId (so the site's current-visitor count must grow by one); the
 * moment the 200 arrives, start a clock and poll
 * GET /api/v2/realtime?site_id=<probe site> back to back until "visitors"
 * reaches the number of probes sent so far; the elapsed time is the sample.
 * Both requests go over their own keep-alive connection, so the samples hold
 * no TCP handshakes. Run it while other load is going on (bench/run.sh starts
 * `tally loadgen` beside it), otherwise it measures an idle server.
 *
 * The visitor count comes from a HyperLogLog sketch, which is an estimate:
 * with m = 2^14 registers and few visitors it is linear counting over the
 * empty registers, so a new visitor whose register is already taken does not
 * move it. The k-th probe does that with probability about k/m; over N
 * probes about N^2/(2m) times (2.7 for N = 300), as seen. So a probe also counts as visible when
 * the count rises above what was seen before it was sent, and one whose count never moves within
 * the timeout is reported as a "sketch miss", not as a sample. At the end an exact counter, the
 * site's `events` from POST /api/v2/query, must equal the probes accepted: that tells a sketch miss
 * from a lost event.
 *
 * The clock starts at the 200, so a probe already counted when its answer
 * arrives (the stream may read a record before its group commit is acked)
 * costs one poll round trip; first_poll says how many probes were visible at
 * the very first poll.
 *
 * Output: one human line and one machine line,
 *   FRESHNESS n=300 ok=299 first_poll=290 timeouts=1 post_errors=0 counted=300
 *   p50_ms=3.1 p99_ms=9.8 max_ms=12.0
 * (p50/p99/max over the visible probes; timeouts are the sketch misses.)
 * Exit status 0 when every probe was accepted, every accepted probe is counted
 * exactly, and at most 3% were sketch misses; 1 otherwise.
 *
 * usage: freshness --url http://127.0.0.1:8080 [--site probe.bench] [--n 300]
 *                  [--timeout-ms 2000]
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "json/json.h"

/* A browser's user agent: the server leaves crawlers (and may leave clients without a user
 * agent) out of the visitor count. */
#define PROBE_UA                                                                                   \
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "     \
    "Safari/537.36"

typedef struct {
    char *p;
    size_t len, cap;
} membuf;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    membuf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return 0;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* Reads "visitors" from a realtime answer; -1 when the answer has none (e.g. the site is
 * not known yet: 400). */
static long read_visitors(CURL *get, membuf *b, tl_arena *a)
{
    b->len = 0;
    if (curl_easy_perform(get) != CURLE_OK)
        return -1;
    long status = 0;
    curl_easy_getinfo(get, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || b->len == 0)
        return -1;
    tl_arena_reset(a);
    tl_json *doc = NULL;
    tl_json_error err;
    if (tl_json_parse(a, b->p, b->len, NULL, &doc, &err) != 0)
        return -1;
    int64_t v = -1;
    const tl_json *vis = tl_json_get(doc, "visitors");
    if (!vis || !tl_json_int64(vis, &v))
        return -1;
    return (long)v;
}

/* The site's exact event count today from POST /api/v2/query; -1 when unavailable. */
static long read_events(CURL *q, const char *url, const char *site, membuf *b, tl_arena *a)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"site_id\":\"%s\",\"metrics\":[\"events\"],\"date_range\":\"day\"}", site);
    curl_easy_setopt(q, CURLOPT_URL, url);
    curl_easy_setopt(q, CURLOPT_POSTFIELDS, body);
    b->len = 0;
    long status = 0;
    if (curl_easy_perform(q) != CURLE_OK)
        return -1;
    curl_easy_getinfo(q, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return -1;
    tl_arena_reset(a);
    tl_json *doc = NULL;
    tl_json_error err;
    if (tl_json_parse(a, b->p, b->len, NULL, &doc, &err) != 0)
        return -1;
    const tl_json *res = tl_json_get(doc, "results");
    if (!res || res->type != TL_JSON_ARRAY || res->len < 1)
        return -1;
    const tl_json *m = tl_json_get(&res->u.items[0], "metrics");
    int64_t v = -1;
    if (!m || m->type != TL_JSON_ARRAY || m->len < 1 || !tl_json_int64(&m->u.items[0], &v))
        return -1;
    return (long)v;
}

static int usage(void)
{
    fprintf(stderr, "usage: freshness --url URL [--site SITE] [--n N] [--timeout-ms MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *site = "probe.bench";
    long n = 300, timeout_ms = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end = NULL;
        if (strcmp(argv[i], "--url") == 0) {
            url = argv[i + 1];
        } else if (strcmp(argv[i], "--site") == 0) {
            site = argv[i + 1];
        } else if (strcmp(argv[i], "--n") == 0) {
            n = strtol(argv[i + 1], &end, 10);
            if (*end || n <= 0 || n > 1000000)
                return usage();
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            timeout_ms = strtol(argv[i + 1], &end, 10);
            if (*end || timeout_ms <= 0)
                return usage();
        } else {
            return usage();
        }
    }
    if (!url || argc % 2 == 0)
        return usage();

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *post = curl_easy_init(), *get = curl_easy_init();
    tl_arena *arena = tl_arena_new(1 << 14);
    double *samples = calloc((size_t)n, sizeof(double));
    membuf pb = {0}, gb = {0};
    if (!post || !get || !arena || !samples) {
        fprintf(stderr, "freshness: out of memory\n");
        return 1;
    }
    char post_url[512], get_url[512];
    snprintf(post_url, sizeof(post_url), "%s/v1/track", url);
    char *esc = curl_easy_escape(get, site, 0);
    snprintf(get_url, sizeof(get_url), "%s/api/v2/realtime?site_id=%s", url, esc);
    curl_free(esc);

    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(post, CURLOPT_URL, post_url);
    curl_easy_setopt(post, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(post, CURLOPT_USERNAME, site);
    curl_easy_setopt(post, CURLOPT_PASSWORD, "");
    curl_easy_setopt(post, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(post, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(post, CURLOPT_WRITEDATA, &pb);
    curl_easy_setopt(post, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(post, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(get, CURLOPT_URL, get_url);
    curl_easy_setopt(get, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(get, CURLOPT_WRITEDATA, &gb);
    curl_easy_setopt(get, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(get, CURLOPT_NOSIGNAL, 1L);

    /* A run id keeps messageIds and anonymousIds unique across runs against one server. */
    unsigned long long run = ((unsigned long long)time(NULL) << 20) ^ (unsigned long long)getpid();
    long baseline = read_visitors(get, &gb, arena);
    if (baseline < 0)
        baseline = 0;
    long seen = baseline, ok = 0, timeouts = 0, post_errors = 0, first_poll = 0, polls = 0;
    size_t ns = 0;

    for (long i = 0; i < n; i++) {
        char body[512], ts[32];
        tl_time_format(tl_now_ms(), ts);
        snprintf(body, sizeof(body),
                 "{\"type\":\"track\",\"event\":\"Freshness Probe\",\"messageId\":\"fp-%llx-%ld\","
                 "\"anonymousId\":\"fp-%llx-%ld\",\"properties\":{\"probe\":%ld},"
                 "\"context\":{\"library\":{\"name\":\"tally-bench\"},\"ip\":\"203.0.113.9\","
                 "\"userAgent\":\"" PROBE_UA "\"},\"timestamp\":\"%s\"}",
                 run, i, run, i, i, ts);
        curl_easy_setopt(post, CURLOPT_POSTFIELDS, body);
        pb.len = 0;
        CURLcode rc = curl_easy_perform(post);
        long status = 0;
        curl_easy_getinfo(post, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status / 100 != 2) {
            fprintf(stderr, "freshness: probe %ld: %s, status %ld %s\n", i,
                    rc ? curl_easy_strerror(rc) : "bad status", status, pb.p ? pb.p : "");
            post_errors++;
            continue;
        }
        double t0 = mono_ms();
        long want = baseline + ok + 1;
        long before = seen;
        for (long k = 1;; k++) {
            long v = read_visitors(get, &gb, arena);
            polls++;
            double dt = mono_ms() - t0;
            if (v >= want || (v > before && v >= 0)) {
                seen = v;
                samples[ns++] = dt;
                ok++;
                first_poll += k == 1;
                break;
            }
            if (dt > (double)timeout_ms) {
                timeouts++;
                fprintf(stderr,
                        "freshness: probe %ld: visitors did not move in %ld ms (visitors %ld, "
                        "want %ld): a sketch miss, or a probe slower than the timeout\n",
                        i, timeout_ms, v, want);
                if (v > seen)
                    seen = v;
                break;
            }
        }
    }

    /* the exact count: every accepted probe must be there (the stream may need a moment) */
    char query_url[512];
    snprintf(query_url, sizeof(query_url), "%s/api/v2/query", url);
    CURL *q = curl_easy_init();
    struct curl_slist *qh = curl_slist_append(NULL, "Content-Type: application/json");
    long counted = -1, accepted = n - post_errors;
    if (q && qh) {
        curl_easy_setopt(q, CURLOPT_HTTPHEADER, qh);
        curl_easy_setopt(q, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(q, CURLOPT_WRITEDATA, &gb);
        curl_easy_setopt(q, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(q, CURLOPT_NOSIGNAL, 1L);
        for (int k = 0; k < 50; k++) {
            counted = read_events(q, query_url, site, &gb, arena);
            if (counted >= accepted)
                break;
            usleep(100000);
        }
    }
    curl_slist_free_all(qh);
    curl_easy_cleanup(q);

    qsort(samples, ns, sizeof(double), cmp_double);
    double p50 = pct(samples, ns, 0.50), p99 = pct(samples, ns, 0.99);
    double max = ns ? samples[ns - 1] : 0;
    printf("freshness: %ld probes, %ld visible (%ld at the first poll, %ld polls in all), %ld "
           "sketch misses, %ld post errors, %ld of %ld counted exactly: p50 %.2f ms, p99 %.2f "
           "ms, max %.2f ms\n",
           n, ok, first_poll, polls, timeouts, post_errors, counted, accepted, p50, p99, max);
    printf("FRESHNESS n=%ld ok=%ld first_poll=%ld timeouts=%ld post_errors=%ld counted=%ld "
           "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           n, ok, first_poll, timeouts, post_errors, counted, p50, p99, max);

    curl_slist_free_all(hdrs);
    curl_easy_cleanup(post);
    curl_easy_cleanup(get);
    curl_global_cleanup();
    tl_arena_free(arena);
    free(samples);
    free(pb.p);
    free(gb.p);
    return post_errors == 0 && counted == n && timeouts * 100 <= n * 3 ? 0 : 1;
}
