/*
 * serve — `tally serve`: every module wired into one process.
 *
 * It opens the journals (events, deadletter) under the data directory, the
 * time-series store and the stream processor (which recovers from its
 * checkpoint and replays the journal tail), the collector (which rebuilds its
 * dedup set), then the HTTP server with every route: ingest (/v1/...), query
 * (/api/v2/query, /api/v2/realtime, /api/sites), operations (/healthz,
 * /readyz, /metrics) and the dashboard (/). With --demo it also runs the load
 * generator against itself. It stops cleanly on SIGINT/SIGTERM: no new
 * connections, every pending append answered, a final stream checkpoint.
 */
#ifndef TL_SERVE_H
#define TL_SERVE_H

/* `tally serve [flags]`: returns the process exit code. */
int tl_serve_main(int argc, char **argv);

#endif
