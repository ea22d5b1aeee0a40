/*
 * enrich private header: the user-agent parser and its cache, the referrer
 * classifier, and a clock hook for tests. Never included outside src/enrich
 * and its tests.
 */
#ifndef TL_ENRICH_INT_H
#define TL_ENRICH_INT_H

#include "enrich/enrich.h"

/* ---- user agents (ua.c) ---- */

enum { TL_ENRICH__VERSION_CAP = 16 };

/* What one user agent says. Names are indices into static tables (0 = unknown, name ""), so
 * the struct packs into a few words and a cache slot holds it whole. */
typedef struct {
    uint8_t browser; /* tl_enrich__browser_name(); named bots have their own entries */
    uint8_t os;      /* tl_enrich__os_name() */
    uint8_t device;  /* tl_enrich__device_name(): Desktop, Mobile, Tablet */
    uint8_t bot;     /* 1 when the agent is a bot, crawler, script or empty */
    char browser_version[TL_ENRICH__VERSION_CAP]; /* "120", "17.1", "" */
    char os_version[TL_ENRICH__VERSION_CAP];      /* "10", "10.15", "17.1", "" */
} tl_enrich__ua;

/* Parses ua[0..n) (any bytes; only the first 1024 are looked at). Never fails. */
void tl_enrich__ua_parse(const char *ua, size_t n, tl_enrich__ua *out);
const char *tl_enrich__browser_name(unsigned id);
const char *tl_enrich__os_name(unsigned id);
const char *tl_enrich__device_name(unsigned id);

/* ---- the cache (ua.c): user agents and geo results ----
 *
 * A fixed-size, 2-way set-associative table of 6-word entries. w[0] is the key's 64-bit hash,
 * the low 32 bits of w[1] the key's length; the rest is the value. Any number of threads may
 * get and put at once: entries are seqlocked, readers never block and never write, and a
 * writer that finds an entry busy simply skips caching. Nothing is freed before the cache. */
typedef struct tl_enrich__cache tl_enrich__cache;
/* 2^sets_log2 sets of two entries, 64 bytes an entry. TL_ENOMEM or TL_EINVAL (sets_log2 > 24). */
int tl_enrich__cache_new(unsigned sets_log2, tl_enrich__cache **out);
void tl_enrich__cache_free(tl_enrich__cache *c);
/* Copies the entry for (h, len) into w; false when it is not there. */
bool tl_enrich__cache_get(tl_enrich__cache *c, uint64_t h, uint32_t len, uint64_t w[6]);
/* Inserts w (w[0] = hash, low half of w[1] = length), evicting the set's older entry. */
void tl_enrich__cache_put(tl_enrich__cache *c, const uint64_t w[6]);

/* Fills *out with the parse of ua[0..n), from the cache when it is there (key: XXH3 of the
 * agent and its length). Returns true on a cache hit. */
bool tl_enrich__ua_get(tl_enrich__cache *c, const char *ua, size_t n, tl_enrich__ua *out);

/* ---- referrers (referrer.c) ---- */

/* Source and channel of ev from its referrer, hostname, URL (click ids) and UTM fields.
 * Results are static strings or point into ev's own strings or into a (a may be NULL: a
 * referrer host with capitals is then used as it is). */
void tl_enrich__source(const tl_event *ev, tl_arena *a, tl_str *source, tl_str *channel);

/* ---- tests only ---- */

/* Replaces the wall clock used to pick the day's salt (ms since the epoch, UTC). Call before
 * any tl_enrich_event on e; fn(ctx) may then be called from any enriching thread. */
typedef int64_t (*tl_enrich__clock_fn)(void *ctx);
void tl_enrich__set_clock(tl_enrich *e, tl_enrich__clock_fn fn, void *ctx);

#endif
