/*
 * journal_int — what journal.c (open, recovery, append, commit thread, retention, groups)
 * and cursor.c (readers) share. Never included outside src/journal/.
 *
 * Locking, from outer to inner (never take an outer lock while holding an inner one):
 *   j->retain_mu  serialises retention passes
 *   j->mu         the append side: pending buffers, done queue, closing/failed flags
 *   part->mu      one partition's segment list, sparse indexes and sizes
 *   j->wait_mu    the durable-advance counter tl_journal_wait blocks on
 * durable_end and oldest are atomics written under part->mu and read without it.
 */
#ifndef TL_JOURNAL_INT_H
#define TL_JOURNAL_INT_H

#include "journal/journal.h"

#include <pthread.h>
#include <stdatomic.h>

#define TL_JOURNAL__MAGIC       "TLJ1"
#define TL_JOURNAL__VERSION     1u
#define TL_JOURNAL__SEG_HDR     16u   /* segment header bytes */
#define TL_JOURNAL__REC_HDR     16u   /* record header bytes */
#define TL_JOURNAL__INDEX_EVERY 1024u /* one sparse index entry per this many records */
#define TL_JOURNAL__READ_CHUNK  (256u * 1024u)

/* ---- little-endian field access ---- */
static inline uint32_t tl_journal__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tl_journal__le64(const uint8_t *p)
{
    return (uint64_t)tl_journal__le32(p) | (uint64_t)tl_journal__le32(p + 4) << 32;
}

static inline void tl_journal__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void tl_journal__put64(uint8_t *p, uint64_t v)
{
    tl_journal__put32(p, (uint32_t)v);
    tl_journal__put32(p + 4, (uint32_t)(v >> 32));
}

/* The record checksum: CRC32C of the payload, continued over the length and offset fields
 * (header bytes 0..3 and 8..15). `payload_crc` is tl_crc32c(0, payload, len). */
static inline uint32_t tl_journal__rec_crc(uint32_t payload_crc, uint32_t len, uint64_t off)
{
    uint8_t t[12];
    tl_journal__put32(t, len);
    tl_journal__put64(t + 4, off);
    return tl_crc32c(payload_crc, t, sizeof t);
}

/* ---- segments and partitions ---- */
typedef struct {
    uint64_t off; /* a record's offset */
    uint64_t pos; /* its byte position in the segment file */
} tl_journal__idx;

typedef struct {
    uint64_t base;    /* offset of its first record; also its file name */
    uint64_t size;    /* file bytes holding whole records (header included) */
    int64_t mtime_ms; /* when its newest record was written (wall clock) */
    bool indexed;     /* idx covers the whole segment (false: sealed and not scanned yet) */
    tl_journal__idx *idx;
    size_t nidx, cap;
} tl_journal__seg;

typedef struct {
    pthread_mutex_t mu;
    tl_journal__seg *segs; /* oldest first; the last one is the active segment */
    size_t nsegs, cap;
    _Atomic uint64_t durable_end; /* readers see offsets below this */
    _Atomic uint64_t oldest;      /* base of the oldest retained segment */

    /* commit thread only (and open/close, when no thread runs) */
    int fd;          /* active segment, read-write */
    uint64_t wsize;  /* bytes written to the active segment */
    uint64_t wnext;  /* offset after the last record written */
    bool dirty;      /* written since the last fdatasync */
    tl_buf inflight; /* the batch being written */

    /* under j->mu */
    uint64_t next_assign; /* offset the next appended record gets */
    uint64_t need;        /* scratch while reserving room for one append */
    tl_buf pending;       /* encoded records waiting for the commit thread */
} tl_journal__part;

typedef struct {
    tl_journal_done_fn fn;
    void *arg;
} tl_journal__done;

struct tl_journal {
    tl_journal_opts o;
    char *dir;
    uint32_t np;
    tl_journal__part *parts;
    int lock_fd; /* flock'ed <dir>/lock: one process per journal */

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* commit thread waits for appends */
    pthread_cond_t space_cv; /* appenders wait while too much is pending */
    tl_journal__done *pend_done, *fly_done;
    size_t npend_done, cap_pend_done, nfly_done, cap_fly_done;
    size_t pending_bytes;
    bool commit_idle; /* the commit thread is waiting on work_cv */
    bool closing;
    bool wake_readers; /* commit thread only: a commit published new durable ends */
    int failed;        /* a write or sync failed: every later append gets this */

    pthread_t thread;
    bool thread_started;

    pthread_mutex_t wait_mu;
    pthread_cond_t wait_cv;
    uint64_t wait_counter;
    bool wait_closing;

    pthread_mutex_t groups_mu;
    pthread_mutex_t retain_mu;
    int64_t last_sync_ns;
    int64_t last_retain_ns;

    _Atomic uint64_t st_appends, st_records, st_bytes, st_syncs, st_commits, st_removed,
        st_truncated;
};

/* Builds "<dir>/p<NNN>/<base:020>.log" (full) or "p<NNN>/<base:020>.log" (dir NULL, for
 * messages). Returns 0 or TL_EINVAL when it does not fit. */
int tl_journal__seg_path(const char *dir, uint32_t p, uint64_t base, char *out, size_t outlen);

/* ---- a buffered reader over one segment file ---- */
typedef struct {
    int fd;
    uint8_t *buf;
    size_t cap;
    uint64_t bpos; /* file position of buf[0] */
    size_t blen;   /* valid bytes in buf */
} tl_journal__reader;

void tl_journal__reader_init(tl_journal__reader *r, int fd);
void tl_journal__reader_deinit(tl_journal__reader *r);
/* Makes file bytes [pos, pos+n) available at *out. TL_EAGAIN when the file ends before
 * pos+n, TL_EIO, TL_ENOMEM. */
int tl_journal__reader_get(tl_journal__reader *r, uint64_t pos, size_t n, const uint8_t **out);

/* ---- verifying scan of a segment's records ---- */
enum {
    TL_JOURNAL__SCAN_OK = 0,     /* every byte up to the end parsed as records */
    TL_JOURNAL__SCAN_SHORT_HDR,  /* fewer than 16 bytes left for a record header */
    TL_JOURNAL__SCAN_BAD_LEN,    /* length over max_record_bytes */
    TL_JOURNAL__SCAN_SHORT_DATA, /* the record runs past the end of the file */
    TL_JOURNAL__SCAN_BAD_CRC,    /* checksum mismatch */
    TL_JOURNAL__SCAN_BAD_OFFSET, /* the stored offset is not the next one */
};

typedef struct {
    uint64_t good_end; /* byte position just past the last good record */
    uint64_t next_off; /* offset after the last good record */
    int bad;           /* TL_JOURNAL__SCAN_* for the record at good_end */
    uint32_t len, crc_stored, crc_computed;
    uint64_t off_stored;
} tl_journal__scan;

/* Scans records from the segment header to `size`, stopping at the first bad one. When
 * `ix` is not NULL its sparse index is rebuilt (entries appended). Returns 0 (see r->bad)
 * or TL_EIO / TL_ENOMEM. */
int tl_journal__scan_segment(tl_journal__reader *rd, uint64_t size, uint64_t base, uint32_t max_rec,
                             tl_journal__seg *ix, tl_journal__scan *r);
/* Describes r->bad: "crc mismatch at byte N: stored 0x..., computed 0x..." with `file`
 * naming the segment. */
void tl_journal__describe(const tl_journal__scan *r, const char *file, char *out, size_t outlen);
int tl_journal__idx_push(tl_journal__seg *s, uint64_t off, uint64_t pos);

/* The group's committed offset for p: 0 (with *out 0 when never committed), TL_EINVAL for a
 * bad name or partition, TL_ECORRUPT (logged) when the offset file does not parse. */
int tl_journal__committed(tl_journal *j, const char *group, uint32_t p, uint64_t *out);

#endif
