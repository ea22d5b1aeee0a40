/*
 * config — tally's settings: defaults, the JSON config file, and the sites
 * with their write keys.
 *
 * The file (`tally serve --config tally.json`) is JSON; every key is optional:
 *
 *   {
 *     "listen": "127.0.0.1:8080",
 *     "data": "./data",
 *     "sites": [ {"id": "shop.example", "write_keys": ["wk_shop_live"], "strict": false} ],
 *     "strict": false,                       (open mode: strict for every site)
 *     "enrich": { "geoip_db": "/var/lib/GeoIP/GeoLite2-City.mmdb" },
 *     "ingest": { "max_body_bytes": 512000, "max_event_bytes": 32768, "max_depth": 32,
 *                 "max_string_len": 16384, "max_members": 1000,
 *                 "dedup_horizon_seconds": 86400, "dedup_max_entries": 20000000 },
 *     "journal": { "partitions": 1, "fsync": "always", "commit_interval_ms": 5,
 *                  "segment_bytes": 67108864, "retention_hours": 168, "retention_bytes": 0 },
 *     "http": { "threads": 2 }
 *   }
 *
 * With no "sites" (or no file at all) tally is open: any write key is accepted
 * and names its own site. With sites, only their write keys are accepted.
 * Unknown keys are an error naming the key, so typos do not go unnoticed.
 * journal.partitions is fixed when a data directory is created (absent: 1 for a new one,
 * whatever an existing one has). One partition is fastest on one machine: a group commit
 * then costs one fdatasync, and the stream reads partitions on one thread anyway; more
 * are for consumers that scale out.
 * A config is immutable once loaded and may be read from any thread.
 */
#ifndef TL_CONFIG_H
#define TL_CONFIG_H

#include "base/base.h"
#include "journal/journal.h"

typedef struct {
    char *id;
    char **write_keys;
    size_t n_keys;
    bool strict; /* reject events whose subject has no registered schema */
} tl_site;

typedef struct {
    char listen_host[64];
    uint16_t listen_port;
    char *data_dir;
    tl_site *sites;
    size_t n_sites;
    /* ingest limits */
    size_t max_body_bytes;
    size_t max_event_bytes;
    uint32_t max_depth;
    uint32_t max_string_len;
    uint32_t max_members;
    int64_t dedup_horizon_ms;
    size_t dedup_max_entries;
    /* journal */
    tl_journal_opts journal; /* .dir is filled by the server */
    unsigned http_threads;   /* 0 = number of CPUs */
    char *geoip_db;          /* MaxMind DB for country/region/city; NULL = no geo-IP */
    bool strict;             /* open mode: reject unplanned events (no schema) for every site */
} tl_config;

void tl_config_init(tl_config *c); /* defaults */
void tl_config_deinit(tl_config *c);
/* Loads a JSON config file over the defaults. On error errmsg says what and where. */
int tl_config_load(tl_config *c, const char *path, char *errmsg, size_t errlen);
/* Parses "host:port" into the listen fields. */
int tl_config_set_listen(tl_config *c, const char *hostport);
int tl_config_set_data(tl_config *c, const char *dir);

/* The configured site a write key belongs to; NULL when no configured site has it (in open
 * mode, n_sites == 0, the caller treats the key itself as the site). */
const tl_site *tl_config_site_for_key(const tl_config *c, const char *key, size_t len);
bool tl_config_has_site(const tl_config *c, const char *id, size_t len);
/* Whether unplanned events (no registered schema) are rejected for this site. */
bool tl_config_site_strict(const tl_config *c, const char *id, size_t len);

#endif
