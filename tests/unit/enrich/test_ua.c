/* Unit tests for src/enrich/ua.c: a table of real user agents, and the seqlocked cache (hits,
 * two-way sets, eviction, and concurrent readers and writers agreeing with a fresh parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "enrich/enrich_int.h"

typedef struct {
    const char *ua;
    const char *browser, *bver, *os, *osver, *device;
    int bot;
} ua_case;

#define WIN10    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
#define WEBKIT   "AppleWebKit/537.36 (KHTML, like Gecko) "
#define IPHONE17 "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "

static const ua_case CASES[] = {
    /* Chrome and its family */
    {WIN10 WEBKIT "Chrome/120.0.0.0 Safari/537.36", "Chrome", "120", "Windows", "10", "Desktop", 0},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " WEBKIT "Chrome/119.0.0.0 Safari/537.36",
     "Chrome", "119", "macOS", "10.15", "Desktop", 0},
    {"Mozilla/5.0 (X11; Linux x86_64) " WEBKIT "Chrome/120.0.0.0 Safari/537.36", "Chrome", "120",
     "Linux", "", "Desktop", 0},
    {"Mozilla/5.0 (Linux; Android 10; K) " WEBKIT "Chrome/120.0.6099.144 Mobile Safari/537.36",
     "Chrome", "120", "Android", "10", "Mobile", 0},
    {"Mozilla/5.0 (Linux; Android 13; SM-X700) " WEBKIT "Chrome/119.0.0.0 Safari/537.36", "Chrome",
     "119", "Android", "13", "Tablet", 0},
    {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) " WEBKIT "Chrome/120.0.0.0 Safari/537.36", "Chrome",
     "120", "Chrome OS", "", "Desktop", 0},
    /* Brave sends Chrome's agent; Windows 8.1 is NT 6.3 */
    {"Mozilla/5.0 (Windows NT 6.3; Win64; x64) " WEBKIT "Chrome/109.0.0.0 Safari/537.36", "Chrome",
     "109", "Windows", "8.1", "Desktop", 0},
    {"Mozilla/5.0 (X11; Linux x86_64) " WEBKIT
     "Ubuntu Chromium/83.0.4103.61 Chrome/83.0.4103.61 Safari/537.36",
     "Chromium", "83", "Linux", "", "Desktop", 0},
    {WIN10 WEBKIT "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Microsoft Edge", "120",
     "Windows", "10", "Desktop", 0},
    {"Mozilla/5.0 (Linux; Android 10; HD1913) " WEBKIT
     "Chrome/120.0.6099.144 Mobile Safari/537.36 EdgA/120.0.2210.115",
     "Microsoft Edge", "120", "Android", "10", "Mobile", 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.0 EdgiOS/120.2210.126 Mobile/15E148 Safari/605.1.15",
     "Microsoft Edge", "120", "iOS", "17.2", "Mobile", 0},
    {"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) " WEBKIT
     "Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
     "Microsoft Edge", "15", "Windows Phone", "10.0", "Mobile", 0},
    {WIN10 WEBKIT "Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0", "Opera", "105", "Windows", "10",
     "Desktop", 0},
    {"Mozilla/5.0 (Linux; Android 10; VOG-L29) " WEBKIT
     "Chrome/119.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76505",
     "Opera", "79", "Android", "10", "Mobile", 0},
    {"Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18", "Opera", "12", "Windows",
     "7", "Desktop", 0},
    {"Mozilla/5.0 (Linux; Android 14; SM-S918B) " WEBKIT
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
     "Samsung Internet", "24.0", "Android", "14", "Mobile", 0},
    {"Mozilla/5.0 (Linux; Android 12; SM-T870) " WEBKIT
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
     "Samsung Internet", "23.0", "Android", "12", "Tablet", 0},
    {WIN10 WEBKIT "Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36", "Yandex Browser", "23.11",
     "Windows", "10", "Desktop", 0},
    {WIN10 WEBKIT "Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5.3206.48", "Vivaldi", "6", "Windows",
     "10", "Desktop", 0},
    {"Mozilla/5.0 (Linux; U; Android 10; en-US; RMX1911 Build/QKQ1.200209.002) " WEBKIT
     "Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
     "UC Browser", "13", "Android", "10", "Mobile", 0},
    {"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) " WEBKIT
     "Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36",
     "Android WebView", "119", "Android", "13", "Mobile", 0},
    /* a phone brand with "bot" in its name is no bot */
    {"Mozilla/5.0 (Linux; Android 9; CUBOT_X19) " WEBKIT "Chrome/112.0.0.0 Mobile Safari/537.36",
     "Chrome", "112", "Android", "9", "Mobile", 0},
    /* Firefox */
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox",
     "121", "Windows", "10", "Desktop", 0},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox", "121", "macOS", "10.15", "Desktop", 0},
    {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox",
     "121", "Linux", "", "Desktop", 0},
    {"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "Firefox", "121",
     "Android", "14", "Mobile", 0},
    {"Mozilla/5.0 (Android 13; Tablet; rv:120.0) Gecko/120.0 Firefox/120.0", "Firefox", "120",
     "Android", "13", "Tablet", 0},
    {"Mozilla/5.0 (X11; FreeBSD amd64; rv:109.0) Gecko/20100101 Firefox/115.0", "Firefox", "115",
     "FreeBSD", "", "Desktop", 0},
    /* Apple */
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15",
     "Safari", "17.1", "macOS", "10.15", "Desktop", 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "17.1", "iOS", "17.1", "Mobile", 0},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "16.6", "iPadOS", "16.6", "Tablet", 0},
    {IPHONE17 "(KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome iOS",
     "120", "iOS", "17.1", "Mobile", 0},
    {IPHONE17 "(KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15", "Firefox iOS", "121",
     "iOS", "17.1", "Mobile", 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.2 Mobile/15E148 DuckDuckGo/7 Safari/605.1.15",
     "DuckDuckGo", "7", "iOS", "17.2", "Mobile", 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;"
     "FBID/phone;FBLC/en_US;FBOP/5;FBAV/437.0.0.36.111]",
     "Facebook", "437", "iOS", "16.6", "Mobile", 0},
    /* Internet Explorer */
    {"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer",
     "11", "Windows", "7", "Desktop", 0},
    {"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)", "Internet Explorer", "10",
     "Windows", "8", "Desktop", 0},
    /* named bots */
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "",
     "", "", "Desktop", 1},
    {"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) " WEBKIT
     "Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html)",
     "Googlebot", "", "Android", "6.0", "Mobile", 1},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "Bingbot", "", "",
     "", "Desktop", 1},
    {"DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "DuckDuckBot", "", "", "",
     "Desktop", 1},
    {"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
     "Baiduspider", "", "", "", "Desktop", 1},
    {"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "YandexBot", "", "", "",
     "Desktop", 1},
    {"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot", "", "", "",
     "Desktop", 1},
    {"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", "SemrushBot",
     "", "", "", "Desktop", 1},
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
     "facebookexternalhit", "", "", "", "Desktop", 1},
    {"Twitterbot/1.0", "Twitterbot", "", "", "", "Desktop", 1},
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slackbot", "", "", "",
     "Desktop", 1},
    {"curl/8.4.0", "curl", "", "", "", "Desktop", 1},
    {"Wget/1.21.3", "Wget", "", "", "", "Desktop", 1},
    {"python-requests/2.31.0", "python-requests", "", "", "", "Desktop", 1},
    {"Go-http-client/2.0", "Go-http-client", "", "", "", "Desktop", 1},
    {"Mozilla/5.0 (X11; Linux x86_64) " WEBKIT "HeadlessChrome/120.0.6099.109 Safari/537.36",
     "Headless Chrome", "120", "Linux", "", "Desktop", 1},
    /* generic bots keep what their agent claims */
    {"Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", "", "", "", "", "Desktop", 1},
    {"Screaming Frog SEO Spider/19.4", "", "", "", "", "Desktop", 1},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
     "Safari", "13.1", "macOS", "10.15", "Desktop", 1},
    {"Mozilla/5.0 (compatible; archive.org_crawler)", "", "", "", "", "Desktop", 1},
    {"", "", "", "", "", "", 0}, /* server-side SDKs send no agent: unknown, not a bot */
};

static void check_case(const ua_case *c, const tl_enrich__ua *r)
{
    const char *got[5] = {tl_enrich__browser_name(r->browser), r->browser_version,
                          tl_enrich__os_name(r->os), r->os_version,
                          tl_enrich__device_name(r->device)};
    const char *want[5] = {c->browser, c->bver, c->os, c->osver, c->device};
    static const char *const what[5] = {"browser", "browser version", "os", "os version", "device"};
    for (int i = 0; i < 5; i++)
        if (strcmp(got[i], want[i]) != 0)
            fail_msg("%s: got \"%s\", want \"%s\" for \"%s\"", what[i], got[i], want[i], c->ua);
    if (r->bot != c->bot)
        fail_msg("bot: got %d, want %d for \"%s\"", r->bot, c->bot, c->ua);
}

static void test_table(void **state)
{
    (void)state;
    assert_true(TL_ARRAY_LEN(CASES) >= 40);
    for (size_t i = 0; i < TL_ARRAY_LEN(CASES); i++) {
        tl_enrich__ua r;
        tl_enrich__ua_parse(CASES[i].ua, strlen(CASES[i].ua), &r);
        check_case(&CASES[i], &r);
    }
}

static void test_case_and_garbage(void **state)
{
    (void)state;
    tl_enrich__ua r;
    const char *up = "MOZILLA/5.0 (WINDOWS NT 10.0; WIN64; X64; RV:121.0) GECKO/20100101 "
                     "FIREFOX/121.0";
    tl_enrich__ua_parse(up, strlen(up), &r);
    assert_string_equal(tl_enrich__browser_name(r.browser), "Firefox");
    assert_string_equal(r.browser_version, "121");

    /* binary junk, NULs and a 4 KB agent whose tokens sit past the scanned prefix */
    char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 131u);
    tl_enrich__ua_parse(junk, sizeof(junk), &r);
    assert_true(strlen(r.browser_version) < TL_ENRICH__VERSION_CAP);
    memset(junk, 'a', sizeof(junk));
    memcpy(junk + 2000, "Chrome/120", 10);
    tl_enrich__ua_parse(junk, sizeof(junk), &r);
    assert_string_equal(tl_enrich__browser_name(r.browser), "");

    /* very long version numbers are cut, never overflow */
    const char *longv = "Mozilla/5.0 (Windows NT 10.0) Chrome/12345678901234567890.99999999999";
    tl_enrich__ua_parse(longv, strlen(longv), &r);
    assert_string_equal(r.browser_version, "123456");
    const char *mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 123456789_987654321_1) "
                      "AppleWebKit/605.1.15 Version/99999999.88888888 Safari/605.1.15";
    tl_enrich__ua_parse(mac, strlen(mac), &r);
    assert_string_equal(r.os_version, "123456.987654");
    assert_string_equal(r.browser_version, "999999.888888");
    assert_string_equal(tl_enrich__browser_name(200), "");
}

static void same(const tl_enrich__ua *a, const tl_enrich__ua *b)
{
    assert_int_equal(a->browser, b->browser);
    assert_int_equal(a->os, b->os);
    assert_int_equal(a->device, b->device);
    assert_int_equal(a->bot, b->bot);
    assert_string_equal(a->browser_version, b->browser_version);
    assert_string_equal(a->os_version, b->os_version);
}

static void test_cache_hits(void **state)
{
    (void)state;
    tl_enrich__cache *c;
    assert_int_equal(tl_enrich__cache_new(25, &c), TL_EINVAL);
    assert_int_equal(tl_enrich__cache_new(10, &c), 0);
    for (size_t i = 0; i < TL_ARRAY_LEN(CASES); i++) {
        const char *ua = CASES[i].ua;
        tl_enrich__ua direct, first, second;
        tl_enrich__ua_parse(ua, strlen(ua), &direct);
        bool hit1 = tl_enrich__ua_get(c, ua, strlen(ua), &first);
        bool hit2 = tl_enrich__ua_get(c, ua, strlen(ua), &second);
        assert_false(hit1); /* no agent appears twice in the table */
        assert_true(hit2);
        same(&direct, &first);
        same(&direct, &second);
        check_case(&CASES[i], &second);
    }
    /* every case is still cached (1024 sets, 2 ways) unless two share a set */
    size_t hits = 0;
    for (size_t i = 0; i < TL_ARRAY_LEN(CASES); i++) {
        tl_enrich__ua r;
        hits += tl_enrich__ua_get(c, CASES[i].ua, strlen(CASES[i].ua), &r);
    }
    assert_true(hits >= TL_ARRAY_LEN(CASES) - 2);
    /* same prefix, different length: a different entry */
    tl_enrich__ua r;
    assert_false(tl_enrich__ua_get(c, "curl/8.4", 8, &r));
    assert_string_equal(tl_enrich__browser_name(r.browser), "curl");
    tl_enrich__cache_free(c);
    tl_enrich__cache_free(NULL);
}

static void test_cache_two_ways(void **state)
{
    (void)state;
    tl_enrich__cache *c;
    assert_int_equal(tl_enrich__cache_new(0, &c), 0); /* one set: every agent collides */
    const char *a = CASES[0].ua, *b = CASES[22].ua, *d = CASES[29].ua;
    tl_enrich__ua r;
    assert_false(tl_enrich__ua_get(c, a, strlen(a), &r)); /* way 0 = a */
    assert_false(tl_enrich__ua_get(c, b, strlen(b), &r)); /* way 0 = b, way 1 = a */
    assert_true(tl_enrich__ua_get(c, a, strlen(a), &r));
    check_case(&CASES[0], &r);
    assert_true(tl_enrich__ua_get(c, b, strlen(b), &r));
    check_case(&CASES[22], &r);
    assert_false(tl_enrich__ua_get(c, d, strlen(d), &r)); /* way 0 = d, way 1 = b, a gone */
    assert_false(tl_enrich__ua_get(c, a, strlen(a), &r)); /* way 0 = a, way 1 = d */
    check_case(&CASES[0], &r);
    assert_true(tl_enrich__ua_get(c, d, strlen(d), &r));
    check_case(&CASES[29], &r);
    assert_false(tl_enrich__ua_get(c, b, strlen(b), &r));
    tl_enrich__cache_free(c);
}

/* ---- concurrency: a tiny cache hammered by 4 threads with 300 distinct agents ---- */

#define N_AGENTS 300
#define ROUNDS   20000

typedef struct {
    tl_enrich__cache *c;
    char (*agents)[160];
    tl_enrich__ua *expect;
    unsigned seed;
    int errors;
    long hits;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    unsigned x = w->seed;
    for (int i = 0; i < ROUNDS; i++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % N_AGENTS;
        if (i % 3) /* skew: a few agents are hot */
            k %= 8;
        tl_enrich__ua r;
        w->hits += tl_enrich__ua_get(w->c, w->agents[k], strlen(w->agents[k]), &r);
        const tl_enrich__ua *e = &w->expect[k];
        if (r.browser != e->browser || r.os != e->os || r.device != e->device || r.bot != e->bot ||
            strcmp(r.browser_version, e->browser_version) != 0 ||
            strcmp(r.os_version, e->os_version) != 0)
            w->errors++;
    }
    return NULL;
}

static void test_cache_threads(void **state)
{
    (void)state;
    static char agents[N_AGENTS][160];
    static tl_enrich__ua expect[N_AGENTS];
    for (int i = 0; i < N_AGENTS; i++) {
        snprintf(agents[i], sizeof(agents[i]),
                 "Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.0 "
                 "Safari/537.36",
                 i % 3 == 0   ? "Windows NT 10.0; Win64; x64"
                 : i % 3 == 1 ? "Linux; Android 14; Pixel 8"
                              : "X11; Linux x86_64",
                 60 + i, i * 7);
        tl_enrich__ua_parse(agents[i], strlen(agents[i]), &expect[i]);
    }
    tl_enrich__cache *c;
    assert_int_equal(tl_enrich__cache_new(3, &c), 0); /* 16 entries for 300 agents */
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){c, agents, expect, (unsigned)(i * 7919 + 1), 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    long hits = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].errors, 0);
        hits += w[i].hits;
    }
    assert_true(hits > 0); /* the hot agents were served from the cache */
    tl_enrich__cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),         cmocka_unit_test(test_case_and_garbage),
        cmocka_unit_test(test_cache_hits),    cmocka_unit_test(test_cache_two_ways),
        cmocka_unit_test(test_cache_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
