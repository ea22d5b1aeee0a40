/*
 * Tests for src/loadgen/gen.c: the generated events are valid Segment JSON with
 * the required fields, messageIds are unique except for injected duplicates,
 * the fault fractions are honoured, and the traffic looks like a site's
 * (funnel shape, UTM landings, bots). No server, no clock: now_ms is made up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "json/json.h"
#include "event/event.h"
#include "loadgen/gen.h"

static const char *const SITES[] = {"shop.example", "blog.example", "docs.example"};
#define NOW0 1767225600000LL /* 2026-01-01T00:00:00Z */

/* ---- a tiny set of strings (open addressing on tl_hash64) ---- */
typedef struct {
    char (*keys)[48];
    size_t cap, n;
} strset;

static void set_init(strset *s, size_t cap)
{
    s->cap = cap;
    s->n = 0;
    s->keys = tl_calloc(cap, sizeof(*s->keys));
    assert_non_null(s->keys);
}

static void set_free(strset *s)
{
    tl_free(s->keys);
}

/* Returns true when inserted, false when it was already there. */
static bool set_add(strset *s, const char *k)
{
    size_t n = strlen(k);
    assert_true(n > 0 && n < 48);
    assert_true(s->n < s->cap / 2);
    size_t i = tl_hash64(k, n, 0) % s->cap;
    while (s->keys[i][0]) {
        if (strcmp(s->keys[i], k) == 0)
            return false;
        i = (i + 1) % s->cap;
    }
    memcpy(s->keys[i], k, n + 1);
    s->n++;
    return true;
}

static const char *str_at(const tl_json *obj, const char *key)
{
    const tl_json *v = tl_json_get_string(obj, key);
    return v ? v->u.str : NULL;
}

static tl_loadgen__gen *make_gen(uint64_t seed, uint64_t salt)
{
    tl_loadgen__gen_cfg cfg = {.sites = SITES,
                               .n_sites = 3,
                               .late_frac = 0.02,
                               .dup_frac = 0.01,
                               .invalid_frac = 0.005,
                               .seed = seed,
                               .id_salt = salt};
    tl_loadgen__gen *g = NULL;
    assert_int_equal(tl_loadgen__gen_new(&cfg, &g), 0);
    assert_non_null(g);
    return g;
}

typedef struct {
    size_t total, normal, late, dup, invalid;
    size_t bad[TL_LOADGEN__BAD__COUNT];
    size_t pages, tracks, identifies, bots, utm_landings, referred;
    size_t viewed, added, checkout, completed;
    size_t max_len, sum_len;
} tally_counts;

/* Checks one valid (not INVALID) event. */
static void check_valid(const tl_json *ev, const tl_loadgen__event_info *info, const char *site,
                        int64_t now, tally_counts *c)
{
    const char *type = str_at(ev, "type");
    assert_non_null(type);
    const char *mid = str_at(ev, "messageId");
    assert_non_null(mid);
    assert_string_equal(mid, info->message_id);
    assert_int_equal(strlen(mid), 36);
    const char *anon = str_at(ev, "anonymousId");
    assert_non_null(anon);
    assert_int_equal(strlen(anon), 36);

    const char *ts = str_at(ev, "timestamp"), *sent = str_at(ev, "sentAt");
    assert_non_null(ts);
    assert_non_null(sent);
    int64_t ts_ms = 0, sent_ms = 0;
    assert_int_equal(tl_time_parse(ts, strlen(ts), &ts_ms), 0);
    assert_int_equal(tl_time_parse(sent, strlen(sent), &sent_ms), 0);
    assert_true(sent_ms > ts_ms);
    if (info->kind == TL_LOADGEN__NORMAL) {
        assert_int_equal(sent_ms, now);
        assert_true(now - ts_ms >= 1 && now - ts_ms <= 20);
    } else if (info->kind == TL_LOADGEN__LATE) {
        assert_true(now - ts_ms >= 60000 && now - ts_ms <= 600000);
    } else {
        assert_true(sent_ms <= now); /* a resend carries its original stamps */
    }

    const tl_json *ctx = tl_json_get(ev, "context");
    assert_non_null(ctx);
    const tl_json *lib = tl_json_get(ctx, "library");
    assert_non_null(lib);
    assert_string_equal(str_at(lib, "name"), "tally-loadgen");
    const char *ip = str_at(ctx, "ip");
    assert_non_null(ip);
    assert_true(strncmp(ip, "203.0.113.", 10) == 0 || strncmp(ip, "198.51.100.", 11) == 0 ||
                strncmp(ip, "192.0.2.", 8) == 0);
    const char *ua = str_at(ctx, "userAgent");
    assert_non_null(ua);
    assert_true(strncmp(ua, "Mozilla/5.0 (", 13) == 0);
    if (strstr(ua, "bot"))
        c->bots++;
    assert_non_null(str_at(ctx, "locale"));
    const tl_json *pg = tl_json_get(ctx, "page");
    assert_non_null(pg);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "https://%s/", site);
    const char *url = str_at(pg, "url"), *path = str_at(pg, "path");
    assert_non_null(url);
    assert_non_null(path);
    assert_true(strncmp(url, prefix, strlen(prefix)) == 0);
    assert_int_equal(path[0], '/');
    /* url = https://site + path + search */
    const char *search = str_at(pg, "search");
    assert_non_null(search);
    char want[512];
    snprintf(want, sizeof(want), "https://%s%s%s", site, path, search);
    assert_string_equal(url, want);
    assert_non_null(str_at(pg, "title"));
    assert_non_null(str_at(pg, "referrer"));
    const tl_json *camp = tl_json_get(ctx, "campaign");
    if (camp) {
        assert_non_null(strstr(search, "utm_source="));
        assert_non_null(strstr(search, str_at(camp, "source")));
        assert_non_null(str_at(camp, "medium"));
        assert_non_null(str_at(camp, "name"));
        c->utm_landings++;
    }
    const char *ref = str_at(pg, "referrer");
    if (ref[0] && strncmp(ref, prefix, strlen(prefix) - 1) != 0)
        c->referred++;

    if (strcmp(type, "page") == 0) {
        assert_int_equal(info->type, TL_EV_PAGE);
        assert_non_null(str_at(ev, "name"));
        const tl_json *props = tl_json_get(ev, "properties");
        assert_non_null(props);
        assert_string_equal(str_at(props, "url"), url);
        assert_string_equal(str_at(props, "path"), path);
        c->pages++;
    } else if (strcmp(type, "track") == 0) {
        assert_int_equal(info->type, TL_EV_TRACK);
        const char *name = str_at(ev, "event");
        assert_non_null(name);
        const tl_json *props = tl_json_get(ev, "properties");
        assert_non_null(props);
        assert_int_equal(props->type, TL_JSON_OBJECT);
        if (strncmp(name, "Product", 7) == 0 || strcmp(name, "Checkout Started") == 0 ||
            strcmp(name, "Order Completed") == 0) {
            const char *pid = str_at(props, "product_id");
            assert_non_null(pid);
            assert_true(strncmp(pid, "p-", 2) == 0);
            const tl_json *price = tl_json_get(props, "price");
            assert_non_null(price);
            assert_int_equal(price->type, TL_JSON_NUMBER);
            assert_true(price->u.num >= 5 && price->u.num < 200);
            assert_non_null(str_at(props, "currency"));
        }
        if (strcmp(name, "Product Viewed") == 0)
            c->viewed++;
        else if (strcmp(name, "Product Added") == 0)
            c->added++;
        else if (strcmp(name, "Checkout Started") == 0)
            c->checkout++;
        else if (strcmp(name, "Order Completed") == 0) {
            const tl_json *rev = tl_json_get(props, "revenue");
            const tl_json *price = tl_json_get(props, "price");
            const tl_json *qty = tl_json_get(props, "quantity");
            assert_non_null(rev);
            assert_non_null(qty);
            assert_true(rev->u.num > price->u.num * qty->u.num - 0.01 &&
                        rev->u.num < price->u.num * qty->u.num + 0.01);
            assert_non_null(str_at(props, "order_id"));
            c->completed++;
        }
        c->tracks++;
    } else {
        assert_string_equal(type, "identify");
        assert_int_equal(info->type, TL_EV_IDENTIFY);
        const char *uid = str_at(ev, "userId");
        assert_non_null(uid);
        const tl_json *traits = tl_json_get(ev, "traits");
        assert_non_null(traits);
        const char *email = str_at(traits, "email");
        assert_non_null(email);
        assert_non_null(strstr(email, uid));
        c->identifies++;
    }
}

static void check_invalid(const tl_json *ev, const tl_loadgen__event_info *info)
{
    const char *ts = str_at(ev, "timestamp");
    int64_t ms;
    switch (info->bad) {
    case TL_LOADGEN__BAD_NO_MESSAGE_ID:
        assert_null(tl_json_get(ev, "messageId"));
        assert_int_equal(info->message_id[0], '\0');
        break;
    case TL_LOADGEN__BAD_NO_IDENTITY:
        assert_null(tl_json_get(ev, "anonymousId"));
        assert_null(tl_json_get(ev, "userId"));
        break;
    case TL_LOADGEN__BAD_NO_EVENT:
        assert_string_equal(str_at(ev, "type"), "track");
        assert_null(tl_json_get(ev, "event"));
        break;
    case TL_LOADGEN__BAD_TIMESTAMP:
        assert_non_null(ts);
        assert_int_not_equal(tl_time_parse(ts, strlen(ts), &ms), 0);
        break;
    default:
        fail_msg("invalid event without a reason: %d", info->bad);
    }
}

/* Generates n events spread over the sites and checks every one. */
static void run_and_check(tl_loadgen__gen *g, size_t n, tally_counts *c)
{
    strset ids, sent_per_site;
    set_init(&ids, n * 4);
    set_init(&sent_per_site, n * 4);
    tl_arena *a = tl_arena_new(1 << 16);
    assert_non_null(a);
    tl_buf b;
    tl_buf_init(&b);
    memset(c, 0, sizeof(*c));

    for (size_t i = 0; i < n; i++) {
        size_t site = tl_loadgen__gen_pick_site(g);
        assert_true(site < 3);
        int64_t now = NOW0 + (int64_t)i * 7;
        tl_loadgen__event_info info;
        tl_buf_reset(&b);
        assert_int_equal(tl_loadgen__gen_next(g, site, now, &b, &info), 0);
        assert_true(b.len > 100);
        assert_true(b.len < 32 * 1024);
        c->max_len = TL_MAX(c->max_len, b.len);
        c->sum_len += b.len;

        tl_arena_reset(a);
        tl_json *ev = NULL;
        tl_json_error err;
        if (tl_json_parse(a, b.ptr, b.len, NULL, &ev, &err) != 0)
            fail_msg("event %zu is not JSON (%s at %zu): %s", i, err.msg, err.offset, b.ptr);
        assert_int_equal(ev->type, TL_JSON_OBJECT);
        c->total++;

        char key[48];
        snprintf(key, sizeof(key), "%zu/%s", site, info.message_id);
        switch (info.kind) {
        case TL_LOADGEN__NORMAL:
        case TL_LOADGEN__LATE:
            c->normal += info.kind == TL_LOADGEN__NORMAL;
            c->late += info.kind == TL_LOADGEN__LATE;
            check_valid(ev, &info, SITES[site], now, c);
            assert_true(set_add(&ids, info.message_id)); /* never seen before */
            assert_true(set_add(&sent_per_site, key));
            break;
        case TL_LOADGEN__DUP:
            c->dup++;
            check_valid(ev, &info, SITES[site], now, c);
            /* a resend of an event this site already sent */
            assert_false(set_add(&sent_per_site, key));
            break;
        case TL_LOADGEN__INVALID:
            c->invalid++;
            c->bad[info.bad]++;
            check_invalid(ev, &info);
            if (info.message_id[0])
                assert_true(set_add(&ids, info.message_id));
            break;
        default:
            fail_msg("unknown kind %d", info.kind);
        }
    }
    tl_buf_deinit(&b);
    tl_arena_free(a);
    set_free(&ids);
    set_free(&sent_per_site);
}

static void test_events_valid_and_fractions(void **state)
{
    (void)state;
    tl_loadgen__gen *g = make_gen(42, 7);
    tally_counts c;
    const size_t n = 40000;
    run_and_check(g, n, &c);
    tl_loadgen__gen_free(g);

    assert_int_equal(c.total, n);
    assert_int_equal(c.normal + c.late + c.dup + c.invalid, n);
    /* fractions within 30% of what was asked (expected 200, 400, 800) */
    assert_in_range(c.invalid, 140, 260);
    assert_in_range(c.dup, 280, 520);
    assert_in_range(c.late, 560, 1040);
    for (int r = 1; r < TL_LOADGEN__BAD__COUNT; r++)
        assert_true(c.bad[r] > 0);
    /* a site's traffic: mostly pages, a funnel that narrows, some identifies, bots, UTM */
    assert_true(c.pages > c.tracks);
    assert_true(c.tracks > c.identifies);
    assert_true(c.identifies > 0);
    assert_true(c.viewed > c.added);
    assert_true(c.added > c.checkout);
    assert_true(c.checkout > c.completed);
    assert_true(c.completed > 0);
    assert_true(c.bots > 0 && c.bots < n / 20);
    assert_true(c.utm_landings > 0);
    assert_true(c.referred > 0);
    /* a batch of 300 stays under the 500 KB request limit */
    assert_true(c.sum_len / n * 300 < 500 * 1000);
    assert_true(c.max_len < 4096);
}

static void test_no_faults_when_fractions_zero(void **state)
{
    (void)state;
    tl_loadgen__gen_cfg cfg = {.sites = SITES, .n_sites = 1, .seed = 3, .id_salt = 3};
    tl_loadgen__gen *g = NULL;
    assert_int_equal(tl_loadgen__gen_new(&cfg, &g), 0);
    tally_counts c;
    run_and_check(g, 5000, &c);
    tl_loadgen__gen_free(g);
    assert_int_equal(c.normal, 5000);
    assert_int_equal(c.dup + c.late + c.invalid, 0);
}

static void test_all_invalid(void **state)
{
    (void)state;
    tl_loadgen__gen_cfg cfg = {.sites = SITES, .n_sites = 2, .invalid_frac = 1, .seed = 9};
    tl_loadgen__gen *g = NULL;
    assert_int_equal(tl_loadgen__gen_new(&cfg, &g), 0);
    tally_counts c;
    run_and_check(g, 2000, &c);
    tl_loadgen__gen_free(g);
    assert_int_equal(c.invalid, 2000);
}

static void gen_many(uint64_t seed, uint64_t salt, size_t n, tl_buf *out)
{
    tl_loadgen__gen *g = make_gen(seed, salt);
    tl_loadgen__event_info info;
    for (size_t i = 0; i < n; i++) {
        size_t site = tl_loadgen__gen_pick_site(g);
        assert_int_equal(tl_loadgen__gen_next(g, site, NOW0 + (int64_t)i, out, &info), 0);
        assert_int_equal(tl_buf_putc(out, '\n'), 0);
    }
    tl_loadgen__gen_free(g);
}

static void test_deterministic(void **state)
{
    (void)state;
    tl_buf a, b, c;
    tl_buf_init(&a);
    tl_buf_init(&b);
    tl_buf_init(&c);
    gen_many(11, 5, 2000, &a);
    gen_many(11, 5, 2000, &b);
    gen_many(11, 6, 2000, &c);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    /* another salt: other messageIds */
    assert_true(a.len != c.len || memcmp(a.ptr, c.ptr, a.len) != 0);
    char mid[64];
    const char *p = strstr(a.ptr, "\"messageId\":\"");
    assert_non_null(p);
    memcpy(mid, p, 50);
    mid[50] = '\0';
    assert_null(strstr(c.ptr, mid));
    tl_buf_deinit(&a);
    tl_buf_deinit(&b);
    tl_buf_deinit(&c);
}

static void test_site_weights(void **state)
{
    (void)state;
    tl_loadgen__gen *g = make_gen(1, 1);
    size_t n[3] = {0, 0, 0};
    for (int i = 0; i < 30000; i++)
        n[tl_loadgen__gen_pick_site(g)]++;
    tl_loadgen__gen_free(g);
    /* weights 1, 1/2, 1/3: about 16400, 8200, 5500 */
    assert_in_range(n[0], 15000, 18000);
    assert_in_range(n[1], 7300, 9100);
    assert_in_range(n[2], 4800, 6200);
}

static void test_bad_config(void **state)
{
    (void)state;
    tl_loadgen__gen *g = (tl_loadgen__gen *)1;
    tl_loadgen__gen_cfg cfg = {.sites = SITES, .n_sites = 0};
    assert_int_equal(tl_loadgen__gen_new(&cfg, &g), TL_EINVAL);
    assert_null(g);
    cfg.n_sites = 3;
    cfg.late_frac = 1.5;
    assert_int_equal(tl_loadgen__gen_new(&cfg, &g), TL_EINVAL);
    cfg.late_frac = 0.6;
    cfg.dup_frac = 0.6;
    assert_int_equal(tl_loadgen__gen_new(&cfg, &g), TL_EINVAL);
    const char *empty[] = {"a", ""};
    tl_loadgen__gen_cfg cfg2 = {.sites = empty, .n_sites = 2};
    assert_int_equal(tl_loadgen__gen_new(&cfg2, &g), TL_EINVAL);

    g = make_gen(1, 1);
    tl_buf b;
    tl_buf_init(&b);
    tl_loadgen__event_info info;
    assert_int_equal(tl_loadgen__gen_next(g, 3, NOW0, &b, &info), TL_EINVAL);
    tl_buf_deinit(&b);
    tl_loadgen__gen_free(g);
    tl_loadgen__gen_free(NULL);
}

static void test_rng(void **state)
{
    (void)state;
    tl_loadgen__rng r;
    tl_loadgen__rng_seed(&r, 123);
    size_t hist[10] = {0};
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        uint32_t x = tl_loadgen__rng_below(&r, 10);
        assert_true(x < 10);
        hist[x]++;
        double u = tl_loadgen__rng_unit(&r);
        assert_true(u >= 0 && u < 1);
        sum += u;
    }
    for (int i = 0; i < 10; i++)
        assert_in_range(hist[i], 9400, 10600);
    assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
    assert_string_equal(tl_loadgen__type_path(TL_EV_PAGE), "page");
    assert_string_equal(tl_loadgen__type_path(TL_EV_TRACK), "track");
    assert_string_equal(tl_loadgen__type_path(TL_EV_IDENTIFY), "identify");
    assert_null(tl_loadgen__type_path(TL_EV_ALIAS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_valid_and_fractions),
        cmocka_unit_test(test_no_faults_when_fractions_zero),
        cmocka_unit_test(test_all_invalid),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_site_weights),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
