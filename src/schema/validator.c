/*
 * validator.c — compiles a JSON Schema (draft 2020-12) document into the node
 * graph of validator_int.h; validator_eval.c walks that graph per instance.
 *
 * Why compile: the collector validates every event's `properties` against the
 * schema of its subject, so the per-event cost must be a walk over prepared
 * data, never a walk over the schema's JSON. Compilation does, once per schema
 * version:
 *
 *   - identifiers: a keyword-aware walk over the document gives each subschema
 *     its base URI ($id resolved against the nearest enclosing $id, RFC 3986
 *     section 5.2 with dot-segment removal), registers every schema resource
 *     ($id), every $anchor and $dynamicAnchor, and the JSON pointer of each
 *     subschema (used as the schema path in errors). Keywords are only looked
 *     for where a schema is expected: `{"properties": {"$id": ...}}` names a
 *     property, an `enum` value is data.
 *   - references: $ref becomes a pointer to the target node. Targets are found
 *     by absolute URI: a resource, a resource + JSON pointer fragment
 *     (percent-decoded, then ~1 and ~0), or a resource + plain-name anchor.
 *     Nodes are memoized by the JSON value they come from, so a recursive
 *     schema compiles into a cycle and every location compiles once. A
 *     $dynamicRef whose initial target carries a $dynamicAnchor of the same
 *     name is marked dynamic: the evaluator resolves it through the dynamic
 *     scope (the resources entered so far, outermost first). Remote documents
 *     are never fetched: a reference to an absolute URI outside the document is
 *     a compile error ("cannot load remote schema"), except the draft 2020-12
 *     meta-schema itself, which compiles to "the instance is a schema this
 *     compiler accepts" (the same rules the meta-schema states).
 *   - keywords: each is checked (so a malformed schema fails here with a
 *     message naming the keyword and its location, never at validation time)
 *     and stored in its evaluation form: type as a bit set, property names in a
 *     hash table that also carries required / dependentRequired /
 *     dependentSchemas per key, patterns compiled by PCRE2 (UTF, ECMAScript
 *     style \u escapes, `$` only at the end) and JIT-compiled, enum/const values
 *     kept as tl_json trees inside the schema's arena, with their compact text
 *     prepared for error messages.
 *
 * Memory: one arena per tl_schema holds a copy of the source text, its parse
 * tree, all nodes and strings; the PCRE2 codes are listed and freed with it.
 * Compilation uses the heap for temporary tables only. Cost is linear in the
 * document size plus (references x identifiers) for URI lookups, which are
 * linear scans: schemas hold tens of identifiers, not thousands.
 */
#include "schema/validator_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define META_URI     "https://json-schema.org/draft/2020-12/schema"
#define DEFAULT_BASE "tally:/schema.json"

typedef struct sc_loc sc_loc;
struct sc_loc {
    const tl_json *json;
    const char *base; /* absolute URI without fragment */
    const char *path; /* JSON pointer from the document root */
    sc_resource *res;
    const tl_json *res_root;
    sc_node *node;
};

typedef struct {
    const char *uri; /* resource URI, or resource URI "#" anchor name */
    const tl_json *json;
    sc_resource *res;
    bool dynamic;
} sc_ident;

typedef struct {
    tl_schema *s;
    tl_arena *a;
    sc_loc **map; /* open addressing by json pointer value */
    uint32_t map_mask, map_n;
    sc_ident *ids;
    uint32_t n_ids, cap_ids;
    char *err;
    size_t errlen;
    int rc;
} cc;

static void cc_err(cc *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cc_err(cc *c, const char *path, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (c->rc)
        return;
    c->rc = TL_EINVAL;
    if (!c->err || c->errlen == 0)
        return;
    n = (size_t)snprintf(c->err, c->errlen, "schema at %s: ", path && *path ? path : "/");
    if (n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - n, fmt, ap);
        va_end(ap);
    }
}

static void cc_nomem(cc *c)
{
    if (c->rc)
        return;
    c->rc = TL_ENOMEM;
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "out of memory compiling the schema");
}

static void *cc_alloc(cc *c, size_t n)
{
    void *p = tl_arena_alloc(c->a, n ? n : 1);
    if (!p)
        cc_nomem(c);
    else
        memset(p, 0, n ? n : 1);
    return p;
}

static char *cc_strndup(cc *c, const char *s, size_t n)
{
    char *p = tl_arena_strndup(c->a, s, n);
    if (!p)
        cc_nomem(c);
    return p;
}

static char *cc_buf_dup(cc *c, tl_buf *b)
{
    return cc_strndup(c, b->len ? b->ptr : "", b->len);
}

/* ---- JSON pointer paths ---- */

static const char *path_join(cc *c, const char *parent, const char *key, size_t n)
{
    tl_buf b;
    const char *out;
    size_t i;

    tl_buf_init(&b);
    tl_buf_puts(&b, parent);
    tl_buf_putc(&b, '/');
    for (i = 0; i < n; i++) {
        if (key[i] == '~')
            tl_buf_puts(&b, "~0");
        else if (key[i] == '/')
            tl_buf_puts(&b, "~1");
        else
            tl_buf_putc(&b, key[i]);
    }
    out = b.cap ? cc_buf_dup(c, &b) : NULL;
    if (!b.cap)
        cc_nomem(c);
    tl_buf_deinit(&b);
    return out ? out : "";
}

static const char *path_index(cc *c, const char *parent, const char *key, uint32_t i)
{
    char tmp[16];
    int n = snprintf(tmp, sizeof tmp, "%u", i);
    const char *p = path_join(c, parent, key, strlen(key));
    return path_join(c, p, tmp, (size_t)n);
}

/* ---- URIs (RFC 3986) ---- */

typedef struct {
    const char *scheme, *auth, *path, *query, *frag;
    size_t scheme_n, auth_n, path_n, query_n, frag_n;
    bool has_scheme, has_auth, has_query, has_frag;
} uri_parts;

static void uri_split(const char *s, uri_parts *u)
{
    size_t i = 0, n = strlen(s);

    memset(u, 0, sizeof *u);
    u->scheme = u->auth = u->path = u->query = u->frag = s + n;
    if (n && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        size_t j = 1;
        while (j < n &&
               (s[j] == '+' || s[j] == '-' || s[j] == '.' || (s[j] >= 'a' && s[j] <= 'z') ||
                (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9')))
            j++;
        if (j < n && s[j] == ':') {
            u->has_scheme = true;
            u->scheme = s;
            u->scheme_n = j;
            i = j + 1;
        }
    }
    if (i + 1 < n + 1 && s[i] == '/' && s[i + 1] == '/') {
        size_t j = i + 2;
        while (j < n && s[j] != '/' && s[j] != '?' && s[j] != '#')
            j++;
        u->has_auth = true;
        u->auth = s + i + 2;
        u->auth_n = j - i - 2;
        i = j;
    }
    u->path = s + i;
    while (i < n && s[i] != '?' && s[i] != '#')
        i++;
    u->path_n = (size_t)(s + i - u->path);
    if (i < n && s[i] == '?') {
        size_t j = ++i;
        while (i < n && s[i] != '#')
            i++;
        u->has_query = true;
        u->query = s + j;
        u->query_n = i - j;
    }
    if (i < n && s[i] == '#') {
        u->has_frag = true;
        u->frag = s + i + 1;
        u->frag_n = n - i - 1;
    }
}

/* RFC 3986 5.2.4 remove_dot_segments, appending the result to out. */
static void remove_dots(const char *in, size_t n, tl_buf *out)
{
    size_t start = out->len;

    while (n > 0) {
        if (n >= 3 && memcmp(in, "../", 3) == 0) {
            in += 3, n -= 3;
        } else if (n >= 2 && memcmp(in, "./", 2) == 0) {
            in += 2, n -= 2;
        } else if (n >= 3 && memcmp(in, "/./", 3) == 0) {
            in += 2, n -= 2;
        } else if (n == 2 && memcmp(in, "/.", 2) == 0) {
            tl_buf_putc(out, '/'); /* a final "/." becomes "/" */
            return;
        } else if ((n >= 4 && memcmp(in, "/../", 4) == 0) ||
                   (n == 3 && memcmp(in, "/..", 3) == 0)) {
            size_t k = out->len;
            while (k > start && out->ptr[k - 1] != '/')
                k--;
            if (k > start)
                k--;
            out->len = k;
            if (n == 3) {
                tl_buf_putc(out, '/');
                return;
            }
            in += 3, n -= 3;
        } else if ((n == 1 && in[0] == '.') || (n == 2 && memcmp(in, "..", 2) == 0)) {
            return;
        } else {
            size_t j = in[0] == '/' ? 1 : 0;
            while (j < n && in[j] != '/')
                j++;
            tl_buf_append(out, in, j);
            in += j, n -= j;
        }
    }
}

/* Resolves ref against an absolute base; returns the target URI (fragment kept when present). */
static const char *uri_resolve(cc *c, const char *base, const char *ref)
{
    uri_parts b, r;
    tl_buf o;
    const char *out;

    uri_split(base, &b);
    uri_split(ref, &r);
    tl_buf_init(&o);
    if (r.has_scheme) {
        tl_buf_append(&o, r.scheme, r.scheme_n);
        tl_buf_putc(&o, ':');
        if (r.has_auth) {
            tl_buf_puts(&o, "//");
            tl_buf_append(&o, r.auth, r.auth_n);
        }
        remove_dots(r.path, r.path_n, &o);
        if (r.has_query) {
            tl_buf_putc(&o, '?');
            tl_buf_append(&o, r.query, r.query_n);
        }
    } else {
        if (b.has_scheme) {
            tl_buf_append(&o, b.scheme, b.scheme_n);
            tl_buf_putc(&o, ':');
        }
        if (r.has_auth) {
            tl_buf_puts(&o, "//");
            tl_buf_append(&o, r.auth, r.auth_n);
            remove_dots(r.path, r.path_n, &o);
            if (r.has_query) {
                tl_buf_putc(&o, '?');
                tl_buf_append(&o, r.query, r.query_n);
            }
        } else {
            if (b.has_auth) {
                tl_buf_puts(&o, "//");
                tl_buf_append(&o, b.auth, b.auth_n);
            }
            if (r.path_n == 0) {
                tl_buf_append(&o, b.path, b.path_n);
                if (r.has_query || b.has_query) {
                    tl_buf_putc(&o, '?');
                    if (r.has_query)
                        tl_buf_append(&o, r.query, r.query_n);
                    else
                        tl_buf_append(&o, b.query, b.query_n);
                }
            } else {
                if (r.path[0] == '/') {
                    remove_dots(r.path, r.path_n, &o);
                } else {
                    tl_buf m;
                    tl_buf_init(&m);
                    if (b.has_auth && b.path_n == 0) {
                        tl_buf_putc(&m, '/');
                    } else {
                        size_t k = b.path_n;
                        while (k > 0 && b.path[k - 1] != '/')
                            k--;
                        tl_buf_append(&m, b.path, k);
                    }
                    tl_buf_append(&m, r.path, r.path_n);
                    if (m.cap)
                        remove_dots(m.ptr, m.len, &o);
                    tl_buf_deinit(&m);
                }
                if (r.has_query) {
                    tl_buf_putc(&o, '?');
                    tl_buf_append(&o, r.query, r.query_n);
                }
            }
        }
    }
    if (r.has_frag && r.frag_n > 0) {
        tl_buf_putc(&o, '#');
        tl_buf_append(&o, r.frag, r.frag_n);
    }
    if (!o.cap)
        tl_buf_putc(&o, '\0'), o.len = 0;
    out = o.cap ? cc_buf_dup(c, &o) : NULL;
    if (!o.cap)
        cc_nomem(c);
    tl_buf_deinit(&o);
    return out ? out : "";
}

static bool is_meta_uri(const char *abs)
{
    return strcmp(abs, META_URI) == 0 ||
           strcmp(abs, "http://json-schema.org/draft/2020-12/schema") == 0;
}

/* ---- the json -> location map ---- */

static uint32_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static sc_loc *map_get(cc *c, const tl_json *j)
{
    uint32_t i;

    if (!c->map)
        return NULL;
    for (i = ptr_hash(j) & c->map_mask; c->map[i]; i = (i + 1) & c->map_mask)
        if (c->map[i]->json == j)
            return c->map[i];
    return NULL;
}

static int map_put(cc *c, sc_loc *l)
{
    uint32_t i;

    if (!c->map || (c->map_n + 1) * 2 > c->map_mask + 1) {
        uint32_t cap = c->map ? (c->map_mask + 1) * 2 : 64, k;
        sc_loc **m = tl_calloc(cap, sizeof *m);
        if (!m) {
            cc_nomem(c);
            return TL_ENOMEM;
        }
        for (k = 0; c->map && k <= c->map_mask; k++) {
            if (c->map[k]) {
                for (i = ptr_hash(c->map[k]->json) & (cap - 1); m[i]; i = (i + 1) & (cap - 1))
                    ;
                m[i] = c->map[k];
            }
        }
        tl_free(c->map);
        c->map = m;
        c->map_mask = cap - 1;
    }
    for (i = ptr_hash(l->json) & c->map_mask; c->map[i]; i = (i + 1) & c->map_mask)
        ;
    c->map[i] = l;
    c->map_n++;
    return 0;
}

static int add_ident(cc *c, const char *uri, const tl_json *j, sc_resource *res, bool dynamic,
                     const char *path)
{
    uint32_t i;

    for (i = 0; i < c->n_ids; i++) {
        if (strcmp(c->ids[i].uri, uri) == 0) {
            if (c->ids[i].json == j)
                return 0;
            cc_err(c, path, "duplicate identifier \"%s\"", uri);
            return TL_EINVAL;
        }
    }
    if (c->n_ids == c->cap_ids) {
        uint32_t cap = c->cap_ids ? c->cap_ids * 2 : 16;
        sc_ident *n = tl_realloc(c->ids, cap * sizeof *n);
        if (!n) {
            cc_nomem(c);
            return TL_ENOMEM;
        }
        c->ids = n;
        c->cap_ids = cap;
    }
    c->ids[c->n_ids++] = (sc_ident){uri, j, res, dynamic};
    return 0;
}

static const sc_ident *find_ident(cc *c, const char *uri)
{
    uint32_t i;
    for (i = 0; i < c->n_ids; i++)
        if (strcmp(c->ids[i].uri, uri) == 0)
            return &c->ids[i];
    return NULL;
}

/* ---- the identifier walk ---- */

static const char *const single_kw[] = {
    "additionalProperties",
    "propertyNames",
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
};
static const char *const array_kw[] = {"allOf", "anyOf", "oneOf", "prefixItems"};
static const char *const object_kw[] = {"properties", "patternProperties", "$defs",
                                        "dependentSchemas"};

static bool in_list(const char *k, const char *const *list, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(k, list[i]) == 0)
            return true;
    return false;
}

static bool anchor_name_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (i = 1; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static sc_resource *new_resource(cc *c, const char *uri)
{
    sc_resource *r = cc_alloc(c, sizeof *r);
    if (r)
        r->uri = uri;
    return r;
}

static int walk(cc *c, const tl_json *j, const char *base, const char *path, sc_resource *res,
                const tl_json *res_root, bool is_root)
{
    sc_loc *l;
    uint32_t i, k;

    if (c->rc)
        return c->rc;
    if (map_get(c, j))
        return 0;
    if (j->type == TL_JSON_OBJECT) {
        const tl_json *id = tl_json_get(j, "$id");
        const tl_json *sch = tl_json_get(j, "$schema");
        if (sch) {
            if (sch->type != TL_JSON_STRING) {
                cc_err(c, path, "\"$schema\" must be a string");
                return c->rc;
            }
            if (strcmp(sch->u.str, META_URI) != 0 && strcmp(sch->u.str, META_URI "#") != 0) {
                cc_err(c, path,
                       "unsupported \"$schema\" \"%s\": only draft 2020-12 (" META_URI
                       ") is supported",
                       sch->u.str);
                return c->rc;
            }
        }
        if (id) {
            const char *abs;
            uri_parts u;
            if (id->type != TL_JSON_STRING) {
                cc_err(c, path, "\"$id\" must be a string");
                return c->rc;
            }
            abs = uri_resolve(c, base, id->u.str);
            uri_split(abs, &u);
            if (u.has_frag) {
                cc_err(c, path, "\"$id\" \"%s\" must not have a fragment", id->u.str);
                return c->rc;
            }
            {
                /* "x#" has an empty fragment: drop it */
                size_t n = strlen(abs);
                if (n && abs[n - 1] == '#')
                    abs = cc_strndup(c, abs, n - 1);
            }
            base = abs;
            if (!is_root || strcmp(res->uri, abs) != 0) {
                res = new_resource(c, abs);
                if (!res)
                    return c->rc;
                res_root = j;
            }
            if (add_ident(c, abs, j, res, false, path))
                return c->rc;
        }
    }
    l = cc_alloc(c, sizeof *l);
    if (!l)
        return c->rc;
    *l = (sc_loc){j, base, path, res, res_root, NULL};
    if (map_put(c, l))
        return c->rc;
    if (j->type != TL_JSON_OBJECT)
        return 0;
    for (k = 0; k < 2; k++) {
        const char *kw = k ? "$dynamicAnchor" : "$anchor";
        const tl_json *an = tl_json_get(j, kw);
        tl_buf b;
        if (!an)
            continue;
        if (an->type != TL_JSON_STRING || !anchor_name_ok(an->u.str, an->len)) {
            cc_err(c, path, "\"%s\" must be a plain name (letters, digits, -, _ and .)", kw);
            return c->rc;
        }
        tl_buf_init(&b);
        tl_buf_printf(&b, "%s#%s", base, an->u.str);
        if (b.cap) {
            const char *u = cc_buf_dup(c, &b);
            if (u)
                add_ident(c, u, j, res, k == 1, path);
        } else {
            cc_nomem(c);
        }
        tl_buf_deinit(&b);
        if (c->rc)
            return c->rc;
    }
    for (i = 0; i < j->len; i++) {
        const tl_json_member *m = &j->u.members[i];
        const tl_json *v = &m->value;
        if (in_list(m->key, single_kw, TL_ARRAY_LEN(single_kw))) {
            walk(c, v, base, path_join(c, path, m->key, m->key_len), res, res_root, false);
        } else if (in_list(m->key, array_kw, TL_ARRAY_LEN(array_kw)) && v->type == TL_JSON_ARRAY) {
            for (k = 0; k < v->len; k++)
                walk(c, &v->u.items[k], base, path_index(c, path, m->key, k), res, res_root, false);
        } else if (in_list(m->key, object_kw, TL_ARRAY_LEN(object_kw)) &&
                   v->type == TL_JSON_OBJECT) {
            const char *p = path_join(c, path, m->key, m->key_len);
            for (k = 0; k < v->len; k++)
                walk(c, &v->u.members[k].value, base,
                     path_join(c, p, v->u.members[k].key, v->u.members[k].key_len), res, res_root,
                     false);
        }
        if (c->rc)
            return c->rc;
    }
    return 0;
}

/* ---- reference resolution ---- */

/* Walks a percent-encoded JSON pointer fragment from root; NULL when it names nothing. */
static const tl_json *pointer_get(const tl_json *root, const char *frag, size_t n)
{
    char tok[512];
    const tl_json *cur = root;
    size_t i = 0;

    if (n == 0)
        return root;
    if (frag[0] != '/')
        return NULL;
    i = 1;
    for (;;) {
        size_t t = 0;
        while (i < n && frag[i] != '/') {
            char ch = frag[i];
            if (ch == '%' && i + 2 < n && tl_hexval(frag[i + 1]) >= 0 &&
                tl_hexval(frag[i + 2]) >= 0) {
                ch = (char)(tl_hexval(frag[i + 1]) * 16 + tl_hexval(frag[i + 2]));
                i += 2;
            }
            if (t + 1 >= sizeof tok)
                return NULL;
            tok[t++] = ch;
            i++;
        }
        /* ~1 and ~0 after percent-decoding */
        {
            size_t r = 0, w = 0;
            while (r < t) {
                if (tok[r] == '~' && r + 1 < t && (tok[r + 1] == '0' || tok[r + 1] == '1')) {
                    tok[w++] = tok[r + 1] == '0' ? '~' : '/';
                    r += 2;
                } else {
                    tok[w++] = tok[r++];
                }
            }
            t = w;
        }
        if (cur->type == TL_JSON_OBJECT) {
            cur = tl_json_getn(cur, tok, t);
        } else if (cur->type == TL_JSON_ARRAY) {
            size_t idx = 0, q;
            if (t == 0 || (t > 1 && tok[0] == '0'))
                return NULL;
            for (q = 0; q < t; q++) {
                if (tok[q] < '0' || tok[q] > '9' || idx > 100000000)
                    return NULL;
                idx = idx * 10 + (size_t)(tok[q] - '0');
            }
            cur = idx < cur->len ? &cur->u.items[idx] : NULL;
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
        if (i >= n)
            return cur;
        i++; /* the '/' */
    }
}

static sc_node *compile_loc(cc *c, sc_loc *l);

/* Compiles the node for a subschema value that the walk has seen. */
static sc_node *compile_json(cc *c, const tl_json *j, const char *path)
{
    sc_loc *l = map_get(c, j);
    if (!l) {
        cc_err(c, path, "internal error: subschema not indexed");
        return NULL;
    }
    return compile_loc(c, l);
}

/* Resolves a $ref / $dynamicRef value from location l; *meta set for the meta-schema. */
static sc_loc *resolve_ref(cc *c, const sc_loc *l, const char *kw, const char *ref, bool *meta,
                           const char **frag_out)
{
    const char *abs = uri_resolve(c, l->base, ref);
    const char *hash;
    const sc_ident *id;
    const tl_json *target;
    sc_loc *tl;
    char *res_uri;
    size_t fn;

    *meta = false;
    *frag_out = "";
    if (c->rc)
        return NULL;
    hash = strchr(abs, '#');
    res_uri = cc_strndup(c, abs, hash ? (size_t)(hash - abs) : strlen(abs));
    if (!res_uri)
        return NULL;
    fn = hash ? strlen(hash + 1) : 0;
    if (hash && fn > 0 && hash[1] != '/') {
        *frag_out = hash + 1;
        id = find_ident(c, abs);
        if (!id) {
            if (is_meta_uri(res_uri)) {
                *meta = true;
                return NULL;
            }
            if (!find_ident(c, res_uri) && strcmp(res_uri, DEFAULT_BASE) != 0)
                cc_err(c, l->path, "%s \"%s\": cannot load remote schema \"%s\"", kw, ref, res_uri);
            else
                cc_err(c, l->path, "%s \"%s\": no anchor \"%s\" in \"%s\"", kw, ref, hash + 1,
                       res_uri);
            return NULL;
        }
        return map_get(c, id->json);
    }
    id = find_ident(c, res_uri);
    if (!id) {
        if (is_meta_uri(res_uri)) {
            *meta = true;
            return NULL;
        }
        cc_err(c, l->path, "%s \"%s\": cannot load remote schema \"%s\"", kw, ref, res_uri);
        return NULL;
    }
    target = pointer_get(id->json, hash ? hash + 1 : "", fn);
    if (!target) {
        cc_err(c, l->path, "%s \"%s\": the JSON pointer names nothing in the schema", kw, ref);
        return NULL;
    }
    tl = map_get(c, target);
    if (!tl) {
        /* a location the walk did not treat as a schema: index it now */
        sc_loc *root = map_get(c, id->json);
        const char *p = root ? root->path : "";
        tl_buf b;
        tl_buf_init(&b);
        tl_buf_puts(&b, p);
        tl_buf_append(&b, hash + 1, fn);
        p = b.cap ? cc_buf_dup(c, &b) : "";
        tl_buf_deinit(&b);
        if (walk(c, target, id->res->uri, p, id->res, id->json, false))
            return NULL;
        tl = map_get(c, target);
    }
    return tl;
}

/* ---- keywords ---- */

static const char *json_kind(const tl_json *v)
{
    return tl_json_type_name(v->type);
}

static bool get_count(cc *c, const sc_loc *l, const tl_json_member *m, uint32_t *out)
{
    double d;
    if (m->value.type != TL_JSON_NUMBER || !(m->value.u.num >= 0) ||
        floor(m->value.u.num) != m->value.u.num) {
        cc_err(c, l->path, "\"%s\" must be a non-negative integer, found %s", m->key,
               json_kind(&m->value));
        return false;
    }
    d = m->value.u.num;
    *out = d >= 4294967295.0 ? UINT32_MAX : (uint32_t)d;
    return true;
}

static bool get_number(cc *c, const sc_loc *l, const tl_json_member *m, double *out)
{
    if (m->value.type != TL_JSON_NUMBER) {
        cc_err(c, l->path, "\"%s\" must be a number, found %s", m->key, json_kind(&m->value));
        return false;
    }
    *out = m->value.u.num;
    return true;
}

static int add_code(cc *c, pcre2_code *code)
{
    tl_schema *s = c->s;
    if (s->n_codes == s->cap_codes) {
        uint32_t cap = s->cap_codes ? s->cap_codes * 2 : 8;
        pcre2_code **n = tl_realloc(s->codes, cap * sizeof *n);
        if (!n) {
            pcre2_code_free(code);
            cc_nomem(c);
            return TL_ENOMEM;
        }
        s->codes = n;
        s->cap_codes = cap;
    }
    s->codes[s->n_codes++] = code;
    return 0;
}

/* ECMAScript property escapes PCRE2 10.42 spells differently: long General_Category names
 * (\p{Letter}), "General_Category=" / "gc=", "Script=" / "sc=" and "Script_Extensions=" /
 * "scx=" prefixes. Appends the PCRE2 spelling of src to b. */
static void ecma_to_pcre2(const char *src, size_t n, tl_buf *b)
{
    static const char *const gc[][2] = {
        {"Letter", "L"},
        {"Cased_Letter", "LC"},
        {"Uppercase_Letter", "Lu"},
        {"Lowercase_Letter", "Ll"},
        {"Titlecase_Letter", "Lt"},
        {"Modifier_Letter", "Lm"},
        {"Other_Letter", "Lo"},
        {"Mark", "M"},
        {"Combining_Mark", "M"},
        {"Nonspacing_Mark", "Mn"},
        {"Spacing_Mark", "Mc"},
        {"Enclosing_Mark", "Me"},
        {"Number", "N"},
        {"Decimal_Number", "Nd"},
        {"digit", "Nd"},
        {"Letter_Number", "Nl"},
        {"Other_Number", "No"},
        {"Punctuation", "P"},
        {"punct", "P"},
        {"Connector_Punctuation", "Pc"},
        {"Dash_Punctuation", "Pd"},
        {"Open_Punctuation", "Ps"},
        {"Close_Punctuation", "Pe"},
        {"Initial_Punctuation", "Pi"},
        {"Final_Punctuation", "Pf"},
        {"Other_Punctuation", "Po"},
        {"Symbol", "S"},
        {"Math_Symbol", "Sm"},
        {"Currency_Symbol", "Sc"},
        {"Modifier_Symbol", "Sk"},
        {"Other_Symbol", "So"},
        {"Separator", "Z"},
        {"Space_Separator", "Zs"},
        {"Line_Separator", "Zl"},
        {"Paragraph_Separator", "Zp"},
        {"Other", "C"},
        {"Control", "Cc"},
        {"cntrl", "Cc"},
        {"Format", "Cf"},
        {"Surrogate", "Cs"},
        {"Private_Use", "Co"},
        {"Unassigned", "Cn"},
    };
    size_t i = 0, k;

    while (i < n) {
        if (src[i] == '\\' && i + 2 < n && (src[i + 1] == 'p' || src[i + 1] == 'P') &&
            src[i + 2] == '{') {
            const char *name = src + i + 3, *end = memchr(name, '}', n - (i + 3));
            const char *eq;
            size_t nl;
            if (!end)
                break;
            nl = (size_t)(end - name);
            tl_buf_append(b, src + i, 3);
            eq = memchr(name, '=', nl);
            if (eq) {
                size_t pl = (size_t)(eq - name);
                if ((pl == 17 && memcmp(name, "Script_Extensions", pl) == 0) ||
                    (pl == 3 && memcmp(name, "scx", 3) == 0))
                    tl_buf_puts(b, "scx:");
                else if (!((pl == 16 && memcmp(name, "General_Category", pl) == 0) ||
                           (pl == 2 && memcmp(name, "gc", 2) == 0) ||
                           (pl == 6 && memcmp(name, "Script", 6) == 0) ||
                           (pl == 2 && memcmp(name, "sc", 2) == 0)))
                    tl_buf_append(b, name, pl + 1); /* unknown: left for PCRE2 to judge */
                nl -= pl + 1;
                name = eq + 1;
            }
            for (k = 0; k < TL_ARRAY_LEN(gc); k++)
                if (strlen(gc[k][0]) == nl && memcmp(gc[k][0], name, nl) == 0)
                    break;
            if (k < TL_ARRAY_LEN(gc))
                tl_buf_puts(b, gc[k][1]);
            else
                tl_buf_append(b, name, nl);
            tl_buf_putc(b, '}');
            i = (size_t)(end - src) + 1;
            continue;
        }
        if (src[i] == '\\' && i + 1 < n) {
            tl_buf_append(b, src + i, 2);
            i += 2;
            continue;
        }
        tl_buf_putc(b, src[i++]);
    }
    if (i < n)
        tl_buf_append(b, src + i, n - i);
}

static bool compile_regex(cc *c, const sc_loc *l, const char *kw, const char *src, size_t n,
                          sc_regex *out)
{
    int code = 0;
    PCRE2_SIZE off = 0;
    tl_buf b;
    pcre2_code *re;

    tl_buf_init(&b);
    ecma_to_pcre2(src, n, &b);
    re = pcre2_compile((PCRE2_SPTR)(b.ptr ? b.ptr : ""), b.len,
                       PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF,
                       &code, &off, NULL);
    tl_buf_deinit(&b);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        cc_err(c, l->path, "%s \"%.*s\" is not a valid regular expression: %s at offset %zu", kw,
               (int)TL_MIN(n, 80), src, (const char *)msg, (size_t)off);
        return false;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter remains if no JIT */
    if (add_code(c, re))
        return false;
    out->code = re;
    out->src = src;
    return true;
}

/* Growable key list of a node during compilation (heap; moved into the arena at the end). */
typedef struct {
    sc_key *v;
    uint32_t n, cap;
} keylist;

static int key_index(cc *c, keylist *kl, const char *key, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < kl->n; i++)
        if (kl->v[i].len == len && memcmp(kl->v[i].key, key, len) == 0)
            return (int)i;
    if (kl->n == kl->cap) {
        uint32_t cap = kl->cap ? kl->cap * 2 : 8;
        sc_key *n = tl_realloc(kl->v, cap * sizeof *n);
        if (!n) {
            cc_nomem(c);
            return -1;
        }
        kl->v = n;
        kl->cap = cap;
    }
    memset(&kl->v[kl->n], 0, sizeof kl->v[0]);
    kl->v[kl->n].key = key;
    kl->v[kl->n].len = len;
    kl->v[kl->n].hash = tl_hash64(key, len, 0);
    return (int)kl->n++;
}

static bool unique_strings(const tl_json *arr)
{
    uint32_t i, k;
    for (i = 0; i < arr->len; i++) {
        if (arr->u.items[i].type != TL_JSON_STRING)
            return false;
        for (k = 0; k < i; k++)
            if (arr->u.items[k].len == arr->u.items[i].len &&
                memcmp(arr->u.items[k].u.str, arr->u.items[i].u.str, arr->u.items[i].len) == 0)
                return false;
    }
    return true;
}

static const char *json_text(cc *c, const tl_json *v, size_t max)
{
    tl_buf b;
    const char *out;

    tl_buf_init(&b);
    if (tl_json_write_value(&b, v) != 0 || !b.cap) {
        tl_buf_deinit(&b);
        cc_nomem(c);
        return "";
    }
    if (b.len > max) {
        b.len = max - 3;
        tl_buf_puts(&b, "...");
    }
    out = cc_buf_dup(c, &b);
    tl_buf_deinit(&b);
    return out ? out : "";
}

static sc_node **compile_array(cc *c, const sc_loc *l, const tl_json_member *m, uint32_t *n_out)
{
    sc_node **v;
    uint32_t i;
    const char *p;

    if (m->value.type != TL_JSON_ARRAY || m->value.len == 0) {
        cc_err(c, l->path, "\"%s\" must be a non-empty array of schemas", m->key);
        return NULL;
    }
    v = cc_alloc(c, m->value.len * sizeof *v);
    if (!v)
        return NULL;
    p = path_join(c, l->path, m->key, m->key_len);
    for (i = 0; i < m->value.len; i++) {
        char idx[16];
        int n = snprintf(idx, sizeof idx, "%u", i);
        v[i] = compile_json(c, &m->value.u.items[i], path_join(c, p, idx, (size_t)n));
        if (!v[i])
            return NULL;
    }
    *n_out = m->value.len;
    return v;
}

static bool need_object(cc *c, const sc_loc *l, const tl_json_member *m)
{
    if (m->value.type == TL_JSON_OBJECT)
        return true;
    cc_err(c, l->path, "\"%s\" must be an object, found %s", m->key, json_kind(&m->value));
    return false;
}

static int type_bit(const char *s)
{
    static const struct {
        const char *name;
        int bit;
    } t[] = {{"null", SC_T_NULL},     {"boolean", SC_T_BOOLEAN}, {"integer", SC_T_INTEGER},
             {"number", SC_T_NUMBER}, {"string", SC_T_STRING},   {"array", SC_T_ARRAY},
             {"object", SC_T_OBJECT}};
    size_t i;
    for (i = 0; i < TL_ARRAY_LEN(t); i++)
        if (strcmp(s, t[i].name) == 0)
            return t[i].bit;
    return 0;
}

static bool kw_type(cc *c, const sc_loc *l, sc_node *n, const tl_json *v)
{
    uint32_t i;
    int bit;

    if (v->type == TL_JSON_STRING) {
        bit = type_bit(v->u.str);
        if (!bit) {
            cc_err(c, l->path, "\"type\" names an unknown type \"%s\"", v->u.str);
            return false;
        }
        n->types = (uint8_t)bit;
    } else if (v->type == TL_JSON_ARRAY) {
        for (i = 0; i < v->len; i++) {
            const tl_json *t = &v->u.items[i];
            bit = t->type == TL_JSON_STRING ? type_bit(t->u.str) : 0;
            if (!bit || (n->types & bit)) {
                cc_err(c, l->path, "\"type\" must list distinct type names, found %s",
                       t->type == TL_JSON_STRING ? t->u.str : json_kind(t));
                return false;
            }
            n->types |= (uint8_t)bit;
        }
    } else {
        cc_err(c, l->path, "\"type\" must be a string or an array of strings, found %s",
               json_kind(v));
        return false;
    }
    if (n->types & SC_T_NUMBER)
        n->types |= SC_T_INTEGER;
    n->flags |= SC_F_TYPE;
    return true;
}

static bool kw_ref(cc *c, sc_loc *l, sc_node *n, const tl_json_member *m, bool dynamic)
{
    bool meta;
    const char *frag;
    sc_loc *t;

    if (m->value.type != TL_JSON_STRING) {
        cc_err(c, l->path, "\"%s\" must be a string, found %s", m->key, json_kind(&m->value));
        return false;
    }
    t = resolve_ref(c, l, m->key, m->value.u.str, &meta, &frag);
    if (meta) {
        n->flags |= SC_F_META;
        return true;
    }
    if (!t)
        return false;
    n->flags |= SC_F_INPLACE;
    if (!dynamic) {
        n->ref = compile_loc(c, t);
        return n->ref != NULL;
    }
    n->dyn_ref = compile_loc(c, t);
    if (!n->dyn_ref)
        return false;
    if (*frag && t->json->type == TL_JSON_OBJECT) {
        const tl_json *da = tl_json_get(t->json, "$dynamicAnchor");
        if (da && da->type == TL_JSON_STRING && strcmp(da->u.str, frag) == 0) {
            n->dyn_ref_dynamic = 1;
            n->dyn_name = da->u.str;
        }
    }
    return true;
}

static bool kw_keys(cc *c, sc_loc *l, sc_node *n, const tl_json_member *m, keylist *kl)
{
    const tl_json *v = &m->value;
    const char *p;
    uint32_t i, k;

    if (!need_object(c, l, m))
        return false;
    p = path_join(c, l->path, m->key, m->key_len);
    for (i = 0; i < v->len; i++) {
        const tl_json_member *e = &v->u.members[i];
        int idx;
        if (strcmp(m->key, "dependentRequired") == 0) {
            uint32_t *deps;
            if (e->value.type != TL_JSON_ARRAY || !unique_strings(&e->value)) {
                cc_err(c, l->path,
                       "\"dependentRequired\" entry \"%s\" must be an array of "
                       "distinct strings",
                       e->key);
                return false;
            }
            if ((idx = key_index(c, kl, e->key, e->key_len)) < 0)
                return false;
            deps = cc_alloc(c, (e->value.len + 1) * sizeof *deps);
            if (!deps)
                return false;
            for (k = 0; k < e->value.len; k++) {
                int d = key_index(c, kl, e->value.u.items[k].u.str, e->value.u.items[k].len);
                if (d < 0)
                    return false;
                deps[k] = (uint32_t)d;
            }
            kl->v[idx].deps = deps;
            kl->v[idx].n_deps = e->value.len;
            n->has_deps = 1;
        } else {
            sc_node *sub = compile_json(c, &e->value, path_join(c, p, e->key, e->key_len));
            if (!sub || (idx = key_index(c, kl, e->key, e->key_len)) < 0)
                return false;
            if (m->key[0] == 'p') {
                kl->v[idx].schema = sub;
                n->n_props++;
            } else {
                kl->v[idx].dep_schema = sub;
                n->has_deps = 1;
            }
        }
    }
    n->flags |= SC_F_OBJECT;
    return true;
}

static bool kw_required(cc *c, sc_loc *l, sc_node *n, const tl_json *v, keylist *kl)
{
    uint32_t i;

    if (v->type != TL_JSON_ARRAY || !unique_strings(v)) {
        cc_err(c, l->path, "\"required\" must be an array of distinct strings");
        return false;
    }
    for (i = 0; i < v->len; i++) {
        int idx = key_index(c, kl, v->u.items[i].u.str, v->u.items[i].len);
        if (idx < 0)
            return false;
        if (!kl->v[idx].required)
            n->n_required++;
        kl->v[idx].required = 1;
    }
    n->flags |= SC_F_OBJECT;
    return true;
}

static bool kw_pattern_props(cc *c, sc_loc *l, sc_node *n, const tl_json_member *m)
{
    const tl_json *v = &m->value;
    const char *p;
    uint32_t i;

    if (!need_object(c, l, m))
        return false;
    n->pprops = cc_alloc(c, (v->len + 1) * sizeof *n->pprops);
    if (!n->pprops)
        return false;
    p = path_join(c, l->path, m->key, m->key_len);
    for (i = 0; i < v->len; i++) {
        const tl_json_member *e = &v->u.members[i];
        if (!compile_regex(c, l, "patternProperties key", e->key, e->key_len, &n->pprops[i].re))
            return false;
        n->pprops[i].schema = compile_json(c, &e->value, path_join(c, p, e->key, e->key_len));
        if (!n->pprops[i].schema)
            return false;
    }
    n->n_pprops = v->len;
    n->flags |= SC_F_OBJECT;
    return true;
}

static bool kw_string_meta(cc *c, const sc_loc *l, const tl_json_member *m)
{
    if (m->value.type == TL_JSON_STRING)
        return true;
    cc_err(c, l->path, "\"%s\" must be a string, found %s", m->key, json_kind(&m->value));
    return false;
}

static bool kw_bool_meta(cc *c, const sc_loc *l, const tl_json_member *m)
{
    if (m->value.type == TL_JSON_TRUE || m->value.type == TL_JSON_FALSE)
        return true;
    cc_err(c, l->path, "\"%s\" must be a boolean, found %s", m->key, json_kind(&m->value));
    return false;
}

static sc_node *sub(cc *c, const sc_loc *l, const tl_json_member *m)
{
    return compile_json(c, &m->value, path_join(c, l->path, m->key, m->key_len));
}

static bool compile_keyword(cc *c, sc_loc *l, sc_node *n, const tl_json_member *m, keylist *kl)
{
    const char *k = m->key;
    const tl_json *v = &m->value;

    switch (k[0]) {
    case '$':
        if (strcmp(k, "$ref") == 0)
            return kw_ref(c, l, n, m, false);
        if (strcmp(k, "$dynamicRef") == 0)
            return kw_ref(c, l, n, m, true);
        if (strcmp(k, "$defs") == 0) {
            uint32_t i;
            const char *p;
            if (!need_object(c, l, m))
                return false;
            p = path_join(c, l->path, k, m->key_len);
            for (i = 0; i < v->len; i++)
                if (!compile_json(c, &v->u.members[i].value,
                                  path_join(c, p, v->u.members[i].key, v->u.members[i].key_len)))
                    return false;
            return true;
        }
        if (strcmp(k, "$comment") == 0)
            return kw_string_meta(c, l, m);
        if (strcmp(k, "$vocabulary") == 0)
            return need_object(c, l, m);
        return true; /* $id, $schema, $anchor, $dynamicAnchor: checked by the walk */
    case 'a':
        if (strcmp(k, "allOf") == 0)
            return (n->flags |= SC_F_INPLACE, n->all_of = compile_array(c, l, m, &n->n_all_of));
        if (strcmp(k, "anyOf") == 0)
            return (n->flags |= SC_F_INPLACE, n->any_of = compile_array(c, l, m, &n->n_any_of));
        if (strcmp(k, "additionalProperties") == 0)
            return (n->flags |= SC_F_OBJECT, n->additional = sub(c, l, m));
        break;
    case 'c':
        if (strcmp(k, "const") == 0) {
            n->const_val = v;
            n->const_text = json_text(c, v, 100);
            n->flags |= SC_F_CONST;
            return true;
        }
        if (strcmp(k, "contains") == 0)
            return (n->flags |= SC_F_ARRAY, n->contains = sub(c, l, m));
        if (strcmp(k, "contentSchema") == 0)
            return sub(c, l, m) != NULL;
        if (strcmp(k, "contentEncoding") == 0 || strcmp(k, "contentMediaType") == 0)
            return kw_string_meta(c, l, m);
        break;
    case 'd':
        if (strcmp(k, "dependentRequired") == 0 || strcmp(k, "dependentSchemas") == 0)
            return kw_keys(c, l, n, m, kl);
        if (strcmp(k, "description") == 0)
            return kw_string_meta(c, l, m);
        if (strcmp(k, "deprecated") == 0)
            return kw_bool_meta(c, l, m);
        break;
    case 'e':
        if (strcmp(k, "enum") == 0) {
            if (v->type != TL_JSON_ARRAY) {
                cc_err(c, l->path, "\"enum\" must be an array, found %s", json_kind(v));
                return false;
            }
            n->enum_vals = v;
            n->enum_text = json_text(c, v, 100);
            n->flags |= SC_F_ENUM;
            return true;
        }
        if (strcmp(k, "exclusiveMinimum") == 0)
            return (n->flags |= SC_F_XMINIMUM, get_number(c, l, m, &n->xminimum));
        if (strcmp(k, "exclusiveMaximum") == 0)
            return (n->flags |= SC_F_XMAXIMUM, get_number(c, l, m, &n->xmaximum));
        if (strcmp(k, "else") == 0)
            return (n->else_ = sub(c, l, m)) != NULL;
        if (strcmp(k, "examples") == 0) {
            if (v->type == TL_JSON_ARRAY)
                return true;
            cc_err(c, l->path, "\"examples\" must be an array, found %s", json_kind(v));
            return false;
        }
        break;
    case 'f':
        if (strcmp(k, "format") == 0)
            return kw_string_meta(c, l, m);
        break;
    case 'i':
        if (strcmp(k, "items") == 0)
            return (n->flags |= SC_F_ARRAY, n->items = sub(c, l, m));
        if (strcmp(k, "if") == 0)
            return (n->flags |= SC_F_INPLACE, n->if_ = sub(c, l, m));
        break;
    case 'm':
        if (strcmp(k, "minimum") == 0)
            return (n->flags |= SC_F_MINIMUM, get_number(c, l, m, &n->minimum));
        if (strcmp(k, "maximum") == 0)
            return (n->flags |= SC_F_MAXIMUM, get_number(c, l, m, &n->maximum));
        if (strcmp(k, "multipleOf") == 0) {
            if (!get_number(c, l, m, &n->multiple_of))
                return false;
            if (!(n->multiple_of > 0)) {
                cc_err(c, l->path, "\"multipleOf\" must be greater than 0");
                return false;
            }
            n->flags |= SC_F_MULTIPLE;
            return true;
        }
        if (strcmp(k, "minLength") == 0)
            return (n->flags |= SC_F_STRING, get_count(c, l, m, &n->min_length));
        if (strcmp(k, "maxLength") == 0)
            return (n->flags |= SC_F_STRING, get_count(c, l, m, &n->max_length));
        if (strcmp(k, "minItems") == 0)
            return (n->flags |= SC_F_ARRAY, get_count(c, l, m, &n->min_items));
        if (strcmp(k, "maxItems") == 0)
            return (n->flags |= SC_F_ARRAY, get_count(c, l, m, &n->max_items));
        if (strcmp(k, "minProperties") == 0)
            return (n->flags |= SC_F_OBJECT, get_count(c, l, m, &n->min_props));
        if (strcmp(k, "maxProperties") == 0)
            return (n->flags |= SC_F_OBJECT, get_count(c, l, m, &n->max_props));
        if (strcmp(k, "minContains") == 0)
            return get_count(c, l, m, &n->min_contains);
        if (strcmp(k, "maxContains") == 0)
            return get_count(c, l, m, &n->max_contains);
        break;
    case 'n':
        if (strcmp(k, "not") == 0)
            return (n->flags |= SC_F_INPLACE, n->not_ = sub(c, l, m));
        break;
    case 'o':
        if (strcmp(k, "oneOf") == 0)
            return (n->flags |= SC_F_INPLACE, n->one_of = compile_array(c, l, m, &n->n_one_of));
        break;
    case 'p':
        if (strcmp(k, "properties") == 0)
            return kw_keys(c, l, n, m, kl);
        if (strcmp(k, "patternProperties") == 0)
            return kw_pattern_props(c, l, n, m);
        if (strcmp(k, "propertyNames") == 0)
            return (n->flags |= SC_F_OBJECT, n->property_names = sub(c, l, m));
        if (strcmp(k, "prefixItems") == 0)
            return (n->flags |= SC_F_ARRAY, n->prefix = compile_array(c, l, m, &n->n_prefix));
        if (strcmp(k, "pattern") == 0) {
            if (v->type != TL_JSON_STRING) {
                cc_err(c, l->path, "\"pattern\" must be a string, found %s", json_kind(v));
                return false;
            }
            n->pattern = cc_alloc(c, sizeof *n->pattern);
            n->flags |= SC_F_STRING;
            return n->pattern && compile_regex(c, l, "pattern", v->u.str, v->len, n->pattern);
        }
        break;
    case 'r':
        if (strcmp(k, "required") == 0)
            return kw_required(c, l, n, v, kl);
        if (strcmp(k, "readOnly") == 0)
            return kw_bool_meta(c, l, m);
        break;
    case 't':
        if (strcmp(k, "type") == 0)
            return kw_type(c, l, n, v);
        if (strcmp(k, "then") == 0)
            return (n->then_ = sub(c, l, m)) != NULL;
        if (strcmp(k, "title") == 0)
            return kw_string_meta(c, l, m);
        break;
    case 'u':
        if (strcmp(k, "uniqueItems") == 0) {
            if (!kw_bool_meta(c, l, m))
                return false;
            n->unique_items = v->type == TL_JSON_TRUE;
            n->flags |= SC_F_ARRAY;
            return true;
        }
        if (strcmp(k, "unevaluatedProperties") == 0)
            return (n->flags |= SC_F_OBJECT, n->uneval_props = sub(c, l, m));
        if (strcmp(k, "unevaluatedItems") == 0)
            return (n->flags |= SC_F_ARRAY, n->uneval_items = sub(c, l, m));
        break;
    case 'w':
        if (strcmp(k, "writeOnly") == 0)
            return kw_bool_meta(c, l, m);
        break;
    default:
        break;
    }
    return true; /* unknown keywords are ignored */
}

static bool finish_keys(cc *c, sc_node *n, keylist *kl)
{
    uint32_t cap = 4, i;

    if (kl->n == 0)
        return true;
    n->keys = cc_alloc(c, kl->n * sizeof *n->keys);
    if (!n->keys)
        return false;
    memcpy(n->keys, kl->v, kl->n * sizeof *n->keys);
    n->n_keys = kl->n;
    while (cap < kl->n * 2)
        cap *= 2;
    n->kt = cc_alloc(c, cap * sizeof *n->kt);
    if (!n->kt)
        return false;
    n->kt_mask = cap - 1;
    for (i = 0; i < kl->n; i++) {
        uint32_t h = (uint32_t)n->keys[i].hash & n->kt_mask;
        while (n->kt[h])
            h = (h + 1) & n->kt_mask;
        n->kt[h] = i + 1;
    }
    return true;
}

static sc_node *compile_loc(cc *c, sc_loc *l)
{
    const tl_json *j = l->json;
    sc_node *n;
    keylist kl = {0};
    uint32_t i;

    if (l->node)
        return l->node;
    if (c->rc)
        return NULL;
    n = cc_alloc(c, sizeof *n);
    if (!n)
        return NULL;
    l->node = n;
    n->path = l->path;
    n->resource = l->res;
    n->boolean = -1;
    n->max_length = n->max_items = n->max_props = n->max_contains = UINT32_MAX;
    n->min_contains = 1;
    if (j->type == TL_JSON_TRUE || j->type == TL_JSON_FALSE) {
        n->boolean = j->type == TL_JSON_TRUE;
        return n;
    }
    if (j->type != TL_JSON_OBJECT) {
        cc_err(c, l->path, "a schema must be an object or a boolean, found %s", json_kind(j));
        return NULL;
    }
    for (i = 0; i < j->len; i++)
        if (!compile_keyword(c, l, n, &j->u.members[i], &kl))
            goto fail;
    if (!n->contains) {
        n->min_contains = 1;
        n->max_contains = UINT32_MAX;
    }
    if (!finish_keys(c, n, &kl))
        goto fail;
    tl_free(kl.v);
    if (c->rc)
        return NULL;
    return n;
fail:
    tl_free(kl.v);
    if (!c->rc)
        cc_err(c, l->path, "invalid schema");
    return NULL;
}

/* Fills each resource's list of $dynamicAnchor nodes. */
static int link_dynamic(cc *c)
{
    uint32_t i, k;

    for (i = 0; i < c->n_ids; i++) {
        sc_resource *r = c->ids[i].res;
        if (c->ids[i].dynamic && r->dyn == NULL) {
            uint32_t n = 0;
            for (k = 0; k < c->n_ids; k++)
                n += c->ids[k].dynamic && c->ids[k].res == r;
            r->dyn = cc_alloc(c, n * sizeof *r->dyn);
            if (!r->dyn)
                return c->rc;
            for (k = 0; k < c->n_ids; k++) {
                if (c->ids[k].dynamic && c->ids[k].res == r) {
                    const char *hash = strrchr(c->ids[k].uri, '#');
                    sc_loc *l = map_get(c, c->ids[k].json);
                    sc_node *node = l ? compile_loc(c, l) : NULL;
                    if (!node)
                        return c->rc ? c->rc : TL_EINVAL;
                    r->dyn[r->n_dyn].name = hash ? hash + 1 : "";
                    r->dyn[r->n_dyn].node = node;
                    r->n_dyn++;
                }
            }
        }
    }
    return 0;
}

int tl_schema__compile_tree(tl_schema *s, const tl_json *doc, char *err, size_t errlen)
{
    cc c = {0};
    sc_resource *res;
    const char *base = DEFAULT_BASE;
    const tl_json *id;

    c.s = s;
    c.a = s->arena;
    c.err = err;
    c.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    if (doc->type == TL_JSON_OBJECT && (id = tl_json_get(doc, "$id")) != NULL &&
        id->type == TL_JSON_STRING)
        base = uri_resolve(&c, DEFAULT_BASE, id->u.str);
    res = new_resource(&c, base);
    if (!res)
        goto out;
    if (add_ident(&c, DEFAULT_BASE, doc, res, false, ""))
        goto out;
    walk(&c, doc, DEFAULT_BASE, "", res, doc, true);
    if (c.rc)
        goto out;
    s->root_resource = map_get(&c, doc)->res;
    s->root = compile_json(&c, doc, "");
    if (!s->root)
        goto out;
    link_dynamic(&c);
out:
    tl_free(c.map);
    tl_free(c.ids);
    if (c.rc && !(err && errlen && err[0]) && err && errlen)
        snprintf(err, errlen, "invalid schema");
    return c.rc;
}

int tl_schema_compile(const char *text, size_t len, tl_schema **out, char *err, size_t errlen)
{
    tl_schema *s = NULL;
    tl_json *doc = NULL;
    tl_json_error jerr;
    tl_json_limits lim = {.max_depth = 256};
    char *copy;
    int rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    s = tl_calloc(1, sizeof *s);
    if (!s)
        return TL_ENOMEM;
    s->arena = tl_arena_new(TL_MAX(4096, len * 4));
    if (!s->arena) {
        rc = TL_ENOMEM;
        goto fail;
    }
    copy = tl_arena_strndup(s->arena, text, len);
    if (!copy) {
        rc = TL_ENOMEM;
        goto fail;
    }
    rc = tl_json_parse(s->arena, copy, len, &lim, &doc, &jerr);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "schema is not valid JSON: %s", jerr.msg);
        rc = rc == TL_ENOMEM ? TL_ENOMEM : TL_EINVAL;
        goto fail;
    }
    rc = tl_schema__compile_tree(s, doc, err, errlen);
    if (rc)
        goto fail;
    *out = s;
    return 0;
fail:
    tl_schema_free(s);
    return rc;
}

void tl_schema_free(tl_schema *s)
{
    uint32_t i;

    if (!s)
        return;
    for (i = 0; i < s->n_codes; i++)
        pcre2_code_free(s->codes[i]);
    tl_free(s->codes);
    tl_arena_free(s->arena);
    tl_free(s);
}
