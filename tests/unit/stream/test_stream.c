/* Unit tests for src/stream: a real journal in a temp dir; exact counts, reopen without double
 * counting, tail-only replay after a checkpoint, crash recovery from an older checkpoint, and
 * rebuild after a corrupt checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/stream.h"

#define T0  1714521600000LL /* 2024-05-01T00:00:00Z */
#define MIN 60000LL

typedef struct {
    char dir[64];
    char jdir[96];
    char sdir[96];
    char ckpt[128];
    tl_journal *j;
} fixture;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void journal_open(fixture *f)
{
    tl_journal_opts o;
    tl_journal_opts_default(&o);
    o.dir = f->jdir;
    o.partitions = 4;
    o.fsync = TL_FSYNC_NEVER;
    o.retention_ms = 0;
    char err[256];
    int rc = tl_journal_open(&o, &f->j, err, sizeof err);
    if (rc)
        fail_msg("journal open: %s", err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-stream-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->jdir, sizeof f->jdir, "%s/journal", f->dir);
    snprintf(f->sdir, sizeof f->sdir, "%s/state", f->dir);
    snprintf(f->ckpt, sizeof f->ckpt, "%s/%s", f->sdir, TL_STREAM_CHECKPOINT);
    journal_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tl_journal_close(f->j);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Appends events [from, to): event i is a page view (track every 4th, identify every 10th) by
 * visitor i % 50 on site "s" or "t", spread over 300 minutes. */
static void append_events(fixture *f, int from, int to)
{
    tl_buf b;
    tl_buf_init(&b);
    uint32_t np = tl_journal_partitions(f->j);
    for (int i = from; i < to; i++) {
        tl_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = i % 10 == 0 ? TL_EV_IDENTIFY : i % 4 == 0 ? TL_EV_TRACK : TL_EV_PAGE;
        ev.ts_ms = T0 + (i % 300) * MIN + i;
        ev.received_ms = ev.ts_ms;
        ev.visitor = (uint64_t)(i % 50) + 1;
        ev.f[TL_F_SITE] = i % 3 ? TL_STR("s") : TL_STR("t");
        tl_buf_reset(&b);
        assert_int_equal(tl_event_encode(&ev, &b), 0);
        tl_journal_rec r = {.partition = tl_event_partition(ev.f[TL_F_SITE], ev.visitor, np),
                            .data = b.ptr,
                            .len = (uint32_t)b.len};
        assert_int_equal(tl_journal_append_sync(f->j, &r, 1, NULL), 0);
    }
    tl_buf_deinit(&b);
}

/* What events [0, n) must count to, computed independently of the tsdb. */
static void expected(int n, const char *site, uint64_t *pv, uint64_t *ev, uint64_t *vis)
{
    bool seen[51] = {false};
    *pv = *ev = *vis = 0;
    for (int i = 0; i < n; i++) {
        if ((i % 3 ? "s" : "t")[0] != site[0] || i % 10 == 0)
            continue;
        (*ev)++;
        *pv += i % 4 != 0;
        if (!seen[i % 50 + 1]) {
            seen[i % 50 + 1] = true;
            (*vis)++;
        }
    }
}

static void check_counts(tl_tsdb *t, int n)
{
    const char *sites[] = {"s", "t"};
    for (int k = 0; k < 2; k++) {
        tl_tsdb_read r = {.site = sites[k], .site_len = 1, .from_ms = T0, .to_ms = T0 + 86400000};
        assert_int_equal(tl_tsdb_query(t, &r), 0);
        uint64_t pv, ev, vis;
        expected(n, sites[k], &pv, &ev, &vis);
        if (r.total.pageviews != pv || r.total.events != ev || r.total.visitors != vis)
            fail_msg("site %s after %d events: got pv=%llu ev=%llu vis=%llu, want %llu %llu %llu",
                     sites[k], n, (unsigned long long)r.total.pageviews,
                     (unsigned long long)r.total.events, (unsigned long long)r.total.visitors,
                     (unsigned long long)pv, (unsigned long long)ev, (unsigned long long)vis);
    }
}

static tl_stream *stream_open(fixture *f, tl_tsdb *t)
{
    tl_stream_opts o = {.journal = f->j, .tsdb = t, .state_dir = f->sdir};
    tl_stream *s;
    assert_int_equal(tl_stream_open(&o, &s), 0);
    return s;
}

static void test_counts_exactly(void **state)
{
    fixture *f = *state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    append_events(f, 0, 300); /* before open: replayed by open */
    tl_stream *s = stream_open(f, t);
    tl_stream_stats st;
    tl_stream_get_stats(s, &st);
    assert_int_equal(st.replayed, 300);
    assert_true(st.rebuilt);
    check_counts(t, 300);
    append_events(f, 300, 1000); /* while running: picked up by the thread */
    /* a record that is not an event */
    tl_journal_rec junk = {.partition = 2, .data = "junk", .len = 4};
    assert_int_equal(tl_journal_append_sync(f->j, &junk, 1, NULL), 0);
    assert_int_equal(tl_stream_sync(s, 10000), 0);
    check_counts(t, 1000);
    tl_stream_get_stats(s, &st);
    assert_int_equal(st.records, 1001);
    assert_int_equal(st.decode_errors, 1);
    assert_int_equal(st.not_counted, 100); /* identify */
    assert_int_equal(st.counted, 900);
    tl_stream_close(s);
    /* The final checkpoint's offsets were committed to the group. */
    uint64_t total = 0;
    for (uint32_t p = 0; p < 4; p++) {
        uint64_t oldest, next;
        tl_journal_bounds(f->j, p, &oldest, &next);
        assert_int_equal(tl_journal_committed(f->j, TL_STREAM_GROUP, p), next);
        total += next;
    }
    assert_int_equal(total, 1001);

    /* Reopen into a fresh tsdb: everything comes from the checkpoint, nothing is replayed. */
    tl_tsdb *u;
    assert_int_equal(tl_tsdb_new(&u), 0);
    s = stream_open(f, u);
    tl_stream_get_stats(s, &st);
    assert_int_equal(st.replayed, 0);
    assert_false(st.rebuilt);
    check_counts(u, 1000);
    tl_stream_close(s);
    tl_tsdb_free(t);
    tl_tsdb_free(u);
}

static void test_replays_only_the_tail(void **state)
{
    fixture *f = *state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    append_events(f, 0, 500);
    tl_stream *s = stream_open(f, t);
    tl_stream_close(s);
    append_events(f, 500, 700); /* while no stream runs */
    tl_tsdb_free(t);

    /* Also across a journal restart. */
    tl_journal_close(f->j);
    journal_open(f);
    assert_int_equal(tl_tsdb_new(&t), 0);
    s = stream_open(f, t);
    tl_stream_stats st;
    tl_stream_get_stats(s, &st);
    assert_int_equal(st.replayed, 200);
    check_counts(t, 700);
    tl_stream_close(s);
    tl_tsdb_free(t);
}

static void read_file(const char *path, tl_buf *b)
{
    tl_buf_reset(b);
    assert_int_equal(tl_read_file(path, b), 0);
}

static void test_crash_after_checkpoint(void **state)
{
    fixture *f = *state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    tl_stream *s = stream_open(f, t);
    append_events(f, 0, 400);
    assert_int_equal(tl_stream_sync(s, 10000), 0);
    assert_int_equal(tl_stream_checkpoint(s), 0);
    tl_buf saved;
    tl_buf_init(&saved);
    read_file(f->ckpt, &saved);
    append_events(f, 400, 650);
    assert_int_equal(tl_stream_sync(s, 10000), 0);
    check_counts(t, 650);
    tl_stream_close(s);
    /* kill -9 right after the checkpoint at 400: the later checkpoint never happened, and the
     * group offsets may even be ahead of the checkpoint. */
    assert_int_equal(tl_write_file_atomic(f->ckpt, saved.ptr, saved.len), 0);
    tl_tsdb *u;
    assert_int_equal(tl_tsdb_new(&u), 0);
    s = stream_open(f, u);
    tl_stream_stats st;
    tl_stream_get_stats(s, &st);
    assert_int_equal(st.replayed, 250);
    check_counts(u, 650); /* exactly once: not 400 + 650 */
    tl_stream_close(s);
    tl_buf_deinit(&saved);
    tl_tsdb_free(t);
    tl_tsdb_free(u);
}

static void test_corrupt_checkpoint_rebuilds(void **state)
{
    fixture *f = *state;
    tl_tsdb *t;
    assert_int_equal(tl_tsdb_new(&t), 0);
    append_events(f, 0, 600);
    tl_stream *s = stream_open(f, t);
    tl_stream_close(s);
    tl_buf b;
    tl_buf_init(&b);
    read_file(f->ckpt, &b);
    assert_true(b.len > 100);
    assert_memory_equal(b.ptr, "TLSTRMCK", 8);
    const size_t flips[] = {3, 30, b.len / 2, b.len - 1};
    for (size_t k = 0; k < TL_ARRAY_LEN(flips); k++) {
        /* One flipped byte anywhere (header, offsets, snapshot, CRC) is caught. */
        b.ptr[flips[k]] ^= 0x40;
        assert_int_equal(tl_write_file_atomic(f->ckpt, b.ptr, b.len), 0);
        b.ptr[flips[k]] ^= 0x40;
        tl_tsdb *u;
        assert_int_equal(tl_tsdb_new(&u), 0);
        s = stream_open(f, u);
        tl_stream_stats st;
        tl_stream_get_stats(s, &st);
        assert_true(st.rebuilt);
        assert_int_equal(st.replayed, 600);
        check_counts(u, 600);
        tl_stream_close(s);
        tl_tsdb_free(u);
        char aside[160];
        snprintf(aside, sizeof aside, "%s.corrupt", f->ckpt);
        assert_int_equal(access(aside, F_OK), 0);
    }
    /* A truncated checkpoint too. */
    assert_int_equal(tl_write_file_atomic(f->ckpt, b.ptr, b.len - 10), 0);
    tl_tsdb *u;
    assert_int_equal(tl_tsdb_new(&u), 0);
    s = stream_open(f, u);
    check_counts(u, 600);
    tl_stream_close(s);
    tl_tsdb_free(u);
    tl_buf_deinit(&b);
    tl_tsdb_free(t);
}

int main(void)
{
    tl_log_set_level(TL_LOG_ERROR + 1); /* the corrupt-checkpoint errors are expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replays_only_the_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_checkpoint_rebuilds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
