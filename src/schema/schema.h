/*
 * schema — JSON Schema (draft 2020-12) validation and the schema registry.
 *
 * Two halves with one header:
 *
 *  1. The validator. tl_schema_compile() turns a schema document into a
 *     compiled form once per schema version (resolved $ref/$dynamicRef,
 *     precompiled patterns, property lookups prepared), so that
 *     tl_schema_validate() on the ingest path does no parsing and no
 *     allocation for a valid instance. Instances are tl_json trees (the
 *     collector has already parsed the request).
 *
 *  2. The registry: versioned schemas under subjects, with the REST paths of
 *     Confluent Schema Registry (schemaType "JSON"), compatibility modes with
 *     JSON Schema rules, durable across restarts (files under its directory,
 *     replaced atomically). tl_registry_handle() is HTTP-free: the server maps
 *     method + path + body to it. The collector asks tl_registry_latest() for
 *     the schema of an event's subject.
 *
 * Subjects used by the collector: a track event's subject is its event name
 * ("Order Completed"); page, screen and identify calls use "$page", "$screen"
 * and "$identify". The schema constrains `properties` (`traits` for identify).
 *
 * Threads: a compiled tl_schema is immutable and may be used by any number of
 * threads. Every tl_registry_* function is thread-safe; a schema returned by
 * tl_registry_latest() stays valid until tl_registry_close() (versions are
 * never freed while the registry is open, deleted ones included).
 */
#ifndef TL_SCHEMA_H
#define TL_SCHEMA_H

#include "base/base.h"
#include "json/json.h"

/* ---- validator ---- */

typedef struct tl_schema tl_schema;

typedef struct {
    char pointer[256];     /* JSON pointer into the instance ("/properties/price" style is the
                              caller's business: this is relative to the validated instance,
                              e.g. "/price") */
    char schema_path[256]; /* JSON pointer into the schema of the failing keyword */
    char keyword[32];      /* "type", "required", "enum", "maximum", ... */
    char expected[128];    /* what the schema wanted: "number", "one of [\"EUR\",\"USD\"]" */
    char found[128];       /* what the instance had: "string \"12\"", "nothing" */
    char message[256];     /* one readable sentence combining the above */
} tl_schema_error;

/* Compiles a JSON Schema document (draft 2020-12; documents declaring another $schema are
 * refused). On failure returns TL_EINVAL and a message naming the problem and where. */
int tl_schema_compile(const char *text, size_t len, tl_schema **out, char *err, size_t errlen);
void tl_schema_free(tl_schema *s);

/* Validates instance; returns true when valid. When invalid, up to max_errors errors are
 * written to errs (may be NULL with max_errors 0) and *n_errors says how many were written. */
bool tl_schema_validate(const tl_schema *s, const tl_json *instance, tl_schema_error *errs,
                        size_t max_errors, size_t *n_errors);

/* ---- compatibility (JSON Schema rules) ---- */

typedef enum {
    TL_COMPAT_BACKWARD = 0, /* default: the new schema accepts everything the previous accepted */
    TL_COMPAT_BACKWARD_TRANSITIVE,
    TL_COMPAT_FORWARD, /* the previous schema accepts everything the new one accepts */
    TL_COMPAT_FORWARD_TRANSITIVE,
    TL_COMPAT_FULL, /* both */
    TL_COMPAT_FULL_TRANSITIVE,
    TL_COMPAT_NONE,
} tl_compat_mode;

const char *tl_compat_mode_name(tl_compat_mode m);
int tl_compat_mode_parse(const char *s, size_t n, tl_compat_mode *out);

/* Why a compatibility check failed: one message per reason, each naming the schema location
 * ("#/properties/price: type narrowed from [number, string] to [number]"). Reasons beyond
 * TL_COMPAT_MAX_MESSAGES are only counted in `more`. */
#define TL_COMPAT_MAX_MESSAGES 16
typedef struct {
    size_t n;    /* messages written to msg */
    size_t more; /* further reasons that did not fit */
    char msg[TL_COMPAT_MAX_MESSAGES][256];
} tl_compat_result;

/* Decides structurally whether schema `newer` accepts every instance schema `older` accepts
 * (newer is a superset of older), both parsed JSON Schema documents (objects or booleans;
 * local $refs are resolved against each document). Conservative: returns true only when it
 * can prove it; otherwise false with the reasons (including "cannot prove ..." ones) appended
 * to res (which the caller zeroes; res may be NULL). Messages say "from <older> to <newer>".
 * BACKWARD checks (latest, new); FORWARD checks (new, latest). Pure function; any thread. */
bool tl_compat_check(const tl_json *older, const tl_json *newer, tl_compat_result *res);
/* The same on schema texts: 1 compatible, 0 not, TL_EINVAL when a text is not JSON (the
 * reason is in res). */
int tl_compat_check_text(const char *older, size_t olen, const char *newer, size_t nlen,
                         tl_compat_result *res);

/* ---- registry ---- */

typedef struct tl_registry tl_registry;

int tl_registry_open(const char *dir, tl_registry **out, char *err, size_t errlen);
void tl_registry_close(tl_registry *r);

/* A REST call: method "GET"/"POST"/"PUT"/"DELETE", path such as "/subjects/x/versions"
 * (percent-decoding is done here), query string without '?' (may be NULL; e.g.
 * "permanent=true"), body. Appends the JSON answer to out and returns the HTTP status. */
int tl_registry_handle(tl_registry *r, const char *method, const char *path, const char *query,
                       const char *body, size_t len, tl_buf *out);

/* The latest non-deleted version of subject: 0 and *schema, *version, *id; TL_ENOTFOUND when
 * the subject has no live version. */
int tl_registry_latest(tl_registry *r, const char *subject, size_t len, const tl_schema **schema,
                       int *version, int *id);

/* `tally schema <command> ...` (argv[0] is "schema"): a client of a running server's registry
 * REST API over HTTP. Prints the server's JSON answer; returns 0 on 2xx, 1 otherwise (the
 * server's message on stderr), 2 on a usage error. */
int tl_schema_cli(int argc, char **argv);
/* Notes on the registry (added with the implementation, see registry.c for the REST table):
 * - Only JSON Schema: a registration without "schemaType" is taken as JSON (Confluent would
 *   assume AVRO); AVRO/PROTOBUF and schema "references" are refused with 422/42201.
 * - tl_registry_handle expects the path still percent-encoded and decodes each segment itself
 *   (so "a%2Fb" is the subject "a/b"); the query flags it reads are permanent, deleted and
 *   defaultToGlobal ("name=true").
 * - Storage: <dir>/registry.json, replaced atomically before a change is answered. */

#endif
