/*
 * bench_schema — validations per second of a typical event's `properties`
 * (10 members: strings, numbers, a boolean, an enum, a nested object, an
 * array) against a 10-property schema with types, required, enum, minimum,
 * maxLength, pattern-free, additionalProperties:false. One core; the instance is
 * parsed once, as the collector hands the validator an already parsed tree.
 *
 * Also times an invalid instance with error collection (3 errors), the path
 * taken for dead-lettered events.
 *
 * Usage: bench_schema [seconds per case, default 2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema.h"

static const char SCHEMA[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"type\":\"object\","
    "\"required\":[\"order_id\",\"total\",\"currency\",\"products\"],"
    "\"additionalProperties\":false,"
    "\"properties\":{"
    "\"order_id\":{\"type\":\"string\",\"maxLength\":64},"
    "\"affiliation\":{\"type\":\"string\",\"maxLength\":100},"
    "\"total\":{\"type\":\"number\",\"minimum\":0},"
    "\"revenue\":{\"type\":\"number\",\"minimum\":0},"
    "\"shipping\":{\"type\":\"number\",\"minimum\":0},"
    "\"quantity\":{\"type\":\"integer\",\"minimum\":1},"
    "\"gift\":{\"type\":\"boolean\"},"
    "\"currency\":{\"enum\":[\"EUR\",\"USD\",\"GBP\",\"JPY\"]},"
    "\"coupon\":{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\",\"maxLength\":"
    "32},\"discount\":{\"type\":\"number\",\"minimum\":0}},\"required\":[\"code\"]},"
    "\"products\":{\"type\":\"array\",\"maxItems\":50,\"items\":{\"type\":\"string\","
    "\"maxLength\":40}}}}";

static const char VALID[] =
    "{\"order_id\":\"50314b8e9bcf000000000000\",\"affiliation\":\"Google Store\","
    "\"total\":27.5,\"revenue\":25.0,\"shipping\":3,\"quantity\":2,\"gift\":false,"
    "\"currency\":\"USD\",\"coupon\":{\"code\":\"hasbros\",\"discount\":2.5},"
    "\"products\":[\"507f1f77bcf86cd799439011\",\"505bd76785ebb509fc183733\"]}";

static const char INVALID[] =
    "{\"order_id\":\"50314b8e9bcf000000000000\",\"affiliation\":\"Google Store\","
    "\"total\":\"27.5\",\"revenue\":25.0,\"shipping\":3,\"quantity\":0,\"gift\":false,"
    "\"currency\":\"CHF\",\"coupon\":{\"code\":\"hasbros\",\"discount\":2.5},"
    "\"products\":[\"507f1f77bcf86cd799439011\",\"505bd76785ebb509fc183733\"]}";

static double run(const tl_schema *s, const tl_json *v, double seconds, bool want, size_t max_errs)
{
    tl_schema_error errs[8];
    size_t n = 0;
    uint64_t iters = 0, batch = 10000;
    int64_t t0 = tl_mono_ns(), t1;

    do {
        for (uint64_t i = 0; i < batch; i++) {
            if (tl_schema_validate(s, v, max_errs ? errs : NULL, max_errs, &n) != want) {
                fprintf(stderr, "unexpected validation result\n");
                exit(1);
            }
        }
        iters += batch;
        t1 = tl_mono_ns();
    } while ((double)(t1 - t0) < seconds * 1e9);
    return (double)iters / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
    tl_schema *s = NULL;
    tl_arena *a = tl_arena_new(1 << 16);
    tl_json *valid = NULL, *invalid = NULL;
    char err[256];
    size_t before;
    double r;

    if (!a || tl_schema_compile(SCHEMA, sizeof SCHEMA - 1, &s, err, sizeof err) != 0) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }
    if (tl_json_parse(a, VALID, sizeof VALID - 1, NULL, &valid, NULL) != 0 ||
        tl_json_parse(a, INVALID, sizeof INVALID - 1, NULL, &invalid, NULL) != 0) {
        fprintf(stderr, "parse failed\n");
        return 1;
    }
    before = tl_alloc_used();
    r = run(s, valid, seconds, true, 0);
    printf("schema validate, valid 10-property event: %.0f validations/s (%.0f ns each), "
           "heap bytes allocated during the run: %zu\n",
           r, 1e9 / r, tl_alloc_used() - before);
    r = run(s, valid, seconds, true, 8);
    printf("schema validate, valid event, error array passed: %.0f validations/s\n", r);
    r = run(s, invalid, seconds, false, 8);
    printf("schema validate, invalid event, 3 errors collected: %.0f validations/s\n", r);
    r = run(s, invalid, seconds, false, 0);
    printf("schema validate, invalid event, validity only: %.0f validations/s\n", r);
    tl_schema_free(s);
    tl_arena_free(a);
    return 0;
}
