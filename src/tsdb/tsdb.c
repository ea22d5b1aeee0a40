/*
 * tsdb.c — per-site minute / hour / day buckets in memory.
 *
 * Layout. A site owns three series. A series is a ring of bucket pointers
 * indexed by key mod slots, where key is the bucket's unit number since the
 * epoch (floor(ms / unit)):
 *
 *     series   unit     slots (default)          holds
 *     minute   60 s     minute_horizon = 2880    the last 48 h of minutes
 *     hour     1 h      rollup_days * 24 = 9600  the last 400 days of hours
 *     day      1 d      rollup_days = 400        the last 400 days
 *
 *     ring[key % slots] -> bucket { key, pageviews, events, hll } or NULL
 *
 * Invariants:
 *   - a series keeps max_key, the newest key ever written; a key is "held"
 *     when max_key - slots < key, and ring[key % slots] is NULL or holds
 *     exactly that key. Advancing max_key frees the buckets that fall out of
 *     the window at once, so memory is bounded by slots per series.
 *   - the three series see the same events: for every held key, an hour's
 *     counters are the sums of its minutes' and its sketch has the registers of
 *     the merge of its minutes' sketches (exact, see hll.c) — as long as those
 *     minutes are held.
 *   - horizons are measured from the newest data of the site, not the wall
 *     clock: a site that went quiet keeps its last 48 h of minutes.
 *
 * Why rings and not a tree: the write path is one modulo and a compare per
 * series; a range read walks keys in order and does the same lookup. Pointers
 * (8 bytes per slot, about 100 KiB per site) keep empty minutes free.
 *
 * Reads of [from, to) are decomposed greedily into whole days, whole hours and
 * minutes at the edges, so "91d" merges about 91 sketches, "24h" about 24 plus
 * up to 118 minutes. A minute past the horizon is replaced by its whole hour
 * (the read reports `coarse`). One writer-preferring rwlock guards everything:
 * each read call holds it once, so every number in one answer comes from one
 * state.
 *
 * Snapshot format (tl_tsdb_snapshot; LEB128 varints, zigzag for signed):
 *
 *   u8[4]  magic "TSDB"
 *   u8     version = 1
 *   var    number of sites
 *   per site:
 *     var    name length, then the name bytes
 *     per series (minute, hour, day):
 *       zvar   max_key + 1 (0 = never written)
 *       var    number of buckets
 *       per bucket: zvar key, var pageviews, var events, sketch (format in hll.c)
 *
 * Integrity is the container's business (the stream checkpoint has a CRC32C);
 * the decoder still checks every length and value and refuses trailing bytes.
 */
#include "tsdb/tsdb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { S_MINUTE = 0, S_HOUR = 1, S_DAY = 2, S__COUNT = 3 };
static const int64_t unit_ms[S__COUNT] = {TL_TSDB_MINUTE_MS, TL_TSDB_HOUR_MS, TL_TSDB_DAY_MS};

typedef struct {
    int64_t key;
    uint64_t pageviews;
    uint64_t events;
    tl_tsdb_hll hll;
} bucket;

typedef struct {
    uint32_t slots;
    bool written;
    int64_t max_key;
    bucket **ring; /* allocated at the first write */
} series;

typedef struct {
    char *name;
    uint32_t len;
    uint64_t hash;
    series s[S__COUNT];
} site;

typedef struct {
    site **v; /* sites in creation order */
    uint32_t n, cap;
    site **tab; /* open addressing by hash, tab_cap a power of two */
    uint32_t tab_cap;
} state;

struct tl_tsdb {
    pthread_rwlock_t lock;
    tl_tsdb_opts o;
    state st;
    uint64_t counted, dropped, ignored, bots; /* written under the write lock */
};

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint32_t slot_of(const series *s, int64_t key)
{
    int64_t r = key % (int64_t)s->slots;
    return (uint32_t)(r < 0 ? r + s->slots : r);
}

void tl_tsdb_opts_default(tl_tsdb_opts *o)
{
    o->minute_horizon = 2880;
    o->rollup_days = 400;
    o->max_future_ms = TL_TSDB_HOUR_MS;
}

/* ---- sites and series ---- */

static void bucket_free(bucket *b)
{
    if (!b)
        return;
    tl_tsdb_hll_deinit(&b->hll);
    tl_free(b);
}

static void series_deinit(series *s)
{
    if (s->ring) {
        for (uint32_t i = 0; i < s->slots; i++)
            bucket_free(s->ring[i]);
        tl_free(s->ring);
    }
    s->ring = NULL;
}

static void site_free(site *st)
{
    if (!st)
        return;
    for (int i = 0; i < S__COUNT; i++)
        series_deinit(&st->s[i]);
    tl_free(st->name);
    tl_free(st);
}

static void state_deinit(state *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        site_free(s->v[i]);
    tl_free(s->v);
    tl_free(s->tab);
    memset(s, 0, sizeof(*s));
}

static site *state_find(const state *s, const char *name, size_t len)
{
    if (!s->tab_cap)
        return NULL;
    uint64_t h = tl_hash64(name, len, 0);
    for (uint32_t i = (uint32_t)h & (s->tab_cap - 1);; i = (i + 1) & (s->tab_cap - 1)) {
        site *st = s->tab[i];
        if (!st)
            return NULL;
        if (st->hash == h && st->len == len && memcmp(st->name, name, len) == 0)
            return st;
    }
}

static void tab_put(site **tab, uint32_t cap, site *st)
{
    uint32_t i = (uint32_t)st->hash & (cap - 1);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = st;
}

static site *state_add(state *s, const tl_tsdb_opts *o, const char *name, size_t len)
{
    if (len == 0 || len > UINT32_MAX)
        return NULL;
    if ((s->n + 1) * 2 > s->tab_cap) {
        uint32_t ncap = s->tab_cap ? s->tab_cap * 2 : 16;
        site **nt = tl_calloc(ncap, sizeof(*nt));
        if (!nt)
            return NULL;
        for (uint32_t i = 0; i < s->n; i++)
            tab_put(nt, ncap, s->v[i]);
        tl_free(s->tab);
        s->tab = nt;
        s->tab_cap = ncap;
    }
    if (s->n == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 8;
        site **nv = tl_realloc(s->v, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return NULL;
        s->v = nv;
        s->cap = ncap;
    }
    site *st = tl_calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->name = tl_strndup(name, len);
    if (!st->name) {
        tl_free(st);
        return NULL;
    }
    st->len = (uint32_t)len;
    st->hash = tl_hash64(name, len, 0);
    st->s[S_MINUTE].slots = o->minute_horizon;
    st->s[S_HOUR].slots = o->rollup_days * 24;
    st->s[S_DAY].slots = o->rollup_days;
    s->v[s->n++] = st;
    tab_put(s->tab, s->tab_cap, st);
    return st;
}

static bool series_holds(const series *s, int64_t key)
{
    return !s->written || key > s->max_key - (int64_t)s->slots;
}

/* The bucket for key, or NULL (none, or not held). */
static bucket *series_get(const series *s, int64_t key)
{
    if (!s->ring || !series_holds(s, key))
        return NULL;
    bucket *b = s->ring[slot_of(s, key)];
    return b && b->key == key ? b : NULL;
}

/* The bucket to write key into. *out = NULL when key is too old to be held. */
static int series_write(series *s, int64_t key, bucket **out)
{
    *out = NULL;
    if (!series_holds(s, key))
        return 0;
    if (!s->ring) {
        s->ring = tl_calloc(s->slots, sizeof(bucket *));
        if (!s->ring)
            return TL_ENOMEM;
    }
    if (!s->written || key > s->max_key) {
        /* Free what falls out of the window [key - slots + 1, key]. */
        if (s->written) {
            int64_t from = s->max_key - (int64_t)s->slots + 1;
            int64_t to = key - (int64_t)s->slots; /* inclusive */
            if (to - from >= (int64_t)s->slots)
                from = to - (int64_t)s->slots + 1;
            for (int64_t k = from; k <= to; k++) {
                uint32_t i = slot_of(s, k);
                if (s->ring[i] && s->ring[i]->key <= to) {
                    bucket_free(s->ring[i]);
                    s->ring[i] = NULL;
                }
            }
        }
        s->max_key = key;
        s->written = true;
    }
    uint32_t i = slot_of(s, key);
    bucket *b = s->ring[i];
    if (b && b->key == key) {
        *out = b;
        return 0;
    }
    bucket_free(b); /* cannot happen after the sweep above; kept for safety */
    s->ring[i] = NULL;
    b = tl_calloc(1, sizeof(*b));
    if (!b)
        return TL_ENOMEM;
    b->key = key;
    tl_tsdb_hll_init(&b->hll);
    s->ring[i] = b;
    *out = b;
    return 0;
}

/* ---- lifecycle ---- */

int tl_tsdb_new_opts(const tl_tsdb_opts *o, tl_tsdb **out)
{
    *out = NULL;
    tl_tsdb_opts d;
    tl_tsdb_opts_default(&d);
    if (o) {
        if (o->minute_horizon)
            d.minute_horizon = o->minute_horizon;
        if (o->rollup_days)
            d.rollup_days = o->rollup_days;
        if (o->max_future_ms)
            d.max_future_ms = o->max_future_ms;
    }
    if (d.minute_horizon > 1000000 || d.rollup_days > 100000)
        return TL_EINVAL;
    tl_tsdb *t = tl_calloc(1, sizeof(*t));
    if (!t)
        return TL_ENOMEM;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* A steady stream of dashboard reads must not starve the stream thread. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&t->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        tl_free(t);
        return TL_ENOMEM;
    }
    t->o = d;
    *out = t;
    return 0;
}

int tl_tsdb_new(tl_tsdb **out)
{
    return tl_tsdb_new_opts(NULL, out);
}

void tl_tsdb_free(tl_tsdb *t)
{
    if (!t)
        return;
    state_deinit(&t->st);
    pthread_rwlock_destroy(&t->lock);
    tl_free(t);
}

void tl_tsdb_clear(tl_tsdb *t)
{
    pthread_rwlock_wrlock(&t->lock);
    state_deinit(&t->st);
    pthread_rwlock_unlock(&t->lock);
}

/* ---- writing ---- */

int tl_tsdb_add(tl_tsdb *t, const tl_event *ev)
{
    bool bot = (ev->flags & TL_EVF_BOT) != 0;
    if (bot || (ev->type != TL_EV_TRACK && ev->type != TL_EV_PAGE && ev->type != TL_EV_SCREEN)) {
        pthread_rwlock_wrlock(&t->lock);
        if (bot)
            t->bots++;
        else
            t->ignored++;
        pthread_rwlock_unlock(&t->lock);
        return 1;
    }
    tl_str name = ev->f[TL_F_SITE];
    int rc = 0;
    pthread_rwlock_wrlock(&t->lock);
    if (name.len == 0 || (ev->received_ms > 0 && ev->ts_ms > ev->received_ms + t->o.max_future_ms))
        goto drop;
    site *st = state_find(&t->st, name.ptr, name.len);
    if (!st) {
        /* Do not create a site for an event no series would hold. */
        if (ev->received_ms > 0 &&
            ev->ts_ms < ev->received_ms - (int64_t)t->o.rollup_days * TL_TSDB_DAY_MS)
            goto drop;
        st = state_add(&t->st, &t->o, name.ptr, name.len);
        if (!st) {
            rc = TL_ENOMEM;
            goto out;
        }
    }
    bool pv = ev->type != TL_EV_TRACK;
    bool any = false;
    for (int i = 0; i < S__COUNT; i++) {
        bucket *b;
        rc = series_write(&st->s[i], floordiv(ev->ts_ms, unit_ms[i]), &b);
        if (rc)
            goto out;
        if (!b)
            continue;
        if ((rc = tl_tsdb_hll_add(&b->hll, ev->visitor)) != 0)
            goto out;
        b->events++;
        b->pageviews += pv;
        any = true;
    }
    if (!any)
        goto drop;
    t->counted++;
    goto out;
drop:
    t->dropped++;
    rc = 1;
out:
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

/* ---- reading ---- */

typedef struct {
    uint64_t pageviews, events;
    tl_tsdb_hll hll;
    bool coarse;
} acc;

static int acc_add(acc *a, const bucket *b)
{
    if (!b)
        return 0;
    a->pageviews += b->pageviews;
    a->events += b->events;
    return tl_tsdb_hll_merge(&a->hll, &b->hll);
}

/* Adds the minute-aligned range [from, to) of st into a. */
static int agg_range(const site *st, int64_t from, int64_t to, acc *a)
{
    const series *mi = &st->s[S_MINUTE], *ho = &st->s[S_HOUR], *da = &st->s[S_DAY];
    int64_t cur = from;
    int rc = 0;
    while (cur < to && rc == 0) {
        if (cur % TL_TSDB_DAY_MS == 0 && cur + TL_TSDB_DAY_MS <= to) {
            rc = acc_add(a, series_get(da, floordiv(cur, TL_TSDB_DAY_MS)));
            cur += TL_TSDB_DAY_MS;
        } else if (cur % TL_TSDB_HOUR_MS == 0 && cur + TL_TSDB_HOUR_MS <= to) {
            rc = acc_add(a, series_get(ho, floordiv(cur, TL_TSDB_HOUR_MS)));
            cur += TL_TSDB_HOUR_MS;
        } else {
            int64_t k = floordiv(cur, TL_TSDB_MINUTE_MS);
            if (series_holds(mi, k)) {
                rc = acc_add(a, series_get(mi, k));
                cur += TL_TSDB_MINUTE_MS;
            } else {
                /* Minutes this old are gone: the whole hour stands in for them. */
                int64_t h = floordiv(cur, TL_TSDB_HOUR_MS);
                rc = acc_add(a, series_get(ho, h));
                a->coarse = true;
                cur = (h + 1) * TL_TSDB_HOUR_MS;
            }
        }
    }
    return rc;
}

static int64_t align_down(int64_t v, int64_t unit)
{
    return floordiv(v, unit) * unit;
}

static int64_t align_up(int64_t v, int64_t unit)
{
    return -floordiv(-v, unit) * unit;
}

size_t tl_tsdb_steps(int64_t from_ms, int64_t to_ms, int64_t step_ms)
{
    if (step_ms <= 0)
        return 0;
    int64_t a = align_down(from_ms, TL_TSDB_MINUTE_MS), b = align_up(to_ms, TL_TSDB_MINUTE_MS);
    if (b <= a)
        return 0;
    return (size_t)((b - align_down(a, step_ms) + step_ms - 1) / step_ms);
}

static void agg_out(acc *a, tl_tsdb_agg *o)
{
    o->pageviews = a->pageviews;
    o->events = a->events;
    o->visitors = tl_tsdb_hll_count(&a->hll);
}

int tl_tsdb_query(tl_tsdb *t, tl_tsdb_read *r)
{
    memset(&r->total, 0, sizeof(r->total));
    r->coarse = false;
    r->site_seen = false;
    if (r->step_ms != 0 && r->step_ms != TL_TSDB_MINUTE_MS && r->step_ms != TL_TSDB_HOUR_MS &&
        r->step_ms != TL_TSDB_DAY_MS)
        return TL_EINVAL;
    size_t steps = tl_tsdb_steps(r->from_ms, r->to_ms, r->step_ms);
    if (r->step_ms && (r->nrows != steps || (steps && !r->rows)))
        return TL_EINVAL;
    if (steps)
        memset(r->rows, 0, steps * sizeof(*r->rows));
    int64_t a = align_down(r->from_ms, TL_TSDB_MINUTE_MS);
    int64_t b = align_up(r->to_ms, TL_TSDB_MINUTE_MS);
    int rc = 0;
    acc ac;
    memset(&ac, 0, sizeof(ac));
    tl_tsdb_hll_init(&ac.hll);
    pthread_rwlock_rdlock(&t->lock);
    const site *st = state_find(&t->st, r->site, r->site_len);
    if (!st || b <= a)
        goto out;
    r->site_seen = true;
    if ((rc = agg_range(st, a, b, &ac)) != 0)
        goto out;
    agg_out(&ac, &r->total);
    r->coarse = ac.coarse;
    int64_t start = r->step_ms ? align_down(a, r->step_ms) : 0;
    for (size_t i = 0; i < steps; i++) {
        int64_t lo = TL_MAX(a, start + (int64_t)i * r->step_ms);
        int64_t hi = TL_MIN(b, start + (int64_t)(i + 1) * r->step_ms);
        tl_tsdb_hll_clear(&ac.hll);
        ac.pageviews = ac.events = 0;
        if ((rc = agg_range(st, lo, hi, &ac)) != 0)
            goto out;
        agg_out(&ac, &r->rows[i]);
        r->coarse = r->coarse || ac.coarse;
    }
out:
    pthread_rwlock_unlock(&t->lock);
    tl_tsdb_hll_deinit(&ac.hll);
    return rc;
}

int tl_tsdb_realtime(tl_tsdb *t, const char *name, size_t len, int64_t now_ms, int64_t window_ms,
                     uint64_t *visitors)
{
    *visitors = 0;
    tl_tsdb_hll h;
    tl_tsdb_hll_init(&h);
    int rc = 0;
    pthread_rwlock_rdlock(&t->lock);
    const site *st = state_find(&t->st, name, len);
    if (st) {
        int64_t k0 = floordiv(now_ms - window_ms, TL_TSDB_MINUTE_MS);
        int64_t k1 = floordiv(now_ms, TL_TSDB_MINUTE_MS);
        for (int64_t k = k0; k <= k1 && rc == 0; k++) {
            const bucket *b = series_get(&st->s[S_MINUTE], k);
            if (b)
                rc = tl_tsdb_hll_merge(&h, &b->hll);
        }
    }
    pthread_rwlock_unlock(&t->lock);
    if (rc == 0)
        *visitors = tl_tsdb_hll_count(&h);
    tl_tsdb_hll_deinit(&h);
    return rc;
}

bool tl_tsdb_has_site(tl_tsdb *t, const char *name, size_t len)
{
    pthread_rwlock_rdlock(&t->lock);
    bool yes = state_find(&t->st, name, len) != NULL;
    pthread_rwlock_unlock(&t->lock);
    return yes;
}

int tl_tsdb_first_ms(tl_tsdb *t, const char *name, size_t len, int64_t *out)
{
    int rc = TL_ENOTFOUND;
    pthread_rwlock_rdlock(&t->lock);
    const site *st = state_find(&t->st, name, len);
    if (st && st->s[S_DAY].ring) {
        const series *s = &st->s[S_DAY];
        for (int64_t k = s->max_key - (int64_t)s->slots + 1; k <= s->max_key; k++) {
            if (series_get(s, k)) {
                *out = k * TL_TSDB_DAY_MS;
                rc = 0;
                break;
            }
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    const tl_str *x = a, *y = b;
    int c = memcmp(x->ptr, y->ptr, TL_MIN(x->len, y->len));
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

int tl_tsdb_sites(tl_tsdb *t, tl_arena *a, tl_str **out, size_t *n)
{
    int rc = 0;
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&t->lock);
    uint32_t cnt = t->st.n;
    tl_str *v = tl_arena_alloc(a, (cnt ? cnt : 1) * sizeof(tl_str));
    if (!v) {
        rc = TL_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < cnt; i++) {
        char *s = tl_arena_strndup(a, t->st.v[i]->name, t->st.v[i]->len);
        if (!s) {
            rc = TL_ENOMEM;
            goto out;
        }
        v[i] = tl_str_make(s, t->st.v[i]->len);
    }
    qsort(v, cnt, sizeof(*v), cmp_str);
    *out = v;
    *n = cnt;
out:
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

void tl_tsdb_get_stats(tl_tsdb *t, tl_tsdb_stats *o)
{
    memset(o, 0, sizeof(*o));
    pthread_rwlock_rdlock(&t->lock);
    o->sites = t->st.n;
    o->counted = t->counted;
    o->dropped = t->dropped;
    o->ignored = t->ignored;
    o->bots = t->bots;
    o->bytes = (uint64_t)t->st.tab_cap * sizeof(site *) + (uint64_t)t->st.cap * sizeof(site *);
    for (uint32_t i = 0; i < t->st.n; i++) {
        const site *st = t->st.v[i];
        o->bytes += sizeof(*st) + st->len;
        for (int s = 0; s < S__COUNT; s++) {
            const series *se = &st->s[s];
            if (!se->ring)
                continue;
            o->bytes += (uint64_t)se->slots * sizeof(bucket *);
            for (uint32_t j = 0; j < se->slots; j++) {
                const bucket *b = se->ring[j];
                if (!b)
                    continue;
                o->buckets++;
                o->dense += tl_tsdb_hll_is_dense(&b->hll);
                o->bytes += sizeof(*b) + tl_tsdb_hll_bytes(&b->hll);
            }
        }
    }
    pthread_rwlock_unlock(&t->lock);
}

/* ---- snapshot ---- */

static const char snap_magic[4] = {'T', 'S', 'D', 'B'};
#define SNAP_VERSION 1

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); /* sign bit spread over 64 */
}

static int64_t unzz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int tl_tsdb_snapshot(tl_tsdb *t, tl_buf *out)
{
    int rc;
    pthread_rwlock_rdlock(&t->lock);
    if ((rc = tl_buf_append(out, snap_magic, 4)) != 0 || (rc = tl_buf_putc(out, SNAP_VERSION)) ||
        (rc = tl_buf_put_varint(out, t->st.n)) != 0)
        goto out;
    for (uint32_t i = 0; i < t->st.n; i++) {
        const site *st = t->st.v[i];
        if ((rc = tl_buf_put_varint(out, st->len)) != 0 ||
            (rc = tl_buf_append(out, st->name, st->len)) != 0)
            goto out;
        for (int s = 0; s < S__COUNT; s++) {
            const series *se = &st->s[s];
            uint64_t nb = 0;
            for (uint32_t j = 0; se->ring && j < se->slots; j++)
                nb += se->ring[j] != NULL;
            if ((rc = tl_buf_put_varint(out, se->written ? zz(se->max_key + 1) : 0)) != 0 ||
                (rc = tl_buf_put_varint(out, nb)) != 0)
                goto out;
            for (uint32_t j = 0; se->ring && j < se->slots; j++) {
                const bucket *b = se->ring[j];
                if (!b)
                    continue;
                if ((rc = tl_buf_put_varint(out, zz(b->key))) != 0 ||
                    (rc = tl_buf_put_varint(out, b->pageviews)) != 0 ||
                    (rc = tl_buf_put_varint(out, b->events)) != 0 ||
                    (rc = tl_tsdb_hll_encode(&b->hll, out)) != 0)
                    goto out;
            }
        }
    }
out:
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

static int restore_site(state *s, const tl_tsdb_opts *o, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint64_t len;
    if (tl_varint_get(&p, end, &len) != 0 || len == 0 || len > (uint64_t)(end - p))
        return TL_ECORRUPT;
    if (state_find(s, (const char *)p, len))
        return TL_ECORRUPT; /* a site twice */
    site *st = state_add(s, o, (const char *)p, len);
    if (!st)
        return TL_ENOMEM;
    p += len;
    for (int i = 0; i < S__COUNT; i++) {
        series *se = &st->s[i];
        uint64_t mk, nb;
        if (tl_varint_get(&p, end, &mk) != 0 || tl_varint_get(&p, end, &nb) != 0)
            return TL_ECORRUPT;
        if (nb > (uint64_t)(end - p))
            return TL_ECORRUPT;
        /* Write the newest key first so the window is right before the buckets arrive. */
        if (mk != 0) {
            bucket *b;
            int rc = series_write(se, unzz(mk) - 1, &b);
            if (rc)
                return rc;
        }
        for (uint64_t j = 0; j < nb; j++) {
            uint64_t key, pv, ev;
            if (tl_varint_get(&p, end, &key) != 0 || tl_varint_get(&p, end, &pv) != 0 ||
                tl_varint_get(&p, end, &ev) != 0 || pv > ev)
                return TL_ECORRUPT;
            tl_tsdb_hll h;
            tl_tsdb_hll_init(&h);
            int rc = tl_tsdb_hll_decode(&h, &p, end);
            if (rc)
                return rc;
            int64_t k = unzz(key);
            if (mk == 0 || k > unzz(mk) - 1) {
                tl_tsdb_hll_deinit(&h);
                return TL_ECORRUPT; /* a bucket newer than the series says it has */
            }
            bucket *b;
            if ((rc = series_write(se, k, &b)) != 0) {
                tl_tsdb_hll_deinit(&h);
                return rc;
            }
            if (!b) { /* our horizon is shorter than the writer's: drop it */
                tl_tsdb_hll_deinit(&h);
                continue;
            }
            if (b->events) {
                tl_tsdb_hll_deinit(&h);
                return TL_ECORRUPT; /* a bucket twice */
            }
            tl_tsdb_hll_deinit(&b->hll);
            b->hll = h;
            b->pageviews = pv;
            b->events = ev;
        }
    }
    /* Buckets created only to place the window (max_key with no data) are empty: drop them. */
    for (int i = 0; i < S__COUNT; i++) {
        series *se = &st->s[i];
        for (uint32_t j = 0; se->ring && j < se->slots; j++) {
            bucket *b = se->ring[j];
            if (b && b->events == 0) {
                bucket_free(b);
                se->ring[j] = NULL;
            }
        }
    }
    *pp = p;
    return 0;
}

int tl_tsdb_restore(tl_tsdb *t, const void *data, size_t n)
{
    const uint8_t *p = data, *end = p + n;
    state tmp;
    memset(&tmp, 0, sizeof(tmp));
    int rc = TL_ECORRUPT;
    uint64_t nsites;
    if (n < 5 || memcmp(p, snap_magic, 4) != 0 || p[4] != SNAP_VERSION)
        goto fail;
    p += 5;
    if (tl_varint_get(&p, end, &nsites) != 0 || nsites > (uint64_t)(end - p))
        goto fail;
    for (uint64_t i = 0; i < nsites; i++)
        if ((rc = restore_site(&tmp, &t->o, &p, end)) != 0)
            goto fail;
    if (p != end) {
        rc = TL_ECORRUPT;
        goto fail;
    }
    pthread_rwlock_wrlock(&t->lock);
    state old = t->st;
    t->st = tmp;
    pthread_rwlock_unlock(&t->lock);
    state_deinit(&old);
    return 0;
fail:
    state_deinit(&tmp);
    return rc;
}
