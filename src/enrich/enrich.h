/*
 * enrich — what the collector adds to every valid event before it is
 * journaled: browser, OS and device from the user agent (bots flagged), country,
 * region and city from the IP (libmaxminddb, optional database), source and
 * channel from the referrer and UTM tags, and a cookieless visitor id when the
 * event carries no anonymousId/userId. The raw IP is used here and dropped: it
 * is never written into a record, a dead letter or a log.
 *
 * Threads: tl_enrich_event may be called from any number of threads at once.
 */
#ifndef TL_ENRICH_H
#define TL_ENRICH_H

#include "base/base.h"
#include "event/event.h"

typedef struct tl_enrich tl_enrich;

typedef struct {
    const char *geoip_db; /* path of a MaxMind DB (.mmdb) with country/city data; NULL = none */
    const char *salt_dir; /* where the daily rotating salts for cookieless ids are kept */
} tl_enrich_opts;

int tl_enrich_open(const tl_enrich_opts *o, tl_enrich **out, char *err, size_t errlen);
void tl_enrich_close(tl_enrich *e);

/* Enriches ev in place from its user agent (ev->f[TL_F_USER_AGENT]), referrer, URL and UTM
 * fields and the client IP (text, may be empty). Strings it adds are static or allocated in a
 * (the request's arena). When ev->visitor is 0 the cookieless visitor id is set. */
void tl_enrich_event(tl_enrich *e, tl_event *ev, const char *ip, size_t ip_len, tl_arena *a);

#endif
