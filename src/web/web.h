/*
 * web — the dashboard's static files, compiled into the binary.
 *
 * At build time web/build.mjs writes the finished dashboard into web/dist/ and
 * tools/embed turns every file there into a generated C file (never committed)
 * that defines one table of tl_web_asset, sorted by path. This module only
 * looks files up in that table; serving them (status, headers, conditional
 * requests) is the HTTP layer's job.
 *
 * Everything here is read-only data with static storage duration: any thread
 * may call tl_web_find at any time, and the returned pointers never need to be
 * freed.
 */
#ifndef TL_WEB_H
#define TL_WEB_H

#include <stddef.h>

typedef struct {
    const char *path;         /* "/index.html", "/vendor/uplot.min.js": always starts with '/' */
    const char *content_type; /* full header value, e.g. "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
    /* Strong validator, already in its header form: a double-quoted hex string such as
     * "\"9c0e4b5f1a2d3c4e\"" (quotes included). Use it as the ETag header value as is and
     * compare it byte for byte with If-None-Match. It changes whenever the bytes change. */
    const char *etag;
} tl_web_asset;

/*
 * Finds the asset for a request path (path, len). "/" and "" mean "/index.html".
 * Anything from the first '?' or '#' on is ignored, so a cache-busting query
 * ("/app.js?v=1a2b") finds "/app.js". The match is exact and case-sensitive;
 * there is no directory listing and no fallback page.
 * Returns NULL when there is no such asset.
 */
const tl_web_asset *tl_web_find(const char *path, size_t len);

/* Number of embedded assets, and the i-th one in path order (NULL past the end).
 * For diagnostics and tests. */
size_t tl_web_count(void);
const tl_web_asset *tl_web_at(size_t i);

#endif /* TL_WEB_H */
