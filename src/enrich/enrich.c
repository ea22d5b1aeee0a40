/*
 * enrich — the per-event additions made between validation and the journal: user agent
 * (ua.c), geo-IP (libmaxminddb), source and channel (referrer.c), and the cookieless visitor
 * id. This file holds the context object, geo lookups and the salts.
 *
 * Geo. The .mmdb file is opened once with MMDB_MODE_MMAP and only read afterwards, which
 * libmaxminddb allows from any number of threads. The IP text is parsed with inet_pton into a
 * sockaddr (no getaddrinfo, so never a DNS query), IPv4-mapped IPv6 addresses are looked up
 * as IPv4, and the strings found (country iso_code, falling back to registered_country; the
 * first subdivision's iso_code, or its English name; the city's English name) point straight
 * into the mapping, which lives until tl_enrich_close. The region is written ISO 3166-2 style,
 * "DE-BE", when the country is known (a bare "BE" or "CA" is ambiguous across countries); that
 * one string is built in the caller's arena. Results are cached per IP text (the seqlocked
 * cache of ua.c, 8192 entries): the key is XXH3 of the text with a random per-process seed
 * and the value is the three pointers into the mapping, so a visitor's second event costs a
 * hash and a lookup instead of inet_pton, a tree walk and four map walks. No IP text is kept.
 *
 * Cookieless visitor id (when the event has no anonymousId/userId, as with Plausible's API):
 *
 *   visitor = XXH3-64( salt[32] | u32 len | site | u32 len | ip | u32 len | user agent )
 *
 * (lengths little-endian; a field longer than 300 bytes is replaced by its own XXH3-64, so the
 * buffer stays on the stack). The salt is 32 bytes from getrandom(), one per UTC day, so the
 * same person on the same site has one id for the day and a new, unlinkable one the next.
 * Salts are kept in salt_dir as
 *
 *   salt-YYYY-MM-DD    exactly 32 random bytes, written with tl_write_file_atomic
 *
 * so ids survive a restart within the day. Files of two or more days ago are deleted at open
 * and at every rotation: once a salt is gone, nobody (we included) can recompute the ids of
 * its day from IPs. A salt file of the wrong size is replaced (ids of that day change). With
 * no salt_dir the salt lives in memory only. Without the salt file writable the day's salt is
 * kept in memory and a warning logged; enrichment itself never fails.
 *
 * Rotation. The current salt is an immutable {day, bytes} published through an atomic
 * pointer; each event compares its day with the wall clock's (one clock_gettime), and the
 * first thread to see a new day takes the mutex, loads or creates that day's salt and
 * publishes it. Old salt structs stay allocated until close (40 bytes a day) so a thread
 * still hashing with yesterday's never reads freed memory. The day only moves forward: a
 * clock stepping back over midnight keeps the newer salt.
 *
 * Privacy invariant: the raw IP is only read here (inet_pton and the hash) and is never
 * copied into an event field, a log line or an error message.
 */
#include "enrich/enrich_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define DAY_MS        86400000LL
#define SALT_LEN      32
#define UA_SETS_LOG2  12 /* 4096 sets x 2 ways x 64 bytes = 512 KiB */
#define GEO_SETS_LOG2 12 /* the same for IP -> geo */

typedef struct salt {
    int64_t day; /* days since the epoch, UTC */
    uint8_t key[SALT_LEN];
    struct salt *next; /* every salt ever used, freed at close */
} salt;

struct tl_enrich {
    tl_enrich__cache *ua;
    bool has_geo;
    MMDB_s mmdb;
    tl_enrich__cache *geo_cache; /* IP text -> geo_result, only with a database */
    uint64_t ip_seed;            /* random: cache keys are no plain hash of an IP */
    char *salt_dir;              /* NULL: salts in memory only */
    pthread_mutex_t salt_mu;
    _Atomic(salt *) cur;
    salt *salts; /* under salt_mu */
    tl_enrich__clock_fn clock;
    void *clock_ctx;
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int64_t now_ms(const tl_enrich *e)
{
    return e->clock ? e->clock(e->clock_ctx) : tl_now_ms();
}

static int64_t day_of(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

/* ---- salts ---- */

static int salt_path(const char *dir, int64_t day, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    tl_civil_from_days(day, &y, &m, &d);
    int n = snprintf(out, cap, "%s/salt-%04lld-%02u-%02u", dir, (long long)y, m, d);
    return n > 0 && (size_t)n < cap ? 0 : TL_EINVAL;
}

/* Day of a "salt-YYYY-MM-DD" name (also with a ".tmp" tail left by a crash), or false. */
static bool salt_name_day(const char *name, int64_t *day)
{
    unsigned y, m, d;
    int used = 0;
    if (strncmp(name, "salt-", 5) != 0 ||
        sscanf(name + 5, "%4u-%2u-%2u%n", &y, &m, &d, &used) != 3 || used != 10)
        return false;
    const char *tail = name + 5 + used;
    if (*tail && strcmp(tail, ".tmp") != 0)
        return false;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    *day = tl_days_from_civil(y, m, d);
    return true;
}

/* Deletes the salts of days before today - 1. */
static void salt_prune(const char *dir, int64_t today)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(dp)) != NULL) {
        int64_t day;
        if (!salt_name_day(de->d_name, &day) || day >= today - 1)
            continue;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (n > 0 && (size_t)n < sizeof(path) && unlink(path) != 0 && errno != ENOENT)
            tl_log(TL_LOG_WARN, "enrich: cannot delete old salt %s: %s", path, strerror(errno));
    }
    closedir(dp);
    tl_fsync_dir(dir);
}

static int random_bytes(uint8_t *p, size_t n)
{
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return TL_EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Loads or creates the salt of `day`. On a disk failure *s still gets a fresh in-memory salt
 * and the error is returned. */
static int salt_load(const tl_enrich *e, int64_t day, salt *s)
{
    s->day = day;
    int rc = random_bytes(s->key, SALT_LEN);
    if (rc < 0 || !e->salt_dir)
        return rc;
    char path[4096];
    if ((rc = salt_path(e->salt_dir, day, path, sizeof(path))) < 0)
        return rc;
    tl_buf b;
    tl_buf_init(&b);
    rc = tl_read_file(path, &b);
    if (rc == 0 && b.len == SALT_LEN) {
        memcpy(s->key, b.ptr, SALT_LEN);
    } else {
        if (rc == 0)
            tl_log(TL_LOG_WARN, "enrich: salt file %s holds %zu bytes, expected %d; replacing it",
                   path, b.len, SALT_LEN);
        rc = tl_write_file_atomic(path, s->key, SALT_LEN);
    }
    tl_buf_deinit(&b);
    salt_prune(e->salt_dir, day);
    return rc;
}

/* The salt for the current day, rotating when the day changed. Never NULL after open. */
static const salt *salt_current(tl_enrich *e)
{
    salt *s = atomic_load_explicit(&e->cur, memory_order_acquire);
    int64_t day = day_of(now_ms(e));
    if (day <= s->day)
        return s;
    pthread_mutex_lock(&e->salt_mu);
    s = atomic_load_explicit(&e->cur, memory_order_relaxed);
    if (day > s->day) {
        salt *n = tl_calloc(1, sizeof(*n));
        if (n) {
            int rc = salt_load(e, day, n);
            if (rc < 0)
                tl_log(TL_LOG_WARN,
                       "enrich: cannot keep the salt of the new day in %s (%s); "
                       "visitor ids change at the next restart",
                       e->salt_dir ? e->salt_dir : "memory", tl_strerror(rc));
            n->next = e->salts;
            e->salts = n;
            atomic_store_explicit(&e->cur, n, memory_order_release);
            s = n;
        } else {
            static int64_t last;
            tl_log_limited(&last, 60000, TL_LOG_ERROR,
                           "enrich: out of memory rotating the salt; keeping yesterday's");
        }
    }
    pthread_mutex_unlock(&e->salt_mu);
    return s;
}

static size_t put_field(uint8_t *buf, size_t o, const char *p, size_t n)
{
    uint32_t len = (uint32_t)n;
    uint8_t le[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    memcpy(buf + o, le, 4);
    o += 4;
    if (n <= 300) {
        if (n)
            memcpy(buf + o, p, n);
        return o + n;
    }
    uint64_t h = tl_hash64(p, n, 0);
    memcpy(buf + o, &h, 8);
    return o + 8;
}

static uint64_t visitor_id(const salt *s, tl_str site, const char *ip, size_t ip_len, tl_str ua)
{
    uint8_t buf[SALT_LEN + 3 * (4 + 300)];
    size_t o = SALT_LEN;
    memcpy(buf, s->key, SALT_LEN);
    o = put_field(buf, o, site.ptr, site.len);
    o = put_field(buf, o, ip, ip_len);
    o = put_field(buf, o, ua.ptr, ua.len);
    uint64_t h = tl_hash64(buf, o, 0);
    return h ? h : 1; /* 0 means "no visitor" */
}

/* ---- geo ---- */

static tl_str mmdb_str(MMDB_entry_s *entry, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0)
        return tl_str_make(NULL, 0);
    return tl_str_make(d.utf8_string, d.data_size);
}

typedef struct {
    tl_str cc, sub, city; /* point into the database mapping */
    bool sub_iso;         /* sub is the subdivision's ISO code (else its name) */
} geo_result;

/* Looks text (NUL-terminated) up in the database. False when it is no IP address. */
static bool geo_lookup(tl_enrich *e, const char *text, geo_result *g)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr;
    memset(&addr, 0, sizeof(addr));
    memset(g, 0, sizeof(*g));
    if (inet_pton(AF_INET, text, &addr.v4.sin_addr) == 1) {
        addr.v4.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &addr.v6.sin6_addr) == 1) {
        addr.v6.sin6_family = AF_INET6;
        if (IN6_IS_ADDR_V4MAPPED(&addr.v6.sin6_addr)) {
            struct in_addr v4;
            memcpy(&v4, &addr.v6.sin6_addr.s6_addr[12], 4);
            memset(&addr, 0, sizeof(addr));
            addr.v4.sin_family = AF_INET;
            addr.v4.sin_addr = v4;
        }
    } else {
        return false;
    }

    int err = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&e->mmdb, &addr.sa, &err);
    memset(&addr, 0, sizeof(addr));
    if (err != MMDB_SUCCESS) {
        /* an IPv6 address on an IPv4-only database is expected; anything else is not */
        if (err != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
            static int64_t last;
            tl_log_limited(&last, 60000, TL_LOG_WARN, "enrich: geo lookup failed: %s",
                           MMDB_strerror(err));
        }
        return true;
    }
    if (!r.found_entry)
        return true;

    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const reg_country[] = {"registered_country", "iso_code", NULL};
    static const char *const sub_iso[] = {"subdivisions", "0", "iso_code", NULL};
    static const char *const sub_name[] = {"subdivisions", "0", "names", "en", NULL};
    static const char *const city[] = {"city", "names", "en", NULL};
    g->cc = mmdb_str(&r.entry, country);
    if (!g->cc.len)
        g->cc = mmdb_str(&r.entry, reg_country);
    g->sub = mmdb_str(&r.entry, sub_iso);
    g->sub_iso = g->sub.len > 0;
    if (!g->sub.len)
        g->sub = mmdb_str(&r.entry, sub_name);
    g->city = mmdb_str(&r.entry, city);
    return true;
}

/* Geo cache entry (see the cache in ua.c): w[0] XXH3 of the IP text with a per-process random
 * seed, w[1] its length, w[2..4] country, subdivision and city pointers into the mapping,
 * w[5] their lengths (16 bits each) and the sub_iso flag (bit 48). */
static void geo(tl_enrich *e, tl_event *ev, const char *ip, size_t n, tl_arena *a)
{
    if (n && ip[0] == '[' && ip[n - 1] == ']') { /* "[2001:db8::1]" */
        ip++;
        n -= 2;
    }
    char text[INET6_ADDRSTRLEN + 2];
    if (n == 0 || n >= sizeof(text))
        return;

    geo_result g;
    uint64_t h = tl_hash64(ip, n, e->ip_seed), w[6];
    if (tl_enrich__cache_get(e->geo_cache, h, (uint32_t)n, w)) {
        g.cc = tl_str_make((const char *)(uintptr_t)w[2], w[5] & 0xffff);
        g.sub = tl_str_make((const char *)(uintptr_t)w[3], (w[5] >> 16) & 0xffff);
        g.city = tl_str_make((const char *)(uintptr_t)w[4], (w[5] >> 32) & 0xffff);
        g.sub_iso = (w[5] >> 48) & 1;
    } else {
        memcpy(text, ip, n);
        text[n] = '\0';
        bool is_ip = geo_lookup(e, text, &g);
        memset(text, 0, sizeof(text));
        if (!is_ip)
            return;
        if (g.cc.len <= 0xffff && g.sub.len <= 0xffff && g.city.len <= 0xffff) {
            w[0] = h;
            w[1] = n;
            w[2] = (uintptr_t)g.cc.ptr;
            w[3] = (uintptr_t)g.sub.ptr;
            w[4] = (uintptr_t)g.city.ptr;
            w[5] = (uint64_t)g.cc.len | (uint64_t)g.sub.len << 16 | (uint64_t)g.city.len << 32 |
                   (uint64_t)g.sub_iso << 48;
            tl_enrich__cache_put(e->geo_cache, w);
        }
    }

    if (g.cc.len)
        ev->f[TL_F_COUNTRY] = g.cc;
    if (g.sub.len && g.sub_iso && g.cc.len) {
        size_t len = g.cc.len + 1 + g.sub.len;
        char *p = a ? tl_arena_alloc(a, len) : NULL;
        if (p) {
            memcpy(p, g.cc.ptr, g.cc.len);
            p[g.cc.len] = '-';
            memcpy(p + g.cc.len + 1, g.sub.ptr, g.sub.len);
            ev->f[TL_F_REGION] = tl_str_make(p, len);
        } else {
            ev->f[TL_F_REGION] = g.sub;
        }
    } else if (g.sub.len) {
        ev->f[TL_F_REGION] = g.sub;
    }
    if (g.city.len)
        ev->f[TL_F_CITY] = g.city;
}

/* ---- public ---- */

int tl_enrich_open(const tl_enrich_opts *o, tl_enrich **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    tl_enrich *e = tl_calloc(1, sizeof(*e));
    if (!e)
        return TL_ENOMEM;
    pthread_mutex_init(&e->salt_mu, NULL);
    int rc = tl_enrich__cache_new(UA_SETS_LOG2, &e->ua);
    if (rc < 0)
        goto fail;

    if (o && o->geoip_db && o->geoip_db[0]) {
        int mrc = MMDB_open(o->geoip_db, MMDB_MODE_MMAP, &e->mmdb);
        if (mrc != MMDB_SUCCESS) {
            set_err(err, errlen, "geoip database %s: %s", o->geoip_db, MMDB_strerror(mrc));
            rc = mrc == MMDB_FILE_OPEN_ERROR       ? TL_ENOTFOUND
                 : mrc == MMDB_IO_ERROR            ? TL_EIO
                 : mrc == MMDB_OUT_OF_MEMORY_ERROR ? TL_ENOMEM
                                                   : TL_ECORRUPT;
            goto fail;
        }
        e->has_geo = true;
        if ((rc = tl_enrich__cache_new(GEO_SETS_LOG2, &e->geo_cache)) < 0 ||
            (rc = random_bytes((uint8_t *)&e->ip_seed, sizeof(e->ip_seed))) < 0)
            goto fail;
    }

    if (o && o->salt_dir && o->salt_dir[0]) {
        e->salt_dir = tl_strndup(o->salt_dir, strlen(o->salt_dir));
        if (!e->salt_dir) {
            rc = TL_ENOMEM;
            goto fail;
        }
        if ((rc = tl_mkdir_p(e->salt_dir)) < 0) {
            set_err(err, errlen, "salt directory %s: %s", e->salt_dir, strerror(errno));
            goto fail;
        }
    }

    salt *s = tl_calloc(1, sizeof(*s));
    if (!s) {
        rc = TL_ENOMEM;
        goto fail;
    }
    e->salts = s;
    if ((rc = salt_load(e, day_of(tl_now_ms()), s)) < 0) {
        set_err(err, errlen, "salt for cookieless ids in %s: %s",
                e->salt_dir ? e->salt_dir : "memory", tl_strerror(rc));
        goto fail;
    }
    atomic_store_explicit(&e->cur, s, memory_order_release);
    *out = e;
    return 0;

fail:
    tl_enrich_close(e);
    return rc;
}

void tl_enrich_close(tl_enrich *e)
{
    if (!e)
        return;
    tl_enrich__cache_free(e->ua);
    tl_enrich__cache_free(e->geo_cache);
    if (e->has_geo)
        MMDB_close(&e->mmdb);
    for (salt *s = e->salts, *next; s; s = next) {
        next = s->next;
        memset(s->key, 0, SALT_LEN);
        tl_free(s);
    }
    pthread_mutex_destroy(&e->salt_mu);
    tl_free(e->salt_dir);
    tl_free(e);
}

void tl_enrich__set_clock(tl_enrich *e, tl_enrich__clock_fn fn, void *ctx)
{
    e->clock = fn;
    e->clock_ctx = ctx;
}

static void set_name(tl_event *ev, int field, const char *name)
{
    if (name[0])
        ev->f[field] = tl_str_make(name, strlen(name));
}

static void set_copy(tl_event *ev, int field, const char *s, tl_arena *a)
{
    size_t n = strlen(s);
    char *p = n && a ? tl_arena_strndup(a, s, n) : NULL;
    if (p)
        ev->f[field] = tl_str_make(p, n);
}

void tl_enrich_event(tl_enrich *e, tl_event *ev, const char *ip, size_t ip_len, tl_arena *a)
{
    if (!ip)
        ip_len = 0;

    /* user agent */
    tl_str ua = ev->f[TL_F_USER_AGENT];
    tl_enrich__ua u;
    if (ua.len)
        tl_enrich__ua_get(e->ua, ua.ptr, ua.len, &u);
    else
        tl_enrich__ua_parse("", 0, &u);
    if (u.bot)
        ev->flags |= TL_EVF_BOT;
    set_name(ev, TL_F_BROWSER, tl_enrich__browser_name(u.browser));
    set_copy(ev, TL_F_BROWSER_VERSION, u.browser_version, a);
    set_name(ev, TL_F_OS, tl_enrich__os_name(u.os));
    set_copy(ev, TL_F_OS_VERSION, u.os_version, a);
    set_name(ev, TL_F_DEVICE, tl_enrich__device_name(u.device));

    /* geo */
    if (e->has_geo && ip_len)
        geo(e, ev, ip, ip_len, a);

    /* acquisition */
    tl_enrich__source(ev, a, &ev->f[TL_F_SOURCE], &ev->f[TL_F_CHANNEL]);

    /* cookieless visitor */
    if (ev->visitor == 0)
        ev->visitor = visitor_id(salt_current(e), ev->f[TL_F_SITE], ip ? ip : "", ip_len, ua);
}
