/*
 * referrer — where a visit came from: the source (a name such as "Google", "Hacker News",
 * "example.org" or "Direct / None") and the acquisition channel ("Organic Search", "Paid
 * Social", "Email", "Referral", "Direct", ...).
 *
 * Source, first match wins (the same order Plausible uses):
 *   1. utm_source, when present. A value naming a known source in any spelling ("google",
 *      "fb", "ig", "twitter", "google.com") becomes that source's name, so tagged and untagged
 *      visits from one place group together; anything else is kept verbatim.
 *   2. The referrer's host, lowercased, without "www." and port, when it is not the site's own
 *      hostname (an internal navigation is no acquisition). Known hosts map to names through
 *      RULES: exact host or any subdomain of it ("m.facebook.com" is Facebook), or for search
 *      engines with country domains any short public suffix ("google.co.uk", "yandex.com.tr":
 *      every label after the name is at most 3 letters). Unknown hosts are their own source.
 *   3. A click id in the page URL without a referrer: gclid is Google, msclkid is Bing.
 *   4. "Direct / None".
 *
 * Channel, from the source's category (search, social, email), utm_medium and click ids. The
 * order follows Google Analytics 4's default channel grouping, which Plausible copies:
 *   Paid Search    search source and (paid medium or gclid/msclkid in the URL)
 *   Paid Social    social source and paid medium
 *   Display        medium display, banner, expandable, interstitial or cpm
 *   Paid Other     any other paid medium
 *   Organic Search search source
 *   Organic Social social source, or medium social, social-network, social-media, sm
 *   Email          email source, or "email", "e-mail", "e_mail", "e mail" in source or medium,
 *                  or medium newsletter
 *   Affiliates     medium affiliate
 *   Referral       medium referral, app or link, or any other source than "Direct / None"
 *   Direct         nothing of the above
 * where a paid medium is one containing "cp" (cpc, cpm, cpv), or ppc, retargeting, paid*.
 *
 * Cost: a host copy on the stack and a linear scan of ~50 rules, a few hundred ns at most;
 * nothing is allocated unless a referrer host has capital letters.
 */
#include "enrich/enrich_int.h"

#include <string.h>
#include <strings.h>

enum { K_NONE, K_SEARCH, K_SOCIAL, K_EMAIL };

typedef struct {
    const char *host; /* exact host or parent domain; for any_tld the name label ("google") */
    const char *name;
    uint8_t host_len, name_len;
    uint8_t kind;
    uint8_t any_tld;
} source_rule;

#define RULE(host, name, kind, any)                                                                \
    {                                                                                              \
        host, name, sizeof(host) - 1, sizeof(name) - 1, kind, any                                  \
    }

/* Ordered: mail hosts before the search engines whose domains they sit under. */
static const source_rule RULES[] = {
    RULE("mail.google.com", "Gmail", K_EMAIL, 0),
    RULE("com.google.android.gm", "Gmail", K_EMAIL, 0), /* android-app:// referrer */
    RULE("outlook.live.com", "Outlook", K_EMAIL, 0),
    RULE("outlook.office.com", "Outlook", K_EMAIL, 0),
    RULE("outlook.office365.com", "Outlook", K_EMAIL, 0),
    RULE("mail.yahoo.com", "Yahoo! Mail", K_EMAIL, 0),
    RULE("mail.proton.me", "Proton Mail", K_EMAIL, 0),
    RULE("com.google.android.googlequicksearchbox", "Google", K_SEARCH, 0),
    RULE("google", "Google", K_SEARCH, 1),
    RULE("bing.com", "Bing", K_SEARCH, 0),
    RULE("duckduckgo.com", "DuckDuckGo", K_SEARCH, 0),
    RULE("yahoo", "Yahoo!", K_SEARCH, 1),
    RULE("yandex", "Yandex", K_SEARCH, 1),
    RULE("ya.ru", "Yandex", K_SEARCH, 0),
    RULE("baidu.com", "Baidu", K_SEARCH, 0),
    RULE("ecosia.org", "Ecosia", K_SEARCH, 0),
    RULE("search.brave.com", "Brave Search", K_SEARCH, 0),
    RULE("startpage.com", "Startpage", K_SEARCH, 0),
    RULE("qwant.com", "Qwant", K_SEARCH, 0),
    RULE("facebook.com", "Facebook", K_SOCIAL, 0),
    RULE("fb.me", "Facebook", K_SOCIAL, 0),
    RULE("instagram.com", "Instagram", K_SOCIAL, 0),
    RULE("t.co", "Twitter", K_SOCIAL, 0),
    RULE("twitter.com", "Twitter", K_SOCIAL, 0),
    RULE("x.com", "Twitter", K_SOCIAL, 0),
    RULE("linkedin.com", "LinkedIn", K_SOCIAL, 0),
    RULE("lnkd.in", "LinkedIn", K_SOCIAL, 0),
    RULE("reddit.com", "Reddit", K_SOCIAL, 0),
    RULE("youtube.com", "YouTube", K_SOCIAL, 0),
    RULE("youtu.be", "YouTube", K_SOCIAL, 0),
    RULE("pinterest", "Pinterest", K_SOCIAL, 1),
    RULE("pin.it", "Pinterest", K_SOCIAL, 0),
    RULE("tiktok.com", "TikTok", K_SOCIAL, 0),
    RULE("news.ycombinator.com", "Hacker News", K_SOCIAL, 0),
};

/* utm_source spellings that are not a host. Compared without case. */
#define ALIAS(alias, name, kind)                                                                   \
    {                                                                                              \
        alias, name, sizeof(alias) - 1, sizeof(name) - 1, kind                                     \
    }

static const struct {
    const char *alias;
    const char *name;
    uint8_t alias_len, name_len;
    uint8_t kind;
} ALIASES[] = {
    ALIAS("google", "Google", K_SEARCH),
    ALIAS("bing", "Bing", K_SEARCH),
    ALIAS("duckduckgo", "DuckDuckGo", K_SEARCH),
    ALIAS("yahoo", "Yahoo!", K_SEARCH),
    ALIAS("yahoo!", "Yahoo!", K_SEARCH),
    ALIAS("yandex", "Yandex", K_SEARCH),
    ALIAS("baidu", "Baidu", K_SEARCH),
    ALIAS("ecosia", "Ecosia", K_SEARCH),
    ALIAS("brave search", "Brave Search", K_SEARCH),
    ALIAS("startpage", "Startpage", K_SEARCH),
    ALIAS("qwant", "Qwant", K_SEARCH),
    ALIAS("facebook", "Facebook", K_SOCIAL),
    ALIAS("fb", "Facebook", K_SOCIAL),
    ALIAS("instagram", "Instagram", K_SOCIAL),
    ALIAS("ig", "Instagram", K_SOCIAL),
    ALIAS("twitter", "Twitter", K_SOCIAL),
    ALIAS("x", "Twitter", K_SOCIAL),
    ALIAS("linkedin", "LinkedIn", K_SOCIAL),
    ALIAS("reddit", "Reddit", K_SOCIAL),
    ALIAS("youtube", "YouTube", K_SOCIAL),
    ALIAS("yt", "YouTube", K_SOCIAL),
    ALIAS("pinterest", "Pinterest", K_SOCIAL),
    ALIAS("tiktok", "TikTok", K_SOCIAL),
    ALIAS("hacker news", "Hacker News", K_SOCIAL),
    ALIAS("hackernews", "Hacker News", K_SOCIAL),
    ALIAS("hn", "Hacker News", K_SOCIAL),
    ALIAS("gmail", "Gmail", K_EMAIL),
    ALIAS("outlook", "Outlook", K_EMAIL),
};

#define HOST_CAP 256

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* The host of a URL ("https://user@Host:443/x" -> "Host"), or of a bare "host/path". */
static tl_str url_host(tl_str u)
{
    const char *p = u.ptr, *end = u.ptr + u.len;
    if (!u.len)
        return u;
    const char *colon = memchr(p, ':', u.len);
    if (colon && colon + 2 < end && colon[1] == '/' && colon[2] == '/')
        p = colon + 3;
    const char *he = p;
    while (he < end && *he != '/' && *he != '?' && *he != '#')
        he++;
    const char *at = memchr(p, '@', (size_t)(he - p));
    if (at)
        p = at + 1;
    const char *port = memchr(p, ':', (size_t)(he - p));
    if (port && p < he && *p != '[') /* an IPv6 literal keeps its colons */
        he = port;
    return tl_str_make(p, (size_t)(he - p));
}

/* Lowercases h into buf (HOST_CAP) without a leading "www." and a trailing dot. Returns the
 * length, or 0 when the host is empty or too long to be one. */
static size_t norm_host(tl_str h, char *buf, const char **orig)
{
    if (h.len >= 4 && (h.ptr[0] | 0x20) == 'w' && (h.ptr[1] | 0x20) == 'w' &&
        (h.ptr[2] | 0x20) == 'w' && h.ptr[3] == '.')
        h = tl_str_make(h.ptr + 4, h.len - 4);
    if (h.len && h.ptr[h.len - 1] == '.')
        h.len--;
    if (h.len == 0 || h.len >= HOST_CAP)
        return 0;
    for (uint32_t i = 0; i < h.len; i++)
        buf[i] = lower(h.ptr[i]);
    buf[h.len] = '\0';
    *orig = h.ptr;
    return h.len;
}

/* host is `domain` or a subdomain of it. */
static bool host_under(const char *host, size_t n, const char *domain, size_t d)
{
    if (n < d || memcmp(host + n - d, domain, d) != 0)
        return false;
    return n == d || host[n - d - 1] == '.';
}

/* s[0..n) is one or two labels of two or three letters ("com", "de", "co.uk", "com.tr"). */
static bool short_suffix(const char *s, size_t n)
{
    int labels = 0;
    size_t run = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (run < 2 || run > 3 || ++labels > 2)
                return false;
            run = 0;
        } else {
            run++;
        }
    }
    return true;
}

/* host is "<label>.<short suffix>" or "*.<label>.<short suffix>". */
static bool host_any_tld(const char *host, size_t n, const char *label, size_t l)
{
    for (size_t pos = 0; pos + l < n;) {
        if (memcmp(host + pos, label, l) == 0 && host[pos + l] == '.' &&
            short_suffix(host + pos + l + 1, n - pos - l - 1))
            return true;
        const char *dot = memchr(host + pos, '.', n - pos);
        if (!dot)
            break;
        pos = (size_t)(dot - host) + 1;
    }
    return false;
}

static const source_rule *match_host(const char *host, size_t n)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(RULES); i++) {
        const source_rule *r = &RULES[i];
        if (r->any_tld ? host_any_tld(host, n, r->host, r->host_len)
                       : host_under(host, n, r->host, r->host_len))
            return r;
    }
    return NULL;
}

static bool eq_nocase(tl_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && strncasecmp(s.ptr, lit, n) == 0;
}

static bool has_nocase(tl_str s, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= s.len; i++)
        if (strncasecmp(s.ptr + i, lit, n) == 0)
            return true;
    return false;
}

static bool starts_nocase(tl_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len >= n && strncasecmp(s.ptr, lit, n) == 0;
}

/* A "name=" query parameter is present in url. */
static bool has_param(tl_str url, const char *name)
{
    const char *q = memchr(url.ptr ? url.ptr : "", '?', url.len);
    if (!q)
        return false;
    size_t n = strlen(name);
    for (const char *p = q + 1, *end = url.ptr + url.len; p < end;) {
        if ((size_t)(end - p) > n && memcmp(p, name, n) == 0 && p[n] == '=')
            return true;
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            break;
        p = amp + 1;
    }
    return false;
}

static bool any_of(tl_str s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (eq_nocase(s, words[i]))
            return true;
    return false;
}

static bool emailish(tl_str s)
{
    return has_nocase(s, "email") || has_nocase(s, "e-mail") || has_nocase(s, "e_mail") ||
           has_nocase(s, "e mail");
}

static const char *channel_of(int kind, tl_str utm_source, tl_str medium, bool click_id,
                              bool direct)
{
    static const char *const display[] = {"display", "banner", "expandable", "interstitial", "cpm"};
    static const char *const social[] = {"social", "social-network", "social-media",
                                         "sm",     "social network", "social media"};
    static const char *const referral[] = {"referral", "app", "link"};
    bool has_medium = medium.len > 0;
    bool paid = has_medium && (has_nocase(medium, "cp") || eq_nocase(medium, "ppc") ||
                               eq_nocase(medium, "retargeting") || starts_nocase(medium, "paid"));
    if (kind == K_SEARCH && (paid || click_id))
        return "Paid Search";
    if (kind == K_SOCIAL && paid)
        return "Paid Social";
    if (has_medium && any_of(medium, display, TL_ARRAY_LEN(display)))
        return "Display";
    if (paid)
        return "Paid Other";
    if (kind == K_SEARCH)
        return "Organic Search";
    if (kind == K_SOCIAL || (has_medium && any_of(medium, social, TL_ARRAY_LEN(social))))
        return "Organic Social";
    if (kind == K_EMAIL || (utm_source.len && emailish(utm_source)) ||
        (has_medium && (emailish(medium) || eq_nocase(medium, "newsletter"))))
        return "Email";
    if (has_medium && eq_nocase(medium, "affiliate"))
        return "Affiliates";
    if (!direct || (has_medium && any_of(medium, referral, TL_ARRAY_LEN(referral))))
        return "Referral";
    return "Direct";
}

void tl_enrich__source(const tl_event *ev, tl_arena *a, tl_str *source, tl_str *channel)
{
    tl_str utm_source = ev->f[TL_F_UTM_SOURCE], medium = ev->f[TL_F_UTM_MEDIUM];
    tl_str url = ev->f[TL_F_URL];
    int kind = K_NONE;
    tl_str name = TL_STR("Direct / None");
    bool direct = true;

    /* the referrer, unless it is the site itself */
    char ref[HOST_CAP], own[HOST_CAP];
    const char *ref_orig = NULL, *own_orig = NULL;
    size_t rn = norm_host(url_host(ev->f[TL_F_REFERRER]), ref, &ref_orig);
    size_t on = norm_host(url_host(ev->f[TL_F_HOSTNAME]), own, &own_orig);
    if (rn && !(rn == on && memcmp(ref, own, rn) == 0)) {
        const source_rule *r = match_host(ref, rn);
        if (r) {
            name = tl_str_make(r->name, r->name_len);
            kind = r->kind;
        } else if (memcmp(ref, ref_orig, rn) == 0) { /* already lowercase: point at it */
            name = tl_str_make(ref_orig, rn);
        } else {
            char *copy = a ? tl_arena_strndup(a, ref, rn) : NULL;
            name = tl_str_make(copy ? copy : ref_orig, rn);
        }
        direct = false;
    }

    bool gclid = has_param(url, "gclid"), msclkid = has_param(url, "msclkid");
    if (direct && (gclid || msclkid)) {
        name = gclid ? TL_STR("Google") : TL_STR("Bing");
        kind = K_SEARCH;
        direct = false;
    }

    if (utm_source.len) {
        kind = K_NONE;
        name = utm_source;
        direct = false;
        bool found = false;
        for (size_t i = 0; i < TL_ARRAY_LEN(ALIASES) && !found; i++) {
            if (utm_source.len == ALIASES[i].alias_len &&
                strncasecmp(utm_source.ptr, ALIASES[i].alias, utm_source.len) == 0) {
                name = tl_str_make(ALIASES[i].name, ALIASES[i].name_len);
                kind = ALIASES[i].kind;
                found = true;
            }
        }
        char host[HOST_CAP];
        const char *orig = NULL;
        size_t hn = found ? 0 : norm_host(url_host(utm_source), host, &orig);
        const source_rule *r = hn && memchr(host, '.', hn) ? match_host(host, hn) : NULL;
        if (r) {
            name = tl_str_make(r->name, r->name_len);
            kind = r->kind;
        }
    }

    *source = name;
    const char *ch = channel_of(kind, utm_source, medium, gclid || msclkid, direct);
    *channel = tl_str_make(ch, strlen(ch));
}
