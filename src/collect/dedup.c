/*
 * The dedup set: which (site, messageId) pairs were accepted recently.
 *
 * Keys are 64-bit hashes of site and messageId (a false "duplicate" needs a
 * 64-bit collision among the events of one horizon: about n^2/2^65, 1e-5 at
 * 20 million events). They live in two generations of open-addressing tables
 * (linear probing, load ≤ 1/2):
 *
 *     cur   keys inserted since cur_start
 *     prev  keys inserted in the generation before
 *
 * When cur is older than the horizon, prev is dropped and cur becomes prev.
 * A key is thus remembered for at least one horizon and at most two. Memory is
 * bounded by max_entries: when cur alone reaches half of it the rotation
 * happens early, which shortens the horizon, and is counted so operators see
 * it (tally_dedup_early_rotations_total).
 *
 * Slot values: 0 empty, 1 tombstone (a removed key); real keys 0 and 1 are
 * mapped to 2 and 3.
 *
 * Shards: the set is split into 64 shards by the key's top bits, each with its
 * own mutex, generations and growth. Two server threads rarely meet on one
 * lock, and growing a table (a rehash of every key in it) stalls only the
 * 1/64th of the requests whose keys land in that shard, for 1/64th of the time
 * one big table would: at millions of keys a single rehash took tens of
 * milliseconds of everyone's latency.
 */
#include "collect/dedup.h"

#include <pthread.h>
#include <string.h>

#define EMPTY 0
#define TOMB  1

typedef struct {
    uint64_t *slots;
    size_t cap;  /* power of two */
    size_t used; /* keys + tombstones */
    size_t keys;
} table;

#define SHARDS 64

typedef struct {
    pthread_mutex_t mu;
    table cur, prev;
    int64_t cur_start;
    uint64_t early_rotations;
} shard;

struct tl_dedup {
    shard shards[SHARDS];
    int64_t horizon_ms;
    size_t max_entries; /* per shard */
    size_t max_total;
};

static int table_init(table *t, size_t cap)
{
    t->slots = tl_calloc(cap, sizeof *t->slots);
    t->cap = cap;
    t->used = t->keys = 0;
    return t->slots ? 0 : TL_ENOMEM;
}

static uint64_t norm(uint64_t k)
{
    return k <= TOMB ? k + 2 : k;
}

static size_t find(const table *t, uint64_t k, bool *found)
{
    size_t mask = t->cap - 1, i = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 17) & mask;
    size_t first_tomb = SIZE_MAX;
    for (;;) {
        uint64_t s = t->slots[i];
        if (s == k) {
            *found = true;
            return i;
        }
        if (s == EMPTY) {
            *found = false;
            return first_tomb != SIZE_MAX ? first_tomb : i;
        }
        if (s == TOMB && first_tomb == SIZE_MAX)
            first_tomb = i;
        i = (i + 1) & mask;
    }
}

static int grow(table *t)
{
    table n;
    if (table_init(&n, t->cap * 2))
        return TL_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        uint64_t s = t->slots[i];
        if (s > TOMB) {
            bool found;
            n.slots[find(&n, s, &found)] = s;
            n.used++;
            n.keys++;
        }
    }
    tl_free(t->slots);
    *t = n;
    return 0;
}

int tl_dedup_new(int64_t horizon_ms, size_t max_entries, tl_dedup **out)
{
    tl_dedup *d = tl_calloc(1, sizeof *d);
    if (!d)
        return TL_ENOMEM;
    d->horizon_ms = horizon_ms;
    d->max_total = max_entries < 2 * SHARDS ? 2 * SHARDS : max_entries;
    d->max_entries = d->max_total / SHARDS;
    int64_t now = tl_now_ms();
    for (int i = 0; i < SHARDS; i++) {
        shard *sh = &d->shards[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->cur_start = now;
        if (table_init(&sh->cur, 1 << 10) || table_init(&sh->prev, 16)) {
            tl_dedup_free(d);
            return TL_ENOMEM;
        }
    }
    *out = d;
    return 0;
}

void tl_dedup_free(tl_dedup *d)
{
    if (!d)
        return;
    for (int i = 0; i < SHARDS; i++) {
        tl_free(d->shards[i].cur.slots);
        tl_free(d->shards[i].prev.slots);
        pthread_mutex_destroy(&d->shards[i].mu);
    }
    tl_free(d);
}

static void rotate(shard *sh, int64_t now)
{
    tl_free(sh->prev.slots);
    sh->prev = sh->cur;
    if (table_init(&sh->cur, 1 << 10)) {
        /* keep working with the old table rather than lose dedup entirely */
        sh->cur = sh->prev;
        table_init(&sh->prev, 16);
        return;
    }
    sh->cur_start = now;
}

static shard *shard_of(tl_dedup *d, uint64_t key)
{
    return &d->shards[key >> 58]; /* the top 6 bits: the table index uses the low ones */
}

bool tl_dedup_insert(tl_dedup *d, uint64_t key, int64_t now)
{
    key = norm(key);
    shard *sh = shard_of(d, key);
    pthread_mutex_lock(&sh->mu);
    if (now - sh->cur_start >= d->horizon_ms)
        rotate(sh, now);
    bool found;
    find(&sh->prev, key, &found);
    if (!found) {
        size_t i = find(&sh->cur, key, &found);
        if (!found) {
            if (sh->cur.keys >= d->max_entries / 2) {
                sh->early_rotations++;
                static int64_t last;
                tl_log_limited(&last, 60000, TL_LOG_WARN,
                               "dedup set full (dedup_max_entries %zu): rotating early, the "
                               "dedup horizon is shorter than configured",
                               d->max_total);
                rotate(sh, now);
                i = find(&sh->cur, key, &found);
            }
            if (sh->cur.slots[i] == EMPTY)
                sh->cur.used++;
            sh->cur.slots[i] = key;
            sh->cur.keys++;
            if (sh->cur.used * 2 > sh->cur.cap)
                grow(&sh->cur); /* on failure the table is just fuller; probing still ends */
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return !found;
}

static void remove_from(table *t, uint64_t key)
{
    bool found;
    size_t i = find(t, key, &found);
    if (found) {
        t->slots[i] = TOMB;
        t->keys--;
    }
}

void tl_dedup_remove(tl_dedup *d, uint64_t key)
{
    key = norm(key);
    shard *sh = shard_of(d, key);
    pthread_mutex_lock(&sh->mu);
    remove_from(&sh->cur, key);
    remove_from(&sh->prev, key);
    pthread_mutex_unlock(&sh->mu);
}

size_t tl_dedup_size(tl_dedup *d)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&d->shards[i].mu);
        n += d->shards[i].cur.keys + d->shards[i].prev.keys;
        pthread_mutex_unlock(&d->shards[i].mu);
    }
    return n;
}

uint64_t tl_dedup_early_rotations(tl_dedup *d)
{
    uint64_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&d->shards[i].mu);
        n += d->shards[i].early_rotations;
        pthread_mutex_unlock(&d->shards[i].mu);
    }
    return n;
}
