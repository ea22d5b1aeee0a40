/*
 * mmdb_writer — a minimal MaxMind DB (format 2.0) writer for tests: it maps a few networks to
 * GeoIP2-City-shaped records so the geo path can be checked against the real libmaxminddb
 * reader without shipping a database.
 *
 * The Makefile builds each test from one source file, so a test uses it with
 *   #include "tools/mmdb_writer.c"
 * (tests are compiled with -Itests). Not for production data: no record deduplication, no
 * pointers, networks must be inserted less specific first.
 */
#ifndef TL_TESTS_MMDB_WRITER_H
#define TL_TESTS_MMDB_WRITER_H

#include <stdint.h>

typedef struct mmdbw mmdbw;

/* What one network maps to. NULL strings are left out of the record. */
typedef struct {
    const char *country_iso;  /* "DE" */
    const char *country_name; /* English name */
    const char *region_iso;   /* first subdivision's ISO code, "BE" */
    const char *region_name;  /* its English name */
    const char *city_name;    /* English name */
    uint32_t geoname_id;      /* written for country and city */
    double latitude, longitude;
    uint16_t accuracy_radius;
} mmdbw_geo;

/* record_size: 24, 28 or 32. The tree is always IPv6 (IPv4 lives under ::/96). Returns 0 or a
 * negative TL_E* code. */
int mmdbw_new(unsigned record_size, mmdbw **out);
/* cidr: "203.0.113.0/24" or "2001:db8::/32". 0, TL_EINVAL or TL_ENOMEM. */
int mmdbw_insert(mmdbw *w, const char *cidr, const mmdbw_geo *g);
/* Writes the whole database file. 0, TL_ELIMIT (tree too big for the record size), TL_EIO. */
int mmdbw_write(mmdbw *w, const char *path, uint64_t build_epoch);
void mmdbw_free(mmdbw *w);

#endif
