/*
 * journal — a durable, partitioned, append-only log on local disk (a tiny Kafka).
 *
 * Layout of one journal directory:
 *
 *   <dir>/meta                       "tally-journal\nversion 1\npartitions N\n" (atomic replace)
 *   <dir>/lock                       flock()ed while a process has the journal open
 *   <dir>/p000/00000000000000000000.log   segment files of partition 0, named by the offset
 *   <dir>/p000/00000000000000052113.log   of their first record (20 decimal digits)
 *   <dir>/groups/<group>.<partition> committed offset of a consumer group, "1234\n"
 *
 * Segment file format (all integers little-endian):
 *
 *   segment header, 16 bytes
 *   +--------+------+------------------------------------------------------------+
 *   | offset | size | field                                                      |
 *   +--------+------+------------------------------------------------------------+
 *   |      0 |    4 | magic "TLJ1"                                               |
 *   |      4 |    4 | format version, 1                                          |
 *   |      8 |    8 | base offset: offset of the first record (= the file name)  |
 *   +--------+------+------------------------------------------------------------+
 *   then records, back to back, no padding:
 *   +--------+------+------------------------------------------------------------+
 *   |      0 |    4 | len: payload bytes, <= max_record_bytes                    |
 *   |      4 |    4 | crc: CRC32C over payload, then header bytes 0..3 and 8..15 |
 *   |      8 |    8 | offset of this record in its partition (base, base+1, ...) |
 *   |     16 |  len | payload                                                    |
 *   +--------+------+------------------------------------------------------------+
 *
 * The checksum covers the length and the offset as well as the payload, so a torn length, a
 * record copied to the wrong place and a flipped payload byte are all caught. Storing the
 * offset costs 8 bytes a record and buys self-checking reads: a reader seeking through a
 * sparse index knows it landed on the record it wanted.
 *
 * Recovery rule, applied at open to the LAST segment of each partition (the only file that
 * was being appended to): records are parsed from byte 16. At the first record that does not
 * check out — fewer than 16 header bytes left, a length over max_record_bytes, a payload that
 * runs past the end of the file, a CRC mismatch or an unexpected offset — every later byte
 * position is tried as a record start (length in range, fits in the file, offset not below
 * the expected one, CRC matches).
 *   - Nothing valid after it: a torn tail (a write cut short by a crash). The file is
 *     truncated to the end of the last good record (ftruncate + fdatasync) and the bytes
 *     removed are counted in truncated_bytes. Those records were never acknowledged under
 *     TL_FSYNC_ALWAYS: acks follow fdatasync, and fdatasync follows the whole write.
 *   - A valid record after it: corruption of acknowledged data. Open fails with TL_ECORRUPT
 *     and an errmsg naming the file, byte position and what was found; nothing is truncated.
 * A last segment shorter than its 16-byte header (a crash right after creating it) is reset
 * to a bare header. Older segments are sealed: only their headers are checked at open. Their
 * records are verified when a cursor first seeks into them (the scan that builds their
 * sparse index) and on every read; a bad record there makes cursor_next return TL_ECORRUPT.
 *
 * Append path: tl_journal_append encodes records straight into the partition's pending
 * buffer under j->mu (offset assignment, one memcpy per record; the payload CRC is computed
 * before taking the lock) and queues the done callback. Appenders block only when more than
 * TL_JOURNAL_MAX_PENDING bytes wait, which bounds memory when the disk falls behind.
 *
 * Commit thread (one per journal) = group commit: it sleeps until something is pending,
 * swaps the pending buffers and done queue for empty ones, write()s each partition's batch
 * with one pwrite per segment touched (rolling to a new segment at segment_bytes, only at
 * record boundaries), then under TL_FSYNC_ALWAYS fdatasyncs every file written (a new
 * segment also gets its directory fsynced when created), publishes the new durable ends,
 * wakes tl_journal_wait and calls the done callbacks in append order. It never sleeps while
 * work is pending, so batches form naturally: whatever arrives during one fdatasync is the
 * next batch. TL_FSYNC_INTERVAL acks after write() and fdatasyncs at most every
 * commit_interval_ms; TL_FSYNC_NEVER acks after write(). Rolling fdatasyncs the old segment
 * (except under NEVER) so that only the last segment can ever hold a torn tail.
 *
 * Sparse index: per segment, one (offset, file position) pair every TL_JOURNAL__INDEX_EVERY
 * records, built while writing or while scanning; cursors seek with a binary search and then
 * skip at most that many records.
 *
 * Retention (commit thread, about once a second, at open, and tl_journal_enforce_retention):
 * whole sealed segments are removed oldest first while the oldest was last written more than
 * retention_ms ago or the partition holds more than retention_bytes. The active segment is
 * never removed. "Last written" is the file's mtime at open and the write time afterwards.
 *
 * Failure: when a write or fdatasync fails the batch's callbacks get TL_EIO, the journal
 * stops accepting appends (they return TL_EIO) and the error is logged; what was written may
 * reappear after a restart but was never acknowledged.
 *
 * Cost: an append is a CRC pass and a memcpy; a commit is one pwrite and one fdatasync per
 * partition touched. Memory is the pending batch plus 16 bytes of index per 1024 records.
 */
#include "journal/journal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TL_JOURNAL_MAX_PENDING     (64u * 1024u * 1024u)
#define TL_JOURNAL_RETAIN_EVERY_MS 1000
#define TL_JOURNAL_MAX_PARTITIONS  1024u
#define TL_JOURNAL_KEEP_BUFFER     (4u * 1024u * 1024u)

/* ---------------------------------------------------------------- options */

void tl_journal_opts_default(tl_journal_opts *o)
{
    memset(o, 0, sizeof *o);
    o->partitions = 1;
    o->fsync = TL_FSYNC_ALWAYS;
    o->commit_interval_ms = 5;
    o->segment_bytes = 64ull * 1024 * 1024;
    o->retention_ms = 7ll * 24 * 3600 * 1000;
    o->retention_bytes = 0;
    o->max_record_bytes = 1024u * 1024u;
}

const char *tl_fsync_policy_name(tl_fsync_policy p)
{
    switch (p) {
    case TL_FSYNC_ALWAYS:
        return "always";
    case TL_FSYNC_INTERVAL:
        return "interval";
    case TL_FSYNC_NEVER:
        return "never";
    }
    return "unknown";
}

int tl_fsync_policy_parse(const char *s, tl_fsync_policy *out)
{
    if (!s)
        return TL_EINVAL;
    if (strcmp(s, "always") == 0)
        *out = TL_FSYNC_ALWAYS;
    else if (strcmp(s, "interval") == 0)
        *out = TL_FSYNC_INTERVAL;
    else if (strcmp(s, "never") == 0)
        *out = TL_FSYNC_NEVER;
    else
        return TL_EINVAL;
    return 0;
}

/* ---------------------------------------------------------------- small helpers */

static void set_err(char *errmsg, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *errmsg, size_t errlen, const char *fmt, ...)
{
    if (!errmsg || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, errlen, fmt, ap);
    va_end(ap);
}

int tl_journal__seg_path(const char *dir, uint32_t p, uint64_t base, char *out, size_t outlen)
{
    int n;
    if (dir)
        n = snprintf(out, outlen, "%s/p%03u/%020llu.log", dir, p, (unsigned long long)base);
    else
        n = snprintf(out, outlen, "p%03u/%020llu.log", p, (unsigned long long)base);
    return n < 0 || (size_t)n >= outlen ? TL_EINVAL : 0;
}

static int part_dir(const char *dir, uint32_t p, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/p%03u", dir, p);
    return n < 0 || (size_t)n >= outlen ? TL_EINVAL : 0;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t pos)
{
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return TL_EIO;
        }
        c += w;
        n -= (size_t)w;
        pos += (uint64_t)w;
    }
    return 0;
}

static int64_t mtime_ms_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static void abs_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a))
        return TL_ENOMEM;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &a) ? TL_ENOMEM : 0;
    pthread_condattr_destroy(&a);
    return rc;
}

/* ---------------------------------------------------------------- buffered reader */

void tl_journal__reader_init(tl_journal__reader *r, int fd)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
}

void tl_journal__reader_deinit(tl_journal__reader *r)
{
    tl_free(r->buf);
    r->buf = NULL;
    r->cap = r->blen = 0;
}

int tl_journal__reader_get(tl_journal__reader *r, uint64_t pos, size_t n, const uint8_t **out)
{
    if (pos >= r->bpos && pos + n <= r->bpos + r->blen) {
        *out = r->buf + (pos - r->bpos);
        return 0;
    }
    size_t want = TL_MAX(n, (size_t)TL_JOURNAL__READ_CHUNK);
    if (want > r->cap) {
        uint8_t *nb = tl_realloc(r->buf, want);
        if (!nb)
            return TL_ENOMEM;
        r->buf = nb;
        r->cap = want;
    }
    r->bpos = pos;
    r->blen = 0;
    while (r->blen < r->cap) {
        ssize_t got = pread(r->fd, r->buf + r->blen, r->cap - r->blen, (off_t)(pos + r->blen));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return TL_EIO;
        }
        if (got == 0)
            break;
        r->blen += (size_t)got;
        if (r->blen >= n)
            break;
    }
    if (r->blen < n)
        return TL_EAGAIN;
    *out = r->buf;
    return 0;
}

/* ---------------------------------------------------------------- scanning and index */

int tl_journal__idx_push(tl_journal__seg *s, uint64_t off, uint64_t pos)
{
    if (s->nidx == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        tl_journal__idx *n = tl_realloc(s->idx, cap * sizeof *n);
        if (!n)
            return TL_ENOMEM;
        s->idx = n;
        s->cap = cap;
    }
    s->idx[s->nidx++] = (tl_journal__idx){off, pos};
    return 0;
}

int tl_journal__scan_segment(tl_journal__reader *rd, uint64_t size, uint64_t base, uint32_t max_rec,
                             tl_journal__seg *ix, tl_journal__scan *r)
{
    memset(r, 0, sizeof *r);
    uint64_t pos = TL_JOURNAL__SEG_HDR, off = base;
    int rc = 0;
    for (;;) {
        if (pos >= size)
            break;
        if (size - pos < TL_JOURNAL__REC_HDR) {
            r->bad = TL_JOURNAL__SCAN_SHORT_HDR;
            break;
        }
        const uint8_t *h;
        rc = tl_journal__reader_get(rd, pos, TL_JOURNAL__REC_HDR, &h);
        if (rc)
            break;
        uint32_t len = tl_journal__le32(h);
        r->len = len;
        r->crc_stored = tl_journal__le32(h + 4);
        r->off_stored = tl_journal__le64(h + 8);
        if (len > max_rec) {
            r->bad = TL_JOURNAL__SCAN_BAD_LEN;
            break;
        }
        if (size - pos - TL_JOURNAL__REC_HDR < len) {
            r->bad = TL_JOURNAL__SCAN_SHORT_DATA;
            break;
        }
        rc = tl_journal__reader_get(rd, pos, TL_JOURNAL__REC_HDR + (size_t)len, &h);
        if (rc)
            break;
        uint32_t crc =
            tl_journal__rec_crc(tl_crc32c(0, h + TL_JOURNAL__REC_HDR, len), len, r->off_stored);
        if (crc != r->crc_stored) {
            r->crc_computed = crc;
            r->bad = TL_JOURNAL__SCAN_BAD_CRC;
            break;
        }
        if (r->off_stored != off) {
            r->bad = TL_JOURNAL__SCAN_BAD_OFFSET;
            break;
        }
        if (ix && (off - base) % TL_JOURNAL__INDEX_EVERY == 0) {
            rc = tl_journal__idx_push(ix, off, pos);
            if (rc)
                break;
        }
        pos += TL_JOURNAL__REC_HDR + (uint64_t)len;
        off++;
    }
    r->good_end = pos;
    r->next_off = off;
    if (rc == TL_EAGAIN) /* the file shrank under us */
        rc = TL_EIO;
    return rc;
}

void tl_journal__describe(const tl_journal__scan *r, const char *file, char *out, size_t outlen)
{
    unsigned long long at = (unsigned long long)r->good_end;
    switch (r->bad) {
    case TL_JOURNAL__SCAN_SHORT_HDR:
        snprintf(out, outlen, "incomplete record header at byte %llu of %s", at, file);
        break;
    case TL_JOURNAL__SCAN_BAD_LEN:
        snprintf(out, outlen, "bad record length at byte %llu of %s: %u is over the limit", at,
                 file, r->len);
        break;
    case TL_JOURNAL__SCAN_SHORT_DATA:
        snprintf(out, outlen, "record at byte %llu of %s: length %u runs past the end of the file",
                 at, file, r->len);
        break;
    case TL_JOURNAL__SCAN_BAD_CRC:
        snprintf(out, outlen, "crc mismatch at byte %llu of %s: stored 0x%08x, computed 0x%08x", at,
                 file, r->crc_stored, r->crc_computed);
        break;
    case TL_JOURNAL__SCAN_BAD_OFFSET:
        snprintf(out, outlen, "offset mismatch at byte %llu of %s: stored %llu, expected %llu", at,
                 file, (unsigned long long)r->off_stored, (unsigned long long)r->next_off);
        break;
    default:
        snprintf(out, outlen, "no error in %s", file);
    }
}

/* Is there a valid record starting anywhere in (from, size)? `min_off` is the offset the bad
 * record should have had; a later record cannot have a smaller one. */
static int valid_record_after(tl_journal__reader *rd, uint64_t size, uint64_t from,
                              uint64_t min_off, uint32_t max_rec, bool *found, uint64_t *at)
{
    *found = false;
    uint64_t max_records = (size - from) / TL_JOURNAL__REC_HDR + 1;
    for (uint64_t q = from + 1; q + TL_JOURNAL__REC_HDR <= size; q++) {
        const uint8_t *h;
        int rc = tl_journal__reader_get(rd, q, TL_JOURNAL__REC_HDR, &h);
        if (rc)
            return rc == TL_EAGAIN ? TL_EIO : rc;
        uint32_t len = tl_journal__le32(h);
        uint64_t off = tl_journal__le64(h + 8);
        if (len > max_rec || size - q - TL_JOURNAL__REC_HDR < len || off < min_off ||
            off - min_off > max_records)
            continue;
        uint32_t stored = tl_journal__le32(h + 4);
        rc = tl_journal__reader_get(rd, q, TL_JOURNAL__REC_HDR + (size_t)len, &h);
        if (rc)
            return rc == TL_EAGAIN ? TL_EIO : rc;
        if (tl_journal__rec_crc(tl_crc32c(0, h + TL_JOURNAL__REC_HDR, len), len, off) == stored) {
            *found = true;
            *at = q;
            return 0;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- segment files */

static void seg_free(tl_journal__seg *s)
{
    tl_free(s->idx);
    s->idx = NULL;
    s->nidx = s->cap = 0;
}

static int segs_push(tl_journal__part *pt, const tl_journal__seg *s)
{
    if (pt->nsegs == pt->cap) {
        size_t cap = pt->cap ? pt->cap * 2 : 8;
        tl_journal__seg *n = tl_realloc(pt->segs, cap * sizeof *n);
        if (!n)
            return TL_ENOMEM;
        pt->segs = n;
        pt->cap = cap;
    }
    pt->segs[pt->nsegs++] = *s;
    return 0;
}

static void seg_header(uint8_t h[TL_JOURNAL__SEG_HDR], uint64_t base)
{
    memcpy(h, TL_JOURNAL__MAGIC, 4);
    tl_journal__put32(h + 4, TL_JOURNAL__VERSION);
    tl_journal__put64(h + 8, base);
}

/* Creates a segment file holding just its header; returns its fd. */
static int seg_create(tl_journal *j, uint32_t p, uint64_t base, int *fd_out)
{
    char path[PATH_MAX], dir[PATH_MAX];
    if (tl_journal__seg_path(j->dir, p, base, path, sizeof path) ||
        part_dir(j->dir, p, dir, sizeof dir))
        return TL_EINVAL;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        tl_log(TL_LOG_ERROR, "journal: cannot create %s: %s", path, strerror(errno));
        return errno == EEXIST ? TL_EEXIST : TL_EIO;
    }
    uint8_t h[TL_JOURNAL__SEG_HDR];
    seg_header(h, base);
    int rc = pwrite_all(fd, h, sizeof h, 0);
    if (!rc && j->o.fsync != TL_FSYNC_NEVER) {
        if (fdatasync(fd) != 0 || tl_fsync_dir(dir) != 0)
            rc = TL_EIO;
        atomic_fetch_add_explicit(&j->st_syncs, 1, memory_order_relaxed);
    }
    if (rc) {
        close(fd);
        unlink(path);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment bases found in a partition directory, sorted. */
static int list_segments(const char *pdir, uint64_t **out, size_t *n_out)
{
    DIR *d = opendir(pdir);
    if (!d)
        return TL_EIO;
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
            continue;
        bool digits = true;
        for (int i = 0; i < 20; i++)
            digits = digits && name[i] >= '0' && name[i] <= '9';
        if (!digits)
            continue;
        char *end;
        errno = 0;
        unsigned long long base = strtoull(name, &end, 10);
        if (errno || end != name + 20)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = tl_realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = TL_ENOMEM;
                break;
            }
            v = nv;
        }
        v[n++] = base;
    }
    closedir(d);
    if (rc) {
        tl_free(v);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_u64);
    *out = v;
    *n_out = n;
    return 0;
}

/* ---------------------------------------------------------------- open and recovery */

static int read_meta(tl_journal *j, uint32_t *partitions, char *errmsg, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/meta", j->dir) >= (int)sizeof path)
        return TL_EINVAL;
    tl_buf b;
    tl_buf_init(&b);
    int rc = tl_read_file(path, &b);
    if (rc == TL_ENOTFOUND) {
        tl_buf_deinit(&b);
        *partitions = 0;
        return 0;
    }
    if (rc) {
        set_err(errmsg, errlen, "cannot read %s", path);
        goto out;
    }
    const char *s = b.ptr, *v;
    char *end;
    if (strncmp(s, "tally-journal\nversion ", 22) != 0) {
        rc = TL_ECORRUPT;
        set_err(errmsg, errlen, "%s: expected \"tally-journal\" header", path);
        goto out;
    }
    v = s + 22;
    unsigned long ver = strtoul(v, &end, 10);
    if (end == v || ver != TL_JOURNAL__VERSION) {
        rc = TL_ECORRUPT;
        set_err(errmsg, errlen, "%s: unsupported format version (expected %u)", path,
                TL_JOURNAL__VERSION);
        goto out;
    }
    if (strncmp(end, "\npartitions ", 12) != 0) {
        rc = TL_ECORRUPT;
        set_err(errmsg, errlen, "%s: expected a \"partitions\" line", path);
        goto out;
    }
    v = end + 12;
    unsigned long np = strtoul(v, &end, 10);
    if (end == v || np == 0 || np > TL_JOURNAL_MAX_PARTITIONS) {
        rc = TL_ECORRUPT;
        set_err(errmsg, errlen, "%s: bad partition count", path);
        goto out;
    }
    *partitions = (uint32_t)np;
out:
    tl_buf_deinit(&b);
    return rc;
}

static int write_meta(tl_journal *j)
{
    char path[PATH_MAX], text[128];
    if (snprintf(path, sizeof path, "%s/meta", j->dir) >= (int)sizeof path)
        return TL_EINVAL;
    int n = snprintf(text, sizeof text, "tally-journal\nversion %u\npartitions %u\n",
                     TL_JOURNAL__VERSION, j->np);
    return tl_write_file_atomic(path, text, (size_t)n);
}

/* Checks a segment's header. Returns 0, TL_EAGAIN when the file is shorter than a header,
 * TL_ECORRUPT (message set) or TL_EIO. */
static int check_header(int fd, uint64_t size, uint64_t base, const char *rel, char *errmsg,
                        size_t errlen)
{
    if (size < TL_JOURNAL__SEG_HDR)
        return TL_EAGAIN;
    uint8_t h[TL_JOURNAL__SEG_HDR];
    ssize_t got = pread(fd, h, sizeof h, 0);
    if (got != (ssize_t)sizeof h) {
        set_err(errmsg, errlen, "cannot read the header of %s", rel);
        return TL_EIO;
    }
    if (memcmp(h, TL_JOURNAL__MAGIC, 4) != 0) {
        set_err(errmsg, errlen, "bad magic at byte 0 of %s: expected \"TLJ1\"", rel);
        return TL_ECORRUPT;
    }
    uint32_t ver = tl_journal__le32(h + 4);
    if (ver != TL_JOURNAL__VERSION) {
        set_err(errmsg, errlen, "unsupported version at byte 4 of %s: found %u, expected %u", rel,
                ver, TL_JOURNAL__VERSION);
        return TL_ECORRUPT;
    }
    uint64_t hb = tl_journal__le64(h + 8);
    if (hb != base) {
        set_err(errmsg, errlen, "base offset at byte 8 of %s is %llu, expected %llu (file name)",
                rel, (unsigned long long)hb, (unsigned long long)base);
        return TL_ECORRUPT;
    }
    return 0;
}

/* Recovers the last segment of a partition: verify, truncate a torn tail, become active. */
static int recover_last(tl_journal *j, uint32_t p, tl_journal__seg *s, char *errmsg, size_t errlen)
{
    char path[PATH_MAX], rel[64];
    if (tl_journal__seg_path(j->dir, p, s->base, path, sizeof path))
        return TL_EINVAL;
    tl_journal__seg_path(NULL, p, s->base, rel, sizeof rel);
    tl_journal__part *pt = &j->parts[p];
    tl_journal__reader rd;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        set_err(errmsg, errlen, "cannot open %s: %s", rel, strerror(errno));
        return TL_EIO;
    }
    tl_journal__reader_init(&rd, fd);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = TL_EIO;
        set_err(errmsg, errlen, "cannot stat %s", rel);
        goto fail;
    }
    uint64_t size = (uint64_t)st.st_size;
    s->mtime_ms = mtime_ms_of(&st);
    rc = check_header(fd, size, s->base, rel, errmsg, errlen);
    if (rc == TL_EAGAIN) {
        /* created but its header never fully reached the disk: start it afresh */
        uint8_t h[TL_JOURNAL__SEG_HDR];
        seg_header(h, s->base);
        if (ftruncate(fd, 0) != 0 || pwrite_all(fd, h, sizeof h, 0) || fdatasync(fd) != 0) {
            rc = TL_EIO;
            set_err(errmsg, errlen, "cannot rewrite the header of %s", rel);
            goto fail;
        }
        atomic_fetch_add_explicit(&j->st_truncated, size, memory_order_relaxed);
        tl_log(TL_LOG_WARN, "journal: %s had an incomplete header (%llu bytes); reset", rel,
               (unsigned long long)size);
        size = TL_JOURNAL__SEG_HDR;
        rc = 0;
    }
    if (rc)
        goto fail;

    tl_journal__scan r;
    rc = tl_journal__scan_segment(&rd, size, s->base, j->o.max_record_bytes, s, &r);
    if (rc) {
        set_err(errmsg, errlen, "cannot read %s", rel);
        goto fail;
    }
    if (r.bad) {
        bool found = false;
        uint64_t at = 0;
        rc = valid_record_after(&rd, size, r.good_end, r.next_off, j->o.max_record_bytes, &found,
                                &at);
        if (rc) {
            set_err(errmsg, errlen, "cannot read %s", rel);
            goto fail;
        }
        char what[256];
        tl_journal__describe(&r, rel, what, sizeof what);
        if (found) {
            rc = TL_ECORRUPT;
            set_err(errmsg, errlen,
                    "%s; data follows (a valid record at byte %llu), refusing to truncate", what,
                    (unsigned long long)at);
            goto fail;
        }
        if (ftruncate(fd, (off_t)r.good_end) != 0 || fdatasync(fd) != 0) {
            rc = TL_EIO;
            set_err(errmsg, errlen, "cannot truncate %s to %llu bytes", rel,
                    (unsigned long long)r.good_end);
            goto fail;
        }
        atomic_fetch_add_explicit(&j->st_truncated, size - r.good_end, memory_order_relaxed);
        tl_log(TL_LOG_WARN, "journal: torn tail: %s; truncated %llu bytes", what,
               (unsigned long long)(size - r.good_end));
    }
    s->size = r.good_end;
    s->indexed = true;
    pt->fd = fd;
    pt->wsize = r.good_end;
    pt->wnext = r.next_off;
    pt->next_assign = r.next_off;
    atomic_store(&pt->durable_end, r.next_off);
    tl_journal__reader_deinit(&rd);
    return 0;
fail:
    tl_journal__reader_deinit(&rd);
    close(fd);
    return rc;
}

static int open_partition(tl_journal *j, uint32_t p, char *errmsg, size_t errlen)
{
    tl_journal__part *pt = &j->parts[p];
    char pdir[PATH_MAX];
    if (part_dir(j->dir, p, pdir, sizeof pdir))
        return TL_EINVAL;
    if (tl_mkdir_p(pdir)) {
        set_err(errmsg, errlen, "cannot create %s", pdir);
        return TL_EIO;
    }
    uint64_t *bases = NULL;
    size_t n = 0;
    int rc = list_segments(pdir, &bases, &n);
    if (rc) {
        set_err(errmsg, errlen, "cannot list %s", pdir);
        return rc;
    }
    if (n == 0) {
        int fd;
        rc = seg_create(j, p, 0, &fd);
        if (rc) {
            set_err(errmsg, errlen, "cannot create the first segment of partition %u", p);
            goto out;
        }
        tl_journal__seg s = {
            .base = 0, .size = TL_JOURNAL__SEG_HDR, .mtime_ms = tl_now_ms(), .indexed = true};
        rc = segs_push(pt, &s);
        if (rc) {
            close(fd);
            goto out;
        }
        pt->fd = fd;
        pt->wsize = TL_JOURNAL__SEG_HDR;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        tl_journal__seg s = {.base = bases[i]};
        rc = segs_push(pt, &s);
        if (rc)
            goto out;
    }
    /* sealed segments: header and size only; records are verified by readers */
    for (size_t i = 0; i + 1 < n; i++) {
        tl_journal__seg *s = &pt->segs[i];
        char path[PATH_MAX], rel[64];
        tl_journal__seg_path(j->dir, p, s->base, path, sizeof path);
        tl_journal__seg_path(NULL, p, s->base, rel, sizeof rel);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            set_err(errmsg, errlen, "cannot open %s", rel);
            rc = TL_EIO;
            goto out;
        }
        s->size = (uint64_t)st.st_size;
        s->mtime_ms = mtime_ms_of(&st);
        rc = check_header(fd, s->size, s->base, rel, errmsg, errlen);
        close(fd);
        if (rc == TL_EAGAIN) {
            set_err(errmsg, errlen, "%s is shorter than its %u-byte header (%llu bytes)", rel,
                    TL_JOURNAL__SEG_HDR, (unsigned long long)s->size);
            rc = TL_ECORRUPT;
        }
        if (rc)
            goto out;
    }
    rc = recover_last(j, p, &pt->segs[n - 1], errmsg, errlen);
out:
    tl_free(bases);
    if (!rc)
        atomic_store(&pt->oldest, pt->segs[0].base);
    return rc;
}

static void *commit_main(void *arg);
static int retain(tl_journal *j, uint64_t *removed);

int tl_journal_open(const tl_journal_opts *opts, tl_journal **out, char *errmsg, size_t errlen)
{
    set_err(errmsg, errlen, "%s", "");
    if (!opts || !out || !opts->dir || !opts->dir[0]) {
        set_err(errmsg, errlen, "journal: no directory given");
        return TL_EINVAL;
    }
    if (opts->partitions > TL_JOURNAL_MAX_PARTITIONS || opts->max_record_bytes == 0 ||
        opts->max_record_bytes > 0x7fffffffu || opts->segment_bytes < 1024 ||
        (unsigned)opts->fsync > TL_FSYNC_NEVER) {
        set_err(errmsg, errlen,
                "journal: bad options (partitions 1..%u, max_record_bytes 1..2^31-1, "
                "segment_bytes >= 1024, a known fsync policy)",
                TL_JOURNAL_MAX_PARTITIONS);
        return TL_EINVAL;
    }
    tl_journal *j = tl_calloc(1, sizeof *j);
    if (!j)
        return TL_ENOMEM;
    int rc = 0;
    j->lock_fd = -1;
    j->o = *opts;
    if (j->o.commit_interval_ms == 0)
        j->o.commit_interval_ms = 1;
    j->dir = tl_strndup(opts->dir, strlen(opts->dir));
    j->o.dir = j->dir;
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->wait_mu, NULL);
    pthread_mutex_init(&j->groups_mu, NULL);
    pthread_mutex_init(&j->retain_mu, NULL);
    if (!j->dir || cond_init_mono(&j->work_cv) || cond_init_mono(&j->space_cv) ||
        cond_init_mono(&j->wait_cv)) {
        /* a failed cond init leaves the others valid; destroying a zeroed cond is harmless */
        rc = TL_ENOMEM;
        goto fail;
    }

    char path[PATH_MAX];
    if (tl_mkdir_p(j->dir) || snprintf(path, sizeof path, "%s/groups", j->dir) >= PATH_MAX ||
        tl_mkdir_p(path)) {
        set_err(errmsg, errlen, "cannot create %s", j->dir);
        rc = TL_EIO;
        goto fail;
    }
    snprintf(path, sizeof path, "%s/lock", j->dir);
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->lock_fd < 0) {
        set_err(errmsg, errlen, "cannot open %s", path);
        rc = TL_EIO;
        goto fail;
    }
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        set_err(errmsg, errlen, "journal %s is already open (locked by another process)", j->dir);
        rc = TL_EEXIST;
        goto fail;
    }

    uint32_t np = 0;
    rc = read_meta(j, &np, errmsg, errlen);
    if (rc)
        goto fail;
    if (np == 0) {
        j->np = opts->partitions ? opts->partitions : 1;
        rc = write_meta(j);
        if (rc) {
            set_err(errmsg, errlen, "cannot write %s/meta", j->dir);
            goto fail;
        }
    } else {
        if (opts->partitions && opts->partitions != np) {
            set_err(errmsg, errlen,
                    "journal %s has %u partitions, %u requested (the count is fixed at creation)",
                    j->dir, np, opts->partitions);
            rc = TL_EINVAL;
            goto fail;
        }
        j->np = np;
    }
    j->o.partitions = j->np;

    j->parts = tl_calloc(j->np, sizeof *j->parts);
    if (!j->parts) {
        rc = TL_ENOMEM;
        goto fail;
    }
    for (uint32_t p = 0; p < j->np; p++) {
        j->parts[p].fd = -1;
        pthread_mutex_init(&j->parts[p].mu, NULL);
    }
    for (uint32_t p = 0; p < j->np; p++) {
        rc = open_partition(j, p, errmsg, errlen);
        if (rc)
            goto fail;
    }
    uint64_t removed = 0;
    rc = retain(j, &removed);
    if (rc) {
        set_err(errmsg, errlen, "retention at open failed");
        goto fail;
    }
    j->last_sync_ns = j->last_retain_ns = tl_mono_ns();
    if (pthread_create(&j->thread, NULL, commit_main, j) != 0) {
        set_err(errmsg, errlen, "cannot start the commit thread");
        rc = TL_ENOMEM;
        goto fail;
    }
    j->thread_started = true;
    *out = j;
    return 0;
fail:
    tl_journal_close(j);
    return rc;
}

uint32_t tl_journal_partitions(const tl_journal *j)
{
    return j->np;
}

/* ---------------------------------------------------------------- append */

/* Makes room for one more entry in the pending done queue. */
static int done_reserve(tl_journal *j)
{
    if (j->npend_done < j->cap_pend_done)
        return 0;
    size_t cap = j->cap_pend_done ? j->cap_pend_done * 2 : 64;
    tl_journal__done *n = tl_realloc(j->pend_done, cap * sizeof *n);
    if (!n)
        return TL_ENOMEM;
    j->pend_done = n;
    j->cap_pend_done = cap;
    return 0;
}

int tl_journal_append(tl_journal *j, const tl_journal_rec *recs, size_t n, tl_journal_done_fn done,
                      void *arg, uint64_t *offsets)
{
    if (!j || (n && !recs))
        return TL_EINVAL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].partition >= j->np || (recs[i].len && !recs[i].data))
            return TL_EINVAL;
        if (recs[i].len > j->o.max_record_bytes)
            return TL_ELIMIT;
        total += TL_JOURNAL__REC_HDR + recs[i].len;
    }
    /* payload checksums outside the lock; the header part is folded in once offsets exist */
    uint32_t small[64];
    uint32_t *crcs = small;
    if (n > TL_ARRAY_LEN(small)) {
        crcs = tl_malloc(n * sizeof *crcs);
        if (!crcs)
            return TL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        crcs[i] = tl_crc32c(0, recs[i].data, recs[i].len);

    int rc = 0;
    pthread_mutex_lock(&j->mu);
    while (!j->closing && !j->failed && j->pending_bytes > 0 &&
           j->pending_bytes + total > TL_JOURNAL_MAX_PENDING)
        pthread_cond_wait(&j->space_cv, &j->mu);
    if (j->closing) {
        rc = TL_ECLOSED;
        goto unlock;
    }
    if (j->failed) {
        rc = j->failed;
        goto unlock;
    }
    /* reserve everything first so that a failure leaves no half-queued append */
    for (size_t i = 0; i < n; i++)
        j->parts[recs[i].partition].need += TL_JOURNAL__REC_HDR + recs[i].len;
    for (size_t i = 0; i < n; i++) {
        tl_journal__part *pt = &j->parts[recs[i].partition];
        if (pt->need && !rc)
            rc = tl_buf_reserve(&pt->pending, pt->need);
        pt->need = 0;
    }
    if (!rc)
        rc = done_reserve(j);
    if (rc)
        goto unlock;
    for (size_t i = 0; i < n; i++) {
        tl_journal__part *pt = &j->parts[recs[i].partition];
        uint64_t off = pt->next_assign++;
        uint8_t h[TL_JOURNAL__REC_HDR];
        tl_journal__put32(h, recs[i].len);
        tl_journal__put32(h + 4, tl_journal__rec_crc(crcs[i], recs[i].len, off));
        tl_journal__put64(h + 8, off);
        tl_buf_append(&pt->pending, h, sizeof h); /* room reserved above: cannot fail */
        tl_buf_append(&pt->pending, recs[i].data, recs[i].len);
        if (offsets)
            offsets[i] = off;
    }
    j->pend_done[j->npend_done++] = (tl_journal__done){done, arg};
    j->pending_bytes += total;
    if (j->commit_idle)
        pthread_cond_signal(&j->work_cv);
unlock:
    pthread_mutex_unlock(&j->mu);
    if (crcs != small)
        tl_free(crcs);
    if (!rc) {
        atomic_fetch_add_explicit(&j->st_appends, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&j->st_records, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&j->st_bytes, total - n * TL_JOURNAL__REC_HDR,
                                  memory_order_relaxed);
    }
    return rc;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
} sync_wait;

static void sync_done(void *arg, int status)
{
    sync_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    w->status = status;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int tl_journal_append_sync(tl_journal *j, const tl_journal_rec *recs, size_t n, uint64_t *offsets)
{
    sync_wait w = {.done = false, .status = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = tl_journal_append(j, recs, n, sync_done, &w, offsets);
    if (!rc) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        rc = w.status;
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

/* ---------------------------------------------------------------- commit thread */

static int sync_fd(tl_journal *j, int fd)
{
    atomic_fetch_add_explicit(&j->st_syncs, 1, memory_order_relaxed);
    return fdatasync(fd) == 0 ? 0 : TL_EIO;
}

/* Seals the active segment of p and starts a new one at p->wnext. */
static int roll(tl_journal *j, uint32_t p)
{
    tl_journal__part *pt = &j->parts[p];
    if (j->o.fsync != TL_FSYNC_NEVER && pt->dirty) {
        if (sync_fd(j, pt->fd))
            return TL_EIO;
        pt->dirty = false;
    }
    int fd;
    int rc = seg_create(j, p, pt->wnext, &fd);
    if (rc)
        return rc;
    tl_journal__seg s = {
        .base = pt->wnext, .size = TL_JOURNAL__SEG_HDR, .mtime_ms = tl_now_ms(), .indexed = true};
    pthread_mutex_lock(&pt->mu);
    rc = segs_push(pt, &s);
    pthread_mutex_unlock(&pt->mu);
    if (rc) {
        close(fd);
        return rc;
    }
    close(pt->fd);
    pt->fd = fd;
    pt->wsize = TL_JOURNAL__SEG_HDR;
    return 0;
}

/* Writes partition p's in-flight batch, rolling segments at record boundaries. */
static int write_batch(tl_journal *j, uint32_t p)
{
    tl_journal__part *pt = &j->parts[p];
    const uint8_t *data = (const uint8_t *)pt->inflight.ptr;
    size_t len = pt->inflight.len, pos = 0;
    while (pos < len) {
        /* take whole records while they fit; an empty segment takes at least one */
        size_t end = pos;
        uint64_t first_off = tl_journal__le64(data + pos + 8);
        while (end < len) {
            size_t rl = TL_JOURNAL__REC_HDR + tl_journal__le32(data + end);
            bool empty = pt->wsize == TL_JOURNAL__SEG_HDR && end == pos;
            if (!empty && pt->wsize + (end - pos) + rl > j->o.segment_bytes)
                break;
            end += rl;
        }
        if (end == pos) {
            int rc = roll(j, p);
            if (rc)
                return rc;
            continue;
        }
        if (pwrite_all(pt->fd, data + pos, end - pos, pt->wsize))
            return TL_EIO;
        /* publish sizes and index entries of what was written (not yet readable) */
        uint64_t fpos = pt->wsize, off = first_off;
        pthread_mutex_lock(&pt->mu);
        tl_journal__seg *s = &pt->segs[pt->nsegs - 1];
        int rc = 0;
        for (size_t q = pos; q < end; off++) {
            if ((off - s->base) % TL_JOURNAL__INDEX_EVERY == 0 && !rc)
                rc = tl_journal__idx_push(s, off, fpos + (q - pos));
            q += TL_JOURNAL__REC_HDR + tl_journal__le32(data + q);
        }
        s->size = pt->wsize + (end - pos);
        s->mtime_ms = tl_now_ms();
        if (rc) /* out of memory for the index: seeks into this segment scan it */
            s->indexed = false;
        pthread_mutex_unlock(&pt->mu);
        pt->wsize += end - pos;
        pt->wnext = off;
        pt->dirty = true;
        pos = end;
    }
    return 0;
}

typedef struct {
    pthread_t th;
    int fd;
    int rc;
    bool started;
} sync_job;

static void *sync_job_main(void *arg)
{
    sync_job *s = arg;
    s->rc = fdatasync(s->fd) == 0 ? 0 : TL_EIO;
    return NULL;
}

/* fdatasyncs every dirty active segment. With several, they run in parallel: the file
 * system folds concurrent syncs into one journal commit and one cache flush (measured ~3x
 * faster than one after the other for 4 files), which is most of a group commit's latency.
 * A thread per extra file and commit costs tens of microseconds against milliseconds. */
static int sync_dirty(tl_journal *j)
{
    enum { MAX_PAR = 16 };
    sync_job jobs[MAX_PAR];
    uint32_t idx[MAX_PAR];
    size_t n = 0;
    int rc = 0;
    for (uint32_t p = 0; p < j->np; p++) {
        if (!j->parts[p].dirty)
            continue;
        if (n == MAX_PAR) { /* more dirty files than helpers: the rest one by one */
            if (sync_fd(j, j->parts[p].fd))
                rc = TL_EIO;
            else
                j->parts[p].dirty = false;
            continue;
        }
        jobs[n] = (sync_job){.fd = j->parts[p].fd, .rc = 0, .started = false};
        idx[n++] = p;
    }
    for (size_t i = 1; i < n; i++)
        jobs[i].started = pthread_create(&jobs[i].th, NULL, sync_job_main, &jobs[i]) == 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !jobs[i].started)
            sync_job_main(&jobs[i]);
        else
            pthread_join(jobs[i].th, NULL);
        atomic_fetch_add_explicit(&j->st_syncs, 1, memory_order_relaxed);
        if (jobs[i].rc)
            rc = jobs[i].rc;
        else
            j->parts[idx[i]].dirty = false;
    }
    j->last_sync_ns = tl_mono_ns();
    return rc;
}

/* Writes (and per policy syncs) the swapped-out batch; returns the status for its callbacks. */
static int commit_batch(tl_journal *j)
{
    int rc = j->failed;
    bool wrote = false;
    for (uint32_t p = 0; p < j->np && !rc; p++) {
        if (j->parts[p].inflight.len) {
            rc = write_batch(j, p);
            wrote = true;
        }
    }
    if (!rc && j->o.fsync == TL_FSYNC_ALWAYS)
        rc = sync_dirty(j);
    else if (!rc && j->o.fsync == TL_FSYNC_INTERVAL &&
             tl_mono_ns() - j->last_sync_ns >= (int64_t)j->o.commit_interval_ms * 1000000)
        rc = sync_dirty(j);
    if (!rc && wrote) {
        for (uint32_t p = 0; p < j->np; p++) {
            tl_journal__part *pt = &j->parts[p];
            if (pt->inflight.len)
                atomic_store_explicit(&pt->durable_end, pt->wnext, memory_order_release);
        }
        j->wake_readers = true; /* after the done callbacks: see commit_main */
    }
    for (uint32_t p = 0; p < j->np; p++) {
        /* keep the buffer for the next batch, unless a burst left it far larger than needed */
        tl_buf *b = &j->parts[p].inflight;
        if (b->cap > TL_JOURNAL_KEEP_BUFFER && b->len < b->cap / 8)
            tl_buf_deinit(b);
        else
            tl_buf_reset(b);
    }
    atomic_fetch_add_explicit(&j->st_commits, 1, memory_order_relaxed);
    if (rc && !j->failed) {
        tl_log(TL_LOG_ERROR, "journal %s: write or fdatasync failed (%s); refusing appends", j->dir,
               strerror(errno));
        pthread_mutex_lock(&j->mu);
        j->failed = rc;
        pthread_cond_broadcast(&j->space_cv);
        pthread_mutex_unlock(&j->mu);
    }
    return rc;
}

static void housekeeping(tl_journal *j)
{
    int64_t now = tl_mono_ns();
    if (j->o.fsync == TL_FSYNC_INTERVAL &&
        now - j->last_sync_ns >= (int64_t)j->o.commit_interval_ms * 1000000) {
        bool any = false;
        for (uint32_t p = 0; p < j->np; p++)
            any = any || j->parts[p].dirty;
        if (any && sync_dirty(j)) {
            tl_log(TL_LOG_ERROR, "journal %s: interval fdatasync failed", j->dir);
            pthread_mutex_lock(&j->mu);
            j->failed = TL_EIO;
            pthread_mutex_unlock(&j->mu);
        }
    }
    if ((j->o.retention_ms > 0 || j->o.retention_bytes > 0) &&
        now - j->last_retain_ns >= (int64_t)TL_JOURNAL_RETAIN_EVERY_MS * 1000000) {
        uint64_t removed;
        retain(j, &removed);
        j->last_retain_ns = now;
    }
}

static void *commit_main(void *arg)
{
    tl_journal *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        if (j->npend_done == 0 && !j->closing) {
            /* idle: sleep until an append, or until housekeeping is due */
            struct timespec ts;
            int64_t wait_ms = TL_JOURNAL_RETAIN_EVERY_MS;
            if (j->o.fsync == TL_FSYNC_INTERVAL)
                wait_ms = TL_MIN(wait_ms, (int64_t)j->o.commit_interval_ms);
            abs_deadline(&ts, wait_ms);
            j->commit_idle = true;
            pthread_cond_timedwait(&j->work_cv, &j->mu, &ts);
            j->commit_idle = false;
        }
        bool closing = j->closing;
        size_t ndone = j->npend_done;
        if (ndone) {
            for (uint32_t p = 0; p < j->np; p++) {
                tl_buf t = j->parts[p].pending;
                j->parts[p].pending = j->parts[p].inflight;
                j->parts[p].inflight = t;
            }
            tl_journal__done *td = j->pend_done;
            size_t tc = j->cap_pend_done;
            j->pend_done = j->fly_done;
            j->cap_pend_done = j->cap_fly_done;
            j->fly_done = td;
            j->cap_fly_done = tc;
            j->nfly_done = ndone;
            j->npend_done = 0;
            j->pending_bytes = 0;
            pthread_cond_broadcast(&j->space_cv);
        }
        pthread_mutex_unlock(&j->mu);

        if (ndone) {
            int status = commit_batch(j);
            /* producers first: their answers wait on this thread, readers are woken after
             * (on two cores, waking the stream first delays every answer of the commit) */
            for (size_t i = 0; i < j->nfly_done; i++)
                if (j->fly_done[i].fn)
                    j->fly_done[i].fn(j->fly_done[i].arg, status);
            j->nfly_done = 0;
            if (j->wake_readers) {
                j->wake_readers = false;
                pthread_mutex_lock(&j->wait_mu);
                j->wait_counter++;
                pthread_cond_broadcast(&j->wait_cv);
                pthread_mutex_unlock(&j->wait_mu);
            }
        }
        housekeeping(j);

        pthread_mutex_lock(&j->mu);
        if (closing && j->npend_done == 0)
            break;
    }
    pthread_mutex_unlock(&j->mu);
    if (!j->failed)
        sync_dirty(j);
    return NULL;
}

/* ---------------------------------------------------------------- close, bounds, stats */

void tl_journal_close(tl_journal *j)
{
    if (!j)
        return;
    if (j->thread_started) {
        pthread_mutex_lock(&j->mu);
        j->closing = true;
        pthread_cond_broadcast(&j->work_cv);
        pthread_cond_broadcast(&j->space_cv);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->thread, NULL);
    }
    pthread_mutex_lock(&j->wait_mu);
    j->wait_closing = true;
    pthread_cond_broadcast(&j->wait_cv);
    pthread_mutex_unlock(&j->wait_mu);
    if (j->parts) {
        for (uint32_t p = 0; p < j->np; p++) {
            tl_journal__part *pt = &j->parts[p];
            if (pt->fd >= 0)
                close(pt->fd);
            for (size_t i = 0; i < pt->nsegs; i++)
                seg_free(&pt->segs[i]);
            tl_free(pt->segs);
            tl_buf_deinit(&pt->pending);
            tl_buf_deinit(&pt->inflight);
            pthread_mutex_destroy(&pt->mu);
        }
        tl_free(j->parts);
    }
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    tl_free(j->pend_done);
    tl_free(j->fly_done);
    pthread_cond_destroy(&j->work_cv);
    pthread_cond_destroy(&j->space_cv);
    pthread_cond_destroy(&j->wait_cv);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->wait_mu);
    pthread_mutex_destroy(&j->groups_mu);
    pthread_mutex_destroy(&j->retain_mu);
    tl_free(j->dir);
    tl_free(j);
}

void tl_journal_bounds(tl_journal *j, uint32_t p, uint64_t *oldest, uint64_t *next)
{
    if (p >= j->np) {
        *oldest = *next = 0;
        return;
    }
    tl_journal__part *pt = &j->parts[p];
    /* read next first: oldest only grows, so oldest <= next holds for the pair */
    uint64_t nx = atomic_load_explicit(&pt->durable_end, memory_order_acquire);
    uint64_t ol = atomic_load_explicit(&pt->oldest, memory_order_acquire);
    *next = nx;
    *oldest = TL_MIN(ol, nx);
}

uint64_t tl_journal_wait(tl_journal *j, uint64_t seen, int timeout_ms)
{
    struct timespec ts;
    if (timeout_ms >= 0)
        abs_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&j->wait_mu);
    while (j->wait_counter == seen && !j->wait_closing) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&j->wait_cv, &j->wait_mu);
        } else if (timeout_ms == 0 ||
                   pthread_cond_timedwait(&j->wait_cv, &j->wait_mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    uint64_t v = j->wait_counter;
    pthread_mutex_unlock(&j->wait_mu);
    return v;
}

void tl_journal_get_stats(tl_journal *j, tl_journal_stats *out)
{
    memset(out, 0, sizeof *out);
    out->appends = atomic_load_explicit(&j->st_appends, memory_order_relaxed);
    out->records = atomic_load_explicit(&j->st_records, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&j->st_bytes, memory_order_relaxed);
    out->syncs = atomic_load_explicit(&j->st_syncs, memory_order_relaxed);
    out->commits = atomic_load_explicit(&j->st_commits, memory_order_relaxed);
    out->segments_removed = atomic_load_explicit(&j->st_removed, memory_order_relaxed);
    out->truncated_bytes = atomic_load_explicit(&j->st_truncated, memory_order_relaxed);
    for (uint32_t p = 0; p < j->np; p++) {
        pthread_mutex_lock(&j->parts[p].mu);
        out->segments += j->parts[p].nsegs;
        pthread_mutex_unlock(&j->parts[p].mu);
    }
}

/* ---------------------------------------------------------------- retention */

static int retain_partition(tl_journal *j, uint32_t p, int64_t now_ms, uint64_t *removed)
{
    tl_journal__part *pt = &j->parts[p];
    pthread_mutex_lock(&pt->mu);
    uint64_t total = 0;
    for (size_t i = 0; i < pt->nsegs; i++)
        total += pt->segs[i].size;
    size_t k = 0;
    while (k + 1 < pt->nsegs) {
        const tl_journal__seg *s = &pt->segs[k];
        bool old = j->o.retention_ms > 0 && now_ms - s->mtime_ms > j->o.retention_ms;
        bool big = j->o.retention_bytes > 0 && total > j->o.retention_bytes;
        if (!old && !big)
            break;
        total -= s->size;
        k++;
    }
    uint64_t *gone = NULL;
    if (k) {
        gone = tl_malloc(k * sizeof *gone);
        if (!gone) {
            pthread_mutex_unlock(&pt->mu);
            return TL_ENOMEM;
        }
        for (size_t i = 0; i < k; i++) {
            gone[i] = pt->segs[i].base;
            seg_free(&pt->segs[i]);
        }
        memmove(pt->segs, pt->segs + k, (pt->nsegs - k) * sizeof *pt->segs);
        pt->nsegs -= k;
        atomic_store_explicit(&pt->oldest, pt->segs[0].base, memory_order_release);
    }
    pthread_mutex_unlock(&pt->mu);
    if (!k)
        return 0;
    /* cursors holding these files keep reading their open fds; new lookups skip ahead */
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        char path[PATH_MAX];
        tl_journal__seg_path(j->dir, p, gone[i], path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            tl_log(TL_LOG_WARN, "journal: cannot remove %s: %s", path, strerror(errno));
            rc = TL_EIO;
        }
    }
    char pdir[PATH_MAX];
    part_dir(j->dir, p, pdir, sizeof pdir);
    tl_fsync_dir(pdir);
    tl_free(gone);
    *removed += k;
    atomic_fetch_add_explicit(&j->st_removed, k, memory_order_relaxed);
    return rc;
}

static int retain(tl_journal *j, uint64_t *removed)
{
    *removed = 0;
    if (j->o.retention_ms <= 0 && j->o.retention_bytes == 0)
        return 0;
    int rc = 0;
    int64_t now = tl_now_ms();
    pthread_mutex_lock(&j->retain_mu);
    for (uint32_t p = 0; p < j->np; p++) {
        int r = retain_partition(j, p, now, removed);
        if (r && !rc)
            rc = r;
    }
    pthread_mutex_unlock(&j->retain_mu);
    return rc;
}

int tl_journal_enforce_retention(tl_journal *j, uint64_t *removed)
{
    uint64_t n = 0;
    int rc = retain(j, &n);
    if (removed)
        *removed = n;
    return rc;
}

/* ---------------------------------------------------------------- consumer groups */

static bool group_ok(const char *g)
{
    if (!g)
        return false;
    size_t n = strlen(g);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = g[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int group_path(tl_journal *j, const char *group, uint32_t p, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/groups/%s.%u", j->dir, group, p);
    return n < 0 || (size_t)n >= outlen ? TL_EINVAL : 0;
}

int tl_journal_commit(tl_journal *j, const char *group, uint32_t p, uint64_t next_offset)
{
    char path[PATH_MAX], text[32];
    if (!j || !group_ok(group) || p >= j->np || group_path(j, group, p, path, sizeof path))
        return TL_EINVAL;
    int n = snprintf(text, sizeof text, "%llu\n", (unsigned long long)next_offset);
    pthread_mutex_lock(&j->groups_mu); /* one writer per .tmp file */
    int rc = tl_write_file_atomic(path, text, (size_t)n);
    pthread_mutex_unlock(&j->groups_mu);
    return rc;
}

int tl_journal__committed(tl_journal *j, const char *group, uint32_t p, uint64_t *out)
{
    char path[PATH_MAX];
    *out = 0;
    if (!j || !group_ok(group) || p >= j->np || group_path(j, group, p, path, sizeof path))
        return TL_EINVAL;
    tl_buf b;
    tl_buf_init(&b);
    int rc = tl_read_file(path, &b);
    if (rc == TL_ENOTFOUND) {
        rc = 0;
    } else if (!rc) {
        char *end;
        errno = 0;
        unsigned long long v = b.len ? strtoull(b.ptr, &end, 10) : 0;
        if (!b.len || errno || end == b.ptr || *end != '\n') {
            tl_log(TL_LOG_WARN, "journal: %s: expected a decimal offset; starting at 0", path);
            rc = TL_ECORRUPT;
        } else {
            *out = v;
        }
    }
    tl_buf_deinit(&b);
    return rc;
}

uint64_t tl_journal_committed(tl_journal *j, const char *group, uint32_t p)
{
    uint64_t v;
    tl_journal__committed(j, group, p, &v);
    return v;
}
