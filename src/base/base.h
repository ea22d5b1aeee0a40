/*
 * base — the few things every tally module needs: error codes, counted
 * allocation, growable buffers, arenas (one pool per request/batch/query),
 * time, hashing, CRC32C, logging and durable-file helpers.
 *
 * Nothing here knows about events, HTTP or JSON. Every function is safe to
 * call from any thread unless its comment says otherwise; tl_buf and tl_arena
 * values belong to one thread at a time.
 */
#ifndef TL_BASE_H
#define TL_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors: 0 is success, negative TL_E* otherwise ---- */
enum {
    TL_OK = 0,
    TL_ENOMEM = -1,    /* an allocation failed */
    TL_EIO = -2,       /* the OS refused a read/write/fsync (errno is kept) */
    TL_EINVAL = -3,    /* the caller passed something malformed */
    TL_ECORRUPT = -4,  /* data on disk is not what we wrote */
    TL_EAGAIN = -5,    /* nothing yet; try again later */
    TL_ENOTFOUND = -6, /* no such thing */
    TL_ELIMIT = -7,    /* an explicit limit was exceeded */
    TL_EEXIST = -8,    /* already there */
    TL_ECLOSED = -9,   /* the object is shutting down */
};
const char *tl_strerror(int err);

#define TL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TL_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define TL_MAX(a, b)    ((a) > (b) ? (a) : (b))
#define TL_UNUSED(x)    ((void)(x))

/* ---- counted allocation ----
 * Every heap allocation goes through these so tests can see the bytes in use
 * and make the Nth allocation fail (tl_alloc_fail_after). */
void *tl_malloc(size_t n);
void *tl_calloc(size_t count, size_t size);
void *tl_realloc(void *p, size_t n);
void tl_free(void *p);
char *tl_strndup(const char *s, size_t n);
size_t tl_alloc_used(void);
/* Tests only: the nth allocation from now on (1 = the next) returns NULL; 0 disables. */
void tl_alloc_fail_after(long nth);

/* ---- tl_str: a pointer and a length that travel together ---- */
typedef struct {
    const char *ptr;
    uint32_t len;
} tl_str;
#define TL_STR(lit) ((tl_str){(lit), (uint32_t)(sizeof(lit) - 1)})
static inline tl_str tl_str_make(const char *p, size_t n)
{
    return (tl_str){p, (uint32_t)n};
}
bool tl_str_eq(tl_str a, const char *cstr);

/* The value of a hex digit, or -1. */
int tl_hexval(char c);
/* Percent-decodes s[0..n) into out (room for n + 1 bytes; NUL-terminated); '+' becomes a space
 * when plus_is_space (query strings). A '%' not followed by two hex digits is kept as is.
 * Returns the decoded length. */
size_t tl_percent_decode(const char *s, size_t n, bool plus_is_space, char *out);

/* ---- tl_buf: a growable byte buffer; ptr is always NUL-terminated when cap > 0 ---- */
typedef struct {
    char *ptr;
    size_t len;
    size_t cap;
} tl_buf;
void tl_buf_init(tl_buf *b);
void tl_buf_deinit(tl_buf *b);
int tl_buf_reserve(tl_buf *b, size_t extra);
int tl_buf_append(tl_buf *b, const void *p, size_t n);
int tl_buf_puts(tl_buf *b, const char *s);
int tl_buf_putc(tl_buf *b, char c);
int tl_buf_printf(tl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends an unsigned LEB128 varint. */
int tl_buf_put_varint(tl_buf *b, uint64_t v);
static inline void tl_buf_reset(tl_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->ptr[0] = '\0';
}
/* Reads an unsigned LEB128 varint from [*p, end); advances *p. Returns 0 or TL_ECORRUPT. */
int tl_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* ---- tl_arena: bump allocation freed all at once (one per request, batch, query) ---- */
typedef struct tl_arena tl_arena;
tl_arena *tl_arena_new(size_t chunk_size);
void tl_arena_free(tl_arena *a);
/* Keeps the first chunk, drops the rest; every pointer handed out becomes invalid. */
void tl_arena_reset(tl_arena *a);
/* 16-byte aligned; NULL only when memory runs out. */
void *tl_arena_alloc(tl_arena *a, size_t n);
char *tl_arena_strndup(tl_arena *a, const char *s, size_t n);
size_t tl_arena_used(const tl_arena *a);

/* ---- time: milliseconds since the Unix epoch, UTC ---- */
int64_t tl_now_ms(void);  /* wall clock */
int64_t tl_mono_ns(void); /* monotonic, for durations and timeouts */
/* RFC 3339 / ISO 8601 date-time: "2024-05-01T12:00:00Z", fractions, "+02:00" offsets,
 * lowercase t/z and a space separator are accepted. A bare date "2024-05-01" is midnight UTC.
 * Returns 0 or TL_EINVAL. */
int tl_time_parse(const char *s, size_t n, int64_t *ms_out);
/* Writes "2024-05-01T12:00:00.000Z" (24 chars + NUL) into out; returns the length. */
size_t tl_time_format(int64_t ms, char out[32]);
/* Writes "2024-05-01T12:00:00Z" (no fraction) into out; returns the length. */
size_t tl_time_format_s(int64_t ms, char out[32]);
int64_t tl_days_from_civil(int64_t y, unsigned m, unsigned d);
void tl_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* ---- hashing ---- */
uint64_t tl_hash64(const void *p, size_t n, uint64_t seed); /* XXH3-64 */
/* CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2. Pass 0 to start. */
uint32_t tl_crc32c(uint32_t crc, const void *p, size_t n);

/* ---- logging: one logger, levels, rate limiting on hot paths ---- */
enum { TL_LOG_DEBUG = 0, TL_LOG_INFO = 1, TL_LOG_WARN = 2, TL_LOG_ERROR = 3 };
void tl_log_set_level(int level);
void tl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs at most once per `every_ms` for one call site (pass a static int64_t as `last`). */
void tl_log_limited(int64_t *last, int64_t every_ms, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- files ---- */
int tl_mkdir_p(const char *path);
int tl_fsync_dir(const char *dir);
/* Durable replace: write path.tmp, fsync it, rename over path, fsync the directory. */
int tl_write_file_atomic(const char *path, const void *p, size_t n);
/* Reads a whole file into b (appending). TL_ENOTFOUND when it does not exist. */
int tl_read_file(const char *path, tl_buf *b);

#endif
