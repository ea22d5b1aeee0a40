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
    /* names matching A's patternProperties may be present even when A is otherwise closed */
    expect("{\"patternProperties\":{\"^x\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
           "{\"properties\":{\"xa\":{\"type\":\"string\"}},\"patternProperties\":{\"^x\":"
           "{\"type\":\"integer\"}},\"additionalProperties\":false}",
           false,
           "#/properties/xa: cannot prove compatible (property added where patternProperties may "
           "already match it)",
           NULL);
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
    /* a $ref that only leads to itself constrains nothing provable */
    expect("{\"type\":\"string\"}",
           "{\"$defs\":{\"d\":{\"$ref\":\"#/$defs/d\"}},\"$ref\":\"#/$defs/d\"}", false,
           "#/$ref: cannot prove compatible ($ref cycle)", NULL);
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
    /* oneOf is proven through disjoint types only */
    expect("{\"type\":\"string\"}", one, true, NULL);
    expect("{\"type\":\"string\"}", "{\"oneOf\":[{\"type\":\"string\"},{\"maxLength\":5}]}", false,
           "#/oneOf: cannot prove compatible (no oneOf branch is provably the only one to accept "
           "everything)",
           NULL);
    /* a nullable type against the union form, split by type */
    const char *nullable = "{\"type\":[\"string\",\"null\"],\"maxLength\":3}";
    expect(nullable, "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", true, NULL);
    expect(nullable, "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", true, NULL);
    expect(nullable, "{\"anyOf\":[{\"type\":\"string\",\"maxLength\":2},{\"type\":\"null\"}]}",
           false, "#/anyOf: cannot prove compatible (no anyOf branch accepts everything)", NULL);
    expect("{\"type\":[\"integer\",\"string\"]}",
           "{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"string\"}]}", true, NULL);
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

/* ---- property check: whenever the checker says "compatible", no instance tells otherwise ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t noise_state = 0x2545F4914F6CDD1Dull;
static bool noise; /* while set, about one decision in six is changed: B is A perturbed */

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static unsigned rnd(unsigned n)
{
    unsigned r = (unsigned)(xorshift(&rng_state) % n);
    if (noise && xorshift(&noise_state) % 6 == 0)
        r = (unsigned)(xorshift(&noise_state) % n);
    return r;
}

static void gen_schema(tl_buf *b, int depth)
{
    static const char *const types[] = {"\"string\"", "\"integer\"", "\"number\"",
                                        "\"object\"", "\"array\"",   "[\"string\",\"null\"]"};
    if (rnd(10) == 0) {
        tl_buf_puts(b, rnd(2) ? "true" : "false");
        return;
    }
    if (depth > 0 && rnd(8) == 0) {
        tl_buf_puts(b, "{\"$ref\":\"#/$defs/d\"}");
        return;
    }
    tl_buf_putc(b, '{');
    bool first = true;
#define SEP() (first ? (first = false, "") : ",")
    if (depth == 0) {
        tl_buf_printf(b, "%s\"$defs\":{\"d\":", SEP());
        gen_schema(b, 2);
        tl_buf_putc(b, '}');
    }
    static const char *const patterns[] = {"^a", "b$", "^[a-c]+$"};
    if (rnd(8) == 0)
        tl_buf_printf(b, "%s\"pattern\":\"%s\"", SEP(), patterns[rnd(3)]);
    if (rnd(12) == 0)
        tl_buf_printf(b, "%s\"const\":%s", SEP(), rnd(2) ? "\"a\"" : "1");
    if (rnd(8) == 0)
        tl_buf_printf(b, "%s\"uniqueItems\":true", SEP());
    if (rnd(8) == 0)
        tl_buf_printf(b, "%s\"%s\":%u", SEP(), rnd(2) ? "minProperties" : "maxProperties", rnd(3));
    if (depth < 2 && rnd(6) == 0) {
        tl_buf_printf(b, "%s\"prefixItems\":[", SEP());
        gen_schema(b, depth + 1);
        tl_buf_putc(b, ',');
        gen_schema(b, depth + 1);
        tl_buf_putc(b, ']');
    }
    if (depth < 2 && rnd(10) == 0) {
        tl_buf_printf(b, "%s\"not\":", SEP());
        gen_schema(b, 2);
    }
    if (depth < 2 && rnd(8) == 0) {
        tl_buf_printf(b, "%s\"patternProperties\":{\"^a\":", SEP());
        gen_schema(b, 2);
        tl_buf_putc(b, '}');
    }
    if (depth < 2 && rnd(12) == 0) {
        tl_buf_printf(b, "%s\"contains\":", SEP());
        gen_schema(b, 2);
    }
    if (depth < 2 && rnd(12) == 0) {
        tl_buf_printf(b, "%s\"if\":", SEP());
        gen_schema(b, 2);
        tl_buf_puts(b, ",\"then\":");
        gen_schema(b, 2);
    }
    if (depth < 1 && rnd(8) == 0) {
        tl_buf_printf(b, "%s\"allOf\":[", SEP());
        gen_schema(b, depth + 1);
        tl_buf_putc(b, ',');
        gen_schema(b, depth + 1);
        tl_buf_putc(b, ']');
    }
    if (rnd(3))
        tl_buf_printf(b, "%s\"type\":%s", SEP(), types[rnd(TL_ARRAY_LEN(types))]);
    if (rnd(4) == 0)
        tl_buf_printf(b, "%s\"minimum\":%u", SEP(), rnd(4));
    if (rnd(4) == 0)
        tl_buf_printf(b, "%s\"exclusiveMaximum\":%u", SEP(), rnd(6));
    if (rnd(5) == 0)
        tl_buf_printf(b, "%s\"multipleOf\":%u", SEP(), 1 + rnd(3));
    if (rnd(4) == 0)
        tl_buf_printf(b, "%s\"maxLength\":%u", SEP(), rnd(4));
    if (rnd(5) == 0)
        tl_buf_printf(b, "%s\"minLength\":%u", SEP(), rnd(3));
    if (rnd(6) == 0)
        tl_buf_printf(b, "%s\"enum\":[\"a\",1,null%s]", SEP(), rnd(2) ? ",\"ab\"" : "");
    if (rnd(5) == 0)
        tl_buf_printf(b, "%s\"required\":[\"a\"%s]", SEP(), rnd(2) ? ",\"b\"" : "");
    if (rnd(5) == 0)
        tl_buf_printf(b, "%s\"maxItems\":%u", SEP(), rnd(3));
    if (depth < 2 && rnd(3) == 0) {
        tl_buf_printf(b, "%s\"properties\":{\"a\":", SEP());
        gen_schema(b, depth + 1);
        if (rnd(2)) {
            tl_buf_puts(b, ",\"b\":");
            gen_schema(b, depth + 1);
        }
        tl_buf_putc(b, '}');
    }
    if (depth < 2 && rnd(4) == 0) {
        tl_buf_printf(b, "%s\"additionalProperties\":", SEP());
        gen_schema(b, depth + 1);
    }
    if (depth < 2 && rnd(4) == 0) {
        tl_buf_printf(b, "%s\"items\":", SEP());
        gen_schema(b, depth + 1);
    }
    if (depth < 1 && rnd(6) == 0) {
        tl_buf_printf(b, "%s\"%s\":[", SEP(), rnd(2) ? "anyOf" : "oneOf");
        gen_schema(b, depth + 1);
        tl_buf_putc(b, ',');
        gen_schema(b, depth + 1);
        tl_buf_putc(b, ']');
    }
#undef SEP
    tl_buf_putc(b, '}');
}

static void gen_value(tl_buf *b, int depth)
{
    static const char *const scalars[] = {
        "null", "true", "0",    "1",     "2",      "3",          "4",     "5",
        "-1",   "1.5",  "\"\"", "\"a\"", "\"ab\"", "\"abcdef\"", "\"b\"", "\"cab\""};
    unsigned k = rnd(depth < 2 ? 20 : 16);
    if (k < 16) {
        tl_buf_puts(b, scalars[k]);
    } else if (k < 18) {
        tl_buf_putc(b, '[');
        for (unsigned i = 0, n = rnd(4); i < n; i++) {
            if (i)
                tl_buf_putc(b, ',');
            gen_value(b, depth + 1);
        }
        tl_buf_putc(b, ']');
    } else {
        static const char *const keys[] = {"a", "b", "c"};
        tl_buf_putc(b, '{');
        bool first = true;
        for (unsigned i = 0; i < 3; i++) {
            if (rnd(2))
                continue;
            tl_buf_printf(b, "%s\"%s\":", first ? "" : ",", keys[i]);
            first = false;
            gen_value(b, depth + 1);
        }
        tl_buf_putc(b, '}');
    }
}

static void test_random_pairs_are_sound(void **state)
{
    (void)state;
    int proven = 0;
    tl_buf sa, sb, v;
    tl_buf_init(&sa);
    tl_buf_init(&sb);
    tl_buf_init(&v);
    tl_arena *arena = tl_arena_new(1 << 16);
    for (int iter = 0; iter < 20000; iter++) {
        tl_buf_reset(&sa);
        tl_buf_reset(&sb);
        /* B: A perturbed (same decisions, a few changed), so both answers are common */
        uint64_t saved = rng_state;
        gen_schema(&sa, 0);
        uint64_t after = rng_state;
        rng_state = saved;
        noise = true;
        gen_schema(&sb, 0);
        noise = false;
        rng_state = after;
        if (strcmp(sa.ptr, sb.ptr) == 0)
            continue;
        tl_compat_result res;
        memset(&res, 0, sizeof res);
        if (tl_compat_check_text(sa.ptr, sa.len, sb.ptr, sb.len, &res) != 1)
            continue;
        tl_schema *a = NULL, *b = NULL;
        char err[256];
        if (tl_schema_compile(sa.ptr, sa.len, &a, err, sizeof err) != 0 ||
            tl_schema_compile(sb.ptr, sb.len, &b, err, sizeof err) != 0) {
            tl_schema_free(a);
            continue;
        }
        proven++;
        for (int k = 0; k < 60; k++) {
            tl_buf_reset(&v);
            gen_value(&v, 0);
            tl_arena_reset(arena);
            tl_json *inst;
            assert_int_equal(tl_json_parse(arena, v.ptr, v.len, NULL, &inst, NULL), 0);
            if (tl_schema_validate(a, inst, NULL, 0, NULL) &&
                !tl_schema_validate(b, inst, NULL, 0, NULL))
                fail_msg("said compatible, but %s is valid under\n  %s\nand not under\n  %s", v.ptr,
                         sa.ptr, sb.ptr);
        }
        tl_schema_free(a);
        tl_schema_free(b);
    }
    assert_true(proven > 500); /* the property was exercised */
    tl_arena_free(arena);
    tl_buf_deinit(&sa);
    tl_buf_deinit(&sb);
    tl_buf_deinit(&v);
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
        cmocka_unit_test(test_random_pairs_are_sound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
