/*
 * json.c — a strict RFC 8259 reader that builds an arena tree in one pass,
 * and a compact writer.
 *
 * Reader
 * ------
 * One left-to-right pass over s[0..n) with no recursion. Two scratch stacks
 * carry the state that a recursive parser would keep on the C stack:
 *
 *   frames  one per open '[' or '{': where its children start on the slot
 *           stack, where its source text starts, and whether it is an object.
 *           Its height is the nesting depth, so max_depth bounds it.
 *   slots   tl_json_member values under construction, shared by all open
 *           containers. slot[0] is the root; a container's children sit in
 *           slots[start..top) and its own value is filled into slot[start-1]
 *           when it closes. Array items use only the .value part of a slot.
 *
 *     slots: [root] [k:"batch" v:?] [item0] [item1] [k:"type" v:"track"] ...
 *             ^0     ^ frame 1 start ^ frame 2 start   ^ frame 3 start
 *
 * When a container closes its children are copied once into an exactly sized
 * arena array (source order kept) and popped. So the tree costs one arena
 * allocation per container plus one for all strings, and no per-node malloc.
 * Both stacks start in a fixed buffer on the C stack and move to the heap
 * (tl_malloc) only when a document is unusually wide or deep; the heap copy
 * is freed before returning.
 *
 * Strings are unescaped straight into one arena block reserved, at the first
 * string, with as many bytes as remain in the input. That is always enough:
 * every string spends at least two quote bytes of input and needs one NUL of
 * output, and no escape decodes to more bytes than it occupies (\uXXXX is six
 * bytes and at most three of UTF-8; a surrogate pair is twelve and four). So
 * the copy loop never checks for room, and it moves eight bytes at a time: a
 * SWAR test flags '"', '\\', bytes < 0x20 and bytes >= 0x80 in a 64-bit word,
 * and the lowest flagged byte is exact (borrows only run upward), so the loop
 * stops right at the first special byte with the plain ones before it copied. Non-ASCII bytes are
 * validated as UTF-8 (no overlongs, no UTF-16 surrogates, nothing above U+10FFFF, no truncated
 * sequences). A \uXXXX escape naming a lone surrogate is accepted and decoded as U+FFFD; RFC 8259
 * leaves that case to the implementation and this keeps the output valid UTF-8.
 *
 * Numbers are checked against the RFC grammar (no leading zeros, no '+', no
 * bare '.', no NaN/Infinity). Their value comes from an exact fast path when
 * the decimal mantissa fits 2^53 and the power of ten is at most 22 (both
 * exactly representable, so one IEEE multiply or divide rounds correctly —
 * Clinger's observation); every other number goes to strtod on a
 * NUL-terminated copy. strtod follows LC_NUMERIC: tally never calls
 * setlocale, so this is the "C" locale. Out-of-range values become +-inf or 0
 * and the node keeps its exact source text.
 *
 * Invariants of a successful parse: every string and key is valid UTF-8 and
 * NUL-terminated; every node's src/src_len lies inside s[0..n); object members
 * and array items are in source order. On failure nothing is returned, *err
 * names the byte offset, and the arena may hold garbage until it is reset.
 *
 * Cost: O(n) time; memory about n bytes for strings plus 32 bytes per value
 * and 48 per object member, all in the caller's arena.
 *
 * Writer
 * ------
 * Appends compact JSON to a tl_buf. Strings are escaped minimally ('"', '\\'
 * and control characters; UTF-8 is copied as is). Numbers that are integral
 * and below 2^53 in magnitude print as integers; others print with the
 * shortest of %.15g/%.16g/%.17g that reads back to the same double; NaN and
 * infinities print null. tl_json_write_value re-serializes a tree, reusing a
 * number's source text when it has one, iteratively (no recursion).
 */
#include "json/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DEPTH 64
#define LOCAL_FRAMES  64
#define LOCAL_SLOTS   256

typedef struct {
    uint32_t start;   /* first child slot */
    uint32_t src_off; /* offset of the '[' or '{' */
    uint8_t is_obj;
} frame;

typedef struct {
    tl_arena *a;
    const char *base; /* s */
    const char *end;  /* s + n */
    uint32_t max_depth, max_string, max_members;
    tl_json_error *err;

    char *sa; /* string area cursor; NULL until the first string */

    frame *frames;
    uint32_t depth, frames_cap;
    tl_json_member *slots;
    uint32_t nslots, slots_cap;

    frame local_frames[LOCAL_FRAMES];
    tl_json_member local_slots[LOCAL_SLOTS];
} parser;

/* ---- errors ---- */

static int json_errno(int code)
{
    switch (code) {
    case TL_JSON_ESYNTAX:
        return TL_EINVAL;
    case TL_JSON_ENOMEM:
        return TL_ENOMEM;
    default:
        return TL_ELIMIT;
    }
}

__attribute__((format(printf, 4, 5))) static int fail(parser *P, int code, const char *at,
                                                      const char *fmt, ...)
{
    if (P->err) {
        va_list ap;
        P->err->code = code;
        P->err->offset = (size_t)(at - P->base);
        va_start(ap, fmt);
        vsnprintf(P->err->msg, sizeof P->err->msg, fmt, ap);
        va_end(ap);
    }
    return json_errno(code);
}

typedef struct {
    char s[24];
} found_desc;

/* What sits at p, for "found ..." in messages. */
static found_desc describe(const parser *P, const char *p)
{
    found_desc d;
    unsigned char c;
    if (p >= P->end) {
        snprintf(d.s, sizeof d.s, "end of input");
        return d;
    }
    c = (unsigned char)*p;
    if (c == '\'')
        snprintf(d.s, sizeof d.s, "a single quote");
    else if (c > 0x20 && c < 0x7f)
        snprintf(d.s, sizeof d.s, "'%c'", c);
    else
        snprintf(d.s, sizeof d.s, "byte 0x%02x", c);
    return d;
}

/* "<expected> at byte N, found X" — the shape of every grammar error. */
static int syntax(parser *P, const char *p, const char *expected)
{
    return fail(P, TL_JSON_ESYNTAX, p, "%s at byte %zu, found %s", expected, (size_t)(p - P->base),
                describe(P, p).s);
}

static int oom(parser *P, const char *p)
{
    return fail(P, TL_JSON_ENOMEM, p, "out of memory at byte %zu", (size_t)(p - P->base));
}

/* ---- scratch stacks ---- */

static int grow(void **arr, void *local, uint32_t *cap, size_t elem)
{
    uint32_t ncap = *cap * 2;
    void *n;
    if (ncap < *cap)
        return TL_ENOMEM;
    if (*arr == local) {
        n = tl_malloc((size_t)ncap * elem);
        if (n)
            memcpy(n, local, (size_t)*cap * elem);
    } else {
        n = tl_realloc(*arr, (size_t)ncap * elem);
    }
    if (!n)
        return TL_ENOMEM;
    *arr = n;
    *cap = ncap;
    return 0;
}

static inline int push_slot(parser *P, const char *at)
{
    if (P->nslots == P->slots_cap &&
        grow((void **)&P->slots, P->local_slots, &P->slots_cap, sizeof(tl_json_member)) != 0)
        return oom(P, at);
    P->nslots++;
    return 0;
}

/* ---- lexing ---- */

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero when the 8 bytes hold '"', '\\', a byte < 0x20 or a byte >= 0x80. */
static inline uint64_t special8(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"');
    uint64_t b = w ^ (ONES * '\\');
    uint64_t lt = w - ONES * 0x20;
    return (w | (lt & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/* Bytes copied through unchanged: 0x20..0x7f except '"' and '\\'. */
static inline bool plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static inline char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Reads 4 hex digits at p (p + 4 <= end checked by the caller). -1 if not hex. */
static inline long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Parses the escape at p (p[0] == '\\'), writes its UTF-8 at *o. */
static int parse_escape(parser *P, const char **pp, char **o)
{
    const char *p = *pp;
    char c;
    if (p + 1 >= P->end)
        return fail(P, TL_JSON_ESYNTAX, p + 1,
                    "unterminated escape in string at byte %zu, found end of input",
                    (size_t)(p + 1 - P->base));
    c = p[1];
    switch (c) {
    case '"':
    case '\\':
    case '/':
        *(*o)++ = c;
        break;
    case 'b':
        *(*o)++ = '\b';
        break;
    case 'f':
        *(*o)++ = '\f';
        break;
    case 'n':
        *(*o)++ = '\n';
        break;
    case 'r':
        *(*o)++ = '\r';
        break;
    case 't':
        *(*o)++ = '\t';
        break;
    case 'u': {
        long cp;
        const char *q;
        if (P->end - p < 6 || (cp = hex4(p + 2)) < 0) {
            q = p + 2;
            while (q < P->end && q < p + 6 && hexval((unsigned char)*q) >= 0)
                q++;
            return syntax(P, q, "expected 4 hex digits after '\\u'");
        }
        p += 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            long lo;
            if (P->end - p >= 6 && p[0] == '\\' && p[1] == 'u' && (lo = hex4(p + 2)) >= 0xdc00 &&
                lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else {
                cp = 0xfffd; /* unpaired high surrogate */
            }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            cp = 0xfffd; /* unpaired low surrogate */
        }
        *o = put_utf8(*o, (uint32_t)cp);
        *pp = p;
        return 0;
    }
    default:
        return syntax(P, p + 1, "expected one of \" \\ / b f n r t u after '\\' in string");
    }
    *pp = p + 2;
    return 0;
}

/* Validates the UTF-8 sequence at p (first byte >= 0x80) and copies it to *o. */
static int copy_utf8(parser *P, const char **pp, char **o)
{
    const unsigned char *p = (const unsigned char *)*pp;
    const unsigned char *end = (const unsigned char *)P->end;
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    int n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        if (c == 0xe0)
            lo = 0xa0; /* below is overlong */
        else if (c == 0xed)
            hi = 0x9f; /* above is a UTF-16 surrogate */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        if (c == 0xf0)
            lo = 0x90; /* below is overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above is past U+10FFFF */
    } else {
        return fail(P, TL_JSON_ESYNTAX, *pp,
                    "invalid utf-8 in string at byte %zu: expected a lead byte, found 0x%02x",
                    (size_t)(*pp - P->base), c);
    }
    for (int i = 1; i <= n; i++) {
        const char *at = *pp + i;
        if (p + i >= end)
            return fail(P, TL_JSON_ESYNTAX, at,
                        "invalid utf-8 in string at byte %zu: expected a continuation byte, "
                        "found end of input",
                        (size_t)(at - P->base));
        if (p[i] < lo || p[i] > hi)
            return fail(P, TL_JSON_ESYNTAX, at,
                        "invalid utf-8 in string at byte %zu: expected a byte in 0x%02x..0x%02x "
                        "after 0x%02x, found 0x%02x",
                        (size_t)(at - P->base), lo, hi, p[i - 1], p[i]);
        lo = 0x80;
        hi = 0xbf;
    }
    memcpy(*o, p, (size_t)n + 1);
    *o += n + 1;
    *pp += n + 1;
    return 0;
}

/* Parses the string whose opening quote is at p. On success *out and *len hold the
 * unescaped, NUL-terminated text and *pp points past the closing quote. */
static int parse_string(parser *P, const char **pp, const char **out, uint32_t *len)
{
    const char *q0 = *pp;
    const char *p = q0 + 1;
    const char *end = P->end;
    char *o, *start;
    int rc;

    if (!P->sa) {
        P->sa = tl_arena_alloc(P->a, (size_t)(end - q0) + 1);
        if (!P->sa)
            return oom(P, q0);
    }
    start = o = P->sa;
    for (;;) {
        while (end - p >= 8) {
            uint64_t w, sp;
            memcpy(&w, p, 8);
            memcpy(o, &w, 8); /* room is guaranteed; bytes past a special are overwritten */
            sp = special8(w);
            if (sp) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* the lowest flagged byte is exact: false positives only sit above a true one */
                unsigned k = (unsigned)__builtin_ctzll(sp) >> 3;
                o += k;
                p += k;
#endif
                break;
            }
            o += 8;
            p += 8;
        }
        while (p < end && plain_byte((unsigned char)*p))
            *o++ = *p++;
        if (p >= end)
            return fail(P, TL_JSON_ESYNTAX, p,
                        "expected '\"' to close the string opened at byte %zu, found end of input",
                        (size_t)(q0 - P->base));
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            rc = parse_escape(P, &p, &o);
        } else if (c >= 0x80) {
            rc = copy_utf8(P, &p, &o);
        } else {
            /* plain_byte() leaves only bytes < 0x20 for here */
            return fail(P, TL_JSON_ESYNTAX, p,
                        "expected control characters escaped in string at byte %zu, found raw "
                        "byte 0x%02x",
                        (size_t)(p - P->base), c);
        }
        if (rc)
            return rc;
    }
    *o = '\0';
    if (P->max_string && (size_t)(o - start) > P->max_string)
        return fail(P, TL_JSON_ESTRING, q0,
                    "string of %zu bytes exceeds the limit of %" PRIu32 " bytes (max_string_len)",
                    (size_t)(o - start), P->max_string);
    *out = start;
    *len = (uint32_t)(o - start);
    P->sa = o + 1;
    *pp = p + 1;
    return 0;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline bool is_digit(const char *p, const char *end)
{
    return p < end && (unsigned)(*p - '0') < 10;
}

/* Parses the number starting at p ('-' or a digit) into v. */
static int parse_number(parser *P, const char **pp, tl_json *v)
{
    const char *p = *pp, *end = P->end, *q = p;
    uint64_t m = 0;
    int ndig = 0;      /* mantissa digits accumulated into m */
    long exp10 = 0;    /* value = m * 10^exp10 */
    bool exact = true; /* m holds every digit */
    bool neg = false;
    double d;

    if (*q == '-') {
        neg = true;
        q++;
    }
    if (!is_digit(q, end))
        return syntax(P, q, "expected a digit after '-'");
    if (*q == '0') {
        q++;
        if (is_digit(q, end))
            return syntax(P, q, "expected '.', 'e' or the end of the number after a leading '0'");
    } else {
        while (is_digit(q, end)) {
            if (ndig < 19) {
                m = m * 10 + (uint64_t)(*q - '0');
                ndig += m != 0;
            } else {
                exact = false;
            }
            q++;
        }
    }
    if (q < end && *q == '.') {
        q++;
        if (!is_digit(q, end))
            return syntax(P, q, "expected a digit after '.' in number");
        while (is_digit(q, end)) {
            if (ndig < 19) {
                m = m * 10 + (uint64_t)(*q - '0');
                ndig += m != 0;
                exp10--;
            } else {
                exact = false;
            }
            q++;
        }
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        long e = 0;
        bool eneg = false;
        q++;
        if (q < end && (*q == '+' || *q == '-')) {
            eneg = *q == '-';
            q++;
        }
        if (!is_digit(q, end))
            return syntax(P, q, "expected a digit in the exponent of a number");
        while (is_digit(q, end)) {
            if (e < 100000)
                e = e * 10 + (*q - '0');
            q++;
        }
        exp10 += eneg ? -e : e;
    }

    if (exact && m <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        d = (double)m;
        if (exp10 < 0)
            d /= pow10_exact[-exp10];
        else
            d *= pow10_exact[exp10];
    } else if (exact && exp10 == 0) {
        d = (double)m; /* up to 19 digits: the conversion rounds correctly */
    } else {
        char local[64];
        size_t n = (size_t)(q - p);
        char *tmp = local;
        if (n >= sizeof local) {
            tmp = tl_arena_alloc(P->a, n + 1);
            if (!tmp)
                return oom(P, p);
        }
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        d = strtod(tmp, NULL);
        neg = false; /* strtod saw the sign */
    }
    v->type = TL_JSON_NUMBER;
    v->len = 0;
    v->u.num = neg ? -d : d;
    v->src = p;
    v->src_len = (uint32_t)(q - p);
    *pp = q;
    return 0;
}

static int parse_literal(parser *P, const char **pp, const char *word, size_t n)
{
    const char *p = *pp;
    for (size_t i = 0; i < n; i++) {
        if (p + i >= P->end || p[i] != word[i]) {
            char what[32];
            snprintf(what, sizeof what, "expected '%s'", word);
            return syntax(P, p + i, what);
        }
    }
    *pp = p + n;
    return 0;
}

/* ---- the parse loop ---- */

static int run(parser *P, const char *s, tl_json **out)
{
    const char *p = s, *end = P->end;
    tl_json *v;
    frame *f;
    int rc;

    P->nslots = 1; /* the root slot */
    p = skip_ws(p, end);

value:
    v = &P->slots[P->nslots - 1].value;
    if (p >= end)
        return syntax(P, p, "expected a value");
    switch (*p) {
    case '{':
    case '[':
        if (P->depth >= P->max_depth)
            return fail(P, TL_JSON_EDEPTH, p,
                        "nesting depth exceeds the limit of %" PRIu32 " (max_depth)", P->max_depth);
        if (P->depth == P->frames_cap &&
            grow((void **)&P->frames, P->local_frames, &P->frames_cap, sizeof(frame)) != 0)
            return oom(P, p);
        f = &P->frames[P->depth++];
        f->start = P->nslots;
        f->src_off = (uint32_t)(p - P->base);
        f->is_obj = *p == '{';
        p = skip_ws(p + 1, end);
        if (f->is_obj) {
            if (p < end && *p == '}')
                goto close;
            if (p >= end || *p != '"')
                return syntax(P, p, "expected a string key or '}' after '{'");
            goto member;
        }
        if (p < end && *p == ']')
            goto close;
        if ((rc = push_slot(P, p)) != 0)
            return rc;
        goto value;
    case '"': {
        const char *q = p;
        if ((rc = parse_string(P, &p, &v->u.str, &v->len)) != 0)
            return rc;
        v->type = TL_JSON_STRING;
        v->src = q;
        v->src_len = (uint32_t)(p - q);
        break;
    }
    case 't':
    case 'f':
    case 'n': {
        const char *q = p;
        if (*p == 't') {
            rc = parse_literal(P, &p, "true", 4);
            v->type = TL_JSON_TRUE;
        } else if (*p == 'f') {
            rc = parse_literal(P, &p, "false", 5);
            v->type = TL_JSON_FALSE;
        } else {
            rc = parse_literal(P, &p, "null", 4);
            v->type = TL_JSON_NULL;
        }
        if (rc)
            return rc;
        v->len = 0;
        v->u.items = NULL;
        v->src = q;
        v->src_len = (uint32_t)(p - q);
        break;
    }
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            if ((rc = parse_number(P, &p, v)) != 0)
                return rc;
            break;
        }
        return syntax(P, p, "expected a value");
    }

after_value:
    p = skip_ws(p, end);
    if (P->depth == 0) {
        if (p != end)
            return syntax(P, p, "expected end of input after the value");
        *out = &P->slots[0].value;
        return 0;
    }
    f = &P->frames[P->depth - 1];
    if (p < end && *p == ',') {
        p = skip_ws(p + 1, end);
        if (f->is_obj) {
            if (p >= end || *p != '"')
                return syntax(P, p, "expected a string key after ',' in object");
            goto member;
        }
        if (P->max_members && P->nslots - f->start >= P->max_members)
            return fail(P, TL_JSON_EMEMBERS, p,
                        "array exceeds the limit of %" PRIu32 " items (max_members)",
                        P->max_members);
        if ((rc = push_slot(P, p)) != 0)
            return rc;
        goto value;
    }
    if (p < end && *p == (f->is_obj ? '}' : ']'))
        goto close;
    return syntax(P, p,
                  f->is_obj ? "expected ',' or '}' after object member"
                            : "expected ',' or ']' after array item");

member:
    /* p is at the key's opening quote; f is the innermost (object) frame */
    f = &P->frames[P->depth - 1];
    if (P->max_members && P->nslots - f->start >= P->max_members)
        return fail(P, TL_JSON_EMEMBERS, p,
                    "object exceeds the limit of %" PRIu32 " members (max_members)",
                    P->max_members);
    if ((rc = push_slot(P, p)) != 0)
        return rc;
    {
        tl_json_member *mb = &P->slots[P->nslots - 1];
        if ((rc = parse_string(P, &p, &mb->key, &mb->key_len)) != 0)
            return rc;
    }
    p = skip_ws(p, end);
    if (p >= end || *p != ':')
        return syntax(P, p, "expected ':' after object key");
    p = skip_ws(p + 1, end);
    goto value;

close:
    /* p is at the closing bracket of the innermost frame */
    f = &P->frames[P->depth - 1];
    {
        uint32_t n = P->nslots - f->start;
        tl_json_member *kids = &P->slots[f->start];
        tl_json *c = &P->slots[f->start - 1].value;
        c->len = n;
        c->src = P->base + f->src_off;
        c->src_len = (uint32_t)(p + 1 - c->src);
        if (f->is_obj) {
            tl_json_member *arr = NULL;
            if (n) {
                arr = tl_arena_alloc(P->a, (size_t)n * sizeof *arr);
                if (!arr)
                    return oom(P, p);
                memcpy(arr, kids, (size_t)n * sizeof *arr);
            }
            c->type = TL_JSON_OBJECT;
            c->u.members = arr;
        } else {
            tl_json *arr = NULL;
            if (n) {
                arr = tl_arena_alloc(P->a, (size_t)n * sizeof *arr);
                if (!arr)
                    return oom(P, p);
                for (uint32_t i = 0; i < n; i++)
                    arr[i] = kids[i].value;
            }
            c->type = TL_JSON_ARRAY;
            c->u.items = arr;
        }
        P->nslots = f->start;
        P->depth--;
    }
    p++;
    goto after_value;
}

int tl_json_parse(tl_arena *a, const char *s, size_t n, const tl_json_limits *lim, tl_json **out,
                  tl_json_error *err)
{
    parser *P;
    tl_json *root = NULL;
    int rc;

    if (err) {
        err->code = 0;
        err->offset = 0;
        err->msg[0] = '\0';
    }
    /* src offsets and lengths are 32-bit */
    if (n > UINT32_MAX) {
        if (err) {
            err->code = TL_JSON_ESTRING;
            snprintf(err->msg, sizeof err->msg,
                     "input of %zu bytes exceeds the limit of %" PRIu32 " bytes", n, UINT32_MAX);
        }
        return TL_ELIMIT;
    }
    if (!s)
        s = "";
    /* The parser state (about 16 KB with its local stacks) lives on the heap when the caller's
     * stack may be small; it is one allocation per parse, next to the arena work. */
    P = tl_malloc(sizeof *P);
    if (!P) {
        if (err) {
            err->code = TL_JSON_ENOMEM;
            snprintf(err->msg, sizeof err->msg, "out of memory");
        }
        return TL_ENOMEM;
    }
    P->a = a;
    P->base = s;
    P->end = s + n;
    P->max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
    P->max_string = lim ? lim->max_string_len : 0;
    P->max_members = lim ? lim->max_members : 0;
    P->err = err;
    P->sa = NULL;
    P->frames = P->local_frames;
    P->frames_cap = LOCAL_FRAMES;
    P->depth = 0;
    P->slots = P->local_slots;
    P->slots_cap = LOCAL_SLOTS;
    P->nslots = 0;

    rc = run(P, s, &root);
    if (rc == 0) {
        /* the root lives in a scratch slot: move it into the arena */
        tl_json *r = tl_arena_alloc(a, sizeof *r);
        if (!r) {
            rc = oom(P, P->end);
        } else {
            *r = *root;
            *out = r;
        }
    }
    if (P->frames != P->local_frames)
        tl_free(P->frames);
    if (P->slots != P->local_slots)
        tl_free(P->slots);
    tl_free(P);
    return rc;
}

/* ---- access ---- */

const tl_json *tl_json_getn(const tl_json *obj, const char *key, size_t key_len)
{
    if (!obj || obj->type != TL_JSON_OBJECT)
        return NULL;
    /* from the end, so a repeated key yields its last value */
    for (uint32_t i = obj->len; i-- > 0;) {
        const tl_json_member *m = &obj->u.members[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
            return &m->value;
    }
    return NULL;
}

const tl_json *tl_json_get(const tl_json *obj, const char *key)
{
    return tl_json_getn(obj, key, strlen(key));
}

const tl_json *tl_json_get_string(const tl_json *obj, const char *key)
{
    const tl_json *v = tl_json_get(obj, key);
    return v && v->type == TL_JSON_STRING ? v : NULL;
}

bool tl_json_int64(const tl_json *v, int64_t *out)
{
    if (!v || v->type != TL_JSON_NUMBER)
        return false;
    if (v->src && v->src_len) {
        const char *p = v->src, *end = v->src + v->src_len;
        bool neg = false, integral = true;
        uint64_t m = 0;
        const char *q;
        for (q = p; q < end; q++) {
            if (*q == '.' || *q == 'e' || *q == 'E') {
                integral = false;
                break;
            }
        }
        if (integral) {
            if (p < end && *p == '-') {
                neg = true;
                p++;
            }
            if (p == end)
                return false;
            for (; p < end; p++) {
                unsigned dgt = (unsigned)(*p - '0');
                if (dgt > 9 || m > (UINT64_MAX - dgt) / 10)
                    return false;
                m = m * 10 + dgt;
            }
            if (neg) {
                if (m > (uint64_t)INT64_MAX + 1)
                    return false;
                *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
            } else {
                if (m > (uint64_t)INT64_MAX)
                    return false;
                *out = (int64_t)m;
            }
            return true;
        }
    }
    /* a fraction or exponent in the text (or no text): judge the double */
    double d = v->u.num;
    if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return false;
    *out = (int64_t)d;
    return true;
}

const char *tl_json_type_name(int type)
{
    switch (type) {
    case TL_JSON_NULL:
        return "null";
    case TL_JSON_FALSE:
    case TL_JSON_TRUE:
        return "boolean";
    case TL_JSON_NUMBER:
        return "number";
    case TL_JSON_STRING:
        return "string";
    case TL_JSON_ARRAY:
        return "array";
    case TL_JSON_OBJECT:
        return "object";
    default:
        return "unknown";
    }
}

/* ---- writer ---- */

/* Nonzero when the 8 bytes hold '"', '\\' or a byte < 0x20. */
static inline uint64_t escape8(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"');
    uint64_t b = w ^ (ONES * '\\');
    uint64_t lt = w - ONES * 0x20;
    return ((lt & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

static inline bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* tl_buf_putc without the call when there is room (ptr stays NUL-terminated). */
static inline int put1(tl_buf *b, char c)
{
    if (b->len + 2 <= b->cap) {
        b->ptr[b->len++] = c;
        b->ptr[b->len] = '\0';
        return 0;
    }
    return tl_buf_putc(b, c);
}

int tl_json_write_string(tl_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    char *o;
    int rc;

    /* Room for the quotes and s unescaped; each escape reserves again for its extra bytes plus
     * the rest of s, so the copy below never checks. */
    if ((rc = tl_buf_reserve(b, n + 2)) != 0)
        return rc;
    o = b->ptr + b->len;
    *o++ = '"';
    while (i < n) {
        size_t run = i;
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (escape8(w))
                break;
            i += 8;
        }
        while (i < n && !needs_escape((unsigned char)s[i]))
            i++;
        memcpy(o, s + run, i - run);
        o += i - run;
        if (i == n)
            break;
        b->len = (size_t)(o - b->ptr);
        if ((rc = tl_buf_reserve(b, n - i + 6 + 1)) != 0) {
            b->ptr[b->len] = '\0';
            return rc;
        }
        o = b->ptr + b->len;
        unsigned char c = (unsigned char)s[i++];
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
            break;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->ptr);
    return 0;
}

int tl_json_write_int(tl_buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return tl_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

int tl_json_write_number(tl_buf *b, double v)
{
    char tmp[40];
    int len = 0;

    if (!isfinite(v))
        return tl_buf_append(b, "null", 4);
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return tl_json_write_int(b, (int64_t)v);
    /* the shortest %.Ng that reads back as the same double */
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    if (len <= 0 || (size_t)len >= sizeof tmp)
        return TL_EINVAL;
    return tl_buf_append(b, tmp, (size_t)len);
}

static int write_scalar(tl_buf *b, const tl_json *v)
{
    switch (v->type) {
    case TL_JSON_NULL:
        return tl_buf_append(b, "null", 4);
    case TL_JSON_FALSE:
        return tl_buf_append(b, "false", 5);
    case TL_JSON_TRUE:
        return tl_buf_append(b, "true", 4);
    case TL_JSON_NUMBER:
        if (v->src && v->src_len)
            return tl_buf_append(b, v->src, v->src_len);
        return tl_json_write_number(b, v->u.num);
    case TL_JSON_STRING:
        return tl_json_write_string(b, v->u.str ? v->u.str : "", v->len);
    default:
        return TL_EINVAL;
    }
}

typedef struct {
    const tl_json *c; /* an array or object being written */
    uint32_t next;    /* index of the next child */
} wframe;

int tl_json_write_value(tl_buf *b, const tl_json *v)
{
    wframe local[32];
    wframe *st = local;
    uint32_t depth = 0, cap = TL_ARRAY_LEN(local);
    int rc = 0;

    if (!v)
        return TL_EINVAL;
    for (;;) {
        /* write v: a scalar completely, a container's opening bracket */
        if (v->type == TL_JSON_ARRAY || v->type == TL_JSON_OBJECT) {
            if (depth == cap && (rc = grow((void **)&st, local, &cap, sizeof *st)) != 0)
                goto out;
            st[depth].c = v;
            st[depth].next = 0;
            depth++;
            if ((rc = put1(b, v->type == TL_JSON_ARRAY ? '[' : '{')) != 0)
                goto out;
        } else if ((rc = write_scalar(b, v)) != 0) {
            goto out;
        }
        /* find the next value to write, closing finished containers */
        for (;;) {
            wframe *f;
            if (depth == 0)
                goto out;
            f = &st[depth - 1];
            if (f->next == f->c->len) {
                if ((rc = put1(b, f->c->type == TL_JSON_ARRAY ? ']' : '}')) != 0)
                    goto out;
                depth--;
                continue;
            }
            if (f->next > 0 && (rc = put1(b, ',')) != 0)
                goto out;
            if (f->c->type == TL_JSON_ARRAY) {
                v = &f->c->u.items[f->next++];
            } else {
                const tl_json_member *m = &f->c->u.members[f->next++];
                if ((rc = tl_json_write_string(b, m->key ? m->key : "", m->key_len)) != 0 ||
                    (rc = put1(b, ':')) != 0)
                    goto out;
                v = &m->value;
            }
            break;
        }
    }
out:
    if (st != local)
        tl_free(st);
    return rc;
}
