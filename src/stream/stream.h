/*
 * stream — the processor between the journal and the tsdb.
 *
 * What it is: one thread that reads every partition of the "events" journal,
 * decodes each record (tl_event_decode) and counts it into the tsdb, waking on
 * tl_journal_wait so a durable record is visible to queries within
 * milliseconds.
 *
 * What it owns: its cursors, its thread, and the checkpoint file in
 * state_dir ("stream.ckpt"), which holds the whole tsdb state together with the
 * next offset of every partition. Exactly-once across kill -9 follows from
 * that pairing: state and offsets are replaced in one atomic rename, so after
 * any crash the tsdb is restored to a state that counted exactly the records
 * below the saved offsets, and the journal is replayed from there. The offsets
 * are then also committed to consumer group "stream" (for lag monitoring and
 * retention); on open the checkpoint, not the group, is the truth.
 *
 * How it is used: tl_stream_open() after the journal and the tsdb; queries read
 * the tsdb directly; tl_stream_close() before closing the journal. The stream
 * must be the only writer of its tsdb. The file format and the recovery rule
 * are written down in stream.c.
 */
#ifndef TL_STREAM_H
#define TL_STREAM_H

#include "base/base.h"
#include "journal/journal.h"
#include "tsdb/tsdb.h"

typedef struct tl_stream tl_stream;

typedef struct {
    tl_journal *journal;
    tl_tsdb *tsdb;
    const char *state_dir;           /* checkpoints live here (created if missing) */
    uint32_t checkpoint_interval_ms; /* 0: every 2000 ms (only when something changed) */
} tl_stream_opts;

/* The consumer group the stream commits to. */
#define TL_STREAM_GROUP "stream"
/* The checkpoint's file name inside state_dir. */
#define TL_STREAM_CHECKPOINT "stream.ckpt"

/* Loads the checkpoint into the tsdb (a missing one starts empty; a corrupt one is logged,
 * kept aside as stream.ckpt.corrupt, and the tsdb is rebuilt from the journal's oldest
 * records), replays every partition from the checkpoint's offsets up to the journal's current
 * end before returning, then starts the thread. Returns 0, TL_EINVAL, TL_EIO, TL_ENOMEM. */
int tl_stream_open(const tl_stream_opts *o, tl_stream **out);
/* Stops the thread, writes a final checkpoint and commits its offsets. NULL is a no-op. */
void tl_stream_close(tl_stream *s);

/* Waits until every record durable at the time of the call has been counted. Returns 0, or
 * TL_EAGAIN after timeout_ms. Any thread. */
int tl_stream_sync(tl_stream *s, int timeout_ms);
/* Asks the thread for a checkpoint now and waits until it is durable; returns its status. Any
 * thread, but not concurrently with tl_stream_close. */
int tl_stream_checkpoint(tl_stream *s);

typedef struct {
    uint64_t records;       /* records read from the journal */
    uint64_t counted;       /* events the tsdb counted */
    uint64_t not_counted;   /* identify/group/alias, no site, too old, too far ahead */
    uint64_t decode_errors; /* records that were not events: logged, skipped */
    uint64_t read_errors;   /* cursor errors (the partition is retried) */
    uint64_t replayed;      /* records read during open's replay */
    uint64_t checkpoints;   /* checkpoints written */
    uint64_t checkpoint_errors;
    uint64_t checkpoint_bytes; /* size of the last checkpoint */
    bool rebuilt;              /* open found no usable checkpoint */
} tl_stream_stats;
void tl_stream_get_stats(tl_stream *s, tl_stream_stats *out);

#endif
