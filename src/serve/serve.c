/*
 * `tally serve`: opening order, routes, and an orderly stop.
 *
 * Opening goes bottom-up so that when the port answers everything behind it
 * is ready: journals (recovery) → tsdb → stream (checkpoint + replay) →
 * collector (dedup rebuild) → HTTP. /healthz therefore answers 200 as soon as
 * it answers at all.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread (they are blocked
 * before any thread starts, and threads inherit the mask) and the main thread
 * waits for them with sigwait, so no handler runs inside library code.
 *
 * Stopping: the collector stops taking requests (they get 503, which SDKs
 * retry), in-flight requests drain (each is answered once its append is
 * durable), the HTTP server stops, the stream writes its final checkpoint,
 * and the journals close after a last sync.
 */
#include "serve/serve.h"

#include "collect/collect.h"
#include "config/config.h"
#include "enrich/enrich.h"
#include "http/http.h"
#include "journal/journal.h"
#include "json/json.h"
#include "loadgen/loadgen.h"
#include "query/query.h"
#include "schema/schema.h"
#include "stream/stream.h"
#include "tsdb/tsdb.h"
#include "web/web.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tl_config cfg;
    bool demo;
    tl_journal *events, *deadletter;
    tl_registry *registry;
    tl_enrich *enrich;
    const char **site_ids; /* the configured sites' ids, for /api/sites */
    tl_tsdb *tsdb;
    tl_stream *stream;
    tl_query *query;
    tl_collect *collect;
    tl_http *http;
    atomic_bool ready;
    int64_t started_ms;
    /* demo traffic */
    pthread_t demo_thread;
    bool demo_running;
    volatile int demo_stop;
    char url[96];
} server;

static void usage(FILE *f)
{
    fputs("usage: tally serve [--listen HOST:PORT] [--data DIR] [--config FILE] [--demo]\n"
          "                   [--fsync always|interval|never] [--log-level debug|info|warn|error]\n"
          "\n"
          "  --listen HOST:PORT  where to answer HTTP (default 127.0.0.1:8080; port 0 picks one)\n"
          "  --data DIR          journals and checkpoints (default ./data)\n"
          "  --config FILE       JSON settings: sites and write keys, limits, journal\n"
          "  --demo              also send built-in synthetic traffic to this server\n"
          "  --fsync POLICY      journal durability: always (default; ack after fdatasync),\n"
          "                      interval, never\n",
          f);
}

/* ---- routes ---- */

static void respond_json(tl_http_req *req, int status, const tl_buf *b)
{
    tl_http_respond(req, status, "application/json", b->ptr ? b->ptr : "", b->len);
}

static int on_healthz(void *arg, tl_http_req *req)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    tl_http_respond(req, 200, "application/json", ok, sizeof ok - 1);
    return TL_HTTP_DONE;
}

static int on_readyz(void *arg, tl_http_req *req)
{
    server *s = arg;
    if (atomic_load(&s->ready)) {
        static const char ok[] = "{\"status\":\"ready\"}";
        tl_http_respond(req, 200, "application/json", ok, sizeof ok - 1);
    } else {
        tl_http_respond_error(req, 503, "stopping");
    }
    return TL_HTTP_DONE;
}

static int on_query(void *arg, tl_http_req *req)
{
    server *s = arg;
    size_t len;
    const char *body = tl_http_body(req, &len);
    tl_buf out;
    tl_buf_init(&out);
    int status = tl_query_stats(s->query, body, len, tl_now_ms(), &out);
    respond_json(req, status, &out);
    tl_buf_deinit(&out);
    return TL_HTTP_DONE;
}

static int on_realtime(void *arg, tl_http_req *req)
{
    server *s = arg;
    const char *site = tl_http_query(req, "site_id");
    if (!site || !*site) {
        tl_http_respond_error(req, 400, "missing query parameter site_id");
        return TL_HTTP_DONE;
    }
    tl_buf out;
    tl_buf_init(&out);
    int status = tl_query_realtime(s->query, site, strlen(site), tl_now_ms(), &out);
    respond_json(req, status, &out);
    tl_buf_deinit(&out);
    return TL_HTTP_DONE;
}

static int on_sites(void *arg, tl_http_req *req)
{
    server *s = arg;
    tl_buf out;
    tl_buf_init(&out);
    int status = tl_query_sites(s->query, &out);
    respond_json(req, status, &out);
    tl_buf_deinit(&out);
    return TL_HTTP_DONE;
}

static int on_static(void *arg, tl_http_req *req)
{
    const char *path = tl_http_path(req);
    const tl_web_asset *a = tl_web_find(path, strlen(path));
    if (!a) {
        char msg[160];
        snprintf(msg, sizeof msg, "no such page: %.100s", path);
        tl_http_respond_error(req, 404, msg);
        return TL_HTTP_DONE;
    }
    tl_http_add_header(req, "ETag", a->etag);
    tl_http_add_header(req, "Cache-Control", "no-cache");
    tl_http_add_header(req, "X-Content-Type-Options", "nosniff");
    const char *inm = tl_http_header(req, "If-None-Match");
    if (inm && strcmp(inm, a->etag) == 0)
        tl_http_respond(req, 304, NULL, "", 0);
    else
        tl_http_respond(req, 200, a->content_type, (const char *)a->data, a->len);
    return TL_HTTP_DONE;
}

/* The schema registry's REST paths (Confluent Schema Registry) go to the registry as is. */
static int on_registry(void *arg, tl_http_req *req)
{
    server *s = arg;
    static const char *const params[] = {"permanent", "deleted", "verbose", "normalize",
                                         "defaultToGlobal"};
    tl_buf q, out;
    tl_buf_init(&q);
    tl_buf_init(&out);
    for (size_t i = 0; i < TL_ARRAY_LEN(params); i++) {
        const char *v = tl_http_query(req, params[i]);
        if (v)
            tl_buf_printf(&q, "%s%s=%s", q.len ? "&" : "", params[i], v);
    }
    size_t len;
    const char *body = tl_http_body(req, &len);
    /* the raw path: the registry decodes each segment, so "a%2Fb" is one subject */
    int status = tl_registry_handle(s->registry, tl_http_method(req), tl_http_raw_path(req), q.ptr,
                                    body, len, &out);
    tl_http_respond(req, status, "application/vnd.schemaregistry.v1+json", out.ptr ? out.ptr : "",
                    out.len);
    tl_buf_deinit(&q);
    tl_buf_deinit(&out);
    return TL_HTTP_DONE;
}

static void metric(tl_buf *b, const char *name, const char *type, const char *help,
                   const char *labels, double v)
{
    tl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s%s %.17g\n", name, help, name, type, name,
                  labels ? labels : "", v);
}

static int on_metrics(void *arg, tl_http_req *req)
{
    server *s = arg;
    tl_buf b;
    tl_buf_init(&b);
    tl_collect_stats cs;
    tl_collect_get_stats(s->collect, &cs);
    metric(&b, "tally_ingest_requests_total", "counter", "Ingest HTTP requests.", NULL,
           (double)cs.requests);
    metric(&b, "tally_ingest_events_accepted_total", "counter",
           "Events accepted and durable in the journal.", NULL, (double)cs.accepted);
    metric(&b, "tally_ingest_duplicates_total", "counter",
           "Events dropped as repeats of a messageId within the dedup horizon.", NULL,
           (double)cs.duplicates);
    tl_buf_puts(&b, "# HELP tally_ingest_events_rejected_total Events sent to the dead letters, "
                    "by reason.\n# TYPE tally_ingest_events_rejected_total counter\n");
    for (int i = 0; i < TL_DL__COUNT; i++)
        tl_buf_printf(&b, "tally_ingest_events_rejected_total{reason=\"%s\"} %llu\n",
                      tl_dl_reason_name(i), (unsigned long long)cs.rejected[i]);
    metric(&b, "tally_dedup_entries", "gauge", "Message ids in the dedup set.", NULL,
           (double)cs.dedup_entries);
    metric(&b, "tally_dedup_early_rotations_total", "counter",
           "Times the dedup set hit dedup_max_entries and shortened its horizon.", NULL,
           (double)cs.dedup_early_rotations);
    static const struct {
        const char *name;
        size_t off;
        const char *type, *help;
    } js[] = {
        {"tally_journal_records_total", offsetof(tl_journal_stats, records), "counter",
         "Records appended."},
        {"tally_journal_bytes_total", offsetof(tl_journal_stats, bytes), "counter",
         "Record bytes appended."},
        {"tally_journal_syncs_total", offsetof(tl_journal_stats, syncs), "counter",
         "fdatasync calls."},
        {"tally_journal_commits_total", offsetof(tl_journal_stats, commits), "counter",
         "Group commits."},
        {"tally_journal_segments", offsetof(tl_journal_stats, segments), "gauge",
         "Segment files on disk."},
    };
    tl_journal_stats st[2];
    tl_journal_get_stats(s->events, &st[0]);
    tl_journal_get_stats(s->deadletter, &st[1]);
    for (size_t i = 0; i < TL_ARRAY_LEN(js); i++) {
        tl_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", js[i].name, js[i].help, js[i].name,
                      js[i].type);
        for (int k = 0; k < 2; k++) {
            uint64_t v;
            memcpy(&v, (const char *)&st[k] + js[i].off, sizeof v);
            tl_buf_printf(&b, "%s{stream=\"%s\"} %llu\n", js[i].name, k ? "deadletter" : "events",
                          (unsigned long long)v);
        }
    }
    metric(&b, "tally_memory_bytes", "gauge", "Heap bytes allocated by tally.", NULL,
           (double)tl_alloc_used());
    metric(&b, "tally_start_time_seconds", "gauge", "When the process started.", NULL,
           (double)s->started_ms / 1000.0);
    tl_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.ptr ? b.ptr : "",
                    b.len);
    tl_buf_deinit(&b);
    return TL_HTTP_DONE;
}

static int add_routes(server *s)
{
    int rc = tl_collect_routes(s->collect, s->http);
    struct {
        const char *method, *path;
        bool prefix;
        tl_http_handler fn;
    } r[] = {
        {"GET", "/healthz", false, on_healthz},
        {"GET", "/readyz", false, on_readyz},
        {"GET", "/metrics", false, on_metrics},
        {"POST", "/api/v2/query", false, on_query},
        {"GET", "/api/v2/realtime", false, on_realtime},
        {"GET", "/api/sites", false, on_sites},
        {"GET", "/", true, on_static},
    };
    static const char *const reg_methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const struct {
        const char *path;
        bool prefix;
    } reg_paths[] = {
        {"/subjects", false}, {"/subjects/", true}, {"/schemas/", true},
        {"/config", false},   {"/config/", true},   {"/compatibility/", true},
    };
    for (size_t p = 0; rc == 0 && p < TL_ARRAY_LEN(reg_paths); p++)
        for (size_t m = 0; rc == 0 && m < TL_ARRAY_LEN(reg_methods); m++)
            rc = tl_http_route(s->http, reg_methods[m], reg_paths[p].path, reg_paths[p].prefix,
                               on_registry, s);
    for (size_t i = 0; rc == 0 && i < TL_ARRAY_LEN(r); i++)
        rc = tl_http_route(s->http, r[i].method, r[i].path, r[i].prefix, r[i].fn, s);
    return rc;
}

/* ---- demo ---- */

static void *demo_main(void *arg)
{
    server *s = arg;
    static const char *const sites[] = {"shop.example", "blog.example", "docs.example"};
    tl_loadgen_opts o;
    tl_loadgen_opts_default(&o);
    o.url = s->url;
    o.sites = sites;
    o.n_sites = TL_ARRAY_LEN(sites);
    o.rate = 15;
    o.batch = 10;
    o.connections = 1;
    o.stop = &s->demo_stop;
    tl_loadgen_stats st;
    tl_loadgen_run(&o, &st);
    return NULL;
}

/* ---- life cycle ---- */

static bool site_known(void *arg, const char *site, size_t len)
{
    const tl_config *c = arg;
    return tl_config_has_site(c, site, len);
}

static int open_all(server *s)
{
    char path[PATH_MAX], err[512] = "";
    const char *data = s->cfg.data_dir;
    int rc;
    if (tl_mkdir_p(data)) {
        tl_log(TL_LOG_ERROR, "cannot create data directory %s", data);
        return TL_EIO;
    }
    tl_journal_opts jo = s->cfg.journal;
    snprintf(path, sizeof path, "%s/journal/events", data);
    jo.dir = path;
    if ((rc = tl_journal_open(&jo, &s->events, err, sizeof err))) {
        tl_log(TL_LOG_ERROR, "events journal: %s", err[0] ? err : tl_strerror(rc));
        return rc;
    }
    char dlpath[PATH_MAX];
    snprintf(dlpath, sizeof dlpath, "%s/journal/deadletter", data);
    jo.dir = dlpath;
    jo.partitions = 1;
    if ((rc = tl_journal_open(&jo, &s->deadletter, err, sizeof err))) {
        tl_log(TL_LOG_ERROR, "dead-letter journal: %s", err[0] ? err : tl_strerror(rc));
        return rc;
    }
    snprintf(path, sizeof path, "%s/schemas", data);
    if (tl_mkdir_p(path) || (rc = tl_registry_open(path, &s->registry, err, sizeof err))) {
        tl_log(TL_LOG_ERROR, "schema registry: %s", err[0] ? err : "cannot create its directory");
        return rc ? rc : TL_EIO;
    }
    char saltdir[PATH_MAX];
    snprintf(saltdir, sizeof saltdir, "%s/salt", data);
    if (tl_mkdir_p(saltdir))
        return TL_EIO;
    tl_enrich_opts eo = {.geoip_db = s->cfg.geoip_db, .salt_dir = saltdir};
    if ((rc = tl_enrich_open(&eo, &s->enrich, err, sizeof err))) {
        tl_log(TL_LOG_ERROR, "enrich: %s", err);
        return rc;
    }
    if ((rc = tl_tsdb_new(&s->tsdb)))
        return rc;
    snprintf(path, sizeof path, "%s/stream", data);
    if (tl_mkdir_p(path))
        return TL_EIO;
    tl_stream_opts so = {.journal = s->events, .tsdb = s->tsdb, .state_dir = path};
    if ((rc = tl_stream_open(&so, &s->stream))) {
        tl_log(TL_LOG_ERROR, "stream: cannot start: %s", tl_strerror(rc));
        return rc;
    }
    s->site_ids = tl_calloc(s->cfg.n_sites + 1, sizeof *s->site_ids);
    if (!s->site_ids)
        return TL_ENOMEM;
    for (size_t i = 0; i < s->cfg.n_sites; i++)
        s->site_ids[i] = s->cfg.sites[i].id;
    tl_query_opts qo = {.tsdb = s->tsdb,
                        .site_known = site_known,
                        .site_arg = &s->cfg,
                        .sites = s->site_ids,
                        .n_sites = s->cfg.n_sites};
    if ((rc = tl_query_new(&qo, &s->query)))
        return rc;
    tl_collect_opts co = {.config = &s->cfg,
                          .events = s->events,
                          .deadletter = s->deadletter,
                          .registry = s->registry,
                          .enrich = s->enrich};
    if ((rc = tl_collect_open(&co, &s->collect))) {
        tl_log(TL_LOG_ERROR, "collect: cannot start: %s", tl_strerror(rc));
        return rc;
    }
    tl_http_opts ho;
    tl_http_opts_default(&ho);
    ho.host = s->cfg.listen_host;
    ho.port = s->cfg.listen_port;
    ho.max_body = s->cfg.max_body_bytes;
    if (s->cfg.http_threads)
        ho.threads = s->cfg.http_threads;
    if ((rc = tl_http_new(&ho, &s->http)) || (rc = add_routes(s)) || (rc = tl_http_start(s->http)))
        return rc;
    snprintf(s->url, sizeof s->url, "http://%s:%u", s->cfg.listen_host, tl_http_port(s->http));
    atomic_store(&s->ready, true);
    tl_log(TL_LOG_INFO, "listening on %s (data in %s; sites: %s; fsync %s)", s->url, data,
           s->cfg.n_sites ? "as configured" : "open, any write key is its own site",
           tl_fsync_policy_name(s->cfg.journal.fsync));
    return 0;
}

static void close_all(server *s)
{
    atomic_store(&s->ready, false);
    if (s->demo_running) {
        s->demo_stop = 1;
        pthread_join(s->demo_thread, NULL);
    }
    if (s->http)
        tl_http_quiesce(s->http);
    if (s->collect)
        tl_collect_drain(s->collect, 5000);
    tl_http_free(s->http);
    tl_stream_close(s->stream);
    tl_collect_close(s->collect);
    tl_query_free(s->query);
    tl_journal_close(s->events);
    tl_journal_close(s->deadletter);
    tl_tsdb_free(s->tsdb);
    tl_registry_close(s->registry);
    tl_enrich_close(s->enrich);
    tl_free(s->site_ids);
}

int tl_serve_main(int argc, char **argv)
{
    server *s = tl_calloc(1, sizeof *s);
    if (!s)
        return 1;
    tl_config_init(&s->cfg);
    s->started_ms = tl_now_ms();
    const char *listen = NULL, *data = NULL, *config = NULL, *fsync = NULL;
    int code = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--demo") == 0) {
            s->demo = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            code = 0;
            goto out;
        }
        if (strcmp(a, "--listen") == 0)
            dst = &listen;
        else if (strcmp(a, "--data") == 0)
            dst = &data;
        else if (strcmp(a, "--config") == 0)
            dst = &config;
        else if (strcmp(a, "--fsync") == 0)
            dst = &fsync;
        else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
            static const char *const lv[] = {"debug", "info", "warn", "error"};
            for (int l = 0; l < 4; l++)
                if (strcmp(argv[i + 1], lv[l]) == 0)
                    tl_log_set_level(l);
            i++;
            continue;
        }
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "tally serve: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            goto out;
        }
        *dst = argv[++i];
    }
    char err[512];
    if (config && tl_config_load(&s->cfg, config, err, sizeof err)) {
        fprintf(stderr, "tally serve: %s\n", err);
        goto out;
    }
    if (listen && tl_config_set_listen(&s->cfg, listen)) {
        fprintf(stderr, "tally serve: --listen wants HOST:PORT, got '%s'\n", listen);
        goto out;
    }
    if (data)
        tl_config_set_data(&s->cfg, data);
    if (fsync && tl_fsync_policy_parse(fsync, &s->cfg.journal.fsync)) {
        fprintf(stderr, "tally serve: --fsync wants always, interval or never, got '%s'\n", fsync);
        goto out;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    code = 1;
    if (open_all(s) == 0) {
        if (s->demo) {
            s->demo_running = pthread_create(&s->demo_thread, NULL, demo_main, s) == 0;
            tl_log(TL_LOG_INFO, "demo traffic on: open %s/ to watch it", s->url);
        }
        int sig = 0;
        sigwait(&set, &sig);
        tl_log(TL_LOG_INFO, "received %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        code = 0;
    }
    close_all(s);
    if (code == 0)
        tl_log(TL_LOG_INFO, "stopped cleanly");
out:
    tl_config_deinit(&s->cfg);
    tl_free(s);
    return code;
}
