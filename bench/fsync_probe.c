/*
 * fsync_probe: how fast is this disk's fdatasync right now?
 *
 * The /v1/track figure is bound by group-commit latency, and on a shared
 * virtual disk fdatasync varies several-fold from one minute to the next. This
 * prints the disk's state next to each run so the figures can be read against
 * it: N times append 4 KB to a file in DIR and fdatasync it.
 *
 * Usage: fsync_probe DIR [N, default 500]
 */
#include "base/base.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fsync_probe DIR [N]\n");
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 500;
    if (n < 1 || n > 100000)
        n = 500;
    char path[4096];
    snprintf(path, sizeof path, "%s/fsync_probe.bin", argv[1]);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    char block[4096];
    memset(block, 'x', sizeof block);
    int64_t *ns = calloc((size_t)n, sizeof *ns);
    if (!ns)
        return 1;
    for (long i = 0; i < n; i++) {
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            return 1;
        int64_t t0 = tl_mono_ns();
        if (fdatasync(fd) != 0)
            return 1;
        ns[i] = tl_mono_ns() - t0;
    }
    close(fd);
    unlink(path);
    int64_t sum = 0;
    for (long i = 0; i < n; i++)
        sum += ns[i];
    qsort(ns, (size_t)n, sizeof *ns, cmp);
    printf("FSYNC n=%ld mean_ms=%.3f p50_ms=%.3f p99_ms=%.3f\n", n, (double)sum / n / 1e6,
           (double)ns[n / 2] / 1e6, (double)ns[n * 99 / 100] / 1e6);
    free(ns);
    return 0;
}
