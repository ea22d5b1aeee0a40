/*
 * make_test_mmdb: writes the small MaxMind DB the integration tests point
 * `enrich.geoip_db` at (documentation address ranges only):
 *
 *   203.0.113.0/24   DE, Berlin (DE-BE)
 *   198.51.100.0/24  US, California (US-CA), San Francisco
 *   2001:db8::/32    FR
 *
 * Usage: make_test_mmdb OUT.mmdb
 */
#include "tools/mmdb_writer.c"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_test_mmdb OUT.mmdb\n");
        return 2;
    }
    static const struct {
        const char *cidr;
        mmdbw_geo geo;
    } nets[] = {
        {"203.0.113.0/24", {"DE", "Germany", "BE", "Berlin", "Berlin", 2950159, 52.52, 13.40, 20}},
        {"198.51.100.0/24",
         {"US", "United States", "CA", "California", "San Francisco", 5391959, 37.77, -122.42, 20}},
        {"2001:db8::/32", {"FR", "France", NULL, NULL, NULL, 3017382, 46.0, 2.0, 100}},
    };
    mmdbw *w;
    if (mmdbw_new(28, &w))
        return 1;
    int rc = 0;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0] && rc == 0; i++)
        rc = mmdbw_insert(w, nets[i].cidr, &nets[i].geo);
    if (rc == 0)
        rc = mmdbw_write(w, argv[1], 1700000000);
    mmdbw_free(w);
    if (rc) {
        fprintf(stderr, "make_test_mmdb: cannot write %s (%d)\n", argv[1], rc);
        return 1;
    }
    return 0;
}
