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

struct tl_dedup {
    pthread_mutex_t mu;
    table cur, prev;
    int64_t cur_start;
    int64_t horizon_ms;
    size_t max_entries;
    uint64_t early_rotations;
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
    pthread_mutex_init(&d->mu, NULL);
    d->horizon_ms = horizon_ms;
    d->max_entries = max_entries < 2 ? 2 : max_entries;
    if (table_init(&d->cur, 1 << 14) || table_init(&d->prev, 16)) {
        tl_dedup_free(d);
        return TL_ENOMEM;
    }
    d->cur_start = tl_now_ms();
    *out = d;
    return 0;
}

void tl_dedup_free(tl_dedup *d)
{
    if (!d)
        return;
    tl_free(d->cur.slots);
    tl_free(d->prev.slots);
    pthread_mutex_destroy(&d->mu);
    tl_free(d);
}

static void rotate(tl_dedup *d, int64_t now)
{
    tl_free(d->prev.slots);
    d->prev = d->cur;
    size_t cap = 1 << 14;
    if (table_init(&d->cur, cap)) {
        /* keep working with the old table rather than lose dedup entirely */
        d->cur = d->prev;
        table_init(&d->prev, 16);
        return;
    }
    d->cur_start = now;
}

bool tl_dedup_insert(tl_dedup *d, uint64_t key, int64_t now)
{
    key = norm(key);
    pthread_mutex_lock(&d->mu);
    if (now - d->cur_start >= d->horizon_ms)
        rotate(d, now);
    bool found;
    find(&d->prev, key, &found);
    if (!found) {
        size_t i = find(&d->cur, key, &found);
        if (!found) {
            if (d->cur.keys >= d->max_entries / 2) {
                d->early_rotations++;
                tl_log(TL_LOG_WARN,
                       "dedup set reached %zu entries (dedup_max_entries %zu): rotating early, "
                       "the dedup horizon is shorter than configured",
                       d->cur.keys + d->prev.keys, d->max_entries);
                rotate(d, now);
                i = find(&d->cur, key, &found);
            }
            if (d->cur.slots[i] == EMPTY)
                d->cur.used++;
            d->cur.slots[i] = key;
            d->cur.keys++;
            if (d->cur.used * 2 > d->cur.cap)
                grow(&d->cur); /* on failure the table is just fuller; probing still ends */
        }
    }
    pthread_mutex_unlock(&d->mu);
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
    pthread_mutex_lock(&d->mu);
    remove_from(&d->cur, key);
    remove_from(&d->prev, key);
    pthread_mutex_unlock(&d->mu);
}

size_t tl_dedup_size(tl_dedup *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->cur.keys + d->prev.keys;
    pthread_mutex_unlock(&d->mu);
    return n;
}

uint64_t tl_dedup_early_rotations(tl_dedup *d)
{
    pthread_mutex_lock(&d->mu);
    uint64_t n = d->early_rotations;
    pthread_mutex_unlock(&d->mu);
    return n;
}
