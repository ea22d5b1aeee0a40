/*
 * ua — browser, OS, device and bot flag from a User-Agent header, and the cache that makes a
 * repeated agent cost one hash and one lookup.
 *
 * Parser. User agents are a pile of historical lies ("Mozilla/5.0 ... like Gecko ... Safari")
 * in which each browser appends its own token after the ones it imitates. So the rules are an
 * ordered list of substrings, most specific first: Edge's "edg/" before "chrome/", "crios/"
 * before "safari/", "; wv)" (Android WebView) before "chrome/", Safari last because everyone
 * claims to be Safari. All matching runs on an ASCII-lowercased copy of the first 1024 bytes,
 * which is where every token we know sits; no regular expressions, no allocation. One pass
 * first sets a 1024-bit filter of the agent's adjacent byte pairs, so the ~60 token searches
 * are mostly a single bit test and memmem runs only for tokens that may be there. Versions are
 * cut to the major number, or major.minor where the minor is what people talk about (Safari
 * 17.1, macOS 10.15, iOS 17.1, Samsung Internet 24.0). Known limits, by design of the agents
 * themselves: Windows 11 sends "Windows NT 10.0" (reported "10"); macOS is frozen at 10_15_7
 * in Safari and Chrome; iPadOS 13+ Safari sends the desktop Mac agent by default (reported
 * macOS/Desktop); Brave sends the plain Chrome agent (reported Chrome).
 *
 * Bots: a table of named crawlers and scripts (Googlebot, curl...) whose name becomes the
 * browser, then the generic substrings "bot" (not "cubot", a phone maker), "crawl", "spider"
 * and a few script libraries. An empty agent is not a bot: server-side Segment SDKs send
 * none, and their users are people.
 *
 * Cache (generic: enrich.c also keeps geo results in one). 2^k sets of two 64-byte entries,
 * one cache line each; for user agents:
 *
 *   +--------+------+-------------------------------------------------------------+
 *   | offset | size | field                                                       |
 *   +--------+------+-------------------------------------------------------------+
 *   |      0 |    4 | seq: seqlock counter, odd while a writer is inside, 0 = empty|
 *   |      8 |    8 | w[0] XXH3-64 of the whole agent                             |
 *   |     16 |    8 | w[1] agent length (low 32 bits), browser, os, device, bot   |
 *   |     24 |   16 | w[2..3] browser version, NUL-padded                         |
 *   |     40 |   16 | w[4..5] OS version, NUL-padded                              |
 *   +--------+------+-------------------------------------------------------------+
 *
 * An agent maps to set hash & mask and lives in either way. Readers load seq (acquire), copy
 * the words with relaxed atomic loads, fence (acquire) and reload seq; a changed or odd seq
 * means a torn copy, treated as a miss. A miss parses the agent and inserts it into way 0,
 * moving way 0's entry to way 1, so two agents that share a set both stay cached. Writers take
 * a way by moving its seq from even to odd with a CAS; a writer that loses the race does not
 * wait, it just leaves the entry uncached this time. Entries are identified by the 64-bit hash
 * plus the length: two different agents with the same 64-bit hash and length would share a
 * parse (probability about 2^-64 per pair). Nothing is ever freed before the cache is.
 *
 * Cost: a hit is an XXH3 over the agent (~10-20 ns for 130 bytes) plus one or two cache lines
 * read; a miss is a parse (about 1.2 us on the bench_enrich mix) plus two line writes.
 */
#include "enrich/enrich_int.h"

#include <stdatomic.h>
#include <string.h>

/* ---- names ---- */

enum {
    B_NONE,
    B_CHROME,
    B_CHROMIUM,
    B_EDGE,
    B_OPERA,
    B_OPERA_MINI,
    B_SAMSUNG,
    B_FIREFOX,
    B_SAFARI,
    B_MOBILE_SAFARI,
    B_CHROME_IOS,
    B_FIREFOX_IOS,
    B_EDGE_IOS,
    B_WEBVIEW,
    B_IE,
    B_YANDEX,
    B_VIVALDI,
    B_UC,
    B_DUCKDUCKGO,
    B_FACEBOOK,
    B_INSTAGRAM,
    B_HEADLESS,
    /* named bots */
    B_GOOGLEBOT,
    B_BINGBOT,
    B_DUCKDUCKBOT,
    B_BAIDUSPIDER,
    B_YANDEXBOT,
    B_AHREFSBOT,
    B_SEMRUSHBOT,
    B_FB_EXTERNALHIT,
    B_TWITTERBOT,
    B_SLACKBOT,
    B_CURL,
    B_WGET,
    B_PY_REQUESTS,
    B_GO_HTTP,
    B__COUNT
};

static const char *const BROWSER_NAMES[B__COUNT] = {
    [B_NONE] = "",
    [B_CHROME] = "Chrome",
    [B_CHROMIUM] = "Chromium",
    [B_EDGE] = "Microsoft Edge",
    [B_OPERA] = "Opera",
    [B_OPERA_MINI] = "Opera Mini",
    [B_SAMSUNG] = "Samsung Internet",
    [B_FIREFOX] = "Firefox",
    [B_SAFARI] = "Safari",
    [B_MOBILE_SAFARI] = "Mobile Safari",
    [B_CHROME_IOS] = "Chrome iOS",
    [B_FIREFOX_IOS] = "Firefox iOS",
    [B_EDGE_IOS] = "Microsoft Edge",
    [B_WEBVIEW] = "Android WebView",
    [B_IE] = "Internet Explorer",
    [B_YANDEX] = "Yandex Browser",
    [B_VIVALDI] = "Vivaldi",
    [B_UC] = "UC Browser",
    [B_DUCKDUCKGO] = "DuckDuckGo",
    [B_FACEBOOK] = "Facebook",
    [B_INSTAGRAM] = "Instagram",
    [B_HEADLESS] = "Headless Chrome",
    [B_GOOGLEBOT] = "Googlebot",
    [B_BINGBOT] = "Bingbot",
    [B_DUCKDUCKBOT] = "DuckDuckBot",
    [B_BAIDUSPIDER] = "Baiduspider",
    [B_YANDEXBOT] = "YandexBot",
    [B_AHREFSBOT] = "AhrefsBot",
    [B_SEMRUSHBOT] = "SemrushBot",
    [B_FB_EXTERNALHIT] = "facebookexternalhit",
    [B_TWITTERBOT] = "Twitterbot",
    [B_SLACKBOT] = "Slackbot",
    [B_CURL] = "curl",
    [B_WGET] = "Wget",
    [B_PY_REQUESTS] = "python-requests",
    [B_GO_HTTP] = "Go-http-client",
};

enum {
    O_NONE,
    O_WINDOWS,
    O_WINDOWS_PHONE,
    O_MACOS,
    O_IOS,
    O_IPADOS,
    O_ANDROID,
    O_LINUX,
    O_CHROME_OS,
    O_FREEBSD,
    O_OPENBSD,
    O__COUNT
};

static const char *const OS_NAMES[O__COUNT] = {
    [O_NONE] = "",           [O_WINDOWS] = "Windows", [O_WINDOWS_PHONE] = "Windows Phone",
    [O_MACOS] = "macOS",     [O_IOS] = "iOS",         [O_IPADOS] = "iPadOS",
    [O_ANDROID] = "Android", [O_LINUX] = "Linux",     [O_CHROME_OS] = "Chrome OS",
    [O_FREEBSD] = "FreeBSD", [O_OPENBSD] = "OpenBSD",
};

enum { D_NONE, D_DESKTOP, D_MOBILE, D_TABLET, D__COUNT };

static const char *const DEVICE_NAMES[D__COUNT] = {
    [D_NONE] = "", [D_DESKTOP] = "Desktop", [D_MOBILE] = "Mobile", [D_TABLET] = "Tablet"};

const char *tl_enrich__browser_name(unsigned id)
{
    return id < B__COUNT ? BROWSER_NAMES[id] : "";
}

const char *tl_enrich__os_name(unsigned id)
{
    return id < O__COUNT ? OS_NAMES[id] : "";
}

const char *tl_enrich__device_name(unsigned id)
{
    return id < D__COUNT ? DEVICE_NAMES[id] : "";
}

/* ---- parser ---- */

#define UA_SCAN 1024 /* bytes of the agent looked at */

typedef struct {
    const char *s; /* lowercased agent */
    size_t n;
    uint64_t pairs[16]; /* bigram filter: bit hash(c0, c1) set for every adjacent pair */
} lc_str;

static unsigned pair_bit(unsigned char a, unsigned char b)
{
    return ((unsigned)a * 31u + (unsigned)b) & 1023u;
}

/* Most of the ~60 tokens are absent from any one agent; the bigram filter answers "absent"
 * for almost all of them with one bit test, and memmem runs only for the rest. */
static const char *find(const lc_str *u, const char *needle)
{
    size_t n = strlen(needle);
    if (n >= 2) {
        unsigned bit = pair_bit((unsigned char)needle[0], (unsigned char)needle[1]);
        if (!(u->pairs[bit >> 6] >> (bit & 63) & 1))
            return NULL;
    }
    return memmem(u->s, u->n, needle, n);
}

/* The byte after `needle`, or NULL when the agent does not contain it. */
static const char *after(const lc_str *u, const char *needle)
{
    const char *p = find(u, needle);
    return p ? p + strlen(needle) : NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads up to `parts` numbers separated by '.' or '_' at p (each cut to 6 digits) and writes
 * them joined by '.' into out (TL_ENRICH__VERSION_CAP bytes, NUL-terminated). */
static void version_at(const char *p, const char *end, int parts, char *out)
{
    size_t o = 0;
    if (p) {
        for (int i = 0; i < parts && p < end && is_digit(*p); i++) {
            if (i)
                out[o++] = '.';
            int digits = 0;
            while (p < end && is_digit(*p)) {
                if (digits++ < 6)
                    out[o++] = *p;
                p++;
            }
            if (p + 1 < end && (*p == '.' || *p == '_') && is_digit(p[1]))
                p++;
            else
                break;
        }
    }
    out[o] = '\0';
}

typedef struct {
    const char *token;
    uint8_t id;
    uint8_t parts; /* version numbers kept: 1 = major, 2 = major.minor, 0 = none */
} rule;

/* Named bots: the name becomes the browser. Checked first. */
static const rule BOTS[] = {
    {"googlebot", B_GOOGLEBOT, 0},
    {"bingbot", B_BINGBOT, 0},
    {"duckduckbot", B_DUCKDUCKBOT, 0},
    {"baiduspider", B_BAIDUSPIDER, 0},
    {"yandexbot", B_YANDEXBOT, 0},
    {"ahrefsbot", B_AHREFSBOT, 0},
    {"semrushbot", B_SEMRUSHBOT, 0},
    {"facebookexternalhit", B_FB_EXTERNALHIT, 0},
    {"twitterbot", B_TWITTERBOT, 0},
    {"slackbot", B_SLACKBOT, 0},
    {"curl/", B_CURL, 0},
    {"wget/", B_WGET, 0},
    {"python-requests", B_PY_REQUESTS, 0},
    {"go-http-client", B_GO_HTTP, 0},
    {"headlesschrome/", B_HEADLESS, 1},
};

/* Substrings that mark an agent as automated without naming it. "bot" is handled apart. */
static const char *const BOT_WORDS[] = {
    "crawl",    "spider",     "slurp",   "python-urllib",   "python/",   "java/",
    "libwww",   "httpclient", "axios/",  "node-fetch",      "scrapy",    "phantomjs",
    "headless", "lighthouse", "pingdom", "facebookcatalog", "whatsapp/", "okhttp/",
};

/* Browsers whose token appears before the Android WebView check. */
static const rule BROWSERS_A[] = {
    {"edg/", B_EDGE, 1},
    {"edga/", B_EDGE, 1},
    {"edgios/", B_EDGE_IOS, 1},
    {"edge/", B_EDGE, 1},
    {"opr/", B_OPERA, 1},
    {"opt/", B_OPERA, 1},
    {"opera mini/", B_OPERA_MINI, 1},
    {"samsungbrowser/", B_SAMSUNG, 2},
    {"yabrowser/", B_YANDEX, 2},
    {"vivaldi/", B_VIVALDI, 1},
    {"ucbrowser/", B_UC, 1},
    {"crios/", B_CHROME_IOS, 1},
    {"fxios/", B_FIREFOX_IOS, 1},
    {"ddg/", B_DUCKDUCKGO, 1},
    {"duckduckgo/", B_DUCKDUCKGO, 1},
    {"fbav/", B_FACEBOOK, 1},
    {"instagram ", B_INSTAGRAM, 1},
};

/* ... and after it. */
static const rule BROWSERS_B[] = {
    {"chromium/", B_CHROMIUM, 1},
    {"chrome/", B_CHROME, 1},
    {"firefox/", B_FIREFOX, 1},
};

static bool generic_bot(const lc_str *u)
{
    const char *first = find(u, "bot");
    for (const char *p = first ? u->s : u->s + u->n, *end = u->s + u->n; p < end;) {
        const char *b = memmem(p, (size_t)(end - p), "bot", 3);
        if (!b)
            break;
        if (!(b >= u->s + 2 && b[-2] == 'c' && b[-1] == 'u')) /* "cubot" is a phone brand */
            return true;
        p = b + 3;
    }
    for (size_t i = 0; i < TL_ARRAY_LEN(BOT_WORDS); i++)
        if (find(u, BOT_WORDS[i]))
            return true;
    return false;
}

static void parse_browser(const lc_str *u, tl_enrich__ua *out)
{
    const char *end = u->s + u->n, *p;
    for (size_t i = 0; i < TL_ARRAY_LEN(BOTS); i++) {
        if ((p = after(u, BOTS[i].token)) != NULL) {
            out->browser = BOTS[i].id;
            out->bot = 1;
            version_at(p, end, BOTS[i].parts, out->browser_version);
            return;
        }
    }
    for (size_t i = 0; i < TL_ARRAY_LEN(BROWSERS_A); i++) {
        if ((p = after(u, BROWSERS_A[i].token)) != NULL) {
            out->browser = BROWSERS_A[i].id;
            version_at(p, end, BROWSERS_A[i].parts, out->browser_version);
            return;
        }
    }
    /* Android WebView: "; wv)" since Android 5, "Version/4.0 ... Chrome/" before that. */
    const char *chrome = after(u, "chrome/");
    if (chrome && find(u, "android") && (find(u, "; wv)") || find(u, "version/4.0"))) {
        out->browser = B_WEBVIEW;
        version_at(chrome, end, 1, out->browser_version);
        return;
    }
    for (size_t i = 0; i < TL_ARRAY_LEN(BROWSERS_B); i++) {
        if ((p = after(u, BROWSERS_B[i].token)) != NULL) {
            out->browser = BROWSERS_B[i].id;
            version_at(p, end, BROWSERS_B[i].parts, out->browser_version);
            return;
        }
    }
    if (find(u, "trident/") || find(u, "msie ")) {
        out->browser = B_IE;
        p = after(u, "rv:");
        version_at(p ? p : after(u, "msie "), end, 1, out->browser_version);
        return;
    }
    const char *version = after(u, "version/");
    if (find(u, "opera")) { /* Presto: "Opera/9.80 (...) Presto/2.12 Version/12.16" */
        out->browser = B_OPERA;
        version_at(version ? version : after(u, "opera/"), end, 1, out->browser_version);
        return;
    }
    if (find(u, "safari/") || (find(u, "applewebkit/") && version)) {
        bool mobile = find(u, "mobile/") || find(u, "iphone") || find(u, "ipad");
        out->browser = mobile ? B_MOBILE_SAFARI : B_SAFARI;
        version_at(version, end, 2, out->browser_version);
    }
}

static void windows_version(const char *p, const char *end, char *out)
{
    static const struct {
        const char *nt, *name;
    } map[] = {{"10.0", "10"},   {"6.3", "8.1"}, {"6.2", "8"}, {"6.1", "7"},
               {"6.0", "Vista"}, {"5.2", "XP"},  {"5.1", "XP"}};
    char nt[TL_ENRICH__VERSION_CAP];
    version_at(p, end, 2, nt);
    for (size_t i = 0; i < TL_ARRAY_LEN(map); i++) {
        if (strcmp(nt, map[i].nt) == 0) {
            size_t n = strlen(map[i].name);
            memcpy(out, map[i].name, n + 1);
            return;
        }
    }
    memcpy(out, nt, sizeof(nt));
}

static void parse_os(const lc_str *u, tl_enrich__ua *out)
{
    const char *end = u->s + u->n, *p;
    if (find(u, "windows phone")) {
        out->os = O_WINDOWS_PHONE;
        version_at(after(u, "windows phone os "), end, 2, out->os_version);
        if (!out->os_version[0])
            version_at(after(u, "windows phone "), end, 2, out->os_version);
    } else if ((p = after(u, "windows nt ")) != NULL) {
        out->os = O_WINDOWS;
        windows_version(p, end, out->os_version);
    } else if (find(u, "windows")) {
        out->os = O_WINDOWS;
    } else if (find(u, "ipad")) {
        out->os = O_IPADOS;
        version_at(after(u, "cpu os "), end, 2, out->os_version);
    } else if (find(u, "iphone") || find(u, "ipod")) {
        out->os = O_IOS;
        version_at(after(u, "iphone os "), end, 2, out->os_version);
    } else if (find(u, "cros ")) {
        out->os = O_CHROME_OS;
    } else if (find(u, "android")) {
        out->os = O_ANDROID;
        version_at(after(u, "android "), end, 2, out->os_version);
    } else if ((p = after(u, "mac os x ")) != NULL) {
        out->os = O_MACOS;
        version_at(p, end, 2, out->os_version);
    } else if (find(u, "macintosh") || find(u, "mac os x")) {
        out->os = O_MACOS;
    } else if (find(u, "freebsd")) {
        out->os = O_FREEBSD;
    } else if (find(u, "openbsd")) {
        out->os = O_OPENBSD;
    } else if (find(u, "linux") || find(u, "x11")) {
        out->os = O_LINUX;
    }
}

static uint8_t parse_device(const lc_str *u, const tl_enrich__ua *r)
{
    if (find(u, "ipad") || find(u, "tablet") || find(u, "kindle") || find(u, "silk/"))
        return D_TABLET;
    if (r->os == O_ANDROID)
        return find(u, "mobi") ? D_MOBILE : D_TABLET;
    if (find(u, "mobi") || find(u, "iphone") || find(u, "ipod") || r->os == O_WINDOWS_PHONE)
        return D_MOBILE;
    return D_DESKTOP;
}

void tl_enrich__ua_parse(const char *ua, size_t n, tl_enrich__ua *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0) {
        /* no agent at all: server-side SDKs (analytics-node, the mobile SDKs' server
         * relays) send none, so absence says nothing about bots; nothing is known */
        return;
    }
    char buf[UA_SCAN];
    size_t m = TL_MIN(n, sizeof(buf));
    for (size_t i = 0; i < m; i++) {
        char c = ua[i];
        buf[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
    lc_str u = {buf, m, {0}};
    for (size_t i = 0; i + 1 < m; i++) {
        unsigned bit = pair_bit((unsigned char)buf[i], (unsigned char)buf[i + 1]);
        u.pairs[bit >> 6] |= 1ull << (bit & 63);
    }
    parse_browser(&u, out);
    parse_os(&u, out);
    out->device = parse_device(&u, out);
    if (!out->bot && generic_bot(&u))
        out->bot = 1;
}

/* ---- cache ---- */

#define WORDS 6

typedef struct {
    _Atomic uint32_t seq;
    uint32_t unused;
    _Atomic uint64_t w[WORDS];
    uint64_t pad[8 - 1 - WORDS]; /* one entry per 64-byte line */
} slot;

struct tl_enrich__cache {
    void *mem; /* what tl_malloc returned; slots is it rounded up to 64 */
    slot *slots;
    uint64_t mask; /* sets - 1 */
};

_Static_assert(sizeof(slot) == 64, "a cache entry is one cache line");

int tl_enrich__cache_new(unsigned sets_log2, tl_enrich__cache **out)
{
    *out = NULL;
    if (sets_log2 > 24)
        return TL_EINVAL;
    size_t sets = (size_t)1 << sets_log2;
    tl_enrich__cache *c = tl_calloc(1, sizeof(*c));
    if (!c)
        return TL_ENOMEM;
    c->mem = tl_calloc(2 * sets + 1, sizeof(slot));
    if (!c->mem) {
        tl_free(c);
        return TL_ENOMEM;
    }
    c->slots = (slot *)(((uintptr_t)c->mem + 63) & ~(uintptr_t)63);
    c->mask = sets - 1;
    *out = c;
    return 0;
}

void tl_enrich__cache_free(tl_enrich__cache *c)
{
    if (!c)
        return;
    tl_free(c->mem);
    tl_free(c);
}

static void pack(uint64_t h, size_t n, const tl_enrich__ua *r, uint64_t w[WORDS])
{
    w[0] = h;
    w[1] = (uint64_t)(uint32_t)n | (uint64_t)r->browser << 32 | (uint64_t)r->os << 40 |
           (uint64_t)r->device << 48 | (uint64_t)r->bot << 56;
    memcpy(&w[2], r->browser_version, 16);
    memcpy(&w[4], r->os_version, 16);
}

static void unpack(const uint64_t w[WORDS], tl_enrich__ua *r)
{
    r->browser = (uint8_t)(w[1] >> 32);
    r->os = (uint8_t)(w[1] >> 40);
    r->device = (uint8_t)(w[1] >> 48);
    r->bot = (uint8_t)(w[1] >> 56);
    memcpy(r->browser_version, &w[2], 16);
    memcpy(r->os_version, &w[4], 16);
    r->browser_version[TL_ENRICH__VERSION_CAP - 1] = '\0';
    r->os_version[TL_ENRICH__VERSION_CAP - 1] = '\0';
}

/* Copies s's words into w; false when a writer was inside or came by meanwhile. */
static bool slot_read(slot *s, uint64_t w[WORDS])
{
    uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (s1 == 0 || (s1 & 1))
        return false;
    for (int i = 0; i < WORDS; i++)
        w[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&s->seq, memory_order_relaxed) == s1;
}

/* Takes s for writing; returns the even seq it had, or -1 when another writer holds it. */
static int64_t slot_lock(slot *s)
{
    uint32_t cur = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((cur & 1) || !atomic_compare_exchange_strong_explicit(
                         &s->seq, &cur, cur + 1, memory_order_acquire, memory_order_relaxed))
        return -1;
    atomic_thread_fence(memory_order_release);
    return cur;
}

static void slot_store(slot *s, const uint64_t w[WORDS])
{
    for (int i = 0; i < WORDS; i++)
        atomic_store_explicit(&s->w[i], w[i], memory_order_relaxed);
}

static void slot_unlock(slot *s, int64_t was)
{
    uint32_t next = (uint32_t)was + 2;
    atomic_store_explicit(&s->seq, next ? next : 2, memory_order_release);
}

bool tl_enrich__cache_get(tl_enrich__cache *c, uint64_t h, uint32_t len, uint64_t w[6])
{
    slot *set = &c->slots[2 * (h & c->mask)];
    for (int way = 0; way < 2; way++)
        if (slot_read(&set[way], w) && w[0] == h && (uint32_t)w[1] == len)
            return true;
    return false;
}

void tl_enrich__cache_put(tl_enrich__cache *c, const uint64_t w[6])
{
    slot *set = &c->slots[2 * (w[0] & c->mask)];
    /* Insert at way 0, demoting its entry to way 1. Writers never wait, so the order in which
     * the two ways are taken cannot deadlock; when way 1 is busy, way 0's entry is dropped. */
    int64_t s0 = slot_lock(&set[0]);
    if (s0 < 0)
        return;
    if (s0 != 0) {
        int64_t s1 = slot_lock(&set[1]);
        if (s1 >= 0) { /* we hold both: relaxed loads see way 0's words as last written */
            uint64_t old[WORDS];
            for (int i = 0; i < WORDS; i++)
                old[i] = atomic_load_explicit(&set[0].w[i], memory_order_relaxed);
            slot_store(&set[1], old);
            slot_unlock(&set[1], s1);
        }
    }
    slot_store(&set[0], w);
    slot_unlock(&set[0], s0);
}

bool tl_enrich__ua_get(tl_enrich__cache *c, const char *ua, size_t n, tl_enrich__ua *out)
{
    uint64_t h = tl_hash64(ua, n, 0), w[WORDS];
    if (tl_enrich__cache_get(c, h, (uint32_t)n, w)) {
        memset(out, 0, sizeof(*out));
        unpack(w, out);
        return true;
    }
    tl_enrich__ua_parse(ua, n, out);
    pack(h, n, out, w);
    tl_enrich__cache_put(c, w);
    return false;
}
