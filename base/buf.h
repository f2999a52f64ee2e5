/* Growable byte buffer with a hard maximum (after curl's dynbuf, STYLE.md 5).
 *
 * A buffer never grows past its maximum: an append that would cross it fails with
 * BUF_ETOOBIG and leaves the buffer as it was. Functions return 0 on success. */
#ifndef ESEAL_BASE_BUF_H
#define ESEAL_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum { BUF_OK = 0, BUF_ENOMEM = 1, BUF_ETOOBIG = 2 };

typedef struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len */
} buf;

/* Starts an empty buffer that may hold at most max bytes. Allocates nothing. */
void buf_init(buf *b, size_t max);
void buf_free(buf *b);
/* Empties the buffer, keeping its allocation. */
void buf_reset(buf *b);
/* Makes room for n more bytes. */
int buf_reserve(buf *b, size_t n);
int buf_append(buf *b, const void *p, size_t n);
int buf_putc(buf *b, uint8_t c);
int buf_puts(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends n bytes as lower-case hexadecimal. */
int buf_put_hex(buf *b, const uint8_t *p, size_t n);
/* Hands the bytes to the caller (who frees them with free()); the buffer is empty after. */
uint8_t *buf_detach(buf *b, size_t *len);
const char *buf_strerror(int err);

#endif
