/* Unit tests for src/schema/compat.c: every rule of the "new accepts everything old accepts"
 * relation, in both outcomes, with the exact messages; and the mode names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "schema/schema.h"

/* Checks old -> new; expects `ok` and exactly the messages given (NULL-terminated). */
static void expect(const char *older, const char *newer, bool ok, ...)
{
    tl_compat_result res;
    memset(&res, 0, sizeof res);
    int rc = tl_compat_check_text(older, strlen(older), newer, strlen(newer), &res);
    va_list ap;
    va_start(ap, ok);
    size_t i = 0;
    for (const char *m; (m = va_arg(ap, const char *)) != NULL; i++) {
        if (i >= res.n)
            fail_msg("missing message %zu: expected \"%s\"", i, m);
        if (strcmp(res.msg[i], m) != 0)
            fail_msg("message %zu:\n  expected \"%s\"\n  found    \"%s\"", i, m, res.msg[i]);
    }
    va_end(ap);
    if (i != res.n)
        fail_msg("%zu messages expected, found %zu (first extra: \"%s\")", i, res.n, res.msg[i]);
    if (rc != (ok ? 1 : 0))
        fail_msg("expected %s for %s -> %s", ok ? "compatible" : "incompatible", older, newer);
}

static void test_identical_and_trivial(void **state)
{
    (void)state;
    expect("{\"type\":\"object\"}", "{\"type\":\"object\"}", true, NULL);
    expect("{\"type\":\"string\"}", "{}", true, NULL);
    expect("{\"type\":\"string\"}", "true", true, NULL);
    expect("false", "{\"type\":\"string\"}", true, NULL);
    expect("{\"type\":\"string\"}", "{\"description\":\"anything\"}", true, NULL);
    expect("{\"type\":\"string\"}", "false", false, "#: schema now rejects everything (false)",
           NULL);
    expect("true", "{\"type\":\"object\"}", false, "#: type narrowed from any to [object]", NULL);
}

static void test_type(void **state)
{
    (void)state;
    expect("{\"properties\":{\"price\":{\"type\":[\"number\",\"string\"]}}}",
           "{\"properties\":{\"price\":{\"type\":[\"number\"]}}}", false,
           "#/properties/price: type narrowed from [number, string] to [number]", NULL);
    /* widening is fine, integer is a subset of number */
    expect("{\"type\":\"number\"}", "{\"type\":[\"number\",\"string\"]}", true, NULL);
    expect("{\"type\":\"integer\"}", "{\"type\":\"number\"}", true, NULL);
    expect("{\"type\":\"number\"}", "{\"type\":\"integer\"}", false,
           "#: type narrowed from [number] to [integer]", NULL);
}

static void test_enum_const(void **state)
{
    (void)state;
    expect("{\"properties\":{\"plan\":{\"enum\":[\"free\",\"pro\"]}}}",
           "{\"properties\":{\"plan\":{\"enum\":[\"free\"]}}}", false,
           "#/properties/plan/enum: value 'pro' removed", NULL);
    expect("{\"enum\":[\"free\"]}", "{\"enum\":[\"free\",\"pro\"]}", true, NULL);
    expect("{\"enum\":[\"free\",\"pro\"]}", "{\"type\":\"string\",\"maxLength\":3}", false,
           "#/maxLength: value 'free' no longer accepted", NULL);
    expect("{\"const\":1}", "{\"type\":\"integer\",\"minimum\":0}", true, NULL);
    expect("{\"const\":\"a\"}", "{\"const\":\"b\"}", false, "#/const: value 'a' removed", NULL);
    expect("{\"type\":\"string\"}", "{\"enum\":[\"a\"]}", false, "#/enum: added", NULL);
    expect("{\"enum\":[1,\"x\"]}", "{\"type\":\"integer\"}", false,
           "#/type: value 'x' no longer accepted", NULL);
    expect("{\"enum\":[\"ab\"]}", "{\"pattern\":\"^[a-z]+$\"}", true, NULL);
    expect("{\"enum\":[\"AB\"]}", "{\"pattern\":\"^[a-z]+$\"}", false,
           "#/pattern: value 'AB' no longer accepted", NULL);
    expect("{\"enum\":[\"ab\"]}", "{\"pattern\":\"^\\\\w+$\"}", false,
           "#/pattern: cannot prove compatible: value 'ab' not checked against 'pattern'", NULL);
}

static void test_required(void **state)
{
    (void)state;
    expect("{\"type\":\"object\",\"required\":[\"price\"]}",
           "{\"type\":\"object\",\"required\":[\"price\",\"currency\"]}", false,
           "#/required: property 'currency' added to required", NULL);
    expect("{\"type\":\"object\",\"required\":[\"price\",\"currency\"]}",
           "{\"type\":\"object\",\"required\":[\"price\"]}", true, NULL);
}

static void test_properties(void **state)
{
    (void)state;
    /* an optional property added to a closed model is safe; to an open one it is not */
    expect("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
           "\"additionalProperties\":false}",
           "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
           "\"b\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
           true, NULL);
    expect("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}",
           "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
           "\"b\":{\"type\":\"integer\"}}}",
           false,
           "#/properties/b: property added to an open content model (additionalProperties is "
           "not false, so existing data may hold any value there)",
           NULL);
    /* an unconstrained new property is fine even when open */
    expect("{\"type\":\"object\"}", "{\"type\":\"object\",\"properties\":{\"b\":{}}}", true, NULL);
    /* A's additionalProperties schema fits the new property */
    expect("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}",
           "{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"string\"}},"
           "\"additionalProperties\":{\"type\":\"string\"}}",
           true, NULL);
    expect("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}",
           "{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"integer\"}},"
           "\"additionalProperties\":{\"type\":\"string\"}}",
           false, "#/properties/b: type narrowed from [string] to [integer]", NULL);
    /* nested */
    expect("{\"properties\":{\"user\":{\"properties\":{\"name\":{\"maxLength\":100}}}}}",
           "{\"properties\":{\"user\":{\"properties\":{\"name\":{\"maxLength\":50}}}}}", false,
           "#/properties/user/properties/name/maxLength: lowered from 100 to 50", NULL);
    /* removing a property: fine when open, not when closed */
    expect("{\"properties\":{\"x\":{\"type\":\"string\"}}}", "{\"properties\":{}}", true, NULL);
    expect("{\"properties\":{\"x\":{\"type\":\"string\"}}}",
           "{\"properties\":{},\"additionalProperties\":false}", false,
           "#: property 'x' removed while additionalProperties is false",
           "#/additionalProperties: content model closed (was open)", NULL);
    /* a removed property falls under the new additionalProperties schema */
    expect("{\"properties\":{\"x\":{\"type\":\"string\"}}}",
           "{\"additionalProperties\":{\"type\":\"integer\"}}", false,
           "#/properties/x: type narrowed from [string] to [integer]",
           "#/additionalProperties: type narrowed from any to [integer]", NULL);
    /* keys with / and ~ are escaped in the pointer */
    expect("{\"properties\":{\"a/b~c\":{\"type\":\"string\"}}}",
           "{\"properties\":{\"a/b~c\":{\"type\":\"integer\"}}}", false,
           "#/properties/a~1b~0c: type narrowed from [string] to [integer]", NULL);
}

static void test_additional_properties(void **state)
{
    (void)state;
    expect("{\"type\":\"object\"}", "{\"type\":\"object\",\"additionalProperties\":false}", false,
           "#/additionalProperties: content model closed (was open)", NULL);
    expect("{\"type\":\"object\",\"additionalProperties\":false}", "{\"type\":\"object\"}", true,
           NULL);
    expect("{\"additionalProperties\":{\"type\":\"integer\"}}",
           "{\"additionalProperties\":{\"type\":\"number\"}}", true, NULL);
    expect("{\"additionalProperties\":{\"type\":\"number\"}}",
           "{\"additionalProperties\":{\"type\":\"integer\"}}", false,
           "#/additionalProperties: type narrowed from [number] to [integer]", NULL);
}

static void test_numbers(void **state)
{
    (void)state;
    expect("{\"type\":\"number\",\"minimum\":0}", "{\"type\":\"number\",\"minimum\":5}", false,
           "#/minimum: raised from 0 to 5", NULL);
    expect("{\"type\":\"number\",\"minimum\":5}", "{\"type\":\"number\",\"minimum\":0}", true,
           NULL);
    expect("{\"type\":\"number\"}", "{\"type\":\"number\",\"maximum\":10}", false,
           "#/maximum: added (10)", NULL);
    expect("{\"type\":\"number\",\"maximum\":10}", "{\"type\":\"number\",\"maximum\":9.5}", false,
           "#/maximum: lowered from 10 to 9.5", NULL);
    expect("{\"type\":\"number\",\"exclusiveMinimum\":0}", "{\"type\":\"number\",\"minimum\":0}",
           true, NULL);
    expect("{\"type\":\"number\",\"minimum\":0}", "{\"type\":\"number\",\"exclusiveMinimum\":0}",
           false, "#/exclusiveMinimum: raised from minimum 0 to 0", NULL);
    expect("{\"type\":\"number\",\"exclusiveMaximum\":5}",
           "{\"type\":\"number\",\"exclusiveMaximum\":4}", false,
           "#/exclusiveMaximum: lowered from 5 to 4", NULL);
    expect("{\"type\":\"integer\",\"multipleOf\":4}", "{\"type\":\"integer\",\"multipleOf\":2}",
           true, NULL);
    expect("{\"type\":\"integer\",\"multipleOf\":4}", "{\"type\":\"integer\",\"multipleOf\":3}",
           false, "#/multipleOf: changed from 4 to 3 (4 is not a multiple of 3)", NULL);
    expect("{\"type\":\"number\"}", "{\"type\":\"number\",\"multipleOf\":2}", false,
           "#/multipleOf: added (2)", NULL);
    expect("{\"type\":\"integer\"}", "{\"type\":\"integer\",\"multipleOf\":1}", true, NULL);
    /* number keywords are irrelevant when old admits no numbers */
    expect("{\"type\":\"string\"}", "{\"type\":\"string\",\"minimum\":100}", true, NULL);
}

static void test_strings(void **state)
{
    (void)state;
    expect("{\"type\":\"string\",\"maxLength\":100}", "{\"type\":\"string\",\"maxLength\":50}",
           false, "#/maxLength: lowered from 100 to 50", NULL);
    expect("{\"type\":\"string\",\"maxLength\":50}", "{\"type\":\"string\",\"maxLength\":100}",
           true, NULL);
    expect("{\"type\":\"string\"}", "{\"type\":\"string\",\"minLength\":1}", false,
           "#/minLength: added (1)", NULL);
    expect("{\"type\":\"string\",\"minLength\":2}", "{\"type\":\"string\",\"minLength\":3}", false,
           "#/minLength: raised from 2 to 3", NULL);
    expect("{\"type\":\"string\",\"pattern\":\"^a\"}", "{\"type\":\"string\",\"pattern\":\"^a\"}",
           true, NULL);
    expect("{\"type\":\"string\",\"pattern\":\"^a\"}", "{\"type\":\"string\",\"pattern\":\"^b\"}",
           false, "#/pattern: changed from '^a' to '^b'", NULL);
    expect("{\"type\":\"string\"}", "{\"type\":\"string\",\"pattern\":\"^b\"}", false,
           "#/pattern: added ('^b')", NULL);
    expect("{\"type\":\"string\",\"pattern\":\"^b\"}", "{\"type\":\"string\"}", true, NULL);
    /* format is an annotation (draft 2020-12 default; the validator does not assert it) */
    expect("{\"type\":\"string\"}", "{\"type\":\"string\",\"format\":\"email\"}", true, NULL);
}

static void test_arrays(void **state)
{
    (void)state;
    expect("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}",
           "{\"type\":\"array\",\"items\":{\"type\":\"number\"}}", true, NULL);
    expect("{\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}",
           "{\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
           "\"maxLength\":10}}}}",
           false, "#/properties/tags/items/maxLength: added (10)", NULL);
    expect("{\"type\":\"array\"}", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", false,
           "#/items: type narrowed from any to [string]", NULL);
    expect("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
           "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"string\"}]}",
           false, "#/prefixItems/1: type narrowed from [integer] to [string]", NULL);
    expect("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}",
           "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", true, NULL);
    expect("{\"type\":\"array\",\"maxItems\":5}", "{\"type\":\"array\",\"maxItems\":3}", false,
           "#/maxItems: lowered from 5 to 3", NULL);
    expect("{\"type\":\"array\"}", "{\"type\":\"array\",\"minItems\":1}", false,
           "#/minItems: added (1)", NULL);
    expect("{\"type\":\"array\"}", "{\"type\":\"array\",\"uniqueItems\":true}", false,
           "#/uniqueItems: added", NULL);
    expect("{\"type\":\"array\",\"uniqueItems\":true}", "{\"type\":\"array\"}", true, NULL);
}

static void test_object_counts(void **state)
{
    (void)state;
    expect("{\"type\":\"object\",\"maxProperties\":10}",
           "{\"type\":\"object\",\"maxProperties\":5}", false,
           "#/maxProperties: lowered from 10 to 5", NULL);
    expect("{\"type\":\"object\"}", "{\"type\":\"object\",\"minProperties\":1}", false,
           "#/minProperties: added (1)", NULL);
    expect("{\"type\":\"object\",\"minProperties\":2}", "{\"type\":\"object\",\"minProperties\":1}",
           true, NULL);
}

static void test_refs(void **state)
{
    (void)state;
    const char *old_s = "{\"$defs\":{\"money\":{\"type\":\"number\",\"minimum\":0}},"
                        "\"properties\":{\"price\":{\"$ref\":\"#/$defs/money\"}}}";
    const char *same = "{\"properties\":{\"price\":{\"type\":\"number\",\"minimum\":0}}}";
    const char *stricter = "{\"$defs\":{\"m\":{\"type\":\"number\",\"minimum\":1}},"
                           "\"properties\":{\"price\":{\"$ref\":\"#/$defs/m\"}}}";
    expect(old_s, same, true, NULL);
    expect(same, old_s, true, NULL);
    expect(old_s, stricter, false, "#/properties/price/minimum: raised from 0 to 1", NULL);
    expect("{}", "{\"$ref\":\"other.json\"}", false, "#/$ref: cannot resolve 'other.json'", NULL);
    /* recursive schemas terminate */
    const char *tree = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"children\":"
                       "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}}}},"
                       "\"$ref\":\"#/$defs/node\"}";
    expect(tree, tree, true, NULL);
}

static void test_combinators(void **state)
{
    (void)state;
    const char *any2 = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    expect(any2, any2, true, NULL);
    expect("{\"type\":\"string\"}", any2, true, NULL);
    expect(any2, "{\"type\":[\"string\",\"number\"]}", true, NULL);
    expect(any2, "{\"type\":\"string\"}", false,
           "#/anyOf/1: type narrowed from [integer] to [string]", NULL);
    expect("{\"type\":\"boolean\"}", any2, false,
           "#/anyOf: cannot prove compatible (no anyOf branch accepts everything)", NULL);
    const char *one = "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    expect(one, one, true, NULL);
    expect("{\"type\":\"string\"}", one, false, "#/oneOf: cannot prove compatible (oneOf added)",
           NULL);
    expect("{\"allOf\":[{\"type\":\"string\"},{\"maxLength\":5}]}", "{\"type\":\"string\"}", true,
           NULL);
    expect("{\"type\":\"string\"}", "{\"allOf\":[{\"type\":\"string\"},{\"maxLength\":5}]}", false,
           "#/allOf/1/maxLength: added (5)", NULL);
    expect("{\"type\":\"string\"}", "{\"type\":\"string\",\"not\":{\"const\":\"x\"}}", false,
           "#/not: cannot prove compatible (not added)", NULL);
    expect("{\"type\":\"string\",\"not\":{\"const\":\"x\"}}", "{\"type\":\"string\"}", true, NULL);
}

static void test_not_json(void **state)
{
    (void)state;
    tl_compat_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(tl_compat_check_text("{", 1, "{}", 2, &res), TL_EINVAL);
    assert_int_equal(res.n, 1);
    assert_non_null(strstr(res.msg[0], "#: not JSON: "));
}

static void test_many_reasons(void **state)
{
    (void)state;
    tl_buf a, b;
    tl_buf_init(&a);
    tl_buf_init(&b);
    tl_buf_puts(&a, "{\"type\":\"object\",\"required\":[]}");
    tl_buf_puts(&b, "{\"type\":\"object\",\"required\":[");
    for (int i = 0; i < 20; i++)
        tl_buf_printf(&b, "%s\"p%d\"", i ? "," : "", i);
    tl_buf_puts(&b, "]}");
    tl_compat_result res;
    memset(&res, 0, sizeof res);
    assert_int_equal(tl_compat_check_text(a.ptr, a.len, b.ptr, b.len, &res), 0);
    assert_int_equal(res.n, TL_COMPAT_MAX_MESSAGES);
    assert_int_equal(res.more, 20 - TL_COMPAT_MAX_MESSAGES);
    assert_string_equal(res.msg[0], "#/required: property 'p0' added to required");
    tl_buf_deinit(&a);
    tl_buf_deinit(&b);
}

static void test_mode_names(void **state)
{
    (void)state;
    tl_compat_mode m;
    assert_int_equal(tl_compat_mode_parse("full_transitive", 15, &m), 0);
    assert_int_equal(m, TL_COMPAT_FULL_TRANSITIVE);
    assert_string_equal(tl_compat_mode_name(m), "FULL_TRANSITIVE");
    assert_int_equal(tl_compat_mode_parse("NONE", 4, &m), 0);
    assert_int_equal(m, TL_COMPAT_NONE);
    assert_int_equal(tl_compat_mode_parse("FULLY", 5, &m), TL_EINVAL);
    assert_int_equal(tl_compat_mode_parse("FULL", 3, &m), TL_EINVAL); /* "FUL" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_and_trivial),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_enum_const),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_additional_properties),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_object_counts),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_many_reasons),
        cmocka_unit_test(test_mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
