/*
 * tl_buf (growable bytes, always NUL-terminated) and tl_arena (bump
 * allocation in chunks, freed at once: one arena per request or batch, as
 * nginx's pools).
 *
 * The arena keeps its first chunk across resets so a steady request loop does
 * no malloc at all; allocations larger than a quarter chunk get a chunk of
 * their own so a big body does not waste the rest of a normal chunk.
 */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

void tl_buf_init(tl_buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void tl_buf_deinit(tl_buf *b)
{
    tl_free(b->ptr);
    tl_buf_init(b);
}

int tl_buf_reserve(tl_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = tl_realloc(b->ptr, cap);
    if (!p)
        return TL_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int tl_buf_append(tl_buf *b, const void *p, size_t n)
{
    if (tl_buf_reserve(b, n))
        return TL_ENOMEM;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int tl_buf_puts(tl_buf *b, const char *s)
{
    return tl_buf_append(b, s, strlen(s));
}

int tl_buf_putc(tl_buf *b, char c)
{
    if (tl_buf_reserve(b, 1))
        return TL_ENOMEM;
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
    return 0;
}

int tl_buf_printf(tl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TL_EINVAL;
    if ((size_t)n < sizeof small)
        return tl_buf_append(b, small, (size_t)n);
    if (tl_buf_reserve(b, (size_t)n))
        return TL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int tl_buf_put_varint(tl_buf *b, uint64_t v)
{
    if (tl_buf_reserve(b, 10))
        return TL_ENOMEM;
    unsigned char *p = (unsigned char *)b->ptr + b->len;
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int tl_varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return TL_ECORRUPT;
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return TL_ECORRUPT;
}

/* ---- arena ---- */

typedef struct chunk {
    struct chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
} chunk;

struct tl_arena {
    chunk *head;  /* current chunk */
    chunk *first; /* the chunk kept across resets */
    size_t chunk_size;
    size_t total;
};

static chunk *chunk_new(size_t size)
{
    chunk *c = tl_malloc(sizeof(chunk) + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

tl_arena *tl_arena_new(size_t chunk_size)
{
    tl_arena *a = tl_malloc(sizeof *a);
    if (!a)
        return NULL;
    a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
    a->head = a->first = chunk_new(a->chunk_size);
    a->total = 0;
    if (!a->head) {
        tl_free(a);
        return NULL;
    }
    return a;
}

void tl_arena_free(tl_arena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        tl_free(c);
    }
    tl_free(a);
}

void tl_arena_reset(tl_arena *a)
{
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        if (c != a->first)
            tl_free(c);
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->total = 0;
}

void *tl_arena_alloc(tl_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk *c = a->head;
    if (c->size - c->used < n) {
        if (n > a->chunk_size / 4) {
            /* big block: its own chunk, linked behind the head so the head keeps filling */
            chunk *big = chunk_new(n);
            if (!big)
                return NULL;
            big->used = n;
            big->next = c->next;
            c->next = big;
            a->total += n;
            return big->data;
        }
        chunk *fresh = chunk_new(a->chunk_size);
        if (!fresh)
            return NULL;
        fresh->next = c;
        a->head = c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->total += n;
    return p;
}

char *tl_arena_strndup(tl_arena *a, const char *s, size_t n)
{
    char *p = tl_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

size_t tl_arena_used(const tl_arena *a)
{
    return a->total;
}
