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
    uint8_t kind;
    uint8_t any_tld;
} source_rule;

/* Ordered: mail hosts before the search engines whose domains they sit under. */
static const source_rule RULES[] = {
    {"mail.google.com", "Gmail", K_EMAIL, 0},
    {"com.google.android.gm", "Gmail", K_EMAIL, 0}, /* android-app:// referrer */
    {"outlook.live.com", "Outlook", K_EMAIL, 0},
    {"outlook.office.com", "Outlook", K_EMAIL, 0},
    {"outlook.office365.com", "Outlook", K_EMAIL, 0},
    {"mail.yahoo.com", "Yahoo! Mail", K_EMAIL, 0},
    {"mail.proton.me", "Proton Mail", K_EMAIL, 0},
    {"com.google.android.googlequicksearchbox", "Google", K_SEARCH, 0},
    {"google", "Google", K_SEARCH, 1},
    {"bing.com", "Bing", K_SEARCH, 0},
    {"duckduckgo.com", "DuckDuckGo", K_SEARCH, 0},
    {"yahoo", "Yahoo!", K_SEARCH, 1},
    {"yandex", "Yandex", K_SEARCH, 1},
    {"ya.ru", "Yandex", K_SEARCH, 0},
    {"baidu.com", "Baidu", K_SEARCH, 0},
    {"ecosia.org", "Ecosia", K_SEARCH, 0},
    {"search.brave.com", "Brave Search", K_SEARCH, 0},
    {"startpage.com", "Startpage", K_SEARCH, 0},
    {"qwant.com", "Qwant", K_SEARCH, 0},
    {"facebook.com", "Facebook", K_SOCIAL, 0},
    {"fb.me", "Facebook", K_SOCIAL, 0},
    {"instagram.com", "Instagram", K_SOCIAL, 0},
    {"t.co", "Twitter", K_SOCIAL, 0},
    {"twitter.com", "Twitter", K_SOCIAL, 0},
    {"x.com", "Twitter", K_SOCIAL, 0},
    {"linkedin.com", "LinkedIn", K_SOCIAL, 0},
    {"lnkd.in", "LinkedIn", K_SOCIAL, 0},
    {"reddit.com", "Reddit", K_SOCIAL, 0},
    {"youtube.com", "YouTube", K_SOCIAL, 0},
    {"youtu.be", "YouTube", K_SOCIAL, 0},
    {"pinterest", "Pinterest", K_SOCIAL, 1},
    {"pin.it", "Pinterest", K_SOCIAL, 0},
    {"tiktok.com", "TikTok", K_SOCIAL, 0},
    {"news.ycombinator.com", "Hacker News", K_SOCIAL, 0},
};

/* utm_source spellings that are not a host. Compared without case. */
static const struct {
    const char *alias;
    const char *name;
    uint8_t kind;
} ALIASES[] = {
    {"google", "Google", K_SEARCH},
    {"bing", "Bing", K_SEARCH},
    {"duckduckgo", "DuckDuckGo", K_SEARCH},
    {"yahoo", "Yahoo!", K_SEARCH},
    {"yahoo!", "Yahoo!", K_SEARCH},
    {"yandex", "Yandex", K_SEARCH},
    {"baidu", "Baidu", K_SEARCH},
    {"ecosia", "Ecosia", K_SEARCH},
    {"brave search", "Brave Search", K_SEARCH},
    {"startpage", "Startpage", K_SEARCH},
    {"qwant", "Qwant", K_SEARCH},
    {"facebook", "Facebook", K_SOCIAL},
    {"fb", "Facebook", K_SOCIAL},
    {"instagram", "Instagram", K_SOCIAL},
    {"ig", "Instagram", K_SOCIAL},
    {"twitter", "Twitter", K_SOCIAL},
    {"x", "Twitter", K_SOCIAL},
    {"linkedin", "LinkedIn", K_SOCIAL},
    {"reddit", "Reddit", K_SOCIAL},
    {"youtube", "YouTube", K_SOCIAL},
    {"yt", "YouTube", K_SOCIAL},
    {"pinterest", "Pinterest", K_SOCIAL},
    {"tiktok", "TikTok", K_SOCIAL},
    {"hacker news", "Hacker News", K_SOCIAL},
    {"hackernews", "Hacker News", K_SOCIAL},
    {"hn", "Hacker News", K_SOCIAL},
    {"gmail", "Gmail", K_EMAIL},
    {"outlook", "Outlook", K_EMAIL},
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
    if (h.len >= 4 && strncasecmp(h.ptr, "www.", 4) == 0)
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
static bool host_under(const char *host, size_t n, const char *domain)
{
    size_t d = strlen(domain);
    if (n < d || memcmp(host + n - d, domain, d) != 0)
        return false;
    return n == d || host[n - d - 1] == '.';
}

/* host is "<label>.<suffix>" or "*.<label>.<suffix>" where suffix has one or two labels of at
 * most three letters ("com", "de", "co.uk", "com.tr"). */
static bool host_any_tld(const char *host, size_t n, const char *label)
{
    size_t l = strlen(label);
    for (const char *p = host, *end = host + n; p < end;) {
        const char *m = memmem(p, (size_t)(end - p), label, l);
        if (!m)
            return false;
        p = m + 1;
        if ((m != host && m[-1] != '.') || m + l >= end || m[l] != '.')
            continue;
        const char *s = m + l + 1;
        int labels = 0;
        size_t run = 0;
        bool ok = true;
        for (; s <= end && ok; s++) {
            if (s == end || *s == '.') {
                ok = run >= 2 && run <= 3;
                labels++;
                run = 0;
            } else {
                run++;
            }
        }
        if (ok && labels <= 2)
            return true;
    }
    return false;
}

static const source_rule *match_host(const char *host, size_t n)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(RULES); i++) {
        const source_rule *r = &RULES[i];
        if (r->any_tld ? host_any_tld(host, n, r->host) : host_under(host, n, r->host))
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
    bool paid = has_nocase(medium, "cp") || eq_nocase(medium, "ppc") ||
                eq_nocase(medium, "retargeting") || starts_nocase(medium, "paid");
    if (kind == K_SEARCH && (paid || click_id))
        return "Paid Search";
    if (kind == K_SOCIAL && paid)
        return "Paid Social";
    if (any_of(medium, display, TL_ARRAY_LEN(display)))
        return "Display";
    if (paid)
        return "Paid Other";
    if (kind == K_SEARCH)
        return "Organic Search";
    if (kind == K_SOCIAL || any_of(medium, social, TL_ARRAY_LEN(social)))
        return "Organic Social";
    if (kind == K_EMAIL || emailish(utm_source) || emailish(medium) ||
        eq_nocase(medium, "newsletter"))
        return "Email";
    if (eq_nocase(medium, "affiliate"))
        return "Affiliates";
    if (any_of(medium, referral, TL_ARRAY_LEN(referral)) || !direct)
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
            name = tl_str_make(r->name, strlen(r->name));
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
            if (eq_nocase(utm_source, ALIASES[i].alias)) {
                name = tl_str_make(ALIASES[i].name, strlen(ALIASES[i].name));
                kind = ALIASES[i].kind;
                found = true;
            }
        }
        char host[HOST_CAP];
        const char *orig = NULL;
        size_t hn = found ? 0 : norm_host(url_host(utm_source), host, &orig);
        const source_rule *r = hn && memchr(host, '.', hn) ? match_host(host, hn) : NULL;
        if (r) {
            name = tl_str_make(r->name, strlen(r->name));
            kind = r->kind;
        }
    }

    *source = name;
    const char *ch = channel_of(kind, utm_source, medium, gclid || msclkid, direct);
    *channel = tl_str_make(ch, strlen(ch));
}
