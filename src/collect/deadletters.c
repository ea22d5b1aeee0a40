/*
 * Reading the dead letters back: listing them and finding the ones to replay.
 *
 * The dead-letter journal holds two kinds of records, both compact JSON:
 *
 *   a dead letter   {"reason":..,"site":..,"received_at":..,"index":..,"type":..,
 *                    "subject":..,"version":..,"errors":[..],"payload":{..}}
 *                   (or "payload_text" when the request was not JSON)
 *   a replay marker {"replayed":[[partition, offset], ...],"at":".."}
 *
 * A dead letter is identified by "partition:offset". Replay markers are
 * appended after the events they let through are durable; a scan reads every
 * marker first, so a replayed dead letter is shown with "replayed": true and
 * is never replayed again. The journal is append-only: nothing is rewritten.
 *
 * Cost: a listing scans the whole dead-letter journal (its retention bounds
 * it). Dead letters are the exception path, so there is no index yet.
 */
#include "collect/deadletters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t *keys; /* (partition << 48) | offset of replayed dead letters, sorted */
    size_t n, cap;
} offset_set;

static uint64_t pack(uint32_t p, uint64_t o)
{
    return (uint64_t)p << 48 | (o & 0xffffffffffffULL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int set_add(offset_set *s, uint64_t k)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        uint64_t *nk = tl_realloc(s->keys, nc * sizeof *nk);
        if (!nk)
            return TL_ENOMEM;
        s->keys = nk;
        s->cap = nc;
    }
    s->keys[s->n++] = k;
    return 0;
}

static bool set_has(const offset_set *s, uint64_t k)
{
    return s->n && bsearch(&k, s->keys, s->n, sizeof k, cmp_u64) != NULL;
}

static int reason_of(const tl_json *rec)
{
    const tl_json *r = tl_json_get_string(rec, "reason");
    for (int i = 0; r && i < TL_DL__COUNT; i++)
        if (strcmp(r->u.str, tl_dl_reason_name(i)) == 0)
            return i;
    return -1;
}

/* Pass 1: the replay markers. */
static int read_markers(tl_journal *dl, tl_arena *a, offset_set *set)
{
    for (uint32_t p = 0; p < tl_journal_partitions(dl); p++) {
        tl_journal_cursor *cur;
        int rc = tl_journal_cursor_open_at(dl, p, 0, &cur);
        if (rc)
            return rc;
        const void *data;
        uint32_t len;
        uint64_t off;
        while ((rc = tl_journal_cursor_next(cur, &data, &len, &off)) == 1) {
            /* markers start with {"replayed": — cheap to tell apart without parsing */
            if (len < 13 || memcmp(data, "{\"replayed\":", 12) != 0)
                continue;
            tl_json *m;
            tl_json_error err;
            tl_arena_reset(a);
            if (tl_json_parse(a, data, len, NULL, &m, &err))
                continue;
            const tl_json *list = tl_json_get(m, "replayed");
            for (uint32_t i = 0; list && list->type == TL_JSON_ARRAY && i < list->len; i++) {
                const tl_json *pair = &list->u.items[i];
                int64_t pp, oo;
                if (pair->type == TL_JSON_ARRAY && pair->len == 2 &&
                    tl_json_int64(&pair->u.items[0], &pp) && tl_json_int64(&pair->u.items[1], &oo))
                    set_add(set, pack((uint32_t)pp, (uint64_t)oo));
            }
        }
        tl_journal_cursor_close(cur);
        if (rc < 0)
            return rc;
    }
    if (set->n)
        qsort(set->keys, set->n, sizeof *set->keys, cmp_u64);
    return 0;
}

int tl_dl_scan(tl_journal *dl, const tl_dl_query *q, tl_dl_visit visit, void *arg)
{
    offset_set set = {0};
    tl_arena *a = tl_arena_new(1 << 16); /* scratch: reset for every record */
    if (!a)
        return TL_ENOMEM;
    int rc = read_markers(dl, a, &set);
    size_t site_len = strlen(q->site);
    for (uint32_t p = 0; rc == 0 && p < tl_journal_partitions(dl); p++) {
        tl_journal_cursor *cur;
        if ((rc = tl_journal_cursor_open_at(dl, p, 0, &cur)))
            break;
        const void *data;
        uint32_t len;
        uint64_t off;
        bool go = true;
        /* the record lives in the scratch arena while it is visited; a visitor copies
         * what it keeps, so a scan's memory does not grow with the journal */
        while (go && (rc = tl_journal_cursor_next(cur, &data, &len, &off)) == 1) {
            if (len >= 12 && memcmp(data, "{\"replayed\":", 12) == 0)
                continue;
            tl_arena_reset(a);
            char *copy = tl_arena_strndup(a, data, len);
            tl_json *rec;
            tl_json_error err;
            if (!copy) {
                rc = TL_ENOMEM;
                break;
            }
            if (tl_json_parse(a, copy, len, NULL, &rec, &err))
                continue;
            tl_dl_entry e = {
                .partition = p, .offset = off, .record = rec, .raw = copy, .raw_len = len};
            e.reason = reason_of(rec);
            const tl_json *ts = tl_json_get_string(rec, "received_at");
            if (!ts || tl_time_parse(ts->u.str, ts->len, &e.received_ms))
                e.received_ms = 0;
            const tl_json *site = tl_json_get_string(rec, "site");
            if (site_len &&
                (!site || site->len != site_len || memcmp(site->u.str, q->site, site_len) != 0))
                continue;
            if (q->reason >= 0 && e.reason != q->reason)
                continue;
            if ((q->from_ms && e.received_ms < q->from_ms) ||
                (q->to_ms && e.received_ms >= q->to_ms))
                continue;
            e.replayed = set_has(&set, pack(p, off));
            go = visit(arg, &e);
        }
        tl_journal_cursor_close(cur);
        if (rc > 0)
            rc = 0;
    }
    tl_free(set.keys);
    tl_arena_free(a);
    return rc < 0 ? rc : 0;
}

int tl_dl_query_parse(tl_dl_query *q, const char *site, const char *type, const char *from,
                      const char *to, const char *limit, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->reason = -1;
    q->limit = 100;
    if (site) {
        if (strlen(site) >= sizeof q->site) {
            snprintf(err, errlen, "site_id is longer than %zu bytes", sizeof q->site - 1);
            return TL_EINVAL;
        }
        snprintf(q->site, sizeof q->site, "%s", site);
    }
    if (type && *type) {
        for (int i = 0; i < TL_DL__COUNT; i++)
            if (strcmp(type, tl_dl_reason_name(i)) == 0)
                q->reason = i;
        if (q->reason < 0) {
            snprintf(err, errlen,
                     "unknown type '%.60s'; valid types: parse_error, size_violation, "
                     "tracker_protocol_violation, schema_violation, unknown_site",
                     type);
            return TL_EINVAL;
        }
    }
    if (from && *from && tl_time_parse(from, strlen(from), &q->from_ms)) {
        snprintf(err, errlen, "from must be an ISO date or date-time, got '%.60s'", from);
        return TL_EINVAL;
    }
    if (to && *to && tl_time_parse(to, strlen(to), &q->to_ms)) {
        snprintf(err, errlen, "to must be an ISO date or date-time, got '%.60s'", to);
        return TL_EINVAL;
    }
    if (limit && *limit) {
        char *end;
        long n = strtol(limit, &end, 10);
        if (*end || n < 1 || n > 1000) {
            snprintf(err, errlen, "limit must be a number from 1 to 1000, got '%.30s'", limit);
            return TL_EINVAL;
        }
        q->limit = (size_t)n;
    }
    return 0;
}

/* ---- listing ---- */

typedef struct {
    tl_dl_entry *items; /* a ring of the newest `limit` matches */
    tl_buf *raw;        /* each slot's own copy of its record */
    size_t limit, n, next;
    uint64_t total;
    uint64_t counts[TL_DL__COUNT];
    int reason_filter;
} listing;

static bool keep(void *arg, const tl_dl_entry *e)
{
    listing *l = arg;
    if (e->reason >= 0)
        l->counts[e->reason]++;
    if (l->reason_filter >= 0 && e->reason != l->reason_filter)
        return true;
    l->total++;
    tl_buf *b = &l->raw[l->next];
    tl_buf_reset(b);
    if (tl_buf_append(b, e->raw, e->raw_len))
        return false;
    l->items[l->next] = *e;
    l->items[l->next].raw = b->ptr;
    l->items[l->next].record = NULL;
    l->next = (l->next + 1) % l->limit;
    if (l->n < l->limit)
        l->n++;
    return true;
}

static int cmp_newest(const void *a, const void *b)
{
    const tl_dl_entry *x = a, *y = b;
    if (x->received_ms != y->received_ms)
        return x->received_ms > y->received_ms ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset > y->offset ? -1 : x->offset < y->offset;
}

int tl_dl_list(tl_journal *dl, const tl_dl_query *q, tl_buf *out)
{
    listing l = {.limit = q->limit ? q->limit : 100, .reason_filter = q->reason};
    l.items = tl_calloc(l.limit, sizeof *l.items);
    l.raw = tl_calloc(l.limit, sizeof *l.raw);
    int status = 200;
    if (!l.items || !l.raw) {
        status = 500;
        goto done;
    }
    /* counts cover every reason, so scan without the reason filter and apply it in keep() */
    tl_dl_query all = *q;
    all.reason = -1;
    if (tl_dl_scan(dl, &all, keep, &l)) {
        status = 500;
        goto done;
    }
    qsort(l.items, l.n, sizeof *l.items, cmp_newest);
    tl_buf_puts(out, "{\"deadletters\":[");
    for (size_t i = 0; i < l.n; i++) {
        const tl_dl_entry *e = &l.items[i];
        if (i)
            tl_buf_putc(out, ',');
        /* splice id and replayed in front of the record's own members */
        tl_buf_printf(out, "{\"id\":\"%u:%llu\",\"replayed\":%s,", e->partition,
                      (unsigned long long)e->offset, e->replayed ? "true" : "false");
        tl_buf_append(out, e->raw + 1, e->raw_len - 1);
    }
    tl_buf_puts(out, "],\"counts\":{");
    for (int i = 0; i < TL_DL__COUNT; i++)
        tl_buf_printf(out, "%s\"%s\":%llu", i ? "," : "", tl_dl_reason_name(i),
                      (unsigned long long)l.counts[i]);
    tl_buf_printf(out, "},\"total\":%llu,\"limit\":%zu}", (unsigned long long)l.total, l.limit);
done:
    if (status != 200) {
        tl_buf_reset(out);
        tl_buf_puts(out, "{\"error\":\"could not read the dead letters\"}");
    }
    for (size_t i = 0; l.raw && i < l.limit; i++)
        tl_buf_deinit(&l.raw[i]);
    tl_free(l.raw);
    tl_free(l.items);
    return status;
}
