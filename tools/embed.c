/*
 * embed — turns a directory of built dashboard files into C source.
 *
 *   embed DIR > web_assets.c
 *
 * Why: `tally serve` must show its dashboard with nothing installed beside the
 * binary, so the files web/build.mjs leaves in web/dist/ are compiled in. This
 * is a bin2c in the spirit of GoAccess's src/bin2c.c, written for our table
 * shape (src/web/web.h). It is a build tool, not library code: it is compiled
 * on its own (no libtally, plain libc), prints to stdout and reports errors on
 * stderr with a non-zero exit, so make never keeps a half-written file.
 *
 * What it emits, for the regular files under DIR (recursively):
 *   - one `static const unsigned char tl_web__dN[]` array per file, the bytes
 *     as hex, 16 per line;
 *   - `const tl_web_asset tl_web__assets[]`: {path, content type, data, len,
 *     etag} per file, and `const size_t tl_web__asset_count`.
 *
 * Rules, which src/web/web.c relies on:
 *   - names starting with '.' (".built", ".DS_Store", hidden folders) are
 *     skipped; so is anything that is neither a regular file nor a folder;
 *   - a path is "/" + the path relative to DIR with '/' separators, made only
 *     of [A-Za-z0-9._-] segments (anything else is an error, so paths never
 *     need escaping and never contain "..", '?' or '#');
 *   - the table is sorted by path in strcmp order (tl_web_find binary-searches);
 *   - the content type comes from the extension (html, js, mjs, css, svg, png,
 *     ico, json, txt, map, woff2); unknown ones get application/octet-stream;
 *   - the ETag is the 64-bit FNV-1a hash of the bytes as 16 hex digits, in
 *     double quotes, i.e. the exact header value.
 *
 * The output depends only on the files' names and bytes (never on readdir
 * order, mtimes or DIR's own name), so the build is reproducible.
 * Cost: one pass over each file; output is ~6 bytes of C per input byte.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EMBED_MAX_DEPTH 16
#define EMBED_MAX_PATH  1024

typedef struct {
    char *rel; /* "/index.html" */
    char *fs;  /* DIR + rel, for reading */
} entry;

typedef struct {
    entry *v;
    size_t n;
    size_t cap;
} entry_list;

static void die(const char *what, const char *path)
{
    if (path != NULL && errno != 0)
        fprintf(stderr, "embed: %s: %s: %s\n", what, path, strerror(errno));
    else if (path != NULL)
        fprintf(stderr, "embed: %s: %s\n", what, path);
    else
        fprintf(stderr, "embed: %s\n", what);
    exit(1);
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    char *s;

    if (la + 1 + lb + 1 > EMBED_MAX_PATH) {
        errno = 0;
        die("path too long", a);
    }
    s = malloc(la + 1 + lb + 1);
    if (s == NULL)
        die("out of memory", NULL);
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int name_ok(const char *name)
{
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return name[0] != '\0';
}

static void push(entry_list *l, char *rel, char *fs)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        entry *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            die("out of memory", NULL);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].rel = rel;
    l->v[l->n].fs = fs;
    l->n++;
}

/* Collects the files under fs_dir; rel_dir is its path as served ("" for DIR itself). */
static void walk(entry_list *l, const char *fs_dir, const char *rel_dir, int depth)
{
    DIR *d;
    struct dirent *de;

    if (depth > EMBED_MAX_DEPTH) {
        errno = 0;
        die("folders nested too deep", fs_dir);
    }
    d = opendir(fs_dir);
    if (d == NULL)
        die("cannot open folder", fs_dir);
    for (;;) {
        struct stat st;
        char *fs;
        char *rel;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                die("cannot read folder", fs_dir);
            break;
        }
        if (de->d_name[0] == '.')
            continue;
        if (!name_ok(de->d_name)) {
            errno = 0;
            die("file name outside [A-Za-z0-9._-]", de->d_name);
        }
        fs = join(fs_dir, de->d_name);
        rel = join(rel_dir, de->d_name);
        if (stat(fs, &st) != 0)
            die("cannot stat", fs);
        if (S_ISDIR(st.st_mode)) {
            walk(l, fs, rel, depth + 1);
            free(fs);
            free(rel);
        } else if (S_ISREG(st.st_mode)) {
            push(l, rel, fs);
        } else {
            free(fs);
            free(rel);
        }
    }
    closedir(d);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->rel, ((const entry *)b)->rel);
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');

    if (dot == NULL || (slash != NULL && dot < slash))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/* FNV-1a, 64-bit (offset basis 14695981039346656037, prime 1099511628211). */
static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static unsigned char *read_all(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;

    if (f == NULL)
        die("cannot open", path);
    for (;;) {
        size_t got;

        if (cap - len < 65536) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (nb == NULL)
                die("out of memory", NULL);
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                die("cannot read", path);
            break;
        }
    }
    fclose(f);
    *len_out = len;
    return buf;
}

/* Writes the bytes as a C initializer, 16 per line, without printf per byte. */
static void emit_bytes(FILE *out, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char line[16 * 6 + 8];

    for (size_t i = 0; i < n; i += 16) {
        size_t k = 0;
        size_t end = n - i < 16 ? n - i : 16;

        line[k++] = ' ';
        line[k++] = ' ';
        line[k++] = ' ';
        line[k++] = ' ';
        for (size_t j = 0; j < end; j++) {
            unsigned char b = p[i + j];
            line[k++] = '0';
            line[k++] = 'x';
            line[k++] = hex[b >> 4];
            line[k++] = hex[b & 15];
            line[k++] = ',';
            if (j + 1 < end)
                line[k++] = ' ';
        }
        line[k++] = '\n';
        fwrite(line, 1, k, out);
    }
}

int main(int argc, char **argv)
{
    entry_list l = {0};
    FILE *out = stdout;

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: embed DIR > web_assets.c\n");
        return 2;
    }
    walk(&l, argv[1], "", 0);
    qsort(l.v, l.n, sizeof(l.v[0]), cmp_entry);

    fprintf(out, "/* Generated by tools/embed from the built dashboard. Do not edit. */\n"
                 "#include \"web/web.h\"\n\n"
                 "extern const tl_web_asset tl_web__assets[];\n"
                 "extern const size_t tl_web__asset_count;\n\n");

    char(*etags)[24] = calloc(l.n ? l.n : 1, sizeof(*etags));
    size_t *lens = calloc(l.n ? l.n : 1, sizeof(*lens));
    if (etags == NULL || lens == NULL)
        die("out of memory", NULL);

    for (size_t i = 0; i < l.n; i++) {
        size_t len;
        unsigned char *data = read_all(l.v[i].fs, &len);

        snprintf(etags[i], sizeof(etags[i]), "%016llx", (unsigned long long)fnv1a64(data, len));
        lens[i] = len;
        fprintf(out, "/* %s, %zu bytes */\nstatic const unsigned char tl_web__d%zu[%zu] = {\n",
                l.v[i].rel, len, i, len ? len : 1);
        if (len == 0)
            fputs("    0x00,\n", out);
        else
            emit_bytes(out, data, len);
        fputs("};\n\n", out);
        free(data);
    }

    /* A zero-length array is not C; an empty folder gets one unused zero row. */
    fprintf(out, "const tl_web_asset tl_web__assets[%zu] = {\n", l.n ? l.n : 1);
    for (size_t i = 0; i < l.n; i++) {
        fprintf(out, "    {\"%s\", \"%s\", tl_web__d%zu, %zu, \"\\\"%s\\\"\"},\n", l.v[i].rel,
                content_type(l.v[i].rel), i, lens[i], etags[i]);
    }
    if (l.n == 0)
        fputs("    {0},\n", out);
    fprintf(out, "};\nconst size_t tl_web__asset_count = %zu;\n", l.n);

    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].rel);
        free(l.v[i].fs);
    }
    free(l.v);
    free(etags);
    free(lens);

    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "embed: cannot write the output\n");
        return 1;
    }
    return 0;
}
