/*
 * registry — versioned JSON Schemas under subjects, with Confluent Schema Registry's REST API.
 *
 * Model (as Confluent's): a schema text gets a global id (1, 2, ...) the first time it is
 * registered anywhere; registering it under a subject adds a version (1, 2, ... per subject)
 * pointing at that id. The same text under another subject reuses the id; the same text again
 * under the same subject answers the existing id (idempotent). Texts are compared in canonical
 * form: parsed and re-serialized compactly (insignificant whitespace never makes a new id; key
 * order does). Versions are soft-deleted (hidden, still resolvable by id) and then
 * permanently deleted (?permanent=true, only after a soft delete). Version numbers continue
 * after soft deletes and restart at 1 after a subject is permanently deleted. Ids are never
 * reused. Compatibility levels: one global, optionally one per subject.
 *
 * Storage: the whole state is one JSON document, <dir>/registry.json, replaced with
 * tl_write_file_atomic (temp file, fsync, rename, fsync dir) before any change is answered.
 * One file keeps ids, versions and configs mutually consistent across a crash with no
 * recovery logic; registries hold hundreds of schemas, so rewriting it (a few hundred KB at
 * most) on each rare change costs little. If the write fails the in-memory change is undone
 * and the client gets 50001.
 *
 *   {"format": "tally-schema-registry", "version": 1,
 *    "compatibility": "BACKWARD",              global level
 *    "next_id": 4,                             next global id (ids are never reused)
 *    "schemas": [{"id": 1, "schema": "<canonical schema text>"}, ...],
 *    "subjects": [{"subject": "Order Completed",
 *                  "compatibility": "FULL",    optional per-subject level
 *                  "versions": [{"version": 1, "id": 1, "deleted": false}, ...]}, ...]}
 *
 *   | field          | meaning                                                             |
 *   |----------------|---------------------------------------------------------------------|
 *   | format/version | must be "tally-schema-registry" / 1, else open fails (TL_ECORRUPT)  |
 *   | schemas[]      | every schema referenced by some version (soft-deleted ones included)|
 *   | subjects[]     | subjects with versions or a subject-level compatibility             |
 *
 * Open parses the file, compiles every schema (tl_schema_compile) and refuses a file that
 * does not parse, names an unknown id, or holds a schema that no longer compiles.
 *
 * Memory: schema entries (text, parsed tree, compiled tl_schema) are never freed before
 * close, so pointers from tl_registry_latest stay valid even after deletes. Lookups scan
 * arrays comparing 64-bit hashes first: O(subjects) per tl_registry_latest, which is a few
 * hundred nanoseconds for hundreds of subjects.
 *
 * REST (Confluent Schema Registry's paths; answers are JSON, errors {"error_code","message"}):
 *
 *   POST   /subjects/S/versions            {"schemaType":"JSON","schema":"..."} -> {"id":N}
 *                                          schemaType may be omitted and then means JSON (Confluent
 *                                          defaults to AVRO; only JSON Schema is stored here), AVRO
 *                                          and PROTOBUF are refused with 42201, so are non-empty
 *                                          "references"; 409 {"messages":[...]} when incompatible
 *   GET    /subjects[?deleted=true]         ["S", ...]
 *   GET    /subjects/S/versions[?deleted=true]  [1, 2]
 *   GET    /subjects/S/versions/V|latest[/schema]  version object | the raw schema
 *   POST   /subjects/S[?deleted=true]      the version holding this schema, or 40403 / 40401
 *   DELETE /subjects/S[?permanent=true]    [versions]; permanent only after a soft delete (40405)
 *   DELETE /subjects/S/versions/V[?permanent=true]  V (40406 twice soft, 40407 hard first)
 *   GET    /schemas/ids/N[/schema|/versions|/subjects], GET /schemas/types
 *   GET|PUT /config, GET|PUT|DELETE /config/S (GET /config/S: 40408 when the subject has no
 *                                          level of its own, unless ?defaultToGlobal=true)
 *   POST   /compatibility/subjects/S/versions[/V|latest]  {"is_compatible","messages"}; without V
 *                                          the subject's mode decides which versions count
 *   GET    /mode                           {"mode":"READWRITE"} (for clients that ask)
 *
 * Compatibility messages are compat.c's reasons followed by the direction checked:
 * "(version 2 -> new schema)" for backward checks, "(new schema -> version 2)" for forward.
 * Status codes: 404 for 404xx, 409, 422 for 422xx, 400 for a body that is not JSON, 500 for
 * 50001 (the registry file could not be written; nothing changed).
 *
 * Threads: one rwlock. Reads (GET, lookups, compatibility checks, tl_registry_latest) share
 * it; changes hold it exclusively across the file write.
 */
#include "schema/schema.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_FILE      "registry.json"
#define REG_MAX_PARTS 8
#define REG_MAX_BODY  (8u << 20)

typedef struct {
    int id;
    char *text; /* canonical, NUL-terminated */
    size_t len;
    uint64_t hash;
    tl_json *doc; /* parsed text (in the registry's arena) for compatibility checks */
    tl_schema *compiled;
    int refs;     /* versions pointing here, soft-deleted ones included */
    bool dropped; /* no longer referenced: never matched again, not saved */
} reg_schema;

typedef struct {
    int version;
    reg_schema *schema;
    bool deleted;
} reg_version;

typedef struct {
    char *name;
    size_t len;
    uint64_t hash;
    int compat; /* tl_compat_mode or -1 when the global level applies */
    reg_version *v;
    size_t nv, cap;
} reg_subject;

struct tl_registry {
    pthread_rwlock_t lock;
    char *path; /* <dir>/registry.json */
    int compat;
    int next_id;
    reg_schema **schemas;
    size_t nschemas, capschemas;
    reg_subject **subjects;
    size_t nsubjects, capsubjects;
    tl_arena *arena; /* parsed schema trees */
};

/* ---------------------------------------------------------------- answers */

static int answer_error(tl_buf *out, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int answer_error(tl_buf *out, int status, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tl_buf_printf(out, "{\"error_code\":%d,\"message\":", code);
    tl_json_write_string(out, msg, strlen(msg));
    tl_buf_putc(out, '}');
    return status;
}

#define SUBJECT_NOT_FOUND(out, s) answer_error(out, 404, 40401, "Subject '%s' not found.", (s))
#define INTERNAL(out, rc)                                                                          \
    answer_error(out, 500, 50001, "Error in the backend data store: %s", tl_strerror(rc))

/* ---------------------------------------------------------------- lookups */

static uint64_t hash_of(const char *s, size_t n)
{
    return tl_hash64(s, n, 0x5eed);
}

static reg_subject *find_subject(const tl_registry *r, const char *name, size_t len)
{
    uint64_t h = hash_of(name, len);
    for (size_t i = 0; i < r->nsubjects; i++) {
        reg_subject *s = r->subjects[i];
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return s;
    }
    return NULL;
}

static reg_schema *find_schema_text(const tl_registry *r, const char *text, size_t len)
{
    uint64_t h = hash_of(text, len);
    for (size_t i = 0; i < r->nschemas; i++) {
        reg_schema *s = r->schemas[i];
        if (!s->dropped && s->hash == h && s->len == len && memcmp(s->text, text, len) == 0)
            return s;
    }
    return NULL;
}

static reg_schema *find_schema_id(const tl_registry *r, int id)
{
    for (size_t i = 0; i < r->nschemas; i++)
        if (r->schemas[i]->id == id && !r->schemas[i]->dropped)
            return r->schemas[i];
    return NULL;
}

static reg_version *latest_live(reg_subject *s)
{
    for (size_t i = s ? s->nv : 0; i > 0; i--)
        if (!s->v[i - 1].deleted)
            return &s->v[i - 1];
    return NULL;
}

static size_t live_count(const reg_subject *s)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->nv; i++)
        n += !s->v[i].deleted;
    return n;
}

static reg_version *find_version(reg_subject *s, int version)
{
    for (size_t i = 0; s && i < s->nv; i++)
        if (s->v[i].version == version)
            return &s->v[i];
    return NULL;
}

static int effective_mode(const tl_registry *r, const reg_subject *s)
{
    return s && s->compat >= 0 ? s->compat : r->compat;
}

/* ---------------------------------------------------------------- schemas */

static void schema_free(reg_schema *s)
{
    if (!s)
        return;
    tl_schema_free(s->compiled);
    tl_free(s->text);
    tl_free(s);
}

/* Parses and compiles text into a new entry (not yet added), its tree in `arena` (a request's
 * arena for candidates; schema_keep moves it into the registry's). On a bad schema returns
 * TL_EINVAL with the reason in err. */
static int schema_make(tl_arena *arena, const char *text, size_t len, reg_schema **out, char *err,
                       size_t errlen)
{
    int rc;
    tl_json *doc;
    tl_json_error jerr;
    reg_schema *s = tl_calloc(1, sizeof *s);
    tl_arena *tmp = tl_arena_new(4 * len + 1024);
    tl_buf canon;
    tl_buf_init(&canon);
    if (!s || !tmp) {
        rc = TL_ENOMEM;
        goto fail;
    }
    rc = tl_json_parse(tmp, text, len, NULL, &doc, &jerr);
    if (rc != 0) {
        snprintf(err, errlen, "not JSON: %s", jerr.msg);
        goto fail;
    }
    if (doc->type != TL_JSON_OBJECT && doc->type != TL_JSON_TRUE && doc->type != TL_JSON_FALSE) {
        snprintf(err, errlen, "a schema must be a JSON object or boolean, found %s",
                 tl_json_type_name(doc->type));
        rc = TL_EINVAL;
        goto fail;
    }
    if ((rc = tl_json_write_value(&canon, doc)) != 0)
        goto fail;
    s->len = canon.len;
    s->text = tl_strndup(canon.ptr, canon.len);
    if (!s->text) {
        rc = TL_ENOMEM;
        goto fail;
    }
    s->hash = hash_of(s->text, s->len);
    if ((rc = tl_schema_compile(s->text, s->len, &s->compiled, err, errlen)) != 0)
        goto fail;
    rc = tl_json_parse(arena, s->text, s->len, NULL, &s->doc, &jerr);
    if (rc != 0) {
        snprintf(err, errlen, "%s", jerr.msg);
        goto fail;
    }
    tl_arena_free(tmp);
    tl_buf_deinit(&canon);
    *out = s;
    return 0;
fail:
    tl_arena_free(tmp);
    tl_buf_deinit(&canon);
    schema_free(s);
    return rc;
}

/* Adds s to the registry, its parsed tree re-made in the registry's arena. */
static int schema_add(tl_registry *r, reg_schema *s)
{
    tl_json_error jerr;
    if (tl_json_parse(r->arena, s->text, s->len, NULL, &s->doc, &jerr) != 0)
        return TL_ENOMEM;
    if (r->nschemas == r->capschemas) {
        size_t cap = r->capschemas ? 2 * r->capschemas : 16;
        reg_schema **p = tl_realloc(r->schemas, cap * sizeof *p);
        if (!p)
            return TL_ENOMEM;
        r->schemas = p;
        r->capschemas = cap;
    }
    r->schemas[r->nschemas++] = s;
    return 0;
}

/* ---------------------------------------------------------------- subjects */

static reg_subject *subject_add(tl_registry *r, const char *name, size_t len)
{
    if (r->nsubjects == r->capsubjects) {
        size_t cap = r->capsubjects ? 2 * r->capsubjects : 16;
        reg_subject **p = tl_realloc(r->subjects, cap * sizeof *p);
        if (!p)
            return NULL;
        r->subjects = p;
        r->capsubjects = cap;
    }
    reg_subject *s = tl_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = tl_strndup(name, len);
    if (!s->name) {
        tl_free(s);
        return NULL;
    }
    s->len = len;
    s->hash = hash_of(name, len);
    s->compat = -1;
    r->subjects[r->nsubjects++] = s;
    return s;
}

static void subject_free(reg_subject *s)
{
    if (!s)
        return;
    tl_free(s->v);
    tl_free(s->name);
    tl_free(s);
}

/* Removes s from the list (it must be the entry at some index) and frees it. */
static void subject_remove(tl_registry *r, reg_subject *s)
{
    for (size_t i = 0; i < r->nsubjects; i++)
        if (r->subjects[i] == s) {
            memmove(&r->subjects[i], &r->subjects[i + 1],
                    (r->nsubjects - i - 1) * sizeof r->subjects[0]);
            r->nsubjects--;
            break;
        }
    subject_free(s);
}

static int version_push(reg_subject *s, int version, reg_schema *sc, bool deleted)
{
    if (s->nv == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4;
        reg_version *p = tl_realloc(s->v, cap * sizeof *p);
        if (!p)
            return TL_ENOMEM;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->nv++] = (reg_version){version, sc, deleted};
    sc->refs++;
    sc->dropped = false;
    return 0;
}

/* ---------------------------------------------------------------- persistence */

static int save(tl_registry *r)
{
    tl_buf b;
    tl_buf_init(&b);
    int rc = tl_buf_printf(&b,
                           "{\"format\":\"tally-schema-registry\",\"version\":1,"
                           "\"compatibility\":\"%s\",\"next_id\":%d,\"schemas\":[",
                           tl_compat_mode_name(r->compat), r->next_id);
    bool first = true;
    for (size_t i = 0; rc == 0 && i < r->nschemas; i++) {
        reg_schema *s = r->schemas[i];
        if (s->refs == 0)
            continue;
        rc = tl_buf_printf(&b, "%s{\"id\":%d,\"schema\":", first ? "" : ",", s->id);
        if (rc == 0)
            rc = tl_json_write_string(&b, s->text, s->len);
        if (rc == 0)
            rc = tl_buf_putc(&b, '}');
        first = false;
    }
    if (rc == 0)
        rc = tl_buf_puts(&b, "],\"subjects\":[");
    for (size_t i = 0; rc == 0 && i < r->nsubjects; i++) {
        reg_subject *s = r->subjects[i];
        rc = tl_buf_puts(&b, i ? ",{\"subject\":" : "{\"subject\":");
        if (rc == 0)
            rc = tl_json_write_string(&b, s->name, s->len);
        if (rc == 0 && s->compat >= 0)
            rc = tl_buf_printf(&b, ",\"compatibility\":\"%s\"", tl_compat_mode_name(s->compat));
        if (rc == 0)
            rc = tl_buf_puts(&b, ",\"versions\":[");
        for (size_t j = 0; rc == 0 && j < s->nv; j++)
            rc = tl_buf_printf(&b, "%s{\"version\":%d,\"id\":%d,\"deleted\":%s}", j ? "," : "",
                               s->v[j].version, s->v[j].schema->id,
                               s->v[j].deleted ? "true" : "false");
        if (rc == 0)
            rc = tl_buf_puts(&b, "]}");
    }
    if (rc == 0)
        rc = tl_buf_puts(&b, "]}\n");
    if (rc == 0)
        rc = tl_write_file_atomic(r->path, b.ptr, b.len);
    if (rc != 0)
        tl_log(TL_LOG_ERROR, "schema registry: cannot write %s: %s", r->path, tl_strerror(rc));
    tl_buf_deinit(&b);
    return rc;
}

static bool get_int(const tl_json *obj, const char *key, int64_t lo, int64_t hi, int *out)
{
    int64_t v;
    const tl_json *j = tl_json_get(obj, key);
    if (!j || !tl_json_int64(j, &v) || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static int load(tl_registry *r, const char *text, size_t len, char *err, size_t errlen)
{
    int rc = TL_ECORRUPT;
    tl_json_error jerr;
    tl_json *doc;
    tl_arena *a = tl_arena_new(4 * len + 1024);
    if (!a)
        return TL_ENOMEM;
    if (tl_json_parse(a, text, len, NULL, &doc, &jerr) != 0) {
        snprintf(err, errlen, "%s: not JSON: %s", r->path, jerr.msg);
        goto out;
    }
    const tl_json *fmt = tl_json_get_string(doc, "format");
    int version;
    if (!fmt || strcmp(fmt->u.str, "tally-schema-registry") != 0 ||
        !get_int(doc, "version", 1, 1, &version)) {
        snprintf(err, errlen, "%s: expected format \"tally-schema-registry\" version 1", r->path);
        goto out;
    }
    const tl_json *c = tl_json_get_string(doc, "compatibility");
    tl_compat_mode m;
    if (!c || tl_compat_mode_parse(c->u.str, c->len, &m) != 0 ||
        !get_int(doc, "next_id", 1, INT32_MAX, &r->next_id)) {
        snprintf(err, errlen, "%s: bad \"compatibility\" or \"next_id\"", r->path);
        goto out;
    }
    r->compat = (int)m;
    const tl_json *schemas = tl_json_get(doc, "schemas");
    const tl_json *subjects = tl_json_get(doc, "subjects");
    if (!schemas || schemas->type != TL_JSON_ARRAY || !subjects ||
        subjects->type != TL_JSON_ARRAY) {
        snprintf(err, errlen, "%s: expected arrays \"schemas\" and \"subjects\"", r->path);
        goto out;
    }
    for (uint32_t i = 0; i < schemas->len; i++) {
        const tl_json *e = &schemas->u.items[i];
        const tl_json *t = tl_json_get_string(e, "schema");
        int id;
        if (!t || !get_int(e, "id", 1, r->next_id - 1, &id) || find_schema_id(r, id)) {
            snprintf(err, errlen, "%s: schemas[%u]: bad or repeated id, or no schema text", r->path,
                     i);
            goto out;
        }
        reg_schema *s;
        char why[256];
        int mrc = schema_make(a, t->u.str, t->len, &s, why, sizeof why);
        if (mrc == 0)
            s->id = id;
        if (mrc == 0 && (mrc = schema_add(r, s)) != 0)
            schema_free(s);
        if (mrc != 0) {
            snprintf(err, errlen, "%s: schema id %d: %s", r->path, id,
                     mrc == TL_EINVAL ? why : tl_strerror(mrc));
            rc = mrc == TL_EINVAL ? TL_ECORRUPT : mrc;
            goto out;
        }
        s->refs = 0;
    }
    for (uint32_t i = 0; i < subjects->len; i++) {
        const tl_json *e = &subjects->u.items[i];
        const tl_json *name = tl_json_get_string(e, "subject");
        const tl_json *vs = tl_json_get(e, "versions");
        if (!name || !vs || vs->type != TL_JSON_ARRAY || find_subject(r, name->u.str, name->len)) {
            snprintf(err, errlen, "%s: subjects[%u]: bad or repeated subject", r->path, i);
            goto out;
        }
        reg_subject *s = subject_add(r, name->u.str, name->len);
        if (!s) {
            rc = TL_ENOMEM;
            goto out;
        }
        const tl_json *sc = tl_json_get_string(e, "compatibility");
        if (sc) {
            if (tl_compat_mode_parse(sc->u.str, sc->len, &m) != 0) {
                snprintf(err, errlen, "%s: subject '%s': bad compatibility", r->path, s->name);
                goto out;
            }
            s->compat = (int)m;
        }
        int prev = 0;
        for (uint32_t j = 0; j < vs->len; j++) {
            const tl_json *ve = &vs->u.items[j];
            int v, id;
            const tl_json *del = tl_json_get(ve, "deleted");
            reg_schema *target;
            if (!get_int(ve, "version", prev + 1, INT32_MAX, &v) ||
                !get_int(ve, "id", 1, INT32_MAX, &id) || !(target = find_schema_id(r, id))) {
                snprintf(err, errlen, "%s: subject '%s' versions[%u]: bad version or unknown id",
                         r->path, s->name, j);
                goto out;
            }
            if ((rc = version_push(s, v, target, del && del->type == TL_JSON_TRUE)) != 0)
                goto out;
            rc = TL_ECORRUPT;
            prev = v;
        }
    }
    rc = 0;
out:
    tl_arena_free(a);
    return rc;
}

int tl_registry_open(const char *dir, tl_registry **out, char *err, size_t errlen)
{
    int rc;
    tl_buf file;
    tl_buf_init(&file);
    tl_registry *r = tl_calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return TL_ENOMEM;
    }
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        tl_free(r);
        snprintf(err, errlen, "cannot create the registry lock");
        return TL_ENOMEM;
    }
    r->compat = TL_COMPAT_BACKWARD;
    r->next_id = 1;
    r->arena = tl_arena_new(64 * 1024);
    size_t plen = strlen(dir) + sizeof(REG_FILE) + 2;
    r->path = tl_malloc(plen);
    if (!r->arena || !r->path) {
        snprintf(err, errlen, "out of memory");
        rc = TL_ENOMEM;
        goto fail;
    }
    snprintf(r->path, plen, "%s/%s", dir, REG_FILE);
    if ((rc = tl_mkdir_p(dir)) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    rc = tl_read_file(r->path, &file);
    if (rc == TL_ENOTFOUND) {
        rc = 0;
    } else if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", r->path, strerror(errno));
        goto fail;
    } else if ((rc = load(r, file.ptr, file.len, err, errlen)) != 0) {
        goto fail;
    }
    for (size_t i = 0; i < r->nschemas; i++)
        r->schemas[i]->dropped = r->schemas[i]->refs == 0;
    tl_buf_deinit(&file);
    tl_log(TL_LOG_INFO, "schema registry: %zu subjects, %zu schemas", r->nsubjects, r->nschemas);
    *out = r;
    return 0;
fail:
    tl_buf_deinit(&file);
    tl_registry_close(r);
    return rc;
}

void tl_registry_close(tl_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsubjects; i++)
        subject_free(r->subjects[i]);
    for (size_t i = 0; i < r->nschemas; i++)
        schema_free(r->schemas[i]);
    tl_free(r->subjects);
    tl_free(r->schemas);
    tl_arena_free(r->arena);
    tl_free(r->path);
    pthread_rwlock_destroy(&r->lock);
    tl_free(r);
}

int tl_registry_latest(tl_registry *r, const char *subject, size_t len, const tl_schema **schema,
                       int *version, int *id)
{
    int rc = TL_ENOTFOUND;
    pthread_rwlock_rdlock(&r->lock);
    reg_version *v = latest_live(find_subject(r, subject, len));
    if (v) {
        *schema = v->schema->compiled;
        if (version)
            *version = v->version;
        if (id)
            *id = v->schema->id;
        rc = 0;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

/* ---------------------------------------------------------------- request helpers */

typedef struct {
    const char *method;
    char *part[REG_MAX_PARTS]; /* percent-decoded path segments */
    size_t plen[REG_MAX_PARTS];
    int nparts;
    const char *query;
    const char *body;
    size_t len;
    tl_buf *out;
    tl_arena *arena;
} req;

/* Splits path at '/' and percent-decodes each segment (so "%2F" stays inside a name). */
static int split_path(req *q, const char *path)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (q->nparts == REG_MAX_PARTS)
            return TL_EINVAL;
        char *d = tl_arena_alloc(q->arena, n + 1);
        if (!d)
            return TL_ENOMEM;
        size_t k = tl_percent_decode(p, n, false, d);
        q->part[q->nparts] = d;
        q->plen[q->nparts++] = k;
        p += n;
    }
    return 0;
}

/* True when the query string has key=true. */
static bool query_flag(const req *q, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = q->query; p && *p;) {
        const char *e = strchr(p, '&');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == kl + 5 && memcmp(p, key, kl) == 0 && memcmp(p + kl, "=true", 5) == 0)
            return true;
        if (n == kl && memcmp(p, key, kl) == 0)
            return true;
        p = e ? e + 1 : p + n;
    }
    return false;
}

static bool part_is(const req *q, int i, const char *s)
{
    return i < q->nparts && strcmp(q->part[i], s) == 0;
}

#define VERSION_LATEST (-1)

/* "latest", "-1" or 1..2^31-1. Answers 42202 and returns false otherwise. */
static bool parse_version(req *q, const char *s, int *out, int *status)
{
    if (strcmp(s, "latest") == 0 || strcmp(s, "-1") == 0) {
        *out = VERSION_LATEST;
        return true;
    }
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (*s && !*e && errno == 0 && v >= 1 && v <= INT32_MAX) {
        *out = (int)v;
        return true;
    }
    *status = answer_error(q->out, 422, 42202,
                           "The specified version '%s' is not a valid version id. Allowed values "
                           "are between [1, 2^31-1] and the string \"latest\"",
                           s);
    return false;
}

/* Parses a registration/lookup body and makes the schema entry (not added). On failure writes
 * the answer and returns its status; 0 on success. */
static int body_schema(tl_registry *r, req *q, reg_schema **out)
{
    tl_json *doc;
    tl_json_error jerr;
    if (!q->body || q->len == 0)
        return answer_error(q->out, 400, 400,
                            "Request body is missing: expected "
                            "{\"schemaType\":\"JSON\",\"schema\":\"...\"}");
    if (q->len > REG_MAX_BODY)
        return answer_error(q->out, 413, 413, "Request body exceeds %u bytes", REG_MAX_BODY);
    if (tl_json_parse(q->arena, q->body, q->len, NULL, &doc, &jerr) != 0)
        return answer_error(q->out, 400, 400, "Request body is not JSON: %s", jerr.msg);
    const tl_json *type = tl_json_get(doc, "schemaType");
    if (type && (type->type != TL_JSON_STRING || strcmp(type->u.str, "JSON") != 0))
        return answer_error(q->out, 422, 42201,
                            "Unsupported schemaType %.*s: this registry stores JSON Schema only "
                            "(schemaType \"JSON\")",
                            (int)TL_MIN(type->src_len, 40u), type->src);
    const tl_json *refs = tl_json_get(doc, "references");
    if (refs && !(refs->type == TL_JSON_ARRAY && refs->len == 0) && refs->type != TL_JSON_NULL)
        return answer_error(q->out, 422, 42201,
                            "Invalid schema: schema references are not "
                            "supported (use $ref into $defs)");
    const tl_json *text = tl_json_get(doc, "schema");
    if (!text || text->type != TL_JSON_STRING)
        return answer_error(q->out, 422, 42201,
                            "Invalid schema: expected \"schema\" to be a string holding the "
                            "schema document, found %s",
                            text ? tl_json_type_name(text->type) : "nothing");
    char why[512];
    int rc = schema_make(q->arena, text->u.str, text->len, out, why, sizeof why);
    if (rc == TL_EINVAL)
        return answer_error(q->out, 422, 42201, "Invalid schema: %s", why);
    if (rc != 0)
        return INTERNAL(q->out, rc);
    return 0;
}

static void write_version(tl_buf *out, const reg_subject *s, const reg_version *v)
{
    tl_buf_puts(out, "{\"subject\":");
    tl_json_write_string(out, s->name, s->len);
    tl_buf_printf(out, ",\"version\":%d,\"id\":%d,\"schemaType\":\"JSON\",\"schema\":", v->version,
                  v->schema->id);
    tl_json_write_string(out, v->schema->text, v->schema->len);
    tl_buf_putc(out, '}');
}

/* ---------------------------------------------------------------- compatibility */

typedef struct {
    bool ok;
    size_t n;
    char msg[TL_COMPAT_MAX_MESSAGES * 2][320];
} check_result;

static void add_msgs(check_result *cr, const tl_compat_result *res, int version, bool forward)
{
    for (size_t i = 0; i < res->n + (res->more ? 1 : 0); i++) {
        if (cr->n == TL_ARRAY_LEN(cr->msg))
            return;
        char *m = cr->msg[cr->n++];
        const char *dir = forward ? "new schema -> version" : "version";
        const char *tail = forward ? "" : " -> new schema";
        if (i < res->n)
            snprintf(m, sizeof cr->msg[0], "%s (%s %d%s)", res->msg[i], dir, version, tail);
        else
            snprintf(m, sizeof cr->msg[0], "... and %zu more reasons (%s %d%s)", res->more, dir,
                     version, tail);
    }
}

static void check_pair(check_result *cr, const reg_schema *cand, const reg_version *v, int mode)
{
    bool back = mode == TL_COMPAT_BACKWARD || mode == TL_COMPAT_BACKWARD_TRANSITIVE ||
                mode == TL_COMPAT_FULL || mode == TL_COMPAT_FULL_TRANSITIVE;
    bool fwd = mode == TL_COMPAT_FORWARD || mode == TL_COMPAT_FORWARD_TRANSITIVE ||
               mode == TL_COMPAT_FULL || mode == TL_COMPAT_FULL_TRANSITIVE;
    tl_compat_result res;
    if (back) {
        memset(&res, 0, sizeof res);
        if (!tl_compat_check(v->schema->doc, cand->doc, &res)) {
            cr->ok = false;
            add_msgs(cr, &res, v->version, false);
        }
    }
    if (fwd) {
        memset(&res, 0, sizeof res);
        if (!tl_compat_check(cand->doc, v->schema->doc, &res)) {
            cr->ok = false;
            add_msgs(cr, &res, v->version, true);
        }
    }
}

/* The candidate against the subject's live versions as the mode says (one version when
 * `only` is given). */
static void check_mode(check_result *cr, const reg_schema *cand, reg_subject *s, int mode,
                       const reg_version *only)
{
    cr->ok = true;
    cr->n = 0;
    if (mode == TL_COMPAT_NONE || !s)
        return;
    if (only) {
        check_pair(cr, cand, only, mode);
        return;
    }
    bool transitive = mode == TL_COMPAT_BACKWARD_TRANSITIVE ||
                      mode == TL_COMPAT_FORWARD_TRANSITIVE || mode == TL_COMPAT_FULL_TRANSITIVE;
    if (!transitive) {
        const reg_version *v = latest_live(s);
        if (v)
            check_pair(cr, cand, v, mode);
        return;
    }
    for (size_t i = s->nv; i > 0; i--)
        if (!s->v[i - 1].deleted)
            check_pair(cr, cand, &s->v[i - 1], mode);
}

static void write_messages(tl_buf *out, const check_result *cr)
{
    tl_buf_putc(out, '[');
    for (size_t i = 0; i < cr->n; i++) {
        if (i)
            tl_buf_putc(out, ',');
        tl_json_write_string(out, cr->msg[i], strlen(cr->msg[i]));
    }
    tl_buf_putc(out, ']');
}

/* ---------------------------------------------------------------- handlers */

static int do_register(tl_registry *r, req *q, const char *name, size_t nlen)
{
    reg_schema *cand = NULL;
    int status = body_schema(r, q, &cand);
    if (status)
        return status;
    reg_subject *s = find_subject(r, name, nlen);
    /* idempotent: the same text under this subject answers its id */
    for (size_t i = 0; s && i < s->nv; i++)
        if (!s->v[i].deleted && s->v[i].schema->len == cand->len &&
            memcmp(s->v[i].schema->text, cand->text, cand->len) == 0) {
            tl_buf_printf(q->out, "{\"id\":%d}", s->v[i].schema->id);
            schema_free(cand);
            return 200;
        }
    check_result *cr = tl_malloc(sizeof *cr);
    if (!cr) {
        schema_free(cand);
        return INTERNAL(q->out, TL_ENOMEM);
    }
    check_mode(cr, cand, s, effective_mode(r, s), NULL);
    if (!cr->ok) {
        tl_buf b;
        tl_buf_init(&b);
        for (size_t i = 0; i < cr->n; i++)
            tl_buf_printf(&b, "%s%s", i ? "; " : "", cr->msg[i]);
        answer_error(q->out, 409, 409,
                     "Schema being registered is incompatible with an earlier schema for subject "
                     "'%s' (%s): %s",
                     name, tl_compat_mode_name(effective_mode(r, s)), b.ptr ? b.ptr : "");
        tl_buf_deinit(&b);
        /* also the reasons one by one, for programs */
        q->out->len--; /* drop the closing brace */
        tl_buf_puts(q->out, ",\"messages\":");
        write_messages(q->out, cr);
        tl_buf_putc(q->out, '}');
        tl_free(cr);
        schema_free(cand);
        return 409;
    }
    tl_free(cr);

    /* reuse the global id of an identical schema */
    reg_schema *sc = find_schema_text(r, cand->text, cand->len);
    bool new_schema = !sc, new_subject = !s;
    int rc = 0;
    if (new_schema) {
        sc = cand;
        cand = NULL;
        sc->id = r->next_id;
        if ((rc = schema_add(r, sc)) != 0) {
            schema_free(sc);
            return INTERNAL(q->out, rc);
        }
        r->next_id++;
    } else {
        schema_free(cand);
    }
    if (!s && !(s = subject_add(r, name, nlen))) {
        rc = TL_ENOMEM;
        goto undo;
    }
    int version = s->nv ? s->v[s->nv - 1].version + 1 : 1;
    if ((rc = version_push(s, version, sc, false)) != 0)
        goto undo;
    if ((rc = save(r)) != 0) {
        s->nv--;
        sc->refs--;
        goto undo;
    }
    tl_buf_printf(q->out, "{\"id\":%d}", sc->id);
    return 200;
undo:
    if (new_subject && s)
        subject_remove(r, s);
    if (new_schema) {
        r->nschemas--;
        r->next_id--;
        schema_free(sc);
    }
    return INTERNAL(q->out, rc);
}

static int do_lookup(tl_registry *r, req *q, const char *name, size_t nlen)
{
    reg_subject *s = find_subject(r, name, nlen);
    bool deleted = query_flag(q, "deleted");
    if (!s || (!deleted && live_count(s) == 0) || s->nv == 0)
        return SUBJECT_NOT_FOUND(q->out, name);
    reg_schema *cand = NULL;
    int status = body_schema(r, q, &cand);
    if (status)
        return status;
    for (size_t i = s->nv; i > 0; i--) {
        reg_version *v = &s->v[i - 1];
        if ((deleted || !v->deleted) && v->schema->len == cand->len &&
            memcmp(v->schema->text, cand->text, cand->len) == 0) {
            schema_free(cand);
            write_version(q->out, s, v);
            return 200;
        }
    }
    schema_free(cand);
    return answer_error(q->out, 404, 40403, "Schema not found");
}

/* The version a path names, or an error answer in *status. */
static reg_version *pick_version(req *q, reg_subject *s, const char *name, const char *vs,
                                 bool deleted, int *status)
{
    int v;
    if (!parse_version(q, vs, &v, status))
        return NULL;
    if (!s || s->nv == 0 || (!deleted && live_count(s) == 0)) {
        *status = SUBJECT_NOT_FOUND(q->out, name);
        return NULL;
    }
    reg_version *rv = v == VERSION_LATEST ? latest_live(s) : find_version(s, v);
    if (v == VERSION_LATEST && !rv && deleted && s->nv)
        rv = &s->v[s->nv - 1];
    if (!rv || (rv->deleted && !deleted)) {
        *status = answer_error(q->out, 404, 40402, "Version %s not found.", vs);
        return NULL;
    }
    return rv;
}

/* One version fewer points at sc; an unreferenced schema is never matched or saved again
 * (its memory stays until close: tl_registry_latest pointers must remain valid). */
static void unref(reg_schema *sc)
{
    if (--sc->refs == 0)
        sc->dropped = true;
}

static int do_delete_version(tl_registry *r, req *q, const char *name, size_t nlen, const char *vs)
{
    reg_subject *s = find_subject(r, name, nlen);
    bool permanent = query_flag(q, "permanent");
    int status = 0;
    reg_version *v = pick_version(q, s, name, vs, true, &status);
    if (!v)
        return status;
    int number = v->version, rc;
    if (!permanent) {
        if (v->deleted)
            return answer_error(q->out, 404, 40406,
                                "Subject '%s' Version %d was soft deleted. Set permanent=true to "
                                "delete permanently",
                                name, number);
        v->deleted = true;
        if ((rc = save(r)) != 0) {
            v->deleted = false;
            return INTERNAL(q->out, rc);
        }
    } else {
        if (!v->deleted)
            return answer_error(q->out, 404, 40407,
                                "Subject '%s' Version %d was not deleted first before being "
                                "permanently deleted",
                                name, number);
        reg_version saved = *v;
        size_t at = (size_t)(v - s->v);
        memmove(&s->v[at], &s->v[at + 1], (s->nv - at - 1) * sizeof s->v[0]);
        s->nv--;
        if ((rc = save(r)) != 0) {
            memmove(&s->v[at + 1], &s->v[at], (s->nv - at) * sizeof s->v[0]);
            s->v[at] = saved;
            s->nv++;
            return INTERNAL(q->out, rc);
        }
        unref(saved.schema);
        if (s->nv == 0 && s->compat < 0)
            subject_remove(r, s);
    }
    tl_buf_printf(q->out, "%d", number);
    return 200;
}

static int do_delete_subject(tl_registry *r, req *q, const char *name, size_t nlen)
{
    reg_subject *s = find_subject(r, name, nlen);
    bool permanent = query_flag(q, "permanent");
    if (!s || s->nv == 0)
        return SUBJECT_NOT_FOUND(q->out, name);
    size_t live = live_count(s);
    int rc;
    if (!permanent) {
        if (live == 0)
            return answer_error(q->out, 404, 40404,
                                "Subject '%s' was soft deleted. Set permanent=true to delete "
                                "permanently",
                                name);
        bool *was = tl_calloc(s->nv, sizeof *was);
        if (!was)
            return INTERNAL(q->out, TL_ENOMEM);
        for (size_t i = 0; i < s->nv; i++) {
            was[i] = s->v[i].deleted;
            s->v[i].deleted = true;
        }
        if ((rc = save(r)) != 0) {
            for (size_t i = 0; i < s->nv; i++)
                s->v[i].deleted = was[i];
            tl_free(was);
            return INTERNAL(q->out, rc);
        }
        tl_buf_putc(q->out, '[');
        bool first = true;
        for (size_t i = 0; i < s->nv; i++)
            if (!was[i]) {
                tl_buf_printf(q->out, "%s%d", first ? "" : ",", s->v[i].version);
                first = false;
            }
        tl_buf_putc(q->out, ']');
        tl_free(was);
        return 200;
    }
    if (live)
        return answer_error(q->out, 404, 40405,
                            "Subject '%s' was not deleted first before being permanently deleted",
                            name);
    /* take it out of the list, save, then release */
    size_t at = 0;
    while (r->subjects[at] != s)
        at++;
    memmove(&r->subjects[at], &r->subjects[at + 1], (r->nsubjects - at - 1) * sizeof s);
    r->nsubjects--;
    for (size_t i = 0; i < s->nv; i++)
        s->v[i].schema->refs--;
    if ((rc = save(r)) != 0) {
        for (size_t i = 0; i < s->nv; i++)
            s->v[i].schema->refs++;
        memmove(&r->subjects[at + 1], &r->subjects[at], (r->nsubjects - at) * sizeof s);
        r->subjects[at] = s;
        r->nsubjects++;
        return INTERNAL(q->out, rc);
    }
    tl_buf_putc(q->out, '[');
    for (size_t i = 0; i < s->nv; i++) {
        tl_buf_printf(q->out, "%s%d", i ? "," : "", s->v[i].version);
        if (s->v[i].schema->refs == 0)
            s->v[i].schema->dropped = true;
    }
    tl_buf_putc(q->out, ']');
    subject_free(s);
    return 200;
}

static int do_list_subjects(tl_registry *r, req *q)
{
    bool deleted = query_flag(q, "deleted");
    tl_buf_putc(q->out, '[');
    bool first = true;
    for (size_t i = 0; i < r->nsubjects; i++) {
        reg_subject *s = r->subjects[i];
        if (s->nv == 0 || (!deleted && live_count(s) == 0))
            continue;
        if (!first)
            tl_buf_putc(q->out, ',');
        tl_json_write_string(q->out, s->name, s->len);
        first = false;
    }
    tl_buf_putc(q->out, ']');
    return 200;
}

static int do_list_versions(tl_registry *r, req *q, const char *name, size_t nlen)
{
    reg_subject *s = find_subject(r, name, nlen);
    bool deleted = query_flag(q, "deleted");
    if (!s || s->nv == 0 || (!deleted && live_count(s) == 0))
        return SUBJECT_NOT_FOUND(q->out, name);
    tl_buf_putc(q->out, '[');
    bool first = true;
    for (size_t i = 0; i < s->nv; i++) {
        if (s->v[i].deleted && !deleted)
            continue;
        tl_buf_printf(q->out, "%s%d", first ? "" : ",", s->v[i].version);
        first = false;
    }
    tl_buf_putc(q->out, ']');
    return 200;
}

static const char invalid_level[] =
    "Invalid compatibility level. Valid values are none, backward, forward, full, "
    "backward_transitive, forward_transitive, and full_transitive";

/* Reads {"compatibility": "..."} from the body. */
static bool body_level(req *q, int *mode)
{
    tl_json *doc;
    tl_json_error jerr;
    if (!q->body || tl_json_parse(q->arena, q->body, q->len, NULL, &doc, &jerr) != 0)
        return false;
    const tl_json *c = tl_json_get_string(doc, "compatibility");
    if (!c)
        c = tl_json_get_string(doc, "compatibilityLevel");
    tl_compat_mode m;
    if (!c || tl_compat_mode_parse(c->u.str, c->len, &m) != 0)
        return false;
    *mode = (int)m;
    return true;
}

static int do_config(tl_registry *r, req *q, const char *name, size_t nlen)
{
    int rc, mode;
    reg_subject *s = name ? find_subject(r, name, nlen) : NULL;
    if (strcmp(q->method, "GET") == 0) {
        if (!name) {
            mode = r->compat;
        } else if (s && s->compat >= 0) {
            mode = s->compat;
        } else if (query_flag(q, "defaultToGlobal")) {
            mode = r->compat;
        } else {
            return answer_error(q->out, 404, 40408,
                                "Subject '%s' does not have subject-level compatibility "
                                "configured",
                                name);
        }
        tl_buf_printf(q->out, "{\"compatibilityLevel\":\"%s\"}", tl_compat_mode_name(mode));
        return 200;
    }
    if (strcmp(q->method, "PUT") == 0) {
        if (!body_level(q, &mode))
            return answer_error(q->out, 422, 42203, "%s", invalid_level);
        if (!name) {
            int old = r->compat;
            r->compat = mode;
            if ((rc = save(r)) != 0) {
                r->compat = old;
                return INTERNAL(q->out, rc);
            }
        } else {
            bool created = !s;
            if (!s && !(s = subject_add(r, name, nlen)))
                return INTERNAL(q->out, TL_ENOMEM);
            int old = s->compat;
            s->compat = mode;
            if ((rc = save(r)) != 0) {
                s->compat = old;
                if (created)
                    subject_remove(r, s);
                return INTERNAL(q->out, rc);
            }
        }
        tl_buf_printf(q->out, "{\"compatibility\":\"%s\"}", tl_compat_mode_name(mode));
        return 200;
    }
    /* DELETE /config/{s} */
    if (!s)
        return SUBJECT_NOT_FOUND(q->out, name);
    if (s->compat < 0)
        return answer_error(q->out, 404, 40408,
                            "Subject '%s' does not have subject-level compatibility configured",
                            name);
    int old = s->compat;
    s->compat = -1;
    if ((rc = save(r)) != 0) {
        s->compat = old;
        return INTERNAL(q->out, rc);
    }
    if (s->nv == 0)
        subject_remove(r, s);
    tl_buf_printf(q->out, "{\"compatibilityLevel\":\"%s\"}", tl_compat_mode_name(old));
    return 200;
}

static int do_compatibility(tl_registry *r, req *q, const char *name, size_t nlen, const char *vs)
{
    reg_subject *s = find_subject(r, name, nlen);
    reg_version *only = NULL;
    int status = 0;
    if (vs && !(only = pick_version(q, s, name, vs, false, &status)))
        return status;
    reg_schema *cand = NULL;
    if ((status = body_schema(r, q, &cand)) != 0)
        return status;
    check_result *cr = tl_malloc(sizeof *cr);
    if (!cr) {
        schema_free(cand);
        return INTERNAL(q->out, TL_ENOMEM);
    }
    check_mode(cr, cand, s, effective_mode(r, s), only);
    tl_buf_printf(q->out, "{\"is_compatible\":%s,\"messages\":", cr->ok ? "true" : "false");
    write_messages(q->out, cr);
    tl_buf_putc(q->out, '}');
    tl_free(cr);
    schema_free(cand);
    return 200;
}

static int do_schema_id(tl_registry *r, req *q)
{
    char *e;
    errno = 0;
    long id = strtol(q->part[2], &e, 10);
    reg_schema *sc = (*e || errno || id < 1 || id > INT32_MAX) ? NULL : find_schema_id(r, (int)id);
    if (!sc || sc->refs == 0)
        return answer_error(q->out, 404, 40403, "Schema %s not found", q->part[2]);
    if (q->nparts == 3) {
        tl_buf_puts(q->out, "{\"schemaType\":\"JSON\",\"schema\":");
        tl_json_write_string(q->out, sc->text, sc->len);
        tl_buf_putc(q->out, '}');
        return 200;
    }
    if (q->nparts == 4 && part_is(q, 3, "schema")) {
        tl_buf_append(q->out, sc->text, sc->len);
        return 200;
    }
    bool versions = q->nparts == 4 && part_is(q, 3, "versions");
    if (!versions && !(q->nparts == 4 && part_is(q, 3, "subjects")))
        return answer_error(q->out, 404, 404, "HTTP 404 Not Found");
    bool deleted = query_flag(q, "deleted");
    bool first = true;
    tl_buf_putc(q->out, '[');
    for (size_t i = 0; i < r->nsubjects; i++) {
        reg_subject *s = r->subjects[i];
        bool listed = false;
        for (size_t j = 0; j < s->nv && !(listed && !versions); j++) {
            if (s->v[j].schema != sc || (s->v[j].deleted && !deleted))
                continue;
            if (!first)
                tl_buf_putc(q->out, ',');
            first = false;
            if (versions) {
                tl_buf_puts(q->out, "{\"subject\":");
                tl_json_write_string(q->out, s->name, s->len);
                tl_buf_printf(q->out, ",\"version\":%d}", s->v[j].version);
            } else {
                tl_json_write_string(q->out, s->name, s->len);
            }
            listed = true;
        }
    }
    tl_buf_putc(q->out, ']');
    return 200;
}

static bool is(const req *q, const char *m)
{
    return strcmp(q->method, m) == 0;
}

static bool is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Routes one call; the lock is held by the caller. */
static int route(tl_registry *r, req *q)
{
    int n = q->nparts;
    const char *sub = n >= 2 ? q->part[1] : NULL;
    size_t sublen = n >= 2 ? q->plen[1] : 0;
    if (part_is(q, 0, "subjects")) {
        if (n == 1 && is(q, "GET"))
            return do_list_subjects(r, q);
        if (n == 2 && is(q, "POST"))
            return do_lookup(r, q, sub, sublen);
        if (n == 2 && is(q, "DELETE"))
            return do_delete_subject(r, q, sub, sublen);
        if (n == 3 && part_is(q, 2, "versions")) {
            if (is(q, "POST"))
                return do_register(r, q, sub, sublen);
            if (is(q, "GET"))
                return do_list_versions(r, q, sub, sublen);
        }
        if ((n == 4 || (n == 5 && part_is(q, 4, "schema"))) && part_is(q, 2, "versions")) {
            if (n == 4 && is(q, "DELETE"))
                return do_delete_version(r, q, sub, sublen, q->part[3]);
            if (is(q, "GET")) {
                int status = 0;
                reg_version *v = pick_version(q, find_subject(r, sub, sublen), sub, q->part[3],
                                              query_flag(q, "deleted"), &status);
                if (!v)
                    return status;
                if (n == 5)
                    tl_buf_append(q->out, v->schema->text, v->schema->len);
                else
                    write_version(q->out, find_subject(r, sub, sublen), v);
                return 200;
            }
        }
    } else if (part_is(q, 0, "schemas")) {
        if (n == 2 && part_is(q, 1, "types") && is(q, "GET")) {
            tl_buf_puts(q->out, "[\"JSON\"]");
            return 200;
        }
        if (n >= 3 && n <= 4 && part_is(q, 1, "ids") && is(q, "GET"))
            return do_schema_id(r, q);
    } else if (part_is(q, 0, "config")) {
        if (n == 1 && (is(q, "GET") || is(q, "PUT")))
            return do_config(r, q, NULL, 0);
        if (n == 2 && (is(q, "GET") || is(q, "PUT") || is(q, "DELETE")))
            return do_config(r, q, sub, sublen);
    } else if (part_is(q, 0, "compatibility") && part_is(q, 1, "subjects") &&
               part_is(q, 3, "versions") && is(q, "POST")) {
        if (n == 4)
            return do_compatibility(r, q, q->part[2], q->plen[2], NULL);
        if (n == 5)
            return do_compatibility(r, q, q->part[2], q->plen[2], q->part[4]);
    } else if (part_is(q, 0, "mode") && n == 1 && is(q, "GET")) {
        tl_buf_puts(q->out, "{\"mode\":\"READWRITE\"}");
        return 200;
    }
    return answer_error(q->out, 404, 404, "HTTP 404 Not Found: %s %s is not a registry call",
                        q->method, n ? q->part[0] : "/");
}

int tl_registry_handle(tl_registry *r, const char *method, const char *path, const char *query,
                       const char *body, size_t len, tl_buf *out)
{
    req q = {.method = method, .query = query, .body = body, .len = len, .out = out};
    q.arena = tl_arena_new(16 * 1024 + 4 * len);
    if (!q.arena)
        return INTERNAL(out, TL_ENOMEM);
    /* a path that still carries its query string: split it here */
    const char *qm = path ? strchr(path, '?') : NULL;
    char *bare = NULL;
    if (qm) {
        bare = tl_arena_strndup(q.arena, path, (size_t)(qm - path));
        if (!q.query)
            q.query = qm + 1;
    }
    int rc = split_path(&q, bare ? bare : path ? path : "");
    if (rc != 0) {
        tl_arena_free(q.arena);
        return rc == TL_ENOMEM ? INTERNAL(out, rc)
                               : answer_error(out, 404, 404, "HTTP 404 Not Found: path too long");
    }
    /* lookups and compatibility checks are POSTs that change nothing */
    bool write = is_write(method) &&
                 !(strcmp(method, "POST") == 0 && (part_is(&q, 0, "compatibility") ||
                                                   (part_is(&q, 0, "subjects") && q.nparts == 2)));
    if (write)
        pthread_rwlock_wrlock(&r->lock);
    else
        pthread_rwlock_rdlock(&r->lock);
    size_t start = out->len;
    int status = route(r, &q);
    if (status >= 400 && out->len == start)
        status = INTERNAL(out, TL_ENOMEM);
    pthread_rwlock_unlock(&r->lock);
    tl_arena_free(q.arena);
    return status;
}
