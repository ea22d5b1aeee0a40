/*
 * Unit tests for src/json: the reader (grammar, strings, UTF-8, numbers,
 * limits, errors with offsets and messages, allocation failure), lookups,
 * the writer, and the JSONTestSuite conformance corpus (y_ must parse, n_
 * must be rejected, i_ must not crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

#define SUITE_DEFAULT "../shared/testdata/json-test-suite/test_parsing"

typedef struct {
    tl_arena *a;
} fixture;

static int setup(void **state)
{
    fixture *fx = malloc(sizeof *fx);
    if (!fx)
        return -1;
    fx->a = tl_arena_new(4096);
    if (!fx->a) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tl_arena_free(fx->a);
    free(fx);
    return 0;
}

/* Parses a NUL-terminated text (its length by strlen) and asserts success. */
static const tl_json *ok(tl_arena *a, const char *s)
{
    tl_json *v = NULL;
    tl_json_error err;
    int rc = tl_json_parse(a, s, strlen(s), NULL, &v, &err);
    if (rc != 0)
        fail_msg("parse of %s failed: %s", s, err.msg);
    assert_non_null(v);
    assert_int_equal(err.code, 0);
    return v;
}

/* Compact re-serialization into a static-free buffer the caller frees. */
static char *write_compact(const tl_json *v)
{
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_json_write_value(&b, v), 0);
    char *s = strndup(b.ptr ? b.ptr : "", b.len);
    tl_buf_deinit(&b);
    return s;
}

/* ---- structure ---- */

static void test_parse_document(void **state)
{
    fixture *fx = *state;
    const char *s = " {\"type\":\"track\", \"n\": -12.5e1, \"ok\":true,\"no\":false,\"z\":null,"
                    "\"arr\":[1,[2,{}],[],\"x\"],\"o\":{\"k\":\"v\"}} \n";
    const tl_json *v = ok(fx->a, s);
    assert_int_equal(v->type, TL_JSON_OBJECT);
    assert_int_equal(v->len, 7);
    assert_string_equal(v->u.members[0].key, "type");
    assert_string_equal(v->u.members[6].key, "o");
    assert_ptr_equal(v->src, s + 1);
    assert_int_equal(v->src_len, strlen(s) - 3);

    const tl_json *t = tl_json_get(v, "type");
    assert_non_null(t);
    assert_int_equal(t->type, TL_JSON_STRING);
    assert_string_equal(t->u.str, "track");
    assert_int_equal(t->len, 5);
    assert_int_equal(t->src_len, 7); /* quotes included */
    assert_memory_equal(t->src, "\"track\"", 7);

    const tl_json *n = tl_json_get(v, "n");
    assert_int_equal(n->type, TL_JSON_NUMBER);
    assert_true(n->u.num == -125.0);
    assert_int_equal(n->src_len, 7);
    assert_memory_equal(n->src, "-12.5e1", 7);

    assert_int_equal(tl_json_get(v, "ok")->type, TL_JSON_TRUE);
    assert_int_equal(tl_json_get(v, "no")->type, TL_JSON_FALSE);
    assert_int_equal(tl_json_get(v, "z")->type, TL_JSON_NULL);

    const tl_json *arr = tl_json_get(v, "arr");
    assert_int_equal(arr->type, TL_JSON_ARRAY);
    assert_int_equal(arr->len, 4);
    assert_true(arr->u.items[0].u.num == 1.0);
    assert_int_equal(arr->u.items[1].type, TL_JSON_ARRAY);
    assert_int_equal(arr->u.items[1].len, 2);
    assert_int_equal(arr->u.items[1].u.items[1].type, TL_JSON_OBJECT);
    assert_int_equal(arr->u.items[1].u.items[1].len, 0);
    assert_int_equal(arr->u.items[2].len, 0);
    assert_string_equal(arr->u.items[3].u.str, "x");
    assert_int_equal(arr->src_len, strlen("[1,[2,{}],[],\"x\"]"));
    assert_memory_equal(arr->src, "[1,[2,{}],[],\"x\"]", arr->src_len);

    assert_string_equal(tl_json_get_string(tl_json_get(v, "o"), "k")->u.str, "v");
}

static void test_scalars_at_top(void **state)
{
    fixture *fx = *state;
    assert_int_equal(ok(fx->a, "null")->type, TL_JSON_NULL);
    assert_int_equal(ok(fx->a, " true ")->type, TL_JSON_TRUE);
    assert_true(ok(fx->a, "\t42\r\n")->u.num == 42.0);
    assert_string_equal(ok(fx->a, "\"\"")->u.str, "");
    assert_int_equal(ok(fx->a, "[]")->len, 0);
}

static void test_wide_and_deep(void **state)
{
    /* more items than the parser's built-in slot stack, and deeper than its frame stack */
    fixture *fx = *state;
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_buf_putc(&b, '['), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(tl_buf_printf(&b, "%s{\"i\":%d}", i ? "," : "", i), 0);
    assert_int_equal(tl_buf_putc(&b, ']'), 0);
    tl_json *v;
    tl_json_error err;
    assert_int_equal(tl_json_parse(fx->a, b.ptr, b.len, NULL, &v, &err), 0);
    assert_int_equal(v->len, 5000);
    int64_t i64;
    assert_true(tl_json_int64(tl_json_get(&v->u.items[4321], "i"), &i64));
    assert_int_equal(i64, 4321);

    tl_buf_reset(&b);
    for (int i = 0; i < 300; i++)
        assert_int_equal(tl_buf_puts(&b, "{\"a\":["), 0);
    assert_int_equal(tl_buf_puts(&b, "7"), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(tl_buf_puts(&b, "]}"), 0);
    tl_json_limits lim = {.max_depth = 600};
    assert_int_equal(tl_json_parse(fx->a, b.ptr, b.len, &lim, &v, &err), 0);
    const tl_json *cur = v;
    for (int i = 0; i < 300; i++)
        cur = &tl_json_get(cur, "a")->u.items[0];
    assert_true(cur->u.num == 7.0);
    /* one level short of the limit fails, and names it */
    lim.max_depth = 599;
    assert_int_equal(tl_json_parse(fx->a, b.ptr, b.len, &lim, &v, &err), TL_ELIMIT);
    assert_int_equal(err.code, TL_JSON_EDEPTH);
    assert_int_equal(err.offset, 299 * 6 + 5); /* the '[' of the 300th "{\"a\":[" */
    assert_string_equal(err.msg, "nesting depth exceeds the limit of 599 (max_depth)");
    tl_buf_deinit(&b);
}

static void test_deep_nesting_fails_cleanly(void **state)
{
    /* a million-level limit: the explicit stack grows on the heap, no recursion */
    fixture *fx = *state;
    size_t n = 200000;
    char *s = malloc(n);
    assert_non_null(s);
    memset(s, '[', n);
    tl_json_limits lim = {.max_depth = 1000000};
    tl_json *v;
    tl_json_error err;
    assert_int_equal(tl_json_parse(fx->a, s, n, &lim, &v, &err), TL_EINVAL);
    assert_int_equal(err.code, TL_JSON_ESYNTAX);
    assert_int_equal(err.offset, n);
    assert_string_equal(err.msg, "expected a value at byte 200000, found end of input");
    free(s);
}

/* ---- strings ---- */

static void test_escapes(void **state)
{
    fixture *fx = *state;
    const tl_json *v = ok(fx->a, "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
    assert_string_equal(v->u.str, "a\"b\\c/d\b\f\n\r\t");
    assert_int_equal(v->len, 12);

    v = ok(fx->a, "\"\\u00e9\\u20AC\\u0041\"");
    assert_string_equal(v->u.str, "\xc3\xa9\xe2\x82\xac"
                                  "A");

    /* a surrogate pair becomes one 4-byte sequence */
    v = ok(fx->a, "\"\\ud83d\\ude00!\"");
    assert_string_equal(v->u.str, "\xf0\x9f\x98\x80!");
    assert_int_equal(v->len, 5);
    v = ok(fx->a, "\"\\uDBFF\\uDFFF\"");
    assert_string_equal(v->u.str, "\xf4\x8f\xbf\xbf");

    /* lone surrogates become U+FFFD */
    v = ok(fx->a, "\"\\ud800\"");
    assert_string_equal(v->u.str, "\xef\xbf\xbd");
    v = ok(fx->a, "\"x\\udc00y\"");
    assert_string_equal(v->u.str, "x\xef\xbf\xbdy");
    v = ok(fx->a, "\"\\ud800\\u0041\"");
    assert_string_equal(v->u.str, "\xef\xbf\xbd"
                                  "A");
    v = ok(fx->a, "\"\\ude00\\ud83d\""); /* inverted pair */
    assert_string_equal(v->u.str, "\xef\xbf\xbd\xef\xbf\xbd");
    v = ok(fx->a, "\"\\ud800\\\"\"");
    assert_string_equal(v->u.str, "\xef\xbf\xbd\"");

    /* \u0000 keeps an embedded NUL; len tells the truth */
    v = ok(fx->a, "\"a\\u0000b\"");
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->u.str, "a\0b", 4);

    /* keys are unescaped too */
    v = ok(fx->a, "{\"k\\u00e9y\":1}");
    assert_string_equal(v->u.members[0].key, "k\xc3\xa9y");
    assert_int_equal(v->u.members[0].key_len, 4);
    assert_non_null(tl_json_get(v, "k\xc3\xa9y"));
}

static void test_long_strings(void **state)
{
    /* strings longer than the 8-byte fast loop, with specials at every position */
    fixture *fx = *state;
    char src[64], want[64];
    for (int pos = 0; pos < 40; pos++) {
        size_t n = 0, w = 0;
        src[n++] = '"';
        for (int i = 0; i < 40; i++) {
            if (i == pos) {
                memcpy(src + n, "\\n\xc3\xa9", 4);
                n += 4;
                memcpy(want + w, "\n\xc3\xa9", 3);
                w += 3;
            } else {
                src[n++] = (char)('a' + i % 26);
                want[w++] = (char)('a' + i % 26);
            }
        }
        src[n++] = '"';
        src[n] = '\0';
        want[w] = '\0';
        const tl_json *v = ok(fx->a, src);
        assert_string_equal(v->u.str, want);
        assert_int_equal(v->len, w);
    }
}

static void test_utf8_validation(void **state)
{
    fixture *fx = *state;
    struct {
        const char *s;
        size_t off;
        const char *msg;
    } bad[] = {
        {"\"\xc0\x80\"", 1, "invalid utf-8 in string at byte 1: expected a lead byte, found 0xc0"},
        {"\"ab\xe0\x80\x80\"", 4,
         "invalid utf-8 in string at byte 4: expected a byte in 0xa0..0xbf after 0xe0, found "
         "0x80"},
        {"\"\xed\xa0\x80\"", 2,
         "invalid utf-8 in string at byte 2: expected a byte in 0x80..0x9f after 0xed, found "
         "0xa0"},
        {"\"\xf0\x80\x80\x80\"", 2,
         "invalid utf-8 in string at byte 2: expected a byte in 0x90..0xbf after 0xf0, found "
         "0x80"},
        {"\"\xf4\x90\x80\x80\"", 2,
         "invalid utf-8 in string at byte 2: expected a byte in 0x80..0x8f after 0xf4, found "
         "0x90"},
        {"\"\xf5\x80\x80\x80\"", 1,
         "invalid utf-8 in string at byte 1: expected a lead byte, found 0xf5"},
        {"\"\x80\"", 1, "invalid utf-8 in string at byte 1: expected a lead byte, found 0x80"},
        {"\"\xe2\x82\"", 3,
         "invalid utf-8 in string at byte 3: expected a byte in 0x80..0xbf after 0x82, found "
         "0x22"},
        {"\"\xe2\x82", 3,
         "invalid utf-8 in string at byte 3: expected a continuation byte, found end of input"},
        {"\"\xff\"", 1, "invalid utf-8 in string at byte 1: expected a lead byte, found 0xff"},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(bad); i++) {
        tl_json *v;
        tl_json_error err;
        int rc = tl_json_parse(fx->a, bad[i].s, strlen(bad[i].s), NULL, &v, &err);
        assert_int_equal(rc, TL_EINVAL);
        assert_int_equal(err.code, TL_JSON_ESYNTAX);
        assert_int_equal(err.offset, bad[i].off);
        assert_string_equal(err.msg, bad[i].msg);
    }
    /* the longest valid forms of each length pass through unchanged */
    const char *good = "\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
                       "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"";
    const tl_json *v = ok(fx->a, good);
    assert_int_equal(v->len, strlen(good) - 2);
    assert_memory_equal(v->u.str, good + 1, v->len);
}

/* ---- errors ---- */

static void test_syntax_errors(void **state)
{
    fixture *fx = *state;
    struct {
        const char *s;
        size_t off;
        const char *msg;
    } cases[] = {
        {"", 0, "expected a value at byte 0, found end of input"},
        {"  \n ", 4, "expected a value at byte 4, found end of input"},
        {"{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after object member at byte 7, found '\"'"},
        {"{\"a\":1,}", 7, "expected a string key after ',' in object at byte 7, found '}'"},
        {"[1,2,]", 5, "expected a value at byte 5, found ']'"},
        {"[1 2]", 3, "expected ',' or ']' after array item at byte 3, found '2'"},
        {"{\"a\" 1}", 5, "expected ':' after object key at byte 5, found '1'"},
        {"{a:1}", 1, "expected a string key or '}' after '{' at byte 1, found 'a'"},
        {"{'a':1}", 1, "expected a string key or '}' after '{' at byte 1, found a single quote"},
        {"[1] x", 4, "expected end of input after the value at byte 4, found 'x'"},
        {"1 2", 2, "expected end of input after the value at byte 2, found '2'"},
        {"/* c */ 1", 0, "expected a value at byte 0, found '/'"},
        {"[NaN]", 1, "expected a value at byte 1, found 'N'"},
        {"-Infinity", 1, "expected a digit after '-' at byte 1, found 'I'"},
        {"012", 1,
         "expected '.', 'e' or the end of the number after a leading '0' at byte 1, found '1'"},
        {"-01", 2,
         "expected '.', 'e' or the end of the number after a leading '0' at byte 2, found '1'"},
        {"1.", 2, "expected a digit after '.' in number at byte 2, found end of input"},
        {"1.e5", 2, "expected a digit after '.' in number at byte 2, found 'e'"},
        {".5", 0, "expected a value at byte 0, found '.'"},
        {"+1", 0, "expected a value at byte 0, found '+'"},
        {"1e+", 3, "expected a digit in the exponent of a number at byte 3, found end of input"},
        {"[tru]", 4, "expected 'true' at byte 4, found ']'"},
        {"nul", 3, "expected 'null' at byte 3, found end of input"},
        {"falsy", 4, "expected 'false' at byte 4, found 'y'"},
        {"\"abc", 4, "expected '\"' to close the string opened at byte 0, found end of input"},
        {"[\"a\nb\"]", 3,
         "expected control characters escaped in string at byte 3, found raw byte 0x0a"},
        {"\"\\x\"", 2,
         "expected one of \" \\ / b f n r t u after '\\' in string at byte 2, found 'x'"},
        {"\"\\u12g4\"", 5, "expected 4 hex digits after '\\u' at byte 5, found 'g'"},
        {"\"\\u12", 5, "expected 4 hex digits after '\\u' at byte 5, found end of input"},
        {"\"\\", 2, "unterminated escape in string at byte 2, found end of input"},
        {"[\f]", 1, "expected a value at byte 1, found byte 0x0c"},
        {"\xef\xbb\xbf{}", 0, "expected a value at byte 0, found byte 0xef"},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(cases); i++) {
        tl_json *v = NULL;
        tl_json_error err;
        int rc = tl_json_parse(fx->a, cases[i].s, strlen(cases[i].s), NULL, &v, &err);
        if (rc != TL_EINVAL)
            fail_msg("case %zu (%s): rc %d", i, cases[i].s, rc);
        assert_null(v);
        assert_int_equal(err.code, TL_JSON_ESYNTAX);
        if (err.offset != cases[i].off || strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got offset %zu msg \"%s\"; want %zu \"%s\"", i, err.offset, err.msg,
                     cases[i].off, cases[i].msg);
    }
    /* a NUL byte inside the given length is just a byte */
    tl_json *v;
    tl_json_error err;
    assert_int_equal(tl_json_parse(fx->a, "[1]\0", 4, NULL, &v, &err), TL_EINVAL);
    assert_string_equal(err.msg,
                        "expected end of input after the value at byte 3, found byte 0x00");
    /* and the length is respected: bytes past n are not read */
    assert_int_equal(tl_json_parse(fx->a, "[1]garbage", 3, NULL, &v, &err), 0);
    assert_int_equal(v->len, 1);
    /* err may be NULL */
    assert_int_equal(tl_json_parse(fx->a, "[", 1, NULL, &v, NULL), TL_EINVAL);
}

static void test_limits(void **state)
{
    fixture *fx = *state;
    tl_json *v;
    tl_json_error err;

    /* default depth 64: 64 levels parse, 65 do not */
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    assert_int_equal(tl_json_parse(fx->a, deep, 128, NULL, &v, &err), 0);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    assert_int_equal(tl_json_parse(fx->a, deep, 130, NULL, &v, &err), TL_ELIMIT);
    assert_int_equal(err.code, TL_JSON_EDEPTH);
    assert_int_equal(err.offset, 64);
    assert_string_equal(err.msg, "nesting depth exceeds the limit of 64 (max_depth)");
    tl_json_limits lim = {.max_depth = 2};
    assert_int_equal(tl_json_parse(fx->a, "{\"a\":[1]}", 9, &lim, &v, &err), 0);
    assert_int_equal(tl_json_parse(fx->a, "{\"a\":[{}]}", 10, &lim, &v, &err), TL_ELIMIT);
    assert_string_equal(err.msg, "nesting depth exceeds the limit of 2 (max_depth)");

    /* string length counts bytes after unescaping */
    size_t n = 70000;
    char *big = malloc(n + 16);
    assert_non_null(big);
    big[0] = '"';
    memset(big + 1, 'x', n);
    big[n + 1] = '"';
    lim = (tl_json_limits){.max_string_len = 65536};
    assert_int_equal(tl_json_parse(fx->a, big, n + 2, &lim, &v, &err), TL_ELIMIT);
    assert_int_equal(err.code, TL_JSON_ESTRING);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg,
                        "string of 70000 bytes exceeds the limit of 65536 bytes (max_string_len)");
    lim.max_string_len = 70000;
    assert_int_equal(tl_json_parse(fx->a, big, n + 2, &lim, &v, &err), 0);
    assert_int_equal(v->len, 70000);
    free(big);
    lim.max_string_len = 3;
    assert_int_equal(tl_json_parse(fx->a, "\"\\u00e9\\n\"", 10, &lim, &v, &err), 0); /* 3 bytes */
    assert_int_equal(tl_json_parse(fx->a, "[\"abcd\"]", 8, &lim, &v, &err), TL_ELIMIT);
    assert_int_equal(err.offset, 1);
    /* keys count too */
    assert_int_equal(tl_json_parse(fx->a, "{\"abc\":1,\"abcd\":2}", 18, &lim, &v, &err), TL_ELIMIT);
    assert_int_equal(err.offset, 9);
    assert_string_equal(err.msg, "string of 4 bytes exceeds the limit of 3 bytes (max_string_len)");

    /* members per object and items per array */
    lim = (tl_json_limits){.max_members = 3};
    assert_int_equal(tl_json_parse(fx->a, "{\"a\":1,\"b\":2,\"c\":3}", 19, &lim, &v, &err), 0);
    assert_int_equal(tl_json_parse(fx->a, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 25, &lim, &v, &err),
                     TL_ELIMIT);
    assert_int_equal(err.code, TL_JSON_EMEMBERS);
    assert_int_equal(err.offset, 19);
    assert_string_equal(err.msg, "object exceeds the limit of 3 members (max_members)");
    assert_int_equal(tl_json_parse(fx->a, "[1,2,3]", 7, &lim, &v, &err), 0);
    assert_int_equal(tl_json_parse(fx->a, "[[1,2,3],[1,2,3,4]]", 19, &lim, &v, &err), TL_ELIMIT);
    assert_int_equal(err.code, TL_JSON_EMEMBERS);
    assert_int_equal(err.offset, 16);
    assert_string_equal(err.msg, "array exceeds the limit of 3 items (max_members)");
}

static void test_out_of_memory(void **state)
{
    /* every allocation failing in turn gives TL_ENOMEM (or success), and no leak */
    TL_UNUSED(state);
    const char *doc = "{\"batch\":[{\"type\":\"track\",\"event\":\"Signed Up\",\"properties\":"
                      "{\"plan\":\"pro\",\"seats\":3,\"tags\":[\"a\",\"b\"]}}],"
                      "\"sentAt\":\"2024-05-01T12:00:00Z\"}";
    size_t before = tl_alloc_used();
    int ok_seen = 0, nomem_seen = 0;
    for (long nth = 1; nth < 40; nth++) {
        tl_arena *a = tl_arena_new(256);
        assert_non_null(a);
        tl_json *v;
        tl_json_error err;
        tl_alloc_fail_after(nth);
        int rc = tl_json_parse(a, doc, strlen(doc), NULL, &v, &err);
        tl_alloc_fail_after(0);
        if (rc == 0) {
            ok_seen++;
            assert_string_equal(tl_json_get_string(v, "sentAt")->u.str, "2024-05-01T12:00:00Z");
        } else {
            nomem_seen++;
            assert_int_equal(rc, TL_ENOMEM);
            assert_int_equal(err.code, TL_JSON_ENOMEM);
        }
        tl_arena_free(a);
        assert_int_equal(tl_alloc_used(), before);
    }
    assert_true(nomem_seen > 0);
    assert_true(ok_seen > 0);
}

/* ---- numbers ---- */

static void test_numbers(void **state)
{
    fixture *fx = *state;
    const char *texts[] = {
        "0",
        "-0",
        "1",
        "-1",
        "123456789",
        "0.1",
        "0.5",
        "-2.25",
        "1e10",
        "1E-7",
        "1.5e+3",
        "3.141592653589793",
        "2.718281828459045e-5",
        "9007199254740993",
        "123456789012345678901234",
        "0.000000000000000000000000000001",
        "1e22",
        "1e23",
        "1.7976931348623157e308",
        "4.9e-324",
        "2.2250738585072014e-308",
        "0.30000000000000004",
        "12345678901234567",
        "-9223372036854775808",
        "1e-400",
        "123.456e-2",
        "100000000000000000000",
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(texts); i++) {
        const tl_json *v = ok(fx->a, texts[i]);
        assert_int_equal(v->type, TL_JSON_NUMBER);
        double want = strtod(texts[i], NULL);
        if (memcmp(&v->u.num, &want, sizeof want) != 0)
            fail_msg("%s: got %.17g want %.17g", texts[i], v->u.num, want);
        assert_int_equal(v->src_len, strlen(texts[i]));
    }
    /* -0 keeps its sign */
    assert_true(signbit(ok(fx->a, "-0")->u.num));
    assert_true(signbit(ok(fx->a, "-0.0")->u.num));
    /* huge exponents do not crash; the value saturates */
    assert_true(isinf(ok(fx->a, "1e999999999999999999999")->u.num));
    assert_true(ok(fx->a, "-1e-999999999999999999999")->u.num == 0.0);
    assert_true(isinf(ok(fx->a, "[-123123e100000]")->u.items[0].u.num));

    /* random decimals: the fast path agrees bit for bit with strtod */
    srand(12345);
    for (int i = 0; i < 20000; i++) {
        char t[64];
        long long mant = ((long long)rand() << 20) ^ rand();
        int scale = rand() % 30;
        int e = rand() % 50 - 25;
        int len = snprintf(t, sizeof t, "%s%lld.%0*de%d", rand() % 2 ? "-" : "", mant % 100000000,
                           scale ? scale % 9 + 1 : 1, rand() % 1000, e);
        tl_json *v;
        tl_json_error err;
        assert_int_equal(tl_json_parse(fx->a, t, (size_t)len, NULL, &v, &err), 0);
        double want = strtod(t, NULL);
        if (memcmp(&v->u.num, &want, sizeof want) != 0)
            fail_msg("%s: got %.17g want %.17g", t, v->u.num, want);
    }
}

static void test_int64(void **state)
{
    fixture *fx = *state;
    int64_t i;
    assert_true(tl_json_int64(ok(fx->a, "42"), &i));
    assert_int_equal(i, 42);
    assert_true(tl_json_int64(ok(fx->a, "-0"), &i));
    assert_int_equal(i, 0);
    /* beyond 2^53: exact from the text, not the double */
    assert_true(tl_json_int64(ok(fx->a, "9007199254740993"), &i));
    assert_int_equal(i, 9007199254740993LL);
    assert_true(tl_json_int64(ok(fx->a, "9223372036854775807"), &i));
    assert_int_equal(i, INT64_MAX);
    assert_true(tl_json_int64(ok(fx->a, "-9223372036854775808"), &i));
    assert_true(i == INT64_MIN);
    assert_false(tl_json_int64(ok(fx->a, "9223372036854775808"), &i));
    assert_false(tl_json_int64(ok(fx->a, "-9223372036854775809"), &i));
    assert_false(tl_json_int64(ok(fx->a, "123456789012345678901234567890"), &i));
    /* a fraction or exponent: judged by the double */
    assert_true(tl_json_int64(ok(fx->a, "1e3"), &i));
    assert_int_equal(i, 1000);
    assert_true(tl_json_int64(ok(fx->a, "2.0"), &i));
    assert_int_equal(i, 2);
    assert_false(tl_json_int64(ok(fx->a, "2.5"), &i));
    assert_false(tl_json_int64(ok(fx->a, "1e19"), &i));
    assert_false(tl_json_int64(ok(fx->a, "1e400"), &i));
    /* not a number */
    assert_false(tl_json_int64(ok(fx->a, "\"42\""), &i));
    assert_false(tl_json_int64(NULL, &i));
    /* a hand-built number without source text */
    tl_json h = {.type = TL_JSON_NUMBER, .u.num = -17.0};
    assert_true(tl_json_int64(&h, &i));
    assert_int_equal(i, -17);
}

/* ---- lookups ---- */

static void test_get(void **state)
{
    fixture *fx = *state;
    const tl_json *v = ok(fx->a, "{\"a\":1,\"b\":\"x\",\"a\":2,\"ab\":3,\"\":4}");
    assert_true(tl_json_get(v, "a")->u.num == 2.0); /* the last one wins */
    assert_true(tl_json_get(v, "ab")->u.num == 3.0);
    assert_true(tl_json_get(v, "")->u.num == 4.0);
    assert_null(tl_json_get(v, "c"));
    assert_null(tl_json_get(v, "A"));
    assert_true(tl_json_getn(v, "abc", 1)->u.num == 2.0);
    assert_true(tl_json_getn(v, "abc", 2)->u.num == 3.0);
    assert_null(tl_json_getn(v, "abc", 3));
    assert_string_equal(tl_json_get_string(v, "b")->u.str, "x");
    assert_null(tl_json_get_string(v, "a"));
    assert_null(tl_json_get_string(v, "zz"));
    assert_null(tl_json_get(ok(fx->a, "[1]"), "a"));
    assert_null(tl_json_get(NULL, "a"));
    assert_null(tl_json_get(ok(fx->a, "{}"), "a"));
    /* keys with NUL need getn */
    v = ok(fx->a, "{\"a\\u0000b\":1}");
    assert_null(tl_json_get(v, "a"));
    assert_non_null(tl_json_getn(v, "a\0b", 3));
    assert_string_equal(tl_json_type_name(TL_JSON_STRING), "string");
    assert_string_equal(tl_json_type_name(TL_JSON_TRUE), "boolean");
    assert_string_equal(tl_json_type_name(99), "unknown");
}

/* ---- writer ---- */

static void assert_written(tl_buf *b, const char *want)
{
    if (strlen(want) != b->len || memcmp(b->ptr, want, b->len) != 0)
        fail_msg("wrote [%.*s], want [%s]", (int)b->len, b->ptr, want);
    tl_buf_reset(b);
}

static void test_write_string(void **state)
{
    TL_UNUSED(state);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(tl_json_write_string(&b, "", 0), 0);
    assert_written(&b, "\"\"");
    assert_int_equal(tl_json_write_string(&b, "plain text", 10), 0);
    assert_written(&b, "\"plain text\"");
    const char s[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9";
    assert_int_equal(tl_json_write_string(&b, s, sizeof s - 1), 0);
    assert_written(&b, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\"");
    assert_int_equal(tl_json_write_string(&b, "a\0b", 3), 0);
    assert_written(&b, "\"a\\u0000b\"");
    /* long input grows the buffer */
    char big[5000];
    memset(big, 'y', sizeof big);
    big[4000] = '\n';
    assert_int_equal(tl_json_write_string(&b, big, sizeof big), 0);
    assert_int_equal(b.len, sizeof big + 3);
    assert_memory_equal(b.ptr + 4001, "\\n", 2);
    tl_buf_deinit(&b);
}

static void test_write_numbers(void **state)
{
    TL_UNUSED(state);
    tl_buf b;
    tl_buf_init(&b);
    struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "0"},
        {1.0, "1"},
        {-42.0, "-42"},
        {1e15, "1000000000000000"},
        {9007199254740991.0, "9007199254740991"},
        {9007199254740992.0, "9007199254740992"},
        {0.1, "0.1"},
        {-2.5, "-2.5"},
        {1.0 / 3.0, "0.3333333333333333"},
        {0.30000000000000004, "0.30000000000000004"},
        {1e300, "1e+300"},
        {5e-324, "4.94065645841247e-324"}, /* %.15g already reads back */
        {NAN, "null"},
        {INFINITY, "null"},
        {-INFINITY, "null"},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(cases); i++) {
        assert_int_equal(tl_json_write_number(&b, cases[i].v), 0);
        assert_written(&b, cases[i].want);
    }
    /* every finite output reads back as the same double, and as JSON */
    srand(7);
    tl_arena *a = tl_arena_new(4096);
    for (int i = 0; i < 5000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        assert_int_equal(tl_json_write_number(&b, d), 0);
        tl_json *v;
        tl_json_error err;
        assert_int_equal(tl_json_parse(a, b.ptr, b.len, NULL, &v, &err), 0);
        assert_true(v->u.num == d);
        tl_buf_reset(&b);
        tl_arena_reset(a);
    }
    tl_arena_free(a);

    assert_int_equal(tl_json_write_int(&b, 0), 0);
    assert_written(&b, "0");
    assert_int_equal(tl_json_write_int(&b, INT64_MAX), 0);
    assert_written(&b, "9223372036854775807");
    assert_int_equal(tl_json_write_int(&b, INT64_MIN), 0);
    assert_written(&b, "-9223372036854775808");
    assert_int_equal(tl_json_write_int(&b, -7), 0);
    assert_written(&b, "-7");
    tl_buf_deinit(&b);
}

static void test_write_value(void **state)
{
    fixture *fx = *state;
    struct {
        const char *in, *want;
    } cases[] = {
        {" { \"a\" : [ 1 , 2.50 , -0 , 1E5 ] , \"b\" : { } , \"c\" : [ ] } ",
         "{\"a\":[1,2.50,-0,1E5],\"b\":{},\"c\":[]}"},
        {"\"\\u00e9\\/\\ud83d\\ude00\\u001F\"", "\"\xc3\xa9/\xf0\x9f\x98\x80\\u001f\""},
        {"[true,false,null,\"\"]", "[true,false,null,\"\"]"},
        {"123456789012345678901234567890", "123456789012345678901234567890"},
        {"{\"k\\\"ey\":{\"x\":[[[]]]}}", "{\"k\\\"ey\":{\"x\":[[[]]]}}"},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(cases); i++) {
        char *out = write_compact(ok(fx->a, cases[i].in));
        assert_string_equal(out, cases[i].want);
        /* writing is a fixed point */
        char *again = write_compact(ok(fx->a, out));
        assert_string_equal(again, out);
        free(again);
        free(out);
    }
    /* deeper than the writer's built-in stack */
    tl_buf in;
    tl_buf_init(&in);
    for (int i = 0; i < 100; i++)
        assert_int_equal(tl_buf_puts(&in, "[{\"k\":"), 0);
    assert_int_equal(tl_buf_puts(&in, "1"), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(tl_buf_puts(&in, "}]"), 0);
    tl_json_limits lim = {.max_depth = 200};
    tl_json *v;
    tl_json_error err;
    assert_int_equal(tl_json_parse(fx->a, in.ptr, in.len, &lim, &v, &err), 0);
    char *out = write_compact(v);
    assert_string_equal(out, in.ptr);
    free(out);
    tl_buf_deinit(&in);

    /* hand-built trees (no source text) */
    tl_json items[2] = {{.type = TL_JSON_NUMBER, .u.num = 0.5},
                        {.type = TL_JSON_STRING, .len = 2, .u.str = "hi"}};
    tl_json_member mem[1] = {
        {.key = "k", .key_len = 1, .value = {.type = TL_JSON_ARRAY, .len = 2, .u.items = items}}};
    tl_json obj = {.type = TL_JSON_OBJECT, .len = 1, .u.members = mem};
    out = write_compact(&obj);
    assert_string_equal(out, "{\"k\":[0.5,\"hi\"]}");
    free(out);
}

/* ---- robustness: mutated documents never crash; accepted ones round-trip ---- */

static void test_mutations(void **state)
{
    fixture *fx = *state;
    const char *seed =
        "{\"type\":\"track\",\"event\":\"Order \\u00e9 \xe2\x82\xac\",\"n\":[1,-2.5e3,"
        "true,null,{\"a\":\"\\ud83d\\ude00\"}],\"s\":\"x\\ny\"}";
    size_t n = strlen(seed);
    char buf[256];
    unsigned seedv = 99;
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(buf, seed, n);
        size_t len = n;
        int edits = 1 + rand_r(&seedv) % 3;
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = (size_t)rand_r(&seedv) % len;
            switch (rand_r(&seedv) % 3) {
            case 0:
                buf[at] = (char)rand_r(&seedv);
                break;
            case 1: /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default: /* truncate */
                len = at + 1;
                break;
            }
        }
        tl_json *v;
        tl_json_error err;
        int rc = tl_json_parse(fx->a, buf, len, NULL, &v, &err);
        if (rc == 0) {
            accepted++;
            char *out = write_compact(v);
            tl_json *v2;
            assert_int_equal(tl_json_parse(fx->a, out, strlen(out), NULL, &v2, &err), 0);
            char *out2 = write_compact(v2);
            assert_string_equal(out, out2);
            free(out);
            free(out2);
        } else {
            assert_int_equal(rc, TL_EINVAL);
            assert_true(err.offset <= len);
            assert_true(err.msg[0] != '\0');
        }
        tl_arena_reset(fx->a);
    }
    assert_true(accepted > 0);
}

/* ---- JSONTestSuite (github.com/nst/JSONTestSuite), read in place ---- */

static int read_whole(const char *path, char **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    size_t got;
    while (p && (got = fread(p + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *q = realloc(p, cap *= 2);
            if (!q)
                free(p);
            p = q;
        }
    }
    fclose(f);
    if (!p)
        return -1;
    *out = p;
    *n = len;
    return 0;
}

static void test_json_test_suite(void **state)
{
    TL_UNUSED(state);
    const char *dir = getenv("TALLY_JSON_TEST_SUITE");
    if (!dir || !*dir)
        dir = SUITE_DEFAULT;
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("json-test-suite directory %s not found (set TALLY_JSON_TEST_SUITE to the "
                 "JSONTestSuite test_parsing directory; run tests from the repository root)",
                 dir);
    int y = 0, yok = 0, nn = 0, nrej = 0, ii = 0, iacc = 0, bad = 0;
    tl_arena *a = tl_arena_new(1 << 16);
    assert_non_null(a);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t nl = strlen(name);
        if (nl < 7 || strcmp(name + nl - 5, ".json") != 0 || name[1] != '_')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        char *text = NULL;
        size_t len = 0;
        if (read_whole(path, &text, &len) != 0)
            fail_msg("cannot read %s", path);
        tl_json *v = NULL;
        tl_json_error err = {0};
        int rc = tl_json_parse(a, text, len, NULL, &v, &err);
        if (rc == 0) {
            /* whatever parses also re-serializes to something that parses the same way */
            char *out = write_compact(v);
            tl_json *v2;
            if (tl_json_parse(a, out, strlen(out), NULL, &v2, &err) != 0) {
                print_error("%s: re-serialized form does not parse: %s\n", name, err.msg);
                bad++;
            }
            free(out);
        }
        switch (name[0]) {
        case 'y':
            y++;
            if (rc == 0)
                yok++;
            else {
                print_error("%s: rejected a valid document: %s\n", name, err.msg);
                bad++;
            }
            break;
        case 'n':
            nn++;
            if (rc != 0) {
                nrej++;
                if (err.msg[0] == '\0' || err.offset > len) {
                    print_error("%s: bad error report\n", name);
                    bad++;
                }
            } else {
                print_error("%s: accepted an invalid document\n", name);
                bad++;
            }
            break;
        case 'i':
            ii++;
            iacc += rc == 0;
            break;
        default:
            break;
        }
        free(text);
        tl_arena_reset(a);
    }
    closedir(d);
    tl_arena_free(a);
    print_message("json-test-suite: %d y accepted, %d n rejected, %d i ran (%d accepted)\n", yok,
                  nrej, ii, iacc);
    assert_int_equal(bad, 0);
    assert_true(y > 0 && nn > 0);
    assert_int_equal(yok, y);
    assert_int_equal(nrej, nn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scalars_at_top, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wide_and_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test(test_write_string),
        cmocka_unit_test(test_write_numbers),
        cmocka_unit_test_setup_teardown(test_write_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
        cmocka_unit_test(test_json_test_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
