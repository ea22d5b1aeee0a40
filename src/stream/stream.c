/*
 * stream.c — journal -> tsdb, exactly once.
 *
 * One thread owns a cursor per partition and an array next[p] (the offset of
 * the first record of p not yet counted). Its loop:
 *
 *     drain:      up to BATCH records per partition: decode, tl_tsdb_add,
 *                 next[p] = offset + 1 (a record that does not decode is
 *                 logged, rate-limited, counted and skipped)
 *     publish:    copy next[] for tl_stream_sync under the mutex
 *     checkpoint: when asked, or when something changed and the interval has
 *                 passed (default 2 s): serialize the tsdb and next[] into one
 *                 buffer and hand it to the writer thread, which makes it
 *                 durable and commits the offsets while counting goes on (one
 *                 checkpoint in flight at a time; an fsync can take 100 ms and
 *                 must not stall freshness)
 *     wait:       only when the drain found nothing: tl_journal_wait(100 ms),
 *                 which returns as soon as any partition's durable end moves
 *
 * Exactly-once. The checkpoint file holds the tsdb snapshot and next[] taken
 * at the same instant by the same thread (the only writer of the tsdb), and it
 * is replaced with tl_write_file_atomic (temp file, fsync, rename, fsync dir).
 * Only after that is durable are the offsets committed to group "stream". A
 * crash at any point leaves either the old or the new checkpoint, each a
 * consistent (state, offsets) pair; open restores the pair and replays the
 * journal from those offsets, so every record is counted exactly once. The
 * group offsets may lag the checkpoint (crash between rename and commit); they
 * are never used to position the stream.
 *
 * Checkpoint file "stream.ckpt" (little endian):
 *
 *     offset    size  field
 *     0         8     magic "TLSTRMCK"
 *     8         4     version = 1 (u32)
 *     12        4     P, number of partitions (u32)
 *     16        8     written at, ms since the epoch (i64, informational)
 *     24        8*P   next offset of partition 0 .. P-1 (u64 each)
 *     24+8P     8     N, length of the tsdb snapshot (u64)
 *     32+8P     N     tsdb snapshot (format in tsdb.c)
 *     32+8P+N   4     CRC-32C of bytes [0, 32+8P+N) (u32)
 *
 * Recovery rule: the file must be exactly 36+8P+N bytes, magic, version and
 * CRC must match, P must equal the journal's partition count, and the
 * snapshot must restore. Otherwise the file is logged as corrupt, renamed to
 * "stream.ckpt.corrupt", the tsdb is cleared and every partition is replayed
 * from its oldest retained record. A missing file is a first start: same
 * replay, no error. If retention already removed records below a saved
 * offset, the gap is logged and the stream continues from the oldest record.
 *
 * Cost: a checkpoint serializes the whole tsdb (sparse sketches are a few
 * bytes per visitor-minute, dense ones 16 KiB) on the stream thread, pausing
 * counting for that long (about 16 ms for 3 MB of state); the write and fsync
 * happen on the writer thread. It is skipped when nothing changed. An
 * incremental checkpoint belongs with the tsdb's disk tier.
 */
#include "stream/stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "event/event.h"

#define BATCH       4096 /* records per partition per drain pass */
#define WAIT_MS     100
#define CKPT_MAGIC  "TLSTRMCK"
#define CKPT_VER    1u
#define CKPT_HDR    24
#define DEFAULT_INT 2000

struct tl_stream {
    tl_journal *j;
    tl_tsdb *t;
    char *path; /* state_dir/stream.ckpt */
    uint32_t np;
    uint32_t interval_ms;
    tl_journal_cursor **cur;
    uint64_t *next; /* the thread's (or open's) own */
    bool dirty;
    int64_t last_ckpt_ns;
    int64_t log_decode, log_read; /* rate limits for tl_log_limited */

    pthread_t thr;
    bool started;
    atomic_bool stop;

    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    uint64_t *pub_next;
    uint64_t ckpt_asked, ckpt_taken, ckpt_done; /* tl_stream_checkpoint tickets */
    int ckpt_status;
    bool ever_checkpointed;
    /* The writer thread: the stream thread fills wr_buf (a complete checkpoint file) and
     * wr_next (its offsets) while wr_busy is false, then sets it; the writer persists them,
     * commits the offsets and clears it. */
    pthread_t wthr;
    bool wstarted;
    bool wr_busy, wr_stop, wr_failed;
    uint64_t wr_ticket;
    tl_buf wr_buf;
    uint64_t *wr_next;

    _Atomic uint64_t st_records, st_counted, st_not_counted, st_decode, st_read, st_replayed,
        st_ckpts, st_ckpt_err, st_ckpt_bytes;
    bool rebuilt;
};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- checkpoint ---- */

/* Serializes the checkpoint of the current state into b (stream thread, or close). */
static int checkpoint_build(tl_stream *s, tl_buf *b)
{
    tl_buf_reset(b);
    size_t fixed = CKPT_HDR + 8 * (size_t)s->np + 8;
    int rc = tl_buf_reserve(b, fixed);
    if (rc)
        return rc;
    uint8_t *h = (uint8_t *)b->ptr;
    memcpy(h, CKPT_MAGIC, 8);
    put_u32(h + 8, CKPT_VER);
    put_u32(h + 12, s->np);
    put_u64(h + 16, (uint64_t)tl_now_ms());
    for (uint32_t p = 0; p < s->np; p++)
        put_u64(h + CKPT_HDR + 8 * (size_t)p, s->next[p]);
    b->len = fixed;
    if ((rc = tl_tsdb_snapshot(s->t, b)) != 0)
        return rc;
    put_u64((uint8_t *)b->ptr + fixed - 8, (uint64_t)(b->len - fixed));
    uint8_t crc[4];
    put_u32(crc, tl_crc32c(0, b->ptr, b->len));
    return tl_buf_append(b, crc, 4);
}

/* Makes a built checkpoint durable, then commits its offsets (writer thread, or close). */
static int checkpoint_persist(tl_stream *s, const tl_buf *b, const uint64_t *next)
{
    int rc = tl_write_file_atomic(s->path, b->ptr, b->len);
    if (rc) {
        bump(&s->st_ckpt_err, 1);
        tl_log(TL_LOG_ERROR, "stream: writing checkpoint %s failed: %s", s->path, tl_strerror(rc));
        return rc;
    }
    /* Durable: now the group may move. A failure here only delays lag reporting. */
    for (uint32_t p = 0; p < s->np; p++) {
        int c = tl_journal_commit(s->j, TL_STREAM_GROUP, p, next[p]);
        if (c)
            tl_log(TL_LOG_WARN, "stream: committing partition %u offset %llu for group \"%s\": %s",
                   p, (unsigned long long)next[p], TL_STREAM_GROUP, tl_strerror(c));
    }
    atomic_store_explicit(&s->st_ckpt_bytes, b->len, memory_order_relaxed);
    bump(&s->st_ckpts, 1);
    pthread_mutex_lock(&s->mu);
    s->ever_checkpointed = true;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void *writer(void *arg)
{
    tl_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->wr_busy && !s->wr_stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->wr_busy)
            break;
        pthread_mutex_unlock(&s->mu);
        int rc = checkpoint_persist(s, &s->wr_buf, s->wr_next);
        /* Do not keep a large buffer around after the state shrank. */
        if (s->wr_buf.cap > 4 * s->wr_buf.len + 65536)
            tl_buf_deinit(&s->wr_buf);
        pthread_mutex_lock(&s->mu);
        s->wr_busy = false;
        s->wr_failed = rc != 0;
        if (s->wr_ticket) {
            s->ckpt_done = TL_MAX(s->ckpt_done, s->wr_ticket);
            s->ckpt_status = rc;
        }
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Stream thread: hands a checkpoint of the current state to the writer. Returns 0, TL_EAGAIN
 * when the writer is still busy with the previous one, or the build error. */
static int checkpoint_start(tl_stream *s, uint64_t ticket)
{
    pthread_mutex_lock(&s->mu);
    bool busy = s->wr_busy;
    pthread_mutex_unlock(&s->mu);
    if (busy)
        return TL_EAGAIN;
    /* The writer is idle and only this thread starts it: wr_buf and wr_next are ours now. */
    s->last_ckpt_ns = tl_mono_ns();
    int rc = checkpoint_build(s, &s->wr_buf);
    if (rc) {
        bump(&s->st_ckpt_err, 1);
        tl_log(TL_LOG_ERROR, "stream: building checkpoint: %s", tl_strerror(rc));
        return rc;
    }
    memcpy(s->wr_next, s->next, s->np * sizeof(uint64_t));
    s->dirty = false;
    pthread_mutex_lock(&s->mu);
    s->wr_busy = true;
    s->wr_ticket = ticket;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Validates and applies the checkpoint in buf. On failure writes the reason into why. */
static int checkpoint_apply(tl_stream *s, const tl_buf *buf, char *why, size_t wlen)
{
    const uint8_t *p = (const uint8_t *)buf->ptr;
    size_t n = buf->len;
    if (n < CKPT_HDR + 12 || memcmp(p, CKPT_MAGIC, 8) != 0) {
        snprintf(why, wlen, "%zu bytes, no \"%s\" header", n, CKPT_MAGIC);
        return TL_ECORRUPT;
    }
    uint32_t ver = get_u32(p + 8), np = get_u32(p + 12);
    if (ver != CKPT_VER) {
        snprintf(why, wlen, "version %u, expected %u", ver, CKPT_VER);
        return TL_ECORRUPT;
    }
    if (np > (n - CKPT_HDR - 12) / 8) {
        snprintf(why, wlen, "%u partitions do not fit in %zu bytes", np, n);
        return TL_ECORRUPT;
    }
    size_t fixed = CKPT_HDR + 8 * (size_t)np + 8;
    uint64_t snap = get_u64(p + fixed - 8);
    if (snap != n - fixed - 4) {
        snprintf(why, wlen, "snapshot length %llu at byte %zu, but the file has %zu bytes",
                 (unsigned long long)snap, fixed - 8, n);
        return TL_ECORRUPT;
    }
    uint32_t want = get_u32(p + n - 4), got = tl_crc32c(0, p, n - 4);
    if (want != got) {
        snprintf(why, wlen, "CRC-32C mismatch: stored %08x, computed %08x", want, got);
        return TL_ECORRUPT;
    }
    if (np != s->np) {
        snprintf(why, wlen, "written for %u partitions, the journal has %u", np, s->np);
        return TL_ECORRUPT;
    }
    int rc = tl_tsdb_restore(s->t, p + fixed, (size_t)snap);
    if (rc) {
        snprintf(why, wlen, "the tsdb snapshot does not restore: %s", tl_strerror(rc));
        return rc;
    }
    for (uint32_t i = 0; i < np; i++)
        s->next[i] = get_u64(p + CKPT_HDR + 8 * (size_t)i);
    return 0;
}

static int checkpoint_load(tl_stream *s)
{
    tl_buf b;
    tl_buf_init(&b);
    int rc = tl_read_file(s->path, &b);
    bool usable = false;
    if (rc == 0) {
        char why[200];
        rc = checkpoint_apply(s, &b, why, sizeof why);
        if (rc == TL_ENOMEM)
            goto out;
        if (rc == 0) {
            usable = true;
            tl_log(TL_LOG_INFO, "stream: loaded checkpoint %s (%zu bytes)", s->path, b.len);
        } else {
            tl_log(TL_LOG_ERROR,
                   "stream: checkpoint %s is corrupt (%s); rebuilding from the journal's oldest "
                   "records",
                   s->path, why);
            char aside[4096];
            int k = snprintf(aside, sizeof aside, "%s.corrupt", s->path);
            if (k > 0 && (size_t)k < sizeof aside && rename(s->path, aside) != 0)
                tl_log(TL_LOG_WARN, "stream: could not keep the corrupt checkpoint as %s", aside);
        }
    } else if (rc == TL_ENOTFOUND) {
        tl_log(TL_LOG_INFO,
               "stream: no checkpoint at %s; counting the journal from its oldest "
               "records",
               s->path);
    } else {
        tl_log(TL_LOG_ERROR, "stream: reading checkpoint %s: %s", s->path, tl_strerror(rc));
        goto out;
    }
    rc = 0;
    if (!usable) {
        s->rebuilt = true;
        tl_tsdb_clear(s->t);
        for (uint32_t p = 0; p < s->np; p++) {
            uint64_t next;
            tl_journal_bounds(s->j, p, &s->next[p], &next);
        }
        s->dirty = true;
    } else {
        for (uint32_t p = 0; p < s->np; p++) {
            uint64_t oldest, next;
            tl_journal_bounds(s->j, p, &oldest, &next);
            if (s->next[p] < oldest)
                tl_log(TL_LOG_WARN,
                       "stream: partition %u: records [%llu, %llu) were removed by retention "
                       "before they were counted",
                       p, (unsigned long long)s->next[p], (unsigned long long)oldest);
            if (s->next[p] > next)
                tl_log(TL_LOG_WARN,
                       "stream: partition %u: the checkpoint is at offset %llu but the journal "
                       "ends at %llu (journal data lost?)",
                       p, (unsigned long long)s->next[p], (unsigned long long)next);
        }
    }
out:
    tl_buf_deinit(&b);
    return rc;
}

/* ---- counting ---- */

/* Reads up to `batch` records of every partition. Returns how many were read. */
static uint64_t drain(tl_stream *s, uint32_t batch)
{
    uint64_t total = 0;
    for (uint32_t p = 0; p < s->np; p++) {
        for (uint32_t i = 0; i < batch; i++) {
            const void *data;
            uint32_t len;
            uint64_t off;
            int rc = tl_journal_cursor_next(s->cur[p], &data, &len, &off);
            if (rc == 0)
                break;
            if (rc < 0) {
                bump(&s->st_read, 1);
                tl_log_limited(&s->log_read, 10000, TL_LOG_ERROR,
                               "stream: reading partition %u at offset %llu: %s", p,
                               (unsigned long long)s->next[p], tl_strerror(rc));
                break;
            }
            total++;
            s->next[p] = off + 1;
            s->dirty = true;
            tl_event ev;
            if (tl_event_decode(data, len, &ev) != 0) {
                bump(&s->st_decode, 1);
                tl_log_limited(&s->log_decode, 10000, TL_LOG_WARN,
                               "stream: partition %u offset %llu: %u-byte record is not an "
                               "event; skipped",
                               p, (unsigned long long)off, len);
                continue;
            }
            rc = tl_tsdb_add(s->t, &ev);
            if (rc == 0)
                bump(&s->st_counted, 1);
            else if (rc == 1)
                bump(&s->st_not_counted, 1);
            else
                tl_log_limited(&s->log_decode, 10000, TL_LOG_ERROR,
                               "stream: counting partition %u offset %llu: %s", p,
                               (unsigned long long)off, tl_strerror(rc));
        }
    }
    bump(&s->st_records, total);
    return total;
}

static void publish(tl_stream *s)
{
    pthread_mutex_lock(&s->mu);
    memcpy(s->pub_next, s->next, s->np * sizeof(uint64_t));
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *run(void *arg)
{
    tl_stream *s = arg;
    uint64_t seen = 0;
    while (!atomic_load(&s->stop)) {
        uint64_t n = drain(s, BATCH);
        if (n)
            publish(s);
        pthread_mutex_lock(&s->mu);
        uint64_t asked = s->ckpt_asked;
        bool want = asked != s->ckpt_taken;
        if (s->wr_failed) {
            s->wr_failed = false;
            s->dirty = true; /* try again at the next interval */
        }
        pthread_mutex_unlock(&s->mu);
        if (want) {
            int rc = checkpoint_start(s, asked);
            if (rc != TL_EAGAIN) {
                pthread_mutex_lock(&s->mu);
                s->ckpt_taken = asked;
                if (rc) { /* never reached the writer: answer the waiters here */
                    s->ckpt_done = TL_MAX(s->ckpt_done, asked);
                    s->ckpt_status = rc;
                    pthread_cond_broadcast(&s->cv);
                }
                pthread_mutex_unlock(&s->mu);
            }
        } else if (s->dirty &&
                   tl_mono_ns() - s->last_ckpt_ns >= (int64_t)s->interval_ms * 1000000) {
            checkpoint_start(s, 0);
        }
        if (n == 0)
            seen = tl_journal_wait(s->j, seen, want ? 5 : WAIT_MS);
    }
    return NULL;
}

/* ---- lifecycle ---- */

static void writer_stop(tl_stream *s)
{
    if (!s->wstarted)
        return;
    pthread_mutex_lock(&s->mu);
    s->wr_stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->wthr, NULL); /* it finishes a checkpoint in flight first */
    s->wstarted = false;
}

static void stream_free(tl_stream *s)
{
    writer_stop(s);
    if (s->cur)
        for (uint32_t p = 0; p < s->np; p++)
            tl_journal_cursor_close(s->cur[p]);
    tl_free(s->cur);
    tl_free(s->next);
    tl_free(s->pub_next);
    tl_free(s->wr_next);
    tl_free(s->path);
    tl_buf_deinit(&s->wr_buf);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    tl_free(s);
}

int tl_stream_open(const tl_stream_opts *o, tl_stream **out)
{
    *out = NULL;
    if (!o || !o->journal || !o->tsdb || !o->state_dir || !o->state_dir[0])
        return TL_EINVAL;
    int rc = tl_mkdir_p(o->state_dir);
    if (rc) {
        tl_log(TL_LOG_ERROR, "stream: cannot create state directory %s: %s", o->state_dir,
               tl_strerror(rc));
        return rc;
    }
    tl_stream *s = tl_calloc(1, sizeof(*s));
    if (!s)
        return TL_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    tl_buf_init(&s->wr_buf);
    s->j = o->journal;
    s->t = o->tsdb;
    s->np = tl_journal_partitions(o->journal);
    s->interval_ms = o->checkpoint_interval_ms ? o->checkpoint_interval_ms : DEFAULT_INT;
    size_t dl = strlen(o->state_dir), fl = strlen(TL_STREAM_CHECKPOINT);
    s->path = tl_malloc(dl + 1 + fl + 1);
    s->cur = tl_calloc(s->np ? s->np : 1, sizeof(*s->cur));
    s->next = tl_calloc(s->np ? s->np : 1, sizeof(uint64_t));
    s->pub_next = tl_calloc(s->np ? s->np : 1, sizeof(uint64_t));
    s->wr_next = tl_calloc(s->np ? s->np : 1, sizeof(uint64_t));
    if (!s->path || !s->cur || !s->next || !s->pub_next || !s->wr_next) {
        rc = TL_ENOMEM;
        goto fail;
    }
    memcpy(s->path, o->state_dir, dl);
    s->path[dl] = '/';
    memcpy(s->path + dl + 1, TL_STREAM_CHECKPOINT, fl + 1);

    if ((rc = checkpoint_load(s)) != 0)
        goto fail;
    for (uint32_t p = 0; p < s->np; p++)
        if ((rc = tl_journal_cursor_open_at(s->j, p, s->next[p], &s->cur[p])) != 0)
            goto fail;

    /* Replay what the journal holds now, so queries are complete once open returns. */
    int64_t t0 = tl_mono_ns();
    uint64_t n, replayed = 0;
    while ((n = drain(s, BATCH)) > 0)
        replayed += n;
    atomic_store(&s->st_replayed, replayed);
    publish(s);
    if (replayed)
        tl_log(TL_LOG_INFO, "stream: replayed %llu records in %.1f ms",
               (unsigned long long)replayed, (double)(tl_mono_ns() - t0) / 1e6);
    s->last_ckpt_ns = tl_mono_ns();

    if (pthread_create(&s->wthr, NULL, writer, s) != 0) {
        rc = TL_ENOMEM;
        goto fail;
    }
    s->wstarted = true;
    if (pthread_create(&s->thr, NULL, run, s) != 0) {
        rc = TL_ENOMEM;
        goto fail;
    }
    s->started = true;
    *out = s;
    return 0;
fail:
    stream_free(s);
    return rc;
}

void tl_stream_close(tl_stream *s)
{
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stop, true);
        pthread_join(s->thr, NULL);
    }
    writer_stop(s);
    /* Count what became durable meanwhile too: close leaves nothing half-done. */
    while (drain(s, BATCH) > 0)
        ;
    int rc = 0;
    if (s->dirty || s->wr_failed || !s->ever_checkpointed) {
        rc = checkpoint_build(s, &s->wr_buf);
        if (rc == 0)
            rc = checkpoint_persist(s, &s->wr_buf, s->next);
        else
            tl_log(TL_LOG_ERROR, "stream: building the final checkpoint: %s", tl_strerror(rc));
    }
    /* Answer anyone still waiting in tl_stream_checkpoint. */
    pthread_mutex_lock(&s->mu);
    if (s->ckpt_done < s->ckpt_asked) {
        s->ckpt_done = s->ckpt_asked;
        s->ckpt_status = rc;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    stream_free(s);
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int tl_stream_sync(tl_stream *s, int timeout_ms)
{
    uint64_t *want = tl_calloc(s->np ? s->np : 1, sizeof(uint64_t));
    if (!want)
        return TL_ENOMEM;
    for (uint32_t p = 0; p < s->np; p++) {
        uint64_t oldest;
        tl_journal_bounds(s->j, p, &oldest, &want[p]);
    }
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        bool done = true;
        for (uint32_t p = 0; p < s->np && done; p++)
            done = s->pub_next[p] >= want[p];
        if (done)
            break;
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) {
            rc = TL_EAGAIN;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    tl_free(want);
    return rc;
}

int tl_stream_checkpoint(tl_stream *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t ticket = ++s->ckpt_asked;
    while (s->ckpt_done < ticket)
        pthread_cond_wait(&s->cv, &s->mu);
    int rc = s->ckpt_status;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void tl_stream_get_stats(tl_stream *s, tl_stream_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->records = atomic_load(&s->st_records);
    o->counted = atomic_load(&s->st_counted);
    o->not_counted = atomic_load(&s->st_not_counted);
    o->decode_errors = atomic_load(&s->st_decode);
    o->read_errors = atomic_load(&s->st_read);
    o->replayed = atomic_load(&s->st_replayed);
    o->checkpoints = atomic_load(&s->st_ckpts);
    o->checkpoint_errors = atomic_load(&s->st_ckpt_err);
    o->checkpoint_bytes = atomic_load(&s->st_ckpt_bytes);
    o->rebuilt = s->rebuilt;
}
