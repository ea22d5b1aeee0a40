/*
 * bench_journal — append throughput and append-to-durable latency of the journal under
 * TL_FSYNC_ALWAYS, the shape the collector produces: several threads, each appending
 * batches of records (one batch per HTTP request) without waiting for the previous ones,
 * with a bounded number of batches in flight per thread (like requests awaiting their 2xx).
 *
 * Usage: bench_journal [-d dir] [-s seconds] [-t threads] [-b batch] [-r record_bytes]
 *                      [-w inflight_batches_per_thread] [-p partitions] [-f always|interval|never]
 * Defaults: a fresh directory under /tmp, 5 s, 2 threads, 100 records of 400 bytes per batch,
 * 16 batches in flight per thread, 4 partitions, always. The directory is removed at the end
 * unless -d was given.
 *
 * Prints records/s, MB/s (10^6 bytes of payload), fdatasyncs/s, group commits/s, records per
 * commit, and p50/p99/max latency from the append call to its done callback.
 */
#include "journal/journal.h"

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
} window;

typedef struct bench bench;

typedef struct {
    bench *b;
    window *w;
    int64_t t0;
} batch_slot;

struct bench {
    tl_journal *j;
    int64_t deadline_ns;
    int batch, rec_bytes, window, partitions;
    uint8_t *payloads; /* 64 distinct payloads */
    int64_t *lat;      /* latency of each batch, ns; written by the commit thread only */
    size_t nlat, cap_lat;
    atomic_int errors;
};

static void on_done(void *arg, int status)
{
    batch_slot *s = arg;
    bench *b = s->b;
    if (status)
        atomic_fetch_add(&b->errors, 1);
    if (b->nlat < b->cap_lat)
        b->lat[b->nlat++] = tl_mono_ns() - s->t0;
    window *w = s->w;
    free(s);
    pthread_mutex_lock(&w->mu);
    w->inflight--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *producer(void *arg)
{
    bench *b = arg;
    window w = {.inflight = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    tl_journal_rec *recs = calloc((size_t)b->batch, sizeof *recs);
    uint64_t x = (uint64_t)(uintptr_t)&w | 1;
    while (tl_mono_ns() < b->deadline_ns) {
        pthread_mutex_lock(&w.mu);
        while (w.inflight >= b->window)
            pthread_cond_wait(&w.cv, &w.mu);
        w.inflight++;
        pthread_mutex_unlock(&w.mu);
        for (int i = 0; i < b->batch; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            recs[i].partition = (uint32_t)(x % (uint64_t)b->partitions);
            recs[i].data = b->payloads + (size_t)((x >> 32) % 64) * (size_t)b->rec_bytes;
            recs[i].len = (uint32_t)b->rec_bytes;
        }
        batch_slot *s = malloc(sizeof *s);
        s->b = b;
        s->w = &w;
        s->t0 = tl_mono_ns();
        if (tl_journal_append(b->j, recs, (size_t)b->batch, on_done, s, NULL)) {
            atomic_fetch_add(&b->errors, 1);
            free(s);
            pthread_mutex_lock(&w.mu);
            w.inflight--;
            pthread_mutex_unlock(&w.mu);
        }
    }
    pthread_mutex_lock(&w.mu);
    while (w.inflight > 0)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    free(recs);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_journal: bad number \"%s\" (expected %ld..%ld)\n", s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    char tmpl[] = "/tmp/tl_bench_journal_XXXXXX";
    const char *dir = NULL;
    long seconds = 5, threads = 2;
    tl_fsync_policy pol = TL_FSYNC_ALWAYS;
    bench b = {.batch = 100, .rec_bytes = 400, .window = 16, .partitions = 4};
    int opt;
    while ((opt = getopt(argc, argv, "d:s:t:b:r:w:p:f:")) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 's':
            seconds = arg_long(optarg, 1, 3600);
            break;
        case 't':
            threads = arg_long(optarg, 1, 256);
            break;
        case 'b':
            b.batch = (int)arg_long(optarg, 1, 100000);
            break;
        case 'r':
            b.rec_bytes = (int)arg_long(optarg, 1, 1 << 20);
            break;
        case 'w':
            b.window = (int)arg_long(optarg, 1, 100000);
            break;
        case 'p':
            b.partitions = (int)arg_long(optarg, 1, 1024);
            break;
        case 'f':
            if (tl_fsync_policy_parse(optarg, &pol)) {
                fprintf(stderr, "bench_journal: -f always|interval|never\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: bench_journal [-d dir] [-s seconds] [-t threads] [-b batch] "
                            "[-r record_bytes] [-w inflight] [-p partitions] [-f policy]\n");
            return 2;
        }
    }
    bool own_dir = dir == NULL;
    if (own_dir && !(dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    tl_journal_opts o;
    tl_journal_opts_default(&o);
    o.dir = dir;
    o.partitions = (uint32_t)b.partitions;
    o.fsync = pol;
    char err[512];
    if (tl_journal_open(&o, &b.j, err, sizeof err)) {
        fprintf(stderr, "bench_journal: %s\n", err);
        return 1;
    }
    b.payloads = malloc((size_t)b.rec_bytes * 64);
    for (size_t i = 0; i < (size_t)b.rec_bytes * 64; i++)
        b.payloads[i] = (uint8_t)("{\"type\":\"track\",\"event\":\"Order Completed\"}"[i % 42]);
    b.cap_lat = (size_t)seconds * 200000;
    b.lat = malloc(b.cap_lat * sizeof *b.lat);

    pthread_t th[256];
    int64_t t0 = tl_mono_ns();
    b.deadline_ns = t0 + (int64_t)seconds * 1000000000;
    for (long t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, producer, &b);
    for (long t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double el = (double)(tl_mono_ns() - t0) / 1e9;
    tl_journal_stats st;
    tl_journal_get_stats(b.j, &st);
    tl_journal_close(b.j);

    qsort(b.lat, b.nlat, sizeof *b.lat, cmp_i64);
    double p50 = b.nlat ? (double)b.lat[b.nlat / 2] / 1e6 : 0;
    double p99 = b.nlat ? (double)b.lat[(size_t)((double)b.nlat * 0.99)] / 1e6 : 0;
    double pmax = b.nlat ? (double)b.lat[b.nlat - 1] / 1e6 : 0;
    printf("journal append, fsync=%s, %ld threads x batches of %d x %d B, %d in flight/thread, "
           "%d partitions, %.1f s\n",
           tl_fsync_policy_name(pol), threads, b.batch, b.rec_bytes, b.window, b.partitions, el);
    printf("  records/s      %12.0f\n", (double)st.records / el);
    printf("  MB/s           %12.1f  (payload)\n", (double)st.bytes / el / 1e6);
    printf("  fdatasyncs/s   %12.0f\n", (double)st.syncs / el);
    printf("  commits/s      %12.0f  (%.0f records per group commit)\n", (double)st.commits / el,
           st.commits ? (double)st.records / (double)st.commits : 0.0);
    printf("  latency ms     p50 %.2f  p99 %.2f  max %.2f  (append -> durable, per batch)\n", p50,
           p99, pmax);
    printf("  errors         %d\n", atomic_load(&b.errors));
    free(b.lat);
    free(b.payloads);
    if (own_dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return atomic_load(&b.errors) ? 1 : 0;
}
