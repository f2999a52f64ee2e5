/* A DER writer (ITU-T X.690 clause 10) over a byte buffer: a constructed value is opened,
 * filled, and closed, and closing inserts its tag and definite length in front. */
#ifndef ESEAL_CRYPTO_DER_H
#define ESEAL_CRYPTO_DER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum {
    DER_INTEGER = 0x02,
    DER_BIT_STRING = 0x03,
    DER_OCTET_STRING = 0x04,
    DER_NULL = 0x05,
    DER_OID = 0x06,
    DER_SEQUENCE = 0x30,
    DER_SET = 0x31,
    DER_CTX0 = 0xA0, /* [0] constructed */
    DER_CTX1 = 0xA1,
    DER_CTX2 = 0xA2,
    DER_CTX4 = 0xA4
};

/* Starts a constructed value: returns where its content begins. */
size_t der_open(const buf *b);
/* Ends it: inserts tag and length before the content that starts at start. */
int der_close(buf *b, size_t start, uint8_t tag);
/* A primitive value. */
int der_put(buf *b, uint8_t tag, const void *p, size_t n);
/* Bytes already DER-encoded. */
int der_put_raw(buf *b, const void *p, size_t n);
/* A small non-negative INTEGER. */
int der_put_uint(buf *b, uint64_t v);
/* An OBJECT IDENTIFIER from its dotted form ("1.2.840.113549.1.7.2"). */
int der_put_oid(buf *b, const char *dotted);
/* Length of a DER header for content of n bytes. */
size_t der_header_len(size_t n);

/* X.690 11.6: DER orders the elements of a SET OF by their encodings. Sorts n encoded
 * elements (pointers and lengths) in place. */
void der_sort_set(const uint8_t **elems, size_t *lens, size_t n);

#endif
