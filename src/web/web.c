/*
 * web — lookup of the embedded dashboard files.
 *
 * The table comes from build/gen/web_assets.c, which tools/embed writes from
 * web/dist/ at build time (in the spirit of GoAccess's bin2c: the dashboard
 * travels inside the binary, so `tally serve` needs no files next to it).
 *
 * Invariants the generator guarantees and this file relies on:
 *   - tl_web__assets[0 .. tl_web__asset_count) is sorted by path in strcmp
 *     (bytewise) order, with no duplicates;
 *   - every path starts with '/', holds no "." or ".." segment and no '?';
 *   - data/len describe the file's exact bytes; etag is the quoted hex of a
 *     64-bit FNV-1a hash of those bytes.
 *
 * Cost: tl_web_find is a binary search, O(log n) comparisons of short
 * strings, no allocation; the dashboard has a handful of files.
 */
#include "web/web.h"

#include <string.h>

extern const tl_web_asset tl_web__assets[];
extern const size_t tl_web__asset_count;

/* Orders (a, alen) against the NUL-terminated b, bytewise, like strcmp. */
static int cmp_path(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);

    if (c != 0)
        return c;
    if (alen == blen)
        return 0;
    return alen < blen ? -1 : 1;
}

const tl_web_asset *tl_web_find(const char *path, size_t len)
{
    static const char index_path[] = "/index.html";
    size_t lo = 0;
    size_t hi = tl_web__asset_count;

    if (path == NULL)
        len = 0;
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '?' || path[i] == '#') {
            len = i;
            break;
        }
    }
    if (len == 0 || (len == 1 && path[0] == '/')) {
        path = index_path;
        len = sizeof(index_path) - 1;
    }

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_path(path, len, tl_web__assets[mid].path);

        if (c == 0)
            return &tl_web__assets[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t tl_web_count(void)
{
    return tl_web__asset_count;
}

const tl_web_asset *tl_web_at(size_t i)
{
    return i < tl_web__asset_count ? &tl_web__assets[i] : NULL;
}
