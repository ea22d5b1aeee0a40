/*
 * loadgen — drives the generator (gen.c) over HTTP: the run loop and the CLI.
 *
 * Transport. One libcurl multi handle with `connections` easy handles; each
 * easy handle is reused for every request it makes, so with HTTP/1.1
 * keep-alive every handle holds one TCP connection for the whole run. At most
 * one request is in flight per handle; when one finishes the handle is idle
 * and the loop gives it the next request as soon as the token bucket (pace.c)
 * has `batch` tokens. rate 0 means the bucket never says no: every handle is
 * refilled the moment it finishes (closed-loop load, as fast as the server
 * answers).
 *
 * Requests. batch > 1: POST /v1/batch {"batch":[...],"sentAt":"..."} with
 * events of one site (the write key is per request, HTTP Basic user = site).
 * batch == 1: POST /v1/track, /v1/page or /v1/identify with the event as body.
 *
 * Accounting (tl_loadgen__account): 2xx counts every event accepted except
 * those listed in a "rejected" array in the body; 400/413/422 count the whole
 * request as rejected (a single invalid event is answered 400); anything else
 * (no answer, 401, 404, 429, 5xx...) is an http error. After a transport
 * error the handle waits BACKOFF_NS before its next try, so a loadgen started
 * before its server (as `serve --demo` does) neither spins nor floods the log.
 *
 * Stopping: when the duration is over or *stop is set, no new request starts;
 * the ones in flight get DRAIN_NS to finish and are then abandoned.
 */
#include "loadgen/loadgen.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "event/event.h"
#include "json/json.h"
#include "loadgen/gen.h"

#define BACKOFF_NS     (100 * 1000000LL)
#define DRAIN_NS       (5000 * 1000000LL)
#define POLL_MAX_MS    100
#define MAX_BATCH      500
#define MAX_CONNS      256
#define REQ_TIMEOUT_MS 10000L

void tl_loadgen_opts_default(tl_loadgen_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->connections = 4;
    o->batch = 1;
    o->late_frac = 0.02;
    o->dup_frac = 0.01;
    o->invalid_frac = 0.005;
}

/* ---- accounting ---- */

/* The number of items of the top-level "rejected" array, or -1 when there is none. */
static long count_rejected(const char *body, size_t len)
{
    if (!body || len == 0 || !memmem(body, len, "\"rejected\"", 10))
        return -1;
    tl_arena *a = tl_arena_new(len * 4 + 1024);
    if (!a)
        return -1;
    tl_json *doc = NULL;
    tl_json_error err;
    long n = -1;
    if (tl_json_parse(a, body, len, NULL, &doc, &err) == 0) {
        const tl_json *r = tl_json_get(doc, "rejected");
        if (r && r->type == TL_JSON_ARRAY)
            n = (long)r->len;
    }
    tl_arena_free(a);
    return n;
}

void tl_loadgen__account(bool transport_ok, long status, const char *body, size_t len, uint32_t n,
                         tl_loadgen_stats *st)
{
    st->requests++;
    st->events_sent += n;
    if (!transport_ok) {
        st->http_errors++;
        return;
    }
    if (status >= 200 && status < 300) {
        long rej = count_rejected(body, len);
        if (rej < 0)
            rej = 0;
        if ((uint64_t)rej > n)
            rej = n;
        st->events_rejected += (uint64_t)rej;
        st->events_ok += n - (uint64_t)rej;
    } else if (status == 400 || status == 413 || status == 422) {
        st->events_rejected += n;
    } else {
        st->http_errors++;
    }
}

/* ---- the run ---- */

typedef struct {
    CURL *easy;
    tl_buf body;
    tl_buf resp;
    bool busy;
    int64_t not_before_ns;
    uint32_t n, dup, invalid, late;
} conn;

typedef struct {
    const tl_loadgen_opts *o;
    tl_loadgen__gen *gen;
    CURLM *multi;
    struct curl_slist *headers;
    conn *conns;
    int n_conns;
    char *url_batch, *url_track, *url_page, *url_identify;
    tl_loadgen_stats st;
} run_ctx;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    tl_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > (1u << 20)) /* a response this large is not ours to read */
        return n;
    return tl_buf_append(b, p, n) == 0 ? n : 0;
}

static char *join_url(const char *base, size_t base_len, const char *path)
{
    size_t n = base_len + strlen(path) + 1;
    char *s = tl_malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s", (int)base_len, base, path);
    return s;
}

/* Fills c with the next request and hands it to the multi handle. */
static int start_request(run_ctx *r, conn *c)
{
    const tl_loadgen_opts *o = r->o;
    size_t site = tl_loadgen__gen_pick_site(r->gen);
    int64_t now = tl_now_ms();
    tl_loadgen__event_info info;
    const char *url = r->url_batch;
    int rc = 0;

    tl_buf_reset(&c->body);
    tl_buf_reset(&c->resp);
    c->n = c->dup = c->invalid = c->late = 0;
    if (o->batch > 1 && (rc = tl_buf_puts(&c->body, "{\"batch\":[")))
        return rc;
    for (int i = 0; i < o->batch; i++) {
        if (i > 0 && (rc = tl_buf_putc(&c->body, ',')))
            return rc;
        if ((rc = tl_loadgen__gen_next(r->gen, site, now, &c->body, &info)))
            return rc;
        c->n++;
        c->dup += info.kind == TL_LOADGEN__DUP;
        c->invalid += info.kind == TL_LOADGEN__INVALID;
        c->late += info.kind == TL_LOADGEN__LATE;
    }
    if (o->batch > 1) {
        char sent[32];
        size_t n = tl_time_format(now, sent);
        if ((rc = tl_buf_puts(&c->body, "],\"sentAt\":\"")) ||
            (rc = tl_buf_append(&c->body, sent, n)) || (rc = tl_buf_puts(&c->body, "\"}")))
            return rc;
    } else {
        url = info.type == TL_EV_PAGE       ? r->url_page
              : info.type == TL_EV_IDENTIFY ? r->url_identify
                                            : r->url_track;
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_USERNAME, o->sites[site]);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body.ptr);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
    if (curl_multi_add_handle(r->multi, c->easy) != CURLM_OK)
        return TL_EIO;
    c->busy = true;
    return 0;
}

static void finish_request(run_ctx *r, conn *c, CURLcode res)
{
    static int64_t last_log;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    bool ok = res == CURLE_OK;
    uint64_t errs = r->st.http_errors;
    tl_loadgen__account(ok, status, c->resp.ptr, c->resp.len, c->n, &r->st);
    r->st.duplicates_sent += c->dup;
    r->st.invalid_sent += c->invalid;
    r->st.late_sent += c->late;
    if (r->st.http_errors != errs) {
        /* last_log only rate-limits a log line; a race on it costs at most an extra line */
        tl_log_limited(&last_log, 5000, TL_LOG_WARN, "loadgen: request failed: %s (status %ld)",
                       ok ? "bad status" : curl_easy_strerror(res), status);
        c->not_before_ns = tl_mono_ns() + BACKOFF_NS;
    }
    curl_multi_remove_handle(r->multi, c->easy);
    c->busy = false;
}

static int setup(run_ctx *r)
{
    const tl_loadgen_opts *o = r->o;
    size_t base_len = strlen(o->url);
    while (base_len > 0 && o->url[base_len - 1] == '/')
        base_len--;
    r->url_batch = join_url(o->url, base_len, "/v1/batch");
    r->url_track = join_url(o->url, base_len, "/v1/track");
    r->url_page = join_url(o->url, base_len, "/v1/page");
    r->url_identify = join_url(o->url, base_len, "/v1/identify");
    if (!r->url_batch || !r->url_track || !r->url_page || !r->url_identify)
        return TL_ENOMEM;

    r->multi = curl_multi_init();
    if (!r->multi)
        return TL_EIO;
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->n_conns);
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)r->n_conns);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h)
        r->headers = h;
    /* curl would otherwise send "Expect: 100-continue" on bodies over 1 KB: a round trip */
    if (!h || !(h = curl_slist_append(r->headers, "Expect:")))
        return TL_ENOMEM;
    r->headers = h;

    r->conns = tl_calloc((size_t)r->n_conns, sizeof(*r->conns));
    if (!r->conns)
        return TL_ENOMEM;
    for (int i = 0; i < r->n_conns; i++) {
        conn *c = &r->conns[i];
        tl_buf_init(&c->body);
        tl_buf_init(&c->resp);
        c->easy = curl_easy_init();
        if (!c->easy)
            return TL_EIO;
        curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->easy, CURLOPT_PASSWORD, "");
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->resp);
        curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, REQ_TIMEOUT_MS);
        curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
        curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    }
    return 0;
}

static void teardown(run_ctx *r)
{
    if (r->conns) {
        for (int i = 0; i < r->n_conns; i++) {
            conn *c = &r->conns[i];
            if (c->easy) {
                if (c->busy && r->multi)
                    curl_multi_remove_handle(r->multi, c->easy);
                curl_easy_cleanup(c->easy);
            }
            tl_buf_deinit(&c->body);
            tl_buf_deinit(&c->resp);
        }
        tl_free(r->conns);
    }
    if (r->multi)
        curl_multi_cleanup(r->multi);
    curl_slist_free_all(r->headers);
    tl_free(r->url_batch);
    tl_free(r->url_track);
    tl_free(r->url_page);
    tl_free(r->url_identify);
    tl_loadgen__gen_free(r->gen);
}

static int loop(run_ctx *r)
{
    const tl_loadgen_opts *o = r->o;
    tl_loadgen__bucket bucket;
    int64_t start = tl_mono_ns();
    int64_t end = o->duration_s > 0 ? start + (int64_t)(o->duration_s * 1e9) : INT64_MAX;
    int64_t drain_until = 0;
    double burst = TL_MAX((double)o->batch, o->rate * 0.05);
    tl_loadgen__bucket_init(&bucket, o->rate, burst, start);

    for (;;) {
        int64_t now = tl_mono_ns();
        bool stopping = now >= end || (o->stop && *o->stop);
        int busy = 0;
        int64_t wait_ns = (int64_t)POLL_MAX_MS * 1000000;

        if (stopping && drain_until == 0)
            drain_until = now + DRAIN_NS;
        for (int i = 0; i < r->n_conns; i++) {
            conn *c = &r->conns[i];
            if (!c->busy && !stopping) {
                if (c->not_before_ns > now) {
                    wait_ns = TL_MIN(wait_ns, c->not_before_ns - now);
                    continue;
                }
                int64_t w = tl_loadgen__bucket_take(&bucket, o->batch, now);
                if (w > 0) {
                    wait_ns = TL_MIN(wait_ns, w);
                    continue;
                }
                int rc = start_request(r, c);
                if (rc)
                    return rc;
            }
            busy += c->busy;
        }
        if (stopping && (busy == 0 || now >= drain_until))
            break;

        int running = 0;
        if (curl_multi_perform(r->multi, &running) != CURLM_OK)
            return TL_EIO;
        int finished = 0, left = 0;
        CURLMsg *m;
        while ((m = curl_multi_info_read(r->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            conn *c = NULL;
            CURLcode res = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            if (c) {
                finish_request(r, c, res);
                finished++;
            }
        }
        if (finished > 0)
            continue; /* refill at once (or learn from the bucket how long to wait) */
        int timeout_ms = (int)((wait_ns + 999999) / 1000000);
        if (timeout_ms < 1)
            timeout_ms = 1;
        if (curl_multi_poll(r->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
            return TL_EIO;
    }
    r->st.seconds = (double)(tl_mono_ns() - start) / 1e9;
    return 0;
}

int tl_loadgen_run(const tl_loadgen_opts *o, tl_loadgen_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!o->url || !o->url[0] || !o->sites || o->n_sites == 0 || o->rate < 0 || o->duration_s < 0 ||
        o->batch > MAX_BATCH || o->connections > MAX_CONNS || (o->duration_s == 0 && !o->stop))
        return TL_EINVAL;

    tl_loadgen_opts eff = *o;
    if (eff.connections <= 0)
        eff.connections = 4;
    if (eff.batch <= 0)
        eff.batch = 1;

    run_ctx r;
    memset(&r, 0, sizeof(r));
    r.o = &eff;
    r.n_conns = eff.connections;

    uint64_t seed = eff.seed ? eff.seed : (uint64_t)tl_mono_ns() ^ (uint64_t)tl_now_ms() << 20;
    tl_loadgen__gen_cfg cfg = {
        .sites = eff.sites,
        .n_sites = eff.n_sites,
        .late_frac = eff.late_frac,
        .dup_frac = eff.dup_frac,
        .invalid_frac = eff.invalid_frac,
        .seed = seed,
        /* the clock salts the messageIds: a rerun with the same seed must not look like
         * a retry of the previous run to the server's dedup */
        .id_salt = seed ^ ((uint64_t)tl_now_ms() << 16) ^ (uint64_t)tl_mono_ns(),
    };
    int rc = tl_loadgen__gen_new(&cfg, &r.gen);
    if (rc)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        tl_loadgen__gen_free(r.gen);
        return TL_EIO;
    }
    rc = setup(&r);
    if (rc == 0)
        rc = loop(&r);
    *out = r.st;
    teardown(&r);
    curl_global_cleanup();
    if (rc)
        tl_log(TL_LOG_ERROR, "loadgen: run failed: %s", tl_strerror(rc));
    return rc;
}

/* ---- CLI ---- */

static const char *const DEFAULT_SITES[] = {"shop.example", "blog.example", "docs.example"};

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return TL_EINVAL;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return TL_EINVAL;
    *out = v;
    return 0;
}

int tl_loadgen__parse_args(int argc, char **argv, tl_loadgen__args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    tl_loadgen_opts_default(&a->opts);
    a->opts.url = "http://127.0.0.1:8080";
    a->opts.rate = 100;
    a->opts.sites = a->sites;
    err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument \"%s\": expected a --flag", arg);
            return TL_EINVAL;
        }
        /* --flag value or --flag=value */
        const char *name = arg + 2, *val;
        size_t name_len;
        const char *eq = strchr(name, '=');
        if (eq) {
            name_len = (size_t)(eq - name);
            val = eq + 1;
        } else {
            name_len = strlen(name);
            if (i + 1 >= argc) {
                snprintf(err, errlen, "flag --%s needs a value", name);
                return TL_EINVAL;
            }
            val = argv[++i];
        }
#define IS(lit) (name_len == sizeof(lit) - 1 && memcmp(name, lit, name_len) == 0)
        long l = 0;
        int rc = 0;
        if (IS("url")) {
            if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0)
                rc = TL_EINVAL;
            a->opts.url = val;
        } else if (IS("site")) {
            if (a->opts.n_sites >= TL_LOADGEN_MAX_SITES || !val[0])
                rc = TL_EINVAL;
            else
                a->sites[a->opts.n_sites++] = val;
        } else if (IS("rate")) {
            rc = parse_double(val, 0, 1e9, &a->opts.rate);
        } else if (IS("duration")) {
            rc = parse_double(val, 0, 1e7, &a->opts.duration_s);
        } else if (IS("connections")) {
            rc = parse_long(val, 1, MAX_CONNS, &l);
            a->opts.connections = (int)l;
        } else if (IS("batch")) {
            rc = parse_long(val, 1, MAX_BATCH, &l);
            a->opts.batch = (int)l;
        } else if (IS("seed")) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 0);
            if (errno || end == val || *end)
                rc = TL_EINVAL;
            a->opts.seed = (uint64_t)s;
        } else if (IS("late")) {
            rc = parse_double(val, 0, 1, &a->opts.late_frac);
        } else if (IS("dup")) {
            rc = parse_double(val, 0, 1, &a->opts.dup_frac);
        } else if (IS("invalid")) {
            rc = parse_double(val, 0, 1, &a->opts.invalid_frac);
        } else {
            snprintf(err, errlen, "unknown flag --%.*s", (int)name_len, name);
            return TL_EINVAL;
        }
#undef IS
        if (rc) {
            snprintf(err, errlen, "bad value \"%s\" for --%.*s", val, (int)name_len, name);
            return TL_EINVAL;
        }
    }
    if (a->opts.late_frac + a->opts.dup_frac + a->opts.invalid_frac > 1) {
        snprintf(err, errlen, "--late + --dup + --invalid must not exceed 1");
        return TL_EINVAL;
    }
    if (a->opts.n_sites == 0) {
        for (size_t i = 0; i < TL_ARRAY_LEN(DEFAULT_SITES); i++)
            a->sites[i] = DEFAULT_SITES[i];
        a->opts.n_sites = TL_ARRAY_LEN(DEFAULT_SITES);
    }
    return 0;
}

static const char USAGE[] =
    "usage: tally loadgen [flags]\n"
    "Sends realistic Segment traffic (pages, funnels, identifies, some late, duplicate and\n"
    "invalid events) to a tally server.\n"
    "  --url URL          base URL (default http://127.0.0.1:8080)\n"
    "  --site KEY         site / write key; repeatable (default shop.example blog.example "
    "docs.example)\n"
    "  --rate N           events per second, 0 = as fast as possible (default 100)\n"
    "  --duration S       seconds to run, 0 = until interrupted (default 0)\n"
    "  --connections N    keep-alive connections (default 4)\n"
    "  --batch N          events per request; 1 uses /v1/<type>, more /v1/batch (default 1)\n"
    "  --seed N           PRNG seed (default: from the clock)\n"
    "  --late F --dup F --invalid F   fractions (default 0.02 0.01 0.005)\n";

typedef struct {
    sigset_t set;
    volatile int *stop;
} sig_waiter;

/* Waits for SIGINT/SIGTERM (blocked in every other thread) and raises the stop flag; the CLI
 * wakes it with SIGUSR1 when the run ends by itself. No handler, no global flag. */
static void *wait_signals(void *arg)
{
    sig_waiter *w = arg;
    int sig = 0;
    if (sigwait(&w->set, &sig) == 0)
        __atomic_store_n(w->stop, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int tl_loadgen_cli(int argc, char **argv)
{
    tl_loadgen__args a;
    char err[200];
    if (tl_loadgen__parse_args(argc, argv, &a, err, sizeof(err))) {
        fprintf(stderr, "tally loadgen: %s\n%s", err, USAGE);
        return 2;
    }
    if (a.help) {
        fputs(USAGE, stdout);
        return 0;
    }

    volatile int stop = 0;
    sig_waiter w = {.stop = &stop};
    sigset_t old;
    sigemptyset(&w.set);
    sigaddset(&w.set, SIGINT);
    sigaddset(&w.set, SIGTERM);
    sigaddset(&w.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &w.set, &old);
    pthread_t th;
    bool have_thread = pthread_create(&th, NULL, wait_signals, &w) == 0;
    a.opts.stop = &stop;

    tl_loadgen_stats st;
    int rc = tl_loadgen_run(&a.opts, &st);

    if (have_thread) {
        pthread_kill(th, SIGUSR1);
        pthread_join(th, NULL);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        fprintf(stderr, "tally loadgen: %s\n", tl_strerror(rc));
        return 1;
    }
    double secs = st.seconds > 0 ? st.seconds : 1e-9;
    printf("loadgen: %s, %zu site(s), batch %d, %d connection(s), rate %s\n", a.opts.url,
           a.opts.n_sites, a.opts.batch, a.opts.connections,
           a.opts.rate > 0 ? "paced" : "unlimited");
    printf("  seconds          %.2f\n", st.seconds);
    printf("  requests         %" PRIu64 " (%.1f/s)\n", st.requests, (double)st.requests / secs);
    printf("  events sent      %" PRIu64 " (%.1f/s)\n", st.events_sent,
           (double)st.events_sent / secs);
    printf("  events accepted  %" PRIu64 "\n", st.events_ok);
    printf("  events rejected  %" PRIu64 " (invalid sent %" PRIu64 ")\n", st.events_rejected,
           st.invalid_sent);
    printf("  duplicates sent  %" PRIu64 "\n", st.duplicates_sent);
    printf("  late sent        %" PRIu64 "\n", st.late_sent);
    printf("  http errors      %" PRIu64 "\n", st.http_errors);
    return st.http_errors > 0 ? 1 : 0;
}
