/*
 * query — the Stats API: request in, JSON answer out, no HTTP.
 *
 * What it is: the logic behind POST /api/v2/query (Plausible Stats API v2
 * shape, with tally's time:minute), GET /api/v2/realtime and GET /api/sites.
 * It validates a request, resolves its date range against `now`, reads the
 * tsdb under one consistent read and writes the JSON body. The HTTP layer maps
 * the returned status to the response.
 *
 * What it owns: nothing but its options; every call allocates in its own arena
 * and frees it before returning, so one tl_query may be used by any number of
 * threads at once.
 *
 * Supported now: metrics visitors, pageviews, events; dimensions none, "time"
 * (minute for ranges up to 6 h, hour up to 3 days, day beyond), time:minute,
 * time:hour, time:day; every date_range preset and explicit dates or date-times;
 * include.time_labels / total_rows; pagination; order_by. Filters and the other
 * Plausible metrics and dimensions answer 400 naming what is not supported yet.
 * All times are UTC.
 */
#ifndef TL_QUERY_H
#define TL_QUERY_H

#include "base/base.h"
#include "tsdb/tsdb.h"

typedef struct tl_query tl_query;

/* true: the site is configured (it may have no data yet). */
typedef bool (*tl_query_site_fn)(void *arg, const char *site, size_t len);

typedef struct {
    tl_tsdb *tsdb;
    tl_query_site_fn site_known; /* may be NULL: then only sites with data are known */
    void *site_arg;
    const char *const *sites; /* configured sites, listed by /api/sites even without data */
    size_t n_sites;
} tl_query_opts;

/* Most rows one answer may hold (pagination.limit and time buckets in the range). */
#define TL_QUERY_MAX_ROWS 10000
/* The window of "current visitors". */
#define TL_QUERY_REALTIME_WINDOW_S 300

int tl_query_new(const tl_query_opts *o, tl_query **out);
void tl_query_free(tl_query *q);

/* POST /api/v2/query. Appends the JSON body to out and returns the HTTP status: 200, or 400
 * with {"error":"..."} naming the problem (invalid JSON, missing site_id or metrics, unknown
 * metric / dimension / site, bad date_range, unsupported filters, too many rows), or 500 when
 * memory runs out. Thread-safe. */
int tl_query_stats(tl_query *q, const char *body, size_t len, int64_t now_ms, tl_buf *out);

/* GET /api/v2/realtime?site_id=...: appends
 * {"site_id":"x","visitors":N,"window_seconds":300,"as_of":"<RFC 3339>"} and returns 200, or
 * 400 {"error":"unknown site_id 'x'"}. Visitors are those with event time in the minutes
 * overlapping [now - 300 s, now] (minute granularity: up to 6 minutes are merged). */
int tl_query_realtime(tl_query *q, const char *site, size_t len, int64_t now_ms, tl_buf *out);

/* GET /api/sites: appends {"sites":["a","b"]} (configured sites and sites with data, sorted,
 * each once) and returns 200. */
int tl_query_sites(tl_query *q, tl_buf *out);

#endif
