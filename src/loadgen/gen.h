/*
 * loadgen private header: the traffic generator and the pacing bucket.
 *
 * Both are pure: the generator's output is a function of its configuration
 * and of the `now_ms` values the caller passes in; the bucket's answers are a
 * function of the times it is given. That is what lets the unit tests check
 * them without a server or a clock. Never included outside src/loadgen and its
 * tests.
 */
#ifndef TL_LOADGEN_GEN_H
#define TL_LOADGEN_GEN_H

#include "base/base.h"
#include "loadgen/loadgen.h"

/* ---- PRNG: xoshiro256**, seeded through splitmix64 ---- */
typedef struct {
    uint64_t s[4];
} tl_loadgen__rng;

void tl_loadgen__rng_seed(tl_loadgen__rng *r, uint64_t seed);
uint64_t tl_loadgen__rng_next(tl_loadgen__rng *r);
/* Uniform in [0, 1). */
double tl_loadgen__rng_unit(tl_loadgen__rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t tl_loadgen__rng_below(tl_loadgen__rng *r, uint32_t n);

/* ---- generator ---- */
typedef struct {
    const char *const *sites; /* borrowed; must outlive the generator */
    size_t n_sites;
    double late_frac, dup_frac, invalid_frac;
    uint64_t seed;              /* drives visitors, sessions, fractions */
    uint64_t id_salt;           /* drives the messageId prefix only */
    uint32_t visitors_per_site; /* concurrently active visitors; 0 means 32 */
} tl_loadgen__gen_cfg;

enum {
    TL_LOADGEN__NORMAL = 0,
    TL_LOADGEN__LATE,    /* timestamp 1-10 minutes before now */
    TL_LOADGEN__DUP,     /* the exact text of an earlier event of the same site */
    TL_LOADGEN__INVALID, /* see the bad reasons */
};

enum {
    TL_LOADGEN__BAD_NONE = 0,
    TL_LOADGEN__BAD_NO_MESSAGE_ID,
    TL_LOADGEN__BAD_NO_IDENTITY, /* neither anonymousId nor userId */
    TL_LOADGEN__BAD_NO_EVENT,    /* a track without "event" */
    TL_LOADGEN__BAD_TIMESTAMP,   /* a timestamp string that is no date-time */
    TL_LOADGEN__BAD__COUNT
};

typedef struct {
    uint8_t kind;        /* TL_LOADGEN__NORMAL... */
    uint8_t bad;         /* TL_LOADGEN__BAD_* when kind is INVALID */
    uint8_t type;        /* TL_EV_TRACK, TL_EV_PAGE or TL_EV_IDENTIFY: picks /v1/<type> */
    uint8_t bot;         /* the user agent is a crawler */
    char message_id[40]; /* empty when the event has none */
} tl_loadgen__event_info;

typedef struct tl_loadgen__gen tl_loadgen__gen;

/* Returns 0, TL_EINVAL (no sites, a fraction outside [0,1] or summing above 1) or TL_ENOMEM. */
int tl_loadgen__gen_new(const tl_loadgen__gen_cfg *cfg, tl_loadgen__gen **out);
void tl_loadgen__gen_free(tl_loadgen__gen *g);
/* A site index for the next request; earlier sites get more traffic (weights 1, 1/2, 1/3...). */
size_t tl_loadgen__gen_pick_site(tl_loadgen__gen *g);
/* Appends one event (a compact JSON object) of site `site` to out and describes it in *info.
 * now_ms is the wall clock the event is stamped with. Returns 0, TL_EINVAL or TL_ENOMEM. */
int tl_loadgen__gen_next(tl_loadgen__gen *g, size_t site, int64_t now_ms, tl_buf *out,
                         tl_loadgen__event_info *info);
/* "track", "page", "identify" for the /v1/<type> endpoint. */
const char *tl_loadgen__type_path(int type);

/* ---- pacing: a token bucket counted in events ---- */
typedef struct {
    double rate;  /* tokens per second; 0 means unlimited */
    double burst; /* most tokens ever held */
    double tokens;
    int64_t last_ns;
} tl_loadgen__bucket;

/* Starts with `burst` tokens so the first request leaves at once. */
void tl_loadgen__bucket_init(tl_loadgen__bucket *b, double rate, double burst, int64_t now_ns);
/* Takes n tokens and returns 0 when they are there; otherwise takes nothing and returns how
 * many nanoseconds from now_ns they will be (at least 1). An unlimited bucket always
 * returns 0. n above burst is treated as burst. */
int64_t tl_loadgen__bucket_take(tl_loadgen__bucket *b, double n, int64_t now_ns);

/* ---- run/CLI internals (loadgen.c), exposed for the tests ---- */

#define TL_LOADGEN_MAX_SITES 64

typedef struct {
    tl_loadgen_opts opts;
    const char *sites[TL_LOADGEN_MAX_SITES]; /* point into argv or at the defaults */
    bool help;
} tl_loadgen__args;

/* Parses `loadgen` flags (argv[0] is the subcommand name and is skipped). Returns 0, or
 * TL_EINVAL with a lowercase message in err naming the flag. */
int tl_loadgen__parse_args(int argc, char **argv, tl_loadgen__args *a, char *err, size_t errlen);

/* Books a finished request of n events into st: transport_ok is false when no HTTP answer
 * came; body is the response body (a per-event "rejected" array is counted when present). */
void tl_loadgen__account(bool transport_ok, long status, const char *body, size_t len, uint32_t n,
                         tl_loadgen_stats *st);

#endif
