/* CMS SignedData for PAdES baseline B-B (ETSI EN 319 142-1 6.3, over CAdES ETSI EN 319 122-1
 * 6.3), encoded here in DER rather than through OpenSSL's CMS_sign: the signature value comes
 * from crypto_key (file keys, the key process, tokens), SM2 signatures included (OpenSSL 3.0's
 * CMS_sign leaves them empty), and the size of the result is known exactly before signing,
 * which the PDF placeholder needs. */
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "crypto/der.h"
#include "crypto/internal.h"
#include "crypto/ses.h"

#define OID_DATA "1.2.840.113549.1.7.1"
#define OID_SIGNED_DATA "1.2.840.113549.1.7.2"
#define OID_CONTENT_TYPE "1.2.840.113549.1.9.3"
#define OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
#define OID_SIGNING_CERT_V2 "1.2.840.113549.1.9.16.2.47"
#define OID_RSASSA_PSS "1.2.840.113549.1.1.10"
#define OID_MGF1 "1.2.840.113549.1.1.8"
#define OID_SIGNATURE_TST "1.2.840.113549.1.9.16.2.14"

#define MAX_CMS (4 * 1024 * 1024) /* the verifier's limit (crypto/verify.h) */

struct crypto_signer {
    crypto_key *key;
    X509 *cert;
    const EVP_MD *md; /* fetched once */
    EVP_MD_CTX *mdctx;
    crypto_padding padding;
    char name[256];
    buf digest_alg; /* AlgorithmIdentifier of the digest */
    buf sig_alg;    /* AlgorithmIdentifier of the signature */
    buf sid;        /* IssuerAndSerialNumber */
    buf certs;      /* the certificates, DER, in SET OF order */
    buf attr_ct;    /* content-type attribute */
    buf attr_scv2;  /* signing-certificate-v2 attribute */
    buf attr_seal;  /* the GB/T 38540 seal attribute; empty when none */
    size_t max_sig;
    size_t max_size;
    bool sm2;          /* an SM2 key: SM2-with-SM3, GM/T 0010 */
    uint8_t sm2_z[32]; /* its Z with the default ID (GB/T 32918.2 5.5), computed once */
    char *tsa_url;     /* B-T: the TSA asked for the signature time-stamp */
    int tsa_timeout_ms;
};

static crypto_err bufres(int rc) {
    return rc == BUF_OK ? CRYPTO_OK
                        : crypto_fail(rc == BUF_ENOMEM ? CRYPTO_E_NOMEM : CRYPTO_E_LIMIT,
                                      "building the CMS: %s", buf_strerror(rc));
}

/* RFC 5754 2: SHA-2 AlgorithmIdentifiers have absent parameters. */
static int put_digest_alg(buf *b, const EVP_MD *md) {
    size_t s = der_open(b);
    char oid[64];
    OBJ_obj2txt(oid, sizeof oid, OBJ_nid2obj(EVP_MD_get_type(md)), 1);
    int rc = der_put_oid(b, oid);
    return rc == BUF_OK ? der_close(b, s, DER_SEQUENCE) : rc;
}

static int put_mgf1(buf *b, const EVP_MD *md) {
    size_t s = der_open(b);
    int rc = der_put_oid(b, OID_MGF1);
    if (rc == BUF_OK)
        rc = put_digest_alg(b, md);
    return rc == BUF_OK ? der_close(b, s, DER_SEQUENCE) : rc;
}

/* RFC 4055 3.1 RSASSA-PSS-params; RFC 5754 3.2 sha*WithRSAEncryption with NULL parameters;
 * RFC 5758 3.2 ecdsa-with-SHA* without parameters; GM/T 0010-2012 / GB/T 35275-2017
 * SM2-with-SM3 without parameters (key_type -1). */
static crypto_err put_sig_alg(buf *b, const EVP_MD *md, int key_type, crypto_padding pad) {
    size_t s = der_open(b);
    int rc;
    char oid[64];
    if (key_type == -1) {
        rc = der_put_oid(b, CRYPTO_OID_SM2_SM3);
    } else if (key_type == EVP_PKEY_EC) {
        int nid;
        if (!OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md), NID_X9_62_id_ecPublicKey))
            return crypto_fail(CRYPTO_E_ALGORITHM, "no ECDSA algorithm for %s",
                               EVP_MD_get0_name(md));
        OBJ_obj2txt(oid, sizeof oid, OBJ_nid2obj(nid), 1);
        rc = der_put_oid(b, oid);
    } else if (pad == CRYPTO_PAD_PSS) {
        rc = der_put_oid(b, OID_RSASSA_PSS);
        size_t p = der_open(b);
        size_t t0 = der_open(b);
        if (rc == BUF_OK)
            rc = put_digest_alg(b, md);
        if (rc == BUF_OK)
            rc = der_close(b, t0, DER_CTX0);
        size_t t1 = der_open(b);
        if (rc == BUF_OK)
            rc = put_mgf1(b, md);
        if (rc == BUF_OK)
            rc = der_close(b, t1, DER_CTX1);
        size_t t2 = der_open(b);
        if (rc == BUF_OK)
            rc = der_put_uint(b, (uint64_t)EVP_MD_get_size(md));
        if (rc == BUF_OK)
            rc = der_close(b, t2, DER_CTX2);
        if (rc == BUF_OK)
            rc = der_close(b, p, DER_SEQUENCE);
    } else {
        int nid;
        if (!OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md), NID_rsaEncryption))
            return crypto_fail(CRYPTO_E_ALGORITHM, "no RSA algorithm for %s", EVP_MD_get0_name(md));
        OBJ_obj2txt(oid, sizeof oid, OBJ_nid2obj(nid), 1);
        rc = der_put_oid(b, oid);
        if (rc == BUF_OK)
            rc = der_put(b, DER_NULL, "", 0);
    }
    if (rc == BUF_OK)
        rc = der_close(b, s, DER_SEQUENCE);
    return bufres(rc);
}

static int put_i2d_X509_NAME(buf *b, const X509_NAME *name) {
    unsigned char *der = NULL;
    int n = i2d_X509_NAME(name, &der);
    if (n <= 0)
        return BUF_ENOMEM;
    int rc = der_put_raw(b, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

static int put_serial(buf *b, const ASN1_INTEGER *serial) {
    unsigned char *der = NULL;
    int n = i2d_ASN1_INTEGER(serial, &der);
    if (n <= 0)
        return BUF_ENOMEM;
    int rc = der_put_raw(b, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

/* RFC 5652 10.2.4 IssuerAndSerialNumber. */
static int put_sid(buf *b, X509 *cert) {
    size_t s = der_open(b);
    int rc = put_i2d_X509_NAME(b, X509_get_issuer_name(cert));
    if (rc == BUF_OK)
        rc = put_serial(b, X509_get0_serialNumber(cert));
    return rc == BUF_OK ? der_close(b, s, DER_SEQUENCE) : rc;
}

/* RFC 5035 signing-certificate-v2, ETSI EN 319 122-1 5.2.2.3: the hash of the signing
 * certificate (the algorithm omitted when it is the default SHA-256) and its issuer and
 * serial number. */
static crypto_err put_scv2(buf *b, X509 *cert, const EVP_MD *md) {
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    if (n <= 0 || !EVP_Digest(der, (size_t)n, h, &hl, md, NULL)) {
        OPENSSL_free(der);
        return crypto_fail(CRYPTO_E_CERT, "cannot hash the signing certificate");
    }
    OPENSSL_free(der);
    size_t attr = der_open(b);
    int rc = der_put_oid(b, OID_SIGNING_CERT_V2);
    size_t set = der_open(b), scv2 = der_open(b), certs = der_open(b), id = der_open(b);
    if (rc == BUF_OK && EVP_MD_get_type(md) != NID_sha256)
        rc = put_digest_alg(b, md);
    if (rc == BUF_OK)
        rc = der_put(b, DER_OCTET_STRING, h, hl);
    size_t is = der_open(b), gns = der_open(b), gn = der_open(b);
    if (rc == BUF_OK)
        rc = put_i2d_X509_NAME(b, X509_get_issuer_name(cert));
    if (rc == BUF_OK)
        rc = der_close(b, gn, DER_CTX4); /* directoryName [4] EXPLICIT Name */
    if (rc == BUF_OK)
        rc = der_close(b, gns, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = put_serial(b, X509_get0_serialNumber(cert));
    if (rc == BUF_OK)
        rc = der_close(b, is, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(b, id, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(b, certs, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(b, scv2, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(b, set, DER_SET);
    if (rc == BUF_OK)
        rc = der_close(b, attr, DER_SEQUENCE);
    return bufres(rc);
}

/* The certificates in DER SET OF order (X.690 11.6), duplicates dropped. */
static crypto_err put_certs(buf *b, X509 *cert, STACK_OF(X509) * chain) {
    int n = 1 + (chain ? sk_X509_num(chain) : 0);
    unsigned char **ders = calloc((size_t)n, sizeof *ders);
    const uint8_t **elems = calloc((size_t)n, sizeof *elems);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    crypto_err err = CRYPTO_OK;
    size_t m = 0;
    if (!ders || !elems || !lens) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        X509 *c = i == 0 ? cert : sk_X509_value(chain, i - 1);
        int len = i2d_X509(c, &ders[i]);
        if (len <= 0) {
            err = crypto_fail(CRYPTO_E_CERT, "cannot encode a certificate");
            goto out;
        }
        bool dup = false;
        for (size_t k = 0; k < m && !dup; k++)
            dup = lens[k] == (size_t)len && memcmp(elems[k], ders[i], (size_t)len) == 0;
        if (!dup) {
            elems[m] = ders[i];
            lens[m++] = (size_t)len;
        }
    }
    der_sort_set(elems, lens, m);
    for (size_t k = 0; k < m && err == CRYPTO_OK; k++)
        err = bufres(der_put_raw(b, elems[k], lens[k]));
out:
    for (int i = 0; ders && i < n; i++)
        OPENSSL_free(ders[i]);
    free(ders);
    free(elems);
    free(lens);
    return err;
}

/* The seal attribute (crypto/ses.h): SEQUENCE { CRYPTO_OID_SEAL_ATTR, SET { SES_Seal } }, a
 * signed attribute (RFC 5652 5.3) so that the one signature binds seal, signer and document.
 * The seal is not judged here, only required to be one DER SEQUENCE within the limit. */
static crypto_err put_seal(buf *b, const uint8_t *der, size_t len) {
    size_t hl = 0, body = 0;
    if (len > CRYPTO_SES_MAX_DER)
        return crypto_fail(CRYPTO_E_LIMIT, "a seal of %zu bytes is over the %u-byte limit", len,
                           CRYPTO_SES_MAX_DER);
    if (len >= 2 && der[0] == DER_SEQUENCE) {
        if (der[1] < 0x80) {
            hl = 2;
            body = der[1];
        } else if (der[1] > 0x80 && der[1] <= 0x84 && len >= 2u + (der[1] & 0x7F)) {
            hl = 2u + (der[1] & 0x7F);
            for (size_t i = 2; i < hl; i++)
                body = body << 8 | der[i];
        }
    }
    if (!hl || hl + body != len)
        return crypto_fail(CRYPTO_E_FORMAT, "the seal is not one DER SEQUENCE");
    size_t a = der_open(b);
    int rc = der_put_oid(b, CRYPTO_OID_SEAL_ATTR);
    size_t set = der_open(b);
    if (rc == BUF_OK)
        rc = der_put_raw(b, der, len);
    if (rc == BUF_OK)
        rc = der_close(b, set, DER_SET);
    if (rc == BUF_OK)
        rc = der_close(b, a, DER_SEQUENCE);
    return bufres(rc);
}

static void name_of(char *out, size_t n, X509 *cert) {
    X509_NAME *subj = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    if (idx >= 0 &&
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx))) >= 0) {
        snprintf(out, n, "%s", (char *)utf8);
        OPENSSL_free(utf8);
    } else {
        X509_NAME_oneline(subj, out, (int)n);
    }
}

/* Checks the key against the certificate and the algorithm policy; picks digest and padding.
 * ETSI TS 119 312: RSA below 2048 bits and curves other than the NIST ones named are refused.
 * SM2 keys (asked first: OpenSSL 3.0 gives them no base type) sign with SM3 alone. */
static crypto_err choose_algorithms(crypto_signer *s, const crypto_signer_opts *o) {
    EVP_PKEY *pub = crypto_key_public(s->key);
    int type = EVP_PKEY_get_base_id(pub);
    const char *digest = o->digest;
    if (crypto_is_sm2(pub)) {
        /* GM/T 0009-2012 / GB/T 35275-2017: SM2 with SM3; no padding to choose */
        if (o->padding == CRYPTO_PAD_PSS)
            return crypto_fail(CRYPTO_E_ALGORITHM, "PSS padding needs an RSA key, and this key "
                                                   "is SM2 (SM2 signs with SM3, no padding)");
        if (digest && OPENSSL_strcasecmp(digest, "SM3") != 0)
            return crypto_fail(CRYPTO_E_ALGORITHM,
                               "an SM2 key signs with the SM3 digest only (GM/T 0009); "
                               "digest %s is refused",
                               digest);
        crypto_err err =
            crypto_sm2_z(s->sm2_z, pub, (const uint8_t *)CRYPTO_SM2_ID, strlen(CRYPTO_SM2_ID));
        if (err != CRYPTO_OK)
            return err;
        s->sm2 = true;
        s->padding = CRYPTO_PAD_AUTO;
        s->md = EVP_MD_fetch(NULL, "SM3", NULL);
        if (!s->md)
            return crypto_fail(CRYPTO_E_ALGORITHM, "OpenSSL has no SM3 digest");
        return put_sig_alg(&s->sig_alg, s->md, -1, s->padding);
    }
    if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS) {
        if (EVP_PKEY_get_bits(pub) < 2048)
            return crypto_fail(CRYPTO_E_ALGORITHM,
                               "RSA keys of %d bits are too weak (2048 at "
                               "least)",
                               EVP_PKEY_get_bits(pub));
        s->padding = type == EVP_PKEY_RSA_PSS || o->padding == CRYPTO_PAD_PSS ? CRYPTO_PAD_PSS
                                                                              : CRYPTO_PAD_PKCS1;
        if (!digest)
            digest = "SHA256";
    } else if (type == EVP_PKEY_EC) {
        char group[64] = "";
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof group, &gl);
        int nid = OBJ_sn2nid(group);
        if (nid == NID_X9_62_prime256v1)
            digest = digest ? digest : "SHA256";
        else if (nid == NID_secp384r1)
            digest = digest ? digest : "SHA384";
        else if (nid == NID_secp521r1)
            digest = digest ? digest : "SHA512";
        else
            return crypto_fail(CRYPTO_E_ALGORITHM,
                               "EC curve %s is not supported (P-256, P-384, "
                               "P-521 are)",
                               group[0] ? group : "(unnamed)");
        if (o->padding == CRYPTO_PAD_PSS)
            return crypto_fail(CRYPTO_E_ALGORITHM, "PSS padding needs an RSA key");
        s->padding = CRYPTO_PAD_AUTO;
    } else {
        return crypto_fail(CRYPTO_E_ALGORITHM,
                           "keys of type %s are not supported (RSA, ECDSA, SM2)",
                           EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "unknown");
    }
    s->md = EVP_MD_fetch(NULL, digest, NULL);
    if (!s->md)
        return crypto_fail(CRYPTO_E_ALGORITHM, "unknown digest %s", digest);
    int mdnid = EVP_MD_get_type(s->md);
    if (mdnid != NID_sha256 && mdnid != NID_sha384 && mdnid != NID_sha512)
        return crypto_fail(CRYPTO_E_ALGORITHM,
                           "digest %s is not allowed (SHA-256, SHA-384, "
                           "SHA-512 are; SM3 with SM2 keys)",
                           digest);
    return put_sig_alg(&s->sig_alg, s->md, type == EVP_PKEY_RSA_PSS ? EVP_PKEY_RSA : type,
                       s->padding);
}

/* RFC 5280 4.1.2.5 validity and 4.2.1.3 key usage, for the time of signing. */
static crypto_err check_cert(X509 *cert, time_t now) {
    time_t t = now ? now : time(NULL);
    char when[64];
    if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0) {
        BIO *b = BIO_new(BIO_s_mem());
        ASN1_TIME_print(b, X509_get0_notBefore(cert));
        int n = BIO_read(b, when, sizeof when - 1);
        when[n > 0 ? n : 0] = '\0';
        BIO_free(b);
        return crypto_fail(CRYPTO_E_VALIDITY, "the certificate is not valid before %s", when);
    }
    if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0) {
        BIO *b = BIO_new(BIO_s_mem());
        ASN1_TIME_print(b, X509_get0_notAfter(cert));
        int n = BIO_read(b, when, sizeof when - 1);
        when[n > 0 ? n : 0] = '\0';
        BIO_free(b);
        return crypto_fail(CRYPTO_E_VALIDITY, "the certificate expired on %s", when);
    }
    uint32_t ku = X509_get_key_usage(cert);
    if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
        return crypto_fail(CRYPTO_E_USAGE, "the certificate's key usage allows neither "
                                           "digitalSignature nor nonRepudiation");
    return CRYPTO_OK;
}

static crypto_err build(buf *out, crypto_signer *s, const uint8_t *md, size_t md_len,
                        const uint8_t *sig, size_t sig_len, buf *attrs_for_signing);

crypto_err crypto_signer_new(crypto_signer **out, crypto_key *key, X509 *cert,
                             STACK_OF(X509) * chain, const crypto_signer_opts *opts) {
    crypto_signer_opts dflt = {0};
    crypto_err err = CRYPTO_OK;
    crypto_signer *s = calloc(1, sizeof *s);
    buf probe;
    buf_init(&probe, MAX_CMS);
    *out = NULL;
    crypto_clear_detail();
    if (!s)
        return CRYPTO_E_NOMEM;
    if (!opts)
        opts = &dflt;
    s->key = key;
    buf_init(&s->digest_alg, 256);
    buf_init(&s->sig_alg, 256);
    buf_init(&s->sid, 64 * 1024);
    buf_init(&s->certs, MAX_CMS);
    buf_init(&s->attr_ct, 256);
    buf_init(&s->attr_scv2, 64 * 1024);
    buf_init(&s->attr_seal, CRYPTO_SES_MAX_DER + 64);
    if (!X509_up_ref(cert)) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    s->cert = cert;
    if (EVP_PKEY_eq(X509_get0_pubkey(cert), crypto_key_public(key)) != 1) { /* -1: other types */
        err = crypto_fail(CRYPTO_E_MISMATCH, "the private key does not belong to the "
                                             "certificate");
        goto out;
    }
    if ((err = check_cert(cert, opts->now)) != CRYPTO_OK)
        goto out;
    if ((err = choose_algorithms(s, opts)) != CRYPTO_OK)
        goto out;
    name_of(s->name, sizeof s->name, cert);
    s->mdctx = EVP_MD_CTX_new();
    s->max_sig = crypto_key_max_sig(key);
    if (!s->mdctx || !s->max_sig) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot set up digests");
        goto out;
    }
    err = bufres(put_digest_alg(&s->digest_alg, s->md));
    if (err == CRYPTO_OK)
        err = bufres(put_sid(&s->sid, cert));
    if (err == CRYPTO_OK)
        err = put_certs(&s->certs, cert, chain);
    if (err == CRYPTO_OK) {
        /* RFC 5652 11.1 content-type: id-data */
        size_t a = der_open(&s->attr_ct);
        int rc = der_put_oid(&s->attr_ct, OID_CONTENT_TYPE);
        size_t set = der_open(&s->attr_ct);
        if (rc == BUF_OK)
            rc = der_put_oid(&s->attr_ct, OID_DATA);
        if (rc == BUF_OK)
            rc = der_close(&s->attr_ct, set, DER_SET);
        if (rc == BUF_OK)
            rc = der_close(&s->attr_ct, a, DER_SEQUENCE);
        err = bufres(rc);
    }
    if (err == CRYPTO_OK)
        err = put_scv2(&s->attr_scv2, cert, s->md);
    if (err == CRYPTO_OK && opts->seal_der)
        err = put_seal(&s->attr_seal, opts->seal_der, opts->seal_len);
    if (err == CRYPTO_OK) {
        /* The exact size with the longest signature the key can make. */
        uint8_t zeros[EVP_MAX_MD_SIZE] = {0};
        uint8_t *sig = calloc(1, s->max_sig);
        err = sig ? build(&probe, s, zeros, (size_t)EVP_MD_get_size(s->md), sig, s->max_sig, NULL)
                  : CRYPTO_E_NOMEM;
        free(sig);
        s->max_size = probe.len;
    }
    if (err == CRYPTO_OK && opts->tsa_url) {
        /* [1] { SEQUENCE { OID, SET { token } } } around a token of up to the reserve */
        s->max_size += CRYPTO_MAX_TST_RESERVE + 64;
        s->tsa_timeout_ms = opts->tsa_timeout_ms;
        if (!(s->tsa_url = strdup(opts->tsa_url)))
            err = CRYPTO_E_NOMEM;
    }
out:
    buf_free(&probe);
    if (err == CRYPTO_OK)
        *out = s;
    else
        crypto_signer_free(s);
    return err;
}

void crypto_signer_free(crypto_signer *s) {
    if (!s)
        return;
    X509_free(s->cert);
    EVP_MD_free((EVP_MD *)(uintptr_t)s->md);
    EVP_MD_CTX_free(s->mdctx);
    buf_free(&s->digest_alg);
    buf_free(&s->sig_alg);
    buf_free(&s->sid);
    buf_free(&s->certs);
    buf_free(&s->attr_ct);
    buf_free(&s->attr_scv2);
    buf_free(&s->attr_seal);
    free(s->tsa_url);
    free(s);
}

size_t crypto_signer_max_size(const crypto_signer *s) {
    return s->max_size;
}

const char *crypto_signer_name(const crypto_signer *s) {
    return s->name;
}

const char *crypto_signer_digest_name(const crypto_signer *s) {
    return EVP_MD_get0_name(s->md);
}

crypto_err crypto_signer_digest(uint8_t *md, size_t *md_len, crypto_signer *s,
                                const struct iovec *parts, int nparts) {
    unsigned len = 0;
    if (!EVP_DigestInit_ex2(s->mdctx, s->md, NULL))
        return crypto_fail(CRYPTO_E_SIGN, "digest init failed");
    for (int i = 0; i < nparts; i++)
        if (!EVP_DigestUpdate(s->mdctx, parts[i].iov_base, parts[i].iov_len))
            return crypto_fail(CRYPTO_E_SIGN, "digest failed");
    if (!EVP_DigestFinal_ex(s->mdctx, md, &len))
        return crypto_fail(CRYPTO_E_SIGN, "digest failed");
    *md_len = len;
    return CRYPTO_OK;
}

/* The signed attributes (RFC 5652 5.3) as a DER SET OF in canonical order. */
static crypto_err signed_attrs(buf *out, crypto_signer *s, const uint8_t *md, size_t md_len) {
    uint8_t mdattr[EVP_MAX_MD_SIZE + 32];
    buf m;
    buf_init(&m, sizeof mdattr);
    m.data = mdattr;
    m.cap = sizeof mdattr;
    /* RFC 5652 11.2 message-digest */
    size_t a = der_open(&m);
    int rc = der_put_oid(&m, OID_MESSAGE_DIGEST);
    size_t set = der_open(&m);
    if (rc == BUF_OK)
        rc = der_put(&m, DER_OCTET_STRING, md, md_len);
    if (rc == BUF_OK)
        rc = der_close(&m, set, DER_SET);
    if (rc == BUF_OK)
        rc = der_close(&m, a, DER_SEQUENCE);
    if (rc != BUF_OK)
        return bufres(rc);
    const uint8_t *elems[4] = {s->attr_ct.data, m.data, s->attr_scv2.data, s->attr_seal.data};
    size_t lens[4] = {s->attr_ct.len, m.len, s->attr_scv2.len, s->attr_seal.len};
    size_t n = s->attr_seal.len ? 4 : 3;
    der_sort_set(elems, lens, n);
    size_t start = der_open(out);
    for (size_t i = 0; i < n && rc == BUF_OK; i++)
        rc = der_put_raw(out, elems[i], lens[i]);
    if (rc == BUF_OK)
        rc = der_close(out, start, DER_SET);
    return bufres(rc);
}

/* RFC 5652 5.1-5.3 ContentInfo { signedData, SignedData { ... } }. attrs holds the signed
 * attributes already encoded as a SET (tag 0x31); inside SignerInfo they are [0] IMPLICIT. */
static crypto_err assemble(buf *out, crypto_signer *s, const buf *attrs, const uint8_t *sig,
                           size_t sig_len, const buf *unsigned_attrs) {
    size_t ci = der_open(out);
    int rc = der_put_oid(out, OID_SIGNED_DATA);
    size_t ex = der_open(out), sd = der_open(out);
    if (rc == BUF_OK)
        rc = der_put_uint(out, 1); /* version: no attribute certs, issuerAndSerialNumber */
    size_t algs = der_open(out);
    if (rc == BUF_OK)
        rc = der_put_raw(out, s->digest_alg.data, s->digest_alg.len);
    if (rc == BUF_OK)
        rc = der_close(out, algs, DER_SET);
    size_t eci = der_open(out);
    if (rc == BUF_OK)
        rc = der_put_oid(out, OID_DATA); /* detached: no eContent */
    if (rc == BUF_OK)
        rc = der_close(out, eci, DER_SEQUENCE);
    size_t certs = der_open(out);
    if (rc == BUF_OK)
        rc = der_put_raw(out, s->certs.data, s->certs.len);
    if (rc == BUF_OK)
        rc = der_close(out, certs, DER_CTX0);
    size_t sis = der_open(out), si = der_open(out);
    if (rc == BUF_OK)
        rc = der_put_uint(out, 1);
    if (rc == BUF_OK)
        rc = der_put_raw(out, s->sid.data, s->sid.len);
    if (rc == BUF_OK)
        rc = der_put_raw(out, s->digest_alg.data, s->digest_alg.len);
    if (rc == BUF_OK) {
        size_t at = out->len;
        rc = der_put_raw(out, attrs->data, attrs->len);
        if (rc == BUF_OK)
            out->data[at] = DER_CTX0; /* SET -> [0] IMPLICIT */
    }
    if (rc == BUF_OK)
        rc = der_put_raw(out, s->sig_alg.data, s->sig_alg.len);
    if (rc == BUF_OK)
        rc = der_put(out, DER_OCTET_STRING, sig, sig_len);
    if (rc == BUF_OK && unsigned_attrs && unsigned_attrs->len) {
        size_t at = out->len;
        rc = der_put_raw(out, unsigned_attrs->data, unsigned_attrs->len);
        if (rc == BUF_OK)
            out->data[at] = DER_CTX1; /* SET -> [1] IMPLICIT */
    }
    if (rc == BUF_OK)
        rc = der_close(out, si, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(out, sis, DER_SET);
    if (rc == BUF_OK)
        rc = der_close(out, sd, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(out, ex, DER_CTX0);
    if (rc == BUF_OK)
        rc = der_close(out, ci, DER_SEQUENCE);
    return bufres(rc);
}

static crypto_err build(buf *out, crypto_signer *s, const uint8_t *md, size_t md_len,
                        const uint8_t *sig, size_t sig_len, buf *attrs_for_signing) {
    buf attrs;
    buf_init(&attrs, 64 * 1024 + CRYPTO_SES_MAX_DER);
    crypto_err err = signed_attrs(&attrs, s, md, md_len);
    if (err == CRYPTO_OK && attrs_for_signing)
        err = bufres(buf_append(attrs_for_signing, attrs.data, attrs.len));
    if (err == CRYPTO_OK && sig)
        err = assemble(out, s, &attrs, sig, sig_len, NULL);
    buf_free(&attrs);
    return err;
}

/* ETSI EN 319 122-1 5.3 (RFC 3161 appendix A): the signature-time-stamp attribute, a token
 * over the signature value, as the unsigned attributes' SET OF with that one attribute. The
 * imprint is of the signer's digest; for SM2 signers SHA-256, since RFC 3161 TSAs (ours
 * among them) take SHA-2 imprints: the token names its imprint's algorithm, and verifiers read
 * it from there. */
static crypto_err timestamp_attr(buf *out, crypto_signer *s, const uint8_t *sig, size_t sig_len) {
    uint8_t h[EVP_MAX_MD_SIZE];
    size_t hl = 0;
    unsigned hu = 0;
    buf tok;
    buf_init(&tok, CRYPTO_MAX_TST_RESERVE);
    struct iovec part = {(void *)(uintptr_t)sig, sig_len};
    const EVP_MD *imd = s->sm2 ? EVP_sha256() : s->md;
    crypto_err err = CRYPTO_OK;
    if (!s->sm2)
        err = crypto_signer_digest(h, &hl, s, &part, 1);
    else if (EVP_Digest(sig, sig_len, h, &hu, imd, NULL))
        hl = hu;
    else
        err = crypto_fail(CRYPTO_E_SIGN, "SHA-256 failed");
    crypto_tsa_opts to = {.timeout_ms = s->tsa_timeout_ms};
    if (err == CRYPTO_OK)
        err = crypto_tsa_request(&tok, s->tsa_url, imd, h, hl, &to);
    if (err == CRYPTO_OK) {
        size_t set = der_open(out), a = der_open(out);
        int rc = der_put_oid(out, OID_SIGNATURE_TST);
        size_t vals = der_open(out);
        if (rc == BUF_OK)
            rc = der_put_raw(out, tok.data, tok.len);
        if (rc == BUF_OK)
            rc = der_close(out, vals, DER_SET);
        if (rc == BUF_OK)
            rc = der_close(out, a, DER_SEQUENCE);
        if (rc == BUF_OK)
            rc = der_close(out, set, DER_SET);
        err = bufres(rc);
    }
    buf_free(&tok);
    return err;
}

crypto_err crypto_cms_sign(buf *out, crypto_signer *s, const uint8_t *md, size_t md_len) {
    crypto_err err;
    buf attrs;
    uint8_t h[EVP_MAX_MD_SIZE];
    size_t hl = 0;
    uint8_t *sig = malloc(s->max_sig);
    size_t sig_len = s->max_sig;
    buf unsigned_attrs;
    buf_init(&attrs, 64 * 1024 + CRYPTO_SES_MAX_DER);
    buf_init(&unsigned_attrs, CRYPTO_MAX_TST_RESERVE + 64);
    if (!sig)
        return CRYPTO_E_NOMEM;
    if (md_len != (size_t)EVP_MD_get_size(s->md)) {
        err = crypto_fail(CRYPTO_E_ARG, "message digest of %zu bytes for %s", md_len,
                          EVP_MD_get0_name(s->md));
        goto out;
    }
    /* RFC 5652 5.4: the signature is over the DER of the signed attributes as a SET OF. */
    err = build(NULL, s, md, md_len, NULL, 0, &attrs);
    if (err == CRYPTO_OK && s->sm2) {
        /* GM/T 0010-2012 8.2 / GB/T 32918.2-2016 6.1 A1-A2: SM2 signs e = SM3(Z || M), M the
         * DER of the signed attributes, Z of the signer's key with the default ID */
        struct iovec parts[2] = {{s->sm2_z, sizeof s->sm2_z}, {attrs.data, attrs.len}};
        err = crypto_signer_digest(h, &hl, s, parts, 2);
    } else if (err == CRYPTO_OK) {
        struct iovec part = {attrs.data, attrs.len};
        err = crypto_signer_digest(h, &hl, s, &part, 1);
    }
    if (err == CRYPTO_OK)
        err = crypto_key_sign_digest(sig, &sig_len, s->key, s->md, s->padding, h, hl);
    if (err == CRYPTO_OK && s->tsa_url)
        err = timestamp_attr(&unsigned_attrs, s, sig, sig_len);
    if (err == CRYPTO_OK)
        err = assemble(out, s, &attrs, sig, sig_len, &unsigned_attrs);
out:
    buf_free(&unsigned_attrs);
    buf_free(&attrs);
    free(sig);
    return err;
}
