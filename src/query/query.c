/*
 * query.c — Stats API v2 requests over the tsdb.
 *
 * One call runs three steps, each with its own failure mode:
 *
 *   parse     the body into a tree in a per-call arena (limits: depth 16,
 *             strings 4 KiB, 1000 members), then validate it into a `req`:
 *             every problem is a 400 whose message names the field and what was
 *             found ("unknown metric 'foo'; valid metrics: ...").
 *   resolve   date_range against now (UTC) into a half-open [from, to) in ms:
 *               "30m" "60m"   the last N minutes, the current minute included
 *               "24h"         the last 24 hours, minute-aligned likewise
 *               "day"         today 00:00 .. tomorrow 00:00
 *               "7d" "28d" "30d" "91d"  the last N days including today
 *               "month"       this calendar month; "6mo" "12mo" the last N
 *                             calendar months including this one
 *               "year"        this calendar year
 *               "all"         the first day the tsdb holds for the site .. tomorrow
 *               [a, b]        dates are whole days, both included; date-times
 *                             are instants, b exclusive; both are widened to
 *                             whole minutes (the finest bucket)
 *             The echo in "query" shows [from, to - 1 s] as RFC 3339 strings.
 *   read      one tl_tsdb_query (one read lock) returns the totals and one row
 *             per time bucket; rows without events are left out of "results"
 *             (meta.time_labels lists every bucket when asked), then order_by,
 *             then pagination.
 *
 * Why here and not in the HTTP layer: the same code answers the command line
 * (`tally query`) and tests without sockets, and the HTTP layer stays a router.
 *
 * Cost: rows x (sketch merges per row). The row count is capped at
 * TL_QUERY_MAX_ROWS both for pagination.limit and for the number of time
 * buckets a dimension produces (time:minute over 7 days is refused with a hint
 * instead of building 10080 rows).
 */
#include "query/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

struct tl_query {
    tl_query_opts o;
};

enum { MET_VISITORS, MET_PAGEVIEWS, MET_EVENTS, MET__COUNT };
static const char *const metric_names[MET__COUNT] = {"visitors", "pageviews", "events"};
#define VALID_METRICS "visitors, pageviews, events"
#define VALID_DIMS    "time, time:minute, time:hour, time:day"

/* Plausible metrics and dimensions tally does not compute yet: "not supported yet" rather
 * than "unknown", so a client knows the name is right. */
static const char *const later_metrics[] = {
    "visits",          "views_per_visit", "bounce_rate",     "visit_duration",
    "scroll_depth",    "percentage",      "conversion_rate", "group_conversion_rate",
    "average_revenue", "total_revenue",   "time_on_page",
};
static const char *const later_dim_prefixes[] = {"event:", "visit:", "time:week", "time:month"};

#define MAX_ORDER 8

typedef struct {
    const char *site;
    size_t site_len;
    int metrics[MET__COUNT];
    size_t nmetrics;
    const char *dim_name; /* NULL: no dimension */
    int64_t step_ms;      /* 0 without a dimension */
    int64_t from, to;     /* [from, to), minute-aligned */
    bool time_labels, total_rows;
    int64_t limit, offset;
    struct {
        int key; /* metric position, or -1 for the time dimension */
        bool desc;
    } order[MAX_ORDER];
    size_t norder;
    bool explicit_order;
} req;

typedef struct {
    tl_query *q;
    tl_arena *a;
    int64_t now;
    char err[320];
} ctx;

static int bad(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return TL_EINVAL;
}

/* At most 64 bytes of a client string inside an error message. */
#define SHOWN(len) ((int)((len) > 64 ? 64 : (len)))

int tl_query_new(const tl_query_opts *o, tl_query **out)
{
    *out = NULL;
    if (!o || !o->tsdb)
        return TL_EINVAL;
    tl_query *q = tl_calloc(1, sizeof(*q));
    if (!q)
        return TL_ENOMEM;
    q->o = *o;
    *out = q;
    return 0;
}

void tl_query_free(tl_query *q)
{
    tl_free(q);
}

static bool site_known(tl_query *q, const char *site, size_t len)
{
    if (q->o.site_known && q->o.site_known(q->o.site_arg, site, len))
        return true;
    return tl_tsdb_has_site(q->o.tsdb, site, len);
}

static int write_error(tl_buf *out, const char *msg)
{
    int rc;
    if ((rc = tl_buf_puts(out, "{\"error\":")) != 0 ||
        (rc = tl_json_write_string(out, msg, strlen(msg))) != 0 || (rc = tl_buf_putc(out, '}')))
        return rc;
    return 0;
}

/* ---- time helpers ---- */

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t month_start(int64_t y, int64_t m) /* m may be outside 1..12 */
{
    int64_t idx = y * 12 + (m - 1);
    int64_t yy = floordiv(idx, 12);
    unsigned mm = (unsigned)(idx - yy * 12) + 1;
    return tl_days_from_civil(yy, mm, 1) * TL_TSDB_DAY_MS;
}

/* "YYYY-MM-DD HH:MM:SS" (with_time) or "YYYY-MM-DD". */
static int put_label(tl_buf *b, int64_t ms, bool with_time)
{
    int64_t days = floordiv(ms, TL_TSDB_DAY_MS), rem = ms - days * TL_TSDB_DAY_MS;
    int64_t y;
    unsigned m, d;
    tl_civil_from_days(days, &y, &m, &d);
    if (!with_time)
        return tl_buf_printf(b, "\"%04lld-%02u-%02u\"", (long long)y, m, d);
    int64_t s = rem / 1000;
    return tl_buf_printf(b, "\"%04lld-%02u-%02u %02lld:%02lld:%02lld\"", (long long)y, m, d,
                         (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
}

static bool is_bare_date(const tl_json *v)
{
    const char *s = v->u.str;
    if (v->len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

static int resolve_preset(ctx *c, req *r, const tl_json *v)
{
    const int64_t MIN = TL_TSDB_MINUTE_MS, DAY = TL_TSDB_DAY_MS;
    int64_t now = c->now;
    int64_t minute_end = floordiv(now, MIN) * MIN + MIN;
    int64_t today = floordiv(now, DAY) * DAY;
    int64_t y;
    unsigned mo, d;
    tl_civil_from_days(today / DAY, &y, &mo, &d);
    const char *s = v->u.str;
    if (strcmp(s, "30m") == 0 || strcmp(s, "60m") == 0) {
        r->to = minute_end;
        r->from = minute_end - (s[0] == '3' ? 30 : 60) * MIN;
    } else if (strcmp(s, "24h") == 0) {
        r->to = minute_end;
        r->from = minute_end - 24 * TL_TSDB_HOUR_MS;
    } else if (strcmp(s, "day") == 0) {
        r->from = today;
        r->to = today + DAY;
    } else if (strcmp(s, "7d") == 0 || strcmp(s, "28d") == 0 || strcmp(s, "30d") == 0 ||
               strcmp(s, "91d") == 0) {
        long n = strtol(s, NULL, 10);
        r->from = today - (n - 1) * DAY;
        r->to = today + DAY;
    } else if (strcmp(s, "month") == 0) {
        r->from = month_start(y, mo);
        r->to = month_start(y, mo + 1);
    } else if (strcmp(s, "6mo") == 0 || strcmp(s, "12mo") == 0) {
        long n = strtol(s, NULL, 10);
        r->from = month_start(y, (int64_t)mo - (n - 1));
        r->to = month_start(y, mo + 1);
    } else if (strcmp(s, "year") == 0) {
        r->from = month_start(y, 1);
        r->to = month_start(y + 1, 1);
    } else if (strcmp(s, "all") == 0) {
        int64_t first;
        if (tl_tsdb_first_ms(c->q->o.tsdb, r->site, r->site_len, &first) != 0 || first > today)
            first = today;
        r->from = first;
        r->to = today + DAY;
    } else {
        return bad(c,
                   "bad date_range '%.*s'; expected one of 30m, 60m, 24h, day, 7d, 28d, 30d, "
                   "91d, month, 6mo, 12mo, year, all, or [start, end] dates",
                   SHOWN(v->len), s);
    }
    return 0;
}

static int resolve_dates(ctx *c, req *r, const tl_json *v)
{
    if (v->len != 2 || v->u.items[0].type != TL_JSON_STRING || v->u.items[1].type != TL_JSON_STRING)
        return bad(c, "bad date_range: expected two ISO 8601 dates or date-times, "
                      "like [\"2024-01-01\", \"2024-01-31\"]");
    int64_t t[2];
    for (int i = 0; i < 2; i++) {
        const tl_json *e = &v->u.items[i];
        if (tl_time_parse(e->u.str, e->len, &t[i]) != 0)
            return bad(c, "bad date_range: '%.*s' is not an ISO 8601 date or date-time",
                       SHOWN(e->len), e->u.str);
    }
    if (is_bare_date(&v->u.items[1]))
        t[1] += TL_TSDB_DAY_MS; /* a date as the end includes that whole day */
    if (t[1] < t[0])
        return bad(c, "bad date_range: the end '%.*s' is before the start '%.*s'",
                   SHOWN(v->u.items[1].len), v->u.items[1].u.str, SHOWN(v->u.items[0].len),
                   v->u.items[0].u.str);
    r->from = t[0];
    r->to = t[1];
    return 0;
}

static int parse_date_range(ctx *c, req *r, const tl_json *v)
{
    int rc;
    if (!v) {
        /* Plausible requires it; we default to today, which is what a dashboard opens on. */
        tl_json d = {.type = TL_JSON_STRING, .len = 3, .u.str = "day"};
        rc = resolve_preset(c, r, &d);
    } else if (v->type == TL_JSON_STRING) {
        rc = resolve_preset(c, r, v);
    } else if (v->type == TL_JSON_ARRAY) {
        rc = resolve_dates(c, r, v);
    } else {
        return bad(c, "bad date_range: expected a string like \"7d\" or an array of two dates");
    }
    if (rc)
        return rc;
    /* widen to whole minutes */
    r->from = floordiv(r->from, TL_TSDB_MINUTE_MS) * TL_TSDB_MINUTE_MS;
    r->to = -floordiv(-r->to, TL_TSDB_MINUTE_MS) * TL_TSDB_MINUTE_MS;
    if (r->to == r->from)
        r->to += TL_TSDB_MINUTE_MS;
    if (r->to - r->from > 100 * 366 * TL_TSDB_DAY_MS)
        return bad(c, "bad date_range: it spans more than 100 years");
    return 0;
}

/* ---- validation ---- */

static int parse_metrics(ctx *c, req *r, const tl_json *v)
{
    if (!v)
        return bad(c, "missing metrics; expected a non-empty list of: " VALID_METRICS);
    if (v->type != TL_JSON_ARRAY || v->len == 0)
        return bad(c, "metrics must be a non-empty list of: " VALID_METRICS);
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json *m = &v->u.items[i];
        if (m->type != TL_JSON_STRING)
            return bad(c, "metrics[%u] must be a string", i);
        int found = -1;
        for (int k = 0; k < MET__COUNT; k++)
            if (strcmp(m->u.str, metric_names[k]) == 0)
                found = k;
        if (found < 0) {
            for (size_t k = 0; k < TL_ARRAY_LEN(later_metrics); k++)
                if (strcmp(m->u.str, later_metrics[k]) == 0)
                    return bad(c, "metric '%s' is not supported yet; valid metrics: " VALID_METRICS,
                               later_metrics[k]);
            return bad(c, "unknown metric '%.*s'; valid metrics: " VALID_METRICS, SHOWN(m->len),
                       m->u.str);
        }
        for (size_t k = 0; k < r->nmetrics; k++)
            if (r->metrics[k] == found)
                return bad(c, "metric '%s' is listed twice", metric_names[found]);
        r->metrics[r->nmetrics++] = found;
    }
    return 0;
}

static int parse_dimensions(ctx *c, req *r, const tl_json *v)
{
    if (!v)
        return 0;
    if (v->type != TL_JSON_ARRAY)
        return bad(c, "dimensions must be a list");
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json *d = &v->u.items[i];
        if (d->type != TL_JSON_STRING)
            return bad(c, "dimensions[%u] must be a string", i);
        const char *s = d->u.str;
        int64_t step = 0;
        if (strcmp(s, "time:minute") == 0)
            step = TL_TSDB_MINUTE_MS;
        else if (strcmp(s, "time:hour") == 0)
            step = TL_TSDB_HOUR_MS;
        else if (strcmp(s, "time:day") == 0)
            step = TL_TSDB_DAY_MS;
        else if (strcmp(s, "time") == 0)
            step = -1; /* chosen once the date range is known */
        if (step == 0) {
            for (size_t k = 0; k < TL_ARRAY_LEN(later_dim_prefixes); k++)
                if (strncmp(s, later_dim_prefixes[k], strlen(later_dim_prefixes[k])) == 0)
                    return bad(c, "dimension '%.*s' is not supported yet; supported: " VALID_DIMS,
                               SHOWN(d->len), s);
            return bad(c, "unknown dimension '%.*s'; supported: " VALID_DIMS, SHOWN(d->len), s);
        }
        if (r->dim_name)
            return bad(c, "only one time dimension per query; found '%s' and '%.*s'", r->dim_name,
                       SHOWN(d->len), s);
        r->dim_name = s;
        r->step_ms = step;
    }
    return 0;
}

/* The dimension a filter is on: [op, dim, values] or ["and"|"or", [f...]] or ["not", f]. */
static const tl_json *filter_dimension(const tl_json *f, int depth)
{
    if (depth > 8 || f->type != TL_JSON_ARRAY || f->len < 2 || f->u.items[0].type != TL_JSON_STRING)
        return NULL;
    const char *op = f->u.items[0].u.str;
    const tl_json *arg = &f->u.items[1];
    if (strcmp(op, "and") == 0 || strcmp(op, "or") == 0) {
        for (uint32_t i = 0; arg->type == TL_JSON_ARRAY && i < arg->len; i++) {
            const tl_json *d = filter_dimension(&arg->u.items[i], depth + 1);
            if (d)
                return d;
        }
        return NULL;
    }
    if (strcmp(op, "not") == 0)
        return filter_dimension(arg, depth + 1);
    return arg->type == TL_JSON_STRING ? arg : NULL;
}

static int parse_filters(ctx *c, const tl_json *v)
{
    if (!v)
        return 0;
    if (v->type != TL_JSON_ARRAY)
        return bad(c, "filters must be a list");
    if (v->len == 0)
        return 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json *d = filter_dimension(&v->u.items[i], 0);
        if (d)
            return bad(c, "filters are not supported yet (filter on '%.*s')", SHOWN(d->len),
                       d->u.str);
    }
    return bad(c, "filters are not supported yet");
}

static int parse_include(ctx *c, req *r, const tl_json *v)
{
    if (!v)
        return 0;
    if (v->type != TL_JSON_OBJECT)
        return bad(c, "include must be an object");
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json_member *m = &v->u.members[i];
        bool *dst = NULL, ignored;
        if (strcmp(m->key, "time_labels") == 0)
            dst = &r->time_labels;
        else if (strcmp(m->key, "total_rows") == 0)
            dst = &r->total_rows;
        else if (strcmp(m->key, "imports") == 0)
            dst = &ignored; /* nothing is imported into tally */
        else
            return bad(c, "unknown include option '%.*s'; valid: time_labels, total_rows, imports",
                       SHOWN(m->key_len), m->key);
        if (m->value.type != TL_JSON_TRUE && m->value.type != TL_JSON_FALSE)
            return bad(c, "include.%s must be true or false", m->key);
        *dst = m->value.type == TL_JSON_TRUE;
    }
    if (r->time_labels && !r->dim_name)
        return bad(c, "include.time_labels needs a time dimension");
    return 0;
}

static int parse_pagination(ctx *c, req *r, const tl_json *v)
{
    r->limit = TL_QUERY_MAX_ROWS;
    r->offset = 0;
    if (!v)
        return 0;
    if (v->type != TL_JSON_OBJECT)
        return bad(c, "pagination must be an object like {\"limit\": 100, \"offset\": 0}");
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json_member *m = &v->u.members[i];
        int64_t n;
        bool is_limit = strcmp(m->key, "limit") == 0;
        if (!is_limit && strcmp(m->key, "offset") != 0)
            return bad(c, "unknown pagination option '%.*s'; valid: limit, offset",
                       SHOWN(m->key_len), m->key);
        if (!tl_json_int64(&m->value, &n) || n < (is_limit ? 1 : 0))
            return bad(c, "pagination.%s must be an integer >= %d", m->key, is_limit ? 1 : 0);
        if (is_limit && n > TL_QUERY_MAX_ROWS)
            return bad(c, "too many rows requested: pagination.limit %lld is over the limit of %d",
                       (long long)n, TL_QUERY_MAX_ROWS);
        *(is_limit ? &r->limit : &r->offset) = n;
    }
    return 0;
}

static int parse_order(ctx *c, req *r, const tl_json *v)
{
    if (!v)
        return 0;
    if (v->type != TL_JSON_ARRAY)
        return bad(c, "order_by must be a list of [name, \"asc\"|\"desc\"] pairs");
    if (v->len > MAX_ORDER)
        return bad(c, "order_by has %u entries; at most %d", v->len, MAX_ORDER);
    for (uint32_t i = 0; i < v->len; i++) {
        const tl_json *o = &v->u.items[i];
        if (o->type != TL_JSON_ARRAY || o->len != 2 || o->u.items[0].type != TL_JSON_STRING ||
            o->u.items[1].type != TL_JSON_STRING)
            return bad(c, "order_by[%u] must be a pair [name, \"asc\"|\"desc\"]", i);
        const tl_json *name = &o->u.items[0], *dir = &o->u.items[1];
        int key = -2;
        for (size_t k = 0; k < r->nmetrics; k++)
            if (strcmp(name->u.str, metric_names[r->metrics[k]]) == 0)
                key = (int)k;
        if (r->dim_name && strcmp(name->u.str, r->dim_name) == 0)
            key = -1;
        if (key == -2)
            return bad(c, "order_by[%u]: '%.*s' is not one of the query's metrics or dimensions", i,
                       SHOWN(name->len), name->u.str);
        bool desc = strcmp(dir->u.str, "desc") == 0;
        if (!desc && strcmp(dir->u.str, "asc") != 0)
            return bad(c, "order_by[%u]: direction must be \"asc\" or \"desc\", found '%.*s'", i,
                       SHOWN(dir->len), dir->u.str);
        r->order[r->norder].key = key;
        r->order[r->norder].desc = desc;
        r->norder++;
    }
    r->explicit_order = true;
    return 0;
}

static int parse_request(ctx *c, const tl_json *root, req *r)
{
    int rc;
    if (root->type != TL_JSON_OBJECT)
        return bad(c, "the query must be a JSON object");
    static const char *const known[] = {"site_id", "metrics",  "date_range", "dimensions",
                                        "filters", "order_by", "include",    "pagination"};
    for (uint32_t i = 0; i < root->len; i++) {
        const tl_json_member *m = &root->u.members[i];
        bool ok = false;
        for (size_t k = 0; k < TL_ARRAY_LEN(known); k++)
            ok = ok || strcmp(m->key, known[k]) == 0;
        if (!ok && strcmp(m->key, "funnel") == 0)
            return bad(c, "funnel is not supported yet");
        if (!ok)
            return bad(c, "unknown field '%.*s' in the query", SHOWN(m->key_len), m->key);
    }
    const tl_json *site = tl_json_get(root, "site_id");
    if (!site)
        return bad(c, "missing site_id");
    if (site->type != TL_JSON_STRING || site->len == 0)
        return bad(c, "site_id must be a non-empty string");
    r->site = site->u.str;
    r->site_len = site->len;
    if ((rc = parse_metrics(c, r, tl_json_get(root, "metrics"))) != 0)
        return rc;
    if (!site_known(c->q, r->site, r->site_len))
        return bad(c, "unknown site_id '%.*s'", SHOWN(r->site_len), r->site);
    if ((rc = parse_dimensions(c, r, tl_json_get(root, "dimensions"))) != 0 ||
        (rc = parse_filters(c, tl_json_get(root, "filters"))) != 0 ||
        (rc = parse_date_range(c, r, tl_json_get(root, "date_range"))) != 0 ||
        (rc = parse_include(c, r, tl_json_get(root, "include"))) != 0 ||
        (rc = parse_pagination(c, r, tl_json_get(root, "pagination"))) != 0 ||
        (rc = parse_order(c, r, tl_json_get(root, "order_by"))) != 0)
        return rc;
    if (r->step_ms < 0) {
        int64_t span = r->to - r->from;
        r->step_ms = span <= 6 * TL_TSDB_HOUR_MS  ? TL_TSDB_MINUTE_MS
                     : span <= 3 * TL_TSDB_DAY_MS ? TL_TSDB_HOUR_MS
                                                  : TL_TSDB_DAY_MS;
    }
    if (r->dim_name) {
        size_t steps = tl_tsdb_steps(r->from, r->to, r->step_ms);
        if (steps > TL_QUERY_MAX_ROWS)
            return bad(c,
                       "too many rows requested: '%s' over this date_range gives %zu buckets, "
                       "over the limit of %d; use a coarser time dimension or a shorter range",
                       r->dim_name, steps, TL_QUERY_MAX_ROWS);
    }
    if (!r->explicit_order && r->dim_name) {
        r->order[0].key = -1;
        r->order[0].desc = false;
        r->norder = 1;
    }
    return 0;
}

/* ---- answer ---- */

typedef struct {
    int64_t start;
    uint64_t v[MET__COUNT];
} row;

static uint64_t metric_of(const tl_tsdb_agg *g, int m)
{
    return m == MET_VISITORS ? g->visitors : m == MET_PAGEVIEWS ? g->pageviews : g->events;
}

/* Rows are sorted by a merge sort of our own: qsort has no context argument for the order
 * keys and is not stable; here ties keep time order. */
static int row_cmp(const req *r, const row *a, const row *b)
{
    for (size_t i = 0; i < r->norder; i++) {
        int k = r->order[i].key;
        uint64_t x = k < 0 ? (uint64_t)a->start : a->v[r->metrics[k]];
        uint64_t y = k < 0 ? (uint64_t)b->start : b->v[r->metrics[k]];
        if (k < 0) {
            if (a->start != b->start) {
                int c = a->start < b->start ? -1 : 1;
                return r->order[i].desc ? -c : c;
            }
            continue;
        }
        if (x != y) {
            int c = x < y ? -1 : 1;
            return r->order[i].desc ? -c : c;
        }
    }
    return a->start < b->start ? -1 : a->start > b->start;
}

static void sort_rows(const req *r, row *v, row *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_rows(r, v, tmp, h);
    sort_rows(r, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = row_cmp(r, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

static int put_str(tl_buf *b, const char *s, size_t n)
{
    return tl_json_write_string(b, s, n);
}

static int put_time(tl_buf *b, int64_t ms)
{
    char t[32];
    size_t n = tl_time_format_s(ms, t);
    return put_str(b, t, n);
}

static int write_echo(const req *r, tl_buf *o)
{
    int rc = 0;
    rc = rc ? rc : tl_buf_puts(o, "\"query\":{\"site_id\":");
    rc = rc ? rc : put_str(o, r->site, r->site_len);
    rc = rc ? rc : tl_buf_puts(o, ",\"metrics\":[");
    for (size_t i = 0; i < r->nmetrics && !rc; i++) {
        rc = i ? tl_buf_putc(o, ',') : 0;
        rc = rc ? rc : tl_buf_printf(o, "\"%s\"", metric_names[r->metrics[i]]);
    }
    rc = rc ? rc : tl_buf_puts(o, "],\"date_range\":[");
    rc = rc ? rc : put_time(o, r->from);
    rc = rc ? rc : tl_buf_putc(o, ',');
    rc = rc ? rc : put_time(o, r->to - 1000);
    rc = rc ? rc : tl_buf_puts(o, "],\"dimensions\":[");
    if (r->dim_name && !rc)
        rc = put_str(o, r->dim_name, strlen(r->dim_name));
    rc = rc ? rc : tl_buf_puts(o, "],\"filters\":[],\"order_by\":[");
    for (size_t i = 0; i < r->norder && !rc; i++) {
        int k = r->order[i].key;
        const char *name = k < 0 ? r->dim_name : metric_names[r->metrics[k]];
        rc = i ? tl_buf_putc(o, ',') : 0;
        rc = rc ? rc : tl_buf_putc(o, '[');
        rc = rc ? rc : put_str(o, name, strlen(name));
        rc = rc ? rc : tl_buf_printf(o, ",\"%s\"]", r->order[i].desc ? "desc" : "asc");
    }
    rc = rc ? rc
            : tl_buf_printf(o,
                            "],\"include\":{\"time_labels\":%s,\"total_rows\":%s},"
                            "\"pagination\":{\"limit\":%lld,\"offset\":%lld}}",
                            r->time_labels ? "true" : "false", r->total_rows ? "true" : "false",
                            (long long)r->limit, (long long)r->offset);
    return rc;
}

static int put_metrics(tl_buf *o, const req *r, const uint64_t *v)
{
    int rc = tl_buf_puts(o, "\"metrics\":[");
    for (size_t i = 0; i < r->nmetrics && !rc; i++) {
        rc = i ? tl_buf_putc(o, ',') : 0;
        rc = rc ? rc : tl_json_write_int(o, (int64_t)v[r->metrics[i]]);
    }
    return rc ? rc : tl_buf_putc(o, ']');
}

static int answer(ctx *c, const req *r, tl_buf *o)
{
    size_t nsteps = r->dim_name ? tl_tsdb_steps(r->from, r->to, r->step_ms) : 0;
    tl_tsdb_agg *aggs = NULL;
    row *rows = NULL, *tmp = NULL;
    if (nsteps) {
        aggs = tl_arena_alloc(c->a, nsteps * sizeof(*aggs));
        rows = tl_arena_alloc(c->a, nsteps * sizeof(*rows));
        tmp = tl_arena_alloc(c->a, nsteps * sizeof(*tmp));
        if (!aggs || !rows || !tmp)
            return TL_ENOMEM;
    }
    tl_tsdb_read rd = {.site = r->site,
                       .site_len = r->site_len,
                       .from_ms = r->from,
                       .to_ms = r->to,
                       .step_ms = r->dim_name ? r->step_ms : 0,
                       .rows = aggs,
                       .nrows = nsteps};
    int rc = tl_tsdb_query(c->q->o.tsdb, &rd);
    if (rc)
        return rc;
    int64_t start = nsteps ? floordiv(r->from, r->step_ms) * r->step_ms : 0;
    size_t n = 0;
    for (size_t i = 0; i < nsteps; i++) {
        if (aggs[i].events == 0)
            continue; /* only buckets with data */
        rows[n].start = start + (int64_t)i * r->step_ms;
        for (int m = 0; m < MET__COUNT; m++)
            rows[n].v[m] = metric_of(&aggs[i], m);
        n++;
    }
    sort_rows(r, rows, tmp, n);

    bool with_time = r->step_ms != TL_TSDB_DAY_MS;
    rc = tl_buf_puts(o, "{\"results\":[");
    if (!r->dim_name) {
        uint64_t v[MET__COUNT];
        for (int m = 0; m < MET__COUNT; m++)
            v[m] = metric_of(&rd.total, m);
        if (r->offset == 0) {
            rc = rc ? rc : tl_buf_puts(o, "{\"dimensions\":[],");
            rc = rc ? rc : put_metrics(o, r, v);
            rc = rc ? rc : tl_buf_putc(o, '}');
        }
        n = 1;
    } else {
        size_t first = (size_t)TL_MIN((int64_t)n, r->offset);
        size_t last = (size_t)TL_MIN((int64_t)n, r->offset + r->limit);
        for (size_t i = first; i < last && !rc; i++) {
            rc = i > first ? tl_buf_putc(o, ',') : 0;
            rc = rc ? rc : tl_buf_puts(o, "{\"dimensions\":[");
            rc = rc ? rc : put_label(o, rows[i].start, with_time);
            rc = rc ? rc : tl_buf_puts(o, "],");
            rc = rc ? rc : put_metrics(o, r, rows[i].v);
            rc = rc ? rc : tl_buf_putc(o, '}');
        }
    }
    rc = rc ? rc : tl_buf_puts(o, "],\"meta\":{");
    bool comma = false;
    if (r->time_labels && !rc) {
        rc = tl_buf_puts(o, "\"time_labels\":[");
        for (size_t i = 0; i < nsteps && !rc; i++) {
            rc = i ? tl_buf_putc(o, ',') : 0;
            rc = rc ? rc : put_label(o, start + (int64_t)i * r->step_ms, with_time);
        }
        rc = rc ? rc : tl_buf_putc(o, ']');
        comma = true;
    }
    if (r->total_rows && !rc) {
        rc = tl_buf_printf(o, "%s\"total_rows\":%zu", comma ? "," : "", n);
        comma = true;
    }
    if (rd.coarse && !rc)
        rc = tl_buf_printf(o,
                           "%s\"warnings\":[\"minute buckets older than the tsdb's minute "
                           "horizon are gone; those parts of the range were answered from whole "
                           "hours\"]",
                           comma ? "," : "");
    rc = rc ? rc : tl_buf_puts(o, "},");
    rc = rc ? rc : write_echo(r, o);
    rc = rc ? rc : tl_buf_putc(o, '}');
    return rc;
}

int tl_query_stats(tl_query *q, const char *body, size_t len, int64_t now_ms, tl_buf *out)
{
    ctx c = {.q = q, .now = now_ms};
    c.err[0] = '\0';
    c.a = tl_arena_new(16384);
    if (!c.a)
        return 500;
    size_t mark = out->len;
    int status = 400;
    tl_json *root;
    tl_json_error jerr;
    const tl_json_limits lim = {.max_depth = 16, .max_string_len = 4096, .max_members = 1000};
    int rc = tl_json_parse(c.a, body, len, &lim, &root, &jerr);
    if (rc == TL_ENOMEM) {
        status = 500;
        goto fail;
    }
    if (rc) {
        bad(&c, "invalid JSON: %s", jerr.msg);
        goto fail;
    }
    req r;
    memset(&r, 0, sizeof(r));
    if (parse_request(&c, root, &r) != 0)
        goto fail;
    rc = answer(&c, &r, out);
    if (rc) {
        out->len = mark;
        status = 500;
        snprintf(c.err, sizeof c.err, "query failed: %s", tl_strerror(rc));
        goto fail;
    }
    tl_arena_free(c.a);
    return 200;
fail:
    out->len = mark;
    if (out->cap)
        out->ptr[mark] = '\0';
    if (status == 500 && !c.err[0])
        snprintf(c.err, sizeof c.err, "out of memory");
    write_error(out, c.err);
    tl_arena_free(c.a);
    return status;
}

int tl_query_realtime(tl_query *q, const char *site, size_t len, int64_t now_ms, tl_buf *out)
{
    char err[160];
    if (!site || len == 0) {
        write_error(out, "missing site_id");
        return 400;
    }
    if (!site_known(q, site, len)) {
        snprintf(err, sizeof err, "unknown site_id '%.*s'", SHOWN(len), site);
        write_error(out, err);
        return 400;
    }
    uint64_t v;
    int rc =
        tl_tsdb_realtime(q->o.tsdb, site, len, now_ms, TL_QUERY_REALTIME_WINDOW_S * 1000LL, &v);
    if (rc) {
        write_error(out, "out of memory");
        return 500;
    }
    size_t mark = out->len;
    rc = tl_buf_puts(out, "{\"site_id\":");
    rc = rc ? rc : put_str(out, site, len);
    rc = rc ? rc
            : tl_buf_printf(out, ",\"visitors\":%llu,\"window_seconds\":%d,\"as_of\":",
                            (unsigned long long)v, TL_QUERY_REALTIME_WINDOW_S);
    rc = rc ? rc : put_time(out, now_ms);
    rc = rc ? rc : tl_buf_putc(out, '}');
    if (rc) {
        out->len = mark;
        return 500;
    }
    return 200;
}

static int cmp_str(const void *a, const void *b)
{
    const tl_str *x = a, *y = b;
    int c = memcmp(x->ptr, y->ptr, TL_MIN(x->len, y->len));
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

int tl_query_sites(tl_query *q, tl_buf *out)
{
    tl_arena *a = tl_arena_new(4096);
    if (!a)
        return 500;
    tl_str *v;
    size_t n;
    int rc = tl_tsdb_sites(q->o.tsdb, a, &v, &n);
    /* the configured sites too: a site with no data yet still belongs in the picker */
    tl_str *all = rc ? NULL : tl_arena_alloc(a, (n + q->o.n_sites + 1) * sizeof *all);
    size_t m = 0;
    if (!rc && !all)
        rc = TL_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++)
        all[m++] = v[i];
    for (size_t i = 0; !rc && i < q->o.n_sites; i++)
        all[m++] = tl_str_make(q->o.sites[i], strlen(q->o.sites[i]));
    if (!rc && m)
        qsort(all, m, sizeof *all, cmp_str);
    size_t mark = out->len;
    rc = rc ? rc : tl_buf_puts(out, "{\"sites\":[");
    for (size_t i = 0, k = 0; i < m && !rc; i++) {
        if (i && cmp_str(&all[i], &all[i - 1]) == 0)
            continue;
        rc = k++ ? tl_buf_putc(out, ',') : 0;
        rc = rc ? rc : put_str(out, all[i].ptr, all[i].len);
    }
    rc = rc ? rc : tl_buf_puts(out, "]}");
    tl_arena_free(a);
    if (rc) {
        out->len = mark;
        return 500;
    }
    return 200;
}
