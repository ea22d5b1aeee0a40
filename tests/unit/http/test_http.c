/* Unit tests for src/http over real loopback sockets with libcurl as the client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/http.h"

static int echo(void *arg, tl_http_req *req)
{
    size_t n;
    const char *body = tl_http_body(req, &n);
    tl_buf b;
    tl_buf_init(&b);
    const char *q = tl_http_query(req, "x");
    tl_buf_printf(&b, "%s %s x=%s ip=%s len=%zu:", tl_http_method(req), tl_http_path(req),
                  q ? q : "-", tl_http_client_ip(req), n);
    tl_buf_append(&b, body, n);
    tl_http_add_header(req, "X-Test", "yes");
    tl_http_respond(req, 200, "text/plain", b.ptr, b.len);
    tl_buf_deinit(&b);
    return TL_HTTP_DONE;
}

static void *answer_later(void *arg)
{
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    tl_http_respond(arg, 202, "text/plain", "later", 5);
    return NULL;
}

static int deferred(void *arg, tl_http_req *req)
{
    pthread_t t;
    pthread_create(&t, NULL, answer_later, req);
    pthread_detach(t);
    return TL_HTTP_DEFERRED;
}

static int immediate_deferred(void *arg, tl_http_req *req)
{
    /* answers before returning DEFERRED: the race the state machine must handle */
    tl_http_respond(req, 201, "text/plain", "now", 3);
    return TL_HTTP_DEFERRED;
}

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    tl_buf_append(arg, p, sz * n);
    return sz * n;
}

static long request(uint16_t port, const char *method, const char *path, const char *body,
                    size_t body_len, tl_buf *out, struct curl_slist *hdrs)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static tl_http *start(void)
{
    tl_http_opts o;
    tl_http_opts_default(&o);
    o.port = 0;
    o.max_body = 1000;
    tl_http *s;
    assert_int_equal(tl_http_new(&o, &s), 0);
    assert_int_equal(tl_http_route(s, "POST", "/echo", false, echo, NULL), 0);
    assert_int_equal(tl_http_route(s, "GET", "/echo", false, echo, NULL), 0);
    assert_int_equal(tl_http_route(s, "GET", "/later", false, deferred, NULL), 0);
    assert_int_equal(tl_http_route(s, "GET", "/now", false, immediate_deferred, NULL), 0);
    assert_int_equal(tl_http_route_limit(s, "POST", "/big/", true, 5000, echo, NULL), 0);
    assert_int_equal(tl_http_start(s), 0);
    assert_true(tl_http_port(s) > 0);
    return s;
}

static void test_routing(void **state)
{
    tl_http *s = start();
    uint16_t port = tl_http_port(s);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(request(port, "POST", "/echo?x=a%20b", "hello", 5, &b, NULL), 200);
    assert_string_equal(b.ptr, "POST /echo x=a b ip=127.0.0.1 len=5:hello");
    tl_buf_reset(&b);
    assert_int_equal(request(port, "GET", "/nope", NULL, 0, &b, NULL), 404);
    assert_non_null(strstr(b.ptr, "no such endpoint"));
    tl_buf_reset(&b);
    assert_int_equal(request(port, "DELETE", "/echo", NULL, 0, &b, NULL), 405);
    assert_non_null(strstr(b.ptr, "allowed: POST, GET"));
    tl_buf_reset(&b);
    assert_int_equal(request(port, "POST", "/big/x", "abc", 3, &b, NULL), 200);
    tl_buf_deinit(&b);
    tl_http_free(s);
}

static void test_body_limit(void **state)
{
    tl_http *s = start();
    uint16_t port = tl_http_port(s);
    char body[3000];
    memset(body, 'x', sizeof body);
    tl_buf b;
    tl_buf_init(&b);
    assert_int_equal(request(port, "POST", "/echo", body, 1001, &b, NULL), 413);
    assert_non_null(strstr(b.ptr, "limit of 1000 bytes (max_body_bytes)"));
    tl_buf_reset(&b);
    assert_int_equal(request(port, "POST", "/echo", body, 1000, &b, NULL), 200);
    tl_buf_reset(&b);
    /* chunked: no Content-Length, the limit applies while reading */
    struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    assert_int_equal(request(port, "POST", "/echo", body, sizeof body, &b, h), 413);
    curl_slist_free_all(h);
    tl_buf_reset(&b);
    assert_int_equal(request(port, "POST", "/big/route", body, sizeof body, &b, NULL), 200);
    tl_buf_deinit(&b);
    tl_http_free(s);
}

static void test_deferred(void **state)
{
    tl_http *s = start();
    uint16_t port = tl_http_port(s);
    tl_buf b;
    tl_buf_init(&b);
    for (int i = 0; i < 20; i++) {
        tl_buf_reset(&b);
        assert_int_equal(request(port, "GET", "/later", NULL, 0, &b, NULL), 202);
        assert_string_equal(b.ptr, "later");
        tl_buf_reset(&b);
        assert_int_equal(request(port, "GET", "/now", NULL, 0, &b, NULL), 201);
        assert_string_equal(b.ptr, "now");
    }
    tl_buf_deinit(&b);
    tl_http_free(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_deferred),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
