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
#include "enrich/enrich.h"
#include "journal/journal.h"
#include "schema/schema.h"

typedef struct tl_collect tl_collect;

typedef struct {
    const tl_config *config; /* sites, write keys and limits; must outlive the collector */
    tl_journal *events;
    tl_journal *deadletter;
    tl_registry *registry; /* schemas to validate against; NULL = none */
    tl_enrich *enrich;     /* user agent, geo-IP, referrer, cookieless ids; NULL = none */
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
    const char *client_ip; /* the peer's address (used for geo-IP when context.ip is absent) */
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

/* Which dead letters a listing or a replay is about. */
typedef struct {
    char site[256];         /* empty = every site */
    int reason;             /* tl_dl_reason, or -1 for every reason */
    int64_t from_ms, to_ms; /* received time in [from, to); 0 = open end */
    size_t limit;           /* listing: newest first, default 100, at most 1000 */
} tl_dl_query;

/* GET /api/v2/deadletters: appends
 * {"deadletters":[{"id":"0:12","replayed":false,...record...}],"counts":{reason:n},"total":n}
 * and returns the HTTP status. Counts cover every reason within the site and time filters. */
int tl_collect_deadletters(tl_collect *c, const tl_dl_query *q, tl_buf *out);

/* POST /api/v2/deadletters/replay: re-validates the matching dead letters that were not
 * replayed before (against the schemas as they are now) and appends those that pass, as new
 * events flagged TL_EVF_REPLAYED, with their original receive time. Those that pass are
 * marked in the dead-letter journal so they are never replayed again; their messageIds go
 * through the dedup set, so nothing is counted twice. Appends
 * {"replayed":n,"duplicates":n,"still_failing":n,"not_replayable":n,"failures":[...]}. */
int tl_collect_replay(tl_collect *c, const tl_dl_query *q, tl_buf *out);

/* `tally deadletters list|replay [flags]`: the two calls above over HTTP. */
int tl_collect_cli(int argc, char **argv);
/* `tally journal dump [--data DIR] [--stream events|deadletter]`: every record as a JSON line,
 * read from the journal files of a stopped server. */
int tl_collect_dump_cli(int argc, char **argv);

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
