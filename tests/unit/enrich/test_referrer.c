/* Unit tests for src/enrich/referrer.c: source and channel from referrer, hostname, URL click
 * ids and UTM tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "enrich/enrich_int.h"

typedef struct {
    const char *referrer, *hostname, *url, *utm_source, *utm_medium;
    const char *source, *channel;
} ref_case;

#define SITE "shop.example.com"
#define PAGE "https://shop.example.com/pricing"

static const ref_case CASES[] = {
    /* direct */
    {"", SITE, PAGE, "", "", "Direct / None", "Direct"},
    {"https://shop.example.com/", SITE, PAGE, "", "", "Direct / None", "Direct"},
    {"https://www.shop.example.com:443/cart", "shop.example.com", PAGE, "", "", "Direct / None",
     "Direct"},
    {"https://SHOP.example.com/", "www.shop.example.com", PAGE, "", "", "Direct / None", "Direct"},
    /* search */
    {"https://www.google.com/", SITE, PAGE, "", "", "Google", "Organic Search"},
    {"https://www.google.co.uk/search?q=x", SITE, PAGE, "", "", "Google", "Organic Search"},
    {"https://google.de", SITE, PAGE, "", "", "Google", "Organic Search"},
    {"android-app://com.google.android.googlequicksearchbox/", SITE, PAGE, "", "", "Google",
     "Organic Search"},
    {"https://www.bing.com/", SITE, PAGE, "", "", "Bing", "Organic Search"},
    {"https://cn.bing.com/search?q=tally", SITE, PAGE, "", "", "Bing", "Organic Search"},
    {"https://duckduckgo.com/", SITE, PAGE, "", "", "DuckDuckGo", "Organic Search"},
    {"https://search.yahoo.com/", SITE, PAGE, "", "", "Yahoo!", "Organic Search"},
    {"https://uk.search.yahoo.com/", SITE, PAGE, "", "", "Yahoo!", "Organic Search"},
    {"https://yandex.ru/", SITE, PAGE, "", "", "Yandex", "Organic Search"},
    {"https://yandex.com.tr/search/", SITE, PAGE, "", "", "Yandex", "Organic Search"},
    {"https://www.baidu.com/link?url=abc", SITE, PAGE, "", "", "Baidu", "Organic Search"},
    {"https://www.ecosia.org/", SITE, PAGE, "", "", "Ecosia", "Organic Search"},
    {"https://search.brave.com/", SITE, PAGE, "", "", "Brave Search", "Organic Search"},
    {"https://www.startpage.com/", SITE, PAGE, "", "", "Startpage", "Organic Search"},
    {"https://www.qwant.com/?q=x", SITE, PAGE, "", "", "Qwant", "Organic Search"},
    /* a look-alike is no search engine */
    {"https://google.example.org/", SITE, PAGE, "", "", "google.example.org", "Referral"},
    {"https://notgoogle.com/", SITE, PAGE, "", "", "notgoogle.com", "Referral"},
    /* paid search */
    {"https://www.google.com/", SITE, PAGE "?gclid=abc123", "", "", "Google", "Paid Search"},
    {"", SITE, PAGE "?utm_x=1&gclid=abc123", "", "", "Google", "Paid Search"},
    {"", SITE, PAGE "?msclkid=f00", "", "", "Bing", "Paid Search"},
    {"https://www.bing.com/", SITE, PAGE, "bing", "cpc", "Bing", "Paid Search"},
    {"", SITE, PAGE, "google", "ppc", "Google", "Paid Search"},
    {"", SITE, PAGE "?xgclid=1", "", "", "Direct / None", "Direct"},
    /* social */
    {"https://www.facebook.com/", SITE, PAGE, "", "", "Facebook", "Organic Social"},
    {"https://l.facebook.com/l.php?u=x", SITE, PAGE, "", "", "Facebook", "Organic Social"},
    {"https://m.facebook.com/", SITE, PAGE, "", "", "Facebook", "Organic Social"},
    {"https://l.instagram.com/", SITE, PAGE, "", "", "Instagram", "Organic Social"},
    {"https://t.co/abc", SITE, PAGE, "", "", "Twitter", "Organic Social"},
    {"https://x.com/someone", SITE, PAGE, "", "", "Twitter", "Organic Social"},
    {"https://dropbox.com/", SITE, PAGE, "", "", "dropbox.com", "Referral"},
    {"https://www.linkedin.com/", SITE, PAGE, "", "", "LinkedIn", "Organic Social"},
    {"https://lnkd.in/e3x", SITE, PAGE, "", "", "LinkedIn", "Organic Social"},
    {"https://old.reddit.com/r/c/", SITE, PAGE, "", "", "Reddit", "Organic Social"},
    {"https://m.youtube.com/watch?v=1", SITE, PAGE, "", "", "YouTube", "Organic Social"},
    {"https://www.pinterest.de/", SITE, PAGE, "", "", "Pinterest", "Organic Social"},
    {"https://www.tiktok.com/", SITE, PAGE, "", "", "TikTok", "Organic Social"},
    {"https://news.ycombinator.com/item?id=1", SITE, PAGE, "", "", "Hacker News", "Organic Social"},
    {"https://www.facebook.com/", SITE, PAGE, "fb", "paid_social", "Facebook", "Paid Social"},
    {"", SITE, PAGE, "ig", "", "Instagram", "Organic Social"},
    {"", SITE, PAGE, "mastodon", "social", "mastodon", "Organic Social"},
    /* email */
    {"https://mail.google.com/", SITE, PAGE, "", "", "Gmail", "Email"},
    {"https://outlook.live.com/mail/0/", SITE, PAGE, "", "", "Outlook", "Email"},
    {"", SITE, PAGE, "newsletter", "email", "newsletter", "Email"},
    {"", SITE, PAGE, "weekly", "newsletter", "weekly", "Email"},
    {"", SITE, PAGE, "E-Mail Digest", "", "E-Mail Digest", "Email"},
    /* others */
    {"", SITE, PAGE, "partner", "affiliate", "partner", "Affiliates"},
    {"https://news.example.net/", SITE, PAGE, "", "banner", "news.example.net", "Display"},
    {"", SITE, PAGE, "adnet", "cpm", "adnet", "Display"},
    {"", SITE, PAGE, "adnet", "paid", "adnet", "Paid Other"},
    {"https://www.example.org/post/1", SITE, PAGE, "", "", "example.org", "Referral"},
    {"https://Blog.Example.ORG./post", SITE, PAGE, "", "", "blog.example.org", "Referral"},
    {"https://user@docs.example.org:8443/x", SITE, PAGE, "", "", "docs.example.org", "Referral"},
    {"https://www.example.org/", SITE, PAGE, "github", "", "github", "Referral"},
    {"https://www.example.org/", SITE, PAGE, "Google", "", "Google", "Organic Search"},
    {"https://www.example.org/", SITE, PAGE, "news.ycombinator.com", "", "Hacker News",
     "Organic Social"},
    {"", SITE, PAGE, "", "referral", "Direct / None", "Referral"},
    /* an internal referrer with UTM tags is tagged traffic */
    {"https://shop.example.com/", SITE, PAGE, "twitter", "", "Twitter", "Organic Social"},
};

static tl_str s(const char *c)
{
    return tl_str_make(c, strlen(c));
}

static void test_table(void **state)
{
    (void)state;
    assert_true(TL_ARRAY_LEN(CASES) >= 25);
    tl_arena *a = tl_arena_new(4096);
    assert_non_null(a);
    for (size_t i = 0; i < TL_ARRAY_LEN(CASES); i++) {
        const ref_case *c = &CASES[i];
        tl_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.f[TL_F_REFERRER] = s(c->referrer);
        ev.f[TL_F_HOSTNAME] = s(c->hostname);
        ev.f[TL_F_URL] = s(c->url);
        ev.f[TL_F_UTM_SOURCE] = s(c->utm_source);
        ev.f[TL_F_UTM_MEDIUM] = s(c->utm_medium);
        tl_str src, ch;
        tl_enrich__source(&ev, a, &src, &ch);
        if (!tl_str_eq(src, c->source) || !tl_str_eq(ch, c->channel))
            fail_msg("case %zu (ref \"%s\" utm %s/%s): got %.*s / %.*s, want %s / %s", i,
                     c->referrer, c->utm_source, c->utm_medium, (int)src.len, src.ptr, (int)ch.len,
                     ch.ptr, c->source, c->channel);
    }
    tl_arena_free(a);
}

static void test_no_arena_and_odd_input(void **state)
{
    (void)state;
    tl_event ev;
    memset(&ev, 0, sizeof(ev));
    tl_str src, ch;
    /* nothing at all */
    tl_enrich__source(&ev, NULL, &src, &ch);
    assert_true(tl_str_eq(src, "Direct / None"));
    assert_true(tl_str_eq(ch, "Direct"));
    /* capitals and no arena: the host is used as sent */
    ev.f[TL_F_REFERRER] = s("https://Example.ORG/x");
    tl_enrich__source(&ev, NULL, &src, &ch);
    assert_true(tl_str_eq(src, "Example.ORG"));
    /* a lowercase host points into the referrer itself */
    ev.f[TL_F_REFERRER] = s("https://www.example.org/x");
    tl_enrich__source(&ev, NULL, &src, &ch);
    assert_ptr_equal(src.ptr, ev.f[TL_F_REFERRER].ptr + 12);
    assert_true(tl_str_eq(src, "example.org"));
    /* not a URL, a huge host, a lone scheme */
    ev.f[TL_F_REFERRER] = s("example.net/path");
    tl_enrich__source(&ev, NULL, &src, &ch);
    assert_true(tl_str_eq(src, "example.net"));
    char big[600];
    memset(big, 'a', sizeof(big));
    memcpy(big, "https://", 8);
    ev.f[TL_F_REFERRER] = tl_str_make(big, sizeof(big));
    tl_enrich__source(&ev, NULL, &src, &ch);
    assert_true(tl_str_eq(src, "Direct / None"));
    ev.f[TL_F_REFERRER] = s("https://");
    tl_enrich__source(&ev, NULL, &src, &ch);
    assert_true(tl_str_eq(src, "Direct / None"));
    assert_true(tl_str_eq(ch, "Direct"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_no_arena_and_odd_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
