/* The DER writer (crypto/der.h) against ITU-T X.690 and against OpenSSL's encoder and parser.
 *
 * INTEGERs (8.3) and OBJECT IDENTIFIERs (8.19) are checked byte for byte against the encodings
 * X.690 prescribes and against i2d_ASN1_INTEGER / OBJ_txt2obj + i2d_ASN1_OBJECT; lengths
 * (8.1.3, 10.1) in short and long form at every boundary; constructed values built with
 * der_open/der_close are walked with ASN1_get_object and a Name built with them is read by
 * d2i_X509_NAME; der_sort_set puts the elements of a SET OF in the order of X.690 11.6,
 * including an encoding that is a prefix of another, and agrees with the order OpenSSL gives
 * a multi-valued RDN. A full buffer fails without changing what it holds. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "crypto/der.h"

#include "check.h"

/* ------------------------------------------------------------------------------------------ */
/* INTEGER */

static bool bytes_are(const buf *b, const uint8_t *want, size_t n) {
    return b->len == n && memcmp(b->data, want, n) == 0;
}

/* OpenSSL's DER of v as an INTEGER. */
static bool openssl_uint(buf *out, uint64_t v) {
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    unsigned char *p = NULL;
    int n = ai && ASN1_INTEGER_set_uint64(ai, v) ? i2d_ASN1_INTEGER(ai, &p) : -1;
    bool ok = n > 0 && buf_append(out, p, (size_t)n) == BUF_OK;
    OPENSSL_free(p);
    ASN1_INTEGER_free(ai);
    return ok;
}

static void check_uint(uint64_t v, const uint8_t *want, size_t n) {
    buf b, o;
    buf_init(&b, 64);
    buf_init(&o, 64);
    CHECK_INT(der_put_uint(&b, v), BUF_OK);
    if (want && !bytes_are(&b, want, n))
        fprintf(stderr, "INTEGER %llu: wrong bytes\n", (unsigned long long)v);
    if (want)
        CHECK(bytes_are(&b, want, n));
    CHECK(openssl_uint(&o, v));
    if (!(b.len == o.len && memcmp(b.data, o.data, b.len) == 0))
        fprintf(stderr, "INTEGER %llu: differs from OpenSSL\n", (unsigned long long)v);
    CHECK(b.len == o.len && memcmp(b.data, o.data, b.len) == 0);
    buf_free(&b);
    buf_free(&o);
}

static void test_integer(void) {
    /* X.690 8.3.2: the fewest octets, two's complement, so a leading 1 bit needs a 00. */
    static const uint8_t i0[] = {0x02, 0x01, 0x00};
    static const uint8_t i127[] = {0x02, 0x01, 0x7f};
    static const uint8_t i128[] = {0x02, 0x02, 0x00, 0x80};
    static const uint8_t i255[] = {0x02, 0x02, 0x00, 0xff};
    static const uint8_t i256[] = {0x02, 0x02, 0x01, 0x00};
    static const uint8_t i65535[] = {0x02, 0x03, 0x00, 0xff, 0xff};
    static const uint8_t i2p63m1[] = {0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t i2p63[] = {0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t imax[] = {0x02, 0x09, 0x00, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t i0x10000[] = {0x02, 0x03, 0x01, 0x00, 0x00};
    check_uint(0, i0, sizeof i0);
    check_uint(127, i127, sizeof i127);
    check_uint(128, i128, sizeof i128);
    check_uint(255, i255, sizeof i255);
    check_uint(256, i256, sizeof i256);
    check_uint(65535, i65535, sizeof i65535);
    check_uint(65536, i0x10000, sizeof i0x10000);
    check_uint(((uint64_t)1 << 63) - 1, i2p63m1, sizeof i2p63m1);
    check_uint((uint64_t)1 << 63, i2p63, sizeof i2p63);
    check_uint(UINT64_MAX, imax, sizeof imax);
    /* Around every power of two, against OpenSSL. */
    for (int s = 0; s < 64; s++) {
        uint64_t p = (uint64_t)1 << s;
        check_uint(p - 1, NULL, 0);
        check_uint(p, NULL, 0);
        check_uint(p + 1, NULL, 0);
    }
    /* A full buffer: an error, and nothing past the maximum. */
    buf b;
    buf_init(&b, 4);
    CHECK_INT(buf_putc(&b, 0xAB), BUF_OK);
    CHECK_INT(der_put_uint(&b, 65536), BUF_ETOOBIG);
    CHECK(b.len <= 4 && b.data[0] == 0xAB);
    buf_free(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* OBJECT IDENTIFIER */

static bool openssl_oid(buf *out, const char *dotted) {
    ASN1_OBJECT *o = OBJ_txt2obj(dotted, 1);
    unsigned char *p = NULL;
    int n = o ? i2d_ASN1_OBJECT(o, &p) : -1;
    bool ok = n > 0 && buf_append(out, p, (size_t)n) == BUF_OK;
    OPENSSL_free(p);
    ASN1_OBJECT_free(o);
    return ok;
}

static void check_oid(const char *dotted, const uint8_t *want, size_t n) {
    buf b, o;
    buf_init(&b, 256);
    buf_init(&o, 256);
    CHECK_INT(der_put_oid(&b, dotted), BUF_OK);
    if (want)
        CHECK(bytes_are(&b, want, n));
    CHECK(openssl_oid(&o, dotted));
    bool same = b.len == o.len && memcmp(b.data, o.data, b.len) == 0;
    if (!same)
        fprintf(stderr, "OID %s: differs from OpenSSL\n", dotted);
    CHECK(same);
    /* And it reads back as the same text. */
    const unsigned char *p = b.data;
    ASN1_OBJECT *back = d2i_ASN1_OBJECT(NULL, &p, (long)b.len);
    char txt[256] = "";
    if (back)
        OBJ_obj2txt(txt, sizeof txt, back, 1);
    CHECK_STR(txt, dotted);
    ASN1_OBJECT_free(back);
    buf_free(&b);
    buf_free(&o);
}

static void test_oid(void) {
    /* X.690 8.19: first two arcs as 40*X+Y, base-128 with the high bit on all but the last. */
    static const uint8_t signed_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                          0xf7, 0x0d, 0x01, 0x07, 0x02};
    static const uint8_t cn[] = {0x06, 0x03, 0x55, 0x04, 0x03};
    static const uint8_t sm2sm3[] = {0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75};
    static const uint8_t zero[] = {0x06, 0x01, 0x00};
    static const uint8_t one39[] = {0x06, 0x01, 0x4f};
    static const uint8_t two999[] = {0x06, 0x02, 0x88, 0x37};
    check_oid("1.2.840.113549.1.7.2", signed_data, sizeof signed_data);
    check_oid("2.5.4.3", cn, sizeof cn);
    check_oid("1.2.156.10197.1.501", sm2sm3, sizeof sm2sm3);
    check_oid("0.0", zero, sizeof zero);
    check_oid("1.39", one39, sizeof one39);
    check_oid("2.999", two999, sizeof two999); /* second arc past 39 under 2 */
    /* Those the signer writes. */
    check_oid("1.2.840.113549.1.7.1", NULL, 0);
    check_oid("1.2.840.113549.1.9.3", NULL, 0);
    check_oid("1.2.840.113549.1.9.4", NULL, 0);
    check_oid("1.2.840.113549.1.9.16.2.47", NULL, 0);
    check_oid("2.16.840.1.101.3.4.2.1", NULL, 0);
    check_oid("1.2.840.113549.1.1.10", NULL, 0);
    check_oid("1.2.156.10197.1.401", NULL, 0);
    /* The 2.25 UUID arc (ITU-T X.667), with arcs that fit in 64 bits: 2^32, 2^63 and the
     * largest 64-bit value. */
    check_oid("2.25.4294967296", NULL, 0);
    check_oid("2.25.9223372036854775808", NULL, 0);
    static const uint8_t uuid_max[] = {0x06, 0x0b, 0x69, 0x81, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    check_oid("2.25.18446744073709551615", uuid_max, sizeof uuid_max);
    check_oid("2.25.18446744073709551615.1.2", NULL, 0);
    /* Arcs beyond 64 bits: a whole UUID under 2.25, as the project's own OIDs are. */
    static const uint8_t uuid[] = {0x06, 0x14, 0x69, 0x83, 0xf0, 0x9d, 0xa7, 0xeb,
                                   0xcf, 0xde, 0xe0, 0xc7, 0xa1, 0xa7, 0xb2, 0xc0,
                                   0x94, 0x8c, 0xc8, 0xf9, 0xd7, 0x76};
    check_oid("2.25.329800735698586629295641978511506172918", uuid, sizeof uuid);
    check_oid("2.25.340282366920938463463374607431768211455", NULL, 0); /* 2^128 - 1 */
    check_oid("2.18446744073709551615", NULL, 0); /* 40*2 added to a 64-bit arc */
    /* Arcs that need every base-128 width from one to ten octets. */
    char dotted[64];
    for (int s = 0; s < 64; s += 7) {
        snprintf(dotted, sizeof dotted, "1.3.%llu.%llu", (unsigned long long)1 << s,
                 ((unsigned long long)1 << s) - 1);
        check_oid(dotted, NULL, 0);
    }
    /* 32 arcs fit. */
    check_oid("1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30."
              "31.32",
              NULL, 0);

    /* Malformed text is refused and nothing is written. */
    const char *bad[] = {"",     "1",   "1..2", "1.2.x", ".1.2", "1.2.3a", "a.b",  "1.40",
                         "0.99", "3.1", "1.-2", "1.+2",  " 1.2", "1.2.",   "1.02", "1.2 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b;
        buf_init(&b, 256);
        CHECK(der_put_oid(&b, bad[i]) != BUF_OK);
        CHECK_INT(b.len, 0);
        buf_free(&b);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* lengths */

/* A value that does not fit leaves the buffer as it was. */
static void test_all_or_nothing(void) {
    buf b;
    buf_init(&b, 10);
    uint8_t content[9] = {0};
    CHECK(der_put(&b, DER_OCTET_STRING, content, sizeof content) != BUF_OK);
    CHECK_INT(b.len, 0);
    CHECK_INT(der_put(&b, DER_OCTET_STRING, content, 8), BUF_OK);
    CHECK_INT(b.len, 10);
    buf_free(&b);
}

static void test_lengths(void) {
    /* X.690 8.1.3.4 short form below 128; 8.1.3.5 long form in the fewest octets (10.1). */
    static const struct {
        size_t n;
        uint8_t hdr[6];
        size_t hl;
    } cases[] = {
        {0, {0x04, 0x00}, 2},
        {1, {0x04, 0x01}, 2},
        {127, {0x04, 0x7f}, 2},
        {128, {0x04, 0x81, 0x80}, 3},
        {255, {0x04, 0x81, 0xff}, 3},
        {256, {0x04, 0x82, 0x01, 0x00}, 4},
        {65535, {0x04, 0x82, 0xff, 0xff}, 4},
        {65536, {0x04, 0x83, 0x01, 0x00, 0x00}, 5},
        {16777216, {0x04, 0x84, 0x01, 0x00, 0x00, 0x00}, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].n;
        uint8_t *content = malloc(n ? n : 1);
        if (!content)
            continue;
        for (size_t k = 0; k < n; k++)
            content[k] = (uint8_t)(k * 31 + 7);
        CHECK_INT(der_header_len(n), cases[i].hl);

        /* A primitive value. */
        buf b;
        buf_init(&b, n + 16);
        CHECK_INT(der_put(&b, DER_OCTET_STRING, content, n), BUF_OK);
        CHECK_INT(b.len, cases[i].hl + n);
        CHECK(b.len >= cases[i].hl && memcmp(b.data, cases[i].hdr, cases[i].hl) == 0);
        CHECK(b.len == cases[i].hl + n && memcmp(b.data + cases[i].hl, content, n) == 0);
        /* OpenSSL reads the header the same way. */
        const unsigned char *p = b.data;
        long len = 0;
        int tag = 0, cls = 0;
        int r = ASN1_get_object(&p, &len, &tag, &cls, (long)b.len);
        CHECK(r == 0 && tag == V_ASN1_OCTET_STRING && cls == V_ASN1_UNIVERSAL);
        CHECK((size_t)len == n && (size_t)(p - b.data) == cases[i].hl);

        /* The same content closed as a constructed value after something already there. */
        buf_reset(&b);
        CHECK_INT(buf_putc(&b, 0xEE), BUF_OK);
        size_t start = der_open(&b);
        CHECK_INT(start, 1);
        CHECK_INT(der_put_raw(&b, content, n), BUF_OK);
        CHECK_INT(der_close(&b, start, DER_SEQUENCE), BUF_OK);
        CHECK_INT(b.len, 1 + cases[i].hl + n);
        CHECK(b.len > 1 && b.data[0] == 0xEE && b.data[1] == DER_SEQUENCE);
        CHECK(b.len >= 1 + cases[i].hl &&
              memcmp(b.data + 2, cases[i].hdr + 1, cases[i].hl - 1) == 0);
        CHECK(b.len == 1 + cases[i].hl + n && memcmp(b.data + 1 + cases[i].hl, content, n) == 0);
        buf_free(&b);
        free(content);
    }

    /* Closing into a buffer with no room for the header fails and changes nothing. */
    buf b;
    buf_init(&b, 130);
    uint8_t fill[129];
    memset(fill, 0x5A, sizeof fill);
    size_t start = der_open(&b);
    CHECK_INT(der_put_raw(&b, fill, sizeof fill), BUF_OK);
    CHECK(der_close(&b, start, DER_SEQUENCE) != BUF_OK);
    CHECK_INT(b.len, sizeof fill);
    CHECK(memcmp(b.data, fill, sizeof fill) == 0);
    buf_free(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* nesting */

/* Walks DER with ASN1_get_object; writes "tag(" ... ")" for constructed and "tag:len" for
 * primitive values into out; false when anything is malformed or left over. */
static bool walk(buf *out, const unsigned char *p, long len, int depth) {
    const unsigned char *end = p + len;
    while (p < end) {
        const unsigned char *start = p;
        long l = 0;
        int tag = 0, cls = 0;
        int r = ASN1_get_object(&p, &l, &tag, &cls, end - start);
        if (r & 0x80 || p + l > end || depth > 16)
            return false;
        int id = start[0];
        if (r & V_ASN1_CONSTRUCTED) {
            buf_printf(out, "%02x(", id);
            if (!walk(out, p, l, depth + 1))
                return false;
            buf_puts(out, ")");
        } else {
            buf_printf(out, "%02x:%ld ", id, l);
        }
        p += l;
    }
    return p == end;
}

static void test_nested(void) {
    buf b;
    buf_init(&b, 4096);
    uint8_t big[300];
    memset(big, 0xC3, sizeof big);
    size_t seq = der_open(&b);
    CHECK_INT(der_put_uint(&b, 5), BUF_OK);
    size_t set = der_open(&b);
    CHECK_INT(der_put_oid(&b, "2.5.4.3"), BUF_OK);
    CHECK_INT(der_put(&b, DER_OCTET_STRING, "abc", 3), BUF_OK);
    CHECK_INT(der_close(&b, set, DER_SET), BUF_OK);
    size_t ctx = der_open(&b);
    CHECK_INT(der_put(&b, DER_NULL, NULL, 0), BUF_OK);
    CHECK_INT(der_close(&b, ctx, DER_CTX0), BUF_OK);
    size_t inner = der_open(&b);
    CHECK_INT(der_put(&b, DER_OCTET_STRING, big, sizeof big), BUF_OK);
    size_t empty = der_open(&b);
    CHECK_INT(der_close(&b, empty, DER_SEQUENCE), BUF_OK);
    CHECK_INT(der_close(&b, inner, DER_SEQUENCE), BUF_OK);
    CHECK_INT(der_close(&b, seq, DER_SEQUENCE), BUF_OK);

    /* 30 82 01 4a: 3 (INTEGER) + 12 (SET) + 4 ([0]) + 311 (inner: 4+300 + 2 + header 4) */
    CHECK(b.len >= 4 && b.data[0] == 0x30 && b.data[1] == 0x82);
    CHECK_INT(b.len, 4 + 3 + 12 + 4 + 4 + 304 + 2);
    buf w;
    buf_init(&w, 4096);
    CHECK(walk(&w, b.data, (long)b.len, 0));
    buf_putc(&w, 0);
    CHECK_STR((const char *)w.data, "30(02:1 31(06:3 04:3 )a0(05:0 )30(04:300 30()))");
    buf_free(&w);
    /* A byte less and the walk fails: the check above can fail. */
    buf_init(&w, 4096);
    CHECK(!walk(&w, b.data, (long)b.len - 1, 0));
    buf_free(&w);

    /* A Name built by hand is a Name to OpenSSL: SEQUENCE { SET { SEQUENCE { OID, UTF8 } } } */
    buf_reset(&b);
    size_t name = der_open(&b);
    size_t rdn = der_open(&b);
    size_t atv = der_open(&b);
    CHECK_INT(der_put_oid(&b, "2.5.4.3"), BUF_OK);
    CHECK_INT(der_put(&b, 0x0C, "eseal test", 10), BUF_OK);
    CHECK_INT(der_close(&b, atv, DER_SEQUENCE), BUF_OK);
    CHECK_INT(der_close(&b, rdn, DER_SET), BUF_OK);
    rdn = der_open(&b);
    atv = der_open(&b);
    CHECK_INT(der_put_oid(&b, "2.5.4.10"), BUF_OK);
    CHECK_INT(der_put(&b, 0x0C, "\xe8\xae\xb8\xe5\x8f\xaf", 6), BUF_OK);
    CHECK_INT(der_close(&b, atv, DER_SEQUENCE), BUF_OK);
    CHECK_INT(der_close(&b, rdn, DER_SET), BUF_OK);
    CHECK_INT(der_close(&b, name, DER_SEQUENCE), BUF_OK);
    const unsigned char *p = b.data;
    X509_NAME *xn = d2i_X509_NAME(NULL, &p, (long)b.len);
    CHECK(xn != NULL);
    CHECK(p == b.data + b.len);
    if (xn) {
        char cnbuf[64] = "", obuf[64] = "";
        X509_NAME_get_text_by_NID(xn, NID_commonName, cnbuf, sizeof cnbuf);
        X509_NAME_get_text_by_NID(xn, NID_organizationName, obuf, sizeof obuf);
        CHECK_STR(cnbuf, "eseal test");
        CHECK_STR(obuf, "\xe8\xae\xb8\xe5\x8f\xaf");
        CHECK_INT(X509_NAME_entry_count(xn), 2);
        /* Re-encoded by OpenSSL: the same bytes. */
        unsigned char *q = NULL;
        int n = i2d_X509_NAME(xn, &q);
        CHECK(n > 0 && (size_t)n == b.len && memcmp(q, b.data, b.len) == 0);
        OPENSSL_free(q);
        X509_NAME_free(xn);
    }
    buf_free(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* SET OF order */

/* X.690 11.6: compared as octet strings, the shorter padded with trailing 0-octets. */
static int x690_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t n = al > bl ? al : bl;
    for (size_t i = 0; i < n; i++) {
        unsigned x = i < al ? a[i] : 0, y = i < bl ? b[i] : 0;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

static bool sorted(const uint8_t **e, const size_t *l, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (x690_cmp(e[i - 1], l[i - 1], e[i], l[i]) > 0)
            return false;
    return true;
}

/* The output holds the same (pointer, length) pairs as the input. */
static bool permutation(const uint8_t **in, const size_t *il, const uint8_t **out, const size_t *ol,
                        size_t n) {
    bool *used = calloc(n ? n : 1, 1);
    bool ok = used != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++) {
            if (!used[j] && out[j] == in[i] && ol[j] == il[i]) {
                used[j] = true;
                found = true;
            }
        }
        ok = found;
    }
    free(used);
    return ok;
}

static void test_sort_set(void) {
    static const uint8_t a[] = {0xAA}, a00[] = {0xAA, 0x00}, a01[] = {0xAA, 0x01},
                         abb[] = {0xAA, 0xBB}, z[] = {0x00}, ff[] = {0xFF},
                         seq5[] = {0x30, 0x03, 0x02, 0x01, 0x05},
                         seq3[] = {0x30, 0x03, 0x02, 0x01, 0x03}, set0[] = {0x31, 0x00};

    /* A prefix comes first, whichever order it came in. */
    const uint8_t *e[8] = {abb, a};
    size_t l[8] = {2, 1};
    der_sort_set(e, l, 2);
    CHECK(e[0] == a && l[0] == 1 && e[1] == abb && l[1] == 2);
    der_sort_set(e, l, 2);
    CHECK(e[0] == a && e[1] == abb);
    e[0] = a01;
    l[0] = 2;
    e[1] = a;
    l[1] = 1;
    der_sort_set(e, l, 2);
    CHECK(e[0] == a && e[1] == a01);

    /* A mixed set: shorter-but-greater comes after longer-but-smaller. */
    const uint8_t *in[7] = {ff, seq5, abb, set0, a01, seq3, a};
    size_t il[7] = {1, 5, 2, 2, 2, 5, 1};
    memcpy(e, in, sizeof in);
    memcpy(l, il, sizeof il);
    der_sort_set(e, l, 7);
    const uint8_t *want[7] = {seq3, seq5, set0, a, a01, abb, ff};
    for (size_t i = 0; i < 7; i++)
        CHECK(e[i] == want[i]);
    CHECK(sorted(e, l, 7) && permutation(in, il, e, l, 7));

    /* Equal under the padding rule (AA and AA 00, 00 and the empty string): adjacent, and
     * the rest in order. */
    const uint8_t *in2[6] = {a00, z, abb, a, z, a00};
    size_t il2[6] = {2, 1, 2, 1, 0, 2};
    memcpy(e, in2, sizeof in2);
    memcpy(l, il2, sizeof il2);
    der_sort_set(e, l, 6);
    CHECK(sorted(e, l, 6) && permutation(in2, il2, e, l, 6));
    CHECK(e[5] == abb);

    /* Nothing and one element. */
    der_sort_set(e, l, 0);
    e[0] = ff;
    l[0] = 1;
    der_sort_set(e, l, 1);
    CHECK(e[0] == ff && l[0] == 1);

    /* Many random elements over a small alphabet, so prefixes and ties are common. */
    enum { N = 300 };
    static uint8_t pool[N][6];
    static const uint8_t *re[N], *rin[N];
    static size_t rl[N], ril[N];
    uint32_t seed = 12345;
    static const uint8_t alphabet[] = {0x00, 0x01, 0x30, 0xAA};
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        ril[i] = (seed >> 16) % 6;
        for (size_t k = 0; k < ril[i]; k++) {
            seed = seed * 1103515245u + 12345u;
            pool[i][k] = alphabet[(seed >> 16) % 4];
        }
        rin[i] = pool[i];
    }
    memcpy(re, rin, sizeof re);
    memcpy(rl, ril, sizeof rl);
    CHECK(!sorted(re, rl, N)); /* the input is not already sorted */
    der_sort_set(re, rl, N);
    CHECK(sorted(re, rl, N));
    CHECK(permutation(rin, ril, re, rl, N));
}

/* The attribute (type, value) pairs of one RDN encoded by OpenSSL, against der_sort_set. */
static size_t atv(uint8_t *out, const char *oid, const char *val) {
    buf b;
    buf_init(&b, 256);
    size_t s = der_open(&b);
    der_put_oid(&b, oid);
    der_put(&b, 0x0C, val, strlen(val));
    der_close(&b, s, DER_SEQUENCE);
    size_t n = b.len;
    memcpy(out, b.data, n);
    buf_free(&b);
    return n;
}

static void test_sort_like_openssl(void) {
    /* One RDN with O=aa, CN=zz, L=a, OU=b (in that order): OpenSSL sorts the SET OF. */
    X509_NAME *xn = X509_NAME_new();
    CHECK(xn != NULL);
    if (!xn)
        return;
    static const char *types[4] = {"O", "CN", "L", "OU"};
    static const char *oids[4] = {"2.5.4.10", "2.5.4.3", "2.5.4.7", "2.5.4.11"};
    static const char *vals[4] = {"aa", "zz", "a", "bbbbbb"};
    for (int i = 0; i < 4; i++)
        CHECK(X509_NAME_add_entry_by_txt(xn, types[i], MBSTRING_UTF8,
                                         (const unsigned char *)vals[i], -1, -1,
                                         i == 0 ? 0 : -1) == 1);
    CHECK_INT(X509_NAME_entry_count(xn), 4);
    unsigned char *q = NULL;
    int qn = i2d_X509_NAME(xn, &q);

    static uint8_t enc[4][64];
    const uint8_t *e[4];
    size_t l[4];
    for (int i = 0; i < 4; i++) {
        l[i] = atv(enc[i], oids[i], vals[i]);
        e[i] = enc[i];
    }
    der_sort_set(e, l, 4);
    buf b;
    buf_init(&b, 1024);
    size_t name = der_open(&b);
    size_t rdn = der_open(&b);
    for (int i = 0; i < 4; i++)
        der_put_raw(&b, e[i], l[i]);
    der_close(&b, rdn, DER_SET);
    der_close(&b, name, DER_SEQUENCE);
    CHECK(qn > 0 && (size_t)qn == b.len && memcmp(q, b.data, b.len) == 0);
    /* Unsorted, the bytes differ: the comparison above can fail. */
    CHECK(!(e[0] == enc[0] && e[1] == enc[1] && e[2] == enc[2] && e[3] == enc[3]));
    OPENSSL_free(q);
    X509_NAME_free(xn);
    buf_free(&b);
}

int main(void) {
    test_all_or_nothing();
    test_integer();
    test_oid();
    test_lengths();
    test_nested();
    test_sort_set();
    test_sort_like_openssl();
    return check_report("test_der");
}
