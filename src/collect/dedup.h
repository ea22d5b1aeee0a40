/* Private to collect: the messageId dedup set (see dedup.c). */
#ifndef TL_COLLECT_DEDUP_H
#define TL_COLLECT_DEDUP_H

#include "base/base.h"

typedef struct tl_dedup tl_dedup;

int tl_dedup_new(int64_t horizon_ms, size_t max_entries, tl_dedup **out);
void tl_dedup_free(tl_dedup *d);
/* Inserts key; returns true when it was new, false when it was seen within the horizon. */
bool tl_dedup_insert(tl_dedup *d, uint64_t key, int64_t now_ms);
/* Forgets key (an append that failed must not block the client's retry). */
void tl_dedup_remove(tl_dedup *d, uint64_t key);
size_t tl_dedup_size(tl_dedup *d);
uint64_t tl_dedup_early_rotations(tl_dedup *d);

#endif
