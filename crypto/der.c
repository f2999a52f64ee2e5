#include "crypto/der.h"

#include <stdlib.h>
#include <string.h>

size_t der_header_len(size_t n) {
    size_t len = 2;
    if (n >= 128)
        for (size_t v = n; v; v >>= 8)
            len++;
    return len;
}

size_t der_open(const buf *b) {
    return b->len;
}

/* X.690 8.1.3: definite length, short form below 128, else long form with the fewest octets. */
static size_t put_header(uint8_t *h, uint8_t tag, size_t n) {
    size_t i = 0;
    h[i++] = tag;
    if (n < 128) {
        h[i++] = (uint8_t)n;
    } else {
        size_t bytes = der_header_len(n) - 2;
        h[i++] = (uint8_t)(0x80 | bytes);
        for (size_t k = bytes; k > 0; k--)
            h[i++] = (uint8_t)(n >> (8 * (k - 1)));
    }
    return i;
}

int der_close(buf *b, size_t start, uint8_t tag) {
    size_t n = b->len - start;
    uint8_t h[16];
    size_t hl = put_header(h, tag, n);
    int rc = buf_reserve(b, hl);
    if (rc != BUF_OK)
        return rc;
    memmove(b->data + start + hl, b->data + start, n);
    memcpy(b->data + start, h, hl);
    b->len += hl;
    return BUF_OK;
}

int der_put(buf *b, uint8_t tag, const void *p, size_t n) {
    uint8_t h[16];
    size_t hl = put_header(h, tag, n);
    int rc = buf_append(b, h, hl);
    if (rc == BUF_OK)
        rc = buf_append(b, p, n);
    return rc;
}

int der_put_raw(buf *b, const void *p, size_t n) {
    return buf_append(b, p, n);
}

int der_put_uint(buf *b, uint64_t v) {
    uint8_t tmp[9];
    size_t n = 0;
    for (int i = 7; i >= 0; i--) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        if (n == 0 && byte == 0 && i > 0)
            continue;
        if (n == 0 && (byte & 0x80))
            tmp[n++] = 0; /* X.690 8.3: keep it positive */
        tmp[n++] = byte;
    }
    return der_put(b, DER_INTEGER, tmp, n);
}

/* X.690 8.19: the first two arcs as 40*X+Y, then base-128 with continuation bits. */
int der_put_oid(buf *b, const char *dotted) {
    uint8_t tmp[64];
    size_t n = 0;
    uint64_t arcs[32];
    size_t na = 0;
    const char *p = dotted;
    while (*p && na < 32) {
        char *end;
        arcs[na++] = strtoull(p, &end, 10);
        if (end == p)
            return BUF_ETOOBIG;
        p = *end == '.' ? end + 1 : end;
        if (*end && *end != '.')
            return BUF_ETOOBIG;
    }
    if (na < 2)
        return BUF_ETOOBIG;
    for (size_t i = 1; i < na; i++) {
        uint64_t v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t rev[10];
        size_t r = 0;
        do {
            rev[r++] = (uint8_t)(v & 0x7F);
            v >>= 7;
        } while (v);
        if (n + r > sizeof tmp)
            return BUF_ETOOBIG;
        while (r > 0) {
            r--;
            tmp[n++] = (uint8_t)(rev[r] | (r ? 0x80 : 0));
        }
    }
    return der_put(b, DER_OID, tmp, n);
}

void der_sort_set(const uint8_t **elems, size_t *lens, size_t n) {
    /* Insertion sort: SETs here hold a handful of elements. Shorter encodings compare as if
     * padded with zero octets (X.690 11.6). */
    for (size_t i = 1; i < n; i++) {
        const uint8_t *e = elems[i];
        size_t l = lens[i];
        size_t j = i;
        while (j > 0) {
            const uint8_t *f = elems[j - 1];
            size_t fl = lens[j - 1];
            size_t m = l < fl ? l : fl;
            int c = memcmp(f, e, m);
            if (c == 0) {
                for (size_t k = m; k < fl && c == 0; k++)
                    c = f[k] != 0;
                for (size_t k = m; k < l && c == 0; k++)
                    c = -(e[k] != 0);
            }
            if (c <= 0)
                break;
            elems[j] = f;
            lens[j] = fl;
            j--;
        }
        elems[j] = e;
        lens[j] = l;
    }
}
