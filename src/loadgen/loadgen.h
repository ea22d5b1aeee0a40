/*
 * loadgen — realistic Segment traffic for demos, tests and benchmarks.
 *
 * tl_loadgen_run() sends Segment HTTP Tracking API requests (PROTOCOLS.md §1)
 * to a base URL over a few keep-alive connections: a population of visitors
 * per site, each living through sessions (a landing page with a referrer and
 * sometimes UTM tags, more page views, a product funnel of track events, an
 * occasional identify). A configurable fraction of events is "late" (event
 * time minutes in the past), duplicated (an earlier event resent with the
 * same messageId, as a client retry would) or invalid (which the server must
 * reject with a per-event error).
 *
 * Who calls it: `tally loadgen` (tl_loadgen_cli), `tally serve --demo` (from
 * its own thread, with `stop`), and bench/run.sh (through the command).
 *
 * Threads: tl_loadgen_run blocks the calling thread and uses no other; any
 * number of runs may go on at once in different threads. `stop` is the only
 * thing another thread may touch while a run is going on.
 */
#ifndef TL_LOADGEN_H
#define TL_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *url;          /* base, e.g. "http://127.0.0.1:8080" (no trailing path) */
    const char *const *sites; /* write keys = sites (Basic auth user, empty password) */
    size_t n_sites;
    double rate;              /* events per second; 0 = as fast as possible */
    double duration_s;        /* 0 = until *stop becomes nonzero */
    int connections;          /* keep-alive connections, default 4 */
    int batch;                /* events per request: >1 uses /v1/batch, 1 uses /v1/<type> */
    double late_frac;         /* default 0.02: timestamp 1-10 minutes in the past */
    double dup_frac;          /* default 0.01: an earlier event resent, same messageId */
    double invalid_frac;      /* default 0.005: an event the server must reject */
    uint64_t seed;            /* 0 = derive one from the clock (ids then differ per run) */
    const volatile int *stop; /* may be NULL; the run ends soon after *stop != 0 */
} tl_loadgen_opts;

typedef struct {
    uint64_t requests;        /* HTTP requests completed (any status) */
    uint64_t events_sent;     /* events in those requests */
    uint64_t events_ok;       /* events the server accepted (duplicates included) */
    uint64_t events_rejected; /* events the server rejected (per-event error or 4xx) */
    uint64_t http_errors;     /* requests that failed: transport error, 5xx, 401, 429... */
    uint64_t duplicates_sent;
    uint64_t invalid_sent;
    uint64_t late_sent;
    double seconds; /* wall time of the run */
} tl_loadgen_stats;

/* Fills o with the defaults above (url and sites NULL; the caller sets them). */
void tl_loadgen_opts_default(tl_loadgen_opts *o);

/* Sends traffic until duration_s has passed or *stop is set, then waits for the requests in
 * flight (at most a few seconds) and fills *out. Returns 0, TL_EINVAL (no url or no site,
 * negative rate...), TL_ENOMEM, or TL_EIO when libcurl cannot be set up. HTTP failures are
 * counted in out->http_errors, not returned. Logs through tl_log; never prints. */
int tl_loadgen_run(const tl_loadgen_opts *o, tl_loadgen_stats *out);

/* `tally loadgen [flags]`: parses its own flags (--url, --site (repeatable), --rate,
 * --duration, --connections, --batch, --seed, --late, --dup, --invalid), runs until the
 * duration ends or SIGINT/SIGTERM, prints a summary on stdout; returns the exit code
 * (0 ok, 1 when requests failed, 2 on a usage error). argv[0] is "loadgen". */
int tl_loadgen_cli(int argc, char **argv);

#endif
