/* Private to collect: one Segment event → tl_event (see segment.c). */
#ifndef TL_COLLECT_SEGMENT_H
#define TL_COLLECT_SEGMENT_H

#include "collect/collect.h"
#include "event/event.h"
#include "json/json.h"

typedef struct {
    tl_str site;
    int64_t received_ms;
    const tl_json *batch_context; /* the batch's top-level context, or NULL */
    bool batch_sent_at;           /* the batch had a top-level sentAt */
    int64_t batch_sent_ms;
    size_t max_event_bytes;
    tl_arena *arena; /* for strings that are not slices of the JSON */
} tl_seg_ctx;

typedef struct {
    int reason; /* tl_dl_reason */
    char pointer[264];
    char keyword[32];
    char expected[128];
    char found[128];
    char message[300];
} tl_seg_error;

/* 0 and *out, or -1 with *e describing the first problem. */
int tl_seg_event(const tl_seg_ctx *cx, const tl_json *ev, int implied_type, tl_event *out,
                 tl_seg_error *e);

#endif
