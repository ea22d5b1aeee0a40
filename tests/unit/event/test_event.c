/* Unit tests for src/event: the record codec round-trips and rejects damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "event/event.h"

static void fill(tl_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = TL_EV_TRACK;
    ev->flags = TL_EVF_SKEWED;
    ev->ts_ms = 1714521600123LL;
    ev->received_ms = -5;
    ev->visitor = 0x0123456789abcdefULL;
    ev->f[TL_F_SITE] = TL_STR("shop.example");
    ev->f[TL_F_MESSAGE_ID] = TL_STR("m-1");
    ev->f[TL_F_NAME] = TL_STR("Order Completed");
    ev->f[TL_F_PROPERTIES] = TL_STR("{\"revenue\":12.5}");
    ev->f[TL_F_LIBRARY] = TL_STR("analytics-node/2.1.0");
}

static void test_roundtrip(void **state)
{
    tl_event ev, back;
    fill(&ev);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_event_encode(&ev, &b), 0);
    assert_int_equal(tl_event_decode(b.ptr, b.len, &back), 0);
    assert_int_equal(back.type, TL_EV_TRACK);
    assert_int_equal(back.flags, TL_EVF_SKEWED);
    assert_true(back.ts_ms == ev.ts_ms);
    assert_true(back.received_ms == -5);
    assert_true(back.visitor == ev.visitor);
    for (int f = 1; f < TL_F__COUNT; f++) {
        assert_int_equal(back.f[f].len, ev.f[f].len);
        if (ev.f[f].len)
            assert_memory_equal(back.f[f].ptr, ev.f[f].ptr, ev.f[f].len);
    }
    /* compact: fixed part + fields, nothing else */
    assert_true(b.len < 3 + 7 + 1 + 8 + 5 * 2 + 12 + 3 + 15 + 16 + 20);
    tl_buf_deinit(&b);
}

static void test_damage(void **state)
{
    tl_event ev, back;
    fill(&ev);
    tl_buf b;
    tl_buf_init(&b);
    tl_event_encode(&ev, &b);
    for (size_t cut = 0; cut < b.len; cut++) {
        /* every truncation either fails or yields a prefix of the fields, never reads past */
        int rc = tl_event_decode(b.ptr, cut, &back);
        assert_true(rc == TL_ECORRUPT || rc == 0);
    }
    b.ptr[0] = 9; /* unknown version */
    assert_int_equal(tl_event_decode(b.ptr, b.len, &back), TL_ECORRUPT);
    tl_buf_deinit(&b);
}

static void test_names_and_partition(void **state)
{
    assert_int_equal(tl_event_type_parse("page", 4), TL_EV_PAGE);
    assert_int_equal(tl_event_type_parse("pagex", 5), 0);
    assert_string_equal(tl_event_type_name(TL_EV_IDENTIFY), "identify");
    assert_null(tl_event_type_name(0));
    assert_string_equal(tl_event_field_name(TL_F_UTM_CAMPAIGN), "utm_campaign");
    uint32_t p = tl_event_partition(TL_STR("a"), 7, 4);
    assert_true(p < 4);
    assert_int_equal(tl_event_partition(TL_STR("a"), 7, 4), p);
    int seen[4] = {0};
    for (uint64_t v = 0; v < 400; v++)
        seen[tl_event_partition(TL_STR("a"), v, 4)]++;
    for (int i = 0; i < 4; i++)
        assert_true(seen[i] > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_names_and_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
