/*
 * The one logger: a line per message on stderr, "2024-05-01T12:00:00.123Z
 * level message". A single write(2) per line keeps lines from different
 * threads whole. tl_log_limited drops repeats from one call site inside a
 * time window so a hot path that fails per event cannot flood the log.
 */
#include "base/base.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int min_level = TL_LOG_INFO;

void tl_log_set_level(int level)
{
    atomic_store(&min_level, level);
}

__attribute__((format(printf, 2, 0))) static void vlog(int level, const char *fmt, va_list ap)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < atomic_load(&min_level))
        return;
    char line[1024];
    char ts[32];
    tl_time_format(tl_now_ms(), ts);
    int n = snprintf(line, sizeof line, "%s %-5s ", ts, names[level < 0 || level > 3 ? 3 : level]);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    TL_UNUSED(w);
}

void tl_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void tl_log_limited(int64_t *last, int64_t every_ms, int level, const char *fmt, ...)
{
    int64_t now = tl_mono_ns() / 1000000;
    _Atomic int64_t *slot = (_Atomic int64_t *)last;
    int64_t prev = atomic_load(slot);
    if (prev && now - prev < every_ms)
        return;
    if (!atomic_compare_exchange_strong(slot, &prev, now))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}
