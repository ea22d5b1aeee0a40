/*
 * event — the validated event, and its compact binary record.
 *
 * The collector turns a Segment/Plausible JSON event into a tl_event; the
 * journal stores tl_event_encode()'s bytes; every consumer (stream, lake,
 * quality) reads them back with tl_event_decode(). Nothing downstream ever sees
 * the raw JSON again.
 *
 * Record layout (version 1), all integers little-endian or LEB128 varints:
 *
 *   u8   version (=1)
 *   u8   type            tl_event_type
 *   u8   flags           TL_EVF_*
 *   var  ts_ms           event time, ms since epoch (zigzag varint)
 *   var  received_ms     server receive time (zigzag varint)
 *   u64  visitor         64-bit visitor id (fixed 8 bytes)
 *   then zero or more fields, in increasing id order:
 *   u8   field id        tl_event_field
 *   var  length
 *   ...  bytes
 *
 * Absent (empty) string fields take no space. Unknown field ids are skipped
 * by the decoder, so later versions can add fields without a new version.
 */
#ifndef TL_EVENT_H
#define TL_EVENT_H

#include "base/base.h"

typedef enum {
    TL_EV_TRACK = 1,
    TL_EV_PAGE = 2,
    TL_EV_SCREEN = 3,
    TL_EV_IDENTIFY = 4,
    TL_EV_GROUP = 5,
    TL_EV_ALIAS = 6,
} tl_event_type;

/* flags */
enum {
    TL_EVF_BOT = 1 << 0,     /* user agent is a bot or crawler */
    TL_EVF_SKEWED = 1 << 1,  /* timestamp was corrected with sentAt */
    TL_EVF_NO_TS = 1 << 2,   /* no timestamp given; received time used */
    TL_EVF_REPLAYED = 1 << 3 /* re-submitted from the dead letters */
};

/* String fields. The order is the on-disk id order: append new ones at the end. */
typedef enum {
    TL_F_SITE = 1,
    TL_F_MESSAGE_ID,
    TL_F_ANONYMOUS_ID,
    TL_F_USER_ID,
    TL_F_NAME, /* track: event name; page/screen: page name */
    TL_F_URL,
    TL_F_HOSTNAME,
    TL_F_PATH,
    TL_F_REFERRER,
    TL_F_TITLE,
    TL_F_UTM_SOURCE,
    TL_F_UTM_MEDIUM,
    TL_F_UTM_CAMPAIGN,
    TL_F_UTM_TERM,
    TL_F_UTM_CONTENT,
    TL_F_BROWSER,
    TL_F_BROWSER_VERSION,
    TL_F_OS,
    TL_F_OS_VERSION,
    TL_F_DEVICE,
    TL_F_COUNTRY,
    TL_F_REGION,
    TL_F_CITY,
    TL_F_SOURCE,
    TL_F_CHANNEL,
    TL_F_PROPERTIES, /* compact JSON object: properties (track/page/screen) or traits */
    TL_F_USER_AGENT,
    TL_F_LIBRARY, /* "name/version" of the sending SDK */
    TL_F__COUNT
} tl_event_field;

typedef struct {
    uint8_t type;
    uint8_t flags;
    int64_t ts_ms;
    int64_t received_ms;
    uint64_t visitor;
    tl_str f[TL_F__COUNT]; /* f[TL_F_SITE] ...; index 0 unused */
} tl_event;

#define TL_EVENT_VERSION 1

const char *tl_event_type_name(int type);         /* "track", "page", ... or NULL */
int tl_event_type_parse(const char *s, size_t n); /* TL_EV_* or 0 */
const char *tl_event_field_name(int field);       /* "site", "message_id", ... */

/* Appends the record for ev to out. */
int tl_event_encode(const tl_event *ev, tl_buf *out);
/* Decodes p[0..n) into *ev; strings point into p (not NUL-terminated). Returns 0 or
 * TL_ECORRUPT. */
int tl_event_decode(const void *p, size_t n, tl_event *ev);
/* Partition of an event: one visitor's events always land in the same partition. */
uint32_t tl_event_partition(tl_str site, uint64_t visitor, uint32_t partitions);

#endif
