/*
 * `tally deadletters list|replay`: the dead-letter endpoints from the shell.
 *
 * It talks to a running server over HTTP (the server owns the journals; a
 * second process must not open them), prints the JSON answer on stdout and
 * exits 0 on a 2xx, 1 otherwise with the server's message on stderr.
 */
#include "collect/collect.h"
#include "event/event.h"
#include "json/json.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: tally deadletters list   [--url URL] [--site SITE] [--type TYPE]\n"
          "                                [--from TIME] [--to TIME] [--limit N]\n"
          "       tally deadletters replay [--url URL] [--site SITE] [--type TYPE]\n"
          "                                [--from TIME] [--to TIME]\n"
          "\n"
          "  list    the newest dead letters (default 100) and counts per type\n"
          "  replay  re-validate the matching dead letters against the schemas as they are\n"
          "          now; those that pass are ingested once and marked replayed\n"
          "  --url   the tally server (default http://127.0.0.1:8080)\n"
          "  --type  parse_error, size_violation, tracker_protocol_violation,\n"
          "          schema_violation, unknown_site\n"
          "  TIME    an ISO date or date-time (received time; from inclusive, to exclusive)\n",
          f);
}

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    return tl_buf_append(arg, p, sz * n) == 0 ? sz * n : 0;
}

int tl_collect_cli(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "replay") != 0)) {
        usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    bool replay = strcmp(argv[1], "replay") == 0;
    const char *url = "http://127.0.0.1:8080";
    static const char *const params[][2] = {
        {"--site", "site_id"}, {"--type", "type"},   {"--from", "from"},
        {"--to", "to"},        {"--limit", "limit"},
    };
    const char *values[TL_ARRAY_LEN(params)] = {0};
    for (int i = 2; i < argc; i++) {
        bool known = false;
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            url = argv[++i];
            continue;
        }
        for (size_t k = 0; k < TL_ARRAY_LEN(params); k++) {
            if (strcmp(argv[i], params[k][0]) == 0 && i + 1 < argc) {
                values[k] = argv[++i];
                known = true;
                break;
            }
        }
        if (!known) {
            fprintf(stderr, "tally deadletters: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    tl_buf target, body;
    tl_buf_init(&target);
    tl_buf_init(&body);
    tl_buf_printf(&target, "%s/api/v2/deadletters%s", url, replay ? "/replay" : "");
    char sep = '?';
    for (size_t k = 0; k < TL_ARRAY_LEN(params); k++) {
        if (!values[k])
            continue;
        char *esc = curl_easy_escape(c, values[k], 0);
        tl_buf_printf(&target, "%c%s=%s", sep, params[k][1], esc ? esc : "");
        curl_free(esc);
        sep = '&';
    }
    curl_easy_setopt(c, CURLOPT_URL, target.ptr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (replay) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int code = 1;
    if (rc != CURLE_OK) {
        fprintf(stderr, "tally deadletters: cannot reach %s: %s\n", url, curl_easy_strerror(rc));
    } else if (status >= 200 && status < 300) {
        printf("%s\n", body.ptr ? body.ptr : "");
        code = 0;
    } else {
        fprintf(stderr, "tally deadletters: HTTP %ld: %s\n", status, body.ptr ? body.ptr : "");
    }
    curl_easy_cleanup(c);
    curl_global_cleanup();
    tl_buf_deinit(&target);
    tl_buf_deinit(&body);
    return code;
}

/* ---- tally journal dump ---- */

static void dump_event(tl_buf *b, const tl_event *ev, uint32_t p, uint64_t off)
{
    char ts[32], rs[32];
    tl_time_format(ev->ts_ms, ts);
    tl_time_format(ev->received_ms, rs);
    tl_buf_printf(b,
                  "{\"partition\":%u,\"offset\":%llu,\"type\":\"%s\",\"timestamp\":\"%s\","
                  "\"received_at\":\"%s\",\"visitor\":\"%016llx\",\"flags\":[",
                  p, (unsigned long long)off, tl_event_type_name(ev->type), ts, rs,
                  (unsigned long long)ev->visitor);
    static const struct {
        int bit;
        const char *name;
    } flags[] = {{TL_EVF_BOT, "bot"},
                 {TL_EVF_SKEWED, "skew_corrected"},
                 {TL_EVF_NO_TS, "no_timestamp"},
                 {TL_EVF_REPLAYED, "replayed"}};
    bool first = true;
    for (size_t i = 0; i < TL_ARRAY_LEN(flags); i++) {
        if (ev->flags & flags[i].bit) {
            tl_buf_printf(b, "%s\"%s\"", first ? "" : ",", flags[i].name);
            first = false;
        }
    }
    tl_buf_putc(b, ']');
    for (int f = 1; f < TL_F__COUNT; f++) {
        if (!ev->f[f].len)
            continue;
        tl_buf_printf(b, ",\"%s\":", tl_event_field_name(f));
        if (f == TL_F_PROPERTIES)
            tl_buf_append(b, ev->f[f].ptr, ev->f[f].len); /* already JSON */
        else
            tl_json_write_string(b, ev->f[f].ptr, ev->f[f].len);
    }
    tl_buf_puts(b, "}\n");
}

int tl_collect_dump_cli(int argc, char **argv)
{
    const char *data = "./data", *stream = "events";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else if (strcmp(argv[i], "--stream") == 0 && i + 1 < argc) {
            stream = argv[++i];
        } else {
            fprintf(stderr, "usage: tally journal dump [--data DIR] [--stream events|deadletter]\n"
                            "  prints every record as one JSON line (the server must be "
                            "stopped: the journal is locked while it runs)\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (strcmp(stream, "events") != 0 && strcmp(stream, "deadletter") != 0) {
        fprintf(stderr, "tally journal dump: --stream is events or deadletter, not '%s'\n", stream);
        return 2;
    }
    char dir[1024], err[512] = "";
    snprintf(dir, sizeof dir, "%s/journal/%s", data, stream);
    tl_journal_opts o;
    tl_journal_opts_default(&o);
    o.dir = dir;
    o.partitions = 0; /* whatever is on disk */
    tl_journal *j;
    int rc = tl_journal_open(&o, &j, err, sizeof err);
    if (rc) {
        fprintf(stderr, "tally journal dump: %s: %s\n", dir, err[0] ? err : tl_strerror(rc));
        return 1;
    }
    tl_buf b;
    tl_buf_init(&b);
    int code = 0;
    for (uint32_t p = 0; p < tl_journal_partitions(j) && code == 0; p++) {
        tl_journal_cursor *cur;
        if (tl_journal_cursor_open_at(j, p, 0, &cur)) {
            code = 1;
            break;
        }
        const void *d;
        uint32_t len;
        uint64_t off;
        while ((rc = tl_journal_cursor_next(cur, &d, &len, &off)) == 1) {
            tl_buf_reset(&b);
            tl_event ev;
            if (stream[0] == 'd') {
                tl_buf_append(&b, d, len);
                tl_buf_putc(&b, '\n');
            } else if (tl_event_decode(d, len, &ev) == 0) {
                dump_event(&b, &ev, p, off);
            } else {
                fprintf(stderr, "tally journal dump: record %u:%llu does not decode\n", p,
                        (unsigned long long)off);
                continue;
            }
            fwrite(b.ptr, 1, b.len, stdout);
        }
        if (rc < 0) {
            fprintf(stderr, "tally journal dump: partition %u: %s\n", p, tl_strerror(rc));
            code = 1;
        }
        tl_journal_cursor_close(cur);
    }
    tl_buf_deinit(&b);
    tl_journal_close(j);
    return code;
}
