/* Unit tests for collect/segment.c: Segment event validation and field extraction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "collect/segment.h"

typedef struct {
    tl_arena *a;
    tl_seg_ctx cx;
} fixture;

static int setup(void **state)
{
    static fixture f;
    f.a = tl_arena_new(8192);
    memset(&f.cx, 0, sizeof f.cx);
    f.cx.site = TL_STR("shop.example");
    f.cx.received_ms = 1714521600000LL; /* 2024-05-01T00:00:00Z */
    f.cx.max_event_bytes = 32768;
    f.cx.arena = f.a;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tl_arena_free(f->a);
    return 0;
}

static int run(fixture *f, const char *json, int type, tl_event *ev, tl_seg_error *e)
{
    tl_json *root;
    tl_json_error jerr;
    assert_int_equal(tl_json_parse(f->a, json, strlen(json), NULL, &root, &jerr), 0);
    return tl_seg_event(&f->cx, root, type, ev, e);
}

static bool str_is(tl_str s, const char *want)
{
    return tl_str_eq(s, want);
}

static void test_track_ok(void **state)
{
    fixture *f = *state;
    tl_event ev;
    tl_seg_error e;
    assert_int_equal(run(f,
                         "{\"type\":\"track\",\"messageId\":\"m1\",\"anonymousId\":\"a1\","
                         "\"event\":\"Order Completed\",\"properties\":{\"revenue\":12.5, "
                         "\"currency\":\"EUR\"},\"timestamp\":\"2024-04-30T23:59:00Z\","
                         "\"context\":{\"library\":{\"name\":\"analytics-node\",\"version\":"
                         "\"2.1\"},\"ip\":\"203.0.113.9\",\"userAgent\":\"Mozilla/5.0\"}}",
                         0, &ev, &e),
                     0);
    assert_int_equal(ev.type, TL_EV_TRACK);
    assert_true(ev.ts_ms == 1714521540000LL);
    assert_true(str_is(ev.f[TL_F_NAME], "Order Completed"));
    assert_true(str_is(ev.f[TL_F_MESSAGE_ID], "m1"));
    assert_true(str_is(ev.f[TL_F_PROPERTIES], "{\"revenue\":12.5,\"currency\":\"EUR\"}"));
    assert_true(str_is(ev.f[TL_F_LIBRARY], "analytics-node/2.1"));
    assert_true(str_is(ev.f[TL_F_USER_AGENT], "Mozilla/5.0"));
    assert_true(str_is(ev.f[TL_F_SITE], "shop.example"));
    assert_true(ev.visitor != 0);
    /* no IP anywhere in the record */
    for (int i = 1; i < TL_F__COUNT; i++)
        assert_null(ev.f[i].len ? memmem(ev.f[i].ptr, ev.f[i].len, "203.0.113.9", 11) : NULL);
}

static void test_page_fields_and_utm(void **state)
{
    fixture *f = *state;
    tl_event ev;
    tl_seg_error e;
    assert_int_equal(
        run(f,
            "{\"messageId\":\"m2\",\"userId\":\"u1\",\"name\":\"Pricing\",\"properties\":{"
            "\"url\":\"https://www.shop.example/pricing?utm_source=news%20letter&utm_medium="
            "email&x=1\",\"referrer\":\"https://www.google.com/\",\"title\":\"Pricing\"}}",
            TL_EV_PAGE, &ev, &e),
        0);
    assert_int_equal(ev.type, TL_EV_PAGE);
    assert_true(str_is(ev.f[TL_F_HOSTNAME], "www.shop.example"));
    assert_true(str_is(ev.f[TL_F_PATH], "/pricing"));
    assert_true(str_is(ev.f[TL_F_REFERRER], "https://www.google.com/"));
    assert_true(str_is(ev.f[TL_F_UTM_SOURCE], "news letter"));
    assert_true(str_is(ev.f[TL_F_UTM_MEDIUM], "email"));
    assert_int_equal(ev.f[TL_F_UTM_CAMPAIGN].len, 0);
    assert_true(ev.flags & TL_EVF_NO_TS);
    assert_true(ev.ts_ms == f->cx.received_ms);
    /* context.campaign wins over the URL */
    assert_int_equal(run(f,
                         "{\"messageId\":\"m3\",\"anonymousId\":\"a\",\"context\":{\"campaign\":{"
                         "\"name\":\"spring\",\"source\":\"x\"},\"page\":{\"url\":\"https://a.b/"
                         "c?utm_source=y\",\"path\":\"/c\"}}}",
                         TL_EV_PAGE, &ev, &e),
                     0);
    assert_true(str_is(ev.f[TL_F_UTM_SOURCE], "x"));
    assert_true(str_is(ev.f[TL_F_UTM_CAMPAIGN], "spring"));
    assert_true(str_is(ev.f[TL_F_PATH], "/c"));
}

static void test_skew_correction(void **state)
{
    fixture *f = *state;
    tl_event ev;
    tl_seg_error e;
    /* device clock one hour fast: sent 10 s after the event by its own clock */
    assert_int_equal(run(f,
                         "{\"type\":\"track\",\"event\":\"x\",\"messageId\":\"m\",\"anonymousId\":"
                         "\"a\",\"timestamp\":\"2024-05-01T01:00:00Z\",\"sentAt\":\"2024-05-01T01:"
                         "00:10Z\"}",
                         0, &ev, &e),
                     0);
    assert_true(ev.ts_ms == f->cx.received_ms - 10000);
    assert_true(ev.flags & TL_EVF_SKEWED);
    /* a batch-level sentAt applies too */
    f->cx.batch_sent_at = true;
    f->cx.batch_sent_ms = 1714521605000LL;
    assert_int_equal(run(f,
                         "{\"type\":\"track\",\"event\":\"x\",\"messageId\":\"m\",\"anonymousId\":"
                         "\"a\",\"timestamp\":\"2024-05-01T00:00:00Z\"}",
                         0, &ev, &e),
                     0);
    assert_true(ev.ts_ms == f->cx.received_ms - 5000);
    f->cx.batch_sent_at = false;
}

static void expect_error(fixture *f, const char *json, int type, int reason, const char *pointer,
                         const char *words)
{
    tl_event ev;
    tl_seg_error e;
    assert_int_equal(run(f, json, type, &ev, &e), -1);
    assert_int_equal(e.reason, reason);
    assert_string_equal(e.pointer, pointer);
    if (!strstr(e.message, words))
        fail_msg("message '%s' lacks '%s'", e.message, words);
}

static void test_violations(void **state)
{
    fixture *f = *state;
    const int P = TL_DL_TRACKER_PROTOCOL_VIOLATION;
    expect_error(f, "[1]", 0, P, "", "must be a JSON object");
    expect_error(f, "{\"messageId\":\"m\",\"anonymousId\":\"a\"}", 0, P, "/type", "missing type");
    expect_error(f, "{\"type\":\"boom\",\"messageId\":\"m\",\"anonymousId\":\"a\"}", 0, P, "/type",
                 "unknown type");
    expect_error(f, "{\"type\":\"page\",\"anonymousId\":\"a\"}", 0, P, "/messageId",
                 "missing messageId");
    expect_error(f, "{\"type\":\"page\",\"messageId\":\"\",\"anonymousId\":\"a\"}", 0, P,
                 "/messageId", "missing messageId");
    expect_error(f, "{\"type\":\"page\",\"messageId\":\"m\"}", 0, P, "/anonymousId",
                 "missing anonymousId and userId");
    expect_error(f, "{\"type\":\"track\",\"messageId\":\"m\",\"userId\":\"u\"}", 0, P, "/event",
                 "missing event");
    expect_error(f,
                 "{\"type\":\"page\",\"messageId\":\"m\",\"userId\":\"u\",\"timestamp\":"
                 "\"yesterday\"}",
                 0, P, "/timestamp", "not an RFC 3339");
    expect_error(f, "{\"type\":\"page\",\"messageId\":\"m\",\"userId\":\"u\",\"properties\":[]}", 0,
                 P, "/properties", "must be an object");
    expect_error(f, "{\"type\":\"identify\",\"messageId\":\"m\",\"userId\":\"u\",\"traits\":\"x\"}",
                 0, P, "/traits", "must be an object");
    f->cx.max_event_bytes = 40;
    expect_error(f,
                 "{\"type\":\"page\",\"messageId\":\"m\",\"userId\":\"u\",\"name\":\"long "
                 "enough\"}",
                 0, TL_DL_SIZE_VIOLATION, "", "max_event_bytes");
    f->cx.max_event_bytes = 32768;
}

static void test_numeric_ids_and_visitor(void **state)
{
    fixture *f = *state;
    tl_event a, b, c;
    tl_seg_error e;
    assert_int_equal(run(f, "{\"type\":\"page\",\"messageId\":12,\"userId\":42}", 0, &a, &e), 0);
    assert_true(str_is(a.f[TL_F_USER_ID], "42"));
    assert_true(str_is(a.f[TL_F_MESSAGE_ID], "12"));
    assert_int_equal(run(f, "{\"type\":\"page\",\"messageId\":\"x\",\"userId\":\"42\"}", 0, &b, &e),
                     0);
    assert_true(a.visitor == b.visitor);
    f->cx.site = TL_STR("other.example");
    assert_int_equal(run(f, "{\"type\":\"page\",\"messageId\":\"x\",\"userId\":\"42\"}", 0, &c, &e),
                     0);
    assert_true(c.visitor != b.visitor);
    f->cx.site = TL_STR("shop.example");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_track_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_fields_and_utm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skew_correction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_violations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numeric_ids_and_visitor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
