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

#include "collect/deadletters.h"
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
    tl_registry *registry;
    tl_enrich *enrich;
    tl_dedup *dedup;
    uint32_t partitions;
    uint32_t dl_partitions;
    atomic_int inflight;
    atomic_bool closing;
    pthread_mutex_t replay_mu; /* one replay at a time */
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
    c->registry = o->registry;
    c->enrich = o->enrich;
    pthread_mutex_init(&c->replay_mu, NULL);
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
    pthread_mutex_destroy(&c->replay_mu);
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
    bool replay; /* re-submitting dead letters: no new dead letters, flag REPLAYED */
    const struct candidate *cands; /* replay: index → dead letter id */
    const char *client_ip;         /* the peer, for geo-IP when the event has no context.ip */
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

/* What a dead-letter record says about one rejected event or request. */
typedef struct {
    int reason;
    tl_str site;
    int64_t received_ms;
    long index; /* position in the batch, or -1 for a whole request */
    int type;   /* TL_EV_* the endpoint implied, or 0 */
    const tl_seg_error *errors;
    size_t n_errors;
    tl_str subject; /* schema subject, when a schema was involved */
    int version;
} dead_info;

static void write_error(tl_buf *b, const tl_seg_error *e)
{
    tl_buf_puts(b, "{\"pointer\":");
    tl_json_write_string(b, e->pointer, strlen(e->pointer));
    tl_buf_puts(b, ",\"keyword\":");
    tl_json_write_string(b, e->keyword, strlen(e->keyword));
    tl_buf_puts(b, ",\"expected\":");
    tl_json_write_string(b, e->expected, strlen(e->expected));
    tl_buf_puts(b, ",\"found\":");
    tl_json_write_string(b, e->found, strlen(e->found));
    tl_buf_puts(b, ",\"message\":");
    tl_json_write_string(b, e->message, strlen(e->message));
    tl_buf_putc(b, '}');
}

static void add_dead(request *r, const dead_info *d, const tl_json *payload, const char *text,
                     size_t text_len)
{
    tl_collect *c = r->c;
    if (r->replay) /* a replayed dead letter that fails again stays where it is */
        return;
    atomic_fetch_add(&c->rejected[d->reason], 1);
    if (grow_u32(&r->dl_len, &r->dl_part, r->n_dl, &r->cap_dl))
        return;
    size_t start = r->dead.len;
    tl_buf *b = &r->dead;
    char ts[32];
    tl_time_format(d->received_ms, ts);
    tl_buf_puts(b, "{\"reason\":\"");
    tl_buf_puts(b, tl_dl_reason_name(d->reason));
    tl_buf_puts(b, "\",\"site\":");
    if (d->site.len)
        tl_json_write_string(b, d->site.ptr, d->site.len);
    else
        tl_buf_puts(b, "null");
    tl_buf_printf(b, ",\"received_at\":\"%s\",\"index\":", ts);
    if (d->index >= 0)
        tl_buf_printf(b, "%ld", d->index);
    else
        tl_buf_puts(b, "null");
    tl_buf_puts(b, ",\"type\":");
    const char *tn = tl_event_type_name(d->type);
    if (tn)
        tl_buf_printf(b, "\"%s\"", tn);
    else
        tl_buf_puts(b, "null");
    tl_buf_puts(b, ",\"subject\":");
    if (d->subject.len) {
        tl_json_write_string(b, d->subject.ptr, d->subject.len);
        if (d->version > 0)
            tl_buf_printf(b, ",\"version\":%d", d->version);
        else
            tl_buf_puts(b, ",\"version\":null");
    } else {
        tl_buf_puts(b, "null,\"version\":null");
    }
    tl_buf_puts(b, ",\"errors\":[");
    for (size_t i = 0; i < d->n_errors; i++) {
        if (i)
            tl_buf_putc(b, ',');
        write_error(b, &d->errors[i]);
    }
    tl_buf_puts(b, "],");
    if (payload) {
        tl_buf_puts(b, "\"payload\":");
        write_redacted(b, payload);
    } else {
        tl_buf_puts(b, "\"payload_text\":");
        write_masked_text(b, text, text_len);
    }
    tl_buf_putc(b, '}');
    uint32_t p = d->site.len ? tl_event_partition(d->site, 0, c->dl_partitions) : 0;
    r->dl_len[r->n_dl] = (uint32_t)(r->dead.len - start);
    r->dl_part[r->n_dl] = p;
    r->n_dl++;
}

struct candidate {
    uint32_t partition;
    uint64_t offset;
    size_t at, len; /* the record's bytes in the scan's buffer */
};

static void add_rejected(request *r, long index, const tl_seg_error *e)
{
    tl_buf *b = &r->rejected;
    if (r->n_rejected++)
        tl_buf_putc(b, ',');
    if (r->replay)
        tl_buf_printf(b, "{\"id\":\"%u:%llu\"", r->cands[index].partition,
                      (unsigned long long)r->cands[index].offset);
    else
        tl_buf_printf(b, "{\"index\":%ld", index);
    tl_buf_printf(b, ",\"reason\":\"%s\",\"pointer\":", tl_dl_reason_name(e->reason));
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

#define MAX_EVENT_ERRORS 8

/* The schema subject of an event: the event name for track, "$page", "$screen", "$identify". */
static tl_str subject_of(const tl_event *ev)
{
    switch (ev->type) {
    case TL_EV_TRACK:
        return ev->f[TL_F_NAME];
    case TL_EV_PAGE:
        return TL_STR("$page");
    case TL_EV_SCREEN:
        return TL_STR("$screen");
    case TL_EV_IDENTIFY:
        return TL_STR("$identify");
    default:
        return (tl_str){NULL, 0};
    }
}

static void set_error(tl_seg_error *e, int reason, const char *pointer, const char *keyword,
                      const char *expected, const char *found, const char *message)
{
    e->reason = reason;
    snprintf(e->pointer, sizeof e->pointer, "%s", pointer);
    snprintf(e->keyword, sizeof e->keyword, "%s", keyword);
    snprintf(e->expected, sizeof e->expected, "%s", expected);
    snprintf(e->found, sizeof e->found, "%s", found);
    snprintf(e->message, sizeof e->message, "%s", message);
}

/* Checks the event's properties (traits for identify) against its subject's latest schema.
 * 0 when it passes (or there is no schema and the site accepts unplanned events); -1 with
 * d filled in otherwise. */
static int check_schema(request *r, const tl_seg_ctx *cx, const tl_json *ev, const tl_event *out,
                        dead_info *d, tl_seg_error *errs)
{
    tl_collect *c = r->c;
    tl_str subject = subject_of(out);
    if (!subject.len)
        return 0;
    const tl_schema *sch;
    int version = 0, id = 0;
    if (!c->registry ||
        tl_registry_latest(c->registry, subject.ptr, subject.len, &sch, &version, &id) != 0) {
        if (!tl_config_site_strict(c->cfg, cx->site.ptr, cx->site.len))
            return 0;
        char expected[128], msg[300];
        snprintf(expected, sizeof expected, "a schema registered for subject \"%.80s\"",
                 subject.ptr);
        snprintf(msg, sizeof msg,
                 "no schema is registered for subject \"%.*s\" and site \"%.*s\" rejects "
                 "unplanned events (strict)",
                 (int)TL_MIN(subject.len, 80u), subject.ptr, (int)TL_MIN(cx->site.len, 80u),
                 cx->site.ptr);
        set_error(&errs[0], TL_DL_SCHEMA_VIOLATION, "", "subject", expected, "no schema", msg);
        d->reason = TL_DL_SCHEMA_VIOLATION;
        d->n_errors = 1;
        d->subject = subject;
        return -1;
    }
    const char *member = out->type == TL_EV_IDENTIFY ? "traits" : "properties";
    static const tl_json empty = {.type = TL_JSON_OBJECT};
    const tl_json *inst = tl_json_get(ev, member);
    if (!inst || inst->type == TL_JSON_NULL)
        inst = &empty;
    tl_schema_error se[MAX_EVENT_ERRORS];
    size_t n = 0;
    if (tl_schema_validate(sch, inst, se, MAX_EVENT_ERRORS, &n))
        return 0;
    if (n == 0) { /* invalid, but the validator named nothing: still say which schema */
        n = 1;
        memset(&se[0], 0, sizeof se[0]);
        snprintf(se[0].message, sizeof se[0].message, "does not match the schema");
    }
    for (size_t i = 0; i < n; i++) {
        char ptr[300], msg[520];
        snprintf(ptr, sizeof ptr, "/%s%.256s", member, se[i].pointer);
        /* the validator's message starts with its pointer, relative to the properties;
         * say it from the event's root, as the pointer field does */
        const char *rest = strstr(se[i].message, ": ");
        if (rest)
            snprintf(msg, sizeof msg, "%s%.200s", ptr, rest);
        else
            snprintf(msg, sizeof msg, "%s: %.200s", ptr, se[i].message);
        set_error(&errs[i], TL_DL_SCHEMA_VIOLATION, ptr, se[i].keyword, se[i].expected, se[i].found,
                  msg);
    }
    d->reason = TL_DL_SCHEMA_VIOLATION;
    d->n_errors = n;
    d->subject = subject;
    d->version = version;
    return -1;
}

/* The IP geo-IP should use: context.ip of the event (or of the batch), else the peer. */
static tl_str ip_of(const request *r, const tl_seg_ctx *cx, const tl_json *ev)
{
    const tl_json *ctx = tl_json_get(ev, "context");
    const tl_json *ip = tl_json_get_string(ctx, "ip");
    if (!ip)
        ip = tl_json_get_string(cx->batch_context, "ip");
    if (ip)
        return tl_str_make(ip->u.str, ip->len);
    return r->client_ip ? tl_str_make(r->client_ip, strlen(r->client_ip)) : (tl_str){"", 0};
}

static void reject(request *r, const dead_info *d, const tl_json *ev)
{
    add_rejected(r, d->index, &d->errors[0]);
    add_dead(r, d, ev, NULL, 0);
}

static void one_event(request *r, const tl_seg_ctx *cx, const tl_json *ev, int type, long index)
{
    tl_event out;
    tl_seg_error errs[MAX_EVENT_ERRORS];
    dead_info d = {.site = cx->site,
                   .received_ms = cx->received_ms,
                   .index = index,
                   .type = type,
                   .errors = errs,
                   .n_errors = 1};
    if (tl_seg_event(cx, ev, type, &out, &errs[0])) {
        d.reason = errs[0].reason;
        reject(r, &d, ev);
        return;
    }
    if (check_schema(r, cx, ev, &out, &d, errs)) {
        reject(r, &d, ev);
        return;
    }
    uint64_t key = dedup_key(cx->site, out.f[TL_F_MESSAGE_ID]);
    if (!tl_dedup_insert(r->c->dedup, key, cx->received_ms)) {
        r->duplicates++;
        atomic_fetch_add(&r->c->duplicates, 1);
        return;
    }
    if (r->c->enrich) {
        tl_str ip = ip_of(r, cx, ev);
        tl_enrich_event(r->c->enrich, &out, ip.ptr, ip.len, r->arena);
    }
    if (r->replay)
        out.flags |= TL_EVF_REPLAYED;
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

/* The journal records for n payloads laid back to back in buf (in the request's arena). */
static tl_journal_rec *records_of(request *r, const tl_buf *buf, const uint32_t *lens,
                                  const uint32_t *parts, size_t n)
{
    tl_journal_rec *recs = tl_arena_alloc(r->arena, n * sizeof *recs);
    size_t off = 0;
    for (size_t i = 0; recs && i < n; i++) {
        recs[i] = (tl_journal_rec){parts[i], buf->ptr + off, lens[i]};
        off += lens[i];
    }
    return recs;
}

/* Appends n records laid back to back in buf; 0 when queued (on_durable will fire). */
static int append_all(request *r, tl_journal *j, const tl_buf *buf, const uint32_t *lens,
                      const uint32_t *parts, size_t n)
{
    tl_journal_rec *recs = records_of(r, buf, lens, parts, n);
    return recs ? tl_journal_append(j, recs, n, on_durable, r, NULL) : TL_ENOMEM;
}

/* Queues the request's events and dead letters; finish() answers once both are durable. */
static void send_request(request *r)
{
    tl_collect *c = r->c;
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
    r->client_ip = in->client_ip;
    const tl_config *cfg = c->cfg;
    tl_seg_ctx cx = {
        .received_ms = in->received_ms, .max_event_bytes = cfg->max_event_bytes, .arena = a};
    tl_seg_error e;

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
        set_error(&e, TL_DL_UNKNOWN_SITE, "/writeKey", "writeKey",
                  "a write key of a configured site", key.len ? "an unknown key" : "nothing", msg);
        dead_info d = {.reason = TL_DL_UNKNOWN_SITE,
                       .received_ms = in->received_ms,
                       .index = -1,
                       .type = in->type,
                       .errors = &e,
                       .n_errors = 1};
        add_dead(r, &d, rc == 0 ? root : NULL, in->body, in->body_len);
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
        char at[48];
        snprintf(at, sizeof at, "error at byte %zu", jerr.offset);
        set_error(&e, reason, "", reason == TL_DL_PARSE_ERROR ? "json" : "limit",
                  "a JSON document within the limits", at, jerr.msg);
        dead_info d = {.reason = reason,
                       .site = cx.site,
                       .received_ms = in->received_ms,
                       .index = -1,
                       .type = in->type,
                       .errors = &e,
                       .n_errors = 1};
        add_dead(r, &d, NULL, in->body, in->body_len);
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
            set_error(&e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/batch", "required",
                      "an array of events", batch ? "another type" : "nothing",
                      "a batch request needs a \"batch\" array of events");
            dead_info d = {.reason = e.reason,
                           .site = cx.site,
                           .received_ms = in->received_ms,
                           .index = -1,
                           .errors = &e,
                           .n_errors = 1};
            add_dead(r, &d, root, NULL, 0);
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
    send_request(r);
}

/* ---- dead letters: listing and replay ---- */

int tl_collect_deadletters(tl_collect *c, const tl_dl_query *q, tl_buf *out)
{
    return tl_dl_list(c->deadletter, q, out);
}

typedef struct {
    tl_buf raw; /* candidate records back to back */
    struct candidate *items;
    size_t n, cap;
    size_t not_replayable;
} candidates;

static bool add_candidate(void *arg, const tl_dl_entry *e)
{
    candidates *cs = arg;
    if (e->replayed)
        return true;
    const tl_json *payload = tl_json_get(e->record, "payload");
    const tl_json *site = tl_json_get_string(e->record, "site");
    if (!payload || payload->type != TL_JSON_OBJECT || !site || site->len == 0) {
        cs->not_replayable++; /* not JSON, or no site: nothing to re-validate */
        return true;
    }
    if (cs->n == cs->cap) {
        size_t nc = cs->cap ? cs->cap * 2 : 64;
        struct candidate *ni = tl_realloc(cs->items, nc * sizeof *ni);
        if (!ni)
            return false;
        cs->items = ni;
        cs->cap = nc;
    }
    cs->items[cs->n++] = (struct candidate){e->partition, e->offset, cs->raw.len, e->raw_len};
    return tl_buf_append(&cs->raw, e->raw, e->raw_len) == 0;
}

static int append_sync_all(request *r, tl_journal *j, const tl_buf *buf, const uint32_t *lens,
                           const uint32_t *parts, size_t n)
{
    tl_journal_rec *recs = records_of(r, buf, lens, parts, n);
    return recs ? tl_journal_append_sync(j, recs, n, NULL) : TL_ENOMEM;
}

int tl_collect_replay(tl_collect *c, const tl_dl_query *q, tl_buf *out)
{
    candidates cs = {0};
    tl_buf_init(&cs.raw);
    tl_buf marks;
    tl_buf_init(&marks);
    int status = 500;
    pthread_mutex_lock(&c->replay_mu);
    request *r = tl_calloc(1, sizeof *r);
    if (!r || !(r->arena = tl_arena_new(1 << 16)))
        goto done;
    r->c = c;
    r->replay = true;
    if (tl_dl_scan(c->deadletter, q, add_candidate, &cs))
        goto done;
    r->cands = cs.items;
    size_t passed = 0;
    tl_buf_puts(&marks, "{\"replayed\":[");
    for (size_t i = 0; i < cs.n; i++) {
        const struct candidate *cd = &cs.items[i];
        tl_json *rec;
        tl_json_error jerr;
        if (tl_json_parse(r->arena, cs.raw.ptr + cd->at, cd->len, NULL, &rec, &jerr))
            continue;
        const tl_json *site = tl_json_get_string(rec, "site");
        const tl_json *ts = tl_json_get_string(rec, "received_at");
        const tl_json *type = tl_json_get_string(rec, "type");
        tl_seg_ctx cx = {.site = tl_str_make(site->u.str, site->len),
                         .max_event_bytes = c->cfg->max_event_bytes,
                         .arena = r->arena};
        if (!ts || tl_time_parse(ts->u.str, ts->len, &cx.received_ms))
            cx.received_ms = tl_now_ms();
        size_t before = r->accepted + r->duplicates;
        one_event(r, &cx, tl_json_get(rec, "payload"),
                  type ? tl_event_type_parse(type->u.str, type->len) : 0, (long)i);
        if (r->accepted + r->duplicates > before)
            tl_buf_printf(&marks, "%s[%u,%llu]", passed++ ? "," : "", cd->partition,
                          (unsigned long long)cd->offset);
    }
    char ts[32];
    tl_time_format(tl_now_ms(), ts);
    tl_buf_printf(&marks, "],\"at\":\"%s\"}", ts);
    if (atomic_load(&r->failed))
        goto done;
    if (r->n_ev && append_sync_all(r, c->events, &r->records, r->ev_len, r->ev_part, r->n_ev)) {
        for (size_t i = 0; i < r->n_keys; i++)
            tl_dedup_remove(c->dedup, r->keys[i]);
        status = 503;
        goto done;
    }
    atomic_fetch_add(&c->accepted, r->accepted);
    if (passed) {
        uint32_t len = (uint32_t)marks.len, part = 0;
        if (append_sync_all(r, c->deadletter, &marks, &len, &part, 1))
            goto done; /* the events are in; a later replay sees them as duplicates */
    }
    tl_buf_printf(out,
                  "{\"replayed\":%zu,\"duplicates\":%zu,\"still_failing\":%zu,"
                  "\"not_replayable\":%zu,\"failures\":[",
                  r->accepted, r->duplicates, r->n_rejected, cs.not_replayable);
    tl_buf_append(out, r->rejected.ptr ? r->rejected.ptr : "", r->rejected.len);
    tl_buf_puts(out, "]}");
    status = 200;
done:
    pthread_mutex_unlock(&c->replay_mu);
    if (status != 200) {
        tl_buf_reset(out);
        tl_buf_puts(out, status == 503 ? "{\"error\":\"the replayed events could not be written "
                                         "durably; nothing was marked, retry\"}"
                                       : "{\"error\":\"replay failed\"}");
    }
    if (r)
        request_free(r);
    tl_free(cs.items);
    tl_buf_deinit(&cs.raw);
    tl_buf_deinit(&marks);
    return status;
}

static int dl_query_from_http(tl_http_req *req, tl_dl_query *q)
{
    char err[200];
    if (tl_dl_query_parse(q, tl_http_query(req, "site_id"), tl_http_query(req, "type"),
                          tl_http_query(req, "from"), tl_http_query(req, "to"),
                          tl_http_query(req, "limit"), err, sizeof err)) {
        tl_http_respond_error(req, 400, err);
        return -1;
    }
    return 0;
}

/* GET /api/v2/deadletters and POST /api/v2/deadletters/replay: the same filters, two verbs. */
static int dl_endpoint(tl_http_req *req, tl_collect *c,
                       int (*fn)(tl_collect *, const tl_dl_query *, tl_buf *))
{
    tl_dl_query q;
    if (dl_query_from_http(req, &q))
        return TL_HTTP_DONE;
    tl_buf out;
    tl_buf_init(&out);
    int status = fn(c, &q, &out);
    tl_http_respond(req, status, "application/json", out.ptr ? out.ptr : "", out.len);
    tl_buf_deinit(&out);
    return TL_HTTP_DONE;
}

static int on_deadletters(void *arg, tl_http_req *req)
{
    return dl_endpoint(req, arg, tl_collect_deadletters);
}

static int on_replay(void *arg, tl_http_req *req)
{
    return dl_endpoint(req, arg, tl_collect_replay);
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

/* The write key from an "Authorization: Basic" header, decoded into buf; empty when absent. */
static tl_str write_key_of(tl_http_req *req, char *buf, size_t cap)
{
    tl_str key = {buf, (uint32_t)cap};
    const char *auth = tl_http_header(req, "Authorization");
    if (!auth || !basic_key(auth, strlen(auth), &key))
        key = (tl_str){NULL, 0};
    return key;
}

static void http_done(void *arg, int status, const char *body, size_t len)
{
    tl_http_respond(arg, status, "application/json", body, len);
}

static int on_ingest(void *arg, tl_http_req *req)
{
    struct route_arg *ra = arg;
    char keybuf[512];
    tl_str key = write_key_of(req, keybuf, sizeof keybuf);
    tl_collect_input in = {.type = ra->type,
                           .write_key = key.ptr,
                           .write_key_len = key.len,
                           .received_ms = tl_http_received_ms(req),
                           .client_ip = tl_http_client_ip(req)};
    in.body = tl_http_body(req, &in.body_len);
    tl_http_add_header(req, "Access-Control-Allow-Origin", "*");
    tl_collect_submit(ra->c, &in, http_done, req);
    return TL_HTTP_DEFERRED;
}

static void noop_done(void *arg, int status, const char *body, size_t len) {}

/* A body over max_body_bytes is answered 413 by the HTTP layer without being read; it still
 * leaves a trace in the dead letters (reason size_violation, no payload), so a client that
 * keeps sending too much shows up in the listing and the counts. Not waited for: the client
 * is told 413 either way. */
static void on_oversize(void *arg, tl_http_req *req, size_t size)
{
    struct route_arg *ra = arg;
    tl_collect *c = ra->c;
    char keybuf[512];
    tl_str key = write_key_of(req, keybuf, sizeof keybuf);
    const tl_site *site = key.len ? tl_config_site_for_key(c->cfg, key.ptr, key.len) : NULL;
    request *r = tl_calloc(1, sizeof *r);
    if (!r || !(r->arena = tl_arena_new(4096))) {
        tl_free(r);
        return;
    }
    atomic_fetch_add(&c->inflight, 1);
    r->c = c;
    r->done = noop_done;
    tl_seg_error e;
    set_error(&e, TL_DL_SIZE_VIOLATION, "", "maxBytes", "", "", "");
    snprintf(e.expected, sizeof e.expected, "at most %zu bytes (max_body_bytes)",
             c->cfg->max_body_bytes);
    snprintf(e.found, sizeof e.found, "%zu bytes", size);
    snprintf(e.message, sizeof e.message,
             "request body of %zu bytes exceeds the limit of %zu bytes (max_body_bytes); "
             "the body was not read",
             size, c->cfg->max_body_bytes);
    dead_info d = {.reason = TL_DL_SIZE_VIOLATION,
                   .received_ms = tl_http_received_ms(req),
                   .index = -1,
                   .type = ra->type,
                   .errors = &e,
                   .n_errors = 1};
    if (site)
        d.site = tl_str_make(site->id, strlen(site->id));
    else if (!c->cfg->n_sites)
        d.site = key; /* open mode: the key is the site */
    add_dead(r, &d, NULL, "", 0);
    send_request(r);
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
            rc = tl_http_route_oversize(http, "POST", routes[i].path, on_oversize);
        if (rc == 0)
            rc = tl_http_route(http, "OPTIONS", routes[i].path, false, on_preflight, c);
        if (rc)
            return rc;
    }
    int rc = tl_http_route(http, "GET", "/api/v2/deadletters", false, on_deadletters, c);
    if (rc == 0)
        rc = tl_http_route(http, "POST", "/api/v2/deadletters/replay", false, on_replay, c);
    return rc;
}
