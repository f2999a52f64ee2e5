#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(uint8_t **out, size_t *len, const char *path, size_t max) {
    int err = 0;
    uint8_t *data = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *out = NULL;
    *len = 0;
    if (fd < 0) {
        err = errno;
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        err = EISDIR;
        goto out;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        err = EFBIG;
        goto out;
    }
    /* Read what is there, not what stat promised: the file may change under us. */
    size_t cap = (size_t)st.st_size + 1;
    data = malloc(cap);
    if (!data) {
        err = ENOMEM;
        goto out;
    }
    for (;;) {
        if (got == cap) {
            if (cap > max) {
                err = EFBIG;
                goto out;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *p = realloc(data, ncap);
            if (!p) {
                err = ENOMEM;
                goto out;
            }
            data = p;
            cap = ncap;
        }
        ssize_t n = read(fd, data + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > max) {
        err = EFBIG;
        goto out;
    }
    *out = data;
    *len = got;
    data = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return err;
}

static int write_full(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_atomic(const char *path, const struct iovec *parts, int nparts, unsigned mode,
                        bool sync) {
    int err = 0;
    int fd = -1;
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ENAMETOOLONG;
    fd = mkstemp(tmp);
    if (fd < 0)
        return errno;
    for (int i = 0; i < nparts && !err; i++)
        err = write_full(fd, parts[i].iov_base, parts[i].iov_len);
    mode_t mask = umask(0); /* read the umask: mkstemp made the file 0600 */
    umask(mask);
    if (!err && fchmod(fd, (mode_t)mode & ~mask) != 0)
        err = errno;
    if (!err && sync && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    return err;
}

int file_write_atomic(const char *path, const struct iovec *parts, int nparts, unsigned mode) {
    return write_atomic(path, parts, nparts, mode, true);
}

int file_write_atomic_nosync(const char *path, const struct iovec *parts, int nparts,
                             unsigned mode) {
    return write_atomic(path, parts, nparts, mode, false);
}
