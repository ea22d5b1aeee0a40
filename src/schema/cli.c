/*
 * cli — `tally schema <command>`: a small client of a running server's schema registry.
 *
 * Each command is one HTTP call (libcurl) to the Confluent-style REST API served by
 * `tally serve` (see registry.c), at --url, else $TALLY_URL, else http://127.0.0.1:8080; the
 * server's JSON answer is printed on stdout. The exit status is 0 for a 2xx answer, 1 otherwise
 * (the server's "message" goes to stderr), 2 for a usage error. This is a command-line program, so
 * unlike library code it prints.
 *
 *   command                                  call
 *   register SUBJECT FILE.json               POST   /subjects/S/versions
 *   list [--deleted]                         GET    /subjects
 *   versions SUBJECT                         GET    /subjects/S/versions
 *   get SUBJECT [VERSION|latest]             GET    /subjects/S/versions/V
 *   get-id ID                                GET    /schemas/ids/ID
 *   check SUBJECT FILE.json [--version V]    POST   /compatibility/subjects/S/versions[/V]
 *   lookup SUBJECT FILE.json                 POST   /subjects/S
 *   delete SUBJECT [VERSION] [--permanent]   DELETE /subjects/S[/versions/V]
 *   config [SUBJECT] [LEVEL]                 GET|PUT /config[/S]
 */
#include "schema/schema.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

static void usage(FILE *f)
{
    fputs("usage: tally schema [--url URL] <command> [args]\n"
          "\n"
          "Talks to the schema registry of a running `tally serve`: --url, else $TALLY_URL,\n"
          "else " CLI_DEFAULT_URL ".\n"
          "\n"
          "commands:\n"
          "  register SUBJECT FILE.json              register a JSON Schema (prints its id)\n"
          "  list [--deleted]                        list subjects\n"
          "  versions SUBJECT                        list a subject's versions\n"
          "  get SUBJECT [VERSION|latest]            show one version (default latest)\n"
          "  get-id ID                               show a schema by global id\n"
          "  check SUBJECT FILE.json [--version V]   would this schema be compatible?\n"
          "  lookup SUBJECT FILE.json                is this schema registered under SUBJECT?\n"
          "  delete SUBJECT [VERSION] [--permanent]  soft-delete (then permanently delete)\n"
          "  config [SUBJECT] [LEVEL]                show or set the compatibility level\n"
          "                                          (NONE, BACKWARD, BACKWARD_TRANSITIVE,\n"
          "                                          FORWARD, FORWARD_TRANSITIVE, FULL,\n"
          "                                          FULL_TRANSITIVE)\n",
          f);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    tl_buf *b = ud;
    return tl_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* Appends a percent-encoded path segment. */
static int put_segment(tl_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = tl_buf_putc(b, '/');
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '$') {
            rc = tl_buf_putc(b, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = tl_buf_append(b, e, 3);
        }
    }
    return rc;
}

/* Builds {"schemaType":"JSON","schema":"<file text>"}; prints the problem and returns nonzero
 * when the file cannot be read. */
static int schema_body(const char *file, tl_buf *body)
{
    tl_buf text;
    tl_buf_init(&text);
    int rc = tl_read_file(file, &text);
    if (rc != 0) {
        fprintf(stderr, "tally schema: cannot read %s: %s\n", file, tl_strerror(rc));
        tl_buf_deinit(&text);
        return rc;
    }
    rc = tl_buf_puts(body, "{\"schemaType\":\"JSON\",\"schema\":");
    if (rc == 0)
        rc = tl_json_write_string(body, text.ptr ? text.ptr : "", text.len);
    if (rc == 0)
        rc = tl_buf_putc(body, '}');
    tl_buf_deinit(&text);
    return rc;
}

/* One call; prints the answer. Returns the exit status. */
static int call(const char *base, const char *method, const char *path, const tl_buf *body)
{
    int status = 1;
    tl_buf url, answer;
    tl_buf_init(&url);
    tl_buf_init(&answer);
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    if (!c || tl_buf_append(&url, base, blen) != 0 || tl_buf_puts(&url, path) != 0) {
        fprintf(stderr, "tally schema: out of memory\n");
        goto out;
    }
    h = curl_slist_append(h, "Content-Type: application/vnd.schemaregistry.v1+json");
    h = curl_slist_append(h, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    curl_easy_setopt(c, CURLOPT_URL, url.ptr);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->ptr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "tally schema: %s %s: %s\n", method, url.ptr, curl_easy_strerror(cc));
        goto out;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
        fwrite(answer.ptr ? answer.ptr : "", 1, answer.len, stdout);
        if (answer.len == 0 || answer.ptr[answer.len - 1] != '\n')
            putchar('\n');
        status = 0;
        goto out;
    }
    /* the server's message, or the whole answer when it is not the usual error object */
    tl_arena *a = tl_arena_new(4 * answer.len + 1024);
    tl_json *doc = NULL;
    const tl_json *msg = NULL;
    if (a && answer.len && tl_json_parse(a, answer.ptr, answer.len, NULL, &doc, NULL) == 0)
        msg = tl_json_get_string(doc, "message");
    if (msg)
        fprintf(stderr, "tally schema: %ld: %s\n", code, msg->u.str);
    else
        fprintf(stderr, "tally schema: %ld: %.*s\n", code, (int)answer.len,
                answer.ptr ? answer.ptr : "");
    tl_arena_free(a);
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    tl_buf_deinit(&url);
    tl_buf_deinit(&answer);
    return status;
}

int tl_schema_cli(int argc, char **argv)
{
    const char *base = getenv("TALLY_URL");
    if (!base || !*base)
        base = CLI_DEFAULT_URL;
    const char *pos[4] = {0};
    int npos = 0;
    const char *version = NULL;
    bool permanent = false, deleted = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--url") == 0 && i + 1 < argc) {
            base = argv[++i];
        } else if (strncmp(a, "--url=", 6) == 0) {
            base = a + 6;
        } else if (strcmp(a, "--version") == 0 && i + 1 < argc) {
            version = argv[++i];
        } else if (strcmp(a, "--permanent") == 0) {
            permanent = true;
        } else if (strcmp(a, "--deleted") == 0) {
            deleted = true;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "tally schema: unknown flag '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (npos < (int)TL_ARRAY_LEN(pos)) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "tally schema: too many arguments\n\n");
            usage(stderr);
            return 2;
        }
    }
    if (npos == 0) {
        usage(stderr);
        return 2;
    }
    const char *cmd = pos[0];
    const char *method = "GET";
    bool want_body = false;
    const char *file = NULL;
    tl_buf path, body;
    tl_buf_init(&path);
    tl_buf_init(&body);
    int status = 2;
    if (strcmp(cmd, "register") == 0 && npos == 3) {
        method = "POST";
        tl_buf_puts(&path, "/subjects");
        put_segment(&path, pos[1]);
        tl_buf_puts(&path, "/versions");
        file = pos[2];
    } else if (strcmp(cmd, "list") == 0 && npos == 1) {
        tl_buf_puts(&path, deleted ? "/subjects?deleted=true" : "/subjects");
    } else if (strcmp(cmd, "versions") == 0 && npos == 2) {
        tl_buf_puts(&path, "/subjects");
        put_segment(&path, pos[1]);
        tl_buf_puts(&path, deleted ? "/versions?deleted=true" : "/versions");
    } else if (strcmp(cmd, "get") == 0 && (npos == 2 || npos == 3)) {
        tl_buf_puts(&path, "/subjects");
        put_segment(&path, pos[1]);
        tl_buf_puts(&path, "/versions");
        put_segment(&path, npos == 3 ? pos[2] : "latest");
    } else if (strcmp(cmd, "get-id") == 0 && npos == 2) {
        tl_buf_puts(&path, "/schemas/ids");
        put_segment(&path, pos[1]);
    } else if (strcmp(cmd, "check") == 0 && npos == 3) {
        method = "POST";
        tl_buf_puts(&path, "/compatibility/subjects");
        put_segment(&path, pos[1]);
        tl_buf_puts(&path, "/versions");
        if (version)
            put_segment(&path, version);
        file = pos[2];
    } else if (strcmp(cmd, "lookup") == 0 && npos == 3) {
        method = "POST";
        tl_buf_puts(&path, "/subjects");
        put_segment(&path, pos[1]);
        file = pos[2];
    } else if (strcmp(cmd, "delete") == 0 && (npos == 2 || npos == 3)) {
        method = "DELETE";
        tl_buf_puts(&path, "/subjects");
        put_segment(&path, pos[1]);
        if (npos == 3) {
            tl_buf_puts(&path, "/versions");
            put_segment(&path, pos[2]);
        }
        if (permanent)
            tl_buf_puts(&path, "?permanent=true");
    } else if (strcmp(cmd, "config") == 0 && npos <= 3) {
        tl_buf_puts(&path, "/config");
        if (npos >= 2)
            put_segment(&path, pos[1]);
        if (npos == 3) {
            tl_compat_mode m;
            if (tl_compat_mode_parse(pos[2], strlen(pos[2]), &m) != 0) {
                fprintf(stderr, "tally schema: unknown compatibility level '%s'\n", pos[2]);
                goto out;
            }
            method = "PUT";
            tl_buf_printf(&body, "{\"compatibility\":\"%s\"}", tl_compat_mode_name(m));
            want_body = true;
        } else if (npos == 2) {
            tl_buf_puts(&path, "?defaultToGlobal=true");
        }
    } else {
        fprintf(stderr, "tally schema: unknown command or wrong arguments: '%s'\n\n", cmd);
        usage(stderr);
        goto out;
    }
    if (file) {
        if (schema_body(file, &body) != 0) {
            status = 1;
            goto out;
        }
        want_body = true;
    }
    if (!path.ptr) {
        fprintf(stderr, "tally schema: out of memory\n");
        status = 1;
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    status = call(base, method, path.ptr, want_body ? &body : NULL);
    curl_global_cleanup();
out:
    tl_buf_deinit(&path);
    tl_buf_deinit(&body);
    return status;
}
