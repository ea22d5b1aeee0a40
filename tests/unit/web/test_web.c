/*
 * Tests for src/web/web.c over the table generated from the real web/dist/:
 * path lookup ("/" → index, query strings, misses), the table's sort order
 * (tl_web_find binary-searches it), content types, and that every ETag is the
 * FNV-1a hash of the bytes it stands for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "web/web.h"

static const tl_web_asset *find_s(const char *path)
{
    return tl_web_find(path, strlen(path));
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static int has(const tl_web_asset *a, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= a->len; i++) {
        if (memcmp(a->data + i, needle, n) == 0)
            return 1;
    }
    return 0;
}

static void test_root_is_index(void **state)
{
    (void)state;
    const tl_web_asset *idx = find_s("/index.html");

    assert_non_null(idx);
    assert_string_equal(idx->path, "/index.html");
    assert_string_equal(idx->content_type, "text/html; charset=utf-8");
    assert_ptr_equal(find_s("/"), idx);
    assert_ptr_equal(tl_web_find("", 0), idx);
    assert_ptr_equal(tl_web_find(NULL, 0), idx);
    assert_ptr_equal(find_s("/?site=x"), idx);
    assert_true(idx->len > 100);
    assert_memory_equal(idx->data, "<!doctype html>", 15);
    /* the elements the e2e test and users rely on */
    assert_true(has(idx, "id=\"site-picker\""));
    assert_true(has(idx, "id=\"current-visitors\""));
    assert_true(has(idx, "id=\"chart\""));
    /* nothing from another host */
    assert_false(has(idx, "src=\"http"));
    assert_false(has(idx, "href=\"http"));
    assert_false(has(idx, "=\"//"));
}

static void test_assets_and_types(void **state)
{
    (void)state;
    const tl_web_asset *js = find_s("/app.js");
    const tl_web_asset *css = find_s("/style.css");
    const tl_web_asset *up = find_s("/vendor/uplot.min.js");
    const tl_web_asset *upcss = find_s("/vendor/uplot.min.css");
    const tl_web_asset *icon = find_s("/favicon.svg");

    assert_non_null(js);
    assert_non_null(css);
    assert_non_null(up);
    assert_non_null(upcss);
    assert_non_null(icon);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(css->content_type, "text/css; charset=utf-8");
    assert_string_equal(up->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(upcss->content_type, "text/css; charset=utf-8");
    assert_string_equal(icon->content_type, "image/svg+xml");
    assert_true(has(up, "uPlot"));
    /* a cache-busting query or a fragment is not part of the path */
    assert_ptr_equal(find_s("/app.js?v=0123456789ab"), js);
    assert_ptr_equal(find_s("/app.js#x"), js);
    /* (ptr, len): only len bytes count */
    assert_ptr_equal(tl_web_find("/app.jsXYZ", 7), js);
}

static void test_misses(void **state)
{
    (void)state;
    assert_null(find_s("/nope"));
    assert_null(find_s("/app"));
    assert_null(find_s("/app.js/"));
    assert_null(find_s("/APP.JS"));
    assert_null(find_s("app.js"));
    assert_null(find_s("/.built"));
    assert_null(find_s("/vendor"));
    assert_null(find_s("/vendor/"));
    assert_null(find_s("/../index.html"));
    assert_null(find_s("//index.html"));
    assert_null(find_s("/index.html\x01"));
    assert_null(find_s("/zzzz"));
    assert_null(find_s("/\x7f"));
    assert_null(tl_web_at(tl_web_count()));
}

static void test_table_sorted_and_etags(void **state)
{
    (void)state;
    size_t n = tl_web_count();

    assert_true(n >= 6);
    for (size_t i = 0; i < n; i++) {
        const tl_web_asset *a = tl_web_at(i);
        char want[24];

        assert_non_null(a);
        assert_int_equal(a->path[0], '/');
        if (i > 0)
            assert_true(strcmp(tl_web_at(i - 1)->path, a->path) < 0);
        /* every entry is findable by its own path */
        assert_ptr_equal(find_s(a->path), a);
        snprintf(want, sizeof(want), "\"%016llx\"", (unsigned long long)fnv1a64(a->data, a->len));
        assert_string_equal(a->etag, want);
    }
    /* different bytes, different validators */
    assert_string_not_equal(find_s("/app.js")->etag, find_s("/style.css")->etag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_is_index),
        cmocka_unit_test(test_assets_and_types),
        cmocka_unit_test(test_misses),
        cmocka_unit_test(test_table_sorted_and_etags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
