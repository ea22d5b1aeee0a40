/*
 * Time: wall clock in ms since the Unix epoch (UTC), a monotonic clock, and
 * RFC 3339 parsing/formatting without the C library's locale- and
 * timezone-dependent functions (timegm, strptime), using Howard Hinnant's
 * days-from-civil arithmetic, which is exact for the proleptic Gregorian
 * calendar over the whole int64 range we care about.
 */
#include "base/base.h"

#include <stdio.h>
#include <time.h>

int64_t tl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void tl_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, size_t count, unsigned *out)
{
    if (at + count > n)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < count; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *out = v;
    return 0;
}

static bool leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tl_time_parse(const char *s, size_t n, int64_t *ms_out)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
    if (digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || digits(s, n, 5, 2, &mo) || s[7] != '-' ||
        digits(s, n, 8, 2, &d))
        return TL_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return TL_EINVAL;
    size_t i = 10;
    int64_t offset_min = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return TL_EINVAL;
        if (digits(s, n, i + 1, 2, &h) || i + 3 >= n || s[i + 3] != ':' ||
            digits(s, n, i + 4, 2, &mi) || i + 6 >= n || s[i + 6] != ':' ||
            digits(s, n, i + 7, 2, &se))
            return TL_EINVAL;
        if (h > 23 || mi > 59 || se > 60) /* 60: a leap second, folded into the next */
            return TL_EINVAL;
        i += 9;
        if (i < n && s[i] == '.') {
            size_t start = ++i;
            unsigned scale = 100;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                ms += (unsigned)(s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == start)
                return TL_EINVAL;
        }
        if (i >= n)
            return TL_EINVAL; /* a date-time needs its offset */
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            unsigned oh, om;
            if (digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
                digits(s, n, i + 4, 2, &om) || oh > 23 || om > 59)
                return TL_EINVAL;
            offset_min = (int64_t)oh * 60 + om;
            if (s[i] == '-')
                offset_min = -offset_min;
            i += 6;
        } else {
            return TL_EINVAL;
        }
        if (i != n)
            return TL_EINVAL;
    }
    int64_t days = tl_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + se - offset_min * 60;
    *ms_out = secs * 1000 + ms;
    return 0;
}

static size_t format(int64_t ms, char out[32], bool frac)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t msec = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    tl_civil_from_days(days, &y, &m, &d);
    int n;
    if (frac)
        n = snprintf(out, 32, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
                     (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60),
                     (unsigned)msec);
    else
        n = snprintf(out, 32, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
                     (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    return n < 0 ? 0 : (size_t)n;
}

size_t tl_time_format(int64_t ms, char out[32])
{
    return format(ms, out, true);
}

size_t tl_time_format_s(int64_t ms, char out[32])
{
    return format(ms, out, false);
}
