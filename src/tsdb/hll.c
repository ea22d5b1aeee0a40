/*
 * hll.c — the HyperLogLog sketch behind every "visitors" number.
 *
 * Parameters: precision p = 14, so m = 16384 registers and a standard error of
 * 1.04 / sqrt(16384) = 0.81%. An item (a 64-bit visitor id) is first mixed with
 * the splitmix64 finalizer (a bijection on 64 bits with full avalanche), then
 *
 *     hash:  | index: top 14 bits | w: remaining 50 bits ........ |
 *     register[index] = max(register[index], rho(w))
 *     rho(w) = leading zeros of w (as a 50-bit word) + 1, in 1..51 (51 when w == 0)
 *
 * Two representations hold the same registers:
 *
 *   sparse  a sorted array of uint32 entries, one per non-zero register:
 *               bits 31..22 zero | 21..8 register index | 7..0 value
 *           4 bytes per touched register; most minute buckets see a few
 *           hundred visitors at most, so this is 100x smaller than dense.
 *   dense   16384 one-byte registers (16 KiB). One byte rather than six bits:
 *           25% more memory for adds and merges without bit shuffling.
 *
 * A sparse sketch becomes dense once it holds more than TL_TSDB_HLL_SPARSE_MAX
 * entries (8 KiB, where dense starts being the cheaper of the two per lookup).
 * Because sparse entries use the same index and value as the dense registers,
 * promotion is lossless and merge (register-wise max) is exact in every
 * combination: merge(sketch(A), sketch(B)) has the very registers of
 * sketch(A ∪ B). That is what lets an hour be the merge of its minutes.
 *
 * Estimation: Otmar Ertl's improved estimator ("New cardinality estimation
 * algorithms for HyperLogLog sketches", 2017), computed from the histogram of
 * register values. It needs no empirical bias tables and stays within the
 * standard error from a handful of items (where it behaves like linear
 * counting) to far beyond 1e9. Cost: O(m) for dense, O(entries) for sparse.
 *
 * Serialized form (little endian, varints are LEB128):
 *
 *   u8   encoding      0 = sparse, 1 = dense
 *   sparse:  var n, then n times { var index delta from the previous index
 *            (the first from 0), u8 value in 1..51 }; indices strictly increase
 *   dense:   16384 bytes, each a register value in 0..51
 *
 * Cost: add is O(log n + n) sparse (binary search, memmove of at most 8 KiB),
 * O(1) dense; merge O(m) when either side is dense.
 */
#include "tsdb/tsdb.h"

#include <math.h>
#include <string.h>

#define M           TL_TSDB_HLL_REGISTERS
#define Q           (64 - TL_TSDB_HLL_P)
#define ENT(idx, v) (((uint32_t)(idx) << 8) | (uint32_t)(v))
#define ENT_IDX(e)  ((e) >> 8)
#define ENT_VAL(e)  ((uint8_t)((e)&0xff))

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void tl_tsdb_hll_init(tl_tsdb_hll *h)
{
    memset(h, 0, sizeof(*h));
}

void tl_tsdb_hll_deinit(tl_tsdb_hll *h)
{
    tl_free(h->sparse);
    tl_free(h->regs);
    memset(h, 0, sizeof(*h));
}

void tl_tsdb_hll_clear(tl_tsdb_hll *h)
{
    tl_tsdb_hll_deinit(h);
}

bool tl_tsdb_hll_is_dense(const tl_tsdb_hll *h)
{
    return h->dense != 0;
}

size_t tl_tsdb_hll_bytes(const tl_tsdb_hll *h)
{
    return h->dense ? M : (size_t)h->cap * sizeof(uint32_t);
}

static int to_dense(tl_tsdb_hll *h)
{
    if (h->dense)
        return 0;
    uint8_t *regs = tl_calloc(M, 1);
    if (!regs)
        return TL_ENOMEM;
    for (uint32_t i = 0; i < h->n; i++)
        regs[ENT_IDX(h->sparse[i])] = ENT_VAL(h->sparse[i]);
    tl_free(h->sparse);
    h->sparse = NULL;
    h->n = h->cap = 0;
    h->regs = regs;
    h->dense = 1;
    return 0;
}

/* First position whose index is >= idx. */
static uint32_t sparse_find(const tl_tsdb_hll *h, uint32_t idx)
{
    uint32_t lo = 0, hi = h->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ENT_IDX(h->sparse[mid]) < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int set_register(tl_tsdb_hll *h, uint32_t idx, uint8_t v)
{
    if (h->dense) {
        if (h->regs[idx] < v)
            h->regs[idx] = v;
        return 0;
    }
    uint32_t pos = sparse_find(h, idx);
    if (pos < h->n && ENT_IDX(h->sparse[pos]) == idx) {
        if (ENT_VAL(h->sparse[pos]) < v)
            h->sparse[pos] = ENT(idx, v);
        return 0;
    }
    if (h->n >= TL_TSDB_HLL_SPARSE_MAX) {
        int rc = to_dense(h);
        if (rc)
            return rc;
        h->regs[idx] = v;
        return 0;
    }
    if (h->n == h->cap) {
        uint32_t ncap = h->cap ? h->cap * 2 : 8;
        if (ncap > TL_TSDB_HLL_SPARSE_MAX)
            ncap = TL_TSDB_HLL_SPARSE_MAX;
        uint32_t *ns = tl_realloc(h->sparse, (size_t)ncap * sizeof(uint32_t));
        if (!ns)
            return TL_ENOMEM;
        h->sparse = ns;
        h->cap = ncap;
    }
    memmove(h->sparse + pos + 1, h->sparse + pos, (size_t)(h->n - pos) * sizeof(uint32_t));
    h->sparse[pos] = ENT(idx, v);
    h->n++;
    return 0;
}

int tl_tsdb_hll_add(tl_tsdb_hll *h, uint64_t item)
{
    uint64_t x = mix64(item);
    uint32_t idx = (uint32_t)(x >> Q);
    uint64_t w = x << TL_TSDB_HLL_P;
    uint8_t rho = w ? (uint8_t)(__builtin_clzll(w) + 1) : (uint8_t)(Q + 1);
    return set_register(h, idx, rho);
}

int tl_tsdb_hll_merge(tl_tsdb_hll *dst, const tl_tsdb_hll *src)
{
    if (dst == src)
        return 0;
    if (src->dense) {
        int rc = to_dense(dst);
        if (rc)
            return rc;
        /* Written as a branch-free max so the compiler vectorizes it. */
        uint8_t *restrict d = dst->regs;
        const uint8_t *restrict s = src->regs;
        for (uint32_t i = 0; i < M; i++)
            d[i] = d[i] > s[i] ? d[i] : s[i];
        return 0;
    }
    if (src->n == 0)
        return 0;
    if (dst->dense) {
        for (uint32_t i = 0; i < src->n; i++) {
            uint32_t idx = ENT_IDX(src->sparse[i]);
            uint8_t v = ENT_VAL(src->sparse[i]);
            if (dst->regs[idx] < v)
                dst->regs[idx] = v;
        }
        return 0;
    }
    /* Both sparse: one sorted union pass into a new array. */
    uint32_t cap = dst->n + src->n;
    uint32_t *out = tl_malloc((size_t)cap * sizeof(uint32_t));
    if (!out)
        return TL_ENOMEM;
    uint32_t i = 0, j = 0, k = 0;
    while (i < dst->n || j < src->n) {
        if (j == src->n || (i < dst->n && ENT_IDX(dst->sparse[i]) < ENT_IDX(src->sparse[j]))) {
            out[k++] = dst->sparse[i++];
        } else if (i == dst->n || ENT_IDX(src->sparse[j]) < ENT_IDX(dst->sparse[i])) {
            out[k++] = src->sparse[j++];
        } else {
            uint32_t a = dst->sparse[i++], b = src->sparse[j++];
            out[k++] = ENT_VAL(a) >= ENT_VAL(b) ? a : b;
        }
    }
    tl_free(dst->sparse);
    dst->sparse = out;
    dst->n = k;
    dst->cap = cap;
    if (k > TL_TSDB_HLL_SPARSE_MAX)
        return to_dense(dst);
    return 0;
}

void tl_tsdb_hll_registers(const tl_tsdb_hll *h, uint8_t *regs)
{
    if (h->dense) {
        memcpy(regs, h->regs, M);
        return;
    }
    memset(regs, 0, M);
    for (uint32_t i = 0; i < h->n; i++)
        regs[ENT_IDX(h->sparse[i])] = ENT_VAL(h->sparse[i]);
}

/* Ertl's sigma and tau series (see the paper, section 4). */
static double hll_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (zp != z);
    return z / 3.0;
}

double tl_tsdb_hll_estimate(const tl_tsdb_hll *h)
{
    uint32_t c[Q + 2] = {0};
    if (h->dense) {
        for (uint32_t i = 0; i < M; i++)
            c[h->regs[i]]++;
    } else {
        c[0] = M - h->n;
        for (uint32_t i = 0; i < h->n; i++)
            c[ENT_VAL(h->sparse[i])]++;
    }
    if (c[0] == M)
        return 0.0;
    const double m = (double)M;
    double z = m * hll_tau(1.0 - (double)c[Q + 1] / m);
    for (int k = Q; k >= 1; k--)
        z = 0.5 * (z + (double)c[k]);
    z += m * hll_sigma((double)c[0] / m);
    const double alpha_inf = 0.5 / log(2.0);
    return alpha_inf * m * m / z;
}

uint64_t tl_tsdb_hll_count(const tl_tsdb_hll *h)
{
    double e = tl_tsdb_hll_estimate(h);
    return e <= 0.0 ? 0 : (uint64_t)llround(e);
}

int tl_tsdb_hll_encode(const tl_tsdb_hll *h, tl_buf *out)
{
    int rc;
    if (h->dense) {
        if ((rc = tl_buf_putc(out, 1)) != 0)
            return rc;
        return tl_buf_append(out, h->regs, M);
    }
    if ((rc = tl_buf_putc(out, 0)) != 0 || (rc = tl_buf_put_varint(out, h->n)) != 0)
        return rc;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        uint32_t idx = ENT_IDX(h->sparse[i]);
        if ((rc = tl_buf_put_varint(out, idx - prev)) != 0 ||
            (rc = tl_buf_putc(out, (char)ENT_VAL(h->sparse[i]))) != 0)
            return rc;
        prev = idx;
    }
    return 0;
}

int tl_tsdb_hll_decode(tl_tsdb_hll *h, const uint8_t **p, const uint8_t *end)
{
    const uint8_t *s = *p;
    if (s >= end)
        return TL_ECORRUPT;
    uint8_t enc = *s++;
    if (enc == 1) {
        if ((size_t)(end - s) < M)
            return TL_ECORRUPT;
        for (uint32_t i = 0; i < M; i++)
            if (s[i] > Q + 1)
                return TL_ECORRUPT;
        h->regs = tl_malloc(M);
        if (!h->regs)
            return TL_ENOMEM;
        memcpy(h->regs, s, M);
        h->dense = 1;
        *p = s + M;
        return 0;
    }
    if (enc != 0)
        return TL_ECORRUPT;
    uint64_t n;
    if (tl_varint_get(&s, end, &n) != 0 || n > TL_TSDB_HLL_SPARSE_MAX)
        return TL_ECORRUPT;
    if (n) {
        h->sparse = tl_malloc((size_t)n * sizeof(uint32_t));
        if (!h->sparse)
            return TL_ENOMEM;
        h->cap = (uint32_t)n;
    }
    uint64_t idx = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t d;
        if (tl_varint_get(&s, end, &d) != 0 || s >= end)
            goto corrupt;
        if ((i > 0 && d == 0) || d >= M || idx + d >= M)
            goto corrupt;
        idx += d;
        uint8_t v = *s++;
        if (v == 0 || v > Q + 1)
            goto corrupt;
        h->sparse[i] = ENT(idx, v);
    }
    h->n = (uint32_t)n;
    *p = s;
    return 0;
corrupt:
    tl_tsdb_hll_deinit(h);
    return TL_ECORRUPT;
}
