/*
 * mmdb_writer — writes a MaxMind DB file (binary format 2.0) for tests. Our own code, written
 * from the published format description.
 *
 * File layout:
 *
 *   +-------------------------+---------------------------------------------------------+
 *   | search tree             | node_count nodes of two records each (left = bit 0,     |
 *   |                         | right = bit 1), record_size bits per record, big-endian  |
 *   | 16 zero bytes           | data section separator                                   |
 *   | data section            | one encoded map per inserted network                     |
 *   | "\xAB\xCD\xEFMaxMind.com" | metadata marker (the reader looks for its last copy)   |
 *   | metadata                | one encoded map                                          |
 *   +-------------------------+---------------------------------------------------------+
 *
 * A record's value v means: v < node_count, go to node v; v == node_count, no data;
 * v > node_count, the data at data-section offset v - node_count - 16. Node sizes:
 *
 *   24-bit: | left 24 BE | right 24 BE |                                    6 bytes
 *   28-bit: | left low 24 | left high 4 << 4 , right high 4 | right low 24 | 7 bytes
 *   32-bit: | left 32 BE | right 32 BE |                                    8 bytes
 *
 * The tree is IPv6 (ip_version 6); an IPv4 network a.b.c.d/n is stored at ::a.b.c.d/(96+n),
 * which is where libmaxminddb starts IPv4 lookups (96 left turns from the root).
 *
 * Data encoding: a control byte whose top 3 bits are the type (0 = extended: the next byte is
 * type - 7) and whose low 5 bits are the size (< 29 literal; 29, 30, 31: one, two or three
 * more bytes after the type bytes hold size - 29, size - 285, size - 65821). Types used: 2 utf8
 * string, 3 double (8 bytes BE), 5 uint16, 6 uint32, 7 map (size = pairs, then key/value
 * pairs), 9 uint64, 11 array. Unsigned integers take as few big-endian bytes as their value
 * needs (0 takes none).
 */
#include "mmdb_writer.h"

#include "base/base.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_EMPTY, R_NODE, R_DATA };

typedef struct {
    uint32_t v[2];
    uint8_t kind[2];
} mmdbw_node;

struct mmdbw {
    unsigned record_size;
    mmdbw_node *nodes;
    size_t n_nodes, cap_nodes;
    tl_buf data;
};

enum {
    T_EXT = 0,
    T_PTR = 1,
    T_UTF8 = 2,
    T_DOUBLE = 3,
    T_U16 = 5,
    T_U32 = 6,
    T_MAP = 7,
    T_U64 = 9,
    T_ARRAY = 11
};

static int mmdbw_ctrl(tl_buf *b, unsigned type, size_t size)
{
    uint8_t out[6];
    size_t n = 0;
    uint8_t first = (uint8_t)((type <= 7 ? type : T_EXT) << 5);
    size_t extra_n = 0;
    uint32_t extra = 0;
    if (size < 29) {
        first |= (uint8_t)size;
    } else if (size < 285) {
        first |= 29;
        extra = (uint32_t)(size - 29);
        extra_n = 1;
    } else if (size < 65821) {
        first |= 30;
        extra = (uint32_t)(size - 285);
        extra_n = 2;
    } else {
        first |= 31;
        extra = (uint32_t)(size - 65821);
        extra_n = 3;
    }
    out[n++] = first;
    if (type > 7)
        out[n++] = (uint8_t)(type - 7);
    for (size_t i = extra_n; i > 0; i--)
        out[n++] = (uint8_t)(extra >> (8 * (i - 1)));
    return tl_buf_append(b, out, n);
}

static int mmdbw_str(tl_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rc = mmdbw_ctrl(b, T_UTF8, n);
    return rc ? rc : tl_buf_append(b, s, n);
}

static int mmdbw_uint(tl_buf *b, unsigned type, uint64_t v)
{
    uint8_t be[8];
    size_t n = 0;
    for (uint64_t x = v; x; x >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    int rc = mmdbw_ctrl(b, type, n);
    return rc ? rc : tl_buf_append(b, be, n);
}

static int mmdbw_double(tl_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(bits >> (8 * (7 - i)));
    int rc = mmdbw_ctrl(b, T_DOUBLE, 8);
    return rc ? rc : tl_buf_append(b, be, 8);
}

/* {"names": {"en": name}} members, used by country, city and subdivisions. */
static int mmdbw_names(tl_buf *b, const char *name)
{
    int rc = mmdbw_str(b, "names");
    rc = rc ? rc : mmdbw_ctrl(b, T_MAP, 1);
    rc = rc ? rc : mmdbw_str(b, "en");
    return rc ? rc : mmdbw_str(b, name);
}

static int mmdbw_record(tl_buf *b, const mmdbw_geo *g)
{
    int rc = mmdbw_ctrl(b, T_MAP,
                        (g->city_name ? 1u : 0u) + (g->country_iso ? 1u : 0u) + 1u +
                            (g->region_iso || g->region_name ? 1u : 0u));
    if (!rc && g->city_name) {
        rc = mmdbw_str(b, "city");
        rc = rc ? rc : mmdbw_ctrl(b, T_MAP, 2);
        rc = rc ? rc : mmdbw_str(b, "geoname_id");
        rc = rc ? rc : mmdbw_uint(b, T_U32, g->geoname_id + 1);
        rc = rc ? rc : mmdbw_names(b, g->city_name);
    }
    if (!rc && g->country_iso) {
        rc = mmdbw_str(b, "country");
        rc = rc ? rc : mmdbw_ctrl(b, T_MAP, g->country_name ? 3 : 2);
        rc = rc ? rc : mmdbw_str(b, "geoname_id");
        rc = rc ? rc : mmdbw_uint(b, T_U32, g->geoname_id);
        rc = rc ? rc : mmdbw_str(b, "iso_code");
        rc = rc ? rc : mmdbw_str(b, g->country_iso);
        if (!rc && g->country_name)
            rc = mmdbw_names(b, g->country_name);
    }
    if (!rc) {
        rc = mmdbw_str(b, "location");
        rc = rc ? rc : mmdbw_ctrl(b, T_MAP, 3);
        rc = rc ? rc : mmdbw_str(b, "accuracy_radius");
        rc = rc ? rc : mmdbw_uint(b, T_U16, g->accuracy_radius);
        rc = rc ? rc : mmdbw_str(b, "latitude");
        rc = rc ? rc : mmdbw_double(b, g->latitude);
        rc = rc ? rc : mmdbw_str(b, "longitude");
        rc = rc ? rc : mmdbw_double(b, g->longitude);
    }
    if (!rc && (g->region_iso || g->region_name)) {
        rc = mmdbw_str(b, "subdivisions");
        rc = rc ? rc : mmdbw_ctrl(b, T_ARRAY, 1);
        rc = rc ? rc : mmdbw_ctrl(b, T_MAP, (g->region_iso ? 1u : 0u) + (g->region_name ? 1u : 0u));
        if (!rc && g->region_iso) {
            rc = mmdbw_str(b, "iso_code");
            rc = rc ? rc : mmdbw_str(b, g->region_iso);
        }
        if (!rc && g->region_name)
            rc = mmdbw_names(b, g->region_name);
    }
    return rc;
}

static int mmdbw_add_node(mmdbw *w, uint32_t *idx)
{
    if (w->n_nodes == w->cap_nodes) {
        size_t cap = w->cap_nodes ? 2 * w->cap_nodes : 64;
        mmdbw_node *n = tl_realloc(w->nodes, cap * sizeof(*n));
        if (!n)
            return TL_ENOMEM;
        w->nodes = n;
        w->cap_nodes = cap;
    }
    memset(&w->nodes[w->n_nodes], 0, sizeof(mmdbw_node));
    *idx = (uint32_t)w->n_nodes++;
    return 0;
}

int mmdbw_new(unsigned record_size, mmdbw **out)
{
    *out = NULL;
    if (record_size != 24 && record_size != 28 && record_size != 32)
        return TL_EINVAL;
    mmdbw *w = tl_calloc(1, sizeof(*w));
    if (!w)
        return TL_ENOMEM;
    w->record_size = record_size;
    tl_buf_init(&w->data);
    uint32_t root;
    if (mmdbw_add_node(w, &root) < 0) {
        mmdbw_free(w);
        return TL_ENOMEM;
    }
    *out = w;
    return 0;
}

void mmdbw_free(mmdbw *w)
{
    if (!w)
        return;
    tl_free(w->nodes);
    tl_buf_deinit(&w->data);
    tl_free(w);
}

int mmdbw_insert(mmdbw *w, const char *cidr, const mmdbw_geo *g)
{
    char text[64];
    const char *slash = strchr(cidr, '/');
    if (!slash || (size_t)(slash - cidr) >= sizeof(text))
        return TL_EINVAL;
    memcpy(text, cidr, (size_t)(slash - cidr));
    text[slash - cidr] = '\0';
    char *end;
    long plen = strtol(slash + 1, &end, 10);
    uint8_t addr[16] = {0};
    if (inet_pton(AF_INET, text, addr + 12) == 1) {
        if (plen < 1 || plen > 32 || *end)
            return TL_EINVAL;
        plen += 96;
    } else if (inet_pton(AF_INET6, text, addr) == 1) {
        if (plen < 1 || plen > 128 || *end)
            return TL_EINVAL;
    } else {
        return TL_EINVAL;
    }

    uint32_t off = (uint32_t)w->data.len;
    int rc = mmdbw_record(&w->data, g);
    if (rc < 0)
        return rc;

    uint32_t node = 0;
    for (long i = 0; i < plen; i++) {
        unsigned bit = (addr[i / 8] >> (7 - i % 8)) & 1u;
        if (i == plen - 1) {
            w->nodes[node].kind[bit] = R_DATA;
            w->nodes[node].v[bit] = off;
            break;
        }
        if (w->nodes[node].kind[bit] == R_NODE) {
            node = w->nodes[node].v[bit];
            continue;
        }
        uint32_t child;
        if ((rc = mmdbw_add_node(w, &child)) < 0)
            return rc;
        if (w->nodes[node].kind[bit] == R_DATA) { /* a wider network: both halves keep it */
            for (int k = 0; k < 2; k++) {
                w->nodes[child].kind[k] = R_DATA;
                w->nodes[child].v[k] = w->nodes[node].v[bit];
            }
        }
        w->nodes[node].kind[bit] = R_NODE;
        w->nodes[node].v[bit] = child;
        node = child;
    }
    return 0;
}

static int mmdbw_metadata(tl_buf *b, uint32_t node_count, unsigned record_size, uint64_t epoch)
{
    static const char marker[] = "\xAB\xCD\xEFMaxMind.com";
    int rc = tl_buf_append(b, marker, sizeof(marker) - 1);
    rc = rc ? rc : mmdbw_ctrl(b, T_MAP, 9);
    rc = rc ? rc : mmdbw_str(b, "binary_format_major_version");
    rc = rc ? rc : mmdbw_uint(b, T_U16, 2);
    rc = rc ? rc : mmdbw_str(b, "binary_format_minor_version");
    rc = rc ? rc : mmdbw_uint(b, T_U16, 0);
    rc = rc ? rc : mmdbw_str(b, "build_epoch");
    rc = rc ? rc : mmdbw_uint(b, T_U64, epoch);
    rc = rc ? rc : mmdbw_str(b, "database_type");
    rc = rc ? rc : mmdbw_str(b, "tally-Test-City");
    rc = rc ? rc : mmdbw_str(b, "description");
    rc = rc ? rc : mmdbw_ctrl(b, T_MAP, 1);
    rc = rc ? rc : mmdbw_str(b, "en");
    rc = rc ? rc : mmdbw_str(b, "tally test database (documentation address ranges only)");
    rc = rc ? rc : mmdbw_str(b, "ip_version");
    rc = rc ? rc : mmdbw_uint(b, T_U16, 6);
    rc = rc ? rc : mmdbw_str(b, "languages");
    rc = rc ? rc : mmdbw_ctrl(b, T_ARRAY, 1);
    rc = rc ? rc : mmdbw_str(b, "en");
    rc = rc ? rc : mmdbw_str(b, "node_count");
    rc = rc ? rc : mmdbw_uint(b, T_U32, node_count);
    rc = rc ? rc : mmdbw_str(b, "record_size");
    rc = rc ? rc : mmdbw_uint(b, T_U16, record_size);
    return rc;
}

int mmdbw_write(mmdbw *w, const char *path, uint64_t build_epoch)
{
    uint32_t n = (uint32_t)w->n_nodes;
    uint64_t max = w->record_size == 32 ? UINT32_MAX : (1ull << w->record_size) - 1;
    if ((uint64_t)n + 16 + w->data.len > max)
        return TL_ELIMIT;
    tl_buf out;
    tl_buf_init(&out);
    int rc = 0;
    for (size_t i = 0; i < w->n_nodes && !rc; i++) {
        uint32_t v[2];
        for (int k = 0; k < 2; k++) {
            const mmdbw_node *nd = &w->nodes[i];
            v[k] = nd->kind[k] == R_EMPTY  ? n
                   : nd->kind[k] == R_NODE ? nd->v[k]
                                           : n + 16 + nd->v[k];
        }
        uint8_t b[8];
        size_t len;
        if (w->record_size == 24) {
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 3; j++)
                    b[3 * k + j] = (uint8_t)(v[k] >> (8 * (2 - j)));
            len = 6;
        } else if (w->record_size == 28) {
            for (int j = 0; j < 3; j++) {
                b[j] = (uint8_t)(v[0] >> (8 * (2 - j)));
                b[4 + j] = (uint8_t)(v[1] >> (8 * (2 - j)));
            }
            b[3] = (uint8_t)(((v[0] >> 24) & 0x0F) << 4 | ((v[1] >> 24) & 0x0F));
            len = 7;
        } else {
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 4; j++)
                    b[4 * k + j] = (uint8_t)(v[k] >> (8 * (3 - j)));
            len = 8;
        }
        rc = tl_buf_append(&out, b, len);
    }
    static const uint8_t sep[16] = {0};
    rc = rc ? rc : tl_buf_append(&out, sep, sizeof(sep));
    rc = rc ? rc : tl_buf_append(&out, w->data.ptr ? w->data.ptr : "", w->data.len);
    rc = rc ? rc : mmdbw_metadata(&out, n, w->record_size, build_epoch);
    rc = rc ? rc : tl_write_file_atomic(path, out.ptr, out.len);
    tl_buf_deinit(&out);
    return rc;
}
