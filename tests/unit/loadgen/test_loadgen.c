/*
 * Tests for src/loadgen/loadgen.c: flag parsing, response accounting, and whole
 * runs against a mock Segment endpoint (libmicrohttpd on an ephemeral loopback
 * port) that validates events the way the real collector does, answers
 * per-event errors, and counts TCP connections to check keep-alive reuse.
 * Assertions are on counts, never on elapsed time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "json/json.h"
#include "loadgen/gen.h"

/* ---- flags ---- */

static int parse(tl_loadgen__args *a, char *err, int argc, const char **argv)
{
    return tl_loadgen__parse_args(argc, (char **)argv, a, err, 200);
}

static void test_parse_defaults(void **state)
{
    (void)state;
    tl_loadgen__args a;
    char err[200];
    const char *argv[] = {"loadgen"};
    assert_int_equal(parse(&a, err, 1, argv), 0);
    assert_string_equal(a.opts.url, "http://127.0.0.1:8080");
    assert_int_equal(a.opts.n_sites, 3);
    assert_string_equal(a.opts.sites[0], "shop.example");
    assert_int_equal(a.opts.connections, 4);
    assert_int_equal(a.opts.batch, 1);
    assert_true(a.opts.late_frac == 0.02 && a.opts.dup_frac == 0.01 &&
                a.opts.invalid_frac == 0.005);
    assert_false(a.help);
}

static void test_parse_flags(void **state)
{
    (void)state;
    tl_loadgen__args a;
    char err[200];
    const char *argv[] = {"loadgen",  "--url",   "http://h:1", "--site",       "a",
                          "--site=b", "--rate",  "2000",       "--duration=3", "--connections",
                          "8",        "--batch", "10",         "--seed",       "0x10",
                          "--late",   "0.1",     "--dup=0.2",  "--invalid",    "0"};
    assert_int_equal(parse(&a, err, (int)TL_ARRAY_LEN(argv), argv), 0);
    assert_string_equal(a.opts.url, "http://h:1");
    assert_int_equal(a.opts.n_sites, 2);
    assert_string_equal(a.opts.sites[0], "a");
    assert_string_equal(a.opts.sites[1], "b");
    assert_true(a.opts.rate == 2000 && a.opts.duration_s == 3);
    assert_int_equal(a.opts.connections, 8);
    assert_int_equal(a.opts.batch, 10);
    assert_int_equal(a.opts.seed, 16);
    assert_true(a.opts.late_frac == 0.1 && a.opts.dup_frac == 0.2 && a.opts.invalid_frac == 0);
}

static void test_parse_errors(void **state)
{
    (void)state;
    tl_loadgen__args a;
    char err[200];
    const char *unknown[] = {"loadgen", "--bogus", "1"};
    assert_int_equal(parse(&a, err, 3, unknown), TL_EINVAL);
    assert_non_null(strstr(err, "--bogus"));
    const char *badnum[] = {"loadgen", "--rate", "fast"};
    assert_int_equal(parse(&a, err, 3, badnum), TL_EINVAL);
    assert_non_null(strstr(err, "--rate"));
    const char *missing[] = {"loadgen", "--batch"};
    assert_int_equal(parse(&a, err, 2, missing), TL_EINVAL);
    const char *range[] = {"loadgen", "--batch", "100000"};
    assert_int_equal(parse(&a, err, 3, range), TL_EINVAL);
    const char *frac[] = {"loadgen", "--late", "0.7", "--dup", "0.7"};
    assert_int_equal(parse(&a, err, 5, frac), TL_EINVAL);
    const char *url[] = {"loadgen", "--url", "ftp://x"};
    assert_int_equal(parse(&a, err, 3, url), TL_EINVAL);
    const char *stray[] = {"loadgen", "serve"};
    assert_int_equal(parse(&a, err, 2, stray), TL_EINVAL);
    const char *help[] = {"loadgen", "--help"};
    assert_int_equal(parse(&a, err, 2, help), 0);
    assert_true(a.help);
}

/* ---- accounting ---- */

static void test_account(void **state)
{
    (void)state;
    tl_loadgen_stats st;
    memset(&st, 0, sizeof(st));
    const char ok[] = "{\"success\":true}";
    tl_loadgen__account(true, 200, ok, sizeof(ok) - 1, 10, &st);
    const char part[] =
        "{\"success\":true,\"accepted\":8,\"rejected\":[{\"index\":1,\"reason\":"
        "\"x\",\"message\":\"y\"},{\"index\":5,\"reason\":\"x\",\"message\":\"z\"}]}";
    tl_loadgen__account(true, 200, part, sizeof(part) - 1, 10, &st);
    tl_loadgen__account(true, 400, "{}", 2, 1, &st);
    tl_loadgen__account(true, 503, "", 0, 10, &st);
    tl_loadgen__account(false, 0, NULL, 0, 10, &st);
    tl_loadgen__account(true, 429, "", 0, 10, &st);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.events_sent, 51);
    assert_int_equal(st.events_ok, 18);
    assert_int_equal(st.events_rejected, 3);
    assert_int_equal(st.http_errors, 3);
}

/* ---- a mock Segment endpoint ---- */

typedef struct {
    struct MHD_Daemon *d;
    uint16_t port;
    /* touched only by MHD's single internal thread while the daemon runs */
    uint64_t requests, events, rejected, connections, bad_auth, batch_requests, single_requests;
} mock;

typedef struct {
    tl_buf body;
} upload;

static bool event_ok(const tl_json *ev, const char **why)
{
    const tl_json *t = tl_json_get_string(ev, "type");
    const tl_json *ts = tl_json_get_string(ev, "timestamp");
    int64_t ms;
    if (!t)
        *why = "no type";
    else if (!tl_json_get_string(ev, "messageId"))
        *why = "no messageId";
    else if (!tl_json_get_string(ev, "anonymousId") && !tl_json_get_string(ev, "userId"))
        *why = "no anonymousId or userId";
    else if (strcmp(t->u.str, "track") == 0 && !tl_json_get_string(ev, "event"))
        *why = "track without event";
    else if (ts && tl_time_parse(ts->u.str, ts->len, &ms) != 0)
        *why = "bad timestamp";
    else
        return true;
    return false;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
                             size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    mock *m = cls;
    upload *u = *con_cls;
    if (!u) {
        u = tl_calloc(1, sizeof(*u));
        tl_buf_init(&u->body);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        tl_buf_append(&u->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    m->requests++;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    if (!user || !pass || pass[0] != '\0' || strstr(user, ".example") == NULL)
        m->bad_auth++;
    MHD_free(user);
    MHD_free(pass);
    if (strcmp(method, "POST") != 0)
        return reply(conn, 405, "{}", 2);

    tl_arena *a = tl_arena_new(1 << 16);
    tl_json *doc = NULL;
    tl_json_error err;
    if (tl_json_parse(a, u->body.ptr, u->body.len, NULL, &doc, &err) != 0) {
        tl_arena_free(a);
        return reply(conn, 400, "{\"success\":false}", 17);
    }
    tl_buf out;
    tl_buf_init(&out);
    unsigned status = 200;
    const char *why = NULL;
    if (strcmp(url, "/v1/batch") == 0) {
        m->batch_requests++;
        const tl_json *batch = tl_json_get(doc, "batch");
        uint32_t n = batch ? batch->len : 0, bad = 0;
        tl_buf rej;
        tl_buf_init(&rej);
        for (uint32_t i = 0; i < n; i++) {
            if (!event_ok(&batch->u.items[i], &why)) {
                tl_buf_printf(&rej,
                              "%s{\"index\":%u,\"reason\":\"tracker_protocol_violation\","
                              "\"message\":\"%s\"}",
                              bad ? "," : "", i, why);
                bad++;
            }
        }
        m->events += n;
        m->rejected += bad;
        if (bad)
            tl_buf_printf(&out, "{\"success\":true,\"accepted\":%u,\"rejected\":[%s]}", n - bad,
                          rej.ptr);
        else
            tl_buf_puts(&out, "{\"success\":true}");
        tl_buf_deinit(&rej);
    } else {
        m->single_requests++;
        m->events++;
        const tl_json *t = tl_json_get_string(doc, "type");
        if (!t || strncmp(url, "/v1/", 4) != 0 || strcmp(url + 4, t->u.str) != 0) {
            status = 404;
            tl_buf_puts(&out, "{}");
        } else if (!event_ok(doc, &why)) {
            m->rejected++;
            status = 400;
            tl_buf_printf(&out, "{\"success\":false,\"message\":\"%s\"}", why);
        } else {
            tl_buf_puts(&out, "{\"success\":true}");
        }
    }
    enum MHD_Result ret = reply(conn, status, out.ptr, out.len);
    tl_buf_deinit(&out);
    tl_arena_free(a);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    upload *u = *con_cls;
    if (u) {
        tl_buf_deinit(&u->body);
        tl_free(u);
        *con_cls = NULL;
    }
}

static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    mock *m = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        m->connections++;
}

static void mock_start(mock *m)
{
    memset(m, 0, sizeof(*m));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle,
                            m, MHD_OPTION_NOTIFY_COMPLETED, completed, m,
                            MHD_OPTION_NOTIFY_CONNECTION, notify_conn, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_END);
    assert_non_null(m->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    m->port = info->port;
    assert_true(m->port > 0);
}

static void mock_stop(mock *m)
{
    MHD_stop_daemon(m->d);
}

static const char *const SITES[] = {"shop.example", "blog.example", "docs.example"};

static void run_against_mock(int batch, double rate, tl_loadgen_stats *st, mock *m)
{
    mock_start(m);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)m->port);
    tl_loadgen_opts o;
    tl_loadgen_opts_default(&o);
    o.url = url;
    o.sites = SITES;
    o.n_sites = 3;
    o.batch = batch;
    o.rate = rate;
    o.duration_s = 0.4;
    o.connections = 3;
    o.seed = 77;
    /* many faults so that a short run sees each kind */
    o.invalid_frac = 0.05;
    o.dup_frac = 0.05;
    o.late_frac = 0.05;
    assert_int_equal(tl_loadgen_run(&o, st), 0);
    mock_stop(m);
}

static void check_books(const tl_loadgen_stats *st, const mock *m, int batch)
{
    assert_true(st->requests > 0);
    assert_int_equal(st->http_errors, 0);
    assert_int_equal(m->bad_auth, 0);
    /* what the loadgen booked is what the server saw */
    assert_int_equal(st->requests, m->requests);
    assert_int_equal(st->events_sent, m->events);
    assert_int_equal(st->events_sent, st->requests * (uint64_t)batch);
    assert_int_equal(st->events_rejected, m->rejected);
    /* exactly the injected invalid events were rejected */
    assert_int_equal(st->events_rejected, st->invalid_sent);
    assert_int_equal(st->events_ok, st->events_sent - st->invalid_sent);
    /* keep-alive: no more TCP connections than configured */
    assert_true(m->connections >= 1 && m->connections <= 3);
}

static void test_run_batch(void **state)
{
    (void)state;
    tl_loadgen_stats st;
    mock m;
    run_against_mock(20, 0, &st, &m);
    check_books(&st, &m, 20);
    assert_int_equal(m.single_requests, 0);
    assert_true(st.invalid_sent > 0);
    assert_true(st.duplicates_sent > 0);
    assert_true(st.late_sent > 0);
}

static void test_run_single(void **state)
{
    (void)state;
    tl_loadgen_stats st;
    mock m;
    run_against_mock(1, 0, &st, &m);
    check_books(&st, &m, 1);
    assert_int_equal(m.batch_requests, 0);
}

static void test_run_paced(void **state)
{
    (void)state;
    tl_loadgen_stats st;
    mock m;
    run_against_mock(10, 200, &st, &m);
    check_books(&st, &m, 10);
    /* the bucket never lets out more than its burst plus the rate over the run */
    assert_true((double)st.events_sent <= 10 + 200 * st.seconds + 10);
}

static void test_run_stop_and_errors(void **state)
{
    (void)state;
    tl_loadgen_opts o;
    tl_loadgen_stats st;
    tl_loadgen_opts_default(&o);
    assert_int_equal(tl_loadgen_run(&o, &st), TL_EINVAL); /* no url */
    o.url = "http://127.0.0.1:1";
    o.sites = SITES;
    o.n_sites = 1;
    assert_int_equal(tl_loadgen_run(&o, &st), TL_EINVAL); /* would never stop */
    volatile int stop = 1;
    o.stop = &stop;
    assert_int_equal(tl_loadgen_run(&o, &st), 0);
    assert_int_equal(st.requests, 0);

    /* nobody listens on port 1: every request fails, with backoff between tries */
    stop = 0;
    o.stop = NULL;
    o.duration_s = 0.3;
    o.rate = 0;
    o.connections = 2;
    assert_int_equal(tl_loadgen_run(&o, &st), 0);
    assert_true(st.http_errors > 0);
    assert_int_equal(st.http_errors, st.requests);
    assert_int_equal(st.events_ok, 0);
    /* 2 connections, one try per 100 ms each, for 0.3 s: a handful, not thousands */
    assert_true(st.requests <= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults), cmocka_unit_test(test_parse_flags),
        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_account),
        cmocka_unit_test(test_run_batch),      cmocka_unit_test(test_run_single),
        cmocka_unit_test(test_run_paced),      cmocka_unit_test(test_run_stop_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
