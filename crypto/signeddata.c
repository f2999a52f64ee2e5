/* The SignedData of a signature or a time-stamp token (RFC 5652 5, CAdES ETSI EN 319 122-1):
 * the format checks (ETSI EN 319 102-1 5.2.2), the identification of the signing certificate
 * (5.2.3), the cryptographic verification (5.2.7) and the acceptance of its algorithms and
 * signed attributes (5.2.8). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crypto/der.h"
#include "crypto/internal.h"
#include "crypto/verify_int.h"

#define MAX_CMS (4 * 1024 * 1024)
#define MAX_ATTRS 64
#define MAX_EDDSA_MESSAGE (64 * 1024 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* digests (ETSI TS 119 312 for what is still acceptable) */

static const md_def MDS[] = {
    {NID_md5, "MD5", "MD5", true},
    {NID_sha1, "SHA-1", "SHA1", true},
    {NID_sha224, "SHA-224", "SHA224", false},
    {NID_sha256, "SHA-256", "SHA256", false},
    {NID_sha384, "SHA-384", "SHA384", false},
    {NID_sha512, "SHA-512", "SHA512", false},
    {NID_sha3_224, "SHA3-224", "SHA3-224", false},
    {NID_sha3_256, "SHA3-256", "SHA3-256", false},
    {NID_sha3_384, "SHA3-384", "SHA3-384", false},
    {NID_sha3_512, "SHA3-512", "SHA3-512", false},
    {NID_shake256, "SHAKE256", "SHAKE256", false},
    {NID_sm3, "SM3", "SM3", false}, /* GB/T 32905-2016, for SM2 (GM/T 0010) */
};
#define N_MDS (sizeof MDS / sizeof MDS[0])

static EVP_MD *md_fetched[N_MDS];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* Fetched once: OpenSSL 3's implicit fetch on every use costs more than a short digest. */
static void md_init(void) {
    for (size_t i = 0; i < N_MDS; i++)
        md_fetched[i] = EVP_MD_fetch(NULL, MDS[i].fetch, NULL);
    ERR_clear_error();
}

/* id-shake256-len {2 16 840 1 101 3 4 2 18} */
static const uint8_t OID_SHAKE256_LEN[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x12};

/* A digest AlgorithmIdentifier: false when it is unknown here. */
bool digest_from_alg(vdigest *d, const X509_ALGOR *alg) {
    const ASN1_OBJECT *o = NULL;
    const void *pval = NULL;
    int ptype = 0;
    pthread_once(&md_once, md_init);
    memset(d, 0, sizeof *d);
    if (!alg)
        return false;
    X509_ALGOR_get0(&o, &ptype, &pval, alg);
    int nid = OBJ_obj2nid(o);
    if (obj_is(o, OID_SHAKE256_LEN, sizeof OID_SHAKE256_LEN)) {
        /* RFC 8419 2.3: with an output length of 512 bits only */
        if (ptype != V_ASN1_INTEGER || ASN1_INTEGER_get(pval) != 512)
            return false;
        nid = NID_shake256;
    }
    for (size_t i = 0; i < N_MDS; i++) {
        if (MDS[i].nid == nid && md_fetched[i]) {
            d->def = &MDS[i];
            d->md = md_fetched[i];
            d->len = nid == NID_shake256 ? 64 : (size_t)EVP_MD_get_size(md_fetched[i]);
            return true;
        }
    }
    return false;
}

bool digest_run(uint8_t *out, const vdigest *d, const struct iovec *parts, int n) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex2(c, d->md, NULL);
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i].iov_base, parts[i].iov_len);
    if (ok)
        ok = d->def->nid == NID_shake256 ? EVP_DigestFinalXOF(c, out, d->len)
                                         : EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* signature algorithms */

typedef enum sig_family { FAM_RSA, FAM_PSS, FAM_ECDSA, FAM_ED25519, FAM_ED448, FAM_SM2 } sig_family;

static const char *const FAMILY_NAMES[] = {"RSA", "RSA-PSS", "ECDSA", "Ed25519", "Ed448", "SM2"};

/* sm2sign {1 2 156 10197 1 301 1} (GM/T 0006), which some SM2 signers put in a SignerInfo's
 * signatureAlgorithm in place of SM2-with-SM3; OpenSSL has no name for it. */
static const uint8_t OID_SM2_SIGN[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D, 0x01};

/* RFC 3370 3.2 / RFC 5754 3.2 (RSA), RFC 4056 (PSS), RFC 5753 / RFC 5758 3.2 (ECDSA), RFC 8419
 * (EdDSA), NIST CSOR (SHA-3), GM/T 0010-2012 / GB/T 35275-2017 (SM2-with-SM3). md 0: the
 * SignerInfo's digest algorithm. */
static const struct sig_def {
    int nid;
    sig_family fam;
    int md;
} SIGS[] = {
    {NID_rsaEncryption, FAM_RSA, 0},
    {NID_md5WithRSAEncryption, FAM_RSA, NID_md5},
    {NID_sha1WithRSAEncryption, FAM_RSA, NID_sha1},
    {NID_sha1WithRSA, FAM_RSA, NID_sha1},
    {NID_sha224WithRSAEncryption, FAM_RSA, NID_sha224},
    {NID_sha256WithRSAEncryption, FAM_RSA, NID_sha256},
    {NID_sha384WithRSAEncryption, FAM_RSA, NID_sha384},
    {NID_sha512WithRSAEncryption, FAM_RSA, NID_sha512},
    {NID_RSA_SHA3_224, FAM_RSA, NID_sha3_224},
    {NID_RSA_SHA3_256, FAM_RSA, NID_sha3_256},
    {NID_RSA_SHA3_384, FAM_RSA, NID_sha3_384},
    {NID_RSA_SHA3_512, FAM_RSA, NID_sha3_512},
    {NID_rsassaPss, FAM_PSS, 0},
    {NID_X9_62_id_ecPublicKey, FAM_ECDSA, 0},
    {NID_ecdsa_with_SHA1, FAM_ECDSA, NID_sha1},
    {NID_ecdsa_with_SHA224, FAM_ECDSA, NID_sha224},
    {NID_ecdsa_with_SHA256, FAM_ECDSA, NID_sha256},
    {NID_ecdsa_with_SHA384, FAM_ECDSA, NID_sha384},
    {NID_ecdsa_with_SHA512, FAM_ECDSA, NID_sha512},
    {NID_ecdsa_with_SHA3_224, FAM_ECDSA, NID_sha3_224},
    {NID_ecdsa_with_SHA3_256, FAM_ECDSA, NID_sha3_256},
    {NID_ecdsa_with_SHA3_384, FAM_ECDSA, NID_sha3_384},
    {NID_ecdsa_with_SHA3_512, FAM_ECDSA, NID_sha3_512},
    {NID_ED25519, FAM_ED25519, 0},
    {NID_ED448, FAM_ED448, 0},
    {NID_SM2_with_SM3, FAM_SM2, NID_sm3},
    {NID_undef, FAM_SM2, NID_sm3}, /* OID_SM2_SIGN, matched by its encoding */
};

typedef struct pss_params {
    vdigest md, mgf;
    int salt;
} pss_params;

/* RFC 4055 3.1 RSASSA-PSS-params, with its defaults (SHA-1, MGF1 with SHA-1, 20, 1). */
static bool pss_read(pss_params *out, const X509_ALGOR *alg, char *why, size_t n) {
    const ASN1_OBJECT *o = NULL;
    const void *pval = NULL;
    int ptype = 0;
    RSA_PSS_PARAMS *pp = NULL;
    X509_ALGOR *mgf_md = NULL;
    bool ok = false;
    X509_ALGOR_get0(&o, &ptype, &pval, alg);
    const ASN1_STRING *seq = pval;
    const unsigned char *p = seq ? ASN1_STRING_get0_data(seq) : NULL;
    if (ptype != V_ASN1_SEQUENCE || !(pp = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq)))) {
        snprintf(why, n, "RSASSA-PSS without readable parameters");
        goto out;
    }
    X509_ALGOR sha1 = {OBJ_nid2obj(NID_sha1), NULL};
    if (!digest_from_alg(&out->md, pp->hashAlgorithm ? pp->hashAlgorithm : &sha1)) {
        snprintf(why, n, "RSASSA-PSS with an unsupported hash algorithm");
        goto out;
    }
    if (pp->maskGenAlgorithm) {
        const ASN1_OBJECT *mo = NULL;
        const void *mval = NULL;
        int mtype = 0;
        X509_ALGOR_get0(&mo, &mtype, &mval, pp->maskGenAlgorithm);
        const ASN1_STRING *ms = mval;
        const unsigned char *q = ms ? ASN1_STRING_get0_data(ms) : NULL;
        if (OBJ_obj2nid(mo) != NID_mgf1 || mtype != V_ASN1_SEQUENCE ||
            !(mgf_md = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(ms)))) {
            snprintf(why, n, "RSASSA-PSS with a mask generation function other than MGF1");
            goto out;
        }
    }
    if (!digest_from_alg(&out->mgf, mgf_md ? mgf_md : &sha1)) {
        snprintf(why, n, "RSASSA-PSS with MGF1 over an unsupported hash algorithm");
        goto out;
    }
    long salt = pp->saltLength ? ASN1_INTEGER_get(pp->saltLength) : 20;
    if (salt < 0 || salt > 1024 || (pp->trailerField && ASN1_INTEGER_get(pp->trailerField) != 1)) {
        snprintf(why, n, "RSASSA-PSS with a salt length or trailer field out of range");
        goto out;
    }
    out->salt = (int)salt;
    ok = true;
out:
    RSA_PSS_PARAMS_free(pp);
    X509_ALGOR_free(mgf_md);
    ERR_clear_error();
    return ok;
}

/* Verifies sig: over the digest dgst for RSA and ECDSA, over the message msg for EdDSA
 * (PureEdDSA, RFC 8419 3.1), over the message parts with the default ID for SM2 (GB/T 32918.2
 * 7, e = SM3(Z || M); GM/T 0010 8.2: M is the DER of the signed attributes, else the content).
 * 1: holds, 0: does not, -1: could not be run. */
static int sig_verify(EVP_PKEY *pkey, sig_family fam, const vdigest *d, const pss_params *pss,
                      const uint8_t *dgst, size_t dlen, const uint8_t *msg, size_t msglen,
                      const struct iovec *parts, int nparts, const ASN1_OCTET_STRING *sig) {
    int rc = -1;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_MD_CTX *mctx = NULL;
    const uint8_t *s = ASN1_STRING_get0_data(sig);
    size_t slen = (size_t)ASN1_STRING_length(sig);
    if (fam == FAM_SM2) {
        rc = crypto_sm2_verify(pkey, s, slen, parts, nparts);
        goto out;
    }
    if (fam == FAM_ED25519 || fam == FAM_ED448) {
        mctx = EVP_MD_CTX_new();
        if (mctx && EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) > 0)
            rc = EVP_DigestVerify(mctx, s, slen, msg, msglen) == 1;
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) <= 0 || EVP_PKEY_CTX_set_signature_md(ctx, d->md) <= 0)
        goto out;
    if (fam == FAM_RSA && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
        goto out;
    if (fam == FAM_PSS && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
                           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, pss->mgf.md) <= 0 ||
                           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, pss->salt) <= 0)) {
        rc = 0; /* e.g. parameters a restricted RSA-PSS key refuses */
        goto out;
    }
    rc = EVP_PKEY_verify(ctx, s, slen, dgst, dlen) == 1;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rc;
}

/* ETSI EN 319 102-1 5.2.2 format checking of the container: a ContentInfo of at most 4 MiB
 * holding SignedData (RFC 5652 3, 5.1), its certificates and CRLs within their limits. Its
 * certificates and revocation data join vc's. */
/* RFC 5652 5.1: SignedData's certificates [0] IMPLICIT CertificateSet (the fourth field) is
 * taken out of the DER, so that OpenSSL does not parse the certificates (cert_from_der parses
 * each once per process): rest gets the ContentInfo without it, *certs the field (tag 0 when
 * there is none), *used the length of the ContentInfo. false when raw is not DER of that shape
 * (BER, say): OpenSSL then reads it all. */
static bool split_certs(buf *rest, der_tlv *certs, size_t *used, const uint8_t *raw, size_t len) {
    der_in in = der_in_make(raw, len);
    der_tlv ci, oid, ex, sd, f;
    int rc = BUF_OK, field = 0;
    memset(certs, 0, sizeof *certs);
    if (!der_next(&in, &ci) || ci.tag != DER_SEQUENCE || !der_next(&ci.val, &oid) ||
        oid.tag != DER_OID || !der_next(&ci.val, &ex) || ex.tag != DER_CTX0 ||
        ci.val.p != ci.val.end || !der_next(&ex.val, &sd) || sd.tag != DER_SEQUENCE ||
        ex.val.p != ex.val.end)
        return false;
    size_t a = der_open(rest);
    rc = der_put_raw(rest, oid.raw, oid.raw_len);
    size_t b = der_open(rest), c = der_open(rest);
    for (; rc == BUF_OK && der_next(&sd.val, &f); field++) {
        if (field == 3 && f.tag == DER_CTX0)
            *certs = f;
        else
            rc = der_put_raw(rest, f.raw, f.raw_len);
    }
    if (rc == BUF_OK)
        rc = der_close(rest, c, DER_SEQUENCE);
    if (rc == BUF_OK)
        rc = der_close(rest, b, DER_CTX0);
    if (rc == BUF_OK)
        rc = der_close(rest, a, DER_SEQUENCE);
    *used = ci.raw_len;
    return rc == BUF_OK && !sd.val.bad;
}

/* The certificates of a CertificateSet through the cache; other choices (attribute
 * certificates) are passed over. false when one cannot be read or there are too many. */
static bool add_certs(vctx *vc, der_tlv *certs) {
    der_tlv item;
    size_t n = 0;
    while (der_next(&certs->val, &item)) {
        if (item.tag != DER_SEQUENCE)
            continue;
        X509 *c = n++ < VERIFY_MAX_ITEMS ? cert_from_der(item.raw, item.raw_len) : NULL;
        if (!c)
            return false;
        vctx_add_cert(vc, c);
    }
    return !certs->val.bad;
}

/* ETSI EN 319 102-1 5.2.2 format checking of the container: a ContentInfo of at most 4 MiB
 * holding SignedData (RFC 5652 3, 5.1), its certificates and CRLs within their limits. Its
 * certificates and revocation data join vc's. */
bool read_signed_data(CMS_ContentInfo **out, verdict *v, vctx *vc, const uint8_t *raw, size_t len) {
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    der_tlv certf;
    size_t used = 0;
    bool ok = false;
    buf rest;
    buf_init(&rest, MAX_CMS);
    *out = NULL;
    if (len > MAX_CMS) {
        vnote(v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the CMS signature is %zu bytes long, more than the 4 MiB allowed", len);
        goto out;
    }
    bool split = raw && len && split_certs(&rest, &certf, &used, raw, len);
    const unsigned char *p = split ? rest.data : raw;
    long plen = (long)(split ? rest.len : len);
    cms = p && plen ? d2i_CMS_ContentInfo(NULL, &p, plen) : NULL;
    if (!cms) {
        vnote(v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the signature is not a readable CMS ContentInfo (RFC 5652 3)");
        goto out;
    }
    /* What follows the CMS is ignored: PDF pads /Contents (with zeros, mostly, but not always:
     * the corpus has a valid signature followed by random bytes), and those bytes are neither
     * signed nor part of the signature. */
    if (!split)
        used = (size_t)(p - raw);
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        char oid[80];
        oid_text(oid, sizeof oid, CMS_get0_type(cms));
        vnote(v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the CMS content type is %s, not signedData (RFC 5652 5.1)", oid);
        goto out;
    }
    certs = CMS_get1_certs(cms); /* none when they were taken out */
    crls = CMS_get1_crls(cms);
    if (sk_X509_num(certs) > VERIFY_MAX_ITEMS || sk_X509_CRL_num(crls) > VERIFY_MAX_ITEMS ||
        (split && certf.tag == DER_CTX0 && !add_certs(vc, &certf))) {
        vnote(v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the CMS signature holds unreadable certificates, or more than %d certificates "
              "or CRLs",
              VERIFY_MAX_ITEMS);
        goto out;
    }
    crypto_sm2_certs_prepare(certs); /* BER: parsed by OpenSSL, not by cert_from_der */
    while (sk_X509_num(certs) > 0)
        vctx_add_cert(vc, sk_X509_shift(certs));
    rev_from_cms(vc, cms, raw, used, "CMS");
    ok = true;
    *out = cms;
    cms = NULL;
out:
    buf_free(&rest);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* the SignerInfo */

/* The single value of a signed attribute, or NULL (absent, repeated, or several values). */
static ASN1_TYPE *one_value(CMS_SignerInfo *si, int nid, bool *repeated) {
    int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
    *repeated = false;
    if (idx < 0)
        return NULL;
    X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
    if (CMS_signed_get_attr_by_NID(si, nid, idx) >= 0 || X509_ATTRIBUTE_count(a) != 1) {
        *repeated = true;
        return NULL;
    }
    return X509_ATTRIBUTE_get0_type(a, 0);
}

/* The DER of the signed attributes as the SET OF they are signed as (RFC 5652 5.4), in the
 * order received, as OpenSSL's CMS_SignerInfo_verify encodes them. */
static bool signed_attrs_der(buf *out, CMS_SignerInfo *si) {
    size_t start = der_open(out);
    int rc = BUF_OK;
    for (int i = 0; rc == BUF_OK && i < CMS_signed_get_attr_count(si); i++) {
        unsigned char *der = NULL;
        int n = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &der);
        rc = n > 0 ? der_put_raw(out, der, (size_t)n) : BUF_ENOMEM;
        OPENSSL_free(der);
    }
    return rc == BUF_OK && der_close(out, start, DER_SET) == BUF_OK;
}

typedef enum ess_state { ESS_NONE, ESS_MATCH, ESS_MISMATCH, ESS_MALFORMED } ess_state;

/* RFC 2634 5.4 signing-certificate / RFC 5035 3 signing-certificate-v2 (ETSI EN 319 122-1
 * 5.2.2.3): does the first ESSCertID(v2) hash name cert? Only the first names the signer. */
static ess_state ess_check(CMS_SignerInfo *si, X509 *cert) {
    static const int nids[2] = {NID_id_smime_aa_signingCertificateV2,
                                NID_id_smime_aa_signingCertificate};
    ess_state st = ESS_NONE;
    for (int k = 0; k < 2 && st != ESS_MISMATCH && st != ESS_MALFORMED; k++) {
        bool rep;
        ASN1_TYPE *t = one_value(si, nids[k], &rep);
        if (!t && !rep)
            continue;
        if (!t || t->type != V_ASN1_SEQUENCE)
            return ESS_MALFORMED;
        der_in in = der_in_make(t->value.sequence->data, (size_t)t->value.sequence->length);
        der_tlv sc, ids, id, f;
        if (!der_next(&in, &sc) || sc.tag != 0x30 || !der_next(&sc.val, &ids) || ids.tag != 0x30 ||
            !der_next(&ids.val, &id) || id.tag != 0x30 || !der_next(&id.val, &f))
            return ESS_MALFORMED;
        vdigest d;
        X509_ALGOR *alg = NULL;
        if (k == 0 && f.tag == 0x30) { /* hashAlgorithm, DEFAULT sha256 */
            const unsigned char *q = f.raw;
            alg = d2i_X509_ALGOR(NULL, &q, (long)f.raw_len);
            bool known = alg && digest_from_alg(&d, alg);
            X509_ALGOR_free(alg);
            if (!known || !der_next(&id.val, &f))
                return ESS_MALFORMED;
        } else {
            X509_ALGOR dflt = {OBJ_nid2obj(k == 0 ? NID_sha256 : NID_sha1), NULL};
            digest_from_alg(&d, &dflt);
        }
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned hl = 0;
        if (f.tag != DER_OCTET_STRING || !d.md || d.len > sizeof h ||
            !X509_digest(cert, d.md, h, &hl))
            return ESS_MALFORMED;
        st = (size_t)(f.val.end - f.val.p) == hl && memcmp(f.val.p, h, hl) == 0 ? ESS_MATCH
                                                                                : ESS_MISMATCH;
    }
    ERR_clear_error();
    return st;
}

/* ETSI EN 319 102-1 5.2.3 identification of the signing certificate: among the certificates
 * of the CMS and of the document (and the trust anchors), the one the SignerIdentifier names
 * (RFC 5652 5.3, issuerAndSerialNumber or subjectKeyIdentifier); when several do, the one the
 * signing-certificate attribute names. */
static X509 *find_signer(vctx *vc, CMS_SignerInfo *si, ess_state *ess) {
    X509 *first = NULL;
    *ess = ESS_NONE;
    int n = sk_X509_num(vc->certs);
    for (int i = 0; i <= n; i++) {
        X509 *c = i < n ? sk_X509_value(vc->certs, i) : trust_find_signer(vc->trust, si);
        if (!c || CMS_SignerInfo_cert_cmp(si, c) != 0)
            continue;
        ess_state st = ess_check(si, c);
        if (!first || st == ESS_MATCH) {
            first = c;
            *ess = st;
        }
        if (st == ESS_MATCH || st == ESS_NONE || st == ESS_MALFORMED)
            break;
    }
    return first;
}

/* Is the key strong enough (ETSI TS 119 312: RSA 2048 bits, EC 256 bits)? SM2 keys are of the
 * 256-bit SM2 curve (GB/T 32918.5), which key_fits asks of them. */
static bool key_weak(EVP_PKEY *pkey) {
    int id = EVP_PKEY_get_base_id(pkey), bits = EVP_PKEY_get_bits(pkey);
    return ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) && bits < 2048) ||
           (id == EVP_PKEY_EC && bits < 256);
}

/* An SM2 public key on the SM2 curve (GB/T 32918.5-2017), whatever type OpenSSL gave it. */
static bool sm2_key(EVP_PKEY *pkey) {
    char group[32] = "";
    return crypto_is_sm2(pkey) &&
           EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof group, NULL) &&
           OBJ_sn2nid(group) == NID_sm2;
}

static bool key_fits(EVP_PKEY *pkey, sig_family fam) {
    int id = EVP_PKEY_get_base_id(pkey);
    switch (fam) {
    case FAM_SM2:
        return sm2_key(pkey);
    case FAM_RSA:
        return id == EVP_PKEY_RSA;
    case FAM_PSS:
        return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
    case FAM_ECDSA:
        return id == EVP_PKEY_EC;
    case FAM_ED25519:
        return id == EVP_PKEY_ED25519;
    case FAM_ED448:
        return id == EVP_PKEY_ED448;
    }
    return false;
}

/* The content as one piece, for PureEdDSA without signed attributes. */
static uint8_t *concat(const struct iovec *parts, int n, size_t *len) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (parts[i].iov_len > MAX_EDDSA_MESSAGE - total)
            return NULL;
        total += parts[i].iov_len;
    }
    uint8_t *m = malloc(total ? total : 1);
    for (int i = 0, at = 0; m && i < n; at += (int)parts[i].iov_len, i++)
        memcpy(m + at, parts[i].iov_base, parts[i].iov_len);
    *len = total;
    return m;
}

void eval_signed_data(sig_eval *e, vctx *vc, CMS_ContentInfo *cms, const struct iovec *content,
                      int ncontent, bool need_attrs) {
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    X509_ALGOR *dig_alg = NULL, *sig_alg = NULL;
    vdigest d;
    pss_params pss;
    buf attrs;
    uint8_t md[EVP_MAX_MD_SIZE], tbs_md[EVP_MAX_MD_SIZE];
    uint8_t *whole = NULL;
    char oid[80], why[160];
    ess_state ess = ESS_NONE;
    bool rep = false;
    buf_init(&attrs, MAX_CMS);
    int nsi = sis ? sk_CMS_SignerInfo_num(sis) : 0;
    /* 5.2.2 format checking: a PDF signature has one signer (so the limit of 64 is met) */
    if (nsi != 1) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the CMS holds %d signer infos where one is expected", nsi);
        goto out;
    }
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig_alg, &sig_alg);
    int nattrs = CMS_signed_get_attr_count(si); /* -1: absent */
    if (nattrs == 0 || nattrs > MAX_ATTRS) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the SignerInfo has %d signed attributes (1 to %d allowed)", nattrs, MAX_ATTRS);
        goto out;
    }
    if (nattrs < 0 && need_attrs) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the signature has no signed attributes, which CAdES requires (ETSI EN 319 122-1 "
              "5.1)");
        goto out;
    }
    ASN1_TYPE *md_attr = NULL;
    if (nattrs > 0) {
        /* RFC 5652 5.3, 11.1, 11.2: exactly one content-type equal to eContentType and one
         * message-digest; at most one signing-time (11.3). */
        ASN1_TYPE *ct = one_value(si, NID_pkcs9_contentType, &rep);
        if (!ct || ct->type != V_ASN1_OBJECT ||
            OBJ_cmp(ct->value.object, CMS_get0_eContentType(cms)) != 0) {
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                  "the content-type signed attribute is missing, repeated or not the "
                  "encapsulated content type (RFC 5652 11.1)");
            goto out;
        }
        md_attr = one_value(si, NID_pkcs9_messageDigest, &rep);
        if (!md_attr || md_attr->type != V_ASN1_OCTET_STRING) {
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                  "the message-digest signed attribute is missing, repeated or malformed (RFC "
                  "5652 11.2)");
            goto out;
        }
        ASN1_TYPE *st = one_value(si, NID_pkcs9_signingTime, &rep);
        if (rep || (st && ((st->type != V_ASN1_UTCTIME && st->type != V_ASN1_GENERALIZEDTIME) ||
                           !time_from_asn1(&e->signing_time_attr, st->value.utctime)))) {
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                  "the signing-time signed attribute is repeated or malformed (RFC 5652 11.3)");
            goto out;
        }
    }
    e->format_ok = true;
    bool have_md = digest_from_alg(&d, dig_alg);
    e->digest = have_md ? d.def->name : "";

    /* 5.2.3 identification of the signing certificate */
    X509 *signer = find_signer(vc, si, &ess);
    if (!signer) {
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_SIGNING_CERTIFICATE_FOUND,
              "the signer's certificate is neither in the signature nor in the document");
        goto out;
    }
    if (ess == ESS_MALFORMED) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the signing-certificate attribute is malformed (RFC 5035 3)");
        goto out;
    }
    X509_up_ref(signer);
    e->signer = signer;
    EVP_PKEY *pkey = X509_get0_pubkey(signer);
    if (!pkey) {
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the signer's public key cannot be read");
        goto out;
    }
    e->key_bits = EVP_PKEY_get_bits(pkey);

    /* 5.2.7 cryptographic verification: first the algorithms, failing closed */
    const struct sig_def *sd = NULL;
    const ASN1_OBJECT *so = NULL;
    X509_ALGOR_get0(&so, NULL, NULL, sig_alg);
    for (size_t i = 0; i < sizeof SIGS / sizeof SIGS[0] && !sd; i++)
        if (SIGS[i].nid == OBJ_obj2nid(so) &&
            (SIGS[i].nid != NID_undef || obj_is(so, OID_SM2_SIGN, sizeof OID_SM2_SIGN)))
            sd = &SIGS[i];
    if (!have_md) {
        oid_text(oid, sizeof oid, dig_alg ? dig_alg->algorithm : NULL);
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the digest algorithm %s is not supported", oid);
        goto out;
    }
    if (!sd) {
        oid_text(oid, sizeof oid, so);
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the signature algorithm %s is not supported", oid);
        goto out;
    }
    e->algorithm = FAMILY_NAMES[sd->fam];
    if (!key_fits(pkey, sd->fam)) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE,
              "a %s signature cannot be made with the signer's %s key", e->algorithm,
              EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
        goto out;
    }
    if (sd->md && sd->md != d.def->nid) {
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the signature algorithm %s does not go with the digest algorithm %s",
              sd->nid != NID_undef ? OBJ_nid2ln(sd->nid) : "sm2sign", d.def->name);
        goto out;
    }
    if (sd->fam == FAM_PSS) {
        if (!pss_read(&pss, sig_alg, why, sizeof why)) {
            vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, "%s", why);
            goto out;
        }
        if (pss.md.def != d.def) {
            vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                  "RSASSA-PSS over %s does not go with the digest algorithm %s", pss.md.def->name,
                  d.def->name);
            goto out;
        }
    }
    /* RFC 8419 3.1: Ed25519 with SHA-512, Ed448 with SHAKE256 (512 bits) as message digest.
     * The signature is still checked, so that integrity is reported truly. */
    bool ed_mismatch = (sd->fam == FAM_ED25519 && d.def->nid != NID_sha512) ||
                       (sd->fam == FAM_ED448 && d.def->nid != NID_shake256);

    /* 5.2.7: the message digest (RFC 5652 5.4), then the signature value */
    if (!digest_run(md, &d, content, ncontent)) {
        vc->oom = true;
        goto out;
    }
    const uint8_t *tbs = NULL;
    size_t tbs_len = 0;
    if (md_attr) {
        const ASN1_OCTET_STRING *want = md_attr->value.octet_string;
        if ((size_t)ASN1_STRING_length(want) != d.len ||
            memcmp(ASN1_STRING_get0_data(want), md, d.len) != 0) {
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_HASH_FAILURE,
                  "the signed bytes do not match the signature's message digest: the document "
                  "was changed after signing");
            goto out;
        }
        if (!signed_attrs_der(&attrs, si)) {
            vc->oom = true;
            goto out;
        }
        tbs = attrs.data;
        tbs_len = attrs.len;
        struct iovec a = {attrs.data, attrs.len};
        if (!digest_run(tbs_md, &d, &a, 1)) {
            vc->oom = true;
            goto out;
        }
    } else {
        memcpy(tbs_md, md, d.len);
        if (sd->fam == FAM_ED25519 || sd->fam == FAM_ED448) {
            whole = concat(content, ncontent, &tbs_len);
            if (!whole) {
                vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                      "an EdDSA signature without signed attributes over more than 64 MiB is "
                      "not checked");
                goto out;
            }
            tbs = whole;
        }
    }
    /* SM2 signs the message itself: the signed attributes, or without them the content */
    struct iovec sm2_attrs = {attrs.data, attrs.len};
    int ok = sig_verify(pkey, sd->fam, &d, &pss, tbs_md, d.len, tbs, tbs_len,
                        md_attr ? &sm2_attrs : content, md_attr ? 1 : ncontent,
                        CMS_SignerInfo_get0_signature(si));
    if (ok < 0) { /* e.g. a digest OpenSSL will not use with this key */
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "a %s signature with %s cannot be checked", e->algorithm, d.def->name);
        goto out;
    }
    if (ok == 0) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE,
              "the signature value does not verify with the signer's public key");
        goto out;
    }
    e->integrity = true;

    /* 5.2.8 signature acceptance: algorithms and attributes */
    if (ed_mismatch)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "%s must not be used with the digest algorithm %s (RFC 8419 3.1)", e->algorithm,
              d.def->name);
    if (d.def->weak || (sd->fam == FAM_PSS && pss.mgf.def->weak))
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the digest algorithm %s is too weak for signatures (ETSI TS 119 312)",
              d.def->weak ? d.def->name : pss.mgf.def->name);
    if (key_weak(pkey))
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the signer's %s key of %d bits is too weak (ETSI TS 119 312)", e->algorithm,
              e->key_bits);
    /* ETSI EN 319 122-1 5.2.2.3: a signing-certificate attribute naming another certificate
     * breaks the binding of the signature to this one. The signature itself holds, so it is
     * not a format failure; it is a constraint on the signed attributes the signature fails
     * (EN 319 102-1 5.2.8). */
    if (ess == ESS_MISMATCH)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE,
              "the signing-certificate attribute names another certificate than the signer's");
out:
    buf_free(&attrs);
    free(whole);
    ERR_clear_error();
}
