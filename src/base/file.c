/*
 * Durable file helpers. tl_write_file_atomic is the one way tally replaces a
 * small file (checkpoints, offsets, metadata): readers see the old content or
 * the new, never a mix, and after it returns the new content survives a crash:
 * write "path.tmp", fsync it, rename over "path", fsync the directory.
 */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tl_mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return TL_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char saved = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return TL_EIO;
        tmp[i] = saved;
    }
    return 0;
}

int tl_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return TL_EIO;
    int rc = fsync(fd) == 0 ? 0 : TL_EIO;
    close(fd);
    return rc;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return TL_EIO;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int tl_write_file_atomic(const char *path, const void *p, size_t n)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return TL_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return TL_EIO;
    if (write_all(fd, p, n) || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return TL_EIO;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return TL_EIO;
    }
    const char *slash = strrchr(path, '/');
    if (!slash)
        return tl_fsync_dir(".");
    size_t dl = (size_t)(slash - path);
    if (dl == 0)
        dl = 1;
    if (dl >= sizeof dir)
        return TL_EINVAL;
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    return tl_fsync_dir(dir);
}

int tl_read_file(const char *path, tl_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TL_ENOTFOUND : TL_EIO;
    int rc = 0;
    for (;;) {
        if (tl_buf_reserve(b, 65536)) {
            rc = TL_ENOMEM;
            break;
        }
        ssize_t r = read(fd, b->ptr + b->len, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = TL_EIO;
            break;
        }
        if (r == 0)
            break;
        b->len += (size_t)r;
        b->ptr[b->len] = '\0';
    }
    close(fd);
    return rc;
}
