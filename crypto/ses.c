/* Electronic seals (crypto/ses.h): GB/T 38540-2020 SES_Seal version 4, made and read, and the
 * GM/T 0031-2014 SESeal read, with OpenSSL ASN.1 templates.
 *
 * Reading is in two steps. A walk over the encoding first checks that it is one well-formed
 * value with nothing after it, definite minimal lengths (DER; the GM/T 0031 layout may be BER
 * with indefinite lengths, as BouncyCastle writes it), constructed encodings only for SEQUENCE
 * and SET, at most SES_MAX_CHILDREN elements in each and SES_MAX_DEPTH levels: what the
 * templates then allocate is bounded by the input. The templates then decode it, and every
 * field is checked against the standard and the limits of crypto/ses.h. */
#include "crypto/ses.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "crypto/ca.h"
#include "crypto/der.h"
#include "crypto/internal.h"

#define SES_MAX_CHILDREN 64 /* elements of any one SEQUENCE: certList is refused beyond 32 */
#define SES_MAX_DEPTH 12    /* SES_Seal > SES_SealInfo > property > certList > CertDigestObj */
#define SES_MAX_DIGEST 64   /* CertDigestObj.value: the largest digest there is */
#define SES_VERSION 4       /* GB/T 38540-2020 7.1: SES_Header.version */

/* ---- ASN.1 (GB/T 38540-2020 clause 7, GM/T 0031-2014 clause 6) ---- */
/* clang-format off */

/* GB/T 38540-2020 7.2 / GM/T 0031-2014 6.2: SES_Header */
typedef struct {
    ASN1_IA5STRING *id;
    ASN1_INTEGER *version;
    ASN1_IA5STRING *vid;
} SES_HEADER;
ASN1_SEQUENCE(SES_HEADER) = {
    ASN1_SIMPLE(SES_HEADER, id, ASN1_IA5STRING),
    ASN1_SIMPLE(SES_HEADER, version, ASN1_INTEGER),
    ASN1_SIMPLE(SES_HEADER, vid, ASN1_IA5STRING),
} static_ASN1_SEQUENCE_END(SES_HEADER)

/* GB/T 38540-2020 7.4: CertDigestObj (certListType 2) */
typedef struct {
    ASN1_PRINTABLESTRING *type;
    ASN1_OCTET_STRING *value;
} SES_CERT_DIGEST;
ASN1_SEQUENCE(SES_CERT_DIGEST) = {
    ASN1_SIMPLE(SES_CERT_DIGEST, type, ASN1_PRINTABLESTRING),
    ASN1_SIMPLE(SES_CERT_DIGEST, value, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(SES_CERT_DIGEST)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(SES_CERT_DIGEST)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(SES_CERT_DIGEST)

/* GB/T 38540-2020 7.3: SES_ESPropertyInfo. SES_CertList is an untagged CHOICE of two SEQUENCE
 * OFs that only certListType tells apart: read as SEQUENCE OF ANY, each element checked against
 * the type. The times are GeneralizedTime in the standard; ASN1_TIME reads UTCTime too, which
 * is accepted. */
typedef struct {
    ASN1_INTEGER *type;
    ASN1_UTF8STRING *name;
    ASN1_INTEGER *cert_list_type;
    STACK_OF(ASN1_TYPE) *cert_list;
    ASN1_TIME *created, *valid_start, *valid_end;
} SES_PROPERTY;
ASN1_SEQUENCE(SES_PROPERTY) = {
    ASN1_SIMPLE(SES_PROPERTY, type, ASN1_INTEGER),
    ASN1_SIMPLE(SES_PROPERTY, name, ASN1_UTF8STRING),
    ASN1_SIMPLE(SES_PROPERTY, cert_list_type, ASN1_INTEGER),
    ASN1_SEQUENCE_OF(SES_PROPERTY, cert_list, ASN1_ANY),
    ASN1_SIMPLE(SES_PROPERTY, created, ASN1_TIME),
    ASN1_SIMPLE(SES_PROPERTY, valid_start, ASN1_TIME),
    ASN1_SIMPLE(SES_PROPERTY, valid_end, ASN1_TIME),
} static_ASN1_SEQUENCE_END(SES_PROPERTY)

/* GM/T 0031-2014 6.3: SES_ESPropertyInfo, with no certListType and certList a SEQUENCE OF
 * OCTET STRING (read as SEQUENCE OF ANY, each element checked, as above). The times are UTCTime
 * in the standard; some producers write GeneralizedTime (ofdrw reads both), accepted too. */
typedef struct {
    ASN1_INTEGER *type;
    ASN1_UTF8STRING *name;
    STACK_OF(ASN1_TYPE) *cert_list;
    ASN1_TIME *created, *valid_start, *valid_end;
} SES_PROPERTY_GMT;
ASN1_SEQUENCE(SES_PROPERTY_GMT) = {
    ASN1_SIMPLE(SES_PROPERTY_GMT, type, ASN1_INTEGER),
    ASN1_SIMPLE(SES_PROPERTY_GMT, name, ASN1_UTF8STRING),
    ASN1_SEQUENCE_OF(SES_PROPERTY_GMT, cert_list, ASN1_ANY),
    ASN1_SIMPLE(SES_PROPERTY_GMT, created, ASN1_TIME),
    ASN1_SIMPLE(SES_PROPERTY_GMT, valid_start, ASN1_TIME),
    ASN1_SIMPLE(SES_PROPERTY_GMT, valid_end, ASN1_TIME),
} static_ASN1_SEQUENCE_END(SES_PROPERTY_GMT)

/* GB/T 38540-2020 7.5 / GM/T 0031-2014 6.4: SES_ESPictrueInfo (sic), width and height in mm */
typedef struct {
    ASN1_IA5STRING *type;
    ASN1_OCTET_STRING *data;
    ASN1_INTEGER *width, *height;
} SES_PICTURE;
ASN1_SEQUENCE(SES_PICTURE) = {
    ASN1_SIMPLE(SES_PICTURE, type, ASN1_IA5STRING),
    ASN1_SIMPLE(SES_PICTURE, data, ASN1_OCTET_STRING),
    ASN1_SIMPLE(SES_PICTURE, width, ASN1_INTEGER),
    ASN1_SIMPLE(SES_PICTURE, height, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(SES_PICTURE)

/* GB/T 38540-2020 7.6 / GM/T 0031-2014 6.5: ExtData ::= SEQUENCE { extnID OBJECT IDENTIFIER,
 * critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
typedef struct {
    ASN1_OBJECT *id;
    ASN1_BOOLEAN critical; /* -1 when absent */
    ASN1_OCTET_STRING *value;
} SES_EXTDATA;
ASN1_SEQUENCE(SES_EXTDATA) = {
    ASN1_SIMPLE(SES_EXTDATA, id, ASN1_OBJECT),
    ASN1_OPT(SES_EXTDATA, critical, ASN1_BOOLEAN),
    ASN1_SIMPLE(SES_EXTDATA, value, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(SES_EXTDATA)
DEFINE_STACK_OF(SES_EXTDATA)

/* GB/T 38540-2020 7.1: SES_SealInfo */
typedef struct {
    SES_HEADER *header;
    ASN1_IA5STRING *esid;
    SES_PROPERTY *property;
    SES_PICTURE *picture;
    STACK_OF(SES_EXTDATA) *ext;
} SES_SEALINFO;
ASN1_SEQUENCE(SES_SEALINFO) = {
    ASN1_SIMPLE(SES_SEALINFO, header, SES_HEADER),
    ASN1_SIMPLE(SES_SEALINFO, esid, ASN1_IA5STRING),
    ASN1_SIMPLE(SES_SEALINFO, property, SES_PROPERTY),
    ASN1_SIMPLE(SES_SEALINFO, picture, SES_PICTURE),
    ASN1_SEQUENCE_OF_OPT(SES_SEALINFO, ext, SES_EXTDATA),
} static_ASN1_SEQUENCE_END(SES_SEALINFO)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(SES_SEALINFO)

/* GM/T 0031-2014 6.1: SES_SealInfo, the same with its own property */
typedef struct {
    SES_HEADER *header;
    ASN1_IA5STRING *esid;
    SES_PROPERTY_GMT *property;
    SES_PICTURE *picture;
    STACK_OF(SES_EXTDATA) *ext;
} SES_SEALINFO_GMT;
ASN1_SEQUENCE(SES_SEALINFO_GMT) = {
    ASN1_SIMPLE(SES_SEALINFO_GMT, header, SES_HEADER),
    ASN1_SIMPLE(SES_SEALINFO_GMT, esid, ASN1_IA5STRING),
    ASN1_SIMPLE(SES_SEALINFO_GMT, property, SES_PROPERTY_GMT),
    ASN1_SIMPLE(SES_SEALINFO_GMT, picture, SES_PICTURE),
    ASN1_SEQUENCE_OF_OPT(SES_SEALINFO_GMT, ext, SES_EXTDATA),
} static_ASN1_SEQUENCE_END(SES_SEALINFO_GMT)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(SES_SEALINFO_GMT)

/* GB/T 38540-2020 7.1: SES_Seal ::= SEQUENCE { eSealInfo, cert, signAlgID, signedValue } */
typedef struct {
    SES_SEALINFO *info;
    ASN1_OCTET_STRING *cert;
    ASN1_OBJECT *alg;
    ASN1_BIT_STRING *sig;
} SES_SEAL;
ASN1_SEQUENCE(SES_SEAL) = {
    ASN1_SIMPLE(SES_SEAL, info, SES_SEALINFO),
    ASN1_SIMPLE(SES_SEAL, cert, ASN1_OCTET_STRING),
    ASN1_SIMPLE(SES_SEAL, alg, ASN1_OBJECT),
    ASN1_SIMPLE(SES_SEAL, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(SES_SEAL)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(SES_SEAL)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(SES_SEAL)

/* GM/T 0031-2014 6.6: SES_SignInfo ::= SEQUENCE { cert, signatureAlgorithm, signData } */
typedef struct {
    ASN1_OCTET_STRING *cert;
    ASN1_OBJECT *alg;
    ASN1_BIT_STRING *sig;
} SES_SIGNINFO;
ASN1_SEQUENCE(SES_SIGNINFO) = {
    ASN1_SIMPLE(SES_SIGNINFO, cert, ASN1_OCTET_STRING),
    ASN1_SIMPLE(SES_SIGNINFO, alg, ASN1_OBJECT),
    ASN1_SIMPLE(SES_SIGNINFO, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(SES_SIGNINFO)

/* GM/T 0031-2014 6.1: SESeal ::= SEQUENCE { esealInfo, signInfo } (read only) */
typedef struct {
    SES_SEALINFO_GMT *info;
    SES_SIGNINFO *sign;
} SES_SEAL_GMT;
ASN1_SEQUENCE(SES_SEAL_GMT) = {
    ASN1_SIMPLE(SES_SEAL_GMT, info, SES_SEALINFO_GMT),
    ASN1_SIMPLE(SES_SEAL_GMT, sign, SES_SIGNINFO),
} static_ASN1_SEQUENCE_END(SES_SEAL_GMT)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(SES_SEAL_GMT)

    /* clang-format on */

    /* ---- what a seal holds beyond crypto_ses ---- */

    struct ses_digest {
    char type[CRYPTO_SES_MAX_TEXT + 1];
    uint8_t value[SES_MAX_DIGEST];
    size_t len;
};

struct crypto_ses_priv {
    uint8_t *der; /* a copy of the input */
    size_t der_len;
    size_t info_off, info_len; /* SES_SealInfo as found in der */
    uint8_t *info_der;         /* its DER re-encoding when it was BER (GM/T 0031 only) */
    size_t info_der_len;
    uint8_t *cert; /* the maker certificate's DER, as found */
    size_t cert_len;
    uint8_t *sig; /* the signature value */
    size_t sig_len;
    uint8_t *listed[CRYPTO_SES_MAX_CERTS]; /* certListType 1: certificate DER */
    size_t listed_len[CRYPTO_SES_MAX_CERTS];
    struct ses_digest *digests; /* certListType 2: n_listed of them */
    size_t n_ext;
    const char *signed_over; /* set by crypto_ses_check_maker when it holds */
};

/* ---- the walk over the encoding (X.690 8.1, 10.1) ---- */

typedef struct tlv {
    uint8_t tag;
    size_t hdr;  /* identifier and length octets */
    size_t len;  /* content octets (indefinite: those up to the end-of-contents octets) */
    size_t size; /* the whole value, end-of-contents included */
    bool indefinite;
} tlv;

typedef struct walk {
    bool ber_ok;   /* indefinite lengths accepted */
    bool ber_seen; /* one was found */
    const char *why;
    crypto_err err;
} walk;

static bool walk_fail(walk *w, crypto_err err, const char *why) {
    if (!w->why) {
        w->why = why;
        w->err = err;
    }
    return false;
}

static bool walk_value(walk *w, tlv *t, const uint8_t *p, size_t avail, int depth);

/* The content of a constructed value: its elements, counted. */
static bool walk_content(walk *w, tlv *t, const uint8_t *p, size_t avail, int depth) {
    size_t off = 0, n = 0;
    for (;;) {
        if (!t->indefinite && off == t->len)
            break;
        if (t->indefinite && avail - off >= 2 && p[off] == 0 && p[off + 1] == 0) {
            t->len = off;
            t->size = t->hdr + off + 2;
            break;
        }
        tlv c;
        if (!walk_value(w, &c, p + off, (t->indefinite ? avail : t->len) - off, depth + 1))
            return false;
        if (++n > SES_MAX_CHILDREN)
            return walk_fail(w, CRYPTO_E_LIMIT, "a SEQUENCE holds too many elements");
        off += c.size;
    }
    return true;
}

/* One value at p (avail bytes there): its header, and its elements when constructed. */
static bool walk_value(walk *w, tlv *t, const uint8_t *p, size_t avail, int depth) {
    memset(t, 0, sizeof *t);
    if (depth > SES_MAX_DEPTH)
        return walk_fail(w, CRYPTO_E_LIMIT, "values nested too deep");
    if (avail < 2)
        return walk_fail(w, CRYPTO_E_FORMAT, "truncated");
    t->tag = p[0];
    if ((t->tag & 0x1f) == 0x1f) /* X.690 8.1.2.4: no seal element has such a tag */
        return walk_fail(w, CRYPTO_E_FORMAT, "unexpected high tag number");
    if (t->tag == 0)
        return walk_fail(w, CRYPTO_E_FORMAT, "unexpected end-of-contents");
    bool constructed = t->tag & 0x20;
    if (constructed && t->tag != 0x30 && t->tag != 0x31)
        return walk_fail(w, CRYPTO_E_FORMAT, "constructed encoding of a primitive type");
    uint8_t l0 = p[1];
    t->hdr = 2;
    if (l0 == 0x80) { /* X.690 8.1.3.6: BER only */
        if (!constructed || !w->ber_ok)
            return walk_fail(w, CRYPTO_E_FORMAT, "indefinite length (not DER)");
        w->ber_seen = true;
        t->indefinite = true;
        return walk_content(w, t, p + 2, avail - 2, depth);
    }
    if (l0 < 0x80) {
        t->len = l0;
    } else {
        size_t nb = l0 & 0x7f;
        if (nb > 4 || avail < 2 + nb)
            return walk_fail(w, CRYPTO_E_FORMAT, nb > 4 ? "length too large" : "truncated");
        size_t v = 0;
        for (size_t i = 0; i < nb; i++)
            v = v << 8 | p[2 + i];
        /* X.690 10.1: the fewest octets, long form only from 128 */
        if (v < 0x80 || p[2] == 0)
            return walk_fail(w, CRYPTO_E_FORMAT, "length not in its shortest form (not DER)");
        t->len = v;
        t->hdr += nb;
    }
    if (t->len > avail - t->hdr)
        return walk_fail(w, CRYPTO_E_FORMAT, "truncated");
    t->size = t->hdr + t->len;
    return !constructed || walk_content(w, t, p + t->hdr, t->len, depth);
}

/* ---- field checks ---- */

/* RFC 3629 section 4: well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF), and no NUL. */
static bool utf8_ok(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80             ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : 9;
        if (c == 0 || k == 9 || n - i <= k)
            return false;
        uint32_t cp = k == 0 ? c : k == 1 ? c & 0x1fu : k == 2 ? c & 0x0fu : c & 0x07u;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3fu);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A text field as a C string: at most CRYPTO_SES_MAX_TEXT bytes, no NUL; ascii: 7-bit printable
 * (IA5String and PrintableString as the seal uses them). */
static crypto_err text(char **out, const ASN1_STRING *s, const char *what, bool ascii,
                       bool empty_ok) {
    const uint8_t *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    *out = NULL;
    if (n < 0 || (size_t)n > CRYPTO_SES_MAX_TEXT)
        return crypto_fail(CRYPTO_E_LIMIT, "%s is longer than %u bytes", what,
                           (unsigned)CRYPTO_SES_MAX_TEXT);
    if (n == 0 && !empty_ok)
        return crypto_fail(CRYPTO_E_FORMAT, "%s is empty", what);
    for (int i = 0; i < n; i++) {
        if (d[i] == 0)
            return crypto_fail(CRYPTO_E_FORMAT, "%s holds a NUL byte", what);
        if (ascii && (d[i] < 0x20 || d[i] > 0x7e))
            return crypto_fail(CRYPTO_E_FORMAT,
                               "%s holds a byte (0x%02x) that is not printable ASCII", what, d[i]);
    }
    if (!ascii && !utf8_ok(d, (size_t)n))
        return crypto_fail(CRYPTO_E_FORMAT, "%s is not valid UTF-8", what);
    if (!(*out = malloc((size_t)n + 1)))
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    if (n)
        memcpy(*out, d, (size_t)n);
    (*out)[n] = '\0';
    return CRYPTO_OK;
}

static crypto_err integer(int *out, const ASN1_INTEGER *ai, const char *what, int lo, int hi) {
    int64_t v = 0;
    if (!ASN1_INTEGER_get_int64(&v, ai) || v < lo || v > hi) {
        ERR_clear_error();
        return crypto_fail(CRYPTO_E_FORMAT, "%s is out of range (%d to %d)", what, lo, hi);
    }
    *out = (int)v;
    return CRYPTO_OK;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
/* A UTCTime or GeneralizedTime as it must be (ASN1_TIME_to_tm checks the digits, the date and
 * the zone), in seconds since 1970 UTC. */
static crypto_err when(time_t *out, const ASN1_TIME *t, const char *what) {
    if (!time_from_asn1(out, t)) {
        ERR_clear_error();
        return crypto_fail(CRYPTO_E_FORMAT, "%s is not a valid time", what);
    }
    return CRYPTO_OK;
}

static crypto_err copy_bytes(uint8_t **out, size_t *len, const ASN1_STRING *s) {
    int n = ASN1_STRING_length(s);
    *out = malloc(n > 0 ? (size_t)n : 1);
    *len = n > 0 ? (size_t)n : 0;
    if (!*out)
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    if (n > 0)
        memcpy(*out, ASN1_STRING_get0_data(s), (size_t)n);
    return CRYPTO_OK;
}

/* A certificate's DER, read whole: nothing may follow it inside its OCTET STRING. */
static crypto_err cert_from(X509 **out, const ASN1_STRING *s, const char *what) {
    const unsigned char *p = ASN1_STRING_get0_data(s);
    long n = ASN1_STRING_length(s);
    X509 *x = d2i_X509(NULL, &p, n);
    *out = NULL;
    if (!x || p != ASN1_STRING_get0_data(s) + n) {
        X509_free(x);
        ERR_clear_error();
        return crypto_fail(CRYPTO_E_FORMAT, "%s is not a certificate (DER)", what);
    }
    if (!crypto_sm2_cert_prepare(x)) {
        X509_free(x);
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    }
    *out = x;
    return CRYPTO_OK;
}

/* GB/T 38540-2020 7.4: certListType 1 lists certificates (OCTET STRING of each DER), type 2
 * their digests (CertDigestObj); GM/T 0031-2014 6.3 lists certificates only. */
static crypto_err read_cert_list(crypto_ses *s, int type, STACK_OF(ASN1_TYPE) * any) {
    struct crypto_ses_priv *p = s->priv;
    int n = sk_ASN1_TYPE_num(any);
    crypto_err err = CRYPTO_OK;
    char what[64];
    if (n <= 0)
        return crypto_fail(CRYPTO_E_FORMAT, "the seal lists no signer certificate");
    if (n > CRYPTO_SES_MAX_CERTS)
        return crypto_fail(CRYPTO_E_LIMIT, "the seal lists %d signer certificates (at most %d)", n,
                           CRYPTO_SES_MAX_CERTS);
    if (type == 1 && !(s->certs = sk_X509_new_null()))
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    if (type == 2 && !(p->digests = calloc((size_t)n, sizeof *p->digests)))
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    for (int i = 0; i < n && err == CRYPTO_OK; i++) {
        const ASN1_TYPE *t = sk_ASN1_TYPE_value(any, i);
        snprintf(what, sizeof what, "certList entry %d", i + 1);
        if (type == 1) {
            if (t->type != V_ASN1_OCTET_STRING) {
                err = crypto_fail(CRYPTO_E_FORMAT,
                                  "%s is not an OCTET STRING holding a certificate", what);
                break;
            }
            const ASN1_STRING *os = t->value.octet_string;
            X509 *x = NULL;
            if ((err = cert_from(&x, os, what)) != CRYPTO_OK)
                break;
            if (!sk_X509_push(s->certs, x)) {
                X509_free(x);
                err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
                break;
            }
            err = copy_bytes(&p->listed[i], &p->listed_len[i], os);
        } else {
            if (t->type != V_ASN1_SEQUENCE) {
                err = crypto_fail(CRYPTO_E_FORMAT,
                                  "%s is not a CertDigestObj, as certListType 2 requires", what);
                break;
            }
            const unsigned char *q = t->value.sequence->data;
            long ql = t->value.sequence->length;
            SES_CERT_DIGEST *cd = d2i_SES_CERT_DIGEST(NULL, &q, ql);
            char *dt = NULL;
            int vl = cd ? ASN1_STRING_length(cd->value) : 0;
            if (!cd || q != t->value.sequence->data + ql)
                err = crypto_fail(CRYPTO_E_FORMAT, "%s is not a CertDigestObj", what);
            else if ((err = text(&dt, cd->type, "CertDigestObj.type", true, false)) == CRYPTO_OK &&
                     (vl < 1 || vl > SES_MAX_DIGEST))
                err = crypto_fail(CRYPTO_E_FORMAT, "%s holds a digest of %d bytes", what, vl);
            if (err == CRYPTO_OK) {
                snprintf(p->digests[i].type, sizeof p->digests[i].type, "%s", dt);
                memcpy(p->digests[i].value, ASN1_STRING_get0_data(cd->value), (size_t)vl);
                p->digests[i].len = (size_t)vl;
            }
            free(dt);
            SES_CERT_DIGEST_free(cd);
            ERR_clear_error();
        }
        if (err == CRYPTO_OK)
            s->n_listed = (size_t)i + 1;
    }
    return err;
}

/* GB/T 38540-2020 7.6: ExtensionDatas. No extension is defined by the standard, so none is
 * understood: a critical one makes the seal's meaning unknown, and it is refused. */
static crypto_err read_ext(crypto_ses *s, STACK_OF(SES_EXTDATA) * ext) {
    for (int i = 0; i < sk_SES_EXTDATA_num(ext); i++) {
        const SES_EXTDATA *e = sk_SES_EXTDATA_value(ext, i);
        if (e->critical > 0) {
            char oid[128] = "";
            OBJ_obj2txt(oid, sizeof oid, e->id, 1);
            return crypto_fail(CRYPTO_E_FORMAT,
                               "the seal has a critical extension (%s) not understood", oid);
        }
    }
    s->priv->n_ext = (size_t)(ext ? sk_SES_EXTDATA_num(ext) : 0);
    return CRYPTO_OK;
}

/* What both layouts share: the header was checked by the caller. */
static crypto_err read_info(crypto_ses *s, const SES_HEADER *h, const ASN1_IA5STRING *esid,
                            const ASN1_INTEGER *type, const ASN1_UTF8STRING *name,
                            const ASN1_TIME *const times[3], const SES_PICTURE *pic) {
    crypto_err err;
    /* GB/T 38540-2020 7.2: ID is "ES" */
    if (ASN1_STRING_length(h->id) != 2 || memcmp(ASN1_STRING_get0_data(h->id), "ES", 2) != 0)
        return crypto_fail(CRYPTO_E_FORMAT, "SES_Header.ID is not \"ES\"");
    /* Vid names the vendor, for interoperation only; ofdrw writes Chinese text into this
     * IA5String, so bytes beyond ASCII are shown as '?' rather than refused. */
    if ((err = text(&s->vid, h->vid, "SES_Header.Vid", true, true)) != CRYPTO_OK &&
        err != CRYPTO_E_FORMAT)
        return err;
    if (err == CRYPTO_E_FORMAT) {
        const uint8_t *d = ASN1_STRING_get0_data(h->vid);
        size_t n = (size_t)ASN1_STRING_length(h->vid);
        if (memchr(d, 0, n))
            return crypto_fail(CRYPTO_E_FORMAT, "SES_Header.Vid holds a NUL byte");
        if (!(s->vid = malloc(n + 1)))
            return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            s->vid[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
        s->vid[n] = '\0';
    }
    static const char *const time_names[3] = {"createDate", "validStart", "validEnd"};
    time_t *time_out[3] = {&s->created, &s->valid_from, &s->valid_to};
    if ((err = text(&s->esid, esid, "esID", true, false)) != CRYPTO_OK ||
        (err = integer(&s->type, type, "SES_ESPropertyInfo.type", 0, 1 << 30)) != CRYPTO_OK ||
        (err = text(&s->name, name, "SES_ESPropertyInfo.name", false, true)) != CRYPTO_OK)
        return err;
    for (int i = 0; i < 3; i++)
        if ((err = when(time_out[i], times[i], time_names[i])) != CRYPTO_OK)
            return err;
    if (s->valid_to < s->valid_from)
        return crypto_fail(CRYPTO_E_FORMAT, "validEnd is before validStart");
    if ((err = text(&s->picture_type, pic->type, "SES_ESPictrueInfo.type", true, false)) !=
            CRYPTO_OK ||
        (err = integer(&s->width_mm, pic->width, "SES_ESPictrueInfo.width", 1,
                       CRYPTO_SES_MAX_MM)) != CRYPTO_OK ||
        (err = integer(&s->height_mm, pic->height, "SES_ESPictrueInfo.height", 1,
                       CRYPTO_SES_MAX_MM)) != CRYPTO_OK)
        return err;
    if (ASN1_STRING_length(pic->data) <= 0)
        return crypto_fail(CRYPTO_E_FORMAT, "SES_ESPictrueInfo.data is empty");
    return copy_bytes(&s->picture, &s->picture_len, pic->data);
}

/* The maker's part: certificate, algorithm, signature value. */
static crypto_err read_signature(crypto_ses *s, const ASN1_OCTET_STRING *cert,
                                 const ASN1_OBJECT *alg, const ASN1_BIT_STRING *sig) {
    struct crypto_ses_priv *p = s->priv;
    crypto_err err = cert_from(&s->maker, cert, "the seal maker's certificate");
    if (err != CRYPTO_OK || (err = copy_bytes(&p->cert, &p->cert_len, cert)) != CRYPTO_OK)
        return err;
    char oid[128];
    int n = OBJ_obj2txt(oid, sizeof oid, alg, 1);
    if (n <= 0 || (size_t)n >= sizeof oid)
        return crypto_fail(CRYPTO_E_FORMAT, "signAlgID is not a readable OID");
    if (!(s->sig_alg = strdup(oid)))
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    /* X.690 8.6.2: the signature is whole octets, the initial octet 0 */
    if ((sig->flags & ASN1_STRING_FLAG_BITS_LEFT) && (sig->flags & 0x07))
        return crypto_fail(CRYPTO_E_FORMAT, "the signature BIT STRING has %ld unused bits",
                           sig->flags & 0x07);
    if (ASN1_STRING_length(sig) <= 0)
        return crypto_fail(CRYPTO_E_FORMAT, "the signature value is empty");
    return copy_bytes(&p->sig, &p->sig_len, sig);
}

static crypto_err parse_v4(crypto_ses *s, const uint8_t *der, size_t len) {
    const unsigned char *q = der;
    SES_SEAL *seal = d2i_SES_SEAL(NULL, &q, (long)len);
    crypto_err err = CRYPTO_OK;
    if (!seal || q != der + len) {
        err = crypto_fail(CRYPTO_E_FORMAT, "not a GB/T 38540 SES_Seal");
        goto out;
    }
    SES_SEALINFO *in = seal->info;
    SES_PROPERTY *pr = in->property;
    if ((err = integer(&s->version, in->header->version, "SES_Header.version", 0, 255)) !=
        CRYPTO_OK)
        goto out;
    if (s->version != SES_VERSION) {
        err = crypto_fail(CRYPTO_E_FORMAT,
                          "SES_Header.version is %d where the GB/T 38540 layout has 4", s->version);
        goto out;
    }
    const ASN1_TIME *times[3] = {pr->created, pr->valid_start, pr->valid_end};
    if ((err = read_info(s, in->header, in->esid, pr->type, pr->name, times, in->picture)) !=
            CRYPTO_OK ||
        (err = integer(&s->cert_list_type, pr->cert_list_type, "certListType", 1, 2)) !=
            CRYPTO_OK ||
        (err = read_cert_list(s, s->cert_list_type, pr->cert_list)) != CRYPTO_OK ||
        (err = read_ext(s, in->ext)) != CRYPTO_OK)
        goto out;
    err = read_signature(s, seal->cert, seal->alg, seal->sig);
out:
    SES_SEAL_free(seal);
    ERR_clear_error();
    return err;
}

static crypto_err parse_gmt(crypto_ses *s, const uint8_t *der, size_t len, bool ber) {
    const unsigned char *q = der;
    SES_SEAL_GMT *seal = d2i_SES_SEAL_GMT(NULL, &q, (long)len);
    crypto_err err = CRYPTO_OK;
    unsigned char *re = NULL;
    if (!seal || q != der + len) {
        err = crypto_fail(CRYPTO_E_FORMAT, "not a GM/T 0031 SESeal");
        goto out;
    }
    SES_SEALINFO_GMT *in = seal->info;
    SES_PROPERTY_GMT *pr = in->property;
    if ((err = integer(&s->version, in->header->version, "SES_Header.version", 0, 255)) !=
        CRYPTO_OK)
        goto out;
    /* GM/T 0031-2014 6.2 writes 2; some producers write 3, ofdrw writes 1 */
    if (s->version < 1 || s->version > 3) {
        err = crypto_fail(CRYPTO_E_FORMAT,
                          "SES_Header.version is %d where the GM/T 0031 layout has 1 to 3",
                          s->version);
        goto out;
    }
    s->cert_list_type = 1;
    const ASN1_TIME *times[3] = {pr->created, pr->valid_start, pr->valid_end};
    if ((err = read_info(s, in->header, in->esid, pr->type, pr->name, times, in->picture)) !=
            CRYPTO_OK ||
        (err = read_cert_list(s, 1, pr->cert_list)) != CRYPTO_OK ||
        (err = read_ext(s, in->ext)) != CRYPTO_OK ||
        (err = read_signature(s, seal->sign->cert, seal->sign->alg, seal->sign->sig)) != CRYPTO_OK)
        goto out;
    if (ber) { /* what a maker signing DER(esealInfo) signed: the templates write DER */
        int n = i2d_SES_SEALINFO_GMT(in, &re);
        if (n <= 0) {
            err = crypto_fail(CRYPTO_E_NOMEM, "cannot re-encode SES_SealInfo");
            goto out;
        }
        s->priv->info_der = re;
        s->priv->info_der_len = (size_t)n;
        re = NULL;
    }
out:
    OPENSSL_free(re);
    ASN1_item_free((ASN1_VALUE *)seal, ASN1_ITEM_rptr(SES_SEAL_GMT));
    ERR_clear_error();
    return err;
}

crypto_err crypto_ses_parse(crypto_ses **out, const uint8_t *der, size_t len) {
    crypto_ses *s = NULL;
    crypto_err err = CRYPTO_OK;
    walk w = {.ber_ok = true};
    tlv top, info, second;
    *out = NULL;
    crypto_clear_detail();
    if (!der || len == 0) {
        err = crypto_fail(CRYPTO_E_FORMAT, "the seal is empty");
        goto out;
    }
    if (len > CRYPTO_SES_MAX_DER) {
        err = crypto_fail(CRYPTO_E_LIMIT, "the seal is %zu bytes (at most %u)", len,
                          (unsigned)CRYPTO_SES_MAX_DER);
        goto out;
    }
    if (!walk_value(&w, &top, der, len, 0)) {
        err = crypto_fail(w.err, "not a seal: %s", w.why);
        goto out;
    }
    if (top.size != len) {
        err = crypto_fail(CRYPTO_E_FORMAT, "not a seal: %zu bytes follow it", len - top.size);
        goto out;
    }
    /* the layout, by the elements of the outermost SEQUENCE: GB/T 38540-2020 7.1 has
     * { SEQUENCE, OCTET STRING, OID, BIT STRING }, GM/T 0031-2014 6.1 { SEQUENCE, SEQUENCE } */
    if (top.tag != 0x30 || top.len < 2 || der[top.hdr] != 0x30) {
        err = crypto_fail(CRYPTO_E_FORMAT, "not a seal: no SES_SealInfo SEQUENCE");
        goto out;
    }
    walk_value(&w, &info, der + top.hdr, top.len, 1); /* walked already: cannot fail */
    if (info.size >= top.len) {
        err = crypto_fail(CRYPTO_E_FORMAT, "not a seal: nothing after SES_SealInfo");
        goto out;
    }
    walk_value(&w, &second, der + top.hdr + info.size, top.len - info.size, 1);
    bool gmt = second.tag == 0x30;
    if (!gmt && w.ber_seen) {
        err = crypto_fail(CRYPTO_E_FORMAT, "not a seal: indefinite length (not DER)");
        goto out;
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->priv = calloc(1, sizeof *s->priv)) ||
        !(s->priv->der = malloc(len))) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(s->priv->der, der, len);
    s->priv->der_len = len;
    s->priv->info_off = top.hdr;
    s->priv->info_len = info.size;
    err = gmt ? parse_gmt(s, der, len, w.ber_seen) : parse_v4(s, der, len);
    if (err != CRYPTO_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    crypto_ses_free(s);
    return err;
}

crypto_err crypto_ses_load(crypto_ses **out, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    crypto_err err = crypto_read_file(&data, &len, path, CRYPTO_SES_MAX_DER);
    if (err == CRYPTO_OK && (err = crypto_ses_parse(out, data, len)) != CRYPTO_OK) {
        char d[512];
        snprintf(d, sizeof d, "%s", crypto_errdetail());
        crypto_fail(err, "%s: %s", path, d);
    }
    free(data);
    return err;
}

void crypto_ses_free(crypto_ses *s) {
    if (!s)
        return;
    free(s->vid);
    free(s->esid);
    free(s->name);
    sk_X509_pop_free(s->certs, X509_free);
    free(s->picture_type);
    free(s->picture);
    X509_free(s->maker);
    free(s->sig_alg);
    if (s->priv) {
        free(s->priv->der);
        OPENSSL_free(s->priv->info_der);
        free(s->priv->cert);
        free(s->priv->sig);
        for (size_t i = 0; i < CRYPTO_SES_MAX_CERTS; i++)
            free(s->priv->listed[i]);
        free(s->priv->digests);
        free(s->priv);
    }
    free(s);
}

const uint8_t *crypto_ses_der(const crypto_ses *s, size_t *len) {
    *len = s->priv->der_len;
    return s->priv->der;
}

const uint8_t *crypto_ses_info_der(const crypto_ses *s, size_t *len) {
    *len = s->priv->info_len;
    return s->priv->der + s->priv->info_off;
}

bool crypto_ses_digest(const crypto_ses *s, size_t i, const char **type, const uint8_t **value,
                       size_t *len) {
    if (s->cert_list_type != 2 || i >= s->n_listed)
        return false;
    *type = s->priv->digests[i].type;
    *value = s->priv->digests[i].value;
    *len = s->priv->digests[i].len;
    return true;
}

size_t crypto_ses_ext_count(const crypto_ses *s) {
    return s->priv->n_ext;
}

const char *crypto_ses_signed_over(const crypto_ses *s) {
    return s->priv->signed_over;
}

/* ---- the maker's signature ---- */

/* GM/T 0031 producers that write an SM2 signature as r || s (32 bytes each) rather than DER
 * SM2Signature (GB/T 35276-2017 7.3): the DER form of it. */
static crypto_err sm2_raw_to_der(uint8_t **out, size_t *len, const uint8_t *raw) {
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *sv = BN_bin2bn(raw + 32, 32, NULL);
    unsigned char *der = NULL;
    int n = 0;
    crypto_err err = CRYPTO_OK;
    if (!es || !r || !sv || !ECDSA_SIG_set0(es, r, sv)) {
        BN_free(r);
        BN_free(sv);
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    } else if ((n = i2d_ECDSA_SIG(es, &der)) <= 0) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode the signature");
    }
    ECDSA_SIG_free(es);
    *out = der;
    *len = n > 0 ? (size_t)n : 0;
    return err;
}

/* The signature over the message, DER as found first, then (SM2, 64 bytes) as r || s. */
static crypto_err verify_sig(const crypto_ses *s, EVP_PKEY *pub, const struct iovec *parts, int n,
                             bool *raw) {
    const struct crypto_ses_priv *p = s->priv;
    crypto_err err = crypto_verify_message(pub, s->sig_alg, p->sig, p->sig_len, parts, n);
    *raw = false;
    if (err == CRYPTO_E_SIGN && p->sig_len == 64 && strcmp(s->sig_alg, CRYPTO_OID_SM2_SM3) == 0) {
        uint8_t *der = NULL;
        size_t dl = 0;
        if (sm2_raw_to_der(&der, &dl, p->sig) == CRYPTO_OK) {
            err = crypto_verify_message(pub, s->sig_alg, der, dl, parts, n);
            *raw = err == CRYPTO_OK;
        }
        OPENSSL_free(der);
        if (err != CRYPTO_OK)
            err = crypto_fail(CRYPTO_E_SIGN, "the seal maker's %s signature does not verify",
                              crypto_msg_alg_name(s->sig_alg));
    }
    return err;
}

/* GM/T 0031-2014 6.6: DER(SEQUENCE { esealInfo, cert, signatureAlgorithm }) from the bytes
 * of esealInfo given, the certificate as found and the algorithm. */
static crypto_err gmt_tbs(buf *b, const crypto_ses *s, const uint8_t *info, size_t info_len) {
    ASN1_OBJECT *o = OBJ_txt2obj(s->sig_alg, 1);
    unsigned char *oid = NULL;
    int on = o ? i2d_ASN1_OBJECT(o, &oid) : 0;
    size_t start = der_open(b);
    crypto_err err = CRYPTO_OK;
    if (on <= 0 || der_put_raw(b, info, info_len) != BUF_OK ||
        der_put(b, DER_OCTET_STRING, s->priv->cert, s->priv->cert_len) != BUF_OK ||
        der_put_raw(b, oid, (size_t)on) != BUF_OK || der_close(b, start, DER_SEQUENCE) != BUF_OK)
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot build what the maker signed");
    OPENSSL_free(oid);
    ASN1_OBJECT_free(o);
    return err;
}

crypto_err crypto_ses_check_maker(const crypto_ses *s) {
    struct crypto_ses_priv *p = s->priv;
    EVP_PKEY *pub = X509_get0_pubkey(s->maker);
    crypto_err err = CRYPTO_E_SIGN;
    bool raw = false;
    buf tbs;
    buf_init(&tbs, 2 * (size_t)CRYPTO_SES_MAX_DER);
    p->signed_over = NULL;
    if (!pub) {
        err = crypto_fail(CRYPTO_E_ALGORITHM, "the seal maker's public key cannot be read");
        goto out;
    }
    if (!crypto_msg_alg_name(s->sig_alg)) {
        err = crypto_fail(CRYPTO_E_ALGORITHM,
                          "the seal maker's signature algorithm %s is not supported", s->sig_alg);
        goto out;
    }
    /* GB/T 38540-2020 7.1: signedValue is the maker's signature over SES_SealInfo, here the
     * exact bytes found in the seal. */
    struct iovec info = {p->der + p->info_off, p->info_len};
    if (s->version == SES_VERSION) {
        if ((err = verify_sig(s, pub, &info, 1, &raw)) == CRYPTO_OK)
            p->signed_over = raw ? "SES_SealInfo (signature as r||s)" : "SES_SealInfo";
        goto out;
    }
    /* GM/T 0031-2014 6.6: signData is over SEQUENCE { esealInfo, cert, signatureAlgorithm };
     * some producers sign esealInfo alone. A BER seal is read as what its maker signed: the
     * DER of it (BouncyCastle writes BER, and signs DER). */
    const struct {
        const uint8_t *info;
        size_t len;
    } forms[2] = {{p->info_der ? p->info_der : p->der + p->info_off,
                   p->info_der ? p->info_der_len : p->info_len},
                  {p->der + p->info_off, p->info_len}};
    for (int f = 0; f < (p->info_der ? 2 : 1) && err == CRYPTO_E_SIGN; f++) {
        buf_reset(&tbs);
        if ((err = gmt_tbs(&tbs, s, forms[f].info, forms[f].len)) != CRYPTO_OK)
            goto out;
        struct iovec whole = {tbs.data, tbs.len},
                     alone = {(void *)(uintptr_t)forms[f].info, forms[f].len};
        if ((err = verify_sig(s, pub, &whole, 1, &raw)) == CRYPTO_OK)
            p->signed_over = raw ? "SEQUENCE { esealInfo, cert, signatureAlgorithm } (signature "
                                   "as r||s)"
                                 : "SEQUENCE { esealInfo, cert, signatureAlgorithm }";
        else if (err == CRYPTO_E_SIGN && (err = verify_sig(s, pub, &alone, 1, &raw)) == CRYPTO_OK)
            p->signed_over = raw ? "esealInfo alone (signature as r||s)" : "esealInfo alone";
    }
out:
    buf_free(&tbs);
    if (err == CRYPTO_E_SIGN)
        err = crypto_fail(CRYPTO_E_SIGN, "the seal maker's %s signature does not verify",
                          crypto_msg_alg_name(s->sig_alg));
    return err;
}

/* ---- the signers ---- */

/* The digest CertDigestObj.type names; NULL for unknown ones and for SHA-1 and MD5, too weak to
 * bind a certificate (a collision could list another): those list no one. */
static const EVP_MD *digest_named(const char *type) {
    static const struct {
        const char *name;
        int nid;
    } names[] = {{"SM3", NID_sm3},
                 {CRYPTO_OID_SM3, NID_sm3},
                 {"SHA256", NID_sha256},
                 {"SHA-256", NID_sha256},
                 {"2.16.840.1.101.3.4.2.1", NID_sha256},
                 {"SHA384", NID_sha384},
                 {"SHA-384", NID_sha384},
                 {"2.16.840.1.101.3.4.2.2", NID_sha384},
                 {"SHA512", NID_sha512},
                 {"SHA-512", NID_sha512},
                 {"2.16.840.1.101.3.4.2.3", NID_sha512}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(names[i].name, type) == 0)
            return EVP_get_digestbynid(names[i].nid);
    return NULL;
}

bool crypto_ses_lists(const crypto_ses *s, X509 *cert) {
    unsigned char *der = NULL;
    int n = cert ? i2d_X509(cert, &der) : -1;
    bool found = false;
    for (size_t i = 0; n > 0 && i < s->n_listed && !found; i++) {
        if (s->cert_list_type == 1) {
            found = s->priv->listed_len[i] == (size_t)n &&
                    memcmp(s->priv->listed[i], der, (size_t)n) == 0;
            continue;
        }
        const struct ses_digest *d = &s->priv->digests[i];
        const EVP_MD *md = digest_named(d->type);
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned hl = 0;
        found = md && EVP_Digest(der, (size_t)n, h, &hl, md, NULL) && hl == d->len &&
                memcmp(h, d->value, hl) == 0;
    }
    OPENSSL_free(der);
    ERR_clear_error();
    return found;
}

int crypto_ses_when(const crypto_ses *s, time_t t) {
    return t < s->valid_from ? -1 : t > s->valid_to ? 1 : 0;
}

/* ---- making a seal (GB/T 38540-2020 clause 7, version 4) ---- */

static bool ascii_ok(const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n > CRYPTO_SES_MAX_TEXT)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
            return false;
    return true;
}

static bool set_str(ASN1_STRING *s, const void *p, size_t n) {
    return n <= INT32_MAX && ASN1_STRING_set(s, p, (int)n);
}

/* GeneralizedTime in UTC, "YYYYMMDDHHMMSSZ" (GB/T 38540-2020 7.3). */
static ASN1_TIME *gen_time(time_t t) {
    return ASN1_GENERALIZEDTIME_set(NULL, t);
}

/* The checks a spec must pass before anything is built. */
static crypto_err check_spec(const crypto_ses_spec *sp, time_t created) {
    int n = sp->certs ? sk_X509_num(sp->certs) : 0;
    if (!sp->name || !*sp->name)
        return crypto_fail(CRYPTO_E_ARG, "the seal needs a name");
    if (strlen(sp->name) > CRYPTO_SES_MAX_TEXT ||
        !utf8_ok((const uint8_t *)sp->name, strlen(sp->name)))
        return crypto_fail(CRYPTO_E_ARG, "the seal's name must be UTF-8 of at most %u bytes",
                           (unsigned)CRYPTO_SES_MAX_TEXT);
    if (sp->esid && !ascii_ok(sp->esid))
        return crypto_fail(CRYPTO_E_ARG, "esID must be printable ASCII of 1 to %u bytes",
                           (unsigned)CRYPTO_SES_MAX_TEXT);
    if (sp->vid && !ascii_ok(sp->vid))
        return crypto_fail(CRYPTO_E_ARG, "Vid must be printable ASCII of 1 to %u bytes",
                           (unsigned)CRYPTO_SES_MAX_TEXT);
    if (sp->picture_type && !ascii_ok(sp->picture_type))
        return crypto_fail(CRYPTO_E_ARG, "the picture type must be printable ASCII");
    if (sp->type < 0 || sp->type > 2)
        return crypto_fail(CRYPTO_E_ARG, "the seal type is 1 (organisation) or 2 (person)");
    if (n < 1)
        return crypto_fail(CRYPTO_E_ARG, "a seal lists at least one signer certificate");
    if (n > CRYPTO_SES_MAX_CERTS)
        return crypto_fail(CRYPTO_E_LIMIT, "a seal lists at most %d signer certificates (%d given)",
                           CRYPTO_SES_MAX_CERTS, n);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(sp->certs, i);
        /* RFC 5280 4.2.1.9: a CA certificate certifies signers and signs no document, so it
         * is refused as a signer (most likely a chain file given as a signer's). */
        if (X509_get_extension_flags(x) & EXFLAG_CA) {
            char *who = crypto_name_string(X509_get_subject_name(x));
            crypto_err e = crypto_fail(CRYPTO_E_USAGE,
                                       "signer certificate %d (%s) is a CA certificate: a seal "
                                       "lists the certificates of those who sign with it",
                                       i + 1, who ? who : "?");
            free(who);
            return e;
        }
        for (int j = 0; j < i; j++)
            if (X509_cmp(x, sk_X509_value(sp->certs, j)) == 0)
                return crypto_fail(CRYPTO_E_ARG, "signer certificate %d is listed twice", i + 1);
    }
    if (!sp->picture || sp->picture_len == 0)
        return crypto_fail(CRYPTO_E_ARG, "the seal needs a picture");
    if (sp->picture_len > CRYPTO_SES_MAX_DER)
        return crypto_fail(CRYPTO_E_LIMIT, "the picture is %zu bytes (a seal is at most %u)",
                           sp->picture_len, (unsigned)CRYPTO_SES_MAX_DER);
    if (sp->width_mm < 1 || sp->width_mm > CRYPTO_SES_MAX_MM || sp->height_mm < 1 ||
        sp->height_mm > CRYPTO_SES_MAX_MM)
        return crypto_fail(CRYPTO_E_ARG, "the picture's size must be 1 to %d mm each way",
                           CRYPTO_SES_MAX_MM);
    if (sp->valid_from <= 0 || sp->valid_to <= sp->valid_from)
        return crypto_fail(CRYPTO_E_ARG, "the seal's validity must end after it starts");
    if (!sp->maker_key || !sp->maker_cert)
        return crypto_fail(CRYPTO_E_ARG, "the seal maker's key and certificate are needed");
    EVP_PKEY *pub = crypto_key_public(sp->maker_key);
    if (EVP_PKEY_eq(pub, X509_get0_pubkey(sp->maker_cert)) != 1) {
        ERR_clear_error();
        return crypto_fail(CRYPTO_E_MISMATCH,
                           "the seal maker's key does not belong to the maker certificate");
    }
    crypto_err err = crypto_is_sm2(pub) ? CRYPTO_OK : crypto_key_strength(pub);
    if (err != CRYPTO_OK)
        return err;
    if (X509_cmp_time(X509_get0_notBefore(sp->maker_cert), &created) >= 0 ||
        X509_cmp_time(X509_get0_notAfter(sp->maker_cert), &created) <= 0) {
        ERR_clear_error();
        return crypto_fail(CRYPTO_E_VALIDITY,
                           "the seal maker's certificate is not valid at the seal's creation");
    }
    return CRYPTO_OK;
}

/* GB/T 38540-2020 7.4: the list, certificates (type 1) or their SM3 digests (type 2). */
static crypto_err build_cert_list(STACK_OF(ASN1_TYPE) * list, const crypto_ses_spec *sp) {
    crypto_err err = CRYPTO_OK;
    for (int i = 0; i < sk_X509_num(sp->certs) && err == CRYPTO_OK; i++) {
        unsigned char *der = NULL, *cd_der = NULL;
        int n = i2d_X509(sk_X509_value(sp->certs, i), &der), cn = 0;
        ASN1_TYPE *t = ASN1_TYPE_new();
        ASN1_STRING *v = ASN1_STRING_new();
        SES_CERT_DIGEST *cd = NULL;
        uint8_t h[32];
        bool ok = n > 0 && t && v;
        if (ok && !sp->list_digests) {
            ok = set_str(v, der, (size_t)n);
            if (ok) {
                ASN1_TYPE_set(t, V_ASN1_OCTET_STRING, v);
                v = NULL;
            }
        } else if (ok) {
            ok = (cd = SES_CERT_DIGEST_new()) &&
                 EVP_Digest(der, (size_t)n, h, NULL, EVP_sm3(), NULL) &&
                 set_str(cd->type, "SM3", 3) && set_str(cd->value, h, sizeof h) &&
                 (cn = i2d_SES_CERT_DIGEST(cd, &cd_der)) > 0 && set_str(v, cd_der, (size_t)cn);
            if (ok) {
                ASN1_TYPE_set(t, V_ASN1_SEQUENCE, v);
                v = NULL;
            }
        }
        if (ok && sk_ASN1_TYPE_push(list, t))
            t = NULL;
        else
            err = crypto_fail(CRYPTO_E_NOMEM, "cannot build the certificate list");
        ASN1_TYPE_free(t);
        ASN1_STRING_free(v);
        SES_CERT_DIGEST_free(cd);
        OPENSSL_free(der);
        OPENSSL_free(cd_der);
    }
    return err;
}

/* esID when none is given: the time and 8 random bytes, "YYYYMMDDHHMMSS-" and 16 hex digits. */
static crypto_err make_esid(char *out, size_t n, time_t now) {
    uint8_t r[8];
    struct tm tm;
    if (RAND_bytes(r, sizeof r) != 1 || !gmtime_r(&now, &tm))
        return crypto_fail(CRYPTO_E_SIGN, "no random bytes for the seal's identifier");
    size_t k = strftime(out, n, "%Y%m%d%H%M%S-", &tm);
    for (size_t i = 0; i < sizeof r && k + 2 < n; i++, k += 2)
        snprintf(out + k, n - k, "%02x", r[i]);
    return CRYPTO_OK;
}

crypto_err crypto_ses_make(buf *out, const crypto_ses_spec *sp) {
    time_t created = sp->created ? sp->created : time(NULL);
    SES_SEAL *seal = NULL;
    SES_SEALINFO *in = NULL;
    unsigned char *info_der = NULL, *cert_der = NULL, *seal_der = NULL;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    const char *alg = NULL;
    crypto_ses *back = NULL;
    char esid[48];
    crypto_clear_detail();
    crypto_err err = check_spec(sp, created);
    if (err != CRYPTO_OK)
        goto out;
    if (!sp->esid && (err = make_esid(esid, sizeof esid, created)) != CRYPTO_OK)
        goto out;
    const char *vid = sp->vid ? sp->vid : "eseal",
               *pt = sp->picture_type ? sp->picture_type : "PNG";
    const char *id = sp->esid ? sp->esid : esid;
    if (!(seal = SES_SEAL_new())) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    in = seal->info;
    SES_PROPERTY *pr = in->property;
    bool ok = set_str(in->header->id, "ES", 2) &&
              ASN1_INTEGER_set(in->header->version, SES_VERSION) &&
              set_str(in->header->vid, vid, strlen(vid)) && set_str(in->esid, id, strlen(id)) &&
              ASN1_INTEGER_set(pr->type, sp->type ? sp->type : 1) &&
              set_str(pr->name, sp->name, strlen(sp->name)) &&
              ASN1_INTEGER_set(pr->cert_list_type, sp->list_digests ? 2 : 1) &&
              set_str(in->picture->type, pt, strlen(pt)) &&
              set_str(in->picture->data, sp->picture, sp->picture_len) &&
              ASN1_INTEGER_set(in->picture->width, sp->width_mm) &&
              ASN1_INTEGER_set(in->picture->height, sp->height_mm);
    ASN1_TIME **times[3] = {&pr->created, &pr->valid_start, &pr->valid_end};
    const time_t tv[3] = {created, sp->valid_from, sp->valid_to};
    for (int i = 0; ok && i < 3; i++) {
        ASN1_TIME *t = gen_time(tv[i]);
        ok = t != NULL;
        if (ok) {
            ASN1_TIME_free(*times[i]);
            *times[i] = t;
        }
    }
    if (!ok) {
        err =
            crypto_fail(CRYPTO_E_ARG, "cannot encode the seal's fields (times from 1970 to 9999)");
        goto out;
    }
    if ((err = build_cert_list(pr->cert_list, sp)) != CRYPTO_OK)
        goto out;
    /* GB/T 38540-2020 7.1: the maker signs DER(SES_SealInfo) */
    int n = i2d_SES_SEALINFO(in, &info_der);
    if (n <= 0) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode SES_SealInfo");
        goto out;
    }
    struct iovec part = {info_der, (size_t)n};
    if ((err = crypto_key_sign_message(&sig, &sig_len, &alg, sp->maker_key, &part, 1)) != CRYPTO_OK)
        goto out;
    int cn = i2d_X509(sp->maker_cert, &cert_der);
    ASN1_OBJECT *o = OBJ_txt2obj(alg, 1);
    ok = cn > 0 && o && set_str(seal->cert, cert_der, (size_t)cn) &&
         ASN1_BIT_STRING_set(seal->sig, sig, (int)sig_len);
    if (o) {
        ASN1_OBJECT_free(seal->alg);
        seal->alg = o;
    }
    /* X.690 8.6.2.2: no unused bits, said explicitly, or OpenSSL would drop trailing zero
     * octets of the signature as unused bits */
    seal->sig->flags = (seal->sig->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT;
    int sn = ok ? i2d_SES_SEAL(seal, &seal_der) : -1;
    if (sn <= 0) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode SES_Seal");
        goto out;
    }
    /* what was made must read back and its signature hold */
    if ((err = crypto_ses_parse(&back, seal_der, (size_t)sn)) != CRYPTO_OK ||
        (err = crypto_ses_check_maker(back)) != CRYPTO_OK) {
        char d[512];
        snprintf(d, sizeof d, "%s", crypto_errdetail());
        err = crypto_fail(err == CRYPTO_E_LIMIT ? CRYPTO_E_LIMIT : CRYPTO_E_SIGN,
                          "the seal made does not check: %s", d);
        goto out;
    }
    int be = buf_append(out, seal_der, (size_t)sn);
    if (be != BUF_OK)
        err = crypto_fail(be == BUF_ENOMEM ? CRYPTO_E_NOMEM : CRYPTO_E_LIMIT,
                          "no room for the seal (%d bytes)", sn);
out:
    crypto_ses_free(back);
    OPENSSL_free(seal_der);
    OPENSSL_free(cert_der);
    OPENSSL_free(info_der);
    free(sig);
    SES_SEAL_free(seal);
    ERR_clear_error();
    return err;
}
