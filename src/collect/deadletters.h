/* Private to collect: reading the dead-letter journal (see deadletters.c). */
#ifndef TL_COLLECT_DEADLETTERS_H
#define TL_COLLECT_DEADLETTERS_H

#include "collect/collect.h"
#include "json/json.h"

/* One dead letter as read back. */
typedef struct {
    uint32_t partition;
    uint64_t offset;
    int64_t received_ms;
    int reason;            /* tl_dl_reason */
    bool replayed;         /* a later replay accepted it */
    const tl_json *record; /* the whole record, parsed into the scan's arena */
    const char *raw;       /* the record's bytes (a copy in the scan's arena) */
    uint32_t raw_len;
} tl_dl_entry;

typedef bool (*tl_dl_visit)(void *arg, const tl_dl_entry *e); /* false stops the scan */

/* Visits every dead letter matching q (replay markers are read, applied and not visited),
 * oldest first per partition. An entry's record and raw bytes are valid only during the
 * visit: copy what you keep. */
int tl_dl_scan(tl_journal *dl, const tl_dl_query *q, tl_dl_visit visit, void *arg);

/* The listing for GET /api/v2/deadletters (see tl_collect_deadletters). */
int tl_dl_list(tl_journal *dl, const tl_dl_query *q, tl_buf *out);

/* Parses query-string style filters (values already decoded); on error *err names the
 * parameter and returns TL_EINVAL. */
int tl_dl_query_parse(tl_dl_query *q, const char *site, const char *type, const char *from,
                      const char *to, const char *limit, char *err, size_t errlen);

#endif
