/*
 * http — tally's HTTP server: libmicrohttpd underneath, routing, request
 * bodies with an explicit size limit, and responses that may be sent later
 * from another thread (the ingest path answers only once the journal says the
 * events are durable, without blocking a server thread meanwhile).
 *
 * Usage:
 *   tl_http_opts o; tl_http_opts_default(&o); o.host = "127.0.0.1"; o.port = 0;
 *   tl_http_new(&o, &srv);
 *   tl_http_route(srv, "POST", "/v1/batch", false, handler, arg);
 *   tl_http_start(srv);           // listening; tl_http_port(srv) tells the port
 *   ...
 *   tl_http_free(srv);            // stops, after every deferred request was answered
 *
 * A handler runs on a server thread. It either answers at once with
 * tl_http_respond() and returns TL_HTTP_DONE, or returns TL_HTTP_DEFERRED and
 * calls tl_http_respond() exactly once later, from any thread.
 */
#ifndef TL_HTTP_H
#define TL_HTTP_H

#include "base/base.h"

typedef struct tl_http tl_http;
typedef struct tl_http_req tl_http_req;

enum { TL_HTTP_DONE = 0, TL_HTTP_DEFERRED = 1 };

typedef int (*tl_http_handler)(void *arg, tl_http_req *req);

typedef struct {
    const char *host;   /* default "127.0.0.1" */
    uint16_t port;      /* 0 picks a free one */
    unsigned threads;   /* server threads; default: number of CPUs */
    size_t max_body;    /* default limit for request bodies; default 512000 */
    unsigned max_conns; /* default 10000 */
    unsigned timeout_s; /* idle keep-alive timeout; default 60 */
} tl_http_opts;

void tl_http_opts_default(tl_http_opts *o);
int tl_http_new(const tl_http_opts *o, tl_http **out);
/* Registers a handler for method + path. prefix: path is a prefix ("/subjects/").
 * max_body: 0 means the server's default. The first matching route wins. */
int tl_http_route(tl_http *s, const char *method, const char *path, bool prefix, tl_http_handler fn,
                  void *arg);
/* Like tl_http_route with an explicit body limit for this route. */
int tl_http_route_limit(tl_http *s, const char *method, const char *path, bool prefix,
                        size_t max_body, tl_http_handler fn, void *arg);
/* Called (on a server thread, with the route's arg) when a request's body is over the route's
 * limit, just before the server answers 413 itself: the body is not read, the headers are
 * there. size is the announced Content-Length or what arrived. It must not respond. */
typedef void (*tl_http_oversize_fn)(void *arg, tl_http_req *req, size_t size);
/* Sets the oversize hook of the route registered for method + path. TL_ENOTFOUND if none. */
int tl_http_route_oversize(tl_http *s, const char *method, const char *path,
                           tl_http_oversize_fn fn);
int tl_http_start(tl_http *s);
uint16_t tl_http_port(const tl_http *s);
/* Stops accepting new connections (deferred requests can still be answered). */
void tl_http_quiesce(tl_http *s);
void tl_http_free(tl_http *s);

/* ---- the request ---- */
const char *tl_http_method(const tl_http_req *r);
const char *tl_http_path(const tl_http_req *r);     /* decoded, without the query string */
const char *tl_http_raw_path(const tl_http_req *r); /* as sent: still percent-encoded */
const char *tl_http_body(const tl_http_req *r, size_t *len);
const char *tl_http_header(tl_http_req *r, const char *name); /* NULL when absent */
const char *tl_http_query(tl_http_req *r, const char *name);  /* decoded ?name=value */
/* The peer's address as text ("127.0.0.1", "::1"). */
const char *tl_http_client_ip(const tl_http_req *r);
int64_t tl_http_received_ms(const tl_http_req *r);
/* An arena that lives as long as the request (made on first call; NULL when memory ran
 * out). */
tl_arena *tl_http_arena(tl_http_req *r);
/* Per-request slot for the handler's own state (freed by the handler's own code). */
void tl_http_set_user(tl_http_req *r, void *p);
void *tl_http_get_user(const tl_http_req *r);

/* ---- the response ---- */
/* Adds a header to the coming response (copied). Call before tl_http_respond. */
int tl_http_add_header(tl_http_req *r, const char *name, const char *value);
/* Sends status + body (copied). Call exactly once per request, from any thread. */
void tl_http_respond(tl_http_req *r, int status, const char *content_type, const char *body,
                     size_t len);
/* {"error": msg} with the given status. */
void tl_http_respond_error(tl_http_req *r, int status, const char *msg);

#endif
