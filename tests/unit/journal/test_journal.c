/* Unit tests for src/journal: append and read back, segments, reopen, group commit under
 * concurrency, consumer groups, torn-tail recovery, corruption refusal, retention, limits, and
 * a kill -9 crash test. Every test works on real files in its own mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "journal/journal.h"

/* ---------------------------------------------------------------- helpers */

typedef struct {
    char dir[64];
    size_t alloc_before;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tl_journal_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->alloc_before = tl_alloc_used();
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    /* everything the journal allocated was freed */
    size_t after = tl_alloc_used();
    size_t before = f->alloc_before;
    free(f);
    return after == before ? 0 : -1;
}

static tl_journal_opts base_opts(const fixture *f, tl_fsync_policy pol)
{
    tl_journal_opts o;
    tl_journal_opts_default(&o);
    o.dir = f->dir;
    o.partitions = 3;
    o.fsync = pol;
    return o;
}

static tl_journal *must_open(const tl_journal_opts *o)
{
    tl_journal *j = NULL;
    char err[512];
    int rc = tl_journal_open(o, &j, err, sizeof err);
    if (rc)
        fail_msg("open failed (%d): %s", rc, err);
    return j;
}

/* A payload fully determined by seed: length and bytes. */
static uint32_t payload_len(uint64_t seed, uint32_t maxlen)
{
    return (uint32_t)(1 + (seed * 2654435761u) % maxlen);
}

static void fill_payload(uint8_t *buf, uint32_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (uint32_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    if (len >= 8)
        memcpy(buf, &seed, 8);
}

static void check_payload(const void *data, uint32_t len, uint64_t seed, uint32_t maxlen)
{
    uint8_t want[4096];
    assert_int_equal(len, payload_len(seed, maxlen));
    fill_payload(want, len, seed);
    assert_memory_equal(data, want, len);
}

/* Appends one record of seed `seed` to partition p synchronously; returns its offset. */
static uint64_t put(tl_journal *j, uint32_t p, uint64_t seed, uint32_t maxlen)
{
    uint8_t buf[4096];
    uint32_t len = payload_len(seed, maxlen);
    fill_payload(buf, len, seed);
    tl_journal_rec r = {p, buf, len};
    uint64_t off = UINT64_MAX;
    assert_int_equal(tl_journal_append_sync(j, &r, 1, &off), 0);
    return off;
}

static void seg_file(const fixture *f, uint32_t p, uint64_t base, char *out, size_t n)
{
    snprintf(out, n, "%s/p%03u/%020llu.log", f->dir, p, (unsigned long long)base);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* Segment bases of partition p, sorted (at most cap). */
static size_t list_bases(const fixture *f, uint32_t p, uint64_t *out, size_t cap)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/p%03u", f->dir, p);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strlen(e->d_name) == 24 && strcmp(e->d_name + 20, ".log") == 0 && n < cap)
            out[n++] = strtoull(e->d_name, NULL, 10);
    }
    closedir(d);
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (out[b] < out[a]) {
                uint64_t t = out[a];
                out[a] = out[b];
                out[b] = t;
            }
    return n;
}

/* ---------------------------------------------------------------- basics */

static void test_policy_names(void **state)
{
    (void)state;
    tl_fsync_policy p;
    assert_int_equal(tl_fsync_policy_parse("always", &p), 0);
    assert_int_equal(p, TL_FSYNC_ALWAYS);
    assert_int_equal(tl_fsync_policy_parse("interval", &p), 0);
    assert_int_equal(p, TL_FSYNC_INTERVAL);
    assert_int_equal(tl_fsync_policy_parse("never", &p), 0);
    assert_int_equal(p, TL_FSYNC_NEVER);
    assert_int_equal(tl_fsync_policy_parse("sometimes", &p), TL_EINVAL);
    assert_string_equal(tl_fsync_policy_name(TL_FSYNC_INTERVAL), "interval");
    assert_string_equal(tl_fsync_policy_name(TL_FSYNC_ALWAYS), "always");
    tl_journal_opts o;
    tl_journal_opts_default(&o);
    assert_int_equal(o.partitions, 1);
    assert_int_equal(o.fsync, TL_FSYNC_ALWAYS);
    assert_int_equal(o.commit_interval_ms, 5);
    assert_int_equal(o.max_record_bytes, 1024 * 1024);
}

static void test_append_read_partitions(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    tl_journal *j = must_open(&o);
    assert_int_equal(tl_journal_partitions(j), 3);

    /* one multi-record append spanning partitions, then singles */
    uint8_t bufs[6][4096];
    tl_journal_rec recs[6];
    for (uint32_t i = 0; i < 6; i++) {
        uint64_t seed = 1000 + i;
        recs[i].partition = i % 3;
        recs[i].len = payload_len(seed, 500);
        fill_payload(bufs[i], recs[i].len, seed);
        recs[i].data = bufs[i];
    }
    uint64_t offs[6];
    assert_int_equal(tl_journal_append_sync(j, recs, 6, offs), 0);
    uint64_t want_offs[6] = {0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(offs[i], want_offs[i]);
    for (uint64_t i = 0; i < 30; i++)
        assert_int_equal(put(j, (uint32_t)(i % 3), 2000 + i, 500), 2 + i / 3);

    for (uint32_t p = 0; p < 3; p++) {
        uint64_t oldest, next;
        tl_journal_bounds(j, p, &oldest, &next);
        assert_int_equal(oldest, 0);
        assert_int_equal(next, 12);
        tl_journal_cursor *c;
        assert_int_equal(tl_journal_cursor_open_at(j, p, 0, &c), 0);
        const void *data;
        uint32_t len;
        uint64_t off;
        for (uint64_t k = 0; k < 12; k++) {
            assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
            assert_int_equal(off, k);
            uint64_t seed = k < 2 ? 1000 + p + 3 * k : 2000 + (k - 2) * 3 + p;
            check_payload(data, len, seed, 500);
        }
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 0);
        tl_journal_cursor_close(c);
    }
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.appends, 31);
    assert_int_equal(st.records, 36);
    assert_true(st.syncs >= 1);
    assert_true(st.commits >= 1 && st.commits <= 31);
    assert_int_equal(st.segments, 3);
    tl_journal_close(j);
}

static void test_wait_and_empty(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    tl_journal *j = must_open(&o);
    tl_journal_cursor *c;
    assert_int_equal(tl_journal_cursor_open_at(j, 1, 0, &c), 0);
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 0);
    uint64_t seen = tl_journal_wait(j, 0, 0);
    assert_int_equal(tl_journal_wait(j, seen, 10), seen); /* nothing happened */
    put(j, 1, 7, 100);
    uint64_t now = tl_journal_wait(j, seen, 5000);
    assert_true(now > seen);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, 0);
    check_payload(data, len, 7, 100);
    /* a zero-length record is a record */
    tl_journal_rec r = {1, NULL, 0};
    assert_int_equal(tl_journal_append_sync(j, &r, 1, &off), 0);
    assert_int_equal(off, 1);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(len, 0);
    assert_int_equal(off, 1);
    tl_journal_cursor_close(c);
    tl_journal_close(j);
}

static void test_interval_policy(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_INTERVAL);
    o.commit_interval_ms = 2;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 50; i++)
        assert_int_equal(put(j, (uint32_t)(i % 3), i, 700), i / 3);
    tl_journal_close(j);
    j = must_open(&o);
    uint64_t oldest, next;
    tl_journal_bounds(j, 2, &oldest, &next);
    assert_int_equal(next, 16);
    tl_journal_cursor *c;
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_open_at(j, 2, 5, &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, 5);
    check_payload(data, len, 5 * 3 + 2, 700);
    tl_journal_cursor_close(c);
    /* offsets past the end are clamped to it */
    assert_int_equal(tl_journal_cursor_open_at(j, 2, 1000, &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 0);
    assert_int_equal(put(j, 2, 99, 700), 16);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, 16);
    tl_journal_cursor_close(c);
    tl_journal_close(j);
}

static void test_limits(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    o.max_record_bytes = 1000;
    tl_journal *j = must_open(&o);
    static uint8_t big[1001];
    int calls = 0;
    tl_journal_rec ok = {0, big, 1000}, over = {0, big, 1001}, badp = {3, big, 10};
    tl_journal_rec two[2] = {ok, over};
    assert_int_equal(tl_journal_append(j, &over, 1, NULL, &calls, NULL), TL_ELIMIT);
    assert_int_equal(tl_journal_append(j, two, 2, NULL, &calls, NULL), TL_ELIMIT);
    assert_int_equal(tl_journal_append(j, &badp, 1, NULL, &calls, NULL), TL_EINVAL);
    uint64_t off;
    assert_int_equal(tl_journal_append_sync(j, &ok, 1, &off), 0);
    assert_int_equal(off, 0); /* the refused appends took no offsets */
    uint64_t oldest, next;
    tl_journal_bounds(j, 0, &oldest, &next);
    assert_int_equal(next, 1);
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.appends, 1);
    tl_journal_close(j);

    /* bad options and a partition count that does not match the journal on disk */
    tl_journal *j2 = NULL;
    char err[256];
    o.partitions = 5;
    assert_int_equal(tl_journal_open(&o, &j2, err, sizeof err), TL_EINVAL);
    assert_non_null(strstr(err, "3 partitions"));
    o.partitions = 0; /* 0 = whatever the journal has */
    j2 = must_open(&o);
    assert_int_equal(tl_journal_partitions(j2), 3);
    /* one process at a time */
    tl_journal *j3 = NULL;
    assert_int_equal(tl_journal_open(&o, &j3, err, sizeof err), TL_EEXIST);
    tl_journal_close(j2);
}

/* ---------------------------------------------------------------- segments and reopen */

static void test_segments_roll_and_reopen(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    o.partitions = 2;
    o.segment_bytes = 1024;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 120; i++)
        assert_int_equal(put(j, 0, i, 200), i);
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_true(st.segments > 10);

    uint64_t bases[256];
    size_t nb = list_bases(f, 0, bases, 256);
    assert_int_equal(nb + 1, st.segments); /* partition 1 holds one empty segment */
    assert_int_equal(bases[0], 0);
    for (size_t i = 0; i < nb; i++) {
        char path[128];
        seg_file(f, 0, bases[i], path, sizeof path);
        off_t sz = file_size(path);
        assert_true(sz > 16);
        assert_true(sz <= 1024); /* every record is < 1024 - 16, so no segment overflows */
        if (i > 0)
            assert_true(bases[i] > bases[i - 1]);
    }

    /* read across all segments, and seek into the middle of one */
    tl_journal_cursor *c;
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_open_at(j, 0, 0, &c), 0);
    for (uint64_t i = 0; i < 120; i++) {
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
        assert_int_equal(off, i);
        check_payload(data, len, i, 200);
    }
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 0);
    /* the cursor follows new appends, including across a roll */
    for (uint64_t i = 120; i < 130; i++)
        put(j, 0, i, 200);
    for (uint64_t i = 120; i < 130; i++) {
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
        assert_int_equal(off, i);
    }
    tl_journal_cursor_close(c);
    tl_journal_close(j);

    /* reopen: same data, offsets continue */
    j = must_open(&o);
    uint64_t oldest, next;
    tl_journal_bounds(j, 0, &oldest, &next);
    assert_int_equal(oldest, 0);
    assert_int_equal(next, 130);
    tl_journal_bounds(j, 1, &oldest, &next);
    assert_int_equal(next, 0);
    assert_int_equal(put(j, 0, 130, 200), 130);
    assert_int_equal(put(j, 1, 5000, 200), 0);
    for (uint64_t start = 0; start < 131; start += 17) {
        assert_int_equal(tl_journal_cursor_open_at(j, 0, start, &c), 0);
        for (uint64_t i = start; i < 131; i++) {
            assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
            assert_int_equal(off, i);
            check_payload(data, len, i, 200);
        }
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 0);
        tl_journal_cursor_close(c);
    }
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.truncated_bytes, 0);
    tl_journal_close(j);
}

/* Seeks that use the sparse index: within the active segment, and in a sealed one whose
 * index is built lazily after a reopen. */
static void test_seek_with_index(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    o.partitions = 1;
    o.segment_bytes = 256 * 1024;
    tl_journal *j = must_open(&o);
    enum { N = 9000, BATCH = 500 };
    static uint8_t bufs[BATCH][64];
    tl_journal_rec recs[BATCH];
    for (uint64_t i = 0; i < N; i += BATCH) {
        for (uint64_t k = 0; k < BATCH; k++) {
            recs[k].partition = 0;
            recs[k].len = payload_len(i + k, 60);
            fill_payload(bufs[k], recs[k].len, i + k);
            recs[k].data = bufs[k];
        }
        assert_int_equal(tl_journal_append_sync(j, recs, BATCH, NULL), 0);
    }
    static const uint64_t targets[] = {0, 1, 1023, 1024, 1025, 3000, 5555, 8999};
    for (int round = 0; round < 2; round++) {
        tl_journal_stats st;
        tl_journal_get_stats(j, &st);
        assert_true(st.segments >= 2);
        for (size_t t = 0; t < TL_ARRAY_LEN(targets); t++) {
            tl_journal_cursor *c;
            const void *data;
            uint32_t len;
            uint64_t off;
            assert_int_equal(tl_journal_cursor_open_at(j, 0, targets[t], &c), 0);
            assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
            assert_int_equal(off, targets[t]);
            check_payload(data, len, targets[t], 60);
            tl_journal_cursor_close(c);
        }
        tl_journal_close(j);
        j = must_open(&o); /* second round: sealed segments have no index yet */
    }
    tl_journal_close(j);
}

/* ---------------------------------------------------------------- group commit */

enum { GC_THREADS = 8, GC_APPENDS = 400 };

typedef struct {
    tl_journal *j;
    int t;
    atomic_int *calls; /* [GC_THREADS * GC_APPENDS] */
    atomic_int *bad_status;
} gc_arg;

static void gc_done(void *arg, int status)
{
    atomic_int *slot = arg;
    atomic_fetch_add(slot, 1);
    if (status != 0)
        abort();
}

static void *gc_thread(void *arg)
{
    gc_arg *a = arg;
    uint8_t bufs[4][64];
    for (int i = 0; i < GC_APPENDS; i++) {
        tl_journal_rec recs[4];
        int n = 1 + (a->t + i) % 4;
        for (int k = 0; k < n; k++) {
            /* payload: thread, append index, record index */
            uint32_t v[3] = {(uint32_t)a->t, (uint32_t)i, (uint32_t)k};
            memcpy(bufs[k], v, sizeof v);
            recs[k] = (tl_journal_rec){(uint32_t)((a->t * 7 + i * 3 + k) % 3), bufs[k], 12};
        }
        int rc = tl_journal_append(a->j, recs, (size_t)n, gc_done, &a->calls[a->t * GC_APPENDS + i],
                                   NULL);
        if (rc)
            atomic_fetch_add(a->bad_status, 1);
    }
    return NULL;
}

static void test_group_commit_concurrent(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    tl_journal *j = must_open(&o);
    static atomic_int calls[GC_THREADS * GC_APPENDS];
    atomic_int bad = 0;
    for (int i = 0; i < GC_THREADS * GC_APPENDS; i++)
        atomic_init(&calls[i], 0);
    pthread_t th[GC_THREADS];
    gc_arg args[GC_THREADS];
    for (int t = 0; t < GC_THREADS; t++) {
        args[t] = (gc_arg){j, t, calls, &bad};
        assert_int_equal(pthread_create(&th[t], NULL, gc_thread, &args[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&bad), 0);
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    tl_journal_close(j); /* runs every outstanding callback */

    uint64_t want_records = 0;
    for (int t = 0; t < GC_THREADS; t++)
        for (int i = 0; i < GC_APPENDS; i++)
            want_records += (uint64_t)(1 + (t + i) % 4);
    for (int i = 0; i < GC_THREADS * GC_APPENDS; i++)
        assert_int_equal(atomic_load(&calls[i]), 1);
    assert_int_equal(st.appends, GC_THREADS * GC_APPENDS);
    assert_int_equal(st.records, want_records);

    /* everything is on disk after reopen; per thread, order of calls is kept */
    j = must_open(&o);
    tl_journal_get_stats(j, &st);
    assert_true(st.commits == 0);
    uint64_t total = 0;
    for (uint32_t p = 0; p < 3; p++) {
        int last_i[GC_THREADS];
        int last_k[GC_THREADS];
        for (int t = 0; t < GC_THREADS; t++)
            last_i[t] = last_k[t] = -1;
        tl_journal_cursor *c;
        assert_int_equal(tl_journal_cursor_open_at(j, p, 0, &c), 0);
        const void *data;
        uint32_t len;
        uint64_t off, expect = 0;
        int rc;
        while ((rc = tl_journal_cursor_next(c, &data, &len, &off)) == 1) {
            assert_int_equal(off, expect++);
            assert_int_equal(len, 12);
            uint32_t v[3];
            memcpy(v, data, sizeof v);
            assert_true(v[0] < GC_THREADS);
            assert_int_equal((v[0] * 7 + v[1] * 3 + v[2]) % 3, p);
            int t = (int)v[0];
            assert_true((int)v[1] > last_i[t] || ((int)v[1] == last_i[t] && (int)v[2] > last_k[t]));
            last_i[t] = (int)v[1];
            last_k[t] = (int)v[2];
        }
        assert_int_equal(rc, 0);
        total += expect;
        tl_journal_cursor_close(c);
    }
    assert_int_equal(total, want_records);
    tl_journal_close(j);
}

/* ---------------------------------------------------------------- consumer groups */

static void test_consumer_groups(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 20; i++)
        put(j, 2, i, 100);
    assert_int_equal(tl_journal_committed(j, "stream", 2), 0);
    assert_int_equal(tl_journal_commit(j, "bad name", 2, 1), TL_EINVAL);
    assert_int_equal(tl_journal_commit(j, "stream", 9, 1), TL_EINVAL);

    /* group "stream" consumes 12, group "lake" 5 */
    const char *groups[2] = {"stream", "lake"};
    uint64_t upto[2] = {12, 5};
    for (int g = 0; g < 2; g++) {
        tl_journal_cursor *c;
        assert_int_equal(tl_journal_cursor_open(j, groups[g], 2, &c), 0);
        const void *data;
        uint32_t len;
        uint64_t off;
        for (uint64_t i = 0; i < upto[g]; i++) {
            assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
            assert_int_equal(off, i);
        }
        assert_int_equal(tl_journal_commit(j, groups[g], 2, off + 1), 0);
        tl_journal_cursor_close(c);
    }
    assert_int_equal(tl_journal_committed(j, "stream", 2), 12);
    assert_int_equal(tl_journal_committed(j, "lake", 2), 5);
    assert_int_equal(tl_journal_committed(j, "lake", 1), 0);
    tl_journal_close(j);

    j = must_open(&o);
    assert_int_equal(tl_journal_committed(j, "stream", 2), 12);
    assert_int_equal(tl_journal_committed(j, "lake", 2), 5);
    for (int g = 0; g < 2; g++) {
        tl_journal_cursor *c;
        const void *data;
        uint32_t len;
        uint64_t off;
        assert_int_equal(tl_journal_cursor_open(j, groups[g], 2, &c), 0);
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
        assert_int_equal(off, upto[g]);
        check_payload(data, len, upto[g], 100);
        tl_journal_cursor_close(c);
    }
    tl_journal_close(j);
}

/* ---------------------------------------------------------------- recovery */

static uint64_t rec_bytes(uint64_t seed, uint32_t maxlen)
{
    return 16 + payload_len(seed, maxlen);
}

static void test_torn_tail_mid_record(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    o.partitions = 1;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 10; i++)
        put(j, 0, i, 300);
    tl_journal_close(j);

    char path[128];
    seg_file(f, 0, 0, path, sizeof path);
    off_t full = file_size(path);
    assert_int_equal(truncate(path, full - 5), 0);
    j = must_open(&o);
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.truncated_bytes, rec_bytes(9, 300) - 5);
    assert_int_equal(file_size(path), full - (off_t)rec_bytes(9, 300));
    uint64_t oldest, next;
    tl_journal_bounds(j, 0, &oldest, &next);
    assert_int_equal(next, 9);
    assert_int_equal(put(j, 0, 100, 300), 9);
    tl_journal_close(j);

    /* now cut inside the header of the last record */
    full = file_size(path);
    assert_int_equal(truncate(path, full - (off_t)rec_bytes(100, 300) + 7), 0);
    j = must_open(&o);
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.truncated_bytes, 7);
    tl_journal_bounds(j, 0, &oldest, &next);
    assert_int_equal(next, 9);
    assert_int_equal(put(j, 0, 101, 300), 9);
    tl_journal_cursor *c;
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_open_at(j, 0, 0, &c), 0);
    for (uint64_t i = 0; i < 10; i++) {
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
        assert_int_equal(off, i);
        check_payload(data, len, i < 9 ? i : 101, 300);
    }
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 0);
    tl_journal_cursor_close(c);
    tl_journal_close(j);
}

static void test_torn_tail_garbage(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    o.partitions = 2;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 5; i++)
        put(j, 1, i, 300);
    tl_journal_close(j);

    char path[128];
    seg_file(f, 1, 0, path, sizeof path);
    off_t full = file_size(path);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    uint8_t junk[37];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 151 + 7);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    /* and a header claiming a huge record */
    uint8_t hdr[16] = {0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
    close(fd);

    j = must_open(&o);
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.truncated_bytes, sizeof junk + sizeof hdr);
    assert_int_equal(file_size(path), full);
    assert_int_equal(put(j, 1, 50, 300), 5);
    tl_journal_close(j);

    /* a segment created but cut inside its header is reset */
    j = must_open(&o);
    tl_journal_close(j);
    char path2[128];
    seg_file(f, 0, 0, path2, sizeof path2);
    assert_int_equal(truncate(path2, 9), 0);
    j = must_open(&o);
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.truncated_bytes, 9);
    assert_int_equal(put(j, 0, 1, 300), 0);
    tl_journal_close(j);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void test_corruption_refused(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    o.partitions = 2;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 10; i++)
        put(j, 1, i, 300);
    tl_journal_close(j);

    char path[128];
    seg_file(f, 1, 0, path, sizeof path);
    off_t size_before = file_size(path);
    uint64_t rec2 = 16 + rec_bytes(0, 300) + rec_bytes(1, 300); /* record 2 starts here */
    flip_byte(path, (off_t)(rec2 + 16 + 3));                    /* a payload byte */
    char err[512];
    tl_journal *bad = NULL;
    assert_int_equal(tl_journal_open(&o, &bad, err, sizeof err), TL_ECORRUPT);
    assert_null(bad);
    char want[128];
    snprintf(want, sizeof want, "crc mismatch at byte %llu of p001/00000000000000000000.log",
             (unsigned long long)rec2);
    if (!strstr(err, want))
        fail_msg("errmsg \"%s\" lacks \"%s\"", err, want);
    assert_non_null(strstr(err, "stored 0x"));
    assert_non_null(strstr(err, "refusing to truncate"));
    assert_int_equal(file_size(path), size_before); /* nothing was cut */

    /* a corrupt length field in the middle is refused too */
    flip_byte(path, (off_t)(rec2 + 16 + 3));
    flip_byte(path, (off_t)(rec2 + 2));
    assert_int_equal(tl_journal_open(&o, &bad, err, sizeof err), TL_ECORRUPT);
    snprintf(want, sizeof want, "at byte %llu of p001/", (unsigned long long)rec2);
    assert_non_null(strstr(err, want));
    flip_byte(path, (off_t)(rec2 + 2));
    j = must_open(&o); /* repaired by hand: opens again */
    tl_journal_close(j);
}

static void test_corruption_in_sealed_segment(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    o.partitions = 1;
    o.segment_bytes = 1024;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 40; i++)
        put(j, 0, i, 200);
    tl_journal_close(j);
    uint64_t bases[64];
    size_t nb = list_bases(f, 0, bases, 64);
    assert_true(nb >= 3);
    char path[128];
    seg_file(f, 0, bases[0], path, sizeof path);
    flip_byte(path, 16 + 16); /* record 0's payload (1 byte long) */

    j = must_open(&o); /* sealed segments are verified by readers */
    tl_journal_cursor *c;
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_open_at(j, 0, 0, &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), TL_ECORRUPT);
    tl_journal_cursor_close(c);
    /* seeking into that segment scans (and verifies) it */
    if (bases[1] > 2) {
        assert_int_equal(tl_journal_cursor_open_at(j, 0, bases[1] - 1, &c), 0);
        assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), TL_ECORRUPT);
        tl_journal_cursor_close(c);
    }
    /* later segments still read fine */
    assert_int_equal(tl_journal_cursor_open_at(j, 0, bases[1], &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, bases[1]);
    check_payload(data, len, bases[1], 200);
    tl_journal_cursor_close(c);
    tl_journal_close(j);
}

/* ---------------------------------------------------------------- retention */

static void test_retention_by_size(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    o.partitions = 1;
    o.segment_bytes = 1024;
    o.retention_bytes = 4096;
    tl_journal *j = must_open(&o);
    put(j, 0, 0, 200);
    tl_journal_cursor *c;
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_open_at(j, 0, 0, &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, 0); /* the cursor now holds segment 0 open */
    for (uint64_t i = 1; i < 100; i++)
        put(j, 0, i, 200);
    uint64_t removed = 0;
    assert_int_equal(tl_journal_enforce_retention(j, &removed), 0);
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_true(st.segments_removed > 0);

    uint64_t bases[64];
    size_t nb = list_bases(f, 0, bases, 64);
    assert_int_equal(nb, st.segments);
    off_t total = 0;
    for (size_t i = 0; i < nb; i++) {
        char path[128];
        seg_file(f, 0, bases[i], path, sizeof path);
        total += file_size(path);
    }
    assert_true(total <= 4096);
    assert_true(total + 1024 > 4096); /* and no more was removed than needed */
    uint64_t oldest, next;
    tl_journal_bounds(j, 0, &oldest, &next);
    assert_int_equal(oldest, bases[0]);
    assert_true(oldest > 1);
    assert_int_equal(next, 100);
    /* the cursor skips to the oldest retained record */
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, oldest);
    check_payload(data, len, oldest, 200);
    tl_journal_cursor_close(c);
    /* a cursor asked for a removed offset starts at the oldest */
    assert_int_equal(tl_journal_cursor_open_at(j, 0, 0, &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, oldest);
    tl_journal_cursor_close(c);
    tl_journal_close(j);
}

static void test_retention_by_age(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_NEVER);
    o.partitions = 1;
    o.segment_bytes = 1024;
    o.retention_ms = 3600 * 1000;
    tl_journal *j = must_open(&o);
    for (uint64_t i = 0; i < 60; i++)
        put(j, 0, i, 200);
    tl_journal_close(j);
    uint64_t bases[64];
    size_t nb = list_bases(f, 0, bases, 64);
    assert_true(nb >= 5);
    /* the first three segments were last written two hours ago */
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        seg_file(f, 0, bases[i], path, sizeof path);
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= 7200;
        ts[1] = ts[0];
        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    }
    j = must_open(&o); /* open runs a retention pass */
    tl_journal_stats st;
    tl_journal_get_stats(j, &st);
    assert_int_equal(st.segments_removed, 3);
    assert_int_equal(st.segments, nb - 3);
    uint64_t oldest, next;
    tl_journal_bounds(j, 0, &oldest, &next);
    assert_int_equal(oldest, bases[3]);
    assert_int_equal(next, 60);
    tl_journal_cursor *c;
    const void *data;
    uint32_t len;
    uint64_t off;
    assert_int_equal(tl_journal_cursor_open_at(j, 0, 1, &c), 0);
    assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
    assert_int_equal(off, bases[3]);
    tl_journal_cursor_close(c);
    char path[128];
    seg_file(f, 0, bases[0], path, sizeof path);
    assert_int_equal(access(path, F_OK), -1);
    tl_journal_close(j);
}

/* ---------------------------------------------------------------- crash test */

typedef struct {
    uint32_t p;
    uint32_t pad;
    uint64_t off;
    uint64_t seed;
} ack;

static void crash_child(const tl_journal_opts *o, int wfd, uint64_t round)
{
    tl_journal *j = NULL;
    char err[256];
    if (tl_journal_open(o, &j, err, sizeof err))
        _exit(2);
    static uint8_t bufs[5][4096];
    for (uint64_t i = 0;; i++) {
        tl_journal_rec recs[5];
        uint64_t seeds[5], offs[5];
        size_t n = 1 + i % 5;
        for (size_t k = 0; k < n; k++) {
            seeds[k] = round << 40 | i << 3 | k;
            recs[k].partition = (uint32_t)((i + k) % 2);
            recs[k].len = payload_len(seeds[k], 3000);
            fill_payload(bufs[k], recs[k].len, seeds[k]);
            recs[k].data = bufs[k];
        }
        if (tl_journal_append_sync(j, recs, n, offs))
            _exit(3);
        for (size_t k = 0; k < n; k++) {
            ack a = {recs[k].partition, 0, offs[k], seeds[k]};
            if (write(wfd, &a, sizeof a) != (ssize_t)sizeof a)
                _exit(4);
        }
    }
}

static void test_crash_kill9(void **state)
{
    fixture *f = *state;
    tl_journal_opts o = base_opts(f, TL_FSYNC_ALWAYS);
    o.partitions = 2;
    o.segment_bytes = 32 * 1024; /* roll often: kills land around rolls too */
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    size_t total_acks = 0;
    for (uint64_t round = 0; round < 4; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(&o, fds[1], round);
        }
        close(fds[1]);
        ack *acks = NULL;
        size_t n = 0, cap = 0;
        int64_t kill_at = tl_mono_ns() + (int64_t)(20 + rand() % 200) * 1000000;
        bool killed = false;
        for (;;) {
            int64_t left = (kill_at - tl_mono_ns()) / 1000000;
            if (!killed && left <= 0) {
                kill(pid, SIGKILL);
                killed = true;
            }
            struct pollfd pfd = {fds[0], POLLIN, 0};
            if (poll(&pfd, 1, killed ? 1000 : (int)left) <= 0 && !killed)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                acks = realloc(acks, cap * sizeof *acks);
            }
            ssize_t r = read(fds[0], &acks[n], sizeof *acks);
            if (r == 0)
                break;
            if (r < 0 && errno == EINTR)
                continue;
            assert_int_equal(r, sizeof *acks);
            n++;
        }
        close(fds[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* it was killed, not failing on its own */

        tl_journal *j = must_open(&o);
        for (size_t i = 0; i < n; i++) {
            tl_journal_cursor *c;
            const void *data;
            uint32_t len;
            uint64_t off;
            assert_int_equal(tl_journal_cursor_open_at(j, acks[i].p, acks[i].off, &c), 0);
            assert_int_equal(tl_journal_cursor_next(c, &data, &len, &off), 1);
            assert_int_equal(off, acks[i].off);
            check_payload(data, len, acks[i].seed, 3000);
            tl_journal_cursor_close(c);
        }
        /* every record, acknowledged or not, reads back intact in order */
        for (uint32_t p = 0; p < 2; p++) {
            tl_journal_cursor *c;
            const void *data;
            uint32_t len;
            uint64_t off, expect = 0;
            int rc;
            assert_int_equal(tl_journal_cursor_open_at(j, p, 0, &c), 0);
            while ((rc = tl_journal_cursor_next(c, &data, &len, &off)) == 1) {
                assert_int_equal(off, expect++);
                if (len >= 8) {
                    uint64_t s;
                    memcpy(&s, data, 8);
                    check_payload(data, len, s, 3000);
                }
            }
            assert_int_equal(rc, 0);
            tl_journal_cursor_close(c);
        }
        tl_journal_close(j);
        total_acks += n;
        free(acks);
    }
    print_message("crash test: %zu acknowledged records checked (seed %u)\n", total_acks, seed);
    assert_true(total_acks > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test_setup_teardown(test_append_read_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_roll_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seek_with_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_mid_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_in_sealed_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_kill9, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
