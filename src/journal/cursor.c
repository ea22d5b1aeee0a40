/*
 * Journal cursors: read one partition's durable records in offset order.
 *
 * A cursor owns an fd on the segment it is reading and a read-ahead buffer
 * (TL_JOURNAL__READ_CHUNK bytes, grown to the largest record); records are handed out as
 * pointers into that buffer, valid until the next call. Each call compares the wanted
 * offset with the partition's durable end (an atomic load, no lock): records past it may be
 * written but are not yet acknowledged, so they are never returned.
 *
 * Finding a record (locate): under the partition lock, binary-search the segment list for
 * the last segment whose base <= offset, then its sparse index for the last entry <= offset,
 * and open the file (still under the lock, so retention cannot unlink it in between); then
 * skip forward at most TL_JOURNAL__INDEX_EVERY record headers. A sealed segment that has no
 * index yet (it was already sealed at open) is scanned once, outside the lock, verifying every
 * record, and the index built is installed for later seeks.
 *
 * Every record read is checked: length within max_record_bytes, CRC, and the stored offset
 * equal to the wanted one. A mismatch is TL_ECORRUPT (logged once per cursor with the file
 * and byte position). Reaching the end of a segment file while the wanted offset is durable
 * means the segment was rolled: the cursor re-locates, which must land on a segment starting
 * exactly there. When retention removes segments below the cursor, the next call moves it to
 * the oldest retained offset.
 */
#include "journal/journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tl_journal_cursor {
    tl_journal *j;
    uint32_t p;
    uint64_t off;      /* offset the next call returns */
    int fd;            /* the segment being read, -1 when none */
    uint64_t seg_base; /* its base offset */
    uint64_t pos;      /* byte position of record `off` in it */
    bool reported;     /* corruption already logged */
    tl_journal__reader rd;
};

static int corrupt(tl_journal_cursor *c, const char *what, uint64_t at)
{
    if (!c->reported) {
        char rel[64];
        tl_journal__seg_path(NULL, c->p, c->seg_base, rel, sizeof rel);
        tl_log(TL_LOG_ERROR, "journal %s: %s at byte %llu of %s (reading offset %llu)", c->j->dir,
               what, (unsigned long long)at, rel, (unsigned long long)c->off);
        c->reported = true;
    }
    return TL_ECORRUPT;
}

static void drop_segment(tl_journal_cursor *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rd.fd = -1;
    c->rd.blen = 0;
}

/* Last index entry at or below off (entries are sorted by offset). */
static void idx_hint(const tl_journal__seg *s, uint64_t off, uint64_t *hoff, uint64_t *hpos)
{
    *hoff = s->base;
    *hpos = TL_JOURNAL__SEG_HDR;
    size_t lo = 0, hi = s->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->idx[mid].off <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        *hoff = s->idx[lo - 1].off;
        *hpos = s->idx[lo - 1].pos;
    }
}

/* Scans a sealed segment that has no index yet, verifying it, and installs the index. */
static int index_sealed(tl_journal_cursor *c, uint64_t next_base, uint64_t *hoff, uint64_t *hpos)
{
    tl_journal *j = c->j;
    tl_journal__part *pt = &j->parts[c->p];
    struct stat st;
    if (fstat(c->fd, &st) != 0)
        return TL_EIO;
    tl_journal__seg tmp = {.base = c->seg_base};
    tl_journal__scan r;
    int rc = tl_journal__scan_segment(&c->rd, (uint64_t)st.st_size, c->seg_base,
                                      j->o.max_record_bytes, &tmp, &r);
    if (rc)
        goto out;
    if (r.bad) {
        char rel[64], what[256];
        tl_journal__seg_path(NULL, c->p, c->seg_base, rel, sizeof rel);
        tl_journal__describe(&r, rel, what, sizeof what);
        tl_log(TL_LOG_ERROR, "journal %s: %s (sealed segment)", j->dir, what);
        c->reported = true;
        rc = TL_ECORRUPT;
        goto out;
    }
    if (next_base != UINT64_MAX && r.next_off != next_base) {
        rc = corrupt(c, "segment ends at the wrong offset", r.good_end);
        goto out;
    }
    idx_hint(&tmp, c->off, hoff, hpos);
    pthread_mutex_lock(&pt->mu);
    for (size_t i = 0; i < pt->nsegs; i++) {
        tl_journal__seg *s = &pt->segs[i];
        if (s->base == c->seg_base && !s->indexed) {
            tl_free(s->idx);
            s->idx = tmp.idx;
            s->nidx = tmp.nidx;
            s->cap = tmp.cap;
            s->indexed = true;
            tmp.idx = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&pt->mu);
out:
    tl_free(tmp.idx);
    return rc;
}

/* Opens the segment holding c->off and positions c->pos on that record. */
static int locate(tl_journal_cursor *c)
{
    tl_journal *j = c->j;
    tl_journal__part *pt = &j->parts[c->p];
    drop_segment(c);

    pthread_mutex_lock(&pt->mu);
    if (c->off < pt->segs[0].base)
        c->off = pt->segs[0].base;
    size_t lo = 0, hi = pt->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pt->segs[mid].base <= c->off)
            lo = mid + 1;
        else
            hi = mid;
    }
    const tl_journal__seg *s = &pt->segs[lo - 1];
    uint64_t next_base = lo < pt->nsegs ? pt->segs[lo].base : UINT64_MAX;
    bool indexed = s->indexed;
    uint64_t hoff, hpos;
    idx_hint(s, c->off, &hoff, &hpos);
    c->seg_base = s->base;
    char path[PATH_MAX];
    int fd = -1;
    if (tl_journal__seg_path(j->dir, c->p, s->base, path, sizeof path) == 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    int err = errno;
    pthread_mutex_unlock(&pt->mu);
    if (fd < 0) {
        tl_log(TL_LOG_ERROR, "journal: cannot open %s: %s", path, strerror(err));
        return TL_EIO;
    }
    c->fd = fd;
    c->rd.fd = fd;
    c->rd.blen = 0;

    if (!indexed && c->off > c->seg_base) {
        int rc = index_sealed(c, next_base, &hoff, &hpos);
        if (rc)
            return rc;
    }
    while (hoff < c->off) {
        const uint8_t *h;
        int rc = tl_journal__reader_get(&c->rd, hpos, TL_JOURNAL__REC_HDR, &h);
        if (rc == TL_EAGAIN)
            return corrupt(c, "file ends while seeking", hpos);
        if (rc)
            return rc;
        uint32_t len = tl_journal__le32(h);
        if (tl_journal__le64(h + 8) != hoff || len > j->o.max_record_bytes)
            return corrupt(c, "bad record header while seeking", hpos);
        hpos += TL_JOURNAL__REC_HDR + (uint64_t)len;
        hoff++;
    }
    c->pos = hpos;
    return 0;
}

int tl_journal_cursor_open_at(tl_journal *j, uint32_t p, uint64_t offset, tl_journal_cursor **out)
{
    if (!j || !out || p >= j->np)
        return TL_EINVAL;
    tl_journal_cursor *c = tl_calloc(1, sizeof *c);
    if (!c)
        return TL_ENOMEM;
    uint64_t oldest, next;
    tl_journal_bounds(j, p, &oldest, &next);
    c->j = j;
    c->p = p;
    c->off = TL_MIN(TL_MAX(offset, oldest), next);
    c->fd = -1;
    tl_journal__reader_init(&c->rd, -1);
    *out = c;
    return 0;
}

int tl_journal_cursor_open(tl_journal *j, const char *group, uint32_t p, tl_journal_cursor **out)
{
    uint64_t committed;
    int rc = tl_journal__committed(j, group, p, &committed);
    if (rc == TL_ECORRUPT)
        committed = 0;
    else if (rc)
        return rc;
    return tl_journal_cursor_open_at(j, p, committed, out);
}

void tl_journal_cursor_close(tl_journal_cursor *c)
{
    if (!c)
        return;
    drop_segment(c);
    tl_journal__reader_deinit(&c->rd);
    tl_free(c);
}

int tl_journal_cursor_next(tl_journal_cursor *c, const void **data, uint32_t *len, uint64_t *offset)
{
    tl_journal__part *pt = &c->j->parts[c->p];
    uint64_t end = atomic_load_explicit(&pt->durable_end, memory_order_acquire);
    uint64_t oldest = atomic_load_explicit(&pt->oldest, memory_order_acquire);
    if (c->off < oldest) {
        c->off = oldest;
        drop_segment(c);
    }
    if (c->off >= end)
        return 0;
    for (int tries = 0;; tries++) {
        if (c->fd < 0) {
            int rc = locate(c);
            if (rc)
                return rc;
            if (c->off >= end)
                return 0;
        }
        const uint8_t *h;
        int rc = tl_journal__reader_get(&c->rd, c->pos, TL_JOURNAL__REC_HDR, &h);
        if (rc == TL_EAGAIN && tries == 0) {
            /* this segment is complete and the record is durable: it was rolled */
            drop_segment(c);
            continue;
        }
        if (rc == TL_EAGAIN)
            return corrupt(c, "durable record missing (file too short)", c->pos);
        if (rc)
            return rc;
        uint32_t n = tl_journal__le32(h);
        if (n > c->j->o.max_record_bytes)
            return corrupt(c, "record length over the limit", c->pos);
        rc = tl_journal__reader_get(&c->rd, c->pos, TL_JOURNAL__REC_HDR + (size_t)n, &h);
        if (rc == TL_EAGAIN)
            return corrupt(c, "durable record cut short", c->pos);
        if (rc)
            return rc;
        uint32_t stored = tl_journal__le32(h + 4);
        uint64_t roff = tl_journal__le64(h + 8);
        if (tl_journal__rec_crc(tl_crc32c(0, h + TL_JOURNAL__REC_HDR, n), n, roff) != stored)
            return corrupt(c, "crc mismatch", c->pos);
        if (roff != c->off)
            return corrupt(c, "offset mismatch", c->pos);
        *data = h + TL_JOURNAL__REC_HDR;
        *len = n;
        *offset = roff;
        c->pos += TL_JOURNAL__REC_HDR + (uint64_t)n;
        c->off++;
        return 1;
    }
}
