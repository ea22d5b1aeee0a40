/*
 * collect — the ingest front door: Segment's HTTP Tracking API.
 *
 * It owns the /v1/... endpoints (batch, track, page, screen, identify, group,
 * alias), write-key authentication, request and event limits, validation of
 * each event against the Segment spec, client-clock skew correction, retry
 * deduplication by messageId, and the dead-letter stream. Every valid event is
 * turned into a tl_event record and appended to the "events" journal; every
 * invalid one goes to the "deadletter" journal with a typed reason. The client
 * is answered only once both appends are durable.
 *
 * Usage (the server): tl_collect_open(&opts, &c); tl_collect_routes(c, http);
 * ... tl_collect_close(c) after the HTTP server stopped.
 * Threads: tl_collect_submit may be called from any number of threads.
 */
#ifndef TL_COLLECT_H
#define TL_COLLECT_H

#include "base/base.h"
#include "config/config.h"
#include "http/http.h"
#include "journal/journal.h"

typedef struct tl_collect tl_collect;

typedef struct {
    const tl_config *config; /* sites, write keys and limits; must outlive the collector */
    tl_journal *events;
    tl_journal *deadletter;
} tl_collect_opts;

/* Opens the collector; rebuilds the dedup set from the events journal (records received
 * within the dedup horizon) so retries after a crash are still recognised. */
int tl_collect_open(const tl_collect_opts *o, tl_collect **out);
void tl_collect_close(tl_collect *c);
/* Registers the /v1/... routes on the server. */
int tl_collect_routes(tl_collect *c, tl_http *http);

/* Dead-letter reasons. */
typedef enum {
    TL_DL_PARSE_ERROR = 0,
    TL_DL_SIZE_VIOLATION,
    TL_DL_TRACKER_PROTOCOL_VIOLATION,
    TL_DL_SCHEMA_VIOLATION,
    TL_DL_UNKNOWN_SITE,
    TL_DL__COUNT
} tl_dl_reason;
const char *tl_dl_reason_name(int reason);

/* One ingest request, independent of HTTP. */
typedef struct {
    int type;              /* TL_EV_* implied by the endpoint, or 0 for /v1/batch */
    const char *write_key; /* from HTTP Basic; may be NULL (then the body's writeKey) */
    size_t write_key_len;
    const char *body;
    size_t body_len;
    int64_t received_ms;
} tl_collect_input;

/* Called once with the HTTP status and JSON body to send. */
typedef void (*tl_collect_done_fn)(void *arg, int status, const char *body, size_t len);

/* Validates, deduplicates and appends; done fires when the answer is known (possibly
 * before this returns). */
void tl_collect_submit(tl_collect *c, const tl_collect_input *in, tl_collect_done_fn done,
                       void *arg);

/* Stops taking requests (new ones get 503, which SDKs retry) and waits up to timeout_ms
 * until every request in flight was answered. Returns the number still in flight. */
int tl_collect_drain(tl_collect *c, int timeout_ms);

typedef struct {
    uint64_t requests;
    uint64_t accepted;
    uint64_t duplicates;
    uint64_t rejected[TL_DL__COUNT];
    uint64_t dedup_entries;
    uint64_t dedup_early_rotations;
} tl_collect_stats;
void tl_collect_get_stats(tl_collect *c, tl_collect_stats *out);

#endif
