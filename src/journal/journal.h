/*
 * journal — a durable, partitioned, append-only log on local disk.
 *
 * One journal is one stream (tally opens "events" and "deadletter"). It has a
 * fixed number of partitions; each partition is a directory of segment files
 * holding length-prefixed, CRC32C-checked records with consecutive offsets
 * (0, 1, 2 ... per partition, like Kafka). Producers append batches and are
 * told, from the journal's commit thread, once the batch is durable under the
 * fsync policy (group commit: one fdatasync covers every batch that arrived
 * meanwhile). Consumers read through named groups whose committed offsets are
 * themselves durable; several groups read the same records independently.
 * Readers only ever see records that are durable.
 *
 * Threads: every function may be called from any thread. Done callbacks run on
 * the journal's commit thread and must be quick (no blocking, no appends).
 *
 * The on-disk format and the recovery rule are written down in journal.c.
 */
#ifndef TL_JOURNAL_H
#define TL_JOURNAL_H

#include "base/base.h"

typedef struct tl_journal tl_journal;

typedef enum {
    TL_FSYNC_ALWAYS = 0, /* ack after fdatasync (group commit) — the default */
    TL_FSYNC_INTERVAL,   /* ack after write(); fdatasync every commit_interval_ms */
    TL_FSYNC_NEVER,      /* ack after write(); the OS decides (tests, benchmarks only) */
} tl_fsync_policy;

typedef struct {
    const char *dir;       /* created if missing */
    uint32_t partitions;   /* default 1; fixed at creation (reopen checks it); 0 = as on disk */
    tl_fsync_policy fsync; /* default TL_FSYNC_ALWAYS */
    uint32_t commit_interval_ms; /* longest a batch waits for its group commit; default 5 */
    uint64_t segment_bytes;      /* roll to a new segment past this size; default 64 MiB */
    int64_t retention_ms;        /* drop whole segments older than this; 0 = keep (default 7 d) */
    uint64_t retention_bytes;    /* per partition; 0 = no size limit (default 0) */
    uint32_t max_record_bytes;   /* default 1 MiB */
} tl_journal_opts;

void tl_journal_opts_default(tl_journal_opts *o);
const char *tl_fsync_policy_name(tl_fsync_policy p);
int tl_fsync_policy_parse(const char *s, tl_fsync_policy *out);

/* Opens (creating or recovering) the journal. Recovery truncates a torn tail of the last
 * segment of each partition; corruption before the tail is refused with TL_ECORRUPT and a
 * message (file, byte offset, what was found) in errmsg. */
int tl_journal_open(const tl_journal_opts *opts, tl_journal **out, char *errmsg, size_t errlen);
/* Flushes and syncs what was appended, calls outstanding done callbacks, stops threads. */
void tl_journal_close(tl_journal *j);
uint32_t tl_journal_partitions(const tl_journal *j);

typedef struct {
    uint32_t partition;
    const void *data;
    uint32_t len;
} tl_journal_rec;

/* Called once per append, on the commit thread, when all its records are durable under the
 * policy (status 0) or could not be written (status < 0). */
typedef void (*tl_journal_done_fn)(void *arg, int status);

/* Appends n records (copied before return). Within a partition, records keep the order of
 * the calls. Returns 0 when queued — done will then be called exactly once — or a negative
 * error (TL_ELIMIT: a record over max_record_bytes; TL_ECLOSED) and done is never called.
 * first_offsets, when not NULL, receives each record's offset in its partition. */
int tl_journal_append(tl_journal *j, const tl_journal_rec *recs, size_t n, tl_journal_done_fn done,
                      void *arg, uint64_t *offsets);
/* Appends and waits until durable; returns the status. */
int tl_journal_append_sync(tl_journal *j, const tl_journal_rec *recs, size_t n, uint64_t *offsets);

/* Offsets of partition p: [*oldest, *next) are readable (durable and retained). */
void tl_journal_bounds(tl_journal *j, uint32_t p, uint64_t *oldest, uint64_t *next);

/* ---- consumers ---- */
typedef struct tl_journal_cursor tl_journal_cursor;

/* A cursor on one partition for consumer group `group` (name: [A-Za-z0-9_-]{1,64}),
 * positioned at the group's committed offset (or the oldest retained record). */
int tl_journal_cursor_open(tl_journal *j, const char *group, uint32_t p, tl_journal_cursor **out);
/* A cursor at an explicit offset (clamped to the oldest retained). */
int tl_journal_cursor_open_at(tl_journal *j, uint32_t p, uint64_t offset, tl_journal_cursor **out);
void tl_journal_cursor_close(tl_journal_cursor *c);
/* Next durable record: returns 1 and sets data/len/offset (valid until the next call on this
 * cursor), 0 when there is none yet, or a negative error (TL_ECORRUPT). */
int tl_journal_cursor_next(tl_journal_cursor *c, const void **data, uint32_t *len,
                           uint64_t *offset);
/* Durably records that `group` has processed partition p below next_offset. */
int tl_journal_commit(tl_journal *j, const char *group, uint32_t p, uint64_t next_offset);
/* The group's committed offset for p (0 when never committed). */
uint64_t tl_journal_committed(tl_journal *j, const char *group, uint32_t p);

/* Blocks until some partition's durable end moves past what `seen` says, or timeout_ms.
 * `seen` is a counter the journal bumps on every durable advance; pass the last value
 * returned (start with 0). Returns the new counter value. */
uint64_t tl_journal_wait(tl_journal *j, uint64_t seen, int timeout_ms);

/* Runs a retention pass now (the commit thread also runs one about every second, and open
 * runs one): removes whole sealed segments past retention_ms or retention_bytes. *removed
 * (may be NULL) receives how many segment files went. */
int tl_journal_enforce_retention(tl_journal *j, uint64_t *removed);

typedef struct {
    uint64_t appends;          /* append calls */
    uint64_t records;          /* records appended */
    uint64_t bytes;            /* record bytes appended */
    uint64_t syncs;            /* fdatasync calls */
    uint64_t commits;          /* group commits (one may cover many appends) */
    uint64_t segments;         /* segment files now on disk */
    uint64_t segments_removed; /* by retention */
    uint64_t truncated_bytes;  /* torn tail removed at open */
} tl_journal_stats;
void tl_journal_get_stats(tl_journal *j, tl_journal_stats *out);

#endif
