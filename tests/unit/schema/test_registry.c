/* Unit tests for src/schema/registry.c through tl_registry_handle: registration (idempotent,
 * global ids shared across subjects), reads, lookups, every compatibility mode, configs,
 * soft and permanent deletes with their errors, percent-decoded subjects, persistence across
 * reopen, refusal of a corrupt file, and tl_registry_latest. Each test has its own mkdtemp
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "schema/schema.h"

typedef struct {
    char dir[64];
    tl_registry *r;
    tl_buf out;
    size_t alloc_before;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tl_registry_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->alloc_before = tl_alloc_used();
    char err[256];
    if (tl_registry_open(f->dir, &f->r, err, sizeof err) != 0)
        return -1;
    tl_buf_init(&f->out);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    tl_registry_close(f->r);
    tl_buf_deinit(&f->out);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    size_t leaked = tl_alloc_used() - f->alloc_before;
    free(f);
    return leaked == 0 ? 0 : -1;
}

static void reopen(fixture *f)
{
    char err[256];
    tl_registry_close(f->r);
    f->r = NULL;
    assert_int_equal(tl_registry_open(f->dir, &f->r, err, sizeof err), 0);
}

/* One call; returns the answer text (valid until the next call) and checks the status. */
static const char *call_q(fixture *f, int want, const char *method, const char *path,
                          const char *query, const char *body)
{
    tl_buf_reset(&f->out);
    int status =
        tl_registry_handle(f->r, method, path, query, body, body ? strlen(body) : 0, &f->out);
    if (status != want)
        fail_msg("%s %s: status %d, expected %d: %s", method, path, status, want,
                 f->out.ptr ? f->out.ptr : "");
    return f->out.ptr ? f->out.ptr : "";
}

static const char *call(fixture *f, int want, const char *method, const char *path,
                        const char *body)
{
    return call_q(f, want, method, path, NULL, body);
}

/* A registration body holding schema text s (escaped for JSON). */
static const char *body_of(const char *s)
{
    static char buf[4096];
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_puts(&b, "{\"schemaType\":\"JSON\",\"schema\":");
    tl_json_write_string(&b, s, strlen(s));
    tl_buf_putc(&b, '}');
    snprintf(buf, sizeof buf, "%s", b.ptr);
    tl_buf_deinit(&b);
    return buf;
}

#define V1                                                                                         \
    "{\"type\":\"object\",\"properties\":{\"price\":{\"type\":\"number\"}},"                       \
    "\"required\":[\"price\"],\"additionalProperties\":false}"
#define V2                                                                                         \
    "{\"type\":\"object\",\"properties\":{\"price\":{\"type\":\"number\"},"                        \
    "\"coupon\":{\"type\":\"string\"}},\"required\":[\"price\"],"                                  \
    "\"additionalProperties\":false}"
#define V3_BAD                                                                                     \
    "{\"type\":\"object\",\"properties\":{\"price\":{\"type\":\"number\"},"                        \
    "\"currency\":{\"type\":\"string\"}},\"required\":[\"price\",\"currency\"],"                   \
    "\"additionalProperties\":false}"

static void test_register_and_read(void **state)
{
    fixture *f = *state;
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL), "[]");
    assert_string_equal(call(f, 200, "POST", "/subjects/Order%20Completed/versions", body_of(V1)),
                        "{\"id\":1}");
    /* idempotent, also with other whitespace */
    assert_string_equal(call(f, 200, "POST", "/subjects/Order%20Completed/versions",
                             body_of("{ \"type\": \"object\", \"properties\": {\"price\": "
                                     "{\"type\": \"number\"}}, \"required\": [\"price\"], "
                                     "\"additionalProperties\": false }")),
                        "{\"id\":1}");
    /* the same schema under another subject keeps its id; schemaType may be omitted */
    char b2[1024];
    snprintf(b2, sizeof b2, "{\"schema\":\"%s\"}", "{\\\"type\\\":\\\"string\\\"}");
    assert_string_equal(call(f, 200, "POST", "/subjects/other/versions", b2), "{\"id\":2}");
    assert_string_equal(call(f, 200, "POST", "/subjects/third/versions", body_of(V1)),
                        "{\"id\":1}");
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL),
                        "[\"Order Completed\",\"other\",\"third\"]");
    assert_string_equal(call(f, 200, "GET", "/subjects/Order Completed/versions", NULL), "[1]");
    assert_string_equal(call(f, 200, "GET", "/subjects/Order%20Completed/versions/latest", NULL),
                        "{\"subject\":\"Order Completed\",\"version\":1,\"id\":1,"
                        "\"schemaType\":\"JSON\",\"schema\":"
                        "\"{\\\"type\\\":\\\"object\\\","
                        "\\\"properties\\\":{\\\"price\\\":{\\\"type\\\":\\\"number\\\"}},"
                        "\\\"required\\\":[\\\"price\\\"],\\\"additionalProperties\\\":false}\"}");
    assert_string_equal(call(f, 200, "GET", "/subjects/Order%20Completed/versions/1/schema", NULL),
                        V1);
    assert_string_equal(call(f, 200, "GET", "/schemas/ids/2", NULL),
                        "{\"schemaType\":\"JSON\",\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}");
    assert_string_equal(call(f, 200, "GET", "/schemas/ids/1/versions", NULL),
                        "[{\"subject\":\"Order Completed\",\"version\":1},"
                        "{\"subject\":\"third\",\"version\":1}]");
    assert_string_equal(call(f, 200, "GET", "/schemas/ids/1/subjects", NULL),
                        "[\"Order Completed\",\"third\"]");
    assert_string_equal(call(f, 200, "GET", "/schemas/types", NULL), "[\"JSON\"]");

    /* errors */
    assert_string_equal(call(f, 404, "GET", "/schemas/ids/9", NULL),
                        "{\"error_code\":40403,\"message\":\"Schema 9 not found\"}");
    assert_string_equal(call(f, 404, "GET", "/subjects/nope/versions", NULL),
                        "{\"error_code\":40401,\"message\":\"Subject 'nope' not found.\"}");
    assert_string_equal(call(f, 404, "GET", "/subjects/other/versions/7", NULL),
                        "{\"error_code\":40402,\"message\":\"Version 7 not found.\"}");
    assert_string_equal(call(f, 422, "GET", "/subjects/other/versions/zero", NULL),
                        "{\"error_code\":42202,\"message\":\"The specified version 'zero' is not "
                        "a valid version id. Allowed values are between [1, 2^31-1] and the "
                        "string \\\"latest\\\"\"}");
    call(f, 404, "GET", "/nothing", NULL);
    /* a query string left on the path is understood */
    assert_string_equal(call(f, 200, "GET", "/subjects?deleted=true", NULL),
                        "[\"Order Completed\",\"other\",\"third\"]");
}

static void test_invalid_bodies(void **state)
{
    fixture *f = *state;
    const char *a =
        call(f, 422, "POST", "/subjects/x/versions", "{\"schemaType\":\"AVRO\",\"schema\":\"{}\"}");
    assert_string_equal(a,
                        "{\"error_code\":42201,\"message\":\"Unsupported schemaType \\\"AVRO\\\": "
                        "this registry stores JSON Schema only (schemaType \\\"JSON\\\")\"}");
    a = call(f, 422, "POST", "/subjects/x/versions", body_of("{\"type\":"));
    assert_non_null(strstr(a, "\"error_code\":42201,\"message\":\"Invalid schema: not JSON: "));
    /* the validator's compile error is passed on */
    a = call(f, 422, "POST", "/subjects/x/versions", body_of("{\"type\":\"strin\"}"));
    assert_non_null(strstr(a, "\"error_code\":42201,\"message\":\"Invalid schema: "));
    a = call(f, 422, "POST", "/subjects/x/versions", body_of("[1]"));
    assert_string_equal(a, "{\"error_code\":42201,\"message\":\"Invalid schema: a schema must be a "
                           "JSON object or boolean, found array\"}");
    a = call(f, 400, "POST", "/subjects/x/versions", "nope");
    assert_non_null(strstr(a, "\"error_code\":400,\"message\":\"Request body is not JSON: "));
    a = call(f, 422, "POST", "/subjects/x/versions", "{\"schema\":{}}");
    assert_string_equal(a, "{\"error_code\":42201,\"message\":\"Invalid schema: expected "
                           "\\\"schema\\\" to be a string holding the schema document, found "
                           "object\"}");
    /* nothing was registered */
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL), "[]");
}

static void test_lookup(void **state)
{
    fixture *f = *state;
    call(f, 200, "POST", "/subjects/s/versions", body_of(V1));
    char want[2048];
    snprintf(want, sizeof want, "%s", call(f, 200, "GET", "/subjects/s/versions/1", NULL));
    assert_string_equal(call(f, 200, "POST", "/subjects/s",
                             body_of("{\"type\": \"object\", \"properties\": {\"price\": "
                                     "{\"type\": \"number\"}}, \"required\": [\"price\"], "
                                     "\"additionalProperties\": false}")),
                        want);
    const char *a = call(f, 200, "POST", "/subjects/s", body_of(V1));
    assert_non_null(strstr(a, "\"subject\":\"s\",\"version\":1,\"id\":1,"));
    assert_string_equal(call(f, 404, "POST", "/subjects/s", body_of("{\"type\":\"string\"}")),
                        "{\"error_code\":40403,\"message\":\"Schema not found\"}");
    assert_string_equal(call(f, 404, "POST", "/subjects/t", body_of(V1)),
                        "{\"error_code\":40401,\"message\":\"Subject 't' not found.\"}");
}

static void test_backward_default(void **state)
{
    fixture *f = *state;
    call(f, 200, "POST", "/subjects/s/versions", body_of(V1));
    /* optional property added to a closed model: compatible, version 2 */
    assert_string_equal(call(f, 200, "POST", "/subjects/s/versions", body_of(V2)), "{\"id\":2}");
    assert_string_equal(call(f, 200, "GET", "/subjects/s/versions", NULL), "[1,2]");
    /* a new required property: 409 with the reason */
    const char *a = call(f, 409, "POST", "/subjects/s/versions", body_of(V3_BAD));
    assert_string_equal(
        a, "{\"error_code\":409,\"message\":\"Schema being registered is incompatible with an "
           "earlier schema for subject 's' (BACKWARD): #/required: property 'currency' added to "
           "required (version 2 -> new schema); #: property 'coupon' removed while "
           "additionalProperties is false (version 2 -> new schema)\",\"messages\":[\"#/required: "
           "property 'currency' added to required (version 2 -> new schema)\",\"#: property "
           "'coupon' removed while additionalProperties is false (version 2 -> new schema)\"]}");
    assert_string_equal(call(f, 200, "GET", "/subjects/s/versions", NULL), "[1,2]");
    /* the compatibility endpoint says the same without registering */
    assert_string_equal(
        call(f, 200, "POST", "/compatibility/subjects/s/versions/latest", body_of(V3_BAD)),
        "{\"is_compatible\":false,\"messages\":[\"#/required: property "
        "'currency' added to required (version 2 -> new schema)\",\"#: property "
        "'coupon' removed while additionalProperties is false (version 2 -> new "
        "schema)\"]}");
    assert_string_equal(call(f, 200, "POST", "/compatibility/subjects/s/versions/1", body_of(V2)),
                        "{\"is_compatible\":true,\"messages\":[]}");
    assert_string_equal(
        call_q(f, 200, "POST", "/compatibility/subjects/s/versions", "verbose=true", body_of(V2)),
        "{\"is_compatible\":true,\"messages\":[]}");
    call(f, 404, "POST", "/compatibility/subjects/nope/versions/latest", body_of(V2));
    assert_string_equal(call(f, 200, "POST", "/compatibility/subjects/nope/versions", body_of(V2)),
                        "{\"is_compatible\":true,\"messages\":[]}");
}

static void test_config(void **state)
{
    fixture *f = *state;
    assert_string_equal(call(f, 200, "GET", "/config", NULL),
                        "{\"compatibilityLevel\":\"BACKWARD\"}");
    assert_string_equal(call(f, 200, "PUT", "/config", "{\"compatibility\":\"FULL\"}"),
                        "{\"compatibility\":\"FULL\"}");
    assert_string_equal(call(f, 200, "GET", "/config", NULL), "{\"compatibilityLevel\":\"FULL\"}");
    assert_string_equal(call(f, 422, "PUT", "/config", "{\"compatibility\":\"SOMETIMES\"}"),
                        "{\"error_code\":42203,\"message\":\"Invalid compatibility level. Valid "
                        "values are none, backward, forward, full, backward_transitive, "
                        "forward_transitive, and full_transitive\"}");
    assert_string_equal(call(f, 404, "GET", "/config/s", NULL),
                        "{\"error_code\":40408,\"message\":\"Subject 's' does not have "
                        "subject-level compatibility configured\"}");
    assert_string_equal(call_q(f, 200, "GET", "/config/s", "defaultToGlobal=true", NULL),
                        "{\"compatibilityLevel\":\"FULL\"}");
    /* a subject config before the subject exists; NONE lets anything in */
    assert_string_equal(call(f, 200, "PUT", "/config/s", "{\"compatibility\":\"none\"}"),
                        "{\"compatibility\":\"NONE\"}");
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL), "[]");
    call(f, 200, "POST", "/subjects/s/versions", body_of(V2));
    assert_string_equal(call(f, 200, "POST", "/subjects/s/versions", body_of(V3_BAD)),
                        "{\"id\":2}");
    assert_string_equal(call(f, 200, "GET", "/config/s", NULL),
                        "{\"compatibilityLevel\":\"NONE\"}");
    assert_string_equal(call(f, 200, "DELETE", "/config/s", NULL),
                        "{\"compatibilityLevel\":\"NONE\"}");
    call(f, 404, "DELETE", "/config/s", NULL);
    call(f, 404, "DELETE", "/config/nope", NULL);
    /* back to the global FULL: V1 (no coupon) after V3 is not forward compatible */
    const char *a = call(f, 409, "POST", "/subjects/s/versions", body_of(V1));
    /* both directions, each saying which way it was checked */
    assert_string_equal(strstr(a, "\"messages\""),
                        "\"messages\":[\"#: property 'currency' removed while "
                        "additionalProperties is false (version 2 -> new schema)\",\"#/required: "
                        "property 'currency' added to required (new schema -> version 2)\"]}");
}

/* old: {a: string} closed; each mode with a change that breaks one direction only. */
#define M_OLD                                                                                      \
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"additionalProperties\":"  \
    "false}"
/* widening: every old instance fits, not every new one fits the old schema */
#define M_WIDER                                                                                    \
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}},"                \
    "\"additionalProperties\":false}"
/* narrowing: the reverse */
#define M_NARROWER                                                                                 \
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":3}},"           \
    "\"additionalProperties\":false}"

static void set_mode(fixture *f, const char *subject, const char *mode)
{
    char path[128], body[128];
    snprintf(path, sizeof path, "/config/%s", subject);
    snprintf(body, sizeof body, "{\"compatibility\":\"%s\"}", mode);
    call(f, 200, "PUT", path, body);
}

static void test_modes(void **state)
{
    fixture *f = *state;
    /* BACKWARD: wider ok, narrower refused */
    call(f, 200, "POST", "/subjects/b/versions", body_of(M_OLD));
    const char *a = call(f, 409, "POST", "/subjects/b/versions", body_of(M_NARROWER));
    assert_non_null(strstr(a, "\"messages\":[\"#/properties/a/maxLength: added (3) (version 1 -> "
                              "new schema)\"]"));
    call(f, 200, "POST", "/subjects/b/versions", body_of(M_WIDER));

    /* FORWARD: narrower ok, wider refused */
    set_mode(f, "f", "FORWARD");
    call(f, 200, "POST", "/subjects/f/versions", body_of(M_OLD));
    a = call(f, 409, "POST", "/subjects/f/versions", body_of(M_WIDER));
    assert_non_null(strstr(a, "\"messages\":[\"#/properties/a: type narrowed from [string, null] "
                              "to [string] (new schema -> version 1)\"]"));
    call(f, 200, "POST", "/subjects/f/versions", body_of(M_NARROWER));

    /* FULL: both refused, an equivalent rewrite accepted */
    set_mode(f, "full", "FULL");
    call(f, 200, "POST", "/subjects/full/versions", body_of(M_OLD));
    call(f, 409, "POST", "/subjects/full/versions", body_of(M_WIDER));
    call(f, 409, "POST", "/subjects/full/versions", body_of(M_NARROWER));
    call(f, 200, "POST", "/subjects/full/versions",
         body_of("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                 "\"description\":\"same\"}},\"additionalProperties\":false}"));

    /* NONE: anything */
    set_mode(f, "n", "NONE");
    call(f, 200, "POST", "/subjects/n/versions", body_of(M_OLD));
    call(f, 200, "POST", "/subjects/n/versions", body_of("{\"type\":\"integer\"}"));
}

static void test_transitive_modes(void **state)
{
    fixture *f = *state;
    /* v1 a:string<=3; v2 a:string (wider); candidate a:string<=5 fits v1's instances but
     * rejects some of v2's: BACKWARD (latest only) refuses, since latest is v2... so use the
     * opposite order to separate transitive from non-transitive: */
    const char *s1 = "{\"properties\":{\"a\":{\"type\":\"string\"}}}";
    const char *s2 = "{\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":5}}}";
    const char *s3 = "{\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":9}}}";
    /* NONE to build the history s1, s2, then the mode under test decides about s3 */
    set_mode(f, "bt", "NONE");
    call(f, 200, "POST", "/subjects/bt/versions", body_of(s1));
    call(f, 200, "POST", "/subjects/bt/versions", body_of(s2));
    set_mode(f, "bt", "BACKWARD");
    assert_string_equal(call(f, 200, "POST", "/compatibility/subjects/bt/versions", body_of(s3)),
                        "{\"is_compatible\":true,\"messages\":[]}");
    set_mode(f, "bt", "BACKWARD_TRANSITIVE");
    assert_string_equal(
        call(f, 200, "POST", "/compatibility/subjects/bt/versions", body_of(s3)),
        "{\"is_compatible\":false,\"messages\":[\"#/properties/a/maxLength: added (9) "
        "(version 1 -> new schema)\"]}");
    call(f, 409, "POST", "/subjects/bt/versions", body_of(s3));

    /* FORWARD_TRANSITIVE: history s3, s2; candidate s1 is forward-compatible with nothing;
     * candidate with maxLength 4 is below both */
    set_mode(f, "ft", "NONE");
    call(f, 200, "POST", "/subjects/ft/versions", body_of(s1));
    call(f, 200, "POST", "/subjects/ft/versions", body_of(s2));
    const char *s4 = "{\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":6}}}";
    set_mode(f, "ft", "FORWARD");
    assert_string_equal(call(f, 200, "POST", "/compatibility/subjects/ft/versions", body_of(s4)),
                        "{\"is_compatible\":false,\"messages\":[\"#/properties/a/maxLength: "
                        "lowered from 6 to 5 (new schema -> version 2)\"]}");
    set_mode(f, "ft", "FORWARD_TRANSITIVE");
    const char *s5 = "{\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":4}}}";
    assert_string_equal(call(f, 200, "POST", "/compatibility/subjects/ft/versions", body_of(s5)),
                        "{\"is_compatible\":true,\"messages\":[]}");
    /* FULL_TRANSITIVE: only an equivalent schema passes against s1 and s2 together */
    set_mode(f, "ft", "FULL_TRANSITIVE");
    const char *a = call(f, 200, "POST", "/compatibility/subjects/ft/versions", body_of(s5));
    assert_non_null(strstr(a, "\"is_compatible\":false"));
    assert_non_null(strstr(a, "(version 2 -> new schema)"));
    assert_non_null(strstr(a, "(version 1 -> new schema)"));
}

static void test_delete(void **state)
{
    fixture *f = *state;
    set_mode(f, "d", "NONE");
    call(f, 200, "POST", "/subjects/d/versions", body_of("{\"type\":\"string\"}"));
    call(f, 200, "POST", "/subjects/d/versions", body_of("{\"type\":\"integer\"}"));
    call(f, 200, "POST", "/subjects/d/versions", body_of("{\"type\":\"boolean\"}"));
    /* permanent before soft: refused */
    assert_string_equal(call_q(f, 404, "DELETE", "/subjects/d/versions/2", "permanent=true", NULL),
                        "{\"error_code\":40407,\"message\":\"Subject 'd' Version 2 was not "
                        "deleted first before being permanently deleted\"}");
    assert_string_equal(call(f, 200, "DELETE", "/subjects/d/versions/2", NULL), "2");
    assert_string_equal(call(f, 404, "DELETE", "/subjects/d/versions/2", NULL),
                        "{\"error_code\":40406,\"message\":\"Subject 'd' Version 2 was soft "
                        "deleted. Set permanent=true to delete permanently\"}");
    assert_string_equal(call(f, 200, "GET", "/subjects/d/versions", NULL), "[1,3]");
    assert_string_equal(call_q(f, 200, "GET", "/subjects/d/versions", "deleted=true", NULL),
                        "[1,2,3]");
    call(f, 404, "GET", "/subjects/d/versions/2", NULL);
    call_q(f, 200, "GET", "/subjects/d/versions/2", "deleted=true", NULL);
    /* a soft-deleted version's schema stays reachable by id */
    call(f, 200, "GET", "/schemas/ids/2", NULL);
    assert_string_equal(call_q(f, 200, "DELETE", "/subjects/d/versions/2", "permanent=true", NULL),
                        "2");
    call(f, 404, "GET", "/schemas/ids/2", NULL);
    /* latest is 3 */
    assert_non_null(
        strstr(call(f, 200, "GET", "/subjects/d/versions/latest", NULL), "\"version\":3,\"id\":3"));
    /* the whole subject */
    assert_string_equal(call_q(f, 404, "DELETE", "/subjects/d", "permanent=true", NULL),
                        "{\"error_code\":40405,\"message\":\"Subject 'd' was not deleted first "
                        "before being permanently deleted\"}");
    assert_string_equal(call(f, 200, "DELETE", "/subjects/d", NULL), "[1,3]");
    assert_string_equal(call(f, 404, "DELETE", "/subjects/d", NULL),
                        "{\"error_code\":40404,\"message\":\"Subject 'd' was soft deleted. Set "
                        "permanent=true to delete permanently\"}");
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL), "[]");
    assert_string_equal(call_q(f, 200, "GET", "/subjects", "deleted=true", NULL), "[\"d\"]");
    call(f, 404, "GET", "/subjects/d/versions/latest", NULL);
    /* registering again continues the numbering */
    assert_string_equal(
        call(f, 200, "POST", "/subjects/d/versions", body_of("{\"type\":\"null\"}")), "{\"id\":4}");
    assert_string_equal(call(f, 200, "GET", "/subjects/d/versions", NULL), "[4]");
    call(f, 200, "DELETE", "/subjects/d", NULL);
    assert_string_equal(call_q(f, 200, "DELETE", "/subjects/d", "permanent=true", NULL), "[1,3,4]");
    call(f, 404, "DELETE", "/subjects/d", NULL);
    call_q(f, 200, "GET", "/subjects", "deleted=true", NULL);
    assert_string_equal(f->out.ptr, "[]");
    /* numbering restarts after a permanent delete; ids never repeat */
    assert_string_equal(
        call(f, 200, "POST", "/subjects/d/versions", body_of("{\"type\":\"null\"}")), "{\"id\":5}");
    assert_string_equal(call(f, 200, "GET", "/subjects/d/versions", NULL), "[1]");
}

static void test_persistence(void **state)
{
    fixture *f = *state;
    call(f, 200, "POST", "/subjects/a%2Fb/versions", body_of(V1));
    call(f, 200, "POST", "/subjects/a%2Fb/versions", body_of(V2));
    call(f, 200, "PUT", "/config", "{\"compatibility\":\"FORWARD\"}");
    set_mode(f, "c", "FULL");
    call(f, 200, "POST", "/subjects/c/versions", body_of("{\"type\":\"string\"}"));
    call(f, 200, "DELETE", "/subjects/c/versions/1", NULL);
    reopen(f);
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL), "[\"a/b\"]");
    assert_string_equal(call(f, 200, "GET", "/subjects/a%2Fb/versions", NULL), "[1,2]");
    assert_string_equal(call(f, 200, "GET", "/config", NULL),
                        "{\"compatibilityLevel\":\"FORWARD\"}");
    assert_string_equal(call(f, 200, "GET", "/config/c", NULL),
                        "{\"compatibilityLevel\":\"FULL\"}");
    assert_string_equal(call_q(f, 200, "GET", "/subjects/c/versions", "deleted=true", NULL), "[1]");
    assert_string_equal(call(f, 200, "GET", "/subjects/a%2Fb/versions/2/schema", NULL), V2);
    /* ids continue */
    assert_string_equal(
        call(f, 200, "POST", "/subjects/z/versions", body_of("{\"type\":\"null\"}")), "{\"id\":4}");
    const tl_schema *s = NULL;
    int version = 0, id = 0;
    assert_int_equal(tl_registry_latest(f->r, "a/b", 3, &s, &version, &id), 0);
    assert_non_null(s);
    assert_int_equal(version, 2);
    assert_int_equal(id, 2);
    assert_int_equal(tl_registry_latest(f->r, "c", 1, &s, &version, &id), TL_ENOTFOUND);
}

static void test_latest_pointer_survives_delete(void **state)
{
    fixture *f = *state;
    call(f, 200, "POST", "/subjects/e/versions", body_of(V1));
    const tl_schema *s = NULL;
    int version = 0, id = 0;
    assert_int_equal(tl_registry_latest(f->r, "e", 1, &s, &version, &id), 0);
    assert_int_equal(version, 1);
    call(f, 200, "DELETE", "/subjects/e", NULL);
    call_q(f, 200, "DELETE", "/subjects/e", "permanent=true", NULL);
    assert_int_equal(tl_registry_latest(f->r, "e", 1, &s, &version, &id), TL_ENOTFOUND);
    /* the old pointer is still a valid compiled schema */
    tl_arena *a = tl_arena_new(4096);
    tl_json *inst;
    const char *doc = "{\"price\":3}";
    assert_int_equal(tl_json_parse(a, doc, strlen(doc), NULL, &inst, NULL), 0);
    const tl_schema *kept = NULL;
    call(f, 200, "POST", "/subjects/e2/versions", body_of(V1));
    assert_int_equal(tl_registry_latest(f->r, "e2", 2, &kept, NULL, NULL), 0);
    assert_true(tl_schema_validate(kept, inst, NULL, 0, NULL));
    assert_true(tl_schema_validate(s, inst, NULL, 0, NULL));
    tl_arena_free(a);
}

static void test_corrupt_file_refused(void **state)
{
    fixture *f = *state;
    call(f, 200, "POST", "/subjects/s/versions", body_of(V1));
    tl_registry_close(f->r);
    f->r = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/registry.json", f->dir);
    const char *bad = "{\"format\":\"tally-schema-registry\",\"version\":1,\"compatibility\":"
                      "\"BACKWARD\",\"next_id\":2,\"schemas\":[],\"subjects\":[{\"subject\":\"s\","
                      "\"versions\":[{\"version\":1,\"id\":1,\"deleted\":false}]}]}";
    assert_int_equal(tl_write_file_atomic(path, bad, strlen(bad)), 0);
    char err[256];
    assert_int_equal(tl_registry_open(f->dir, &f->r, err, sizeof err), TL_ECORRUPT);
    assert_non_null(strstr(err, "subject 's' versions[0]: bad version or unknown id"));
    assert_int_equal(tl_write_file_atomic(path, "{", 1), 0);
    assert_int_equal(tl_registry_open(f->dir, &f->r, err, sizeof err), TL_ECORRUPT);
    assert_non_null(strstr(err, "not JSON"));
    /* leave a good registry for teardown */
    remove(path);
    assert_int_equal(tl_registry_open(f->dir, &f->r, err, sizeof err), 0);
}

/* When the file cannot be replaced the change is answered 50001 and undone in memory. */
static void test_write_failure_undone(void **state)
{
    fixture *f = *state;
    call(f, 200, "POST", "/subjects/s/versions", body_of("{\"type\":\"string\"}"));
    char path[128], inner[160];
    snprintf(path, sizeof path, "%s/registry.json", f->dir);
    snprintf(inner, sizeof inner, "%s/keep", path);
    /* a non-empty directory where the file was: rename() over it fails */
    assert_int_equal(remove(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    FILE *fp = fopen(inner, "w");
    assert_non_null(fp);
    fclose(fp);
    const char *a = call(f, 500, "POST", "/subjects/t/versions", body_of("{\"type\":\"null\"}"));
    assert_non_null(strstr(a, "{\"error_code\":50001,\"message\":\"Error in the backend data "
                              "store: "));
    call(f, 500, "DELETE", "/subjects/s", NULL);
    call(f, 500, "PUT", "/config", "{\"compatibility\":\"NONE\"}");
    call(f, 500, "PUT", "/config/s", "{\"compatibility\":\"NONE\"}");
    assert_string_equal(call(f, 200, "GET", "/subjects", NULL), "[\"s\"]");
    assert_string_equal(call(f, 200, "GET", "/subjects/s/versions", NULL), "[1]");
    assert_string_equal(call(f, 200, "GET", "/config", NULL),
                        "{\"compatibilityLevel\":\"BACKWARD\"}");
    call(f, 404, "GET", "/config/s", NULL);
    remove(inner);
    remove(path);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    remove(tmp);
    /* the id that failed was not used up */
    assert_string_equal(
        call(f, 200, "POST", "/subjects/t/versions", body_of("{\"type\":\"null\"}")), "{\"id\":2}");
}

typedef struct {
    tl_registry *r;
    int n;
    int fails;
} worker;

static void *writer_main(void *arg)
{
    worker *w = arg;
    char subject[32], path[64], schema[128], body[256];
    snprintf(subject, sizeof subject, "w%d", w->n);
    snprintf(path, sizeof path, "/subjects/%s/versions", subject);
    tl_buf out;
    tl_buf_init(&out);
    for (int i = 1; i <= 20; i++) {
        /* each version widens maxLength: backward compatible */
        snprintf(schema, sizeof schema, "{\\\"type\\\":\\\"string\\\",\\\"maxLength\\\":%d}", i);
        snprintf(body, sizeof body, "{\"schema\":\"%s\"}", schema);
        tl_buf_reset(&out);
        if (tl_registry_handle(w->r, "POST", path, NULL, body, strlen(body), &out) != 200)
            w->fails++;
        const tl_schema *sc;
        int version = 0;
        if (tl_registry_latest(w->r, subject, strlen(subject), &sc, &version, NULL) != 0 ||
            version != i)
            w->fails++;
    }
    tl_buf_deinit(&out);
    return NULL;
}

static void test_concurrent_writers_and_readers(void **state)
{
    fixture *f = *state;
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){f->r, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].fails, 0);
    }
    assert_string_equal(call(f, 200, "GET", "/subjects/w3/versions/latest/schema", NULL),
                        "{\"type\":\"string\",\"maxLength\":20}");
    reopen(f);
    const char *a = call(f, 200, "GET", "/subjects/w0/versions", NULL);
    assert_string_equal(a, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]");
    /* the four writers registered the same 20 texts: they share ids 1..20 */
    a = call(f, 200, "GET", "/schemas/ids/20/subjects", NULL); /* in creation order */
    assert_int_equal(strlen(a), strlen("[\"w0\",\"w1\",\"w2\",\"w3\"]"));
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "\"w%d\"", i);
        assert_non_null(strstr(a, name));
    }
    call(f, 404, "GET", "/schemas/ids/21", NULL);
}

int main(void)
{
    tl_log_set_level(TL_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backward_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transitive_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_pointer_survives_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_undone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_and_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
