/* Unit tests for src/query: request validation and its error messages, date ranges, the
 * response shape with exact numbers over a tsdb filled directly, realtime and sites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "query/query.h"

/* 2024-05-01T00:00:00Z and "now" = 2024-05-01T12:34:56Z */
#define T0  1714521600000LL
#define MIN 60000LL
#define HR  3600000LL
#define NOW (T0 + 12 * HR + 34 * MIN + 56000)

typedef struct {
    tl_tsdb *t;
    tl_query *q;
    tl_buf out;
} fixture;

static void add(tl_tsdb *t, const char *site, int type, int64_t ts, uint64_t visitor, int flags)
{
    tl_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = (uint8_t)type;
    ev.flags = (uint8_t)flags;
    ev.ts_ms = ts;
    ev.received_ms = ts;
    ev.visitor = visitor;
    ev.f[TL_F_SITE] = tl_str_make(site, strlen(site));
    assert_int_equal(tl_tsdb_add(t, &ev), 0);
}

static bool configured(void *arg, const char *site, size_t len)
{
    (void)arg;
    return len == 5 && memcmp(site, "fresh", 5) == 0;
}

static int setup(void **state)
{
    fixture *f = tl_calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tl_tsdb_new(&f->t), 0);
    add(f->t, "shop", TL_EV_PAGE, T0 + 12 * HR + 30 * MIN + 10000, 1, 0);
    add(f->t, "shop", TL_EV_PAGE, T0 + 12 * HR + 30 * MIN + 50000, 2, 0);
    add(f->t, "shop", TL_EV_TRACK, T0 + 12 * HR + 31 * MIN, 1, 0);
    add(f->t, "shop", TL_EV_PAGE, T0 + 11 * HR + 5 * MIN, 3, 0);
    add(f->t, "shop", TL_EV_PAGE, T0 - 14 * HR, 4, 0); /* 2024-04-30 10:00 */
    add(f->t, "shop", TL_EV_PAGE, T0 + 12 * HR + 33 * MIN, 1, 0);
    /* a crawler's pageview counts nowhere: not in pageviews, events or visitors */
    tl_event bot;
    memset(&bot, 0, sizeof bot);
    bot.type = TL_EV_PAGE;
    bot.flags = TL_EVF_BOT;
    bot.ts_ms = bot.received_ms = T0 + 12 * HR + 33 * MIN;
    bot.visitor = 9;
    bot.f[TL_F_SITE] = TL_STR("shop");
    assert_int_equal(tl_tsdb_add(f->t, &bot), 1);
    add(f->t, "blog", TL_EV_SCREEN, T0 + HR, 5, 0);
    tl_query_opts o = {.tsdb = f->t, .site_known = configured};
    assert_int_equal(tl_query_new(&o, &f->q), 0);
    tl_buf_init(&f->out);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tl_buf_deinit(&f->out);
    tl_query_free(f->q);
    tl_tsdb_free(f->t);
    tl_free(f);
    return 0;
}

/* Runs a query and checks the answer is valid JSON; returns the body. */
static const char *run(fixture *f, const char *body, int want_status)
{
    tl_buf_reset(&f->out);
    int st = tl_query_stats(f->q, body, strlen(body), NOW, &f->out);
    if (st != want_status)
        fail_msg("status %d, want %d: %s", st, want_status, f->out.ptr);
    tl_arena *a = tl_arena_new(4096);
    tl_json *j;
    tl_json_error e;
    if (tl_json_parse(a, f->out.ptr, f->out.len, NULL, &j, &e) != 0)
        fail_msg("answer is not JSON (%s): %s", e.msg, f->out.ptr);
    tl_arena_free(a);
    return f->out.ptr;
}

static void expect_error(fixture *f, const char *body, const char *msg)
{
    const char *got = run(f, body, 400);
    char want[512];
    snprintf(want, sizeof want, "{\"error\":\"%s\"}", msg);
    assert_string_equal(got, want);
}

static void test_totals(void **state)
{
    fixture *f = *state;
    assert_string_equal(
        run(f,
            "{\"site_id\":\"shop\",\"metrics\":[\"visitors\",\"pageviews\",\"events\"],"
            "\"date_range\":\"day\"}",
            200),
        "{\"results\":[{\"dimensions\":[],\"metrics\":[3,4,5]}],\"meta\":{},"
        "\"query\":{\"site_id\":\"shop\",\"metrics\":[\"visitors\",\"pageviews\",\"events\"],"
        "\"date_range\":[\"2024-05-01T00:00:00Z\",\"2024-05-01T23:59:59Z\"],\"dimensions\":[],"
        "\"filters\":[],\"order_by\":[],\"include\":{\"time_labels\":false,\"total_rows\":false},"
        "\"pagination\":{\"limit\":10000,\"offset\":0}}}");
    /* Metrics come in the order asked; 7d includes yesterday's visitor 4. */
    assert_non_null(strstr(
        run(f, "{\"site_id\":\"shop\",\"metrics\":[\"events\",\"visitors\"],\"date_range\":\"7d\"}",
            200),
        "\"results\":[{\"dimensions\":[],\"metrics\":[6,4]}]"));
    assert_non_null(strstr(run(f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"]}", 200),
                           "\"date_range\":[\"2024-05-01T00:00:00Z\",\"2024-05-01T23:59:59Z\"]"));
    /* A configured site without data answers zeros. */
    assert_non_null(
        strstr(run(f, "{\"site_id\":\"fresh\",\"metrics\":[\"visitors\",\"events\"]}", 200),
               "\"results\":[{\"dimensions\":[],\"metrics\":[0,0]}]"));
}

static void test_minutes_with_labels(void **state)
{
    fixture *f = *state;
    const char *b = run(f,
                        "{\"site_id\":\"shop\",\"metrics\":[\"visitors\",\"pageviews\",\"events\"],"
                        "\"date_range\":\"30m\",\"dimensions\":[\"time:minute\"],"
                        "\"include\":{\"time_labels\":true,\"total_rows\":true}}",
                        200);
    assert_non_null(strstr(b, "{\"results\":["
                              "{\"dimensions\":[\"2024-05-01 12:30:00\"],\"metrics\":[2,2,2]},"
                              "{\"dimensions\":[\"2024-05-01 12:31:00\"],\"metrics\":[1,0,1]},"
                              "{\"dimensions\":[\"2024-05-01 12:33:00\"],\"metrics\":[1,1,1]}],"
                              "\"meta\":{\"time_labels\":[\"2024-05-01 12:05:00\","));
    assert_non_null(strstr(b, "\"2024-05-01 12:34:00\"],\"total_rows\":3},"));
    assert_null(strstr(b, "12:04:00"));
    assert_null(strstr(b, "12:35:00"));
    assert_non_null(
        strstr(b, "\"date_range\":[\"2024-05-01T12:05:00Z\",\"2024-05-01T12:34:59Z\"]"));
    assert_non_null(strstr(b, "\"order_by\":[[\"time:minute\",\"asc\"]]"));
    /* 30 labels */
    size_t n = 0;
    for (const char *p = strstr(b, "time_labels"); (p = strstr(p, ":00\"")) != NULL; p++)
        n++;
    assert_int_equal(n, 30);
}

static void test_hours_order_pagination(void **state)
{
    fixture *f = *state;
    const char *q = "{\"site_id\":\"shop\",\"metrics\":[\"visitors\",\"pageviews\"],"
                    "\"date_range\":\"7d\",\"dimensions\":[\"time:hour\"],"
                    "\"order_by\":[[\"pageviews\",\"desc\"]],\"include\":{\"total_rows\":true},"
                    "\"pagination\":{\"limit\":2,\"offset\":0}}";
    assert_non_null(strstr(run(f, q, 200),
                           "{\"results\":["
                           "{\"dimensions\":[\"2024-05-01 12:00:00\"],\"metrics\":[2,3]},"
                           "{\"dimensions\":[\"2024-04-30 10:00:00\"],\"metrics\":[1,1]}],"
                           "\"meta\":{\"total_rows\":3},"));
    q = "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"date_range\":\"7d\","
        "\"dimensions\":[\"time:hour\"],\"pagination\":{\"limit\":5,\"offset\":2}}";
    assert_non_null(strstr(run(f, q, 200),
                           "{\"results\":[{\"dimensions\":[\"2024-05-01 12:00:00\"],"
                           "\"metrics\":[2]}],\"meta\":{},"));
    q = "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"date_range\":\"7d\","
        "\"dimensions\":[\"time:hour\"],\"order_by\":[[\"time:hour\",\"desc\"]],"
        "\"pagination\":{\"limit\":1}}";
    assert_non_null(strstr(run(f, q, 200), "{\"results\":[{\"dimensions\":[\"2024-05-01 "
                                           "12:00:00\"],\"metrics\":[2]}],"));
}

static void test_explicit_dates(void **state)
{
    fixture *f = *state;
    assert_non_null(strstr(run(f,
                               "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                               "\"date_range\":[\"2024-04-30\",\"2024-04-30\"],"
                               "\"dimensions\":[\"time:day\"],\"include\":{\"time_labels\":true}}",
                               200),
                           "{\"results\":[{\"dimensions\":[\"2024-04-30\"],\"metrics\":[1]}],"
                           "\"meta\":{\"time_labels\":[\"2024-04-30\"]},"));
    /* Date-times: the end is exclusive, so only minute 12:30 is in. */
    const char *b = run(f,
                        "{\"site_id\":\"shop\",\"metrics\":[\"visitors\",\"events\"],"
                        "\"date_range\":[\"2024-05-01T12:30:00Z\",\"2024-05-01T12:31:00Z\"]}",
                        200);
    assert_non_null(strstr(b, "\"metrics\":[2,2]"));
    assert_non_null(
        strstr(b, "\"date_range\":[\"2024-05-01T12:30:00Z\",\"2024-05-01T12:30:59Z\"]"));
    /* An offset is honoured: 14:30+02:00 is 12:30Z. */
    b = run(f,
            "{\"site_id\":\"shop\",\"metrics\":[\"events\"],"
            "\"date_range\":[\"2024-05-01T14:30:00+02:00\",\"2024-05-01T14:32:00+02:00\"]}",
            200);
    assert_non_null(strstr(b, "\"metrics\":[3]"));
    /* "time" picks minutes for a short range, days for a month. */
    b = run(f,
            "{\"site_id\":\"shop\",\"metrics\":[\"events\"],\"date_range\":\"60m\","
            "\"dimensions\":[\"time\"]}",
            200);
    assert_non_null(strstr(b, "\"2024-05-01 12:31:00\""));
    b = run(f,
            "{\"site_id\":\"shop\",\"metrics\":[\"events\"],\"date_range\":\"month\","
            "\"dimensions\":[\"time\"]}",
            200);
    assert_non_null(strstr(b, "{\"dimensions\":[\"2024-05-01\"],\"metrics\":[5]}"));
    assert_non_null(
        strstr(b, "\"date_range\":[\"2024-05-01T00:00:00Z\",\"2024-05-31T23:59:59Z\"]"));
}

static void check_range(fixture *f, const char *preset, const char *from, const char *to)
{
    char q[256], want[160];
    snprintf(q, sizeof q, "{\"site_id\":\"shop\",\"metrics\":[\"events\"],\"date_range\":\"%s\"}",
             preset);
    snprintf(want, sizeof want, "\"date_range\":[\"%s\",\"%s\"]", from, to);
    const char *b = run(f, q, 200);
    if (!strstr(b, want))
        fail_msg("%s: want %s in %s", preset, want, b);
}

static void test_presets(void **state)
{
    fixture *f = *state;
    check_range(f, "30m", "2024-05-01T12:05:00Z", "2024-05-01T12:34:59Z");
    check_range(f, "60m", "2024-05-01T11:35:00Z", "2024-05-01T12:34:59Z");
    check_range(f, "24h", "2024-04-30T12:35:00Z", "2024-05-01T12:34:59Z");
    check_range(f, "day", "2024-05-01T00:00:00Z", "2024-05-01T23:59:59Z");
    check_range(f, "7d", "2024-04-25T00:00:00Z", "2024-05-01T23:59:59Z");
    check_range(f, "28d", "2024-04-04T00:00:00Z", "2024-05-01T23:59:59Z");
    check_range(f, "30d", "2024-04-02T00:00:00Z", "2024-05-01T23:59:59Z");
    check_range(f, "91d", "2024-02-01T00:00:00Z", "2024-05-01T23:59:59Z");
    check_range(f, "month", "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z");
    check_range(f, "6mo", "2023-12-01T00:00:00Z", "2024-05-31T23:59:59Z");
    check_range(f, "12mo", "2023-06-01T00:00:00Z", "2024-05-31T23:59:59Z");
    check_range(f, "year", "2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z");
    check_range(f, "all", "2024-04-30T00:00:00Z", "2024-05-01T23:59:59Z");
}

static void test_errors(void **state)
{
    fixture *f = *state;
    const char *b = run(f, "{\"site_id\":", 400);
    assert_non_null(strstr(b, "{\"error\":\"invalid JSON: "));
    expect_error(f, "[1]", "the query must be a JSON object");
    expect_error(f, "{\"metrics\":[\"visitors\"]}", "missing site_id");
    expect_error(f, "{\"site_id\":\"shop\"}",
                 "missing metrics; expected a non-empty list of: visitors, pageviews, events");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[]}",
                 "metrics must be a non-empty list of: visitors, pageviews, events");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"foo\"]}",
                 "unknown metric 'foo'; valid metrics: visitors, pageviews, events");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"bounce_rate\"]}",
                 "metric 'bounce_rate' is not supported yet; valid metrics: visitors, pageviews, "
                 "events");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\",\"visitors\"]}",
                 "metric 'visitors' is listed twice");
    expect_error(f, "{\"site_id\":\"nope\",\"metrics\":[\"visitors\"]}", "unknown site_id 'nope'");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"dimensions\":[\"foo\"]}",
                 "unknown dimension 'foo'; supported: time, time:minute, time:hour, time:day");
    expect_error(
        f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"dimensions\":[\"event:page\"]}",
        "dimension 'event:page' is not supported yet; supported: time, time:minute, "
        "time:hour, time:day");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"dimensions\":[\"time:hour\",\"time:day\"]}",
                 "only one time dimension per query; found 'time:hour' and 'time:day'");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"date_range\":\"3d\"}",
                 "bad date_range '3d'; expected one of 30m, 60m, 24h, day, 7d, 28d, 30d, 91d, "
                 "month, 6mo, 12mo, year, all, or [start, end] dates");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"date_range\":[\"2024-01-31\",\"2024-01-01\"]}",
                 "bad date_range: the end '2024-01-01' is before the start '2024-01-31'");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"date_range\":[\"2024-01-31\",\"soon\"]}",
                 "bad date_range: 'soon' is not an ISO 8601 date or date-time");
    expect_error(
        f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"date_range\":[\"2024-01-31\"]}",
        "bad date_range: expected two ISO 8601 dates or date-times, like "
        "[\\\"2024-01-01\\\", \\\"2024-01-31\\\"]");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"filters\":[[\"is\",\"event:page\",[\"/\"]]]}",
                 "filters are not supported yet (filter on 'event:page')");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"filters\":[[\"and\",[[\"is\",\"visit:source\",[\"x\"]]]]]}",
                 "filters are not supported yet (filter on 'visit:source')");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"pagination\":{\"limit\":20000}}",
                 "too many rows requested: pagination.limit 20000 is over the limit of 10000");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"date_range\":\"7d\","
                 "\"dimensions\":[\"time:minute\"]}",
                 "too many rows requested: 'time:minute' over this date_range gives 10080 "
                 "buckets, over the limit of 10000; use a coarser time dimension or a shorter "
                 "range");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"order_by\":[[\"visits\",\"desc\"]]}",
                 "order_by[0]: 'visits' is not one of the query's metrics or dimensions");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"order_by\":[[\"visitors\",\"up\"]]}",
                 "order_by[0]: direction must be \\\"asc\\\" or \\\"desc\\\", found 'up'");
    expect_error(f,
                 "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],"
                 "\"include\":{\"time_labels\":true}}",
                 "include.time_labels needs a time dimension");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"include\":{\"x\":true}}",
                 "unknown include option 'x'; valid: time_labels, total_rows, imports");
    expect_error(f, "{\"site_id\":\"shop\",\"metrics\":[\"visitors\"],\"colour\":1}",
                 "unknown field 'colour' in the query");
    /* The site name is escaped inside the message. */
    expect_error(f, "{\"site_id\":\"a\\\"b\",\"metrics\":[\"visitors\"]}",
                 "unknown site_id 'a\\\"b'");
}

static void test_realtime_and_sites(void **state)
{
    fixture *f = *state;
    tl_buf_reset(&f->out);
    assert_int_equal(tl_query_realtime(f->q, "shop", 4, NOW, &f->out), 200);
    /* visitors 1 and 2 in 12:29..12:34; the bot is not a visitor */
    assert_string_equal(f->out.ptr, "{\"site_id\":\"shop\",\"visitors\":2,\"window_seconds\":300,"
                                    "\"as_of\":\"2024-05-01T12:34:56Z\"}");
    tl_buf_reset(&f->out);
    assert_int_equal(tl_query_realtime(f->q, "shop", 4, NOW + 10 * MIN, &f->out), 200);
    assert_non_null(strstr(f->out.ptr, "\"visitors\":0"));
    tl_buf_reset(&f->out);
    assert_int_equal(tl_query_realtime(f->q, "foo", 3, NOW, &f->out), 400);
    assert_string_equal(f->out.ptr, "{\"error\":\"unknown site_id 'foo'\"}");
    tl_buf_reset(&f->out);
    assert_int_equal(tl_query_realtime(f->q, "fresh", 5, NOW, &f->out), 200);
    tl_buf_reset(&f->out);
    assert_int_equal(tl_query_sites(f->q, &f->out), 200);
    assert_string_equal(f->out.ptr, "{\"sites\":[\"blog\",\"shop\"]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minutes_with_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hours_order_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_realtime_and_sites, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
