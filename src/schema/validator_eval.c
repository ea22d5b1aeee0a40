/*
 * validator_eval.c — validates a tl_json instance against a compiled schema.
 *
 * One recursive function, eval(node, instance, ann), walks the node graph
 * built by validator.c. Its state lives in one vctx on the caller's stack:
 *
 *   - errors: written straight into the caller's array, up to max_errors. The
 *     instance pointer is kept as a stack of path segments (key or index) and
 *     rendered only when an error is written; the schema path is the failing
 *     node's precomputed location plus the keyword. Inside anyOf, oneOf, not,
 *     if, contains and propertyNames the errors of the branches are muted and
 *     the combinator reports one error of its own. Once errors are muted or
 *     the array is full, the first failing keyword ends the evaluation of a
 *     node (only validity is still wanted).
 *   - dynamic scope: the schema resources entered so far, outermost first.
 *     Evaluating a node of another resource than the innermost one pushes it;
 *     a dynamic $dynamicRef takes the first resource in this stack that has a
 *     $dynamicAnchor of the wanted name.
 *   - annotations, only for unevaluatedProperties / unevaluatedItems: when a
 *     node has one of them, or a caller asks (ann != NULL), eval keeps a bit
 *     set over the instance's members or items (256 bits inline, heap beyond)
 *     and marks what properties, patternProperties, additionalProperties,
 *     prefixItems, items, contains and unevaluated* evaluated, plus what its
 *     successful in-place applicators ($ref, $dynamicRef, allOf, anyOf, oneOf,
 *     if/then/else, dependentSchemas) evaluated. A failing subschema's marks
 *     are dropped, except under $ref, $dynamicRef, allOf, then/else and
 *     dependentSchemas: there a failing child fails the parent anyway, so its
 *     marks are kept and the user sees the child's error without a second
 *     "unevaluated" one for the same property. Schemas without unevaluated*
 *     never pay for this.
 *   - regexes: one PCRE2 match data for the whole call, created on first use
 *     with an allocator over a buffer inside vctx, so matching does not touch
 *     the heap (JIT-compiled patterns need no frames).
 *
 * Cost for a valid event-shaped object: one hash per instance key (XXH3) and
 * a probe into the node's key table; required and dependentRequired are then
 * bit tests on the keys seen. No allocation unless a schema with unevaluated*
 * meets an object or array of more than 256 members, or a $ref to the
 * meta-schema compiles its instance.
 *
 * Stack: about 1 KB per evaluation level (gcc -O2, x86-64), so the deepest
 * legal evaluation takes some 270 KB; callers on small thread stacks take note.
 *
 * Limits: evaluation depth SC_MAX_DEPTH (a schema that recurses without
 * consuming the instance, e.g. {"$ref": "#"}, fails with an error rather than
 * exhausting the stack); instance pointers deeper than SC_MAX_PATH segments
 * are shown truncated.
 */
#include "schema/validator_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SC_MAX_DEPTH 256
#define SC_MAX_PATH  96
#define SC_MEM       2048

typedef struct {
    const char *key; /* NULL for an array index */
    uint32_t len;    /* key length, or the index */
} seg;

typedef struct {
    tl_schema_error *errs;
    size_t max, n;
    int mute;
    uint32_t depth;
    uint32_t npath;
    uint32_t nscope;
    seg path[SC_MAX_PATH];
    const sc_resource *scope[SC_MAX_DEPTH + 2];
    pcre2_general_context *gc;
    pcre2_match_data *md;
    size_t mem_used;
    _Alignas(16) char mem[SC_MEM];
} vctx;

#define STOP(c) ((c)->mute || (c)->n >= (c)->max)

/* ---- annotation sets ---- */

typedef struct {
    uint32_t n;
    uint64_t *bits;
    uint64_t inl[4];
} ann;

static bool ann_init(ann *a, uint32_t n)
{
    size_t words = (n + 63) / 64;
    a->n = n;
    if (words <= TL_ARRAY_LEN(a->inl)) {
        a->bits = a->inl;
        memset(a->inl, 0, sizeof a->inl);
        return true;
    }
    a->bits = tl_calloc(words, sizeof *a->bits);
    return a->bits != NULL;
}

static void ann_free(ann *a)
{
    if (a->bits && a->bits != a->inl)
        tl_free(a->bits);
    a->bits = NULL;
}

static inline void ann_mark(ann *a, uint32_t i)
{
    if (a)
        a->bits[i / 64] |= 1ull << (i % 64);
}

static inline bool ann_has(const ann *a, uint32_t i)
{
    return (a->bits[i / 64] >> (i % 64)) & 1;
}

static void ann_merge(ann *dst, const ann *src)
{
    size_t i, words = (dst->n + 63) / 64;
    for (i = 0; i < words; i++)
        dst->bits[i] |= src->bits[i];
}

/* ---- messages ---- */

static size_t put_pointer(const vctx *c, char *out, size_t cap)
{
    size_t o = 0;
    uint32_t i;

    out[0] = '\0';
    for (i = 0; i < c->npath && o + 1 < cap; i++) {
        const seg *s = &c->path[i];
        out[o++] = '/';
        if (s->key) {
            uint32_t k;
            for (k = 0; k < s->len && o + 2 < cap; k++) {
                char ch = s->key[k];
                if (ch == '~' || ch == '/') {
                    out[o++] = '~';
                    out[o++] = ch == '~' ? '0' : '1';
                } else {
                    out[o++] = ch;
                }
            }
        } else {
            int n = snprintf(out + o, cap - o, "%u", s->len);
            o += n > 0 ? (size_t)n : 0;
            if (o >= cap)
                o = cap - 1;
        }
    }
    if (o >= cap)
        o = cap - 1;
    out[o] = '\0';
    return o;
}

static void fmt_number(double d, char *out, size_t cap)
{
    snprintf(out, cap, "%.15g", d);
    if (strtod(out, NULL) != d)
        snprintf(out, cap, "%.17g", d);
}

/* "string \"12\"", "number 5", "object", ... */
static void describe(const tl_json *v, char *out, size_t cap)
{
    char num[40];

    switch (v->type) {
    case TL_JSON_NULL:
        snprintf(out, cap, "null");
        break;
    case TL_JSON_TRUE:
        snprintf(out, cap, "boolean true");
        break;
    case TL_JSON_FALSE:
        snprintf(out, cap, "boolean false");
        break;
    case TL_JSON_NUMBER:
        fmt_number(v->u.num, num, sizeof num);
        snprintf(out, cap, "number %s", num);
        break;
    case TL_JSON_STRING: {
        size_t o, i;
        o = (size_t)snprintf(out, cap, "string \"");
        for (i = 0; i < v->len && o + 8 < cap; i++) {
            unsigned char ch = (unsigned char)v->u.str[i];
            if (i >= 60) {
                o += (size_t)snprintf(out + o, cap - o, "...");
                break;
            }
            if (ch == '"' || ch == '\\') {
                out[o++] = '\\';
                out[o++] = (char)ch;
            } else if (ch < 0x20) {
                o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
            } else {
                out[o++] = (char)ch;
            }
        }
        if (o + 1 < cap)
            out[o++] = '"';
        out[TL_MIN(o, cap - 1)] = '\0';
        break;
    }
    case TL_JSON_ARRAY:
        snprintf(out, cap, "array of %u item%s", v->len, v->len == 1 ? "" : "s");
        break;
    default:
        snprintf(out, cap, "object");
        break;
    }
}

/* snprintf whose truncation is intended (messages are cut at the field size). */
static void fmt_into(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_into(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Records one error. expected/found may be NULL; message, when NULL, is
 * "<pointer>: expected <expected>, found <found>". */
static void report(vctx *c, const sc_node *n, const char *kw, const tl_json *v,
                   const char *expected, const char *found, const char *message)
{
    tl_schema_error *e;
    char fbuf[128];

    if (STOP(c))
        return;
    e = &c->errs[c->n++];
    put_pointer(c, e->pointer, sizeof e->pointer);
    fmt_into(e->schema_path, sizeof e->schema_path, "%s/%s", n->path, kw);
    copy_str(e->keyword, sizeof e->keyword, kw);
    copy_str(e->expected, sizeof e->expected, expected ? expected : "");
    if (!found && v) {
        describe(v, fbuf, sizeof fbuf);
        found = fbuf;
    }
    copy_str(e->found, sizeof e->found, found ? found : "");
    if (message)
        fmt_into(e->message, sizeof e->message, "%s: %s", e->pointer[0] ? e->pointer : "/",
                 message);
    else
        fmt_into(e->message, sizeof e->message, "%s: expected %s, found %s",
                 e->pointer[0] ? e->pointer : "/", e->expected, e->found);
}

static bool should_report(const vctx *c)
{
    return !STOP(c);
}

/* A member that additionalProperties or unevaluatedProperties (kw) set to false forbids. */
static void report_unexpected(vctx *c, const sc_node *n, const char *kw, const tl_json_member *m)
{
    char exp[160], msg[200];
    if (!should_report(c))
        return;
    snprintf(exp, sizeof exp, "no property \"%.*s\"", (int)TL_MIN(m->key_len, 100), m->key);
    snprintf(msg, sizeof msg, "property \"%.*s\" not allowed (%s is false)",
             (int)TL_MIN(m->key_len, 100), m->key, kw);
    report(c, n, kw, &m->value, exp, "an unexpected property", msg);
}

/* ---- path and scope stacks ---- */

static inline bool push_key(vctx *c, const char *key, uint32_t len)
{
    if (c->npath >= SC_MAX_PATH)
        return false;
    c->path[c->npath++] = (seg){key, len};
    return true;
}

static inline bool push_index(vctx *c, uint32_t i)
{
    if (c->npath >= SC_MAX_PATH)
        return false;
    c->path[c->npath++] = (seg){NULL, i};
    return true;
}

static inline void pop_path(vctx *c, bool pushed)
{
    if (pushed)
        c->npath--;
}

/* ---- regexes ---- */

static void *mem_alloc(size_t n, void *data)
{
    vctx *c = data;
    size_t at = (c->mem_used + 15) & ~(size_t)15;
    if (at + n <= sizeof c->mem) {
        c->mem_used = at + n;
        return c->mem + at;
    }
    return tl_malloc(n);
}

static void mem_free(void *p, void *data)
{
    vctx *c = data;
    if (p && ((char *)p < c->mem || (char *)p >= c->mem + sizeof c->mem))
        tl_free(p);
}

static bool re_match(vctx *c, const sc_regex *re, const char *s, size_t n)
{
    int rc;

    if (!c->md) {
        if (!c->gc)
            c->gc = pcre2_general_context_create(mem_alloc, mem_free, c);
        if (c->gc)
            c->md = pcre2_match_data_create(1, c->gc);
        if (!c->md)
            return false;
    }
    rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, c->md, NULL);
    return rc >= 0;
}

/* ---- values ---- */

bool tl_schema__json_equal(const tl_json *a, const tl_json *b)
{
    uint32_t i, k;

    if (a->type != b->type)
        return false;
    switch (a->type) {
    case TL_JSON_NUMBER:
        return a->u.num == b->u.num;
    case TL_JSON_STRING:
        return a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0;
    case TL_JSON_ARRAY:
        if (a->len != b->len)
            return false;
        for (i = 0; i < a->len; i++)
            if (!tl_schema__json_equal(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    case TL_JSON_OBJECT:
        if (a->len != b->len)
            return false;
        for (i = 0; i < a->len; i++) {
            const tl_json_member *m = &a->u.members[i];
            bool found = false;
            for (k = 0; k < b->len && !found; k++) {
                const tl_json_member *o = &b->u.members[k];
                if (o->key_len == m->key_len && memcmp(o->key, m->key, m->key_len) == 0) {
                    if (!tl_schema__json_equal(&m->value, &o->value))
                        return false;
                    found = true;
                }
            }
            if (!found)
                return false;
        }
        return true;
    default:
        return true;
    }
}

static inline uint8_t type_bits(const tl_json *v)
{
    switch (v->type) {
    case TL_JSON_NULL:
        return SC_T_NULL;
    case TL_JSON_TRUE:
    case TL_JSON_FALSE:
        return SC_T_BOOLEAN;
    case TL_JSON_NUMBER:
        return (isfinite(v->u.num) && floor(v->u.num) == v->u.num) ? SC_T_INTEGER | SC_T_NUMBER
                                                                   : SC_T_NUMBER;
    case TL_JSON_STRING:
        return SC_T_STRING;
    case TL_JSON_ARRAY:
        return SC_T_ARRAY;
    default:
        return SC_T_OBJECT;
    }
}

static void types_text(uint8_t t, char *out, size_t cap)
{
    static const char *const names[] = {"null",   "boolean", "integer", "number",
                                        "string", "array",   "object"};
    size_t o = 0, i;
    out[0] = '\0';
    if (t & SC_T_NUMBER)
        t &= (uint8_t)~SC_T_INTEGER;
    for (i = 0; i < TL_ARRAY_LEN(names); i++) {
        if (t & (1u << i)) {
            int n = snprintf(out + o, cap - o, "%s%s", o ? " or " : "", names[i]);
            if (n < 0 || (size_t)n >= cap - o)
                return;
            o += (size_t)n;
        }
    }
}

static bool is_multiple(double x, double m)
{
    double q, r;
    if (floor(x) == x && floor(m) == m && fabs(x) < 9007199254740992.0 &&
        fabs(m) < 9007199254740992.0)
        return fmod(x, m) == 0;
    q = x / m;
    if (!isfinite(q))
        return false;
    r = nearbyint(q);
    return fabs(q - r) <= 1e-9 * TL_MAX(1.0, fabs(q));
}

static uint32_t utf8_count(const char *s, uint32_t n)
{
    uint32_t i, k = 0;
    for (i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* ---- keyword groups ---- */

static bool eval_keep(vctx *c, const sc_node *n, const tl_json *v, ann *a, bool keep);

static inline bool eval(vctx *c, const sc_node *n, const tl_json *v, ann *a)
{
    return eval_keep(c, n, v, a, false);
}

static bool eval_number(vctx *c, const sc_node *n, const tl_json *v)
{
    double x = v->u.num;
    char exp[96], num[40];
    bool ok = true;

    if ((n->flags & SC_F_MINIMUM) && !(x >= n->minimum)) {
        ok = false;
        if (should_report(c)) {
            fmt_number(n->minimum, num, sizeof num);
            snprintf(exp, sizeof exp, "number >= %s", num);
            report(c, n, "minimum", v, exp, NULL, NULL);
        }
        if (STOP(c))
            return false;
    }
    if ((n->flags & SC_F_XMINIMUM) && !(x > n->xminimum)) {
        ok = false;
        if (should_report(c)) {
            fmt_number(n->xminimum, num, sizeof num);
            snprintf(exp, sizeof exp, "number > %s", num);
            report(c, n, "exclusiveMinimum", v, exp, NULL, NULL);
        }
        if (STOP(c))
            return false;
    }
    if ((n->flags & SC_F_MAXIMUM) && !(x <= n->maximum)) {
        ok = false;
        if (should_report(c)) {
            fmt_number(n->maximum, num, sizeof num);
            snprintf(exp, sizeof exp, "number <= %s", num);
            report(c, n, "maximum", v, exp, NULL, NULL);
        }
        if (STOP(c))
            return false;
    }
    if ((n->flags & SC_F_XMAXIMUM) && !(x < n->xmaximum)) {
        ok = false;
        if (should_report(c)) {
            fmt_number(n->xmaximum, num, sizeof num);
            snprintf(exp, sizeof exp, "number < %s", num);
            report(c, n, "exclusiveMaximum", v, exp, NULL, NULL);
        }
        if (STOP(c))
            return false;
    }
    if ((n->flags & SC_F_MULTIPLE) && !is_multiple(x, n->multiple_of)) {
        ok = false;
        if (should_report(c)) {
            fmt_number(n->multiple_of, num, sizeof num);
            snprintf(exp, sizeof exp, "a multiple of %s", num);
            report(c, n, "multipleOf", v, exp, NULL, NULL);
        }
    }
    return ok;
}

static bool eval_string(vctx *c, const sc_node *n, const tl_json *v)
{
    char exp[128], found[64];
    bool ok = true;
    uint32_t len = v->len, cps = UINT32_MAX;

    /* code points <= bytes <= 4 * code points: most checks need no counting */
    if (n->min_length > 0 && (len < n->min_length || len / 4 < n->min_length)) {
        cps = utf8_count(v->u.str, len);
        if (cps < n->min_length) {
            ok = false;
            if (should_report(c)) {
                snprintf(exp, sizeof exp, "at least %u character%s", n->min_length,
                         n->min_length == 1 ? "" : "s");
                snprintf(found, sizeof found, "string of %u character%s", cps, cps == 1 ? "" : "s");
                report(c, n, "minLength", v, exp, found, NULL);
            }
            if (STOP(c))
                return false;
        }
    }
    if (n->max_length != UINT32_MAX && len > n->max_length) {
        if (cps == UINT32_MAX)
            cps = utf8_count(v->u.str, len);
        if (cps > n->max_length) {
            ok = false;
            if (should_report(c)) {
                snprintf(exp, sizeof exp, "at most %u character%s", n->max_length,
                         n->max_length == 1 ? "" : "s");
                snprintf(found, sizeof found, "string of %u characters", cps);
                report(c, n, "maxLength", v, exp, found, NULL);
            }
            if (STOP(c))
                return false;
        }
    }
    if (n->pattern && !re_match(c, n->pattern, v->u.str, len)) {
        ok = false;
        if (should_report(c)) {
            snprintf(exp, sizeof exp, "string matching \"%.100s\"", n->pattern->src);
            report(c, n, "pattern", v, exp, NULL, NULL);
        }
    }
    return ok;
}

static bool eval_array(vctx *c, const sc_node *n, const tl_json *v, ann *mine)
{
    bool ok = true, pushed;
    uint32_t i, len = v->len;
    char exp[96], found[64];

    if (len < n->min_items || len > n->max_items) {
        ok = false;
        if (should_report(c)) {
            bool lo = len < n->min_items;
            uint32_t lim = lo ? n->min_items : n->max_items;
            snprintf(exp, sizeof exp, "%s %u item%s", lo ? "at least" : "at most", lim,
                     lim == 1 ? "" : "s");
            report(c, n, lo ? "minItems" : "maxItems", v, exp, NULL, NULL);
        }
        if (STOP(c))
            return false;
    }
    for (i = 0; i < n->n_prefix && i < len; i++) {
        pushed = push_index(c, i);
        if (!eval(c, n->prefix[i], &v->u.items[i], NULL))
            ok = false;
        pop_path(c, pushed);
        if (!ok && STOP(c))
            return false;
        ann_mark(mine, i);
    }
    if (n->items) {
        for (i = n->n_prefix; i < len; i++) {
            pushed = push_index(c, i);
            if (!eval(c, n->items, &v->u.items[i], NULL))
                ok = false;
            pop_path(c, pushed);
            if (!ok && STOP(c))
                return false;
            ann_mark(mine, i);
        }
    }
    if (n->contains) {
        uint32_t matched = 0;
        c->mute++;
        for (i = 0; i < len; i++) {
            if (eval(c, n->contains, &v->u.items[i], NULL)) {
                matched++;
                ann_mark(mine, i);
                if (!mine && matched >= n->min_contains && n->max_contains == UINT32_MAX)
                    break;
            }
        }
        c->mute--;
        if (matched < n->min_contains || matched > n->max_contains) {
            ok = false;
            if (should_report(c)) {
                bool lo = matched < n->min_contains;
                uint32_t lim = lo ? n->min_contains : n->max_contains;
                snprintf(exp, sizeof exp, "%s %u item%s valid against contains",
                         lo ? "at least" : "at most", lim, lim == 1 ? "" : "s");
                snprintf(found, sizeof found, "%u", matched);
                report(c, n,
                       lo ? (n->min_contains == 1 ? "contains" : "minContains") : "maxContains", v,
                       exp, found, NULL);
            }
            if (STOP(c))
                return false;
        }
    }
    if (n->unique_items && len > 1) {
        uint32_t k;
        for (i = 1; i < len; i++) {
            for (k = 0; k < i; k++) {
                if (tl_schema__json_equal(&v->u.items[k], &v->u.items[i])) {
                    ok = false;
                    if (should_report(c)) {
                        snprintf(found, sizeof found, "items %u and %u equal", k, i);
                        report(c, n, "uniqueItems", v, "unique items", found, NULL);
                    }
                    if (STOP(c))
                        return false;
                    goto unique_done;
                }
            }
        }
    }
unique_done:
    return ok;
}

static inline int key_lookup(const sc_node *n, const char *key, uint32_t len)
{
    uint64_t h = tl_hash64(key, len, 0);
    uint32_t i = (uint32_t)h & n->kt_mask, e;

    while ((e = n->kt[i]) != 0) {
        const sc_key *k = &n->keys[e - 1];
        if (k->hash == h && k->len == len && memcmp(k->key, key, len) == 0)
            return (int)(e - 1);
        i = (i + 1) & n->kt_mask;
    }
    return -1;
}

static bool has_member(const tl_json *v, const char *key, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < v->len; i++)
        if (v->u.members[i].key_len == len && memcmp(v->u.members[i].key, key, len) == 0)
            return true;
    return false;
}

static bool eval_object(vctx *c, const sc_node *n, const tl_json *v, ann *mine)
{
    bool ok = true, pushed;
    uint32_t i, len = v->len;
    uint64_t seen = 0; /* keys[i] present, for the first 64 keys */
    char exp[192], found[160];

    if (len < n->min_props || len > n->max_props) {
        bool lo = len < n->min_props;
        uint32_t lim = lo ? n->min_props : n->max_props;
        ok = false;
        if (should_report(c)) {
            snprintf(exp, sizeof exp, "%s %u propert%s", lo ? "at least" : "at most", lim,
                     lim == 1 ? "y" : "ies");
            snprintf(found, sizeof found, "object with %u propert%s", len, len == 1 ? "y" : "ies");
            report(c, n, lo ? "minProperties" : "maxProperties", v, exp, found, NULL);
        }
        if (STOP(c))
            return false;
    }
    for (i = 0; i < len; i++) {
        const tl_json_member *m = &v->u.members[i];
        bool matched = false;
        uint32_t p;
        int k = n->n_keys ? key_lookup(n, m->key, m->key_len) : -1;

        if (k >= 0) {
            if (k < 64)
                seen |= 1ull << k;
            if (n->keys[k].schema) {
                matched = true;
                pushed = push_key(c, m->key, m->key_len);
                if (!eval(c, n->keys[k].schema, &m->value, NULL))
                    ok = false;
                pop_path(c, pushed);
                if (!ok && STOP(c))
                    return false;
            }
        }
        for (p = 0; p < n->n_pprops; p++) {
            if (re_match(c, &n->pprops[p].re, m->key, m->key_len)) {
                matched = true;
                pushed = push_key(c, m->key, m->key_len);
                if (!eval(c, n->pprops[p].schema, &m->value, NULL))
                    ok = false;
                pop_path(c, pushed);
                if (!ok && STOP(c))
                    return false;
            }
        }
        if (!matched && n->additional) {
            matched = true;
            pushed = push_key(c, m->key, m->key_len);
            if (n->additional->boolean == 0) {
                ok = false;
                report_unexpected(c, n, "additionalProperties", m);
            } else if (!eval(c, n->additional, &m->value, NULL)) {
                ok = false;
            }
            pop_path(c, pushed);
            if (!ok && STOP(c))
                return false;
        }
        if (matched)
            ann_mark(mine, i);
        if (n->property_names) {
            tl_json name = {.type = TL_JSON_STRING, .len = m->key_len, .u.str = m->key};
            bool good;
            c->mute++;
            good = eval(c, n->property_names, &name, NULL);
            c->mute--;
            if (!good) {
                ok = false;
                if (should_report(c)) {
                    snprintf(found, sizeof found, "property name \"%.*s\"",
                             (int)TL_MIN(m->key_len, 100), m->key);
                    report(c, n, "propertyNames", v, "property names valid against propertyNames",
                           found, NULL);
                }
                if (STOP(c))
                    return false;
            }
        }
    }
    if (n->n_required || n->has_deps) {
        uint32_t k;
        for (k = 0; k < n->n_keys; k++) {
            const sc_key *key = &n->keys[k];
            bool present = k < 64 ? (seen >> k) & 1 : has_member(v, key->key, key->len);
            if (key->required && !present) {
                ok = false;
                if (should_report(c)) {
                    char msg[200];
                    snprintf(exp, sizeof exp, "property \"%.*s\"", (int)TL_MIN(key->len, 100),
                             key->key);
                    snprintf(msg, sizeof msg, "missing required property \"%.*s\"",
                             (int)TL_MIN(key->len, 100), key->key);
                    report(c, n, "required", v, exp, "nothing", msg);
                }
                if (STOP(c))
                    return false;
            }
            if (!present)
                continue;
            if (key->n_deps) {
                uint32_t d;
                for (d = 0; d < key->n_deps; d++) {
                    uint32_t di = key->deps[d];
                    const sc_key *dk = &n->keys[di];
                    bool dp = di < 64 ? (seen >> di) & 1 : has_member(v, dk->key, dk->len);
                    if (!dp) {
                        ok = false;
                        if (should_report(c)) {
                            char msg[240];
                            snprintf(exp, sizeof exp, "property \"%.*s\"", (int)TL_MIN(dk->len, 80),
                                     dk->key);
                            snprintf(msg, sizeof msg,
                                     "property \"%.*s\" requires property \"%.*s\"",
                                     (int)TL_MIN(key->len, 80), key->key, (int)TL_MIN(dk->len, 80),
                                     dk->key);
                            report(c, n, "dependentRequired", v, exp, "nothing", msg);
                        }
                        if (STOP(c))
                            return false;
                    }
                }
            }
            if (key->dep_schema && !eval_keep(c, key->dep_schema, v, mine, true)) {
                ok = false;
                if (STOP(c))
                    return false;
            }
        }
    }
    return ok;
}

/* The unevaluated* keyword of n over v, with mine holding what was evaluated. */
static bool eval_unevaluated(vctx *c, const sc_node *n, const tl_json *v, ann *mine)
{
    bool ok = true, pushed;
    uint32_t i;

    if (v->type == TL_JSON_OBJECT) {
        for (i = 0; i < v->len; i++) {
            const tl_json_member *m = &v->u.members[i];
            if (ann_has(mine, i))
                continue;
            pushed = push_key(c, m->key, m->key_len);
            if (n->uneval_props->boolean == 0) {
                ok = false;
                report_unexpected(c, n, "unevaluatedProperties", m);
            } else if (!eval(c, n->uneval_props, &m->value, NULL)) {
                ok = false;
            }
            pop_path(c, pushed);
            if (!ok && STOP(c))
                return false;
            ann_mark(mine, i);
        }
    } else {
        for (i = 0; i < v->len; i++) {
            if (ann_has(mine, i))
                continue;
            pushed = push_index(c, i);
            if (n->uneval_items->boolean == 0) {
                ok = false;
                if (should_report(c))
                    report(c, n, "unevaluatedItems", &v->u.items[i], "no item here", NULL,
                           "item not allowed (unevaluatedItems is false)");
            } else if (!eval(c, n->uneval_items, &v->u.items[i], NULL)) {
                ok = false;
            }
            pop_path(c, pushed);
            if (!ok && STOP(c))
                return false;
            ann_mark(mine, i);
        }
    }
    return ok;
}

/* Evaluates child over the same instance, merging its annotations into mine on success. */
static bool eval_inplace(vctx *c, const sc_node *child, const tl_json *v, ann *mine)
{
    return eval_keep(c, child, v, mine, false);
}

/* Same for an applicator whose failure fails the parent ($ref, allOf, then, ...): the parent
 * is invalid then whatever unevaluated* finds, so the child's marks are kept even when it fails,
 * which spares an "unevaluated" error on top of the child's own for the same property. */
static bool eval_must(vctx *c, const sc_node *child, const tl_json *v, ann *mine)
{
    return eval_keep(c, child, v, mine, true);
}

static const sc_node *dynamic_target(const vctx *c, const sc_node *n)
{
    uint32_t s, k;
    for (s = 0; s < c->nscope; s++) {
        const sc_resource *r = c->scope[s];
        for (k = 0; k < r->n_dyn; k++)
            if (strcmp(r->dyn[k].name, n->dyn_name) == 0)
                return r->dyn[k].node;
    }
    return n->dyn_ref;
}

static bool meta_valid(const tl_json *v, char *msg, size_t cap)
{
    tl_schema tmp = {0};
    int rc;

    if (v->type == TL_JSON_TRUE || v->type == TL_JSON_FALSE)
        return true;
    if (v->type != TL_JSON_OBJECT) {
        snprintf(msg, cap, "%s", tl_json_type_name(v->type));
        return false;
    }
    tmp.arena = tl_arena_new(4096);
    if (!tmp.arena) {
        snprintf(msg, cap, "out of memory");
        return false;
    }
    rc = tl_schema__compile_tree(&tmp, v, msg, cap);
    for (uint32_t i = 0; i < tmp.n_codes; i++)
        pcre2_code_free(tmp.codes[i]);
    tl_free(tmp.codes);
    tl_arena_free(tmp.arena);
    return rc == 0;
}

static bool eval_inplace_all(vctx *c, const sc_node *n, const tl_json *v, ann *mine)
{
    bool ok = true;
    uint32_t i;
    char found[64];

    if (n->ref && !eval_must(c, n->ref, v, mine)) {
        ok = false;
        if (STOP(c))
            return false;
    }
    if (n->dyn_ref) {
        const sc_node *t = n->dyn_ref_dynamic ? dynamic_target(c, n) : n->dyn_ref;
        if (!eval_must(c, t, v, mine)) {
            ok = false;
            if (STOP(c))
                return false;
        }
    }
    for (i = 0; i < n->n_all_of; i++) {
        if (!eval_must(c, n->all_of[i], v, mine)) {
            ok = false;
            if (STOP(c))
                return false;
        }
    }
    if (n->n_any_of) {
        bool any = false;
        c->mute++;
        for (i = 0; i < n->n_any_of; i++) {
            if (eval_inplace(c, n->any_of[i], v, mine)) {
                any = true;
                if (!mine)
                    break;
            }
        }
        c->mute--;
        if (!any) {
            ok = false;
            report(c, n, "anyOf", v, "a value valid against at least one schema of anyOf", NULL,
                   NULL);
            if (STOP(c))
                return false;
        }
    }
    if (n->n_one_of) {
        uint32_t matches = 0, first = 0, second = 0;
        c->mute++;
        for (i = 0; i < n->n_one_of && matches < 2; i++) {
            if (eval_inplace(c, n->one_of[i], v, mine)) {
                if (matches == 0)
                    first = i;
                else
                    second = i;
                matches++;
            }
        }
        c->mute--;
        if (matches != 1) {
            ok = false;
            if (should_report(c)) {
                if (matches == 0)
                    snprintf(found, sizeof found, "no match");
                else
                    snprintf(found, sizeof found, "matches of schemas %u and %u", first, second);
                report(c, n, "oneOf", v, "a value valid against exactly one schema of oneOf", found,
                       NULL);
            }
            if (STOP(c))
                return false;
        }
    }
    if (n->not_) {
        bool r;
        c->mute++;
        r = eval(c, n->not_, v, NULL);
        c->mute--;
        if (r) {
            ok = false;
            report(c, n, "not", v, "a value not valid against the schema of not", NULL, NULL);
            if (STOP(c))
                return false;
        }
    }
    if (n->if_) {
        bool r;
        c->mute++;
        r = eval_inplace(c, n->if_, v, mine);
        c->mute--;
        if (r && n->then_) {
            if (!eval_must(c, n->then_, v, mine)) {
                ok = false;
                if (STOP(c))
                    return false;
            }
        } else if (!r && n->else_) {
            if (!eval_must(c, n->else_, v, mine)) {
                ok = false;
                if (STOP(c))
                    return false;
            }
        }
    }
    return ok;
}

static bool eval_keep(vctx *c, const sc_node *n, const tl_json *v, ann *a, bool keep)
{
    bool ok = true, scoped = false, track;
    uint32_t f = n->flags;
    ann local, *mine = NULL;
    char exp[160];

    if (n->boolean >= 0) {
        if (n->boolean)
            return true;
        report(c, n, "false", v, "nothing (the schema is false)", NULL, "no value is allowed here");
        return false;
    }
    if (c->depth >= SC_MAX_DEPTH) {
        report(c, n, "$ref", v, "a schema that terminates", "recursion deeper than 256 levels",
               "schema recursion exceeds 256 levels without consuming the instance");
        return false;
    }
    c->depth++;
    if (n->resource != c->scope[c->nscope - 1]) {
        c->scope[c->nscope++] = n->resource;
        scoped = true;
    }
    track = (v->type == TL_JSON_OBJECT && (a || n->uneval_props)) ||
            (v->type == TL_JSON_ARRAY && (a || n->uneval_items));
    if (track) {
        if (!ann_init(&local, v->len)) {
            report(c, n, "unevaluatedProperties", v, "memory", "out of memory", "out of memory");
            ok = false;
            goto out;
        }
        mine = &local;
    }
    if ((f & SC_F_TYPE) && !(n->types & type_bits(v))) {
        ok = false;
        if (should_report(c)) {
            types_text(n->types, exp, sizeof exp);
            report(c, n, "type", v, exp, NULL, NULL);
        }
        if (STOP(c))
            goto out;
    }
    if ((f & SC_F_CONST) && !tl_schema__json_equal(n->const_val, v)) {
        ok = false;
        report(c, n, "const", v, n->const_text, NULL, NULL);
        if (STOP(c))
            goto out;
    }
    if (f & SC_F_ENUM) {
        uint32_t i;
        bool hit = false;
        for (i = 0; i < n->enum_vals->len && !hit; i++)
            hit = tl_schema__json_equal(&n->enum_vals->u.items[i], v);
        if (!hit) {
            ok = false;
            if (should_report(c)) {
                snprintf(exp, sizeof exp, "one of %s", n->enum_text);
                report(c, n, "enum", v, exp, NULL, NULL);
            }
            if (STOP(c))
                goto out;
        }
    }
    switch (v->type) {
    case TL_JSON_NUMBER:
        if ((f & SC_F_NUMBER) && !eval_number(c, n, v))
            ok = false;
        break;
    case TL_JSON_STRING:
        if ((f & SC_F_STRING) && !eval_string(c, n, v))
            ok = false;
        break;
    case TL_JSON_ARRAY:
        if ((f & SC_F_ARRAY) && !eval_array(c, n, v, mine))
            ok = false;
        break;
    case TL_JSON_OBJECT:
        if ((f & SC_F_OBJECT) && !eval_object(c, n, v, mine))
            ok = false;
        break;
    default:
        break;
    }
    if (!ok && STOP(c))
        goto out;
    if ((f & SC_F_INPLACE) && !eval_inplace_all(c, n, v, mine)) {
        ok = false;
        if (STOP(c))
            goto out;
    }
    if (f & SC_F_META) {
        char msg[128];
        if (!meta_valid(v, msg, sizeof msg)) {
            ok = false;
            report(c, n, "$ref", v, "a valid JSON Schema (draft 2020-12)", msg, NULL);
            if (STOP(c))
                goto out;
        }
    }
    if (mine && ((v->type == TL_JSON_OBJECT && n->uneval_props) ||
                 (v->type == TL_JSON_ARRAY && n->uneval_items))) {
        if (!eval_unevaluated(c, n, v, mine))
            ok = false;
    }
out:
    if (mine) {
        if ((ok || keep) && a)
            ann_merge(a, mine);
        ann_free(mine);
    }
    if (scoped)
        c->nscope--;
    c->depth--;
    return ok;
}

bool tl_schema_validate(const tl_schema *s, const tl_json *instance, tl_schema_error *errs,
                        size_t max_errors, size_t *n_errors)
{
    vctx c;
    bool ok;

    c.errs = errs;
    c.max = errs ? max_errors : 0;
    c.n = 0;
    c.mute = 0;
    c.depth = 0;
    c.npath = 0;
    c.nscope = 1;
    c.scope[0] = s->root_resource;
    c.gc = NULL;
    c.md = NULL;
    c.mem_used = 0;
    ok = eval(&c, s->root, instance, NULL);
    if (c.md)
        pcre2_match_data_free(c.md);
    if (c.gc)
        pcre2_general_context_free(c.gc);
    if (n_errors)
        *n_errors = c.n;
    return ok;
}
