/* Unit tests for src/tsdb/tsdb.c: semantics, minute/hour/day bucketing, horizons, reads,
 * snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tsdb/tsdb.h"

/* 2024-05-01T00:00:00Z */
#define T0   1714521600000LL
#define MIN  TL_TSDB_MINUTE_MS
#define HOUR TL_TSDB_HOUR_MS
#define DAY  TL_TSDB_DAY_MS

static int add(tl_tsdb *t, const char *site, int type, int64_t ts, uint64_t visitor, int flags)
{
    tl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = (uint8_t)type;
    ev.flags = (uint8_t)flags;
    ev.ts_ms = ts;
    ev.received_ms = ts;
    ev.visitor = visitor;
    ev.f[TL_F_SITE] = tl_str_make(site, strlen(site));
    return tl_tsdb_add(t, &ev);
}

static tl_tsdb_agg total(tl_tsdb *t, const char *site, int64_t from, int64_t to, bool *coarse)
{
    tl_tsdb_read r = {.site = site, .site_len = strlen(site), .from_ms = from, .to_ms = to};
    assert_int_equal(tl_tsdb_query(t, &r), 0);
    if (coarse)
        *coarse = r.coarse;
    return r.total;
}

static void test_semantics(void **state)
{
    (void)state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    int64_t ts = T0 + 10 * MIN + 5000;
    assert_int_equal(add(t, "a", TL_EV_PAGE, ts, 1, 0), 0);
    assert_int_equal(add(t, "a", TL_EV_PAGE, ts, 1, 0), 0);
    assert_int_equal(add(t, "a", TL_EV_SCREEN, ts, 2, 0), 0);
    assert_int_equal(add(t, "a", TL_EV_TRACK, ts, 3, 0), 0);
    assert_int_equal(add(t, "a", TL_EV_PAGE, ts, 4, TL_EVF_BOT), 1); /* bots count nowhere */
    assert_int_equal(add(t, "a", TL_EV_IDENTIFY, ts, 5, 0), 1);      /* counted nowhere */
    assert_int_equal(add(t, "a", TL_EV_GROUP, ts, 6, 0), 1);
    assert_int_equal(add(t, "a", TL_EV_ALIAS, ts, 7, 0), 1);
    assert_int_equal(add(t, "", TL_EV_PAGE, ts, 8, 0), 1); /* no site */
    tl_tsdb_agg g = total(t, "a", T0, T0 + DAY, NULL);
    assert_int_equal(g.pageviews, 3);
    assert_int_equal(g.events, 4);
    assert_int_equal(g.visitors, 3);
    tl_tsdb_stats st;
    tl_tsdb_get_stats(t, &st);
    assert_int_equal(st.sites, 1);
    assert_int_equal(st.counted, 4);
    assert_int_equal(st.ignored, 3);
    assert_int_equal(st.bots, 1);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.buckets, 3); /* one minute, one hour, one day */
    tl_tsdb_free(t);
}

static void test_bucketing_rows(void **state)
{
    (void)state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    /* Visitor v views a page at 00:00:30, 00:01:59, 01:30:00 and day 2 at 12:00. */
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 30000, 1, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 119000, 1, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 119000, 2, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_TRACK, T0 + 90 * MIN, 1, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + DAY + 12 * HOUR, 3, 0), 0);

    /* Minute rows over the first 3 minutes. */
    tl_tsdb_agg rows[3];
    tl_tsdb_read r = {.site = "s",
                      .site_len = 1,
                      .from_ms = T0,
                      .to_ms = T0 + 3 * MIN,
                      .step_ms = MIN,
                      .rows = rows,
                      .nrows = 3};
    assert_int_equal(tl_tsdb_steps(T0, T0 + 3 * MIN, MIN), 3);
    assert_int_equal(tl_tsdb_query(t, &r), 0);
    assert_true(r.site_seen);
    assert_false(r.coarse);
    assert_int_equal(rows[0].pageviews, 1);
    assert_int_equal(rows[0].visitors, 1);
    assert_int_equal(rows[1].pageviews, 2);
    assert_int_equal(rows[1].visitors, 2);
    assert_int_equal(rows[2].pageviews, 0);
    assert_int_equal(rows[2].visitors, 0);
    assert_int_equal(r.total.pageviews, 3);
    assert_int_equal(r.total.visitors, 2);

    /* Hour rows over day 1: hour 0 has 3 pageviews by 2 visitors, hour 1 one event. */
    tl_tsdb_agg hrs[24];
    tl_tsdb_read h = {.site = "s",
                      .site_len = 1,
                      .from_ms = T0,
                      .to_ms = T0 + DAY,
                      .step_ms = HOUR,
                      .rows = hrs,
                      .nrows = 24};
    assert_int_equal(tl_tsdb_query(t, &h), 0);
    assert_int_equal(hrs[0].pageviews, 3);
    assert_int_equal(hrs[0].events, 3);
    assert_int_equal(hrs[0].visitors, 2);
    assert_int_equal(hrs[1].pageviews, 0);
    assert_int_equal(hrs[1].events, 1);
    assert_int_equal(hrs[1].visitors, 1);
    for (int i = 2; i < 24; i++)
        assert_int_equal(hrs[i].events, 0);
    assert_int_equal(h.total.visitors, 2);

    /* Day rows over two days: the visitor sets merge without double counting. */
    tl_tsdb_agg days[2];
    tl_tsdb_read d = {.site = "s",
                      .site_len = 1,
                      .from_ms = T0,
                      .to_ms = T0 + 2 * DAY,
                      .step_ms = DAY,
                      .rows = days,
                      .nrows = 2};
    assert_int_equal(tl_tsdb_query(t, &d), 0);
    assert_int_equal(days[0].events, 4);
    assert_int_equal(days[0].visitors, 2);
    assert_int_equal(days[1].events, 1);
    assert_int_equal(days[1].visitors, 1);
    assert_int_equal(d.total.events, 5);
    assert_int_equal(d.total.visitors, 3);

    /* A range not on hour boundaries: 00:01 .. 01:31 takes minutes and hours at the edges. */
    tl_tsdb_agg g = total(t, "s", T0 + MIN, T0 + 91 * MIN, NULL);
    assert_int_equal(g.events, 3);
    assert_int_equal(g.visitors, 2);
    /* Bounds widen to whole minutes: [00:01:59.5, 00:01:59.6) is minute 00:01. */
    g = total(t, "s", T0 + 119500, T0 + 119600, NULL);
    assert_int_equal(g.events, 2);
    /* Partial first row for an unaligned hour step. */
    assert_int_equal(tl_tsdb_steps(T0 + 30 * MIN, T0 + 90 * MIN, HOUR), 2);
    assert_int_equal(tl_tsdb_steps(T0 + 30 * MIN, T0 + 91 * MIN, HOUR), 2);
    assert_int_equal(tl_tsdb_steps(T0, T0, HOUR), 0);
    /* nrows must match */
    d.nrows = 1;
    assert_int_equal(tl_tsdb_query(t, &d), TL_EINVAL);
    /* unknown site reads as zeros */
    g = total(t, "nope", T0, T0 + DAY, NULL);
    assert_int_equal(g.events, 0);
    tl_tsdb_free(t);
}

static void test_hour_is_merge_of_minutes(void **state)
{
    (void)state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    /* 3000 visitors spread over one hour, each seen in 3 different minutes. */
    for (uint64_t v = 0; v < 3000; v++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + (int64_t)((v * 7 + k * 13) % 60) * MIN,
                                 v * 0x9e3779b97f4a7c15ULL, 0),
                             0);
    tl_tsdb_agg rows[60];
    tl_tsdb_read r = {.site = "s",
                      .site_len = 1,
                      .from_ms = T0,
                      .to_ms = T0 + HOUR,
                      .step_ms = MIN,
                      .rows = rows,
                      .nrows = 60};
    assert_int_equal(tl_tsdb_query(t, &r), 0);
    uint64_t pv = 0;
    for (int i = 0; i < 60; i++)
        pv += rows[i].pageviews;
    assert_int_equal(pv, 9000);
    /* The hour bucket (whole-hour read) and the merge of its 60 minutes (a read that is
     * one minute short plus that minute) estimate the same number. */
    tl_tsdb_agg whole = total(t, "s", T0, T0 + HOUR, NULL);
    tl_tsdb_agg split = total(t, "s", T0 + 1, T0 + HOUR, NULL); /* widened: same range */
    assert_int_equal(whole.visitors, split.visitors);
    tl_tsdb_agg day = total(t, "s", T0, T0 + DAY, NULL);
    assert_int_equal(day.visitors, whole.visitors);
    assert_true(whole.visitors > 2930 && whole.visitors < 3070);
    tl_tsdb_free(t);
}

static void test_minute_horizon(void **state)
{
    (void)state;
    tl_tsdb_opts o;
    tl_tsdb_opts_default(&o);
    o.minute_horizon = 120; /* 2 h */
    o.rollup_days = 3;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new_opts(&o, &t), 0);
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 30 * MIN, 1, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 5 * HOUR, 2, 0), 0);
    tl_tsdb_stats st;
    tl_tsdb_get_stats(t, &st);
    /* The 00:30 minute fell out of the 2 h horizon and was freed; its hour and day remain. */
    assert_int_equal(st.buckets, 1 + 2 + 1);
    /* A minute read of 00:30 now uses the hour around it and says so. */
    bool coarse = false;
    tl_tsdb_agg g = total(t, "s", T0 + 30 * MIN, T0 + 31 * MIN, &coarse);
    assert_true(coarse);
    assert_int_equal(g.pageviews, 1);
    g = total(t, "s", T0 + 5 * HOUR, T0 + 5 * HOUR + MIN, &coarse);
    assert_false(coarse);
    assert_int_equal(g.pageviews, 1);
    /* An event older than the minute horizon still counts in its hour and day. */
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 40 * MIN, 3, 0), 0);
    g = total(t, "s", T0, T0 + DAY, NULL);
    assert_int_equal(g.pageviews, 3);
    assert_int_equal(g.visitors, 3);
    /* Days: moving 3 days on drops day 1 entirely; an event that old is refused. */
    assert_int_equal(add(t, "s", TL_EV_PAGE, T0 + 3 * DAY + HOUR, 4, 0), 0);
    g = total(t, "s", T0, T0 + DAY, NULL);
    assert_int_equal(g.pageviews, 0);
    int64_t first;
    assert_int_equal(tl_tsdb_first_ms(t, "s", 1, &first), 0);
    assert_int_equal(first, T0 + 3 * DAY);
    tl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TL_EV_PAGE;
    ev.ts_ms = T0 + 10 * MIN;
    ev.received_ms = T0 + 3 * DAY + HOUR;
    ev.f[TL_F_SITE] = TL_STR("s");
    assert_int_equal(tl_tsdb_add(t, &ev), 1);
    /* Far-future event times are refused (they would evict current buckets). */
    ev.ts_ms = ev.received_ms + 2 * HOUR;
    assert_int_equal(tl_tsdb_add(t, &ev), 1);
    tl_tsdb_free(t);
}

static void test_realtime(void **state)
{
    (void)state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    int64_t now = T0 + 10 * HOUR + 30 * MIN + 20000; /* 10:30:20 */
    assert_int_equal(add(t, "s", TL_EV_PAGE, now - 1000, 1, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_PAGE, now - 4 * MIN, 2, 0), 0);
    assert_int_equal(add(t, "s", TL_EV_TRACK, now - 5 * MIN, 3, 0), 0);        /* 10:25:20, in */
    assert_int_equal(add(t, "s", TL_EV_PAGE, now - 5 * MIN - 21000, 4, 0), 0); /* 10:24:59 */
    assert_int_equal(add(t, "s", TL_EV_PAGE, now - 1000, 5, TL_EVF_BOT), 1);
    uint64_t v;
    assert_int_equal(tl_tsdb_realtime(t, "s", 1, now, 5 * MIN, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(tl_tsdb_realtime(t, "x", 1, now, 5 * MIN, &v), 0);
    assert_int_equal(v, 0);
    tl_tsdb_free(t);
}

static void test_sites(void **state)
{
    (void)state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    const char *names[] = {"zeta", "alpha", "mid", "alpha2", "al"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(add(t, names[i], TL_EV_PAGE, T0, 1, 0), 0);
    /* Enough sites to grow the hash table several times. */
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "site-%03d", i);
        assert_int_equal(add(t, name, TL_EV_TRACK, T0, 1, 0), 0);
    }
    assert_true(tl_tsdb_has_site(t, "mid", 3));
    assert_false(tl_tsdb_has_site(t, "mi", 2));
    tl_arena *a = tl_arena_new(4096);
    tl_str *v;
    size_t n;
    assert_int_equal(tl_tsdb_sites(t, a, &v, &n), 0);
    assert_int_equal(n, 105);
    assert_true(tl_str_eq(v[0], "al"));
    assert_true(tl_str_eq(v[1], "alpha"));
    assert_true(tl_str_eq(v[2], "alpha2"));
    assert_true(tl_str_eq(v[3], "mid"));
    assert_true(tl_str_eq(v[4], "site-000"));
    assert_true(tl_str_eq(v[104], "zeta"));
    tl_arena_free(a);
    tl_tsdb_free(t);
}

static void fill(tl_tsdb *t)
{
    for (uint64_t v = 0; v < 5000; v++)
        assert_int_equal(add(t, v % 3 ? "a" : "b", v % 5 ? TL_EV_PAGE : TL_EV_TRACK,
                             T0 + (int64_t)(v % 200) * MIN, v, 0),
                         0);
}

static void test_snapshot_restore(void **state)
{
    (void)state;
    tl_tsdb *t, *u;
    assert_int_equal(tl_tsdb_new(&t), 0);
    assert_int_equal(tl_tsdb_new(&u), 0);
    fill(t);
    assert_int_equal(add(u, "stale", TL_EV_PAGE, T0, 1, 0), 0);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_tsdb_snapshot(t, &b), 0);
    assert_int_equal(tl_tsdb_restore(u, b.ptr, b.len), 0);
    assert_false(tl_tsdb_has_site(u, "stale", 5));
    const char *sites[] = {"a", "b"};
    for (int s = 0; s < 2; s++) {
        tl_tsdb_agg rt[200], ru[200];
        tl_tsdb_read r1 = {.site = sites[s],
                           .site_len = 1,
                           .from_ms = T0,
                           .to_ms = T0 + 200 * MIN,
                           .step_ms = MIN,
                           .rows = rt,
                           .nrows = 200};
        tl_tsdb_read r2 = r1;
        r2.rows = ru;
        assert_int_equal(tl_tsdb_query(t, &r1), 0);
        assert_int_equal(tl_tsdb_query(u, &r2), 0);
        assert_memory_equal(rt, ru, sizeof rt);
        assert_memory_equal(&r1.total, &r2.total, sizeof r1.total);
        assert_true(r1.total.events > 0);
    }
    /* The snapshot of the restored store is byte-identical. */
    tl_buf b2;
    tl_buf_init(&b2);
    assert_int_equal(tl_tsdb_snapshot(u, &b2), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.ptr, b2.ptr, b.len);
    /* Damage is refused and leaves the store as it was. */
    for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 50)
        assert_int_equal(tl_tsdb_restore(u, b.ptr, cut), TL_ECORRUPT);
    b.ptr[0] = 'X';
    assert_int_equal(tl_tsdb_restore(u, b.ptr, b.len), TL_ECORRUPT);
    b.ptr[0] = 'T';
    assert_int_equal(tl_buf_putc(&b, 0), 0); /* trailing byte */
    assert_int_equal(tl_tsdb_restore(u, b.ptr, b.len), TL_ECORRUPT);
    tl_tsdb_agg g = total(u, "a", T0, T0 + DAY, NULL);
    tl_tsdb_agg h = total(t, "a", T0, T0 + DAY, NULL);
    assert_memory_equal(&g, &h, sizeof g);
    tl_buf_deinit(&b);
    tl_buf_deinit(&b2);
    tl_tsdb_clear(u);
    assert_false(tl_tsdb_has_site(u, "a", 1));
    tl_tsdb_free(t);
    tl_tsdb_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_bucketing_rows),
        cmocka_unit_test(test_hour_is_merge_of_minutes),
        cmocka_unit_test(test_minute_horizon),
        cmocka_unit_test(test_realtime),
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_snapshot_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
