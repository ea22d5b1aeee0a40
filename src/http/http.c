/*
 * The HTTP server: a thin layer over libmicrohttpd (MHD).
 *
 * MHD runs a pool of epoll threads (one per CPU by default) and calls
 * on_access() several times per request: once when the headers are in, once
 * per chunk of body, and once more with no data when the body is complete.
 * We route on the first call (so 404/405/413 can be answered before reading a
 * body), collect the body into a buffer capped by the route's limit, and run
 * the handler on the last call.
 *
 * Deferred answers. The ingest handler appends to the journal and must answer
 * only once the append is durable, which happens on the journal's commit
 * thread a few milliseconds later. Blocking the server thread meanwhile would
 * cap throughput at threads / commit latency, so the request is suspended
 * (MHD_suspend_connection) and resumed when the answer is ready. The answer
 * can arrive before the handler's thread got round to suspending, so a small
 * state machine decides who resumes:
 *
 *     RUNNING --respond--> READY              (answer came first; on_access
 *        |                                     suspends, sees READY, resumes)
 *        +--on_access suspends--> SUSPENDED --respond--> READY + resume
 *
 * After resumption MHD calls on_access again; it queues the stored answer.
 *
 * Limits: every route has a body limit (default 512000 bytes, Segment's
 * 500 KB). A Content-Length over it is answered 413 before reading the body;
 * a chunked body that grows past it is dropped as it arrives and answered 413
 * at its end (MHD cannot answer mid-body).
 */
#include "http/http.h"

#include "json/json.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROUTES  64
#define MAX_HEADERS 8

typedef struct {
    char method[8];
    char path[96];
    size_t path_len;
    bool prefix;
    size_t max_body;
    tl_http_handler fn;
    tl_http_oversize_fn oversize; /* told about bodies over max_body before the 413 */
    void *arg;
} route;

struct tl_http {
    tl_http_opts opts;
    char host[64];
    struct MHD_Daemon *daemon;
    uint16_t port;
    route routes[MAX_ROUTES];
    size_t n_routes;
};

enum { ST_RUNNING = 0, ST_SUSPENDED = 1, ST_READY = 2 };

struct tl_http_req {
    tl_http *srv;
    struct MHD_Connection *conn;
    const route *route;
    const char *method;
    char *path;     /* owned, decoded, without the query string */
    char *raw_path; /* owned, as sent (still percent-encoded), without the query string */
    tl_buf body;
    size_t seen; /* body bytes received, kept or not */
    tl_arena *arena;
    char ip[INET6_ADDRSTRLEN];
    int64_t received_ms;
    void *user;
    bool handled;
    bool answered; /* a response was queued on this connection */
    /* the answer */
    atomic_int state;
    atomic_bool has_answer;
    int status;
    char content_type[64];
    tl_buf answer;
    char *hdr_name[MAX_HEADERS];
    char *hdr_value[MAX_HEADERS];
    int n_hdr;
};

void tl_http_opts_default(tl_http_opts *o)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->threads = n > 0 ? (unsigned)n : 2;
    o->max_body = 512000;
    o->max_conns = 10000;
    o->timeout_s = 60;
}

int tl_http_new(const tl_http_opts *o, tl_http **out)
{
    tl_http *s = tl_calloc(1, sizeof *s);
    if (!s)
        return TL_ENOMEM;
    s->opts = *o;
    snprintf(s->host, sizeof s->host, "%s", o->host ? o->host : "127.0.0.1");
    s->opts.host = s->host;
    *out = s;
    return 0;
}

int tl_http_route_limit(tl_http *s, const char *method, const char *path, bool prefix,
                        size_t max_body, tl_http_handler fn, void *arg)
{
    if (s->n_routes == MAX_ROUTES || strlen(path) >= sizeof s->routes[0].path ||
        strlen(method) >= sizeof s->routes[0].method)
        return TL_ELIMIT;
    route *r = &s->routes[s->n_routes++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->path_len = strlen(path);
    r->prefix = prefix;
    r->max_body = max_body ? max_body : s->opts.max_body;
    r->fn = fn;
    r->arg = arg;
    return 0;
}

int tl_http_route(tl_http *s, const char *method, const char *path, bool prefix, tl_http_handler fn,
                  void *arg)
{
    return tl_http_route_limit(s, method, path, prefix, 0, fn, arg);
}

int tl_http_route_oversize(tl_http *s, const char *method, const char *path, tl_http_oversize_fn fn)
{
    for (size_t i = 0; i < s->n_routes; i++) {
        route *r = &s->routes[i];
        if (strcmp(r->method, method) == 0 && strcmp(r->path, path) == 0) {
            r->oversize = fn;
            return 0;
        }
    }
    return TL_ENOTFOUND;
}

static bool path_matches(const route *r, const char *path)
{
    if (r->prefix)
        return strncmp(path, r->path, r->path_len) == 0;
    return strcmp(path, r->path) == 0;
}

/* The route for method+path. Exact routes come first: when the path has exact routes but none
 * for this method, *allow lists their methods (a 405) and no prefix route is tried, so a
 * catch-all "/" does not turn "GET /v1/track" into a 404. */
static const route *find_route(const tl_http *s, const char *method, const char *path,
                               tl_buf *allow)
{
    bool head = strcmp(method, "HEAD") == 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < s->n_routes; i++) {
            const route *r = &s->routes[i];
            if (r->prefix != (pass == 1) || !path_matches(r, path))
                continue;
            if (strcmp(r->method, method) == 0 || (head && strcmp(r->method, "GET") == 0))
                return r;
            if (pass == 0) {
                if (allow->len)
                    tl_buf_puts(allow, ", ");
                tl_buf_puts(allow, r->method);
            }
        }
        if (allow->len)
            return NULL;
    }
    return NULL;
}

static void queue_answer(tl_http_req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->answer.len, r->answer.len ? r->answer.ptr : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return;
    if (r->content_type[0])
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    for (int i = 0; i < r->n_hdr; i++)
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
    MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->answered = true;
}

static void req_free(tl_http_req *r)
{
    tl_buf_deinit(&r->body);
    tl_buf_deinit(&r->answer);
    tl_arena_free(r->arena);
    for (int i = 0; i < r->n_hdr; i++) {
        tl_free(r->hdr_name[i]);
        tl_free(r->hdr_value[i]);
    }
    tl_free(r->path);
    tl_free(r->raw_path);
    tl_free(r);
}

/* MHD calls this with the URI exactly as sent, before it decodes it, and keeps what it returns
 * as the request's context: the raw path is what lets "a%2Fb" stay one path segment. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    tl_http_req *r = tl_calloc(1, sizeof *r);
    if (r) {
        const char *q = strchr(uri, '?');
        r->raw_path = tl_strndup(uri, q ? (size_t)(q - uri) : strlen(uri));
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    tl_http_req *r = *con_cls;
    if (r) {
        *con_cls = NULL;
        /* A deferred request whose connection died still gets its answer call; it must
         * not touch a freed request. Requests are only freed once answered. */
        if (atomic_load(&r->has_answer) || !r->handled)
            req_free(r);
        else
            r->conn = NULL; /* tl_http_respond frees it */
    }
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

static enum MHD_Result respond_now(tl_http_req *r, int status, const char *msg, const char *allow)
{
    if (allow)
        tl_http_add_header(r, "Allow", allow);
    tl_http_respond_error(r, status, msg);
    queue_answer(r);
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    tl_http *s = cls;
    tl_http_req *r = *con_cls;
    if (!r)
        return MHD_NO; /* on_uri always runs first; without it memory ran out */
    if (!r->srv) {
        r->srv = s;
        r->conn = conn;
        r->method = method;
        r->received_ms = tl_now_ms();
        const char *q = strchr(url, '?');
        r->path = tl_strndup(url, q ? (size_t)(q - url) : strlen(url));
        tl_buf_init(&r->body);
        tl_buf_init(&r->answer);
        if (!r->path || !r->raw_path)
            return MHD_NO;
        client_ip(conn, r->ip, sizeof r->ip);
        tl_buf allow;
        tl_buf_init(&allow);
        r->route = find_route(s, method, r->path, &allow);
        enum MHD_Result res = MHD_YES;
        if (!r->route && allow.len) {
            char msg[160];
            snprintf(msg, sizeof msg, "method %s is not allowed on %s; allowed: %s", method,
                     r->path, allow.ptr);
            res = respond_now(r, 405, msg, allow.ptr);
        } else if (!r->route) {
            char msg[160];
            snprintf(msg, sizeof msg, "no such endpoint: %s %.100s", method, r->path);
            res = respond_now(r, 404, msg, NULL);
        } else {
            const char *cl =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > r->route->max_body) {
                char msg[160];
                snprintf(msg, sizeof msg,
                         "request body of %s bytes exceeds the limit of %zu bytes (max_body_bytes)",
                         cl, r->route->max_body);
                if (r->route->oversize)
                    r->route->oversize(r->route->arg, r, (size_t)strtoull(cl, NULL, 10));
                res = respond_now(r, 413, msg, NULL);
            }
        }
        tl_buf_deinit(&allow);
        return res;
    }
    if (r->answered) {
        *upload_data_size = 0; /* an early answer (404/413): drop whatever body follows */
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* MHD cannot queue an answer in the middle of a body, so an oversized chunked body
         * is read and dropped, then answered 413; past 16 times the limit the connection
         * is simply closed. */
        r->seen += *upload_data_size;
        if (r->seen > r->route->max_body) {
            *upload_data_size = 0;
            return r->seen > 16 * r->route->max_body ? MHD_NO : MHD_YES;
        }
        if (tl_buf_append(&r->body, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->seen > r->route->max_body) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "request body of %zu bytes exceeds the limit of %zu bytes (max_body_bytes)",
                 r->seen, r->route->max_body);
        if (r->route->oversize)
            r->route->oversize(r->route->arg, r, r->seen);
        return respond_now(r, 413, msg, NULL);
    }
    if (r->handled) {
        /* resumed: the answer is there */
        if (atomic_load(&r->has_answer))
            queue_answer(r);
        return MHD_YES;
    }
    r->handled = true;
    int how = r->route->fn(r->route->arg, r);
    if (how == TL_HTTP_DONE || atomic_load(&r->state) == ST_READY) {
        if (atomic_load(&r->has_answer)) {
            queue_answer(r);
            return MHD_YES;
        }
    }
    if (how == TL_HTTP_DONE) {
        /* the handler forgot to answer: that is our bug, not the client's */
        return respond_now(r, 500, "internal error: handler sent no response", NULL);
    }
    MHD_suspend_connection(conn);
    int old = atomic_exchange(&r->state, ST_SUSPENDED);
    if (old == ST_READY)
        MHD_resume_connection(conn);
    return MHD_YES;
}

int tl_http_start(tl_http *s)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(s->opts.port);
    if (inet_pton(AF_INET, s->host, &sin.sin_addr) != 1) {
        tl_log(TL_LOG_ERROR, "listen address '%s' is not an IPv4 address", s->host);
        return TL_EINVAL;
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    s->daemon = MHD_start_daemon(
        flags, s->opts.port, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, &sin,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(s->opts.threads ? s->opts.threads : 1),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opts.timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)s->opts.max_conns, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!s->daemon) {
        tl_log(TL_LOG_ERROR, "cannot listen on %s:%u", s->host, s->opts.port);
        return TL_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->opts.port;
    return 0;
}

uint16_t tl_http_port(const tl_http *s)
{
    return s->port;
}

void tl_http_quiesce(tl_http *s)
{
    if (s->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

void tl_http_free(tl_http *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    tl_free(s);
}

const char *tl_http_method(const tl_http_req *r)
{
    return r->method;
}

const char *tl_http_path(const tl_http_req *r)
{
    return r->path;
}

const char *tl_http_raw_path(const tl_http_req *r)
{
    return r->raw_path;
}

const char *tl_http_body(const tl_http_req *r, size_t *len)
{
    *len = r->body.len;
    return r->body.ptr ? r->body.ptr : "";
}

const char *tl_http_header(tl_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *tl_http_query(tl_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *tl_http_client_ip(const tl_http_req *r)
{
    return r->ip;
}

int64_t tl_http_received_ms(const tl_http_req *r)
{
    return r->received_ms;
}

tl_arena *tl_http_arena(tl_http_req *r)
{
    if (!r->arena) /* made on first use: most handlers never ask */
        r->arena = tl_arena_new(16384);
    return r->arena;
}

void tl_http_set_user(tl_http_req *r, void *p)
{
    r->user = p;
}

void *tl_http_get_user(const tl_http_req *r)
{
    return r->user;
}

int tl_http_add_header(tl_http_req *r, const char *name, const char *value)
{
    if (r->n_hdr == MAX_HEADERS)
        return TL_ELIMIT;
    r->hdr_name[r->n_hdr] = tl_strndup(name, strlen(name));
    r->hdr_value[r->n_hdr] = tl_strndup(value, strlen(value));
    if (!r->hdr_name[r->n_hdr] || !r->hdr_value[r->n_hdr]) {
        tl_free(r->hdr_name[r->n_hdr]);
        tl_free(r->hdr_value[r->n_hdr]);
        return TL_ENOMEM;
    }
    r->n_hdr++;
    return 0;
}

void tl_http_respond(tl_http_req *r, int status, const char *content_type, const char *body,
                     size_t len)
{
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", content_type ? content_type : "");
    tl_buf_reset(&r->answer);
    if (tl_buf_append(&r->answer, body, len)) {
        r->status = 500;
        r->answer.len = 0;
    }
    atomic_store(&r->has_answer, true);
    int old = atomic_exchange(&r->state, ST_READY);
    if (old == ST_SUSPENDED) {
        if (r->conn)
            MHD_resume_connection(r->conn);
        else
            req_free(r); /* the client went away while we waited */
    }
}

void tl_http_respond_error(tl_http_req *r, int status, const char *msg)
{
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_puts(&b, "{\"error\":");
    tl_json_write_string(&b, msg, strlen(msg));
    tl_buf_putc(&b, '}');
    tl_http_respond(r, status, "application/json", b.ptr ? b.ptr : "", b.len);
    tl_buf_deinit(&b);
}
