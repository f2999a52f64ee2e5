#include "crypto/der.h"

#include <stdbool.h>
#include <stdint.h>
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
    if (n > SIZE_MAX - hl)
        return BUF_ETOOBIG;
    int rc = buf_reserve(b, hl + n); /* all or nothing */
    if (rc == BUF_OK)
        rc = buf_append(b, h, hl);
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

/* Appends the base-128 form (X.690 8.19.2) of the decimal number in digits[0..n) to out, of any
 * size: the project's own OIDs sit under 2.25 (ITU-T X.667), whose arcs are 128-bit UUIDs.
 * add is added first (the 40*X of the first subidentifier). Returns bytes written or 0. */
static size_t arc_base128(uint8_t *out, size_t room, const char *digits, size_t n, unsigned add) {
    uint8_t num[64]; /* the number in base 256, little-endian */
    size_t len = 1;
    num[0] = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned carry = (unsigned)(digits[i] - '0');
        for (size_t k = 0; k < len; k++) {
            unsigned v = num[k] * 10u + carry;
            num[k] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry) {
            if (len == sizeof num)
                return 0;
            num[len++] = (uint8_t)carry;
        }
    }
    for (size_t k = 0; add && k < len; k++) {
        unsigned v = num[k] + add;
        num[k] = (uint8_t)v;
        add = v >> 8;
        if (add && k + 1 == len) {
            if (len == sizeof num)
                return 0;
            num[len++] = 0;
        }
    }
    /* repeated division by 128 gives the groups, least significant first */
    uint8_t groups[80];
    size_t ng = 0;
    for (;;) {
        unsigned rem = 0;
        bool zero = true;
        for (size_t k = len; k-- > 0;) {
            unsigned v = rem << 8 | num[k];
            num[k] = (uint8_t)(v / 128);
            rem = v % 128;
            zero &= num[k] == 0;
        }
        groups[ng++] = (uint8_t)rem;
        if (zero || ng == sizeof groups)
            break;
    }
    if (ng > room)
        return 0;
    for (size_t i = 0; i < ng; i++)
        out[i] = (uint8_t)(groups[ng - 1 - i] | (i + 1 < ng ? 0x80 : 0));
    return ng;
}

/* X.690 8.19: the first two arcs as 40*X+Y, then each arc in base 128. The dotted form must be
 * strict: decimal digits only, at least two arcs, the first 0, 1 or 2, the second below 40
 * unless the first is 2, no empty arcs, signs or spaces. */
int der_put_oid(buf *b, const char *dotted) {
    uint8_t tmp[256];
    size_t n = 0, arcs = 0;
    unsigned first = 0;
    const char *p = dotted;
    for (;;) {
        const char *start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 0 || (*p != '.' && *p != '\0') || (len > 1 && start[0] == '0'))
            return BUF_ETOOBIG;
        if (arcs == 0) {
            if (len != 1 || start[0] > '2')
                return BUF_ETOOBIG;
            first = (unsigned)(start[0] - '0');
        } else {
            if (arcs == 1 && first < 2 && (len > 2 || (len == 2 && start[0] >= '4')))
                return BUF_ETOOBIG;
            size_t w = arc_base128(tmp + n, sizeof tmp - n, start, len, arcs == 1 ? 40 * first : 0);
            if (w == 0)
                return BUF_ETOOBIG;
            n += w;
        }
        arcs++;
        if (*p == '\0')
            break;
        p++;
    }
    if (arcs < 2)
        return BUF_ETOOBIG;
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
