/*
 * libFuzzer driver for the JSON reader and writer.
 *
 * Each input is parsed twice: with default limits and with tight ones (so the
 * limit paths run too). Whatever parses must re-serialize to text that parses
 * again and re-serializes to the same bytes; a failure must leave an offset
 * inside the input and a message. Build and run (clang):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Isrc \
 *       fuzz/json/fuzz_json.c src/json/json.c src/base/[a-z]*.c -lxxhash -lm -pthread \
 *       -o build/fuzz_json
 *   build/fuzz_json -dict=fuzz/json/json.dict fuzz/json/seeds
 */
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(tl_arena *a, const char *s, size_t n, const tl_json_limits *lim)
{
    tl_json *v = NULL, *v2 = NULL;
    tl_json_error err;
    int rc = tl_json_parse(a, s, n, lim, &v, &err);
    if (rc != 0) {
        if (err.offset > n || err.msg[0] == '\0' || err.code == 0)
            abort();
        return;
    }
    tl_buf b1, b2;
    tl_buf_init(&b1);
    tl_buf_init(&b2);
    if (tl_json_write_value(&b1, v) != 0)
        abort();
    if (tl_json_parse(a, b1.ptr, b1.len, NULL, &v2, &err) != 0 && err.code == TL_JSON_ESYNTAX)
        abort();
    if (v2) {
        if (tl_json_write_value(&b2, v2) != 0)
            abort();
        if (b1.len != b2.len || memcmp(b1.ptr, b2.ptr, b1.len) != 0)
            abort();
    }
    tl_buf_deinit(&b1);
    tl_buf_deinit(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const tl_json_limits tight = {.max_depth = 4, .max_string_len = 16, .max_members = 4};
    tl_arena *a = tl_arena_new(4096);
    if (!a)
        return 0;
    check(a, (const char *)data, size, NULL);
    tl_arena_reset(a);
    check(a, (const char *)data, size, &tight);
    tl_arena_free(a);
    return 0;
}
