/*
 * bench_enrich — cost of tl_enrich_event per event, on the mix of events a public site sees.
 *
 * 4096 template events are drawn (fixed seed) from weighted tables: 24 real user agents
 * (desktop and mobile Chrome, Safari, Firefox, Edge, Samsung, in-app browsers, a few bots),
 * referrers (direct, search, social, other sites, internal), UTM tags on some, client IPs in
 * IPv4 and IPv6, and a cookieless visitor (visitor == 0) on half of them. Each timed round
 * copies a template into a fresh tl_event and enriches it, resetting the arena every 1024
 * events, as the collector does per request. The user-agent cache is warmed first.
 *
 * Runs, each printed as events/s and ns/event:
 *   enrich            UA (cached) + source/channel + visitor id, no geo database
 *   enrich+geo        the same with a small MaxMind DB written by tests/tools/mmdb_writer.c;
 *                     the 4096 template IPs are all in the geo cache after warming
 *   enrich+geo new IP every event from 65536 distinct IPs: the geo cache (8192) mostly misses,
 *                     so this is the inet_pton + libmaxminddb cost (tiny database: a real
 *                     GeoLite2-City tree is deeper and its records larger)
 *   ua parse (cold)   tl_enrich__ua_parse alone, i.e. what a cache miss costs
 *   enrich+geo xN     N threads at once (default: 2), aggregate events/s
 *
 * Usage: bench_enrich [events per run, default 2000000] [threads, default 2]
 */
#include "enrich/enrich_int.h"

#include "../tests/tools/mmdb_writer.c"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEMPLATES 4096

typedef struct {
    const char *s;
    unsigned weight;
} weighted;

static const weighted AGENTS[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     30},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/123.0.0.0 Safari/537.36",
     8},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     10},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 6},
    {"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 3},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4.1 Safari/605.1.15",
     8},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
     7},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
     18},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
     5},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.82 Mobile Safari/537.36",
     14},
    {"Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4.1 Mobile/15E148 Safari/604.1",
     3},
    {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
     2},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
     2},
    {"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36",
     2},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;"
     "FBID/phone;FBLC/en_US;FBOP/5;FBAV/437.0.0.36.111]",
     1},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
     1},
    {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     1},
    {"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", 1},
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 1},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 1},
    {"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 1},
    {"curl/8.4.0", 1},
    {"python-requests/2.31.0", 1},
    {"", 1},
};

static const weighted REFERRERS[] = {
    {"", 30},
    {"https://www.google.com/", 28},
    {"https://www.bing.com/", 5},
    {"https://duckduckgo.com/", 4},
    {"https://t.co/", 3},
    {"https://www.facebook.com/", 5},
    {"https://www.reddit.com/r/programming/", 4},
    {"https://news.ycombinator.com/", 5},
    {"https://www.example.org/blog/post", 6},
    {"https://shop.example.com/cart", 10},
};

static const weighted URLS[] = {
    {"https://shop.example.com/", 50},
    {"https://shop.example.com/pricing?utm_source=newsletter&utm_medium=email", 10},
    {"https://shop.example.com/landing?gclid=EAIaIQobChMI", 5},
    {"https://shop.example.com/docs/getting-started", 35},
};

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *pick(const weighted *w, size_t n, uint64_t *s)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i].weight;
    unsigned r = (unsigned)(rng(s) % total);
    for (size_t i = 0; i < n; i++) {
        if (r < w[i].weight)
            return w[i].s;
        r -= w[i].weight;
    }
    return w[0].s;
}

static tl_str S(const char *c)
{
    return tl_str_make(c, strlen(c));
}

#define UNIQUE_IPS 65536 /* 8x the geo cache: nearly every lookup misses it */

typedef struct {
    tl_event ev[TEMPLATES];
    char ip[TEMPLATES][48];
    char unique_ip[UNIQUE_IPS][16]; /* 203.0.x.y and 198.51.x.y: half of them in the database */
} templates;

static void build(templates *t)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < UNIQUE_IPS; i++) {
        unsigned x = (unsigned)(i * 40503u) & 0xffffu; /* a permutation of 0..65535 */
        snprintf(t->unique_ip[i], sizeof(t->unique_ip[i]), "%s.%u.%u", i % 2 ? "203.0" : "198.51",
                 x >> 8, x & 255);
    }
    for (int i = 0; i < TEMPLATES; i++) {
        tl_event *ev = &t->ev[i];
        memset(ev, 0, sizeof(*ev));
        ev->type = i % 4 ? TL_EV_PAGE : TL_EV_TRACK;
        ev->f[TL_F_SITE] = S("shop.example.com");
        ev->f[TL_F_HOSTNAME] = S("shop.example.com");
        ev->f[TL_F_USER_AGENT] = S(pick(AGENTS, TL_ARRAY_LEN(AGENTS), &s));
        ev->f[TL_F_REFERRER] = S(pick(REFERRERS, TL_ARRAY_LEN(REFERRERS), &s));
        const char *url = pick(URLS, TL_ARRAY_LEN(URLS), &s);
        ev->f[TL_F_URL] = S(url);
        if (strstr(url, "utm_source")) {
            ev->f[TL_F_UTM_SOURCE] = S("newsletter");
            ev->f[TL_F_UTM_MEDIUM] = S("email");
        }
        ev->visitor = rng(&s) % 2 ? rng(&s) | 1 : 0;
        uint64_t r = rng(&s);
        switch (r % 5) {
        case 0:
            snprintf(t->ip[i], sizeof(t->ip[i]), "203.0.113.%u", (unsigned)(r >> 8) % 256);
            break;
        case 1:
            snprintf(t->ip[i], sizeof(t->ip[i]), "198.51.100.%u", (unsigned)(r >> 8) % 256);
            break;
        case 2:
            snprintf(t->ip[i], sizeof(t->ip[i]), "2001:db8:%x::%x", (unsigned)(r >> 8) & 0xffff,
                     (unsigned)(r >> 24) & 0xffff);
            break;
        default:
            snprintf(t->ip[i], sizeof(t->ip[i]), "%u.%u.%u.%u", (unsigned)(r >> 8) % 223 + 1,
                     (unsigned)(r >> 16) % 256, (unsigned)(r >> 24) % 256,
                     (unsigned)(r >> 32) % 256);
        }
    }
}

typedef struct {
    tl_enrich *e;
    const templates *t;
    long n;
    bool unique_ips; /* use unique_ip[] instead of the template's IP */
    uint64_t sink;
    double secs;
} run_arg;

static void *run(void *arg)
{
    run_arg *r = arg;
    tl_arena *a = tl_arena_new(64 * 1024);
    if (!a)
        return NULL;
    uint64_t sink = 0;
    int64_t t0 = tl_mono_ns();
    for (long i = 0; i < r->n; i++) {
        size_t k = (size_t)i % TEMPLATES;
        tl_event ev = r->t->ev[k];
        const char *ip = r->unique_ips ? r->t->unique_ip[(size_t)i % UNIQUE_IPS] : r->t->ip[k];
        tl_enrich_event(r->e, &ev, ip, strlen(ip), a);
        sink += ev.visitor + ev.f[TL_F_BROWSER].len + ev.f[TL_F_COUNTRY].len;
        if ((i & 1023) == 1023)
            tl_arena_reset(a);
    }
    r->secs = (double)(tl_mono_ns() - t0) / 1e9;
    r->sink = sink;
    tl_arena_free(a);
    return NULL;
}

static void report(const char *what, long n, double secs)
{
    printf("%-18s %10ld events  %8.3f s  %12.0f events/s  %7.1f ns/event\n", what, n, secs,
           (double)n / secs, secs * 1e9 / (double)n);
}

static int open_enrich(const char *db, const char *salts, tl_enrich **e)
{
    tl_enrich_opts o = {db, salts};
    char err[256];
    int rc = tl_enrich_open(&o, e, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "bench_enrich: tl_enrich_open: %s (%s)\n", tl_strerror(rc), err);
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
    long threads = argc > 2 ? strtol(argv[2], NULL, 10) : 2;
    if (n <= 0 || threads <= 0 || threads > 64) {
        fprintf(stderr, "usage: bench_enrich [events > 0] [threads 1..64]\n");
        return 2;
    }
    char dir[] = "/tmp/bench-enrich-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char db[64], salts[64];
    snprintf(db, sizeof(db), "%s/geo.mmdb", dir);
    snprintf(salts, sizeof(salts), "%s/salts", dir);

    static const mmdbw_geo berlin = {"DE",  "Germany", "BE", "Land Berlin", "Berlin", 2921044,
                                     52.52, 13.40,     20};
    static const mmdbw_geo sf = {
        "US", "United States", "CA", "California", "San Francisco", 6252001, 37.77, -122.42, 10};
    static const mmdbw_geo fr = {"FR", "France", NULL, NULL, NULL, 3017382, 46.0, 2.0, 500};
    mmdbw *w = NULL;
    int rc = mmdbw_new(28, &w);
    rc = rc ? rc : mmdbw_insert(w, "203.0.113.0/24", &berlin);
    rc = rc ? rc : mmdbw_insert(w, "198.51.100.0/24", &sf);
    rc = rc ? rc : mmdbw_insert(w, "2001:db8::/32", &fr);
    rc = rc ? rc : mmdbw_write(w, db, 1700000000);
    mmdbw_free(w);
    if (rc < 0) {
        fprintf(stderr, "bench_enrich: cannot write the test database: %s\n", tl_strerror(rc));
        return 1;
    }

    templates *t = malloc(sizeof(*t));
    if (!t)
        return 1;
    build(t);

    tl_enrich *plain = NULL, *geo = NULL;
    if (open_enrich(NULL, salts, &plain) < 0 || open_enrich(db, salts, &geo) < 0)
        return 1;

    run_arg warm = {plain, t, TEMPLATES, false, 0, 0};
    run(&warm);
    warm.e = geo;
    run(&warm);

    run_arg r = {plain, t, n, false, 0, 0};
    run(&r);
    report("enrich", n, r.secs);
    r.e = geo;
    run(&r);
    report("enrich+geo", n, r.secs);
    r.unique_ips = true;
    run(&r);
    report("enrich+geo new IP", n, r.secs);

    /* a cache miss: the bare parser over the same agents */
    uint64_t sink = r.sink;
    long parses = n / 4;
    int64_t t0 = tl_mono_ns();
    for (long i = 0; i < parses; i++) {
        tl_str ua = t->ev[i % TEMPLATES].f[TL_F_USER_AGENT];
        tl_enrich__ua u;
        tl_enrich__ua_parse(ua.ptr, ua.len, &u);
        sink += u.browser;
    }
    report("ua parse (cold)", parses, (double)(tl_mono_ns() - t0) / 1e9);

    pthread_t tid[64];
    run_arg ra[64];
    t0 = tl_mono_ns();
    for (long i = 0; i < threads; i++) {
        ra[i] = (run_arg){geo, t, n, false, 0, 0};
        pthread_create(&tid[i], NULL, run, &ra[i]);
    }
    for (long i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        sink += ra[i].sink;
    }
    char label[32];
    snprintf(label, sizeof(label), "enrich+geo x%ld", threads);
    report(label, n * threads, (double)(tl_mono_ns() - t0) / 1e9);
    printf("(checksum %llu, %ld CPUs online)\n", (unsigned long long)sink,
           sysconf(_SC_NPROCESSORS_ONLN));

    tl_enrich_close(plain);
    tl_enrich_close(geo);
    free(t);
    char path[512];
    DIR *d = opendir(salts);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", salts, de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(salts);
    unlink(db);
    rmdir(dir);
    return 0;
}
