/*
 * The collector: one ingest request from bytes to durable records.
 *
 *   body ──parse (limits)──▶ write key → site ──▶ for each event:
 *        validate (segment.c) ──▶ dedup (dedup.c) ──▶ encode ──▶ events journal
 *        └─ invalid ──▶ dead-letter record (JSON, IPs redacted) ──▶ deadletter journal
 *   answer when every append of the request is durable (journal group commit)
 *
 * Why the answer waits: the invariant is that a 2xx means durable. The
 * request's appends go to the journal together; the journal calls back once
 * its group commit covered them; only then does the client hear 200. If an
 * append fails the dedup entries of that request are removed again and the
 * client gets a 503, so its retry is accepted rather than dropped as a repeat.
 *
 * Status codes (Segment SDKs retry 5xx/429 and give up on other 4xx):
 *   200  at least one event accepted or recognised as a repeat; the body lists
 *        each rejected event's index, reason and message;
 *   400  the body is not JSON, or every event was rejected;
 *   401  missing or unknown write key (the request is dead-lettered);
 *   413  body over max_body_bytes (answered by the HTTP layer);
 *   503  the journal could not make the events durable.
 *
 * Dead-letter records are compact JSON: reason, site, received_at, index,
 * errors [{pointer, keyword, expected, found, message}], and the event as
 * sent with every "ip" member replaced by "[redacted]" (or, when the body is
 * not JSON, the body text with IPv4 addresses masked).
 */
#include "collect/collect.h"

#include "collect/dedup.h"
#include "collect/segment.h"
#include "event/event.h"
#include "json/json.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct tl_collect {
    const tl_config *cfg;
    tl_journal *events;
    tl_journal *deadletter;
    tl_dedup *dedup;
    uint32_t partitions;
    uint32_t dl_partitions;
    atomic_int inflight;
    atomic_bool closing;
    atomic_uint_fast64_t requests, accepted, duplicates;
    atomic_uint_fast64_t rejected[TL_DL__COUNT];
    struct route_arg {
        tl_collect *c;
        int type;
    } route_args[7];
};

static const char *const reason_names[TL_DL__COUNT] = {
    "parse_error",      "size_violation", "tracker_protocol_violation",
    "schema_violation", "unknown_site",
};

const char *tl_dl_reason_name(int reason)
{
    return reason >= 0 && reason < TL_DL__COUNT ? reason_names[reason] : "unknown";
}

static uint64_t dedup_key(tl_str site, tl_str message_id)
{
    return tl_hash64(message_id.ptr, message_id.len, tl_hash64(site.ptr, site.len, 0xd3d0));
}

static int rebuild_dedup(tl_collect *c)
{
    int64_t now = tl_now_ms(), since = now - c->cfg->dedup_horizon_ms;
    uint64_t n = 0;
    for (uint32_t p = 0; p < c->partitions; p++) {
        tl_journal_cursor *cur;
        int rc = tl_journal_cursor_open_at(c->events, p, 0, &cur);
        if (rc)
            return rc;
        const void *data;
        uint32_t len;
        uint64_t off;
        while ((rc = tl_journal_cursor_next(cur, &data, &len, &off)) == 1) {
            tl_event ev;
            if (tl_event_decode(data, len, &ev) == 0 && ev.received_ms >= since) {
                tl_dedup_insert(c->dedup, dedup_key(ev.f[TL_F_SITE], ev.f[TL_F_MESSAGE_ID]), now);
                n++;
            }
        }
        tl_journal_cursor_close(cur);
        if (rc < 0)
            return rc;
    }
    tl_log(TL_LOG_INFO, "collect: dedup set rebuilt from the journal: %llu recent message ids",
           (unsigned long long)n);
    return 0;
}

int tl_collect_open(const tl_collect_opts *o, tl_collect **out)
{
    tl_collect *c = tl_calloc(1, sizeof *c);
    if (!c)
        return TL_ENOMEM;
    c->cfg = o->config;
    c->events = o->events;
    c->deadletter = o->deadletter;
    c->partitions = tl_journal_partitions(o->events);
    c->dl_partitions = tl_journal_partitions(o->deadletter);
    int rc = tl_dedup_new(c->cfg->dedup_horizon_ms, c->cfg->dedup_max_entries, &c->dedup);
    if (rc == 0)
        rc = rebuild_dedup(c);
    if (rc) {
        tl_collect_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void tl_collect_close(tl_collect *c)
{
    if (!c)
        return;
    tl_dedup_free(c->dedup);
    tl_free(c);
}

void tl_collect_get_stats(tl_collect *c, tl_collect_stats *s)
{
    memset(s, 0, sizeof *s);
    s->requests = atomic_load(&c->requests);
    s->accepted = atomic_load(&c->accepted);
    s->duplicates = atomic_load(&c->duplicates);
    for (int i = 0; i < TL_DL__COUNT; i++)
        s->rejected[i] = atomic_load(&c->rejected[i]);
    s->dedup_entries = tl_dedup_size(c->dedup);
    s->dedup_early_rotations = tl_dedup_early_rotations(c->dedup);
}

/* ---- one request ---- */

typedef struct {
    tl_collect *c;
    tl_collect_done_fn done;
    void *arg;
    tl_arena *arena;
    tl_buf records;  /* encoded events, back to back */
    tl_buf dead;     /* dead-letter records, back to back */
    tl_buf answer;   /* the JSON to send */
    tl_buf rejected; /* the "rejected" array items */
    uint64_t *keys;  /* dedup keys of the accepted events */
    size_t n_keys, cap_keys;
    uint32_t *ev_len, *dl_len;
    uint32_t *ev_part, *dl_part;
    size_t n_ev, n_dl, cap_ev, cap_dl;
    size_t accepted, duplicates, n_rejected;
    int status;
    atomic_int pending;
    atomic_int failed;
} request;

static void request_free(request *r)
{
    tl_arena_free(r->arena);
    tl_buf_deinit(&r->records);
    tl_buf_deinit(&r->dead);
    tl_buf_deinit(&r->answer);
    tl_buf_deinit(&r->rejected);
    tl_free(r->keys);
    tl_free(r->ev_len);
    tl_free(r->ev_part);
    tl_free(r->dl_len);
    tl_free(r->dl_part);
    tl_free(r);
}

static int grow_u32(uint32_t **a, uint32_t **b, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    uint32_t *na = tl_realloc(*a, nc * sizeof **a);
    if (!na)
        return TL_ENOMEM;
    *a = na;
    uint32_t *nb = tl_realloc(*b, nc * sizeof **b);
    if (!nb)
        return TL_ENOMEM;
    *b = nb;
    *cap = nc;
    return 0;
}

/* Writes v as JSON with every member named "ip" replaced by "[redacted]". */
static void write_redacted(tl_buf *b, const tl_json *v)
{
    if (v->type == TL_JSON_OBJECT) {
        tl_buf_putc(b, '{');
        for (uint32_t i = 0; i < v->len; i++) {
            const tl_json_member *m = &v->u.members[i];
            if (i)
                tl_buf_putc(b, ',');
            tl_json_write_string(b, m->key, m->key_len);
            tl_buf_putc(b, ':');
            if (strcasecmp(m->key, "ip") == 0 && m->value.type == TL_JSON_STRING)
                tl_buf_puts(b, "\"[redacted]\"");
            else
                write_redacted(b, &m->value);
        }
        tl_buf_putc(b, '}');
    } else if (v->type == TL_JSON_ARRAY) {
        tl_buf_putc(b, '[');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                tl_buf_putc(b, ',');
            write_redacted(b, &v->u.items[i]);
        }
        tl_buf_putc(b, ']');
    } else {
        tl_json_write_value(b, v);
    }
}

/* Text that is not JSON: kept, with anything shaped like an IPv4 address masked. */
static void write_masked_text(tl_buf *b, const char *s, size_t n)
{
    tl_buf t;
    tl_buf_init(&t);
    for (size_t i = 0; i < n;) {
        size_t j = i, dots = 0, digits = 0;
        while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) {
            dots += s[j] == '.';
            digits += s[j] != '.';
            j++;
        }
        if (dots == 3 && digits >= 4 && j - i >= 7) {
            tl_buf_puts(&t, "[redacted]");
            i = j;
        } else if (j > i) {
            tl_buf_append(&t, s + i, j - i);
            i = j;
        } else {
            tl_buf_putc(&t, s[i++]);
        }
    }
    tl_json_write_string(b, t.ptr ? t.ptr : "", t.len);
    tl_buf_deinit(&t);
}

static void add_dead(request *r, int reason, tl_str site, int64_t received_ms, long index,
                     const tl_seg_error *e, const tl_json *payload, const char *text,
                     size_t text_len)
{
    tl_collect *c = r->c;
    atomic_fetch_add(&c->rejected[reason], 1);
    if (grow_u32(&r->dl_len, &r->dl_part, r->n_dl, &r->cap_dl))
        return;
    size_t start = r->dead.len;
    tl_buf *b = &r->dead;
    char ts[32];
    tl_time_format(received_ms, ts);
    tl_buf_puts(b, "{\"reason\":\"");
    tl_buf_puts(b, tl_dl_reason_name(reason));
    tl_buf_puts(b, "\",\"site\":");
    if (site.len)
        tl_json_write_string(b, site.ptr, site.len);
    else
        tl_buf_puts(b, "null");
    tl_buf_printf(b, ",\"received_at\":\"%s\",\"index\":", ts);
    if (index >= 0)
        tl_buf_printf(b, "%ld", index);
    else
        tl_buf_puts(b, "null");
    tl_buf_puts(b, ",\"subject\":null,\"version\":null,\"errors\":[{\"pointer\":");
    tl_json_write_string(b, e->pointer, strlen(e->pointer));
    tl_buf_puts(b, ",\"keyword\":");
    tl_json_write_string(b, e->keyword, strlen(e->keyword));
    tl_buf_puts(b, ",\"expected\":");
    tl_json_write_string(b, e->expected, strlen(e->expected));
    tl_buf_puts(b, ",\"found\":");
    tl_json_write_string(b, e->found, strlen(e->found));
    tl_buf_puts(b, ",\"message\":");
    tl_json_write_string(b, e->message, strlen(e->message));
    tl_buf_puts(b, "}],");
    if (payload) {
        tl_buf_puts(b, "\"payload\":");
        write_redacted(b, payload);
    } else {
        tl_buf_puts(b, "\"payload_text\":");
        write_masked_text(b, text, text_len);
    }
    tl_buf_putc(b, '}');
    uint32_t p = site.len ? tl_event_partition(site, 0, c->dl_partitions) : 0;
    r->dl_len[r->n_dl] = (uint32_t)(r->dead.len - start);
    r->dl_part[r->n_dl] = p;
    r->n_dl++;
}

static void add_rejected(request *r, long index, const tl_seg_error *e)
{
    tl_buf *b = &r->rejected;
    if (r->n_rejected++)
        tl_buf_putc(b, ',');
    tl_buf_printf(b, "{\"index\":%ld,\"reason\":\"%s\",\"pointer\":", index,
                  tl_dl_reason_name(e->reason));
    tl_json_write_string(b, e->pointer, strlen(e->pointer));
    tl_buf_puts(b, ",\"message\":");
    tl_json_write_string(b, e->message, strlen(e->message));
    tl_buf_putc(b, '}');
}

static void finish(request *r)
{
    if (atomic_load(&r->failed)) {
        for (size_t i = 0; i < r->n_keys; i++)
            tl_dedup_remove(r->c->dedup, r->keys[i]);
        static const char msg[] =
            "{\"success\":false,\"error\":\"the events could not be written durably; retry\"}";
        r->done(r->arg, 503, msg, sizeof msg - 1);
    } else {
        atomic_fetch_add(&r->c->accepted, r->accepted);
        r->done(r->arg, r->status, r->answer.ptr ? r->answer.ptr : "", r->answer.len);
    }
    tl_collect *c = r->c;
    request_free(r);
    atomic_fetch_sub(&c->inflight, 1);
}

int tl_collect_drain(tl_collect *c, int timeout_ms)
{
    atomic_store(&c->closing, true);
    int64_t until = tl_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (atomic_load(&c->inflight) > 0 && tl_mono_ns() < until) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&c->inflight);
}

static void on_durable(void *arg, int status)
{
    request *r = arg;
    if (status)
        atomic_store(&r->failed, 1);
    if (atomic_fetch_sub(&r->pending, 1) == 1)
        finish(r);
}

static void whole_request_error(request *r, int status, const char *msg)
{
    tl_buf_reset(&r->answer);
    tl_buf_puts(&r->answer, "{\"success\":false,\"error\":");
    tl_json_write_string(&r->answer, msg, strlen(msg));
    tl_buf_putc(&r->answer, '}');
    r->status = status;
}

static void build_answer(request *r, bool batch)
{
    tl_buf *b = &r->answer;
    bool ok = r->accepted > 0 || r->duplicates > 0 || r->n_rejected == 0;
    r->status = ok ? 200 : 400;
    tl_buf_printf(b, "{\"success\":%s,\"accepted\":%zu", ok ? "true" : "false", r->accepted);
    if (r->duplicates)
        tl_buf_printf(b, ",\"duplicates\":%zu", r->duplicates);
    if (!ok) {
        tl_buf_puts(b, ",\"error\":");
        char msg[96];
        snprintf(msg, sizeof msg, batch ? "all %zu events were rejected" : "the event was rejected",
                 r->n_rejected);
        tl_json_write_string(b, msg, strlen(msg));
    }
    if (r->n_rejected) {
        tl_buf_puts(b, ",\"rejected\":[");
        tl_buf_append(b, r->rejected.ptr, r->rejected.len);
        tl_buf_putc(b, ']');
    }
    tl_buf_putc(b, '}');
}

static void one_event(request *r, const tl_seg_ctx *cx, const tl_json *ev, int type, long index)
{
    tl_event out;
    tl_seg_error e;
    if (tl_seg_event(cx, ev, type, &out, &e)) {
        add_rejected(r, index, &e);
        add_dead(r, e.reason, cx->site, cx->received_ms, index, &e, ev, NULL, 0);
        return;
    }
    uint64_t key = dedup_key(cx->site, out.f[TL_F_MESSAGE_ID]);
    if (!tl_dedup_insert(r->c->dedup, key, cx->received_ms)) {
        r->duplicates++;
        atomic_fetch_add(&r->c->duplicates, 1);
        return;
    }
    size_t before = r->records.len;
    if (grow_u32(&r->ev_len, &r->ev_part, r->n_ev, &r->cap_ev) ||
        tl_event_encode(&out, &r->records)) {
        tl_dedup_remove(r->c->dedup, key);
        atomic_store(&r->failed, 1);
        return;
    }
    if (r->n_keys == r->cap_keys) {
        size_t nc = r->cap_keys ? r->cap_keys * 2 : 16;
        uint64_t *nk = tl_realloc(r->keys, nc * sizeof *nk);
        if (!nk) {
            tl_dedup_remove(r->c->dedup, key);
            atomic_store(&r->failed, 1);
            return;
        }
        r->keys = nk;
        r->cap_keys = nc;
    }
    r->keys[r->n_keys++] = key;
    r->ev_len[r->n_ev] = (uint32_t)(r->records.len - before);
    r->ev_part[r->n_ev] = tl_event_partition(cx->site, out.visitor, r->c->partitions);
    r->n_ev++;
    r->accepted++;
}

/* Appends n records laid back to back in buf; 0 when queued (on_durable will fire). */
static int append_all(request *r, tl_journal *j, const tl_buf *buf, const uint32_t *lens,
                      const uint32_t *parts, size_t n)
{
    tl_journal_rec *recs = tl_arena_alloc(r->arena, n * sizeof *recs);
    if (!recs)
        return TL_ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        recs[i] = (tl_journal_rec){parts[i], buf->ptr + off, lens[i]};
        off += lens[i];
    }
    return tl_journal_append(j, recs, n, on_durable, r, NULL);
}

void tl_collect_submit(tl_collect *c, const tl_collect_input *in, tl_collect_done_fn done,
                       void *arg)
{
    atomic_fetch_add(&c->requests, 1);
    atomic_fetch_add(&c->inflight, 1);
    if (atomic_load(&c->closing)) {
        static const char msg[] = "{\"success\":false,\"error\":\"the server is stopping; retry\"}";
        done(arg, 503, msg, sizeof msg - 1);
        atomic_fetch_sub(&c->inflight, 1);
        return;
    }
    request *r = tl_calloc(1, sizeof *r);
    tl_arena *a = tl_arena_new(in->body_len * 3 + 16384) /* the tree takes ~3x the text */;
    if (!r || !a) {
        tl_free(r);
        tl_arena_free(a);
        static const char msg[] = "{\"success\":false,\"error\":\"out of memory\"}";
        done(arg, 503, msg, sizeof msg - 1);
        atomic_fetch_sub(&c->inflight, 1);
        return;
    }
    r->c = c;
    r->done = done;
    r->arg = arg;
    r->arena = a;
    const tl_config *cfg = c->cfg;
    tl_seg_ctx cx = {
        .received_ms = in->received_ms, .max_event_bytes = cfg->max_event_bytes, .arena = a};
    tl_seg_error e;
    memset(&e, 0, sizeof e);

    tl_json_limits lim = {cfg->max_depth, cfg->max_string_len, cfg->max_members};
    tl_json *root = NULL;
    tl_json_error jerr;
    int rc = tl_json_parse(a, in->body, in->body_len, &lim, &root, &jerr);
    tl_str key = {in->write_key, (uint32_t)in->write_key_len};
    if (!key.len && rc == 0) {
        const tl_json *wk = tl_json_get_string(root, "writeKey");
        if (wk)
            key = tl_str_make(wk->u.str, wk->len);
    }
    if (!key.len || (cfg->n_sites && !tl_config_site_for_key(cfg, key.ptr, key.len))) {
        const char *msg = key.len ? "unknown write key"
                                  : "missing write key: send it as the "
                                    "HTTP Basic user name or as writeKey";
        e.reason = TL_DL_UNKNOWN_SITE;
        snprintf(e.pointer, sizeof e.pointer, "%s", "/writeKey");
        snprintf(e.keyword, sizeof e.keyword, "%s", "writeKey");
        snprintf(e.expected, sizeof e.expected, "%s", "a write key of a configured site");
        snprintf(e.found, sizeof e.found, "%s", key.len ? "an unknown key" : "nothing");
        snprintf(e.message, sizeof e.message, "%s", msg);
        add_dead(r, TL_DL_UNKNOWN_SITE, (tl_str){NULL, 0}, in->received_ms, -1, &e,
                 rc == 0 ? root : NULL, in->body, in->body_len);
        whole_request_error(r, 401, msg);
        goto send;
    }
    if (cfg->n_sites) {
        const tl_site *s = tl_config_site_for_key(cfg, key.ptr, key.len);
        cx.site = tl_str_make(s->id, strlen(s->id));
    } else {
        cx.site = key;
    }
    if (rc) {
        int reason = rc == TL_ELIMIT ? TL_DL_SIZE_VIOLATION : TL_DL_PARSE_ERROR;
        e.reason = reason;
        snprintf(e.keyword, sizeof e.keyword, "%s", reason == TL_DL_PARSE_ERROR ? "json" : "limit");
        snprintf(e.expected, sizeof e.expected, "%s", "a JSON document within the limits");
        snprintf(e.found, sizeof e.found, "error at byte %zu", jerr.offset);
        snprintf(e.message, sizeof e.message, "%s", jerr.msg);
        add_dead(r, reason, cx.site, in->received_ms, -1, &e, NULL, in->body, in->body_len);
        char msg[240];
        snprintf(msg, sizeof msg, "%s: %s", reason == TL_DL_PARSE_ERROR ? "invalid JSON" : "limit",
                 jerr.msg);
        whole_request_error(r, 400, msg);
        goto send;
    }
    if (in->type) {
        one_event(r, &cx, root, in->type, 0);
        build_answer(r, false);
    } else {
        const tl_json *batch = tl_json_get(root, "batch");
        if (!batch || batch->type != TL_JSON_ARRAY) {
            e.reason = TL_DL_TRACKER_PROTOCOL_VIOLATION;
            snprintf(e.pointer, sizeof e.pointer, "%s", "/batch");
            snprintf(e.keyword, sizeof e.keyword, "%s", "required");
            snprintf(e.expected, sizeof e.expected, "%s", "an array of events");
            snprintf(e.found, sizeof e.found, "%s", batch ? "another type" : "nothing");
            snprintf(e.message, sizeof e.message, "%s",
                     "a batch request needs a \"batch\" array of events");
            add_dead(r, e.reason, cx.site, in->received_ms, -1, &e, root, NULL, 0);
            whole_request_error(r, 400, e.message);
            goto send;
        }
        const tl_json *bctx = tl_json_get(root, "context");
        cx.batch_context = bctx && bctx->type == TL_JSON_OBJECT ? bctx : NULL;
        const tl_json *sent = tl_json_get_string(root, "sentAt");
        if (sent && tl_time_parse(sent->u.str, sent->len, &cx.batch_sent_ms) == 0)
            cx.batch_sent_at = true;
        for (uint32_t i = 0; i < batch->len; i++)
            one_event(r, &cx, &batch->u.items[i], 0, (long)i);
        build_answer(r, true);
    }
send:
    /* one extra pending count keeps finish() from running until both appends are queued */
    atomic_store(&r->pending, 1);
    if (!atomic_load(&r->failed)) {
        if (r->n_ev) {
            atomic_fetch_add(&r->pending, 1);
            if (append_all(r, c->events, &r->records, r->ev_len, r->ev_part, r->n_ev)) {
                atomic_store(&r->failed, 1);
                atomic_fetch_sub(&r->pending, 1);
            }
        }
        if (r->n_dl) {
            atomic_fetch_add(&r->pending, 1);
            if (append_all(r, c->deadletter, &r->dead, r->dl_len, r->dl_part, r->n_dl)) {
                atomic_store(&r->failed, 1);
                atomic_fetch_sub(&r->pending, 1);
            }
        }
    }
    on_durable(r, 0);
}

/* ---- HTTP ---- */

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* "Basic base64(key:)" → key, decoded into a static-size scratch held by out (arena-free:
 * the key is copied into the caller's buffer through out->ptr). */
static bool basic_key(const char *s, size_t n, tl_str *out)
{
    static const char prefix[] = "Basic ";
    if (n < sizeof prefix - 1 || strncasecmp(s, prefix, sizeof prefix - 1) != 0)
        return false;
    s += sizeof prefix - 1;
    n -= sizeof prefix - 1;
    char *dst = (char *)out->ptr;
    size_t cap = out->len, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' || s[i] == ' ')
            continue;
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap)
                return false;
            dst[o++] = (char)(acc >> bits & 0xff);
        }
    }
    char *colon = memchr(dst, ':', o);
    out->len = (uint32_t)(colon ? (size_t)(colon - dst) : o);
    return true;
}

static void http_done(void *arg, int status, const char *body, size_t len)
{
    tl_http_respond(arg, status, "application/json", body, len);
}

static int on_ingest(void *arg, tl_http_req *req)
{
    struct route_arg *ra = arg;
    char keybuf[512];
    tl_str key = {keybuf, sizeof keybuf};
    const char *auth = tl_http_header(req, "Authorization");
    if (!auth || !basic_key(auth, strlen(auth), &key))
        key = (tl_str){NULL, 0};
    tl_collect_input in = {.type = ra->type,
                           .write_key = key.ptr,
                           .write_key_len = key.len,
                           .received_ms = tl_http_received_ms(req)};
    in.body = tl_http_body(req, &in.body_len);
    tl_http_add_header(req, "Access-Control-Allow-Origin", "*");
    tl_collect_submit(ra->c, &in, http_done, req);
    return TL_HTTP_DEFERRED;
}

static int on_preflight(void *arg, tl_http_req *req)
{
    tl_http_add_header(req, "Access-Control-Allow-Origin", "*");
    tl_http_add_header(req, "Access-Control-Allow-Methods", "POST, OPTIONS");
    tl_http_add_header(req, "Access-Control-Allow-Headers", "Content-Type, Authorization");
    tl_http_add_header(req, "Access-Control-Max-Age", "86400");
    tl_http_respond(req, 204, NULL, "", 0);
    return TL_HTTP_DONE;
}

int tl_collect_routes(tl_collect *c, tl_http *http)
{
    static const struct {
        const char *path;
        int type;
    } routes[] = {
        {"/v1/batch", 0},
        {"/v1/track", TL_EV_TRACK},
        {"/v1/page", TL_EV_PAGE},
        {"/v1/screen", TL_EV_SCREEN},
        {"/v1/identify", TL_EV_IDENTIFY},
        {"/v1/group", TL_EV_GROUP},
        {"/v1/alias", TL_EV_ALIAS},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(routes); i++) {
        c->route_args[i] = (struct route_arg){c, routes[i].type};
        int rc = tl_http_route_limit(http, "POST", routes[i].path, false, c->cfg->max_body_bytes,
                                     on_ingest, &c->route_args[i]);
        if (rc == 0)
            rc = tl_http_route(http, "OPTIONS", routes[i].path, false, on_preflight, c);
        if (rc)
            return rc;
    }
    return 0;
}
