/*
 * tsdb — pre-aggregated time series of site traffic (memory tier).
 *
 * What it owns: for every site that sent events, three series of buckets —
 * per UTC minute (kept for a horizon, default 48 h), per UTC hour and per UTC
 * day (default 400 days). Each bucket holds the pageview count, the event count
 * and a HyperLogLog sketch of the distinct visitors. An event updates its
 * minute, hour and day bucket at once, so a long range is answered from few
 * day buckets and an hour or day value is an exact register-wise merge of its
 * minutes (same registers, not an approximation of an approximation).
 *
 * Semantics (event time, ev.ts_ms, decides the bucket):
 *   pageviews = page + screen events
 *   events    = track + page + screen events (identify/group/alias count nowhere)
 *   visitors  = distinct ev.visitor over those events
 * Events flagged TL_EVF_BOT (crawlers, scripts) count nowhere, as in Plausible: a crawler's
 * pageviews are not traffic. They stay in the journal, flagged, for whoever wants them.
 *
 * How it is used: the stream thread is the only writer (tl_tsdb_add); query
 * threads read (tl_tsdb_query, tl_tsdb_realtime, tl_tsdb_sites). One
 * writer-preferring rwlock makes every read call see one consistent state.
 * tl_tsdb_snapshot / tl_tsdb_restore turn the whole state into bytes and back
 * (the stream module puts them into its checkpoints).
 *
 * The HyperLogLog used by the buckets is public too (tl_tsdb_hll_*) so other
 * readers can merge sketches without double counting.
 */
#ifndef TL_TSDB_H
#define TL_TSDB_H

#include "base/base.h"
#include "event/event.h"

/* ---- HyperLogLog: precision 14 (16384 registers, standard error 0.81%) ---- */
#define TL_TSDB_HLL_P         14
#define TL_TSDB_HLL_REGISTERS (1u << TL_TSDB_HLL_P)
/* Register values are 0..TL_TSDB_HLL_MAX_RHO (64 - p + 1). */
#define TL_TSDB_HLL_MAX_RHO (64 - TL_TSDB_HLL_P + 1)
/* A sparse sketch turns dense past this many non-zero registers (4 bytes each). */
#define TL_TSDB_HLL_SPARSE_MAX 2048

/* A sketch in caller storage. Fields are private; use the functions. Not thread-safe. */
typedef struct {
    uint8_t dense;    /* 0: sparse list, 1: 16384 one-byte registers */
    uint32_t n;       /* sparse: entries in use */
    uint32_t cap;     /* sparse: entries allocated */
    uint32_t *sparse; /* sorted by register index; entry = index << 8 | value */
    uint8_t *regs;    /* dense registers */
} tl_tsdb_hll;

void tl_tsdb_hll_init(tl_tsdb_hll *h); /* empty, sparse, allocates nothing */
void tl_tsdb_hll_deinit(tl_tsdb_hll *h);
void tl_tsdb_hll_clear(tl_tsdb_hll *h); /* back to empty sparse, frees memory */
/* Adds a 64-bit item (already an id; it is mixed with a 64-bit finalizer first).
 * Returns 0, or TL_ENOMEM (the sketch is unchanged then). */
int tl_tsdb_hll_add(tl_tsdb_hll *h, uint64_t item);
/* dst = register-wise max(dst, src). Returns 0 or TL_ENOMEM. */
int tl_tsdb_hll_merge(tl_tsdb_hll *dst, const tl_tsdb_hll *src);
/* Cardinality estimate (Ertl's improved estimator: good from 0 to far beyond 1e9). */
double tl_tsdb_hll_estimate(const tl_tsdb_hll *h);
/* Rounded estimate; exact 0 for an empty sketch. */
uint64_t tl_tsdb_hll_count(const tl_tsdb_hll *h);
/* Writes the TL_TSDB_HLL_REGISTERS register values into regs. */
void tl_tsdb_hll_registers(const tl_tsdb_hll *h, uint8_t *regs);
bool tl_tsdb_hll_is_dense(const tl_tsdb_hll *h);
size_t tl_tsdb_hll_bytes(const tl_tsdb_hll *h); /* heap bytes held */
/* Appends the serialized sketch (format in hll.c). */
int tl_tsdb_hll_encode(const tl_tsdb_hll *h, tl_buf *out);
/* Reads a sketch from [*p, end) into h (which must be empty); advances *p.
 * Returns 0, TL_ECORRUPT or TL_ENOMEM. */
int tl_tsdb_hll_decode(tl_tsdb_hll *h, const uint8_t **p, const uint8_t *end);

/* ---- the store ---- */
typedef struct tl_tsdb tl_tsdb;

#define TL_TSDB_MINUTE_MS 60000LL
#define TL_TSDB_HOUR_MS   3600000LL
#define TL_TSDB_DAY_MS    86400000LL

typedef struct {
    uint32_t minute_horizon; /* minutes kept per site; default 2880 (48 h) */
    uint32_t rollup_days;    /* hour and day buckets kept; default 400 */
    /* Events whose time is this far ahead of their receive time are dropped (a broken
     * device clock would otherwise evict current buckets); default 1 h. */
    int64_t max_future_ms;
} tl_tsdb_opts;

void tl_tsdb_opts_default(tl_tsdb_opts *o);
int tl_tsdb_new(tl_tsdb **out); /* default options */
int tl_tsdb_new_opts(const tl_tsdb_opts *o, tl_tsdb **out);
void tl_tsdb_free(tl_tsdb *t);

/* Counts one event (semantics above). Returns 0 when counted; 1 when not (identify, group,
 * alias; no site; older than the rollups keep; too far in the future); TL_ENOMEM. The minute
 * horizon and the rollup retention are measured from the newest bucket of the site, not from
 * the wall clock. Thread: the single writer. */
int tl_tsdb_add(tl_tsdb *t, const tl_event *ev);
/* Drops everything (e.g. before rebuilding from the journal). */
void tl_tsdb_clear(tl_tsdb *t);

typedef struct {
    uint64_t pageviews;
    uint64_t events;
    uint64_t visitors; /* HyperLogLog estimate */
} tl_tsdb_agg;

/* A read: totals over [from_ms, to_ms) and, when step_ms > 0, one row per step.
 * Bounds are widened to whole minutes. Row i covers
 * [align(from, step) + i*step, + step) clipped to the range; pass nrows equal to the number of
 * steps (tl_tsdb_steps). Where minute buckets are past the horizon, the hour bucket around
 * them is used instead and `coarse` is set. */
typedef struct {
    const char *site;
    size_t site_len;
    int64_t from_ms;
    int64_t to_ms;
    int64_t step_ms;   /* 0, TL_TSDB_MINUTE_MS, TL_TSDB_HOUR_MS or TL_TSDB_DAY_MS */
    tl_tsdb_agg *rows; /* out: nrows rows (may be NULL when step_ms is 0) */
    size_t nrows;
    tl_tsdb_agg total; /* out */
    bool coarse;       /* out */
    bool site_seen;    /* out: the site has data in the store */
} tl_tsdb_read;

/* Number of rows a step produces over [from, to) (after widening to whole minutes). */
size_t tl_tsdb_steps(int64_t from_ms, int64_t to_ms, int64_t step_ms);
/* Returns 0, TL_EINVAL (bad step, nrows mismatch), TL_ENOMEM. Unknown site: zeros, 0. */
int tl_tsdb_query(tl_tsdb *t, tl_tsdb_read *r);
/* Distinct visitors in the minutes overlapping [now - window, now] (minute granularity:
 * up to one minute more than the window is covered). */
int tl_tsdb_realtime(tl_tsdb *t, const char *site, size_t len, int64_t now_ms, int64_t window_ms,
                     uint64_t *visitors);
bool tl_tsdb_has_site(tl_tsdb *t, const char *site, size_t len);
/* Start of the earliest day bucket still held for the site; TL_ENOTFOUND when none. */
int tl_tsdb_first_ms(tl_tsdb *t, const char *site, size_t len, int64_t *out);
/* The sites seen, sorted bytewise, copied into arena a. */
int tl_tsdb_sites(tl_tsdb *t, tl_arena *a, tl_str **out, size_t *n);

typedef struct {
    uint64_t sites;
    uint64_t buckets; /* minute + hour + day buckets held */
    uint64_t dense;   /* of which with a dense sketch */
    uint64_t bytes;   /* heap bytes held, approximately */
    uint64_t counted; /* events counted */
    uint64_t dropped; /* events not counted (no site, too old, in the future) */
    uint64_t ignored; /* identify/group/alias events (counted nowhere by design) */
    uint64_t bots;    /* events flagged TL_EVF_BOT (counted nowhere by design) */
} tl_tsdb_stats;
void tl_tsdb_get_stats(tl_tsdb *t, tl_tsdb_stats *out);

/* Appends the whole state (format in tsdb.c). Takes the read lock. */
int tl_tsdb_snapshot(tl_tsdb *t, tl_buf *out);
/* Replaces the whole state with a snapshot. All or nothing: on TL_ECORRUPT / TL_ENOMEM the
 * store is unchanged. */
int tl_tsdb_restore(tl_tsdb *t, const void *p, size_t n);

#endif
