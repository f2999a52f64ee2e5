#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_free(buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(buf *b) {
    b->len = 0;
}

int buf_reserve(buf *b, size_t n) {
    if (n > b->max || b->len > b->max - n)
        return BUF_ETOOBIG;
    size_t need = b->len + n;
    if (need <= b->cap)
        return BUF_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap ? cap : 1);
    if (!p)
        return BUF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return BUF_OK;
}

int buf_append(buf *b, const void *p, size_t n) {
    int rc = buf_reserve(b, n);
    if (rc == BUF_OK && n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
    return rc;
}

int buf_putc(buf *b, uint8_t c) {
    return buf_append(b, &c, 1);
}

int buf_puts(buf *b, const char *s) {
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(buf *b, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0)
        return BUF_ENOMEM;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    int rc = buf_reserve(b, (size_t)n + 1);
    if (rc == BUF_OK) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    return rc;
}

int buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int buf_put_hex(buf *b, const uint8_t *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (n > SIZE_MAX / 2)
        return BUF_ETOOBIG;
    int rc = buf_reserve(b, 2 * n);
    if (rc != BUF_OK)
        return rc;
    uint8_t *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = (uint8_t)hex[p[i] >> 4];
        o[2 * i + 1] = (uint8_t)hex[p[i] & 15];
    }
    b->len += 2 * n;
    return BUF_OK;
}

uint8_t *buf_detach(buf *b, size_t *len) {
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *buf_strerror(int err) {
    switch (err) {
    case BUF_OK:
        return "success";
    case BUF_ENOMEM:
        return "out of memory";
    case BUF_ETOOBIG:
        return "size limit exceeded";
    default:
        return "unknown buffer error";
    }
}
