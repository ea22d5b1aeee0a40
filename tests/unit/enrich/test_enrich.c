/* Unit tests for src/enrich/enrich.c: whole-event enrichment, geo-IP against a database the
 * test writes itself (tests/tools/mmdb_writer.c) and reads back through libmaxminddb, the
 * daily salts behind cookieless visitor ids, the raw IP never landing in a field, and four
 * threads enriching at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/enrich_int.h"
#include "tools/mmdb_writer.c"

#define DAY_MS 86400000LL

typedef struct {
    char dir[64];    /* mkdtemp directory */
    char db[128];    /* dir/geo.mmdb */
    char salts[128]; /* dir/salts */
    int64_t now;     /* what the test clock says */
} fixture;

static int64_t fixed_clock(void *ctx)
{
    return *(const int64_t *)ctx;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        char sub[512];
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static const mmdbw_geo BERLIN = {"DE",  "Germany", "BE", "Land Berlin", "Berlin", 2921044,
                                 52.52, 13.40,     20};
static const mmdbw_geo SAN_FRANCISCO = {
    "US", "United States", "CA", "California", "San Francisco", 6252001, 37.77, -122.42, 10};
static const mmdbw_geo FRANCE = {"FR", "France", NULL, NULL, NULL, 3017382, 46.0, 2.0, 500};
static const mmdbw_geo TOKYO = {"JP", "Japan", NULL, "Tokyo", NULL, 1861060, 35.68, 139.69, 50};

static void write_db(const char *path, unsigned record_size)
{
    mmdbw *w;
    assert_int_equal(mmdbw_new(record_size, &w), 0);
    assert_int_equal(mmdbw_insert(w, "203.0.113.0/24", &BERLIN), 0);
    assert_int_equal(mmdbw_insert(w, "198.51.100.0/24", &SAN_FRANCISCO), 0);
    assert_int_equal(mmdbw_insert(w, "2001:db8::/32", &FRANCE), 0);
    assert_int_equal(mmdbw_insert(w, "192.0.2.128/25", &TOKYO), 0);
    assert_int_equal(mmdbw_insert(w, "bogus", &TOKYO), TL_EINVAL);
    assert_int_equal(mmdbw_insert(w, "192.0.2.0/33", &TOKYO), TL_EINVAL);
    assert_int_equal(mmdbw_write(w, path, 1700000000), 0);
    mmdbw_free(w);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/tally-enrich-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof(f->db), "%s/geo.mmdb", f->dir);
    snprintf(f->salts, sizeof(f->salts), "%s/salts", f->dir);
    /* far from today so the test clock always moves the salt forward */
    f->now = (tl_now_ms() / DAY_MS + 10) * DAY_MS + 12 * 3600 * 1000LL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_rf(f->dir);
    free(f);
    return 0;
}

static tl_str s(const char *c)
{
    return tl_str_make(c, strlen(c));
}

static void assert_field(const tl_event *ev, int field, const char *want)
{
    if (!tl_str_eq(ev->f[field], want) && !(want[0] == '\0' && ev->f[field].len == 0))
        fail_msg("%s: got \"%.*s\", want \"%s\"", tl_event_field_name(field), (int)ev->f[field].len,
                 ev->f[field].ptr ? ev->f[field].ptr : "", want);
}

/* No field of ev contains the IP text. */
static void assert_no_ip(const tl_event *ev, const char *ip)
{
    size_t n = strlen(ip);
    for (int i = 1; i < TL_F__COUNT; i++)
        if (n && ev->f[i].len && memmem(ev->f[i].ptr, ev->f[i].len, ip, n))
            fail_msg("field %s holds the raw IP", tl_event_field_name(i));
}

static tl_enrich *open_enrich(fixture *f, const char *db, const char *salts)
{
    tl_enrich_opts o = {db, salts};
    tl_enrich *e = NULL;
    char err[256];
    int rc = tl_enrich_open(&o, &e, err, sizeof(err));
    if (rc != 0)
        fail_msg("tl_enrich_open: %s (%s)", tl_strerror(rc), err);
    tl_enrich__set_clock(e, fixed_clock, &f->now);
    return e;
}

static void page(tl_event *ev, const char *site, const char *ua)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = TL_EV_PAGE;
    ev->f[TL_F_SITE] = s(site);
    ev->f[TL_F_USER_AGENT] = s(ua);
    ev->f[TL_F_URL] = s("https://shop.example.com/pricing");
    ev->f[TL_F_HOSTNAME] = s("shop.example.com");
}

#define CHROME_WIN                                                                                 \
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "            \
    "Chrome/120.0.0.0 Safari/537.36"
#define SAFARI_IOS                                                                                 \
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "       \
    "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
#define GOOGLEBOT "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

static void test_open_errors(void **state)
{
    fixture *f = *state;
    tl_enrich *e = (tl_enrich *)1;
    char err[256];
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/missing.mmdb", f->dir);
    tl_enrich_opts o = {missing, NULL};
    assert_int_equal(tl_enrich_open(&o, &e, err, sizeof(err)), TL_ENOTFOUND);
    assert_null(e);
    assert_non_null(strstr(err, "missing.mmdb"));

    char junk[160];
    snprintf(junk, sizeof(junk), "%s/junk.mmdb", f->dir);
    assert_int_equal(tl_write_file_atomic(junk, "not a maxmind database", 22), 0);
    o.geoip_db = junk;
    assert_int_equal(tl_enrich_open(&o, &e, err, sizeof(err)), TL_ECORRUPT);
    assert_null(e);

    /* salt_dir under a regular file cannot be created */
    char bad[200];
    snprintf(bad, sizeof(bad), "%s/salts", junk);
    o.geoip_db = NULL;
    o.salt_dir = bad;
    assert_true(tl_enrich_open(&o, &e, err, sizeof(err)) < 0);
    assert_null(e);

    /* nothing configured at all is fine */
    assert_int_equal(tl_enrich_open(NULL, &e, err, sizeof(err)), 0);
    tl_enrich_close(e);
    tl_enrich_close(NULL);
}

static void test_event_fields(void **state)
{
    fixture *f = *state;
    tl_enrich *e = open_enrich(f, NULL, f->salts);
    tl_arena *a = tl_arena_new(4096);
    tl_event ev;

    page(&ev, "shop", CHROME_WIN);
    ev.f[TL_F_REFERRER] = s("https://www.google.com/");
    tl_enrich_event(e, &ev, "203.0.113.7", 11, a);
    assert_field(&ev, TL_F_BROWSER, "Chrome");
    assert_field(&ev, TL_F_BROWSER_VERSION, "120");
    assert_field(&ev, TL_F_OS, "Windows");
    assert_field(&ev, TL_F_OS_VERSION, "10");
    assert_field(&ev, TL_F_DEVICE, "Desktop");
    assert_field(&ev, TL_F_SOURCE, "Google");
    assert_field(&ev, TL_F_CHANNEL, "Organic Search");
    assert_field(&ev, TL_F_COUNTRY, ""); /* no database */
    assert_int_equal(ev.flags & TL_EVF_BOT, 0);
    assert_true(ev.visitor != 0);
    assert_no_ip(&ev, "203.0.113.7");

    page(&ev, "shop", SAFARI_IOS);
    ev.f[TL_F_UTM_SOURCE] = s("newsletter");
    ev.f[TL_F_UTM_MEDIUM] = s("email");
    tl_enrich_event(e, &ev, "", 0, a);
    assert_field(&ev, TL_F_BROWSER, "Mobile Safari");
    assert_field(&ev, TL_F_BROWSER_VERSION, "17.1");
    assert_field(&ev, TL_F_OS, "iOS");
    assert_field(&ev, TL_F_OS_VERSION, "17.1");
    assert_field(&ev, TL_F_DEVICE, "Mobile");
    assert_field(&ev, TL_F_SOURCE, "newsletter");
    assert_field(&ev, TL_F_CHANNEL, "Email");

    page(&ev, "shop", GOOGLEBOT);
    tl_enrich_event(e, &ev, "198.51.100.1", 12, a);
    assert_int_equal(ev.flags & TL_EVF_BOT, TL_EVF_BOT);
    assert_field(&ev, TL_F_BROWSER, "Googlebot");
    assert_field(&ev, TL_F_SOURCE, "Direct / None");
    assert_field(&ev, TL_F_CHANNEL, "Direct");

    page(&ev, "shop", "");
    ev.flags = TL_EVF_SKEWED;
    tl_enrich_event(e, &ev, NULL, 5, a);       /* a NULL ip is an empty one */
    assert_int_equal(ev.flags, TL_EVF_SKEWED); /* no agent (server-side SDKs): not a bot */
    assert_field(&ev, TL_F_BROWSER, "");
    assert_field(&ev, TL_F_DEVICE, "");
    assert_true(ev.visitor != 0);

    /* versions are copied into the arena; names are static */
    page(&ev, "shop", CHROME_WIN);
    size_t before = tl_arena_used(a);
    tl_enrich_event(e, &ev, "203.0.113.7", 11, a);
    assert_true(tl_arena_used(a) > before);
    /* without an arena the version fields stay empty but the names are set */
    page(&ev, "shop", CHROME_WIN);
    tl_enrich_event(e, &ev, "203.0.113.7", 11, NULL);
    assert_field(&ev, TL_F_BROWSER, "Chrome");
    assert_field(&ev, TL_F_BROWSER_VERSION, "");

    tl_arena_free(a);
    tl_enrich_close(e);
}

typedef struct {
    const char *ip;
    const char *country, *region, *city;
} geo_case;

static const geo_case GEO[] = {
    {"203.0.113.7", "DE", "DE-BE", "Berlin"},
    {"203.0.113.255", "DE", "DE-BE", "Berlin"},
    {"198.51.100.200", "US", "US-CA", "San Francisco"},
    {"2001:db8::1", "FR", "", ""},
    {"2001:db8:ffff:1::abcd", "FR", "", ""},
    {"[2001:db8:1::5]", "FR", "", ""},
    {"::ffff:203.0.113.9", "DE", "DE-BE", "Berlin"},
    {"192.0.2.200", "JP", "Tokyo", ""},
    {"192.0.2.1", "", "", ""}, /* the /25 next to Tokyo's */
    {"8.8.8.8", "", "", ""},
    {"203.0.114.1", "", "", ""},
    {"2606:4700::1111", "", "", ""},
    {"2001:db9::1", "", "", ""},
    {"not-an-ip", "", "", ""},
    {"203.0.113.7, 10.0.0.1", "", "", ""},
    {"203.0.113.7:443", "", "", ""},
    {"fe80::1%eth0", "", "", ""},
    {"", "", "", ""},
};

static void check_geo(tl_enrich *e, tl_arena *a)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(GEO); i++) {
        tl_event ev;
        page(&ev, "shop", CHROME_WIN);
        tl_enrich_event(e, &ev, GEO[i].ip, strlen(GEO[i].ip), a);
        const char *want[3] = {GEO[i].country, GEO[i].region, GEO[i].city};
        const int fields[3] = {TL_F_COUNTRY, TL_F_REGION, TL_F_CITY};
        for (int k = 0; k < 3; k++) {
            tl_str got = ev.f[fields[k]];
            if (!(tl_str_eq(got, want[k]) || (!want[k][0] && !got.len)))
                fail_msg("%s: %s got \"%.*s\", want \"%s\"", GEO[i].ip,
                         tl_event_field_name(fields[k]), (int)got.len, got.ptr ? got.ptr : "",
                         want[k]);
        }
        assert_no_ip(&ev, GEO[i].ip);
    }
}

static void test_geo(void **state)
{
    fixture *f = *state;
    static const unsigned sizes[] = {24, 28, 32};
    tl_arena *a = tl_arena_new(4096);
    for (size_t i = 0; i < TL_ARRAY_LEN(sizes); i++) {
        write_db(f->db, sizes[i]);
        tl_enrich *e = open_enrich(f, f->db, NULL);
        check_geo(e, a);
        check_geo(e, a); /* now from the geo cache */

        /* a replayed event without an IP keeps the geo it already had */
        tl_event ev;
        page(&ev, "shop", CHROME_WIN);
        ev.f[TL_F_COUNTRY] = s("NL");
        tl_enrich_event(e, &ev, "8.8.8.8", 7, a);
        assert_field(&ev, TL_F_COUNTRY, "NL");
        tl_enrich_close(e);
        tl_arena_reset(a);
    }

    /* no database: no geo, nothing else changes */
    tl_enrich *e = open_enrich(f, NULL, NULL);
    tl_event ev;
    page(&ev, "shop", CHROME_WIN);
    tl_enrich_event(e, &ev, "203.0.113.7", 11, a);
    assert_int_equal(ev.f[TL_F_COUNTRY].len, 0);
    assert_int_equal(ev.f[TL_F_CITY].len, 0);
    assert_field(&ev, TL_F_BROWSER, "Chrome");
    tl_enrich_close(e);
    tl_arena_free(a);
}

/* ---- cookieless visitor ids ---- */

static uint64_t vid(tl_enrich *e, const char *site, const char *ip, const char *ua)
{
    tl_event ev;
    page(&ev, site, ua);
    tl_enrich_event(e, &ev, ip, strlen(ip), NULL);
    return ev.visitor;
}

static bool salt_exists(const fixture *f, int64_t day, size_t *size)
{
    int64_t y;
    unsigned m, d;
    tl_civil_from_days(day, &y, &m, &d);
    char path[256];
    snprintf(path, sizeof(path), "%s/salt-%04lld-%02u-%02u", f->salts, (long long)y, m, d);
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (size)
        *size = (size_t)st.st_size;
    return true;
}

static void test_visitor_ids(void **state)
{
    fixture *f = *state;
    int64_t day = f->now / DAY_MS;
    tl_enrich *e = open_enrich(f, NULL, f->salts);

    uint64_t v = vid(e, "shop", "203.0.113.7", CHROME_WIN);
    assert_true(v != 0);
    assert_int_equal(vid(e, "shop", "203.0.113.7", CHROME_WIN), v);
    f->now += 11 * 3600 * 1000LL; /* 23:00 the same day */
    assert_int_equal(vid(e, "shop", "203.0.113.7", CHROME_WIN), v);
    assert_true(vid(e, "blog", "203.0.113.7", CHROME_WIN) != v);
    assert_true(vid(e, "shop", "203.0.113.8", CHROME_WIN) != v);
    assert_true(vid(e, "shop", "203.0.113.7", SAFARI_IOS) != v);
    assert_true(vid(e, "shop", "", CHROME_WIN) != v);
    /* field boundaries matter: ("ab", "c") is not ("a", "bc") */
    assert_true(vid(e, "shop1", "2", "x") != vid(e, "shop", "12", "x"));

    /* an event that has a visitor keeps it */
    tl_event ev;
    page(&ev, "shop", CHROME_WIN);
    ev.visitor = 42;
    tl_enrich_event(e, &ev, "203.0.113.7", 11, NULL);
    assert_int_equal(ev.visitor, 42);

    size_t size = 0;
    assert_true(salt_exists(f, day, &size));
    assert_int_equal(size, 32);
    tl_enrich_close(e);

    /* a restart within the day finds the same salt */
    e = open_enrich(f, NULL, f->salts);
    assert_int_equal(vid(e, "shop", "203.0.113.7", CHROME_WIN), v);

    /* midnight: a new salt, new ids; yesterday's salt is kept one more day */
    f->now += 2 * 3600 * 1000LL; /* 01:00 the next day */
    uint64_t v1 = vid(e, "shop", "203.0.113.7", CHROME_WIN);
    assert_true(v1 != v && v1 != 0);
    assert_int_equal(vid(e, "shop", "203.0.113.7", CHROME_WIN), v1);
    assert_true(salt_exists(f, day + 1, NULL));
    assert_true(salt_exists(f, day, NULL));

    f->now += DAY_MS;
    uint64_t v2 = vid(e, "shop", "203.0.113.7", CHROME_WIN);
    assert_true(v2 != v1 && v2 != v);
    assert_true(salt_exists(f, day + 2, NULL));
    assert_true(salt_exists(f, day + 1, NULL));
    assert_false(salt_exists(f, day, NULL)); /* gone: day's ids can never be recomputed */

    /* a clock stepping back keeps the newer salt */
    f->now -= DAY_MS;
    assert_int_equal(vid(e, "shop", "203.0.113.7", CHROME_WIN), v2);
    f->now += DAY_MS;
    tl_enrich_close(e);

    /* the deleted day's salt is gone for good: the same inputs on that day get a new id */
    int64_t later = f->now;
    e = open_enrich(f, NULL, f->salts);
    f->now = day * DAY_MS + 12 * 3600 * 1000LL;
    assert_true(vid(e, "shop", "203.0.113.7", CHROME_WIN) != v);
    tl_enrich_close(e);
    e = open_enrich(f, NULL, f->salts); /* and day + 2 still has its own */
    f->now = later;
    assert_int_equal(vid(e, "shop", "203.0.113.7", CHROME_WIN), v2);
    tl_enrich_close(e);

    /* a salt file of the wrong size is replaced */
    int64_t y;
    unsigned m, d;
    tl_civil_from_days(day + 5, &y, &m, &d);
    char path[256];
    snprintf(path, sizeof(path), "%s/salt-%04lld-%02u-%02u", f->salts, (long long)y, m, d);
    assert_int_equal(tl_write_file_atomic(path, "short", 5), 0);
    e = open_enrich(f, NULL, f->salts);
    f->now = (day + 5) * DAY_MS;
    assert_true(vid(e, "shop", "203.0.113.7", CHROME_WIN) != 0);
    assert_true(salt_exists(f, day + 5, &size));
    assert_int_equal(size, 32);
    assert_false(salt_exists(f, day + 2, NULL));
    tl_enrich_close(e);

    /* two instances without a salt directory disagree: the salt lives in memory only */
    tl_enrich *m1 = open_enrich(f, NULL, NULL), *m2 = open_enrich(f, NULL, NULL);
    uint64_t a1 = vid(m1, "shop", "203.0.113.7", CHROME_WIN);
    assert_int_equal(vid(m1, "shop", "203.0.113.7", CHROME_WIN), a1);
    assert_true(vid(m2, "shop", "203.0.113.7", CHROME_WIN) != a1);
    tl_enrich_close(m1);
    tl_enrich_close(m2);
}

/* ---- four threads at once ---- */

#define T_EVENTS 4000

static const char *const T_AGENTS[] = {
    CHROME_WIN,
    SAFARI_IOS,
    GOOGLEBOT,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"),
    "",
};
static const char *const T_IPS[] = {"203.0.113.7", "198.51.100.9", "2001:db8::7", "8.8.4.4", ""};
static const char *const T_REFS[] = {"", "https://news.ycombinator.com/", "https://t.co/x",
                                     "https://www.example.org/a"};

typedef struct {
    tl_enrich *e;
    const tl_event *expect; /* [agent][ip][ref] */
    int seed;
    int errors;
} t_worker;

static void make_event(tl_event *ev, size_t ai, size_t ri)
{
    page(ev, "shop", T_AGENTS[ai]);
    ev->f[TL_F_REFERRER] = s(T_REFS[ri]);
}

static bool same_event(const tl_event *a, const tl_event *b)
{
    if (a->flags != b->flags || a->visitor != b->visitor)
        return false;
    for (int i = 1; i < TL_F__COUNT; i++)
        if (a->f[i].len != b->f[i].len ||
            (a->f[i].len && memcmp(a->f[i].ptr, b->f[i].ptr, a->f[i].len) != 0))
            return false;
    return true;
}

#define N_A TL_ARRAY_LEN(T_AGENTS)
#define N_I TL_ARRAY_LEN(T_IPS)
#define N_R TL_ARRAY_LEN(T_REFS)

static void *t_work(void *arg)
{
    t_worker *w = arg;
    tl_arena *a = tl_arena_new(8192);
    unsigned x = (unsigned)w->seed;
    for (int i = 0; i < T_EVENTS && a; i++) {
        x = x * 1103515245u + 12345u;
        size_t ai = (x >> 4) % N_A, ii = (x >> 12) % N_I, ri = (x >> 20) % N_R;
        tl_event ev;
        make_event(&ev, ai, ri);
        tl_enrich_event(w->e, &ev, T_IPS[ii], strlen(T_IPS[ii]), a);
        if (!same_event(&ev, &w->expect[(ai * N_I + ii) * N_R + ri]))
            w->errors++;
        if (i % 64 == 63)
            tl_arena_reset(a);
    }
    if (!a)
        w->errors++;
    tl_arena_free(a);
    return NULL;
}

static void test_threads(void **state)
{
    fixture *f = *state;
    write_db(f->db, 28);
    tl_enrich *e = open_enrich(f, f->db, f->salts);
    static tl_event expect[N_A * N_I * N_R];
    tl_arena *a = tl_arena_new(65536);
    for (size_t ai = 0; ai < N_A; ai++)
        for (size_t ii = 0; ii < N_I; ii++)
            for (size_t ri = 0; ri < N_R; ri++) {
                tl_event *ev = &expect[(ai * N_I + ii) * N_R + ri];
                make_event(ev, ai, ri);
                tl_enrich_event(e, ev, T_IPS[ii], strlen(T_IPS[ii]), a);
            }
    assert_field(&expect[(0 * N_I + 0) * N_R + 1], TL_F_CITY, "Berlin");
    assert_field(&expect[(0 * N_I + 0) * N_R + 1], TL_F_SOURCE, "Hacker News");

    pthread_t t[4];
    t_worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (t_worker){e, expect, i * 31 + 7, 0};
        assert_int_equal(pthread_create(&t[i], NULL, t_work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].errors, 0);
    }
    tl_arena_free(a);
    tl_enrich_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visitor_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
