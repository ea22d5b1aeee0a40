/* Unit tests for src/base: buffers, varints, arenas, time, hashing, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

static void test_buf(void **state)
{
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_buf_puts(&b, "hello"), 0);
    assert_int_equal(tl_buf_printf(&b, " %d %s", 42, "x"), 0);
    assert_string_equal(b.ptr, "hello 42 x");
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tl_buf_printf(&b, "%s", big), 0);
    assert_int_equal(b.len, 10 + 599);
    assert_int_equal(b.ptr[b.len], '\0');
    tl_buf_reset(&b);
    assert_int_equal(b.len, 0);
    tl_buf_deinit(&b);
    assert_null(b.ptr);
}

static void test_varint(void **state)
{
    static const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    tl_buf b;
    tl_buf_init(&b);
    for (size_t i = 0; i < TL_ARRAY_LEN(vals); i++)
        tl_buf_put_varint(&b, vals[i]);
    const uint8_t *p = (const uint8_t *)b.ptr, *end = p + b.len;
    for (size_t i = 0; i < TL_ARRAY_LEN(vals); i++) {
        uint64_t v;
        assert_int_equal(tl_varint_get(&p, end, &v), 0);
        assert_true(v == vals[i]);
    }
    assert_ptr_equal(p, end);
    uint64_t v;
    const uint8_t trunc[] = {0x80, 0x80};
    p = trunc;
    assert_int_equal(tl_varint_get(&p, trunc + 2, &v), TL_ECORRUPT);
    tl_buf_deinit(&b);
}

static void test_arena(void **state)
{
    tl_arena *a = tl_arena_new(1024);
    assert_non_null(a);
    char *s = tl_arena_strndup(a, "abc", 3);
    assert_string_equal(s, "abc");
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = tl_arena_alloc(a, 100);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, i & 0xff, 100);
    }
    void *big = tl_arena_alloc(a, 1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    assert_true(tl_arena_used(a) >= 100 * 1000 + (1 << 20));
    size_t before = tl_alloc_used();
    tl_arena_reset(a);
    assert_true(tl_alloc_used() < before);
    assert_int_equal(tl_arena_used(a), 0);
    assert_non_null(tl_arena_alloc(a, 10));
    tl_arena_free(a);
    tl_arena_free(NULL);
}

static void test_alloc_failure(void **state)
{
    tl_alloc_fail_after(2);
    void *a = tl_malloc(8);
    void *b = tl_malloc(8);
    void *c = tl_malloc(8);
    tl_alloc_fail_after(0);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    tl_free(a);
    tl_free(c);
    tl_buf buf;
    tl_buf_init(&buf);
    tl_alloc_fail_after(1);
    assert_int_equal(tl_buf_puts(&buf, "x"), TL_ENOMEM);
    tl_alloc_fail_after(0);
    tl_buf_deinit(&buf);
}

static void test_time_parse(void **state)
{
    int64_t ms;
    assert_int_equal(tl_time_parse("1970-01-01T00:00:00Z", 20, &ms), 0);
    assert_true(ms == 0);
    const char *s = "2024-02-29T12:34:56.789Z";
    assert_int_equal(tl_time_parse(s, strlen(s), &ms), 0);
    assert_true(ms == 1709210096789LL);
    s = "2024-02-29T14:34:56.789+02:00";
    assert_int_equal(tl_time_parse(s, strlen(s), &ms), 0);
    assert_true(ms == 1709210096789LL);
    s = "2024-02-29 12:34:56.7z";
    assert_int_equal(tl_time_parse(s, strlen(s), &ms), 0);
    assert_true(ms == 1709210096700LL);
    s = "2024-05-01";
    assert_int_equal(tl_time_parse(s, strlen(s), &ms), 0);
    assert_true(ms == 1714521600000LL);
    static const char *bad[] = {
        "",
        "2024-13-01",
        "2023-02-29",
        "2024-01-01T00:00:00",
        "garbage",
        "2024-01-01T25:00:00Z",
        "2024-01-01T00:00:00Zx",
        "2024-01-01T00:00:00.Z",
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(bad); i++)
        assert_int_equal(tl_time_parse(bad[i], strlen(bad[i]), &ms), TL_EINVAL);
}

static void test_time_format(void **state)
{
    char out[32];
    assert_int_equal(tl_time_format(1709210096789LL, out), 24);
    assert_string_equal(out, "2024-02-29T12:34:56.789Z");
    tl_time_format_s(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    tl_time_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    for (int64_t d = -800000; d < 800000; d += 997) {
        int64_t y;
        unsigned m, dd;
        tl_civil_from_days(d, &y, &m, &dd);
        assert_true(tl_days_from_civil(y, m, dd) == d);
    }
}

static void test_hash(void **state)
{
    /* the standard CRC-32C check value */
    assert_int_equal(tl_crc32c(0, "123456789", 9), 0xe3069283u);
    /* incremental == one shot */
    uint32_t c = tl_crc32c(0, "1234", 4);
    assert_int_equal(tl_crc32c(c, "56789", 5), 0xe3069283u);
    assert_true(tl_hash64("a", 1, 0) != tl_hash64("b", 1, 0));
    assert_true(tl_hash64("a", 1, 0) != tl_hash64("a", 1, 1));
}

static void test_percent_decode(void **state)
{
    char out[32];
    assert_int_equal(tl_percent_decode("a%20b+c%2Fd", 11, true, out), 7);
    assert_string_equal(out, "a b c/d");
    assert_int_equal(tl_percent_decode("a+b%zz%4", 8, false, out), 8);
    assert_string_equal(out, "a+b%zz%4");
    assert_int_equal(tl_hexval('f'), 15);
    assert_int_equal(tl_hexval('G'), -1);
}

static void test_files(void **state)
{
    char dir[] = "/tmp/tally-base-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    assert_int_equal(tl_mkdir_p(path), 0);
    snprintf(path, sizeof path, "%s/a/b/c/file", dir);
    assert_int_equal(tl_write_file_atomic(path, "one", 3), 0);
    assert_int_equal(tl_write_file_atomic(path, "two!", 4), 0);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_read_file(path, &b), 0);
    assert_string_equal(b.ptr, "two!");
    tl_buf_reset(&b);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(tl_read_file(path, &b), TL_ENOTFOUND);
    tl_buf_deinit(&b);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_percent_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
