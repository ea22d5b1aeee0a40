/*
 * Segment event → tl_event: validation and field extraction for one event of
 * the HTTP Tracking API (see PROTOCOLS.md §1).
 *
 * Rules (each failure is a tracker_protocol_violation naming the field by its
 * JSON pointer, except size, which is a size_violation):
 *   - the event is an object of at most max_event_bytes of source text;
 *   - `type` is one of track, page, screen, identify, group, alias (implied by
 *     the endpoint for /v1/track etc.; required inside a batch);
 *   - `messageId`: a non-empty string of at most 256 bytes;
 *   - `anonymousId` or `userId`: at least one non-empty string (numbers are
 *     taken as their text, as SDKs in loosely typed languages send them);
 *   - track needs a non-empty `event` name;
 *   - `timestamp` (or `originalTimestamp`), `sentAt`: RFC 3339 when present.
 *
 * Time: with both sentAt and timestamp the device clock is corrected as
 * Segment does, timestamp := receivedAt − (sentAt − timestamp); with only
 * timestamp it is used as is; with none the receive time is used.
 *
 * Fields: page url/path/referrer/title come from `properties` (page calls) or
 * `context.page`; UTM tags from `context.campaign` or the page URL's query;
 * the visitor id is a hash of site and anonymousId (userId when there is no
 * anonymousId). Strings point into the parsed JSON or the request arena.
 */
#include "collect/segment.h"

#include <stdio.h>
#include <string.h>

#define MAX_MESSAGE_ID 256

static void fail(tl_seg_error *e, int reason, const char *pointer, const char *keyword,
                 const char *expected, const char *found, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void fail(tl_seg_error *e, int reason, const char *pointer, const char *keyword,
                 const char *expected, const char *found, const char *fmt, ...)
{
    e->reason = reason;
    snprintf(e->pointer, sizeof e->pointer, "%s", pointer);
    snprintf(e->keyword, sizeof e->keyword, "%s", keyword);
    snprintf(e->expected, sizeof e->expected, "%s", expected);
    snprintf(e->found, sizeof e->found, "%s", found);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static const char *type_word(const tl_json *v)
{
    static const char *const words[] = {"null",     "false",    "true",     "a number",
                                        "a string", "an array", "an object"};
    return v ? words[v->type] : "nothing";
}

static tl_str str_of(const tl_json *v)
{
    if (v && v->type == TL_JSON_STRING)
        return tl_str_make(v->u.str, v->len);
    return (tl_str){NULL, 0};
}

/* A string or number id; empty when absent. Returns false when present but of another type. */
static bool id_of(const tl_json *v, tl_str *out)
{
    *out = (tl_str){NULL, 0};
    if (!v || v->type == TL_JSON_NULL)
        return true;
    if (v->type == TL_JSON_STRING) {
        *out = tl_str_make(v->u.str, v->len);
        return true;
    }
    if (v->type == TL_JSON_NUMBER) {
        *out = tl_str_make(v->src, v->src_len);
        return true;
    }
    return false;
}

/* Optional RFC 3339 field: 1 parsed, 0 absent, -1 malformed (error filled). */
static int time_field(const tl_json *ev, const char *name, int64_t *ms, tl_seg_error *e)
{
    const tl_json *v = tl_json_get(ev, name);
    if (!v || v->type == TL_JSON_NULL)
        return 0;
    char ptr[40];
    snprintf(ptr, sizeof ptr, "/%s", name);
    if (v->type != TL_JSON_STRING) {
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, ptr, "type", "an RFC 3339 date-time string",
             type_word(v), "%s must be an RFC 3339 date-time string, found %s", name, type_word(v));
        return -1;
    }
    if (tl_time_parse(v->u.str, v->len, ms)) {
        char found[64];
        snprintf(found, sizeof found, "\"%.50s\"", v->u.str);
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, ptr, "format", "an RFC 3339 date-time", found,
             "%s is not an RFC 3339 date-time: %s", name, found);
        return -1;
    }
    return 1;
}

/* Host and path of an absolute URL (slices of url). */
static void split_url(tl_str url, tl_str *host, tl_str *path, tl_str *query)
{
    *host = *path = *query = (tl_str){NULL, 0};
    if (!url.len)
        return;
    const char *p = url.ptr, *end = url.ptr + url.len;
    const char *scheme = memchr(p, ':', url.len);
    if (scheme && scheme + 2 < end && scheme[1] == '/' && scheme[2] == '/') {
        const char *h = scheme + 3, *he = h;
        while (he < end && *he != '/' && *he != '?' && *he != '#')
            he++;
        const char *at = memchr(h, '@', (size_t)(he - h));
        if (at)
            h = at + 1;
        const char *colon = memchr(h, ':', (size_t)(he - h));
        *host = tl_str_make(h, (size_t)((colon ? colon : he) - h));
        p = he;
    }
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    if (q > p)
        *path = tl_str_make(p, (size_t)(q - p));
    if (q < end && *q == '?') {
        const char *qe = q + 1;
        while (qe < end && *qe != '#')
            qe++;
        *query = tl_str_make(q + 1, (size_t)(qe - q - 1));
    }
}

/* The percent-decoded value of `name` in a query string, copied into the arena. */
static tl_str query_param(tl_arena *a, tl_str query, const char *name)
{
    size_t nl = strlen(name);
    const char *p = query.ptr, *end = query.ptr + query.len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
            size_t n = (size_t)(pe - eq - 1);
            char *out = tl_arena_alloc(a, n + 1);
            if (!out)
                return (tl_str){NULL, 0};
            size_t o = tl_percent_decode(eq + 1, n, true, out);
            return tl_str_make(out, o);
        }
        p = amp ? amp + 1 : NULL;
    }
    return (tl_str){NULL, 0};
}

static tl_str first_str(const tl_json *a, const tl_json *b, const char *name)
{
    tl_str s = str_of(tl_json_get(a, name));
    return s.len ? s : str_of(tl_json_get(b, name));
}

static tl_str compact(tl_arena *a, const tl_json *v)
{
    if (!v || v->type != TL_JSON_OBJECT || v->len == 0)
        return (tl_str){NULL, 0};
    tl_buf b;
    tl_buf_init(&b);
    tl_json_write_value(&b, v);
    char *copy = b.ptr ? tl_arena_strndup(a, b.ptr, b.len) : NULL;
    tl_str s = copy ? tl_str_make(copy, b.len) : (tl_str){NULL, 0};
    tl_buf_deinit(&b);
    return s;
}

int tl_seg_event(const tl_seg_ctx *cx, const tl_json *ev, int implied_type, tl_event *out,
                 tl_seg_error *e)
{
    memset(out, 0, sizeof *out);
    memset(e, 0, sizeof *e);
    if (ev->type != TL_JSON_OBJECT) {
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "", "type", "an object", type_word(ev),
             "an event must be a JSON object, found %s", type_word(ev));
        return -1;
    }
    if (ev->src_len > cx->max_event_bytes) {
        char found[32];
        snprintf(found, sizeof found, "%u bytes", ev->src_len);
        fail(e, TL_DL_SIZE_VIOLATION, "", "maxBytes", "at most max_event_bytes", found,
             "event of %u bytes exceeds the limit of %zu bytes (max_event_bytes)", ev->src_len,
             cx->max_event_bytes);
        return -1;
    }
    const tl_json *tv = tl_json_get(ev, "type");
    int type = implied_type;
    if (!type) {
        if (!tv || tv->type != TL_JSON_STRING) {
            fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/type", "required",
                 "one of track, page, screen, identify, group, alias", type_word(tv),
                 "missing type: expected one of track, page, screen, identify, group, alias");
            return -1;
        }
        type = tl_event_type_parse(tv->u.str, tv->len);
        if (!type) {
            char found[64];
            snprintf(found, sizeof found, "\"%.50s\"", tv->u.str);
            fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/type", "enum",
                 "one of track, page, screen, identify, group, alias", found,
                 "unknown type %s: expected one of track, page, screen, identify, group, alias",
                 found);
            return -1;
        }
    }
    out->type = (uint8_t)type;

    const tl_json *mid = tl_json_get(ev, "messageId");
    tl_str message_id;
    if (!id_of(mid, &message_id) || message_id.len == 0) {
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/messageId", "required", "a non-empty string",
             mid && mid->type == TL_JSON_STRING ? "an empty string" : type_word(mid),
             "missing messageId: every event needs a unique non-empty messageId string");
        return -1;
    }
    if (message_id.len > MAX_MESSAGE_ID) {
        char found[32];
        snprintf(found, sizeof found, "%u bytes", message_id.len);
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/messageId", "maxLength", "at most 256 bytes",
             found, "messageId of %u bytes exceeds the limit of 256 bytes (max_message_id_bytes)",
             message_id.len);
        return -1;
    }
    tl_str anon, user;
    if (!id_of(tl_json_get(ev, "anonymousId"), &anon)) {
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/anonymousId", "type", "a string",
             type_word(tl_json_get(ev, "anonymousId")), "anonymousId must be a string");
        return -1;
    }
    if (!id_of(tl_json_get(ev, "userId"), &user)) {
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/userId", "type", "a string",
             type_word(tl_json_get(ev, "userId")), "userId must be a string");
        return -1;
    }
    if (!anon.len && !user.len) {
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/anonymousId", "required",
             "anonymousId or userId", "neither",
             "missing anonymousId and userId: every event needs at least one of them");
        return -1;
    }
    const tl_json *props =
        tl_json_get(ev, type == TL_EV_IDENTIFY || type == TL_EV_GROUP ? "traits" : "properties");
    if (props && props->type != TL_JSON_OBJECT && props->type != TL_JSON_NULL) {
        const char *ptr = type == TL_EV_IDENTIFY || type == TL_EV_GROUP ? "/traits" : "/properties";
        fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, ptr, "type", "an object", type_word(props),
             "%s must be an object, found %s", ptr + 1, type_word(props));
        return -1;
    }
    tl_str name = {NULL, 0};
    if (type == TL_EV_TRACK) {
        const tl_json *nv = tl_json_get(ev, "event");
        name = str_of(nv);
        if (!name.len) {
            fail(e, TL_DL_TRACKER_PROTOCOL_VIOLATION, "/event", "required", "a non-empty string",
                 nv && nv->type == TL_JSON_STRING ? "an empty string" : type_word(nv),
                 "missing event: a track call needs the event name");
            return -1;
        }
    } else if (type == TL_EV_PAGE || type == TL_EV_SCREEN) {
        name = str_of(tl_json_get(ev, "name"));
    } else if (type == TL_EV_GROUP) {
        id_of(tl_json_get(ev, "groupId"), &name);
    } else if (type == TL_EV_ALIAS) {
        id_of(tl_json_get(ev, "previousId"), &name);
    }

    /* time */
    int64_t ts = 0, sent = 0;
    int has_ts = time_field(ev, "timestamp", &ts, e);
    if (has_ts < 0)
        return -1;
    if (!has_ts && (has_ts = time_field(ev, "originalTimestamp", &ts, e)) < 0)
        return -1;
    int has_sent = time_field(ev, "sentAt", &sent, e);
    if (has_sent < 0)
        return -1;
    if (!has_sent && cx->batch_sent_at) {
        sent = cx->batch_sent_ms;
        has_sent = 1;
    }
    if (has_ts && has_sent) {
        int64_t corrected = cx->received_ms - (sent - ts);
        if (corrected != ts)
            out->flags |= TL_EVF_SKEWED;
        ts = corrected;
    } else if (!has_ts) {
        ts = cx->received_ms;
        out->flags |= TL_EVF_NO_TS;
    }
    out->ts_ms = ts;
    out->received_ms = cx->received_ms;

    /* fields */
    const tl_json *ctx = tl_json_get(ev, "context");
    if (!ctx || ctx->type != TL_JSON_OBJECT)
        ctx = cx->batch_context;
    const tl_json *page = tl_json_get(ctx, "page");
    const tl_json *pprops = type == TL_EV_PAGE ? props : NULL;
    out->f[TL_F_SITE] = cx->site;
    out->f[TL_F_MESSAGE_ID] = message_id;
    out->f[TL_F_ANONYMOUS_ID] = anon;
    out->f[TL_F_USER_ID] = user;
    out->f[TL_F_NAME] = name;
    tl_str url = first_str(pprops, page, "url");
    tl_str host, path, query;
    split_url(url, &host, &path, &query);
    out->f[TL_F_URL] = url;
    out->f[TL_F_HOSTNAME] = host;
    tl_str given_path = first_str(pprops, page, "path");
    out->f[TL_F_PATH] = given_path.len ? given_path : path;
    out->f[TL_F_REFERRER] = first_str(pprops, page, "referrer");
    out->f[TL_F_TITLE] = first_str(pprops, page, "title");
    if (!query.len) {
        tl_str search = first_str(pprops, page, "search");
        if (search.len && search.ptr[0] == '?')
            query = tl_str_make(search.ptr + 1, search.len - 1);
    }
    const tl_json *camp = tl_json_get(ctx, "campaign");
    static const struct {
        int field;
        const char *campaign_key, *utm_key;
    } utm[] = {
        {TL_F_UTM_SOURCE, "source", "utm_source"},    {TL_F_UTM_MEDIUM, "medium", "utm_medium"},
        {TL_F_UTM_CAMPAIGN, "name", "utm_campaign"},  {TL_F_UTM_TERM, "term", "utm_term"},
        {TL_F_UTM_CONTENT, "content", "utm_content"},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(utm); i++) {
        tl_str v = str_of(tl_json_get(camp, utm[i].campaign_key));
        out->f[utm[i].field] = v.len ? v : query_param(cx->arena, query, utm[i].utm_key);
    }
    out->f[TL_F_USER_AGENT] = str_of(tl_json_get(ctx, "userAgent"));
    const tl_json *lib = tl_json_get(ctx, "library");
    tl_str lname = str_of(tl_json_get(lib, "name")), lver = str_of(tl_json_get(lib, "version"));
    if (lname.len) {
        size_t n = lname.len + 1 + lver.len;
        char *l = tl_arena_alloc(cx->arena, n + 1);
        if (l) {
            snprintf(l, n + 1, "%.*s/%.*s", (int)lname.len, lname.ptr, (int)lver.len,
                     lver.ptr ? lver.ptr : "");
            out->f[TL_F_LIBRARY] = tl_str_make(l, lver.len ? n : lname.len);
        }
    }
    out->f[TL_F_PROPERTIES] = compact(cx->arena, props);
    tl_str vid = anon.len ? anon : user;
    out->visitor = tl_hash64(vid.ptr, vid.len, tl_hash64(cx->site.ptr, cx->site.len, 0x7a11));
    return 0;
}
