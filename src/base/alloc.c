/*
 * Counted allocation, error names, and small string helpers.
 *
 * Every heap allocation in tally goes through tl_malloc & co. so that the
 * bytes in use can be read (tl_alloc_used, exported in /metrics) and tests can
 * make the Nth allocation fail to exercise error paths. Sizes are kept in a
 * 16-byte header in front of each block; the counters are process-wide atomics,
 * the one piece of global state the design allows (as Redis' zmalloc does).
 */
#include "base/base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16

static atomic_size_t used_bytes;
static atomic_long fail_countdown;

static bool should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n <= 0)
        return false;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void *tl_malloc(size_t n)
{
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add_explicit(&used_bytes, n, memory_order_relaxed);
    return p + HDR;
}

void *tl_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = tl_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *tl_realloc(void *ptr, size_t n)
{
    if (!ptr)
        return tl_malloc(n);
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    unsigned char *p = realloc(base, n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add_explicit(&used_bytes, n, memory_order_relaxed);
    atomic_fetch_sub_explicit(&used_bytes, old, memory_order_relaxed);
    return p + HDR;
}

void tl_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t n;
    memcpy(&n, base, sizeof n);
    atomic_fetch_sub_explicit(&used_bytes, n, memory_order_relaxed);
    free(base);
}

char *tl_strndup(const char *s, size_t n)
{
    char *p = tl_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

size_t tl_alloc_used(void)
{
    return atomic_load_explicit(&used_bytes, memory_order_relaxed);
}

void tl_alloc_fail_after(long nth)
{
    atomic_store(&fail_countdown, nth);
}

bool tl_str_eq(tl_str a, const char *cstr)
{
    size_t n = strlen(cstr);
    return a.len == n && (n == 0 || memcmp(a.ptr, cstr, n) == 0);
}

int tl_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t tl_percent_decode(const char *s, size_t n, bool plus_is_space, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && tl_hexval(s[i + 1]) >= 0 && tl_hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(tl_hexval(s[i + 1]) * 16 + tl_hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return o;
}

const char *tl_strerror(int err)
{
    switch (err) {
    case TL_OK:
        return "ok";
    case TL_ENOMEM:
        return "out of memory";
    case TL_EIO:
        return "i/o error";
    case TL_EINVAL:
        return "invalid argument";
    case TL_ECORRUPT:
        return "data corrupt";
    case TL_EAGAIN:
        return "try again";
    case TL_ENOTFOUND:
        return "not found";
    case TL_ELIMIT:
        return "limit exceeded";
    case TL_EEXIST:
        return "already exists";
    case TL_ECLOSED:
        return "closed";
    default:
        return "unknown error";
    }
}
