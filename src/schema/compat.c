/*
 * compat — JSON Schema compatibility: does schema B accept every instance schema A accepts?
 *
 * The registry's modes reduce to one question asked in one or two directions:
 * BACKWARD asks sub(latest, new) ("the new schema reads everything the old one accepted"),
 * FORWARD asks sub(new, latest), FULL asks both; the _TRANSITIVE modes ask it against every
 * live version. sub(A, B) is decided structurally, keyword by keyword, never by sampling:
 *
 *   - B true / {} (nothing but annotations)     -> yes        A false          -> yes
 *   - B false, A not false                       -> no
 *   - A has enum/const: every listed value must be accepted by B (a small evaluator of B
 *     on concrete values: types, enum, const, bounds, lengths, simple patterns, properties,
 *     items, allOf/anyOf/oneOf/not)
 *   - $ref (local "#/..." pointers, into $defs or anywhere in the same document) is
 *     resolved; on the B side a $ref with siblings is the conjunction of both
 *   - B allOf: A must be below every branch. B anyOf: A below some branch, or, split by
 *     type (a nullable ["string","null"] against anyOf [string, null]), each part below some
 *     branch; or the same anyOf. B oneOf: the same, where the chosen branch must also be the
 *     only one whose types meet the part (disjoint types are the exclusivity we can prove).
 *     B not / if-then-else / contains / propertyNames / patternProperties / dependent* /
 *     unevaluated*: only when A has the identical keyword ("cannot prove").
 *   - A allOf: enough that one branch (or A without it) is below B. A anyOf/oneOf: every
 *     branch below B, or A without it below B, or B has the identical keyword.
 *   - type: A's types must be a subset of B's, integer being a subset of number.
 *   - per family, only when A admits that type: numbers (minimum, maximum, exclusive*,
 *     multipleOf), strings (minLength, maxLength, pattern), arrays (prefixItems and
 *     items recursively, minItems, maxItems, uniqueItems), objects (required, properties
 *     recursively, additionalProperties, minProperties, maxProperties).
 *
 * Objects are where JSON Schema evolution bites. A property B declares that A does not is
 * only safe when A's additionalProperties could not have produced a conflicting value: with
 * an open A (additionalProperties absent or true) old data may already hold anything under
 * that name, so adding a constrained property to an open content model is reported, as
 * Confluent's JSON Schema checker does. A property A declares that B does not falls under
 * B's additionalProperties (removing it while B is closed is reported).
 *
 * Recursive schemas: a pair (A node, B node) already being compared higher up the stack is
 * assumed to hold (coinduction, the usual rule for recursive types); depth is capped at
 * COMPAT_MAX_DEPTH and hitting the cap is reported as "cannot prove".
 *
 * Conservative by construction: every rule either proves inclusion or reports why not; a
 * validation keyword it does not model on the B side is compared for equality with A's and
 * otherwise reported as "cannot prove compatible". Unknown keywords are ignored, as draft
 * 2020-12 (and tl_schema_validate) treat them as annotations. Cost: linear in the size of both
 * schemas for ordinary documents; tries of anyOf branches multiply by the branch count.
 *
 * Messages have the shape "<JSON pointer into the schema>: <what changed>", e.g.
 * "#/properties/price: type narrowed from [number, string] to [number]". They describe the
 * change from A to B; the registry says which version was A.
 */
#include "schema/schema.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMPAT_MAX_DEPTH 64
#define PATH_MAX_LEN     512

typedef struct {
    const tl_json *a, *b;
} pair;

typedef struct {
    const tl_json *root_a, *root_b; /* documents for resolving $ref */
    tl_compat_result *res;
    int silent; /* > 0 while trying alternatives: failures are not reported */
    tl_arena *arena;
    pair stack[COMPAT_MAX_DEPTH];
    int depth;
    pair eq_stack[COMPAT_MAX_DEPTH]; /* $ref targets being compared by equiv() */
    int eq_depth;
} ctx;

/* ---------------------------------------------------------------- small helpers */

static void report(ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(ctx *c, const char *path, const char *fmt, ...)
{
    if (c->silent || !c->res)
        return;
    if (c->res->n >= TL_COMPAT_MAX_MESSAGES) {
        c->res->more++;
        return;
    }
    char *m = c->res->msg[c->res->n++];
    size_t cap = sizeof c->res->msg[0];
    int k = snprintf(m, cap, "%s: ", path);
    if (k < 0 || (size_t)k >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Appends one JSON pointer token (escaped as ~0 ~1) to path. */
static void path_join(char *dst, size_t cap, const char *path, const char *tok)
{
    size_t n = strlen(path);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, path, n);
    if (n + 1 < cap)
        dst[n++] = '/';
    for (const char *p = tok; *p && n + 2 < cap; p++) {
        if (*p == '~' || *p == '/') {
            dst[n++] = '~';
            dst[n++] = *p == '~' ? '0' : '1';
        } else {
            dst[n++] = *p;
        }
    }
    dst[n] = '\0';
}

static void path_join_index(char *dst, size_t cap, const char *path, const char *kw, size_t i)
{
    char tok[32];
    char tmp[PATH_MAX_LEN];
    path_join(tmp, sizeof tmp, path, kw);
    snprintf(tok, sizeof tok, "%zu", i);
    path_join(dst, cap, tmp, tok);
}

static bool is_obj(const tl_json *s)
{
    return s && s->type == TL_JSON_OBJECT;
}

static const tl_json *kw(const tl_json *s, const char *name)
{
    return is_obj(s) ? tl_json_get(s, name) : NULL;
}

static bool json_equal(const tl_json *x, const tl_json *y)
{
    if (!x || !y)
        return x == y;
    if (x->type != y->type)
        return false;
    switch (x->type) {
    case TL_JSON_NUMBER:
        return x->u.num == y->u.num;
    case TL_JSON_STRING:
        return x->len == y->len && memcmp(x->u.str, y->u.str, x->len) == 0;
    case TL_JSON_ARRAY:
        if (x->len != y->len)
            return false;
        for (uint32_t i = 0; i < x->len; i++)
            if (!json_equal(&x->u.items[i], &y->u.items[i]))
                return false;
        return true;
    case TL_JSON_OBJECT:
        if (x->len != y->len)
            return false;
        for (uint32_t i = 0; i < x->len; i++) {
            const tl_json_member *m = &x->u.members[i];
            if (!json_equal(&m->value, tl_json_getn(y, m->key, m->key_len)))
                return false;
        }
        return true;
    default:
        return true;
    }
}

/* A short rendering of a value for messages: strings in single quotes, the rest as JSON. */
static const char *show(const tl_json *v, char *out, size_t cap)
{
    if (!v) {
        snprintf(out, cap, "nothing");
    } else if (v->type == TL_JSON_STRING) {
        snprintf(out, cap, "'%.*s'", (int)TL_MIN(v->len, 80u), v->u.str);
    } else if (v->type == TL_JSON_NUMBER) {
        snprintf(out, cap, "%.*s", (int)TL_MIN(v->src_len, 60u), v->src);
    } else {
        tl_buf b;
        tl_buf_init(&b);
        if (tl_json_write_value(&b, v) == 0)
            snprintf(out, cap, "%.*s", (int)TL_MIN(b.len, 100u), b.ptr);
        else
            snprintf(out, cap, "(value)");
        tl_buf_deinit(&b);
    }
    return out;
}

/* Keywords that never reject an instance. "format" is one: draft 2020-12 makes it an
 * annotation by default and tl_schema_validate does not assert it. */
static bool is_annotation(const char *k)
{
    static const char *const names[] = {
        "title",           "description",
        "$comment",        "default",
        "examples",        "deprecated",
        "readOnly",        "writeOnly",
        "$schema",         "$id",
        "$anchor",         "$defs",
        "definitions",     "$vocabulary",
        "contentEncoding", "contentMediaType",
        "contentSchema",   "$dynamicAnchor",
        "format",
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(names); i++)
        if (strcmp(k, names[i]) == 0)
            return true;
    return false;
}

/* True when s accepts every instance: true, or an object with nothing but annotations. */
static bool is_trivial(const tl_json *s)
{
    if (!s)
        return true;
    if (s->type == TL_JSON_TRUE)
        return true;
    if (s->type != TL_JSON_OBJECT)
        return false;
    for (uint32_t i = 0; i < s->len; i++)
        if (!is_annotation(s->u.members[i].key))
            return false;
    return true;
}

static bool is_false(const tl_json *s)
{
    return s && s->type == TL_JSON_FALSE;
}

/* A copy of object s without the keyword `drop` (allocated in the check's arena). */
static const tl_json *without(ctx *c, const tl_json *s, const char *drop)
{
    tl_json *o = tl_arena_alloc(c->arena, sizeof *o);
    tl_json_member *m = tl_arena_alloc(c->arena, sizeof *m * (s->len ? s->len : 1));
    if (!o || !m)
        return NULL;
    *o = *s;
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->len; i++)
        if (strcmp(s->u.members[i].key, drop) != 0)
            m[n++] = s->u.members[i];
    o->len = n;
    o->u.members = m;
    return o;
}

/* Resolves a local $ref ("#", "#/a/b" with ~0 ~1 and %XX escapes) against root. */
static const tl_json *resolve(const tl_json *root, const tl_json *ref)
{
    if (!ref || ref->type != TL_JSON_STRING || ref->len == 0 || ref->u.str[0] != '#')
        return NULL;
    const char *p = ref->u.str + 1, *end = ref->u.str + ref->len;
    const tl_json *cur = root;
    if (p < end && *p != '/')
        return NULL; /* "#anchor" */
    while (p < end) {
        p++; /* '/' */
        char tok[256];
        size_t n = 0;
        while (p < end && *p != '/') {
            char ch = *p++;
            if (ch == '~' && p < end) {
                ch = *p++ == '0' ? '~' : '/';
            } else if (ch == '%' && end - p >= 2) {
                char hex[3] = {p[0], p[1], 0};
                char *e;
                long v = strtol(hex, &e, 16);
                if (*e)
                    return NULL;
                ch = (char)v;
                p += 2;
            }
            if (n + 1 >= sizeof tok)
                return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (cur->type == TL_JSON_OBJECT) {
            cur = tl_json_getn(cur, tok, n);
        } else if (cur->type == TL_JSON_ARRAY) {
            char *e;
            long i = strtol(tok, &e, 10);
            if (*e || n == 0 || i < 0 || (uint32_t)i >= cur->len)
                return NULL;
            cur = &cur->u.items[i];
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
    }
    return cur;
}

/* Same meaning: x (in A's document) and y (in B's) are equal JSON and every $ref in them
 * resolves, in its own document, to equivalent schemas. Plain equality is not enough: the
 * same "$ref": "#/$defs/d" text may point at different definitions in the two documents.
 * A pair of targets already being compared counts as equivalent (recursive definitions). */
static bool equiv(ctx *c, const tl_json *x, const tl_json *y)
{
    if (!x || !y)
        return x == y;
    if (x->type != y->type)
        return false;
    if (x->type == TL_JSON_ARRAY) {
        if (x->len != y->len)
            return false;
        for (uint32_t i = 0; i < x->len; i++)
            if (!equiv(c, &x->u.items[i], &y->u.items[i]))
                return false;
        return true;
    }
    if (x->type != TL_JSON_OBJECT)
        return json_equal(x, y);
    if (x->len != y->len)
        return false;
    for (uint32_t i = 0; i < x->len; i++) {
        const tl_json_member *m = &x->u.members[i];
        const tl_json *yv = tl_json_getn(y, m->key, m->key_len);
        if (!yv)
            return false;
        if (strcmp(m->key, "$dynamicRef") == 0)
            return false;
        if (strcmp(m->key, "$ref") != 0) {
            if (!equiv(c, &m->value, yv))
                return false;
            continue;
        }
        if (!json_equal(&m->value, yv))
            return false;
        const tl_json *tx = resolve(c->root_a, &m->value), *ty = resolve(c->root_b, yv);
        if (!tx || !ty)
            return false;
        bool on_stack = false;
        for (int k = 0; k < c->eq_depth && !on_stack; k++)
            on_stack = c->eq_stack[k].a == tx && c->eq_stack[k].b == ty;
        if (on_stack)
            continue;
        if (c->eq_depth == COMPAT_MAX_DEPTH)
            return false;
        c->eq_stack[c->eq_depth++] = (pair){tx, ty};
        bool same = equiv(c, tx, ty);
        c->eq_depth--;
        if (!same)
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- types */

enum {
    T_NULL = 1,
    T_BOOL = 2,
    T_INT = 4,
    T_FRAC = 8, /* numbers with a fraction */
    T_STR = 16,
    T_ARR = 32,
    T_OBJ = 64,
    T_NUM = T_INT | T_FRAC,
    T_ALL = 127,
};

static int type_bits_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int bits;
    } t[] = {{"null", T_NULL},  {"boolean", T_BOOL}, {"integer", T_INT}, {"number", T_NUM},
             {"string", T_STR}, {"array", T_ARR},    {"object", T_OBJ}};
    for (size_t i = 0; i < TL_ARRAY_LEN(t); i++)
        if (strlen(t[i].name) == n && memcmp(t[i].name, s, n) == 0)
            return t[i].bits;
    return 0;
}

/* Bits admitted by the "type" keyword of s (T_ALL when absent). */
static int type_bits(const tl_json *s)
{
    const tl_json *t = kw(s, "type");
    if (!t)
        return T_ALL;
    if (t->type == TL_JSON_STRING)
        return type_bits_name(t->u.str, t->len);
    int bits = 0;
    if (t->type == TL_JSON_ARRAY)
        for (uint32_t i = 0; i < t->len; i++)
            if (t->u.items[i].type == TL_JSON_STRING)
                bits |= type_bits_name(t->u.items[i].u.str, t->u.items[i].len);
    return bits;
}

static const char *type_list(const tl_json *s, char *out, size_t cap)
{
    const tl_json *t = kw(s, "type");
    if (!t) {
        snprintf(out, cap, "any");
        return out;
    }
    size_t n = 0;
    out[0] = '\0';
    n += (size_t)snprintf(out + n, cap - n, "[");
    if (t->type == TL_JSON_STRING) {
        n += (size_t)snprintf(out + n, cap - n, "%s", t->u.str);
    } else if (t->type == TL_JSON_ARRAY) {
        for (uint32_t i = 0; i < t->len && n < cap; i++)
            if (t->u.items[i].type == TL_JSON_STRING)
                n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", t->u.items[i].u.str);
    }
    if (n < cap)
        snprintf(out + n, cap - n, "]");
    return out;
}

static int value_bits(const tl_json *v)
{
    switch (v->type) {
    case TL_JSON_NULL:
        return T_NULL;
    case TL_JSON_TRUE:
    case TL_JSON_FALSE:
        return T_BOOL;
    case TL_JSON_NUMBER:
        return (isfinite(v->u.num) && floor(v->u.num) == v->u.num) ? T_INT : T_FRAC;
    case TL_JSON_STRING:
        return T_STR;
    case TL_JSON_ARRAY:
        return T_ARR;
    default:
        return T_OBJ;
    }
}

static bool num_kw(const tl_json *s, const char *name, double *out)
{
    const tl_json *v = kw(s, name);
    if (!v || v->type != TL_JSON_NUMBER)
        return false;
    *out = v->u.num;
    return true;
}

static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            k++;
    return k;
}

/* ---------------------------------------------------------------- values against B */

static bool sub(ctx *c, const tl_json *a, const tl_json *b, const char *path);
static bool value_ok(ctx *c, const tl_json *b, const tl_json *v, const char *path, int depth);

static bool value_rejected(ctx *c, const tl_json *v, const char *path, const char *k)
{
    char shown[128], p[PATH_MAX_LEN];
    path_join(p, sizeof p, path, k);
    report(c, p, "value %s no longer accepted", show(v, shown, sizeof shown));
    return false;
}

static bool value_unproven(ctx *c, const tl_json *v, const char *path, const char *k)
{
    char shown[128], p[PATH_MAX_LEN];
    path_join(p, sizeof p, path, k);
    report(c, p, "cannot prove compatible: value %s not checked against '%s'",
           show(v, shown, sizeof shown), k);
    return false;
}

/* A simple ECMA pattern without escapes, groups with '?', or classes written with '\' means
 * the same as a POSIX extended regex for "does it match somewhere": evaluate those, refuse
 * the rest. Returns 1 match, 0 no match, -1 unknown. */
static int simple_pattern_match(const tl_json *pat, const tl_json *v)
{
    if (pat->type != TL_JSON_STRING || memchr(pat->u.str, '\\', pat->len) ||
        strstr(pat->u.str, "(?") || memchr(v->u.str, '\0', v->len))
        return -1;
    regex_t re;
    if (regcomp(&re, pat->u.str, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    int rc = regexec(&re, v->u.str, 0, NULL, 0);
    regfree(&re);
    return rc == 0 ? 1 : 0;
}

static bool value_object_ok(ctx *c, const tl_json *b, const tl_json *v, const char *path, int depth)
{
    bool ok = true;
    const tl_json *req = kw(b, "required");
    if (req && req->type == TL_JSON_ARRAY)
        for (uint32_t i = 0; i < req->len; i++)
            if (req->u.items[i].type == TL_JSON_STRING &&
                !tl_json_getn(v, req->u.items[i].u.str, req->u.items[i].len))
                ok = value_rejected(c, v, path, "required");
    double d;
    if (num_kw(b, "minProperties", &d) && v->len < d)
        ok = value_rejected(c, v, path, "minProperties");
    if (num_kw(b, "maxProperties", &d) && v->len > d)
        ok = value_rejected(c, v, path, "maxProperties");
    if (kw(b, "patternProperties") || kw(b, "propertyNames") || kw(b, "dependentRequired") ||
        kw(b, "dependentSchemas") || kw(b, "unevaluatedProperties"))
        return value_unproven(c, v, path, "properties");
    const tl_json *props = kw(b, "properties");
    const tl_json *addl = kw(b, "additionalProperties");
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json_member *m = &v->u.members[i];
        const tl_json *ps = props ? tl_json_getn(props, m->key, m->key_len) : NULL;
        char p[PATH_MAX_LEN], pp[PATH_MAX_LEN];
        if (ps) {
            path_join(pp, sizeof pp, path, "properties");
            path_join(p, sizeof p, pp, m->key);
            ok = value_ok(c, ps, &m->value, p, depth + 1) && ok;
        } else if (addl) {
            path_join(p, sizeof p, path, "additionalProperties");
            ok = value_ok(c, addl, &m->value, p, depth + 1) && ok;
        }
    }
    return ok;
}

static bool value_array_ok(ctx *c, const tl_json *b, const tl_json *v, const char *path, int depth)
{
    bool ok = true;
    double d;
    if (num_kw(b, "minItems", &d) && v->len < d)
        ok = value_rejected(c, v, path, "minItems");
    if (num_kw(b, "maxItems", &d) && v->len > d)
        ok = value_rejected(c, v, path, "maxItems");
    const tl_json *u = kw(b, "uniqueItems");
    if (u && u->type == TL_JSON_TRUE)
        for (uint32_t i = 0; i < v->len; i++)
            for (uint32_t j = i + 1; j < v->len; j++)
                if (json_equal(&v->u.items[i], &v->u.items[j]))
                    return value_rejected(c, v, path, "uniqueItems");
    if (kw(b, "contains") || kw(b, "unevaluatedItems"))
        return value_unproven(c, v, path, "contains");
    const tl_json *prefix = kw(b, "prefixItems");
    const tl_json *items = kw(b, "items");
    for (uint32_t i = 0; i < v->len; i++) {
        char p[PATH_MAX_LEN];
        if (prefix && prefix->type == TL_JSON_ARRAY && i < prefix->len) {
            path_join_index(p, sizeof p, path, "prefixItems", i);
            ok = value_ok(c, &prefix->u.items[i], &v->u.items[i], p, depth + 1) && ok;
        } else if (items) {
            path_join(p, sizeof p, path, "items");
            ok = value_ok(c, items, &v->u.items[i], p, depth + 1) && ok;
        }
    }
    return ok;
}

/* Does schema b accept the concrete value v? Reports why not (or what it could not check). */
static bool value_ok(ctx *c, const tl_json *b, const tl_json *v, const char *path, int depth)
{
    if (depth > COMPAT_MAX_DEPTH) {
        report(c, path, "cannot prove compatible: nesting deeper than %d", COMPAT_MAX_DEPTH);
        return false;
    }
    if (!b || b->type == TL_JSON_TRUE)
        return true;
    if (b->type == TL_JSON_FALSE) {
        char shown[128];
        report(c, path, "value %s no longer accepted (schema is false)",
               show(v, shown, sizeof shown));
        return false;
    }
    if (b->type != TL_JSON_OBJECT)
        return value_unproven(c, v, path, "$schema");
    bool ok = true;
    char p[PATH_MAX_LEN];
    const tl_json *ref = kw(b, "$ref");
    if (ref) {
        const tl_json *t = resolve(c->root_b, ref);
        if (!t) {
            path_join(p, sizeof p, path, "$ref");
            report(c, p, "cannot resolve '%s'", ref->type == TL_JSON_STRING ? ref->u.str : "?");
            return false;
        }
        ok = value_ok(c, t, v, path, depth + 1) && ok;
    }
    if (kw(b, "$dynamicRef"))
        return value_unproven(c, v, path, "$dynamicRef");
    if (!(type_bits(b) & value_bits(v)))
        ok = value_rejected(c, v, path, "type");
    const tl_json *en = kw(b, "enum");
    if (en && en->type == TL_JSON_ARRAY) {
        bool found = false;
        for (uint32_t i = 0; i < en->len && !found; i++)
            found = json_equal(&en->u.items[i], v);
        if (!found) {
            char shown[128];
            path_join(p, sizeof p, path, "enum");
            report(c, p, "value %s removed", show(v, shown, sizeof shown));
            ok = false;
        }
    }
    const tl_json *cst = kw(b, "const");
    if (cst && !json_equal(cst, v)) {
        char shown[128];
        path_join(p, sizeof p, path, "const");
        report(c, p, "value %s removed", show(v, shown, sizeof shown));
        ok = false;
    }
    double d;
    if (v->type == TL_JSON_NUMBER) {
        double x = v->u.num;
        if (num_kw(b, "minimum", &d) && x < d)
            ok = value_rejected(c, v, path, "minimum");
        if (num_kw(b, "maximum", &d) && x > d)
            ok = value_rejected(c, v, path, "maximum");
        if (num_kw(b, "exclusiveMinimum", &d) && x <= d)
            ok = value_rejected(c, v, path, "exclusiveMinimum");
        if (num_kw(b, "exclusiveMaximum", &d) && x >= d)
            ok = value_rejected(c, v, path, "exclusiveMaximum");
        if (num_kw(b, "multipleOf", &d) && d > 0) {
            double q = x / d;
            if (fabs(q - nearbyint(q)) > 1e-9)
                ok = value_rejected(c, v, path, "multipleOf");
        }
    } else if (v->type == TL_JSON_STRING) {
        size_t n = utf8_len(v->u.str, v->len);
        if (num_kw(b, "minLength", &d) && n < d)
            ok = value_rejected(c, v, path, "minLength");
        if (num_kw(b, "maxLength", &d) && n > d)
            ok = value_rejected(c, v, path, "maxLength");
        const tl_json *pat = kw(b, "pattern");
        if (pat) {
            int m = simple_pattern_match(pat, v);
            if (m == 0)
                ok = value_rejected(c, v, path, "pattern");
            else if (m < 0)
                ok = value_unproven(c, v, path, "pattern");
        }
    } else if (v->type == TL_JSON_OBJECT) {
        ok = value_object_ok(c, b, v, path, depth) && ok;
    } else if (v->type == TL_JSON_ARRAY) {
        ok = value_array_ok(c, b, v, path, depth) && ok;
    }
    const tl_json *all = kw(b, "allOf");
    if (all && all->type == TL_JSON_ARRAY)
        for (uint32_t i = 0; i < all->len; i++) {
            path_join_index(p, sizeof p, path, "allOf", i);
            ok = value_ok(c, &all->u.items[i], v, p, depth + 1) && ok;
        }
    const char *alts[] = {"anyOf", "oneOf"};
    for (size_t k = 0; k < 2; k++) {
        const tl_json *any = kw(b, alts[k]);
        if (!any || any->type != TL_JSON_ARRAY)
            continue;
        uint32_t hits = 0;
        c->silent++;
        for (uint32_t i = 0; i < any->len; i++)
            hits += value_ok(c, &any->u.items[i], v, path, depth + 1);
        c->silent--;
        if (hits == 0 || (k == 1 && hits != 1))
            ok = value_rejected(c, v, path, alts[k]);
    }
    const tl_json *not = kw(b, "not");
    if (not ) {
        c->silent++;
        bool hit = value_ok(c, not, v, path, depth + 1);
        c->silent--;
        if (hit)
            ok = value_rejected(c, v, path, "not");
    }
    const tl_json *iff = kw(b, "if");
    if (iff) {
        c->silent++;
        bool cond = value_ok(c, iff, v, path, depth + 1);
        c->silent--;
        const char *branch = cond ? "then" : "else";
        const tl_json *bs = kw(b, branch);
        if (bs) {
            path_join(p, sizeof p, path, branch);
            ok = value_ok(c, bs, v, p, depth + 1) && ok;
        }
    }
    return ok;
}

/* ---------------------------------------------------------------- bounds */

/* B's lower (or upper) bound keyword `bk` against A's bounds. Lower bounds: minimum (x >= m)
 * and exclusiveMinimum (x > m); upper bounds mirror them. */
static bool bound_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path, bool lower,
                     bool exclusive)
{
    const char *incl_kw = lower ? "minimum" : "maximum";
    const char *excl_kw = lower ? "exclusiveMinimum" : "exclusiveMaximum";
    const char *bk = exclusive ? excl_kw : incl_kw;
    double y;
    if (!num_kw(b, bk, &y))
        return true;
    double ai, ae;
    bool has_i = num_kw(a, incl_kw, &ai), has_e = num_kw(a, excl_kw, &ae);
    /* does A's inclusive bound ai / exclusive bound ae imply B's bound y? */
    bool implied = false;
    if (lower) {
        if (has_i && (exclusive ? ai > y : ai >= y))
            implied = true;
        if (has_e && ae >= y)
            implied = true;
    } else {
        if (has_i && (exclusive ? ai < y : ai <= y))
            implied = true;
        if (has_e && ae <= y)
            implied = true;
    }
    if (implied)
        return true;
    char p[PATH_MAX_LEN], was[64], now[64];
    path_join(p, sizeof p, path, bk);
    show(kw(b, bk), now, sizeof now);
    const tl_json *same = kw(a, bk);
    const tl_json *other = kw(a, exclusive ? incl_kw : excl_kw);
    if (same)
        report(c, p, "%s from %s to %s", lower ? "raised" : "lowered", show(same, was, sizeof was),
               now);
    else if (other)
        report(c, p, "%s from %s %s to %s", lower ? "raised" : "lowered",
               exclusive ? incl_kw : excl_kw, show(other, was, sizeof was), now);
    else
        report(c, p, "added (%s)", now);
    return false;
}

/* Integer-valued "at least" keyword (minLength, minItems, minProperties): B's must not be
 * above A's; "at most" keywords (max*) must not be below. */
static bool count_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path, const char *name,
                     bool is_min)
{
    double y, x;
    if (!num_kw(b, name, &y))
        return true;
    bool has = num_kw(a, name, &x);
    if (has && (is_min ? x >= y : x <= y))
        return true;
    if (!has && is_min && y <= 0)
        return true;
    char p[PATH_MAX_LEN], was[64], now[64];
    path_join(p, sizeof p, path, name);
    show(kw(b, name), now, sizeof now);
    if (has)
        report(c, p, "%s from %s to %s", is_min ? "raised" : "lowered",
               show(kw(a, name), was, sizeof was), now);
    else
        report(c, p, "added (%s)", now);
    return false;
}

/* ---------------------------------------------------------------- families */

static bool numbers_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path, int at)
{
    bool ok = true;
    ok = bound_ok(c, a, b, path, true, false) && ok;
    ok = bound_ok(c, a, b, path, true, true) && ok;
    ok = bound_ok(c, a, b, path, false, false) && ok;
    ok = bound_ok(c, a, b, path, false, true) && ok;
    double mb, ma;
    if (num_kw(b, "multipleOf", &mb) && mb > 0) {
        char p[PATH_MAX_LEN], was[64], now[64];
        path_join(p, sizeof p, path, "multipleOf");
        show(kw(b, "multipleOf"), now, sizeof now);
        if (num_kw(a, "multipleOf", &ma)) {
            double q = ma / mb;
            if (fabs(q - nearbyint(q)) > 1e-9 || q < 0.5) {
                report(c, p, "changed from %s to %s (%s is not a multiple of %s)",
                       show(kw(a, "multipleOf"), was, sizeof was), now, was, now);
                ok = false;
            }
        } else if (!(mb == 1 && !(at & T_FRAC))) {
            report(c, p, "added (%s)", now);
            ok = false;
        }
    }
    return ok;
}

static bool same_string_kw(ctx *c, const tl_json *a, const tl_json *b, const char *path,
                           const char *name)
{
    const tl_json *y = kw(b, name);
    if (!y)
        return true;
    const tl_json *x = kw(a, name);
    if (x && json_equal(x, y))
        return true;
    char p[PATH_MAX_LEN], was[128], now[128];
    path_join(p, sizeof p, path, name);
    if (x)
        report(c, p, "changed from %s to %s", show(x, was, sizeof was), show(y, now, sizeof now));
    else
        report(c, p, "added (%s)", show(y, now, sizeof now));
    return false;
}

static bool strings_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    bool ok = true;
    ok = count_ok(c, a, b, path, "minLength", true) && ok;
    ok = count_ok(c, a, b, path, "maxLength", false) && ok;
    ok = same_string_kw(c, a, b, path, "pattern") && ok;
    return ok;
}

static const tl_json *item_schema(const tl_json *s, uint32_t i)
{
    const tl_json *prefix = kw(s, "prefixItems");
    if (prefix && prefix->type == TL_JSON_ARRAY && i < prefix->len)
        return &prefix->u.items[i];
    return kw(s, "items");
}

static bool arrays_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    bool ok = true;
    ok = count_ok(c, a, b, path, "minItems", true) && ok;
    ok = count_ok(c, a, b, path, "maxItems", false) && ok;
    const tl_json *ub = kw(b, "uniqueItems");
    if (ub && ub->type == TL_JSON_TRUE) {
        const tl_json *ua = kw(a, "uniqueItems");
        double mx;
        if (!(ua && ua->type == TL_JSON_TRUE) && !(num_kw(a, "maxItems", &mx) && mx <= 1)) {
            char p[PATH_MAX_LEN];
            path_join(p, sizeof p, path, "uniqueItems");
            report(c, p, "added");
            ok = false;
        }
    }
    const tl_json *pa = kw(a, "prefixItems"), *pb = kw(b, "prefixItems");
    uint32_t na = pa && pa->type == TL_JSON_ARRAY ? pa->len : 0;
    uint32_t nb = pb && pb->type == TL_JSON_ARRAY ? pb->len : 0;
    for (uint32_t i = 0; i < TL_MAX(na, nb); i++) {
        char p[PATH_MAX_LEN];
        path_join_index(p, sizeof p, path, "prefixItems", i);
        const tl_json *ia = item_schema(a, i), *ib = item_schema(b, i);
        ok = sub(c, ia, ib, p) && ok;
    }
    const tl_json *ib = kw(b, "items");
    if (ib) {
        char p[PATH_MAX_LEN];
        path_join(p, sizeof p, path, "items");
        ok = sub(c, kw(a, "items"), ib, p) && ok;
    }
    return ok;
}

static bool objects_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    bool ok = true;
    char p[PATH_MAX_LEN], pp[PATH_MAX_LEN];
    ok = count_ok(c, a, b, path, "minProperties", true) && ok;
    ok = count_ok(c, a, b, path, "maxProperties", false) && ok;

    const tl_json *rb = kw(b, "required"), *ra = kw(a, "required");
    if (rb && rb->type == TL_JSON_ARRAY)
        for (uint32_t i = 0; i < rb->len; i++) {
            const tl_json *name = &rb->u.items[i];
            bool found = false;
            if (ra && ra->type == TL_JSON_ARRAY)
                for (uint32_t j = 0; j < ra->len && !found; j++)
                    found = json_equal(&ra->u.items[j], name);
            if (!found) {
                path_join(p, sizeof p, path, "required");
                report(c, p, "property '%s' added to required",
                       name->type == TL_JSON_STRING ? name->u.str : "?");
                ok = false;
            }
        }

    const tl_json *propa = kw(a, "properties"), *propb = kw(b, "properties");
    const tl_json *adda = kw(a, "additionalProperties"), *addb = kw(b, "additionalProperties");
    /* closed: A's instances hold no names but its declared properties */
    bool a_closed = is_false(adda) && !kw(a, "patternProperties");
    bool patterns = kw(a, "patternProperties") || kw(b, "patternProperties");
    if (patterns && !equiv(c, kw(a, "patternProperties"), kw(b, "patternProperties")) &&
        (kw(b, "patternProperties") || !is_trivial(addb))) {
        path_join(p, sizeof p, path, "patternProperties");
        report(c, p, "cannot prove compatible (patternProperties changed)");
        ok = false;
    }
    path_join(pp, sizeof pp, path, "properties");
    /* properties A declares */
    if (is_obj(propa))
        for (uint32_t i = 0; i < propa->len; i++) {
            const tl_json_member *m = &propa->u.members[i];
            const tl_json *sb = propb ? tl_json_getn(propb, m->key, m->key_len) : NULL;
            path_join(p, sizeof p, pp, m->key);
            if (sb) {
                ok = sub(c, &m->value, sb, p) && ok;
            } else if (is_false(addb) && !is_false(&m->value)) {
                report(c, path, "property '%s' removed while additionalProperties is false",
                       m->key);
                ok = false;
            } else if (addb) {
                ok = sub(c, &m->value, addb, p) && ok;
            }
        }
    /* properties only B declares: A's instances may carry them under A's additionalProperties */
    if (is_obj(propb))
        for (uint32_t i = 0; i < propb->len; i++) {
            const tl_json_member *m = &propb->u.members[i];
            if (propa && tl_json_getn(propa, m->key, m->key_len))
                continue;
            if (a_closed || is_trivial(&m->value))
                continue;
            path_join(p, sizeof p, pp, m->key);
            if (kw(a, "patternProperties")) {
                report(c, p,
                       "cannot prove compatible (property added where patternProperties "
                       "may already match it)");
                ok = false;
            } else if (!adda || is_trivial(adda)) {
                report(c, p,
                       "property added to an open content model (additionalProperties "
                       "is not false, so existing data may hold any value there)");
                ok = false;
            } else {
                ok = sub(c, adda, &m->value, p) && ok;
            }
        }
    /* names neither declares */
    if (addb && !is_trivial(addb) && !is_false(adda)) {
        path_join(p, sizeof p, path, "additionalProperties");
        if (is_false(addb)) {
            report(c, p, "content model closed (was open)");
            ok = false;
        } else {
            ok = sub(c, adda, addb, p) && ok;
        }
    }
    return ok;
}

/* ---------------------------------------------------------------- the relation */

static bool keyword_same(ctx *c, const tl_json *a, const tl_json *b, const char *path,
                         const char *name)
{
    const tl_json *y = kw(b, name);
    if (!y || equiv(c, kw(a, name), y))
        return true;
    char p[PATH_MAX_LEN];
    path_join(p, sizeof p, path, name);
    report(c, p, "cannot prove compatible (%s %s)", name, kw(a, name) ? "changed" : "added");
    return false;
}

/* Tries sub(a, b) without reporting. */
static bool quietly(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    c->silent++;
    bool ok = sub(c, a, b, path);
    c->silent--;
    return ok;
}

static bool enum_values_ok(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    bool ok = true;
    const tl_json *cst = kw(a, "const");
    if (cst)
        return value_ok(c, b, cst, path, c->depth);
    const tl_json *en = kw(a, "enum");
    for (uint32_t i = 0; i < en->len; i++)
        ok = value_ok(c, b, &en->u.items[i], path, c->depth) && ok;
    return ok;
}

static bool sub_core(ctx *c, const tl_json *a, const tl_json *b, const char *path);

/* A schema that is nothing but a $ref (and annotations). */
static bool is_pure_ref(const tl_json *s)
{
    if (!is_obj(s) || !kw(s, "$ref"))
        return false;
    for (uint32_t i = 0; i < s->len; i++)
        if (strcmp(s->u.members[i].key, "$ref") != 0 && !is_annotation(s->u.members[i].key))
            return false;
    return true;
}

/* The target of $ref `ref`, following chains of pure $refs; NULL (reported) when it does not
 * resolve or the chain loops without ever constraining anything. */
static const tl_json *deref(ctx *c, const tl_json *root, const tl_json *ref, const char *path)
{
    char p[PATH_MAX_LEN];
    const tl_json *seen[COMPAT_MAX_DEPTH];
    int n = 0;
    path_join(p, sizeof p, path, "$ref");
    for (;;) {
        const tl_json *t = resolve(root, ref);
        if (!t) {
            report(c, p, "cannot resolve '%s'", ref->type == TL_JSON_STRING ? ref->u.str : "?");
            return NULL;
        }
        if (!is_pure_ref(t))
            return t;
        for (int i = 0; i < n; i++)
            if (seen[i] == t) {
                report(c, p, "cannot prove compatible ($ref cycle)");
                return NULL;
            }
        if (n == COMPAT_MAX_DEPTH) {
            report(c, p, "cannot prove compatible ($ref chain too long)");
            return NULL;
        }
        seen[n++] = t;
        ref = kw(t, "$ref");
    }
}

/* A copy of schema s (object or true) with "type" set to the type name `t`. */
static const tl_json *with_type(ctx *c, const tl_json *s, const char *t)
{
    uint32_t n = s->type == TL_JSON_OBJECT ? s->len : 0;
    tl_json *o = tl_arena_alloc(c->arena, sizeof *o);
    tl_json_member *m = tl_arena_alloc(c->arena, sizeof *m * (n + 1));
    if (!o || !m)
        return NULL;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(s->u.members[i].key, "type") != 0)
            m[k++] = s->u.members[i];
    m[k] = (tl_json_member){.key = "type", .key_len = 4};
    m[k].value = (tl_json){.type = TL_JSON_STRING, .len = (uint32_t)strlen(t), .u.str = t};
    *o = (tl_json){.type = TL_JSON_OBJECT, .len = k + 1, .u.members = m};
    return o;
}

/* Is branch `skip` the only one of alts whose types meet `bits`? */
static bool others_disjoint(const tl_json *alts, uint32_t skip, int bits)
{
    for (uint32_t j = 0; j < alts->len; j++)
        if (j != skip && (type_bits(&alts->u.items[j]) & bits))
            return false;
    return true;
}

static int some_branch(ctx *c, const tl_json *a, int bits, const tl_json *alts, bool one,
                       const char *path)
{
    for (uint32_t i = 0; i < alts->len; i++)
        if (quietly(c, a, &alts->u.items[i], path) && (!one || others_disjoint(alts, i, bits)))
            return 1;
    return 0;
}

/* A below the union of alts (anyOf) or their exclusive union (oneOf, proven only through
 * disjoint types): first A as a whole, then A split by type, each part in some branch.
 * 1 proven, 0 not, -1 out of memory. */
static int alternatives_ok(ctx *c, const tl_json *a, const tl_json *alts, bool one,
                           const char *path)
{
    int at = type_bits(a);
    if (some_branch(c, a, at, alts, one, path))
        return 1;
    static const struct {
        const char *name;
        int bits;
    } parts[] = {{"null", T_NULL},  {"boolean", T_BOOL}, {"number", T_NUM}, {"integer", T_INT},
                 {"string", T_STR}, {"array", T_ARR},    {"object", T_OBJ}};
    int covered = 0, pieces = 0;
    for (size_t i = 0; i < TL_ARRAY_LEN(parts); i++) {
        /* "number" when A admits fractions (it includes integers), else "integer" */
        if ((at & parts[i].bits) != parts[i].bits && !(parts[i].bits == T_INT && (at & T_INT)))
            continue;
        if (parts[i].bits == T_INT && (at & T_FRAC))
            continue;
        const tl_json *piece = with_type(c, a, parts[i].name);
        if (!piece)
            return -1;
        pieces++;
        if (!some_branch(c, piece, parts[i].bits, alts, one, path))
            return 0;
        covered |= parts[i].bits;
    }
    return pieces > 1 && (covered & at) == at;
}

/* Is every instance of a (NULL = true) accepted by b (NULL = true)? */
static bool sub(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    if (is_trivial(b) || is_false(a))
        return true;
    if (is_false(b)) {
        report(c, path, "schema now rejects everything (false)");
        return false;
    }
    static const tl_json accept_all = {.type = TL_JSON_TRUE};
    if (!a)
        a = &accept_all;
    if ((a->type != TL_JSON_OBJECT && a->type != TL_JSON_TRUE) || b->type != TL_JSON_OBJECT) {
        report(c, path, "cannot prove compatible (schema is not an object or boolean)");
        return false;
    }
    for (int i = 0; i < c->depth; i++)
        if (c->stack[i].a == a && c->stack[i].b == b)
            return true; /* recursion: assume what is being proven */
    if (c->depth >= COMPAT_MAX_DEPTH) {
        report(c, path, "cannot prove compatible: nesting deeper than %d", COMPAT_MAX_DEPTH);
        return false;
    }
    c->stack[c->depth++] = (pair){a, b};
    bool ok = sub_core(c, a, b, path);
    c->depth--;
    return ok;
}

static bool sub_core(ctx *c, const tl_json *a, const tl_json *b, const char *path)
{
    char p[PATH_MAX_LEN];
    const tl_json *rest;
    /* B's conjunctions first: B = $ref-target AND the rest, B = allOf[i] AND the rest */
    const tl_json *ref = kw(b, "$ref");
    if (ref) {
        const tl_json *t = deref(c, c->root_b, ref, path);
        if (!t)
            return false;
        if (!(rest = without(c, b, "$ref")))
            goto nomem;
        bool ok = sub(c, a, t, path);
        return sub(c, a, rest, path) && ok;
    }
    const tl_json *all = kw(b, "allOf");
    if (all && all->type == TL_JSON_ARRAY && !equiv(c, kw(a, "allOf"), all)) {
        bool ok = true;
        for (uint32_t i = 0; i < all->len; i++) {
            path_join_index(p, sizeof p, path, "allOf", i);
            ok = sub(c, a, &all->u.items[i], p) && ok;
        }
        if (!(rest = without(c, b, "allOf")))
            goto nomem;
        return sub(c, a, rest, path) && ok;
    }
    /* A's $ref: A = target AND the rest */
    ref = kw(a, "$ref");
    if (ref) {
        const tl_json *t = deref(c, c->root_a, ref, path);
        if (!t)
            return false;
        if (!(rest = without(c, a, "$ref")))
            goto nomem;
        if (is_trivial(rest))
            return sub(c, t, b, path);
        if (quietly(c, t, b, path))
            return true;
        return sub(c, rest, b, path);
    }
    if (kw(a, "const") || (kw(a, "enum") && kw(a, "enum")->type == TL_JSON_ARRAY))
        return enum_values_ok(c, a, b, path);
    /* A's allOf: one conjunct below B is enough */
    all = kw(a, "allOf");
    if (all && all->type == TL_JSON_ARRAY) {
        if (!(rest = without(c, a, "allOf")))
            goto nomem;
        if (equiv(c, all, kw(b, "allOf"))) {
            const tl_json *brest = without(c, b, "allOf");
            if (!brest)
                goto nomem;
            return sub(c, rest, brest, path);
        }
        for (uint32_t i = 0; i < all->len; i++)
            if (quietly(c, &all->u.items[i], b, path))
                return true;
        if (!is_trivial(rest))
            return sub(c, rest, b, path);
        path_join(p, sizeof p, path, "allOf");
        report(c, p, "cannot prove compatible (no single allOf branch is accepted)");
        return false;
    }
    /* A's anyOf / oneOf: every branch below B, or the same keyword in B */
    static const char *const alts[] = {"anyOf", "oneOf"};
    for (size_t k = 0; k < 2; k++) {
        const tl_json *any = kw(a, alts[k]);
        if (!any || any->type != TL_JSON_ARRAY)
            continue;
        if (!(rest = without(c, a, alts[k])))
            goto nomem;
        if (equiv(c, any, kw(b, alts[k]))) {
            const tl_json *brest = without(c, b, alts[k]);
            if (!brest)
                goto nomem;
            return sub(c, rest, brest, path);
        }
        if (!is_trivial(rest) && quietly(c, rest, b, path))
            return true;
        bool ok = true;
        for (uint32_t i = 0; i < any->len; i++) {
            path_join_index(p, sizeof p, path, alts[k], i);
            ok = sub(c, &any->u.items[i], b, p) && ok;
        }
        return ok;
    }
    /* B's anyOf / oneOf: A (or each of its types) below some branch (the only one that can
     * match, for oneOf) */
    for (size_t k = 0; k < 2; k++) {
        const tl_json *any = kw(b, alts[k]);
        if (!any || any->type != TL_JSON_ARRAY)
            continue;
        if (!(rest = without(c, b, alts[k])))
            goto nomem;
        bool ok = sub(c, a, rest, path);
        int found = alternatives_ok(c, a, any, k == 1, path);
        if (found < 0)
            goto nomem;
        if (!found) {
            path_join(p, sizeof p, path, alts[k]);
            if (k == 0)
                report(c, p, "cannot prove compatible (no anyOf branch accepts everything)");
            else
                report(c, p,
                       "cannot prove compatible (no oneOf branch is provably the only one "
                       "to accept everything)");
        }
        return found && ok;
    }
    bool ok = true;
    static const char *const opaque[] = {
        "not",
        "if",
        "then",
        "else",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(opaque); i++)
        ok = keyword_same(c, a, b, path, opaque[i]) && ok;

    /* B has enum/const but A does not list values */
    if (kw(b, "enum") || kw(b, "const")) {
        const char *k = kw(b, "enum") ? "enum" : "const";
        path_join(p, sizeof p, path, k);
        report(c, p, "added");
        return false;
    }

    int at = type_bits(a), bt = type_bits(b);
    if (at & ~bt) {
        char was[128], now[128];
        report(c, path, "type narrowed from %s to %s", type_list(a, was, sizeof was),
               type_list(b, now, sizeof now));
        ok = false;
    }
    if (at & T_NUM)
        ok = numbers_ok(c, a, b, path, at) && ok;
    if (at & T_STR)
        ok = strings_ok(c, a, b, path) && ok;
    if (at & T_ARR)
        ok = arrays_ok(c, a, b, path) && ok;
    if (at & T_OBJ)
        ok = objects_ok(c, a, b, path) && ok;
    return ok;
nomem:
    report(c, path, "cannot prove compatible: out of memory");
    return false;
}

bool tl_compat_check(const tl_json *older, const tl_json *newer, tl_compat_result *res)
{
    ctx c = {.root_a = older, .root_b = newer, .res = res};
    c.arena = tl_arena_new(4096);
    if (!c.arena) {
        report(&c, "#", "cannot prove compatible: out of memory");
        return false;
    }
    bool ok = sub(&c, older, newer, "#");
    tl_arena_free(c.arena);
    return ok;
}

int tl_compat_check_text(const char *older, size_t olen, const char *newer, size_t nlen,
                         tl_compat_result *res)
{
    tl_arena *a = tl_arena_new(4 * (olen + nlen) + 1024);
    if (!a)
        return TL_ENOMEM;
    tl_json *x, *y;
    tl_json_error e;
    int rc = tl_json_parse(a, older, olen, NULL, &x, &e);
    if (rc == 0)
        rc = tl_json_parse(a, newer, nlen, NULL, &y, &e);
    if (rc != 0) {
        if (res && res->n < TL_COMPAT_MAX_MESSAGES)
            snprintf(res->msg[res->n++], sizeof res->msg[0], "#: not JSON: %s", e.msg);
        tl_arena_free(a);
        return rc;
    }
    rc = tl_compat_check(x, y, res) ? 1 : 0;
    tl_arena_free(a);
    return rc;
}

/* ---------------------------------------------------------------- modes */

static const char *const mode_names[] = {
    [TL_COMPAT_BACKWARD] = "BACKWARD", [TL_COMPAT_BACKWARD_TRANSITIVE] = "BACKWARD_TRANSITIVE",
    [TL_COMPAT_FORWARD] = "FORWARD",   [TL_COMPAT_FORWARD_TRANSITIVE] = "FORWARD_TRANSITIVE",
    [TL_COMPAT_FULL] = "FULL",         [TL_COMPAT_FULL_TRANSITIVE] = "FULL_TRANSITIVE",
    [TL_COMPAT_NONE] = "NONE",
};

const char *tl_compat_mode_name(tl_compat_mode m)
{
    if ((unsigned)m >= TL_ARRAY_LEN(mode_names))
        return "UNKNOWN";
    return mode_names[m];
}

int tl_compat_mode_parse(const char *s, size_t n, tl_compat_mode *out)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(mode_names); i++)
        if (strlen(mode_names[i]) == n && strncasecmp(mode_names[i], s, n) == 0) {
            *out = (tl_compat_mode)i;
            return 0;
        }
    return TL_EINVAL;
}
