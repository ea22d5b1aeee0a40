/*
 * gen — synthetic but realistic Segment events, as a pure function of a PRNG.
 *
 * What it models. Each site has a pool of concurrently active visitors
 * (visitors_per_site). A call to tl_loadgen__gen_next() picks one visitor of
 * the site at random and advances its session by one event, so sessions of
 * many visitors interleave as they do on a real site:
 *
 *   landing page view  (external referrer: search, social, Hacker News, a
 *        |             newsletter or direct; UTM tags on some landing URLs,
 *        v             echoed in context.page.search/url and context.campaign)
 *   page views on /, /pricing, /blog/<slug>, /docs/<page>, /products/<id>...
 *        |   a product page is followed by "Product Viewed"; from there the
 *        |   funnel goes on with falling probability:
 *        |   Product Added (0.3) -> Checkout Started (0.5) -> Order Completed (0.6)
 *        v   (an identify with traits happens before checkout or at sign-up)
 *   session ends after 1-14 events (about a third bounce); the visitor is
 *   replaced by a new one or comes back later as a returning visitor.
 *
 * The site name decides the mix of pages: a name containing "blog" reads
 * mostly blog posts, "doc" mostly documentation, anything else is a shop.
 *
 * Faults, rolled per event: `invalid_frac` events are broken in one of four
 * ways the server must reject (no messageId, no anonymousId/userId, track
 * without event, unparseable timestamp); `dup_frac` events are the verbatim
 * text of one of the site's last DUP_RING valid events (a client retry);
 * `late_frac` events carry a timestamp 1-10 minutes before now.
 *
 * Identity. messageIds are UUID-shaped: 60 bits from id_salt and a 62-bit
 * counter, so they are unique within a generator and, with distinct salts,
 * across runs. anonymousIds and userIds come from the seeded PRNG, so the
 * same seed gives the same visitors (returning visitors across runs).
 *
 * Purity: nothing here reads a clock or global state; the caller passes
 * now_ms. The same cfg and the same sequence of calls give the same bytes.
 *
 * Cost: one event is ~0.8-1.2 KB of JSON built with a handful of appends;
 * memory is O(sites * (visitors_per_site + DUP_RING * event size)).
 */
#include "loadgen/gen.h"

#include <stdio.h>
#include <string.h>

#include "event/event.h"
#include "json/json.h"

#define DUP_RING       64
#define LIB_NAME       "tally-loadgen"
#define LIB_VERSION    "0.1.0"
#define FIRST_PRODUCT  1001
#define PRODUCT_COUNT  40
#define DEFAULT_ACTIVE 32

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tl_loadgen__rng_seed(tl_loadgen__rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tl_loadgen__rng_next(tl_loadgen__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tl_loadgen__rng_unit(tl_loadgen__rng *r)
{
    return (double)(tl_loadgen__rng_next(r) >> 11) * 0x1.0p-53;
}

uint32_t tl_loadgen__rng_below(tl_loadgen__rng *r, uint32_t n)
{
    /* Multiply-shift; the bias is below 2^-32 for the small n used here. */
    return (uint32_t)(((tl_loadgen__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static bool chance(tl_loadgen__rng *r, double p)
{
    return tl_loadgen__rng_unit(r) < p;
}

static size_t pick_weighted(tl_loadgen__rng *r, const uint16_t *w, size_t n)
{
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    uint32_t x = tl_loadgen__rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ---- the world: user agents, referrers, pages, people ---- */

typedef struct {
    const char *ua;
    uint16_t weight;
    uint8_t bot;
} agent;

static const agent AGENTS[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     30, 0},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     10, 0},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 6, 0},
    {"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 3, 0},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4.1 Safari/605.1.15",
     8, 0},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
     7, 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
     18, 0},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.82 Mobile Safari/537.36",
     14, 0},
    {"Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4.1 Mobile/15E148 Safari/604.1",
     3, 0},
    {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
     2, 0},
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 1, 1},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 1, 1},
};

typedef struct {
    const char *referrer;                               /* "" for direct */
    const char *utm_source, *utm_medium, *utm_campaign; /* NULL when the URL has no UTM */
    uint16_t weight;
} source;

static const source SOURCES[] = {
    {"", NULL, NULL, NULL, 30},
    {"https://www.google.com/", NULL, NULL, NULL, 28},
    {"https://www.bing.com/", NULL, NULL, NULL, 5},
    {"https://duckduckgo.com/", NULL, NULL, NULL, 4},
    {"https://t.co/", NULL, NULL, NULL, 3},
    {"https://x.com/", NULL, NULL, NULL, 1},
    {"https://www.facebook.com/", NULL, NULL, NULL, 5},
    {"https://www.reddit.com/r/programming/", NULL, NULL, NULL, 4},
    {"https://news.ycombinator.com/", NULL, NULL, NULL, 5},
    {"", "newsletter", "email", "monthly-digest", 6},
    {"https://mail.google.com/", "newsletter", "email", "spring-launch", 2},
    {"https://www.google.com/", "google", "cpc", "spring_sale", 5},
    {"https://t.co/", "twitter", "social", "launch-week", 2},
    {"https://www.linkedin.com/", "linkedin", "social", "launch-week", 1},
};

enum { FLAVOR_SHOP, FLAVOR_BLOG, FLAVOR_DOCS, FLAVOR__COUNT };

enum {
    PG_HOME,
    PG_PRICING,
    PG_ABOUT,
    PG_BLOG_INDEX,
    PG_BLOG_POST,
    PG_DOCS_INDEX,
    PG_DOCS_PAGE,
    PG_PRODUCTS,
    PG_PRODUCT,
    PG_CART,
    PG_CHECKOUT,
    PG_SIGNUP,
    PG_CONTACT,
    PG__COUNT
};

static const char *const PAGE_NAMES[PG__COUNT] = {
    "Home",     "Pricing", "About", "Blog",     "Blog Post", "Docs",    "Docs Page",
    "Products", "Product", "Cart",  "Checkout", "Sign Up",   "Contact",
};

/* Weights of each page kind per flavor; cart and checkout are reached only by the funnel. */
static const uint16_t PAGE_WEIGHTS[FLAVOR__COUNT][PG__COUNT] = {
    [FLAVOR_SHOP] = {20, 6, 2, 3, 5, 1, 1, 14, 40, 0, 0, 3, 1},
    [FLAVOR_BLOG] = {15, 3, 4, 14, 50, 2, 3, 0, 0, 0, 0, 5, 2},
    [FLAVOR_DOCS] = {10, 6, 1, 2, 4, 14, 55, 0, 0, 0, 0, 6, 1},
};

static const char *const BLOG_SLUGS[] = {
    "why-we-built-our-own-analytics",
    "event-time-vs-processing-time",
    "a-tour-of-the-storage-engine",
    "counting-unique-visitors-with-hyperloglog",
    "release-notes-2-0",
    "self-hosting-without-tears",
    "privacy-without-cookies",
    "postmortem-march-outage",
    "funnels-that-do-not-lie",
    "how-we-test-with-kill-9",
};

static const char *const DOCS_SLUGS[] = {
    "getting-started", "install",   "tracking-api", "sdk/javascript",      "sdk/node", "query-api",
    "funnels",         "retention", "faq",          "self-hosting/docker", "schemas",  "dashboard",
    "configuration",   "sql",
};

static const char *const LOCALES[] = {"en-US", "en-US", "en-US", "en-GB", "de-DE",
                                      "fr-FR", "es-ES", "pt-BR", "ja-JP", "nl-NL"};
static const char *const FIRST_NAMES[] = {"Ada",  "Grace", "Linus", "Ken",   "Barbara", "Edsger",
                                          "Anna", "Yuki",  "Omar",  "Priya", "Lars",    "Chloe"};
static const char *const LAST_NAMES[] = {"Lovelace", "Hopper",   "Torvalds", "Thompson",
                                         "Liskov",   "Dijkstra", "Schmidt",  "Tanaka",
                                         "Haddad",   "Sharma",   "Berg",     "Martin"};
static const char *const PLANS[] = {"free", "free", "free", "pro", "pro", "team"};
static const char *const BAD_TIMESTAMPS[] = {"yesterday", "2024-13-45T25:61:00Z", "not-a-date",
                                             "12/31/2024 10:00"};
static const char *const SEARCH_TERMS[] = {
    "install docker", "batch api", "funnel", "retention", "utm", "sql join", "sessions"};

/* ---- generator state ---- */

typedef struct {
    uint8_t kind; /* PG_* */
    uint16_t arg; /* slug index or product id */
} page;

typedef struct {
    char anon[40];
    char user[24]; /* "" until identified */
    uint8_t agent, locale, source, bot;
    uint8_t ip[4];
    int16_t left; /* events left in this session; 0 means start a new one */
    uint16_t step;
    uint8_t funnel;       /* 0 none, 1 viewed, 2 added, 3 checkout started */
    uint8_t pending_view; /* next event is "Product Viewed" */
    uint16_t product;
    uint16_t quantity;
    page cur, prev;
} visitor;

typedef struct {
    tl_buf text[DUP_RING];
    uint8_t type[DUP_RING];
    char mid[DUP_RING][40];
    uint32_t n;    /* filled slots */
    uint32_t next; /* slot written next */
} dup_ring;

typedef struct {
    const char *name;
    uint8_t flavor;
    visitor *vis;
    dup_ring ring;
} site_state;

struct tl_loadgen__gen {
    tl_loadgen__rng rng;
    tl_loadgen__gen_cfg cfg;
    uint32_t active;
    uint64_t id_hi; /* messageId prefix */
    uint64_t counter;
    site_state *sites;
    uint16_t site_weights[64];
};

/* A page's path written into b (no query string). */
static int page_path(const page *p, tl_buf *b)
{
    switch (p->kind) {
    case PG_HOME:
        return tl_buf_puts(b, "/");
    case PG_PRICING:
        return tl_buf_puts(b, "/pricing");
    case PG_ABOUT:
        return tl_buf_puts(b, "/about");
    case PG_BLOG_INDEX:
        return tl_buf_puts(b, "/blog");
    case PG_BLOG_POST:
        return tl_buf_printf(b, "/blog/%s", BLOG_SLUGS[p->arg]);
    case PG_DOCS_INDEX:
        return tl_buf_puts(b, "/docs");
    case PG_DOCS_PAGE:
        return tl_buf_printf(b, "/docs/%s", DOCS_SLUGS[p->arg]);
    case PG_PRODUCTS:
        return tl_buf_puts(b, "/products");
    case PG_PRODUCT:
        return tl_buf_printf(b, "/products/%u", (unsigned)p->arg);
    case PG_CART:
        return tl_buf_puts(b, "/cart");
    case PG_CHECKOUT:
        return tl_buf_puts(b, "/checkout");
    case PG_SIGNUP:
        return tl_buf_puts(b, "/signup");
    default:
        return tl_buf_puts(b, "/contact");
    }
}

static int page_title(const page *p, const char *site, tl_buf *b)
{
    switch (p->kind) {
    case PG_BLOG_POST:
        return tl_buf_printf(b, "%s | %s blog", BLOG_SLUGS[p->arg], site);
    case PG_DOCS_PAGE:
        return tl_buf_printf(b, "%s | %s docs", DOCS_SLUGS[p->arg], site);
    case PG_PRODUCT:
        return tl_buf_printf(b, "Product %u | %s", (unsigned)p->arg, site);
    default:
        return tl_buf_printf(b, "%s | %s", PAGE_NAMES[p->kind], site);
    }
}

static page random_page(tl_loadgen__gen *g, uint8_t flavor)
{
    page p;
    p.kind = (uint8_t)pick_weighted(&g->rng, PAGE_WEIGHTS[flavor], PG__COUNT);
    p.arg = 0;
    if (p.kind == PG_BLOG_POST)
        p.arg = (uint16_t)tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(BLOG_SLUGS));
    else if (p.kind == PG_DOCS_PAGE)
        p.arg = (uint16_t)tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(DOCS_SLUGS));
    else if (p.kind == PG_PRODUCT)
        p.arg = (uint16_t)(FIRST_PRODUCT + tl_loadgen__rng_below(&g->rng, PRODUCT_COUNT));
    return p;
}

/* A product's price in cents: fixed per product, 5.00-194.99. */
static uint32_t product_cents(uint16_t id)
{
    return 500 + (uint32_t)(id * 7919u) % 19000u;
}

static void new_visitor(tl_loadgen__gen *g, visitor *v)
{
    uint64_t a = tl_loadgen__rng_next(&g->rng), b = tl_loadgen__rng_next(&g->rng);
    memset(v, 0, sizeof(*v));
    snprintf(v->anon, sizeof(v->anon), "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffffu, (unsigned)a & 0xfffu,
             0x8000u | ((unsigned)(b >> 48) & 0x3fffu),
             (unsigned long long)(b & 0xffffffffffffULL));
    uint16_t w[TL_ARRAY_LEN(AGENTS)];
    for (size_t i = 0; i < TL_ARRAY_LEN(AGENTS); i++)
        w[i] = AGENTS[i].weight;
    v->agent = (uint8_t)pick_weighted(&g->rng, w, TL_ARRAY_LEN(AGENTS));
    v->bot = AGENTS[v->agent].bot;
    v->locale = (uint8_t)tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(LOCALES));
    /* Documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24. */
    static const uint8_t NETS[3][3] = {{192, 0, 2}, {198, 51, 100}, {203, 0, 113}};
    uint32_t n = tl_loadgen__rng_below(&g->rng, 3);
    memcpy(v->ip, NETS[n], 3);
    v->ip[3] = (uint8_t)(1 + tl_loadgen__rng_below(&g->rng, 254));
}

/* Begins a session: its length, its traffic source and its landing page. */
static void new_session(tl_loadgen__gen *g, site_state *s, visitor *v)
{
    if (chance(&g->rng, 0.35) || v->bot)
        v->left = 1;
    else
        v->left = (int16_t)(2 + tl_loadgen__rng_below(&g->rng, 13));
    if (v->bot) {
        v->source = 0;
    } else {
        uint16_t w[TL_ARRAY_LEN(SOURCES)];
        for (size_t i = 0; i < TL_ARRAY_LEN(SOURCES); i++)
            w[i] = SOURCES[i].weight;
        v->source = (uint8_t)pick_weighted(&g->rng, w, TL_ARRAY_LEN(SOURCES));
    }
    v->step = 0;
    v->funnel = 0;
    v->pending_view = 0;
    v->prev.kind = PG_HOME;
    v->prev.arg = 0;
    v->cur = random_page(g, s->flavor);
}

/* ---- JSON writing ---- */

static int put_key(tl_buf *b, const char *key)
{
    int rc = tl_json_write_string(b, key, strlen(key));
    return rc ? rc : tl_buf_putc(b, ':');
}

static int put_kv(tl_buf *b, const char *key, const char *val, size_t n)
{
    int rc = put_key(b, key);
    return rc ? rc : tl_json_write_string(b, val, n);
}

static int put_kvs(tl_buf *b, const char *key, const char *val)
{
    return put_kv(b, key, val, strlen(val));
}

/* What one event says, before it is written. */
typedef struct {
    int type;
    const char *event_name; /* track */
    int bad;
    int64_t ts_ms, sent_ms;
    char mid[40];
} ev_spec;

/* The page-describing object ({path, referrer, search, title, url}) for v's current page;
 * used both as page properties and as context.page. */
static int put_page_obj(tl_loadgen__gen *g, const site_state *s, const visitor *v, tl_buf *b,
                        tl_buf *scratch)
{
    const source *src = &SOURCES[v->source];
    bool landing = v->step == 0;
    bool utm = landing && src->utm_source != NULL;
    int rc;

    (void)g;
    tl_buf_reset(scratch);
    if ((rc = page_path(&v->cur, scratch)))
        return rc;
    size_t path_len = scratch->len;
    if ((rc = tl_buf_puts(b, "{")) || (rc = put_kv(b, "path", scratch->ptr, path_len)) ||
        (rc = tl_buf_putc(b, ',')))
        return rc;

    /* referrer: the outside source on the landing page, the previous page afterwards */
    if ((rc = put_key(b, "referrer")))
        return rc;
    if (landing) {
        rc = tl_json_write_string(b, src->referrer, strlen(src->referrer));
    } else {
        tl_buf ref;
        tl_buf_init(&ref);
        rc = tl_buf_printf(&ref, "https://%s", s->name);
        if (!rc)
            rc = page_path(&v->prev, &ref);
        if (!rc)
            rc = tl_json_write_string(b, ref.ptr, ref.len);
        tl_buf_deinit(&ref);
    }
    if (rc || (rc = tl_buf_putc(b, ',')))
        return rc;

    size_t search_at = scratch->len;
    if (utm && (rc = tl_buf_printf(scratch, "?utm_source=%s&utm_medium=%s&utm_campaign=%s",
                                   src->utm_source, src->utm_medium, src->utm_campaign)))
        return rc;
    if ((rc = put_kv(b, "search", scratch->ptr + search_at, scratch->len - search_at)) ||
        (rc = tl_buf_putc(b, ',')))
        return rc;

    size_t title_at = scratch->len;
    if ((rc = page_title(&v->cur, s->name, scratch)) ||
        (rc = put_kv(b, "title", scratch->ptr + title_at, scratch->len - title_at)) ||
        (rc = tl_buf_putc(b, ',')))
        return rc;

    /* url = "https://" site path search; built after the title so the scratch stays put */
    size_t url_at = scratch->len;
    /* reserve first: the append below copies from the buffer into itself */
    if ((rc = tl_buf_reserve(scratch, 16 + strlen(s->name) + title_at)) ||
        (rc = tl_buf_printf(scratch, "https://%s", s->name)) ||
        (rc = tl_buf_append(scratch, scratch->ptr, title_at)))
        return rc;
    if ((rc = put_kv(b, "url", scratch->ptr + url_at, scratch->len - url_at)) ||
        (rc = tl_buf_putc(b, '}')))
        return rc;
    return 0;
}

static int put_context(tl_loadgen__gen *g, const site_state *s, const visitor *v, tl_buf *b,
                       tl_buf *scratch)
{
    const source *src = &SOURCES[v->source];
    int rc;
    if ((rc = tl_buf_printf(b, "\"context\":{\"ip\":\"%u.%u.%u.%u\",", v->ip[0], v->ip[1], v->ip[2],
                            v->ip[3])) ||
        (rc = put_kvs(b, "userAgent", AGENTS[v->agent].ua)) || (rc = tl_buf_putc(b, ',')) ||
        (rc = put_kvs(b, "locale", LOCALES[v->locale])) || (rc = tl_buf_putc(b, ',')) ||
        (rc = put_key(b, "page")) || (rc = put_page_obj(g, s, v, b, scratch)))
        return rc;
    if (v->step == 0 && src->utm_source) {
        if ((rc = tl_buf_puts(b, ",\"campaign\":{")) ||
            (rc = put_kvs(b, "name", src->utm_campaign)) || (rc = tl_buf_putc(b, ',')) ||
            (rc = put_kvs(b, "source", src->utm_source)) || (rc = tl_buf_putc(b, ',')) ||
            (rc = put_kvs(b, "medium", src->utm_medium)) || (rc = tl_buf_putc(b, '}')))
            return rc;
    }
    return tl_buf_puts(b,
                       ",\"library\":{\"name\":\"" LIB_NAME "\",\"version\":\"" LIB_VERSION "\"}}");
}

static int put_money(tl_buf *b, const char *key, uint32_t cents)
{
    int rc = put_key(b, key);
    return rc ? rc : tl_buf_printf(b, "%u.%02u", cents / 100, cents % 100);
}

static int put_track_props(tl_loadgen__gen *g, const site_state *s, const visitor *v,
                           const char *name, tl_buf *b)
{
    int rc;
    if ((rc = tl_buf_puts(b, "\"properties\":{")))
        return rc;
    if (strcmp(name, "Product Viewed") == 0 || strcmp(name, "Product Added") == 0 ||
        strcmp(name, "Checkout Started") == 0 || strcmp(name, "Order Completed") == 0) {
        uint32_t cents = product_cents(v->product);
        const char *currency = v->locale == 4 || v->locale == 5 || v->locale == 6 ? "EUR" : "USD";
        if ((rc = tl_buf_printf(b, "\"product_id\":\"p-%u\",", (unsigned)v->product)) ||
            (rc = put_money(b, "price", cents)) || (rc = tl_buf_putc(b, ',')) ||
            (rc = put_kvs(b, "currency", currency)))
            return rc;
        if (strcmp(name, "Product Viewed") != 0 &&
            (rc = tl_buf_printf(b, ",\"quantity\":%u", (unsigned)v->quantity)))
            return rc;
        if (strcmp(name, "Order Completed") == 0) {
            uint64_t oid = tl_loadgen__rng_next(&g->rng);
            if ((rc = tl_buf_printf(b, ",\"order_id\":\"o-%012llx\",",
                                    (unsigned long long)(oid & 0xffffffffffffULL))) ||
                (rc = put_money(b, "revenue", cents * v->quantity)))
                return rc;
        }
    } else if (strcmp(name, "Docs Searched") == 0) {
        const char *q = SEARCH_TERMS[tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(SEARCH_TERMS))];
        if ((rc = put_kvs(b, "query", q)))
            return rc;
    } else if (strcmp(name, "Newsletter Subscribed") == 0) {
        if ((rc = put_kvs(b, "list", s->flavor == FLAVOR_BLOG ? "blog" : "product-news")))
            return rc;
    } else {
        if ((rc = put_kvs(b, "location", "header")))
            return rc;
    }
    return tl_buf_putc(b, '}');
}

static int put_traits(tl_loadgen__gen *g, const visitor *v, int64_t now_ms, tl_buf *b)
{
    const char *first = FIRST_NAMES[tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(FIRST_NAMES))];
    const char *last = LAST_NAMES[tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(LAST_NAMES))];
    const char *plan = PLANS[tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(PLANS))];
    char created[32];
    tl_time_format(now_ms - (int64_t)tl_loadgen__rng_below(&g->rng, 400) * 86400000, created);
    int rc;
    if ((rc = tl_buf_printf(b, "\"traits\":{\"email\":\"%s@example.com\",", v->user)) ||
        (rc = tl_buf_printf(b, "\"name\":\"%s %s\",", first, last)) ||
        (rc = put_kvs(b, "plan", plan)) || (rc = tl_buf_putc(b, ',')) ||
        (rc = put_kvs(b, "createdAt", created)) || (rc = tl_buf_putc(b, '}')))
        return rc;
    return 0;
}

static int write_event(tl_loadgen__gen *g, const site_state *s, const visitor *v, const ev_spec *e,
                       tl_buf *b, tl_buf *scratch)
{
    int rc;
    const char *tname = e->type == TL_EV_TRACK  ? "track"
                        : e->type == TL_EV_PAGE ? "page"
                                                : "identify";
    if ((rc = tl_buf_printf(b, "{\"type\":\"%s\",", tname)))
        return rc;
    if (e->bad != TL_LOADGEN__BAD_NO_MESSAGE_ID &&
        ((rc = put_kvs(b, "messageId", e->mid)) || (rc = tl_buf_putc(b, ','))))
        return rc;
    if (e->bad != TL_LOADGEN__BAD_NO_IDENTITY) {
        if ((rc = put_kvs(b, "anonymousId", v->anon)) || (rc = tl_buf_putc(b, ',')))
            return rc;
        if (v->user[0] && ((rc = put_kvs(b, "userId", v->user)) || (rc = tl_buf_putc(b, ','))))
            return rc;
    }
    if (e->type == TL_EV_TRACK) {
        if (e->bad != TL_LOADGEN__BAD_NO_EVENT &&
            ((rc = put_kvs(b, "event", e->event_name)) || (rc = tl_buf_putc(b, ','))))
            return rc;
        if ((rc = put_track_props(g, s, v, e->event_name, b)) || (rc = tl_buf_putc(b, ',')))
            return rc;
    } else if (e->type == TL_EV_PAGE) {
        if ((rc = put_kvs(b, "name", PAGE_NAMES[v->cur.kind])) ||
            (rc = tl_buf_puts(b, ",\"properties\":")) || (rc = put_page_obj(g, s, v, b, scratch)) ||
            (rc = tl_buf_putc(b, ',')))
            return rc;
    } else {
        if ((rc = put_traits(g, v, e->ts_ms, b)) || (rc = tl_buf_putc(b, ',')))
            return rc;
    }
    if ((rc = put_context(g, s, v, b, scratch)) || (rc = tl_buf_putc(b, ',')))
        return rc;
    if (e->bad == TL_LOADGEN__BAD_TIMESTAMP) {
        const char *t =
            BAD_TIMESTAMPS[tl_loadgen__rng_below(&g->rng, TL_ARRAY_LEN(BAD_TIMESTAMPS))];
        rc = put_kvs(b, "timestamp", t);
    } else {
        char ts[32];
        size_t n = tl_time_format(e->ts_ms, ts);
        rc = put_kv(b, "timestamp", ts, n);
    }
    if (rc)
        return rc;
    char sent[32];
    size_t n = tl_time_format(e->sent_ms, sent);
    if ((rc = tl_buf_putc(b, ',')) || (rc = put_kv(b, "sentAt", sent, n)) ||
        (rc = tl_buf_putc(b, '}')))
        return rc;
    return 0;
}

/* Decides the visitor's next event and moves its session on. Sets e->type, e->event_name. */
static void advance(tl_loadgen__gen *g, site_state *s, visitor *v, ev_spec *e)
{
    if (v->left <= 0)
        new_session(g, s, v);
    else
        v->step++;
    v->left--;

    if (v->step == 0 || v->bot) {
        e->type = TL_EV_PAGE;
        if (v->step > 0) {
            v->prev = v->cur;
            v->cur = random_page(g, s->flavor);
        }
        return;
    }
    if (v->pending_view) {
        v->pending_view = 0;
        v->funnel = 1;
        v->quantity =
            (uint16_t)(1 + (chance(&g->rng, 0.2) ? tl_loadgen__rng_below(&g->rng, 3) : 0));
        e->type = TL_EV_TRACK;
        e->event_name = "Product Viewed";
        return;
    }
    if (v->funnel == 1 && chance(&g->rng, 0.3)) {
        v->funnel = 2;
        e->type = TL_EV_TRACK;
        e->event_name = "Product Added";
        return;
    }
    if (v->funnel == 2 && !v->user[0] && chance(&g->rng, 0.5)) {
        /* signs in before checking out; the funnel continues on the next event */
        snprintf(v->user, sizeof(v->user), "user_%08x",
                 (unsigned)(tl_loadgen__rng_next(&g->rng) >> 32));
        e->type = TL_EV_IDENTIFY;
        return;
    }
    if (v->funnel == 2 && chance(&g->rng, 0.5)) {
        v->funnel = 3;
        v->prev = v->cur;
        v->cur.kind = PG_CHECKOUT;
        v->cur.arg = 0;
        e->type = TL_EV_TRACK;
        e->event_name = "Checkout Started";
        return;
    }
    if (v->funnel == 3 && chance(&g->rng, 0.6)) {
        v->funnel = 0;
        e->type = TL_EV_TRACK;
        e->event_name = "Order Completed";
        return;
    }
    v->funnel = 0;
    if (!v->user[0] && chance(&g->rng, 0.04)) {
        snprintf(v->user, sizeof(v->user), "user_%08x",
                 (unsigned)(tl_loadgen__rng_next(&g->rng) >> 32));
        e->type = TL_EV_IDENTIFY;
        return;
    }
    if (chance(&g->rng, 0.06)) {
        e->type = TL_EV_TRACK;
        e->event_name = s->flavor == FLAVOR_DOCS   ? "Docs Searched"
                        : s->flavor == FLAVOR_BLOG ? "Newsletter Subscribed"
                                                   : "Signup Clicked";
        return;
    }
    e->type = TL_EV_PAGE;
    v->prev = v->cur;
    v->cur = random_page(g, s->flavor);
    if (v->cur.kind == PG_PRODUCT) {
        v->product = v->cur.arg;
        v->pending_view = chance(&g->rng, 0.9);
    }
}

static void next_message_id(tl_loadgen__gen *g, char out[40])
{
    uint64_t hi = g->id_hi, c = g->counter++;
    snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)(hi >> 16) & 0xffffu, (unsigned)(hi >> 4) & 0xfffu,
             0x8000u | ((unsigned)(c >> 48) & 0x3fffu),
             (unsigned long long)(c & 0xffffffffffffULL));
}

static int ring_push(dup_ring *r, const char *p, size_t n, uint8_t type, const char *mid)
{
    tl_buf *t = &r->text[r->next];
    tl_buf_reset(t);
    int rc = tl_buf_append(t, p, n);
    if (rc)
        return rc;
    r->type[r->next] = type;
    memcpy(r->mid[r->next], mid, 40);
    r->next = (r->next + 1) % DUP_RING;
    if (r->n < DUP_RING)
        r->n++;
    return 0;
}

int tl_loadgen__gen_next(tl_loadgen__gen *g, size_t site, int64_t now_ms, tl_buf *out,
                         tl_loadgen__event_info *info)
{
    if (site >= g->cfg.n_sites)
        return TL_EINVAL;
    site_state *s = &g->sites[site];
    memset(info, 0, sizeof(*info));

    double roll = tl_loadgen__rng_unit(&g->rng);
    if (roll < g->cfg.dup_frac && s->ring.n > 0) {
        uint32_t i = tl_loadgen__rng_below(&g->rng, s->ring.n);
        info->kind = TL_LOADGEN__DUP;
        info->type = s->ring.type[i];
        memcpy(info->message_id, s->ring.mid[i], 40);
        return tl_buf_append(out, s->ring.text[i].ptr, s->ring.text[i].len);
    }

    visitor *v = &s->vis[tl_loadgen__rng_below(&g->rng, g->active)];
    ev_spec e;
    memset(&e, 0, sizeof(e));
    e.sent_ms = now_ms;
    e.ts_ms = now_ms - 1 - (int64_t)tl_loadgen__rng_below(&g->rng, 20);

    if (roll >= g->cfg.dup_frac && roll < g->cfg.dup_frac + g->cfg.invalid_frac) {
        /* A broken event from this visitor; its session does not move on. */
        e.bad = 1 + (int)tl_loadgen__rng_below(&g->rng, TL_LOADGEN__BAD__COUNT - 1);
        e.type = TL_EV_TRACK;
        e.event_name = "Button Clicked";
        info->kind = TL_LOADGEN__INVALID;
        info->bad = (uint8_t)e.bad;
    } else {
        advance(g, s, v, &e);
        double late_lo = g->cfg.dup_frac + g->cfg.invalid_frac;
        if (roll >= late_lo && roll < late_lo + g->cfg.late_frac) {
            info->kind = TL_LOADGEN__LATE;
            e.ts_ms = now_ms - 60000 - (int64_t)tl_loadgen__rng_below(&g->rng, 540000);
        }
    }
    if (e.bad != TL_LOADGEN__BAD_NO_MESSAGE_ID) {
        next_message_id(g, e.mid);
        memcpy(info->message_id, e.mid, sizeof(e.mid));
    }
    info->type = (uint8_t)e.type;
    info->bot = v->bot;

    size_t start = out->len;
    tl_buf scratch;
    tl_buf_init(&scratch);
    int rc = write_event(g, s, v, &e, out, &scratch);
    tl_buf_deinit(&scratch);
    if (rc)
        return rc;
    if (info->kind != TL_LOADGEN__INVALID)
        rc = ring_push(&s->ring, out->ptr + start, out->len - start, info->type, e.mid);
    /* A session ends when its events run out: most visitors leave for good, some return. */
    if (info->kind != TL_LOADGEN__INVALID && v->left <= 0 && !chance(&g->rng, 0.25))
        new_visitor(g, v);
    return rc;
}

size_t tl_loadgen__gen_pick_site(tl_loadgen__gen *g)
{
    return pick_weighted(&g->rng, g->site_weights, g->cfg.n_sites);
}

const char *tl_loadgen__type_path(int type)
{
    switch (type) {
    case TL_EV_TRACK:
        return "track";
    case TL_EV_PAGE:
        return "page";
    case TL_EV_IDENTIFY:
        return "identify";
    default:
        return NULL;
    }
}

static bool frac_ok(double f)
{
    return f >= 0 && f <= 1;
}

int tl_loadgen__gen_new(const tl_loadgen__gen_cfg *cfg, tl_loadgen__gen **out)
{
    *out = NULL;
    if (!cfg->sites || cfg->n_sites == 0 ||
        cfg->n_sites > TL_ARRAY_LEN(((tl_loadgen__gen *)0)->site_weights) ||
        !frac_ok(cfg->late_frac) || !frac_ok(cfg->dup_frac) || !frac_ok(cfg->invalid_frac) ||
        cfg->late_frac + cfg->dup_frac + cfg->invalid_frac > 1)
        return TL_EINVAL;
    for (size_t i = 0; i < cfg->n_sites; i++)
        if (!cfg->sites[i] || !cfg->sites[i][0])
            return TL_EINVAL;

    tl_loadgen__gen *g = tl_calloc(1, sizeof(*g));
    if (!g)
        return TL_ENOMEM;
    g->cfg = *cfg;
    g->active = cfg->visitors_per_site ? cfg->visitors_per_site : DEFAULT_ACTIVE;
    tl_loadgen__rng_seed(&g->rng, cfg->seed);
    uint64_t salt = cfg->id_salt;
    g->id_hi = splitmix64(&salt);
    g->sites = tl_calloc(cfg->n_sites, sizeof(*g->sites));
    if (!g->sites)
        goto fail;
    for (size_t i = 0; i < cfg->n_sites; i++) {
        site_state *s = &g->sites[i];
        s->name = cfg->sites[i];
        s->flavor = strstr(s->name, "blog")  ? FLAVOR_BLOG
                    : strstr(s->name, "doc") ? FLAVOR_DOCS
                                             : FLAVOR_SHOP;
        for (size_t k = 0; k < DUP_RING; k++)
            tl_buf_init(&s->ring.text[k]);
        s->vis = tl_calloc(g->active, sizeof(*s->vis));
        if (!s->vis)
            goto fail;
        for (uint32_t k = 0; k < g->active; k++)
            new_visitor(g, &s->vis[k]);
        g->site_weights[i] = (uint16_t)(600 / (i + 1));
    }
    *out = g;
    return 0;
fail:
    tl_loadgen__gen_free(g);
    return TL_ENOMEM;
}

void tl_loadgen__gen_free(tl_loadgen__gen *g)
{
    if (!g)
        return;
    if (g->sites) {
        for (size_t i = 0; i < g->cfg.n_sites; i++) {
            for (size_t k = 0; k < DUP_RING; k++)
                tl_buf_deinit(&g->sites[i].ring.text[k]);
            tl_free(g->sites[i].vis);
        }
        tl_free(g->sites);
    }
    tl_free(g);
}
