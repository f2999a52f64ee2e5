/* Reading and writing whole files, bounded and atomic. Functions return 0 or an errno value
 * (EFBIG when a file is larger than the caller's maximum); strerror() names it. */
#ifndef ESEAL_BASE_FILEIO_H
#define ESEAL_BASE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Reads all of path (at most max bytes) into *out (caller frees with free()). */
int file_read_all(uint8_t **out, size_t *len, const char *path, size_t max);

/* Writes the pieces to path atomically: a temporary file in the same directory, fsync, rename.
 * On failure nothing is left at path that was not there before. mode as for open(2). */
int file_write_atomic(const char *path, const struct iovec *parts, int nparts, unsigned mode);
/* The same without the fsync, for callers that sync many files at once (syncfs) before they
 * count them as written; after a crash the file is absent, whole, or (rarely) empty or short,
 * never a mix of old and new. */
int file_write_atomic_nosync(const char *path, const struct iovec *parts, int nparts,
                             unsigned mode);

#endif
