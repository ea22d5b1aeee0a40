/* Unit tests for src/config: defaults, the JSON file, and write keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static int load(tl_config *c, const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/tally-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = tl_config_load(c, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_defaults(void **state)
{
    tl_config c;
    tl_config_init(&c);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_int_equal(c.max_body_bytes, 512000);
    assert_int_equal(c.max_event_bytes, 32768);
    assert_int_equal(c.n_sites, 0);
    assert_int_equal(tl_config_set_listen(&c, "0.0.0.0:0"), 0);
    assert_int_equal(c.listen_port, 0);
    assert_int_equal(tl_config_set_listen(&c, "nohost"), TL_EINVAL);
    assert_int_equal(tl_config_set_listen(&c, "h:99999"), TL_EINVAL);
    tl_config_deinit(&c);
}

static void test_file(void **state)
{
    tl_config c;
    char err[256];
    tl_config_init(&c);
    assert_int_equal(load(&c,
                          "{\"listen\":\"127.0.0.1:9000\",\"sites\":[{\"id\":\"shop.example\","
                          "\"write_keys\":[\"k1\",\"k2\"]},{\"id\":\"blog.example\",\"write_keys\":"
                          "[\"k3\"],\"strict\":true}],\"enrich\":{\"geoip_db\":\"/tmp/"
                          "geo.mmdb\"},\"ingest\":{\"max_event_bytes\":1000,"
                          "\"dedup_horizon_seconds\":60},\"journal\":{\"partitions\":2,\"fsync\":"
                          "\"interval\",\"retention_hours\":2}}",
                          err, sizeof err),
                     0);
    assert_int_equal(c.listen_port, 9000);
    assert_int_equal(c.n_sites, 2);
    assert_int_equal(c.max_event_bytes, 1000);
    assert_true(c.dedup_horizon_ms == 60000);
    assert_int_equal(c.journal.partitions, 2);
    assert_int_equal(c.journal.fsync, TL_FSYNC_INTERVAL);
    assert_true(c.journal.retention_ms == 7200000);
    const tl_site *s = tl_config_site_for_key(&c, "k2", 2);
    assert_non_null(s);
    assert_string_equal(s->id, "shop.example");
    assert_null(tl_config_site_for_key(&c, "k", 1));
    assert_true(tl_config_has_site(&c, "blog.example", 12));
    assert_true(tl_config_site_strict(&c, "blog.example", 12));
    assert_false(tl_config_site_strict(&c, "shop.example", 12));
    assert_string_equal(c.geoip_db, "/tmp/geo.mmdb");
    assert_false(tl_config_has_site(&c, "blog", 4));
    tl_config_deinit(&c);
}

static void expect_error(const char *text, const char *words)
{
    tl_config c;
    char err[256] = "";
    tl_config_init(&c);
    assert_int_not_equal(load(&c, text, err, sizeof err), 0);
    if (!strstr(err, words))
        fail_msg("error '%s' lacks '%s'", err, words);
    tl_config_deinit(&c);
}

static void test_errors(void **state)
{
    expect_error("{\"ingest\":{\"max_evnt_bytes\":5}}", "unknown key \"ingest.max_evnt_bytes\"");
    expect_error("{\"sites\":[{\"id\":\"a\",\"write_keys\":[\"k\"]},{\"id\":\"b\","
                 "\"write_keys\":[\"k\"]}]}",
                 "given to two sites");
    expect_error("{\"journal\":{\"fsync\":\"sometimes\"}}", "journal.fsync");
    expect_error("{\"ingest\":{\"max_depth\":-1}}", "ingest.max_depth");
    expect_error("{\"listen\":\"nope\"}", "HOST:PORT");
    expect_error("{nope", "config file");
    expect_error("{\"frobnicate\":1}", "unknown key \"frobnicate\"");
    expect_error("{\"sites\":[{\"id\":\"a\",\"write_keys\":[],\"strict\":1}]}", "strict");
    expect_error("{\"sites\":[{\"id\":\"a\",\"write_keys\":[],\"stict\":true}]}",
                 "unknown key \"sites[0].stict\"");
    expect_error("{\"enrich\":{\"geoip\":\"x\"}}", "unknown key \"enrich.geoip\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
