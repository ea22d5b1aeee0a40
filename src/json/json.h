/*
 * json — tally's JSON reader and writer (RFC 8259).
 *
 * The reader parses a whole document into an immutable tree allocated in a
 * caller's arena: one arena per request, freed at once. Strings are unescaped
 * and NUL-terminated; each node also remembers the span of source text it came
 * from (so a rejected event can be kept byte for byte). Limits (depth, string
 * length, members per object, array items) are explicit: exceeding one is an
 * error that names the limit. Numbers keep their source text next to the
 * double so integers beyond 2^53 are not lost.
 *
 * The writer appends compact JSON to a tl_buf.
 *
 * Why our own: the ingest path parses every byte that arrives; a tree built in
 * an arena with no per-node malloc is several times faster than a general DOM
 * library, and limits must be enforced while parsing, not after.
 */
#ifndef TL_JSON_H
#define TL_JSON_H

#include "base/base.h"

typedef enum {
    TL_JSON_NULL = 0,
    TL_JSON_FALSE,
    TL_JSON_TRUE,
    TL_JSON_NUMBER,
    TL_JSON_STRING,
    TL_JSON_ARRAY,
    TL_JSON_OBJECT,
} tl_json_type;

typedef struct tl_json tl_json;
typedef struct tl_json_member tl_json_member;

struct tl_json {
    uint8_t type;     /* tl_json_type */
    uint32_t len;     /* string: bytes (without NUL); array: items; object: members */
    const char *src;  /* where this value starts in the parsed text */
    uint32_t src_len; /* how many bytes of source it spans */
    union {
        const char *str;         /* TL_JSON_STRING: unescaped, NUL-terminated (may hold NULs) */
        double num;              /* TL_JSON_NUMBER (its text is src/src_len) */
        tl_json *items;          /* TL_JSON_ARRAY: len values */
        tl_json_member *members; /* TL_JSON_OBJECT: len members in source order */
    } u;
};

struct tl_json_member {
    const char *key; /* unescaped, NUL-terminated */
    uint32_t key_len;
    tl_json value;
};

typedef struct {
    uint32_t max_depth;      /* nesting of arrays/objects; 0 means the default (64) */
    uint32_t max_string_len; /* bytes after unescaping, keys included; 0 means no limit */
    uint32_t max_members;    /* members per object and items per array; 0 means no limit */
} tl_json_limits;

enum {
    TL_JSON_ESYNTAX = 1, /* not JSON */
    TL_JSON_EDEPTH,      /* max_depth exceeded */
    TL_JSON_ESTRING,     /* max_string_len exceeded */
    TL_JSON_EMEMBERS,    /* max_members exceeded */
    TL_JSON_ENOMEM,
};

typedef struct {
    int code;      /* TL_JSON_E*, 0 when no error */
    size_t offset; /* byte offset where the problem was found */
    char msg[160]; /* lowercase, says what was expected and what was found, names the limit */
} tl_json_error;

/* Parses exactly one JSON value (surrounded by optional whitespace) from s[0..n).
 * Returns 0 and *out, or a negative TL_E* (TL_EINVAL for syntax, TL_ELIMIT for a limit,
 * TL_ENOMEM) with *err filled in. lim may be NULL. */
int tl_json_parse(tl_arena *a, const char *s, size_t n, const tl_json_limits *lim, tl_json **out,
                  tl_json_error *err);
/* Notes on tl_json_parse (added with the implementation):
 * - Nodes' src point into s: keep s alive as long as src/src_len are used. A string's span
 *   includes its quotes; a number's span is exactly its text.
 * - Arena use is about 3x the input for event-shaped JSON (strings take one block as large as
 *   the input from the first string on, nodes 32 bytes per value, 48 per member). An arena whose
 *   first chunk holds that avoids malloc on the hot path.
 * - A \u escape naming a lone UTF-16 surrogate decodes to U+FFFD (EF BF BD).
 * - Errors: err may be NULL. Syntax messages also say "at byte N"; limit messages name the
 *   limit, e.g. "nesting depth exceeds the limit of 64 (max_depth)", with N in err->offset. */

/* Object member lookup by key (the last one wins if a key repeats); NULL if absent or v is
 * not an object. */
const tl_json *tl_json_get(const tl_json *obj, const char *key);
/* Same with an explicit key length. */
const tl_json *tl_json_getn(const tl_json *obj, const char *key, size_t key_len);
/* Convenience: the member's string, or NULL when absent or not a string. */
const tl_json *tl_json_get_string(const tl_json *obj, const char *key);
/* True when v is a number holding an integer that fits int64 (text without fraction/exponent,
 * or a finite double with no fractional part in range); sets *out. */
bool tl_json_int64(const tl_json *v, int64_t *out);
/* The JSON Schema name of a tl_json_type: "null", "boolean", "number", "string", "array",
 * "object" ("unknown" otherwise). For messages such as "expected string, found number". */
const char *tl_json_type_name(int type);

/* ---- writer: compact JSON into a tl_buf ---- */
/* Appends s[0..n) as a quoted JSON string with the minimal escapes (control chars as \u00XX). */
int tl_json_write_string(tl_buf *b, const char *s, size_t n);
/* Appends a number: integers print without a fraction; NaN and infinities print null. */
int tl_json_write_number(tl_buf *b, double v);
int tl_json_write_int(tl_buf *b, int64_t v);
/* Appends v re-serialized compactly (no insignificant whitespace). */
int tl_json_write_value(tl_buf *b, const tl_json *v);

#endif
