/*
 * The event record codec. The layout is specified in event.h; this file is its
 * only implementation. Encoding is a handful of memcpy and varint writes per
 * event (no allocation beyond the caller's buffer); decoding points into the
 * record without copying, so a consumer scanning millions of records allocates
 * nothing.
 */
#include "event/event.h"

#include <string.h>

static const char *const type_names[] = {
    NULL, "track", "page", "screen", "identify", "group", "alias",
};

static const char *const field_names[TL_F__COUNT] = {
    [TL_F_SITE] = "site",
    [TL_F_MESSAGE_ID] = "message_id",
    [TL_F_ANONYMOUS_ID] = "anonymous_id",
    [TL_F_USER_ID] = "user_id",
    [TL_F_NAME] = "name",
    [TL_F_URL] = "url",
    [TL_F_HOSTNAME] = "hostname",
    [TL_F_PATH] = "path",
    [TL_F_REFERRER] = "referrer",
    [TL_F_TITLE] = "title",
    [TL_F_UTM_SOURCE] = "utm_source",
    [TL_F_UTM_MEDIUM] = "utm_medium",
    [TL_F_UTM_CAMPAIGN] = "utm_campaign",
    [TL_F_UTM_TERM] = "utm_term",
    [TL_F_UTM_CONTENT] = "utm_content",
    [TL_F_BROWSER] = "browser",
    [TL_F_BROWSER_VERSION] = "browser_version",
    [TL_F_OS] = "os",
    [TL_F_OS_VERSION] = "os_version",
    [TL_F_DEVICE] = "device",
    [TL_F_COUNTRY] = "country",
    [TL_F_REGION] = "region",
    [TL_F_CITY] = "city",
    [TL_F_SOURCE] = "source",
    [TL_F_CHANNEL] = "channel",
    [TL_F_PROPERTIES] = "properties",
    [TL_F_USER_AGENT] = "user_agent",
    [TL_F_LIBRARY] = "library",
};

const char *tl_event_type_name(int type)
{
    return type >= TL_EV_TRACK && type <= TL_EV_ALIAS ? type_names[type] : NULL;
}

int tl_event_type_parse(const char *s, size_t n)
{
    for (int t = TL_EV_TRACK; t <= TL_EV_ALIAS; t++)
        if (strlen(type_names[t]) == n && memcmp(type_names[t], s, n) == 0)
            return t;
    return 0;
}

const char *tl_event_field_name(int field)
{
    return field > 0 && field < TL_F__COUNT ? field_names[field] : NULL;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int tl_event_encode(const tl_event *ev, tl_buf *out)
{
    size_t need = 3 + 20 + 8;
    for (int f = 1; f < TL_F__COUNT; f++)
        if (ev->f[f].len)
            need += 1 + 5 + ev->f[f].len;
    if (tl_buf_reserve(out, need))
        return TL_ENOMEM;
    uint8_t head[3] = {TL_EVENT_VERSION, ev->type, ev->flags};
    tl_buf_append(out, head, 3);
    tl_buf_put_varint(out, zigzag(ev->ts_ms));
    tl_buf_put_varint(out, zigzag(ev->received_ms));
    uint8_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (uint8_t)(ev->visitor >> (8 * i));
    tl_buf_append(out, v, 8);
    for (int f = 1; f < TL_F__COUNT; f++) {
        if (!ev->f[f].len)
            continue;
        tl_buf_putc(out, (char)f);
        tl_buf_put_varint(out, ev->f[f].len);
        tl_buf_append(out, ev->f[f].ptr, ev->f[f].len);
    }
    return 0;
}

int tl_event_decode(const void *data, size_t n, tl_event *ev)
{
    const uint8_t *p = data, *end = p + n;
    memset(ev, 0, sizeof *ev);
    if (n < 3 + 2 + 8 || p[0] != TL_EVENT_VERSION)
        return TL_ECORRUPT;
    ev->type = p[1];
    ev->flags = p[2];
    if (!tl_event_type_name(ev->type))
        return TL_ECORRUPT;
    p += 3;
    uint64_t u;
    if (tl_varint_get(&p, end, &u))
        return TL_ECORRUPT;
    ev->ts_ms = unzigzag(u);
    if (tl_varint_get(&p, end, &u))
        return TL_ECORRUPT;
    ev->received_ms = unzigzag(u);
    if (end - p < 8)
        return TL_ECORRUPT;
    for (int i = 0; i < 8; i++)
        ev->visitor |= (uint64_t)p[i] << (8 * i);
    p += 8;
    while (p < end) {
        uint8_t id = *p++;
        if (tl_varint_get(&p, end, &u) || u > (uint64_t)(end - p))
            return TL_ECORRUPT;
        if (id > 0 && id < TL_F__COUNT)
            ev->f[id] = tl_str_make((const char *)p, (size_t)u);
        p += u;
    }
    return 0;
}

uint32_t tl_event_partition(tl_str site, uint64_t visitor, uint32_t partitions)
{
    if (partitions <= 1)
        return 0;
    uint64_t h = tl_hash64(site.ptr, site.len, visitor);
    return (uint32_t)(h % partitions);
}
