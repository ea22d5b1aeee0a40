/*
 * Unit tests for the JSON Schema validator (src/schema/validator*.c): error contents for
 * event-shaped schemas, compile errors, the draft check, no allocation on the valid path, and
 * concurrent use of one compiled schema. Keyword semantics are covered by test_suite.c.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "schema/schema.h"

static const char ORDER_SCHEMA[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"type\":\"object\",\"required\":[\"price\",\"currency\"],"
    "\"properties\":{"
    "\"price\":{\"type\":\"number\",\"minimum\":0},"
    "\"currency\":{\"enum\":[\"EUR\",\"USD\"]},"
    "\"sku\":{\"type\":\"string\",\"maxLength\":5,\"pattern\":\"^[A-Z][a-z]*$\"},"
    "\"qty\":{\"type\":\"integer\",\"exclusiveMinimum\":0,\"multipleOf\":2},"
    "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"a/b~c\":{\"type\":\"string\"}}}}},"
    "\"additionalProperties\":false}";

typedef struct {
    tl_arena *arena;
    tl_schema *schema;
} fixture;

static tl_schema *compile_ok(const char *text)
{
    tl_schema *s = NULL;
    char err[256] = "";
    int rc = tl_schema_compile(text, strlen(text), &s, err, sizeof err);
    if (rc != 0)
        fail_msg("compile failed: %s", err);
    return s;
}

static const tl_json *parse(tl_arena *a, const char *text)
{
    tl_json *v = NULL;
    assert_int_equal(tl_json_parse(a, text, strlen(text), NULL, &v, NULL), 0);
    return v;
}

static int setup(void **state)
{
    static fixture f;
    f.arena = tl_arena_new(1 << 14);
    f.schema = compile_ok(ORDER_SCHEMA);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tl_schema_free(f->schema);
    tl_arena_free(f->arena);
    return 0;
}

static void test_valid_event(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[4];
    size_t n = 99;
    const tl_json *v = parse(f->arena, "{\"price\":12.5,\"currency\":\"EUR\",\"sku\":\"Abc\","
                                       "\"qty\":4,\"items\":[{\"a/b~c\":\"x\"}]}");
    assert_true(tl_schema_validate(f->schema, v, errs, 4, &n));
    assert_int_equal(n, 0);
    assert_true(tl_schema_validate(f->schema, v, NULL, 0, NULL));
}

static void test_type_error(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[4];
    size_t n = 0;
    const tl_json *v = parse(f->arena, "{\"price\":\"12\",\"currency\":\"EUR\"}");

    assert_false(tl_schema_validate(f->schema, v, errs, 4, &n));
    assert_int_equal(n, 1);
    assert_string_equal(errs[0].pointer, "/price");
    assert_string_equal(errs[0].schema_path, "/properties/price/type");
    assert_string_equal(errs[0].keyword, "type");
    assert_string_equal(errs[0].expected, "number");
    assert_string_equal(errs[0].found, "string \"12\"");
    assert_string_equal(errs[0].message, "/price: expected number, found string \"12\"");
}

static void test_required_and_enum(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[4];
    size_t n = 0;
    const tl_json *v = parse(f->arena, "{\"price\":1}");

    assert_false(tl_schema_validate(f->schema, v, errs, 4, &n));
    assert_int_equal(n, 1);
    assert_string_equal(errs[0].pointer, "");
    assert_string_equal(errs[0].keyword, "required");
    assert_string_equal(errs[0].schema_path, "/required");
    assert_string_equal(errs[0].expected, "property \"currency\"");
    assert_string_equal(errs[0].found, "nothing");
    assert_string_equal(errs[0].message, "/: missing required property \"currency\"");

    v = parse(f->arena, "{\"price\":1,\"currency\":\"GBP\"}");
    assert_false(tl_schema_validate(f->schema, v, errs, 4, &n));
    assert_int_equal(n, 1);
    assert_string_equal(errs[0].pointer, "/currency");
    assert_string_equal(errs[0].keyword, "enum");
    assert_string_equal(errs[0].expected, "one of [\"EUR\",\"USD\"]");
    assert_string_equal(errs[0].found, "string \"GBP\"");
    assert_string_equal(errs[0].message,
                        "/currency: expected one of [\"EUR\",\"USD\"], found string \"GBP\"");
}

static void test_sibling_errors_collected(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[8];
    size_t n = 0;
    const tl_json *v = parse(f->arena, "{\"price\":-1,\"currency\":\"EUR\",\"sku\":\"abcdefg\","
                                       "\"qty\":3,\"extra\":true,\"items\":[{},{\"a/b~c\":1}]}");

    assert_false(tl_schema_validate(f->schema, v, errs, 8, &n));
    assert_int_equal(n, 6);
    assert_string_equal(errs[0].keyword, "minimum");
    assert_string_equal(errs[0].expected, "number >= 0");
    assert_string_equal(errs[0].found, "number -1");
    assert_string_equal(errs[1].pointer, "/sku");
    assert_string_equal(errs[1].keyword, "maxLength");
    assert_string_equal(errs[1].expected, "at most 5 characters");
    assert_string_equal(errs[1].found, "string of 7 characters");
    assert_string_equal(errs[2].pointer, "/sku");
    assert_string_equal(errs[2].keyword, "pattern");
    assert_string_equal(errs[2].expected, "string matching \"^[A-Z][a-z]*$\"");
    assert_string_equal(errs[3].pointer, "/qty");
    assert_string_equal(errs[3].keyword, "multipleOf");
    assert_string_equal(errs[3].expected, "a multiple of 2");
    assert_string_equal(errs[4].pointer, "/extra");
    assert_string_equal(errs[4].keyword, "additionalProperties");
    assert_string_equal(errs[4].schema_path, "/additionalProperties");
    assert_non_null(strstr(errs[4].message, "\"extra\" not allowed"));
    /* ~ and / in keys are escaped in the pointer */
    assert_string_equal(errs[5].pointer, "/items/1/a~1b~0c");
    assert_string_equal(errs[5].schema_path, "/properties/items/items/properties/a~1b~0c/type");
    assert_string_equal(errs[5].found, "number 1");

    /* max_errors caps what is written; validity does not change */
    assert_false(tl_schema_validate(f->schema, v, errs, 2, &n));
    assert_int_equal(n, 2);
    assert_string_equal(errs[1].keyword, "maxLength");
    assert_false(tl_schema_validate(f->schema, v, NULL, 0, &n));
    assert_int_equal(n, 0);
}

static void test_code_points(void **state)
{
    fixture *f = *state;
    tl_schema *s = compile_ok("{\"maxLength\":5,\"minLength\":5}");
    /* "héllo" is 6 bytes, 5 code points; U+1F600 is 4 bytes, 1 code point */
    assert_true(tl_schema_validate(s, parse(f->arena, "\"h\\u00e9llo\""), NULL, 0, NULL));
    assert_true(tl_schema_validate(s, parse(f->arena, "\"\\ud83d\\ude00abcd\""), NULL, 0, NULL));
    assert_false(tl_schema_validate(s, parse(f->arena, "\"h\\u00e9ll\""), NULL, 0, NULL));
    assert_false(tl_schema_validate(s, parse(f->arena, "\"h\\u00e9llos\""), NULL, 0, NULL));
    tl_schema_free(s);
}

static void test_combinators_report_once(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[8];
    size_t n = 0;
    tl_schema *s = compile_ok(
        "{\"properties\":{\"id\":{\"anyOf\":[{\"type\":\"string\",\"minLength\":3},"
        "{\"type\":\"integer\",\"minimum\":10}]},\"k\":{\"oneOf\":[{\"type\":\"number\"},"
        "{\"type\":\"integer\"}]},\"n\":{\"not\":{\"type\":\"null\"}}}}");

    assert_false(
        tl_schema_validate(s, parse(f->arena, "{\"id\":5,\"k\":3,\"n\":null}"), errs, 8, &n));
    assert_int_equal(n, 3);
    assert_string_equal(errs[0].pointer, "/id");
    assert_string_equal(errs[0].keyword, "anyOf");
    assert_string_equal(errs[0].schema_path, "/properties/id/anyOf");
    assert_string_equal(errs[0].found, "number 5");
    assert_string_equal(errs[1].keyword, "oneOf");
    assert_string_equal(errs[1].found, "matches of schemas 0 and 1");
    assert_string_equal(errs[2].keyword, "not");
    assert_string_equal(errs[2].pointer, "/n");
    assert_true(
        tl_schema_validate(s, parse(f->arena, "{\"id\":\"abc\",\"k\":3.5,\"n\":1}"), errs, 8, &n));
    tl_schema_free(s);
}

static void test_unevaluated_and_refs(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[4];
    size_t n = 0;
    tl_schema *s =
        compile_ok("{\"$defs\":{\"base\":{\"properties\":{\"name\":{\"type\":\"string\"}}}},"
                   "\"$ref\":\"#/$defs/base\",\"properties\":{\"age\":{\"type\":\"integer\"}},"
                   "\"unevaluatedProperties\":false}");

    assert_true(tl_schema_validate(s, parse(f->arena, "{\"name\":\"a\",\"age\":3}"), errs, 4, &n));
    assert_false(tl_schema_validate(s, parse(f->arena, "{\"name\":\"a\",\"zip\":3}"), errs, 4, &n));
    assert_int_equal(n, 1);
    assert_string_equal(errs[0].pointer, "/zip");
    assert_string_equal(errs[0].keyword, "unevaluatedProperties");
    /* an error inside a $ref target carries the target's schema path */
    assert_false(tl_schema_validate(s, parse(f->arena, "{\"name\":1}"), errs, 4, &n));
    assert_int_equal(n, 1);
    assert_string_equal(errs[0].schema_path, "/$defs/base/properties/name/type");
    tl_schema_free(s);
}

static void test_refs_into_unknown_keywords_and_ecma_patterns(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[2];
    size_t n = 0;
    /* draft-07 style "definitions" is not a 2020-12 keyword, but a JSON pointer may reach it */
    tl_schema *s = compile_ok(
        "{\"definitions\":{\"name\":{\"type\":\"string\",\"pattern\":\"^\\\\p{Letter}+$\"}},"
        "\"properties\":{\"n\":{\"$ref\":\"#/definitions/name\"}}}");
    assert_true(tl_schema_validate(s, parse(f->arena, "{\"n\":\"\u00e9t\u00e9\"}"), errs, 2, &n));
    assert_false(tl_schema_validate(s, parse(f->arena, "{\"n\":\"a1\"}"), errs, 2, &n));
    assert_int_equal(n, 1);
    assert_string_equal(errs[0].keyword, "pattern");
    assert_string_equal(errs[0].schema_path, "/definitions/name/pattern");
    assert_string_equal(errs[0].pointer, "/n");
    tl_schema_free(s);
}

static void test_endless_recursion_fails_cleanly(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[2];
    size_t n = 0;
    tl_schema *s = compile_ok("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
                              "\"b\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}");
    assert_false(tl_schema_validate(s, parse(f->arena, "1"), errs, 2, &n));
    assert_int_equal(n, 1);
    assert_non_null(strstr(errs[0].message, "recursion"));
    tl_schema_free(s);
}

static void expect_compile_error(const char *text, const char *needle)
{
    tl_schema *s = (tl_schema *)1;
    char err[256] = "";
    assert_int_equal(tl_schema_compile(text, strlen(text), &s, err, sizeof err), TL_EINVAL);
    assert_null(s);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_compile_error("{\"type\":5}",
                         "schema at /: \"type\" must be a string or an array of strings, found "
                         "number");
    expect_compile_error("{\"properties\":{\"a\":{\"type\":\"text\"}}}",
                         "schema at /properties/a: \"type\" names an unknown type \"text\"");
    expect_compile_error("{\"pattern\":\"^(ab\"}", "pattern \"^(ab\" is not a valid regular "
                                                   "expression");
    expect_compile_error("{\"patternProperties\":{\"[a-\":true}}", "\"[a-\"");
    expect_compile_error("{\"minLength\":-1}", "\"minLength\" must be a non-negative integer");
    expect_compile_error("{\"maxItems\":1.5}", "\"maxItems\" must be a non-negative integer");
    expect_compile_error("{\"multipleOf\":0}", "\"multipleOf\" must be greater than 0");
    expect_compile_error("{\"required\":[\"a\",\"a\"]}", "\"required\" must be an array of "
                                                         "distinct strings");
    expect_compile_error("{\"allOf\":[]}", "\"allOf\" must be a non-empty array of schemas");
    expect_compile_error("{\"items\":3}", "schema at /items: a schema must be an object or a "
                                          "boolean, found number");
    expect_compile_error("{\"$ref\":\"#/$defs/missing\"}", "names nothing");
    expect_compile_error("{\"$ref\":\"#nowhere\"}", "no anchor \"nowhere\"");
    expect_compile_error("{\"$ref\":\"https://example.com/other.json\"}",
                         "cannot load remote schema \"https://example.com/other.json\"");
    expect_compile_error("{\"type\":", "schema is not valid JSON");
    expect_compile_error("{\"$anchor\":\"1bad\"}", "\"$anchor\" must be a plain name");
}

static void test_draft_mismatch(void **state)
{
    (void)state;
    expect_compile_error("{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}",
                         "unsupported \"$schema\" \"http://json-schema.org/draft-07/schema#\"");
    expect_compile_error("{\"properties\":{\"a\":{\"$id\":\"x\",\"$schema\":"
                         "\"https://json-schema.org/draft/2019-09/schema\"}}}",
                         "schema at /properties/a: unsupported \"$schema\"");
    tl_schema_free(compile_ok("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema#\"}"));
    tl_schema_free(compile_ok("true"));
}

static void test_meta_schema_ref(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[2];
    size_t n = 0;
    tl_schema *s = compile_ok("{\"$ref\":\"https://json-schema.org/draft/2020-12/schema\"}");
    assert_true(tl_schema_validate(s, parse(f->arena, "{\"type\":\"string\"}"), errs, 2, &n));
    assert_false(tl_schema_validate(s, parse(f->arena, "{\"type\":\"strong\"}"), errs, 2, &n));
    assert_int_equal(n, 1);
    assert_non_null(strstr(errs[0].found, "unknown type \"strong\""));
    tl_schema_free(s);
}

static void test_no_allocation_when_valid(void **state)
{
    fixture *f = *state;
    tl_schema_error errs[4];
    size_t n = 0, before;
    int i;
    const tl_json *v = parse(f->arena, "{\"price\":12.5,\"currency\":\"USD\",\"sku\":\"Ab\","
                                       "\"qty\":2,\"items\":[{\"a/b~c\":\"x\"},{}]}");

    before = tl_alloc_used();
    for (i = 0; i < 100; i++)
        assert_true(tl_schema_validate(f->schema, v, errs, 4, &n));
    assert_int_equal(tl_alloc_used(), before);
    /* stronger: with every allocation failing, validation still succeeds */
    tl_alloc_fail_after(1);
    for (i = 0; i < 10; i++)
        assert_true(tl_schema_validate(f->schema, v, errs, 4, &n));
    tl_alloc_fail_after(0);
    assert_int_equal(n, 0);
}

typedef struct {
    const tl_schema *s;
    const tl_json *good, *bad;
    int failures;
} thread_arg;

static void *worker(void *p)
{
    thread_arg *t = p;
    tl_schema_error errs[4];
    size_t n;
    for (int i = 0; i < 20000; i++) {
        if (!tl_schema_validate(t->s, t->good, errs, 4, &n))
            t->failures++;
        if (tl_schema_validate(t->s, t->bad, errs, 4, &n) || n != 2 ||
            strcmp(errs[0].pointer, "/price") != 0)
            t->failures++;
    }
    return NULL;
}

static void test_threads_share_a_schema(void **state)
{
    fixture *f = *state;
    pthread_t th[4];
    thread_arg args[4];
    const tl_json *good = parse(f->arena, "{\"price\":1,\"currency\":\"EUR\",\"sku\":\"Xy\"}");
    const tl_json *bad = parse(f->arena, "{\"price\":\"1\",\"currency\":\"EUR\",\"sku\":\"xy\"}");
    int i;

    for (i = 0; i < 4; i++) {
        args[i] = (thread_arg){f->schema, good, bad, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_event),
        cmocka_unit_test(test_type_error),
        cmocka_unit_test(test_required_and_enum),
        cmocka_unit_test(test_sibling_errors_collected),
        cmocka_unit_test(test_code_points),
        cmocka_unit_test(test_combinators_report_once),
        cmocka_unit_test(test_unevaluated_and_refs),
        cmocka_unit_test(test_refs_into_unknown_keywords_and_ecma_patterns),
        cmocka_unit_test(test_endless_recursion_fails_cleanly),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_draft_mismatch),
        cmocka_unit_test(test_meta_schema_ref),
        cmocka_unit_test(test_no_allocation_when_valid),
        cmocka_unit_test(test_threads_share_a_schema),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
