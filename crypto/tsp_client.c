/* The RFC 3161 client: a TimeStampReq (2.4.1) sent over HTTP (3.4), the TimeStampResp (2.4.2)
 * checked as 2.4.2 asks of the requester before the token is handed on. Trust in the TSA's chain
 * is left to the caller (the PDF verifier judges it at validation time). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/http.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "crypto/internal.h"

#define MAX_RESPONSE (64 * 1024)
#define DEFAULT_TIMEOUT_MS 10000
#define NONCE_LEN 8

/* X.690 8.1: one tag-length header at d[0..n); the content's offset and length. Definite
 * lengths of at most four bytes only (DER). */
static bool tlv(size_t *hdr, size_t *len, const uint8_t *d, size_t n) {
    if (n < 2 || (d[0] & 0x1F) == 0x1F)
        return false;
    size_t l = d[1], h = 2;
    if (l & 0x80) {
        size_t k = l & 0x7F;
        if (k == 0 || k > 4 || n < 2 + k)
            return false;
        l = 0;
        for (size_t i = 0; i < k; i++)
            l = (l << 8) | d[2 + i];
        h += k;
    }
    if (l > n - h)
        return false;
    *hdr = h;
    *len = l;
    return true;
}

/* RFC 3161 2.4.2: TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken
 * TimeStampToken OPTIONAL }: the token's own bytes, as the TSA encoded them. */
static bool token_slice(const uint8_t **tok, size_t *tok_len, const uint8_t *d, size_t n) {
    size_t h, l, sh, sl, th, tl;
    if (!tlv(&h, &l, d, n) || d[0] != 0x30 || h + l != n)
        return false;
    const uint8_t *p = d + h;
    size_t left = l;
    if (!tlv(&sh, &sl, p, left) || p[0] != 0x30)
        return false;
    p += sh + sl;
    left -= sh + sl;
    if (left == 0 || !tlv(&th, &tl, p, left) || p[0] != 0x30 || th + tl != left)
        return false;
    *tok = p;
    *tok_len = left;
    return true;
}

static const char *status_name(long s) {
    static const char *const names[] = {"granted", "grantedWithMods",   "rejection",
                                        "waiting", "revocationWarning", "revocationNotification"};
    return s >= 0 && s < 6 ? names[s] : "unknown status";
}

/* "rejection (badAlg): the TSA's text", the text cut short and control characters shown as
 * '?', since it comes from the server. */
static void describe_status(char *out, size_t size, const TS_STATUS_INFO *si) {
    static const char *const fail_names[] = {"badAlg",
                                             NULL,
                                             "badRequest",
                                             NULL,
                                             NULL,
                                             "badDataFormat",
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             "timeNotAvailable",
                                             "unacceptedPolicy",
                                             "unacceptedExtension",
                                             "addInfoNotAvailable",
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             NULL,
                                             "systemFailure"};
    long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
    const ASN1_BIT_STRING *fi = TS_STATUS_INFO_get0_failure_info(si);
    const STACK_OF(ASN1_UTF8STRING) *text = TS_STATUS_INFO_get0_text(si);
    size_t n = (size_t)snprintf(out, size, "%s", status_name(status));
    const char *sep = " (";
    for (int b = 0; fi && b < (int)(sizeof fail_names / sizeof *fail_names) && n < size; b++)
        if (fail_names[b] && ASN1_BIT_STRING_get_bit(fi, b)) {
            n += (size_t)snprintf(out + n, size - n, "%s%s", sep, fail_names[b]);
            sep = ", ";
        }
    if (*sep == ',' && n < size)
        n += (size_t)snprintf(out + n, size - n, ")");
    if (sk_ASN1_UTF8STRING_num(text) > 0 && n + 3 < size) {
        const ASN1_UTF8STRING *t = sk_ASN1_UTF8STRING_value(text, 0);
        const unsigned char *s = ASN1_STRING_get0_data(t);
        int len = ASN1_STRING_length(t);
        n += (size_t)snprintf(out + n, size - n, ": ");
        for (int i = 0; i < len && i < 200 && n + 1 < size; i++)
            out[n++] = s[i] < 0x20 || s[i] == 0x7F ? '?' : (char)s[i];
        out[n < size ? n : size - 1] = '\0';
    }
}

/* RFC 3161 2.4.1: version 1, the imprint, our nonce, certReq true, the policy if one is asked. */
static crypto_err make_request(TS_REQ **out, ASN1_INTEGER **nonce, const EVP_MD *md_type,
                               const uint8_t *md, size_t md_len, const char *policy_oid) {
    crypto_err err = CRYPTO_E_NOMEM;
    TS_REQ *q = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_OBJECT *policy = NULL;
    BIGNUM *bn = NULL;
    uint8_t r[NONCE_LEN];
    *nonce = NULL;
    if (!q || !mi || !alg)
        goto out;
    if (policy_oid && !(policy = OBJ_txt2obj(policy_oid, 1))) {
        err = crypto_fail(CRYPTO_E_ARG, "%s is not an OID", policy_oid);
        goto out;
    }
    if (RAND_bytes(r, sizeof r) != 1) {
        err = crypto_fail(CRYPTO_E_SIGN, "no random numbers for the nonce");
        goto out;
    }
    r[0] = (uint8_t)((r[0] & 0x7F) | 0x01); /* positive, never zero */
    X509_ALGOR_set_md(alg, md_type);        /* RFC 5754 2: SHA-2 parameters absent */
    if (!(bn = BN_bin2bn(r, sizeof r, NULL)) || !(*nonce = BN_to_ASN1_INTEGER(bn, NULL)) ||
        !TS_REQ_set_version(q, 1) || !TS_MSG_IMPRINT_set_algo(mi, alg) ||
        !TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)(uintptr_t)md, (int)md_len) ||
        !TS_REQ_set_msg_imprint(q, mi) || !TS_REQ_set_nonce(q, *nonce) ||
        !TS_REQ_set_cert_req(q, 1) || (policy && !TS_REQ_set_policy_id(q, policy)))
        goto out;
    *out = q;
    q = NULL;
    err = CRYPTO_OK;
out:
    if (err == CRYPTO_E_NOMEM)
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot make the time-stamp query");
    if (err) {
        ASN1_INTEGER_free(*nonce);
        *nonce = NULL;
    }
    BN_free(bn);
    ASN1_OBJECT_free(policy);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(q);
    return err;
}

/* RFC 3161 3.4: POST application/timestamp-query, the answer application/timestamp-reply. */
static crypto_err post(uint8_t **resp, size_t *resp_len, const char *url, TS_REQ *q,
                       int timeout_ms) {
    crypto_err err = CRYPTO_OK;
    char *host = NULL, *port = NULL, *path = NULL;
    int ssl = 0;
    unsigned char *der = NULL;
    BIO *rq = BIO_new(BIO_s_mem()), *rsp = NULL;
    int dl = i2d_TS_REQ(q, &der);
    *resp = NULL;
    if (!rq || dl <= 0 || BIO_write(rq, der, dl) != dl) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode the time-stamp query");
        goto out;
    }
    if (!OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL)) {
        err = crypto_fail(CRYPTO_E_ARG, "%s is not a URL", url);
        goto out;
    }
    if (ssl) {
        err = crypto_fail(CRYPTO_E_ARG, "%s: only http:// time-stamping URLs are supported", url);
        goto out;
    }
    int timeout_s = (timeout_ms + 999) / 1000;
    rsp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
                             "application/timestamp-query", rq, "application/timestamp-reply", 1,
                             MAX_RESPONSE, timeout_s, 0);
    if (!rsp) {
        err = crypto_fail(CRYPTO_E_NETWORK, "no time-stamp from %s", url);
        goto out;
    }
    char *data = NULL;
    long n = BIO_get_mem_data(rsp, &data);
    if (n <= 0 || n > MAX_RESPONSE || !(*resp = malloc((size_t)n))) {
        err = crypto_fail(n > MAX_RESPONSE ? CRYPTO_E_LIMIT : CRYPTO_E_NETWORK,
                          "cannot read the answer of %s", url);
        goto out;
    }
    memcpy(*resp, data, (size_t)n);
    *resp_len = (size_t)n;
out:
    BIO_free(rsp);
    BIO_free(rq);
    OPENSSL_free(der);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    return err;
}

/* RFC 5816 / RFC 2634 5.4: the signed signing-certificate(-v2) attribute names the signer's
 * certificate. */
static bool ess_ok(CMS_SignerInfo *si, X509 *signer) {
    ESS_SIGNING_CERT *ss = NULL;
    ESS_SIGNING_CERT_V2 *ss2 = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    const ASN1_STRING *a;
    const unsigned char *p;
    a = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3,
                                    V_ASN1_SEQUENCE);
    if (a && (p = ASN1_STRING_get0_data(a)) != NULL)
        ss2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(a));
    a = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificate), -3,
                                    V_ASN1_SEQUENCE);
    if (a && (p = ASN1_STRING_get0_data(a)) != NULL)
        ss = d2i_ESS_SIGNING_CERT(NULL, &p, ASN1_STRING_length(a));
    bool ok = chain && sk_X509_push(chain, signer) && (ss || ss2) &&
              OSSL_ESS_check_signing_certs(ss, ss2, chain, 1) > 0;
    sk_X509_free(chain);
    ESS_SIGNING_CERT_free(ss);
    ESS_SIGNING_CERT_V2_free(ss2);
    return ok;
}

/* RFC 3161 2.4.2: what the requester checks in the token: a SignedData with one signer, whose
 * certificate (asked for with certReq) is in it and is a TSA's (2.3), named by the ESS
 * attribute, the signature holding over an encapsulated TSTInfo with our imprint and nonce. */
static crypto_err check_token(const uint8_t *tok, size_t tok_len, const EVP_MD *md_type,
                              const uint8_t *md, size_t md_len, const ASN1_INTEGER *nonce,
                              const char *policy_oid) {
    crypto_err err = CRYPTO_E_TSA;
    const unsigned char *p = tok;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)tok_len);
    STACK_OF(X509) *certs = NULL;
    TS_TST_INFO *tst = NULL;
    X509 *signer = NULL;
    ASN1_OBJECT *want_policy = NULL;
    if (!cms || p != tok + tok_len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
        OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo) {
        crypto_fail(err, "the time-stamp token is not a SignedData over a TSTInfo");
        goto out;
    }
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(sis) != 1) {
        crypto_fail(err, "the time-stamp token has %d signers, not one",
                    sk_CMS_SignerInfo_num(sis));
        goto out;
    }
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
    certs = CMS_get1_certs(cms);
    for (int i = 0; i < sk_X509_num(certs) && !signer; i++)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
            signer = sk_X509_value(certs, i);
    if (!signer) {
        crypto_fail(err, "the time-stamp token does not include the TSA's certificate");
        goto out;
    }
    if (!crypto_is_tsa_cert(signer)) {
        crypto_fail(err, "the time-stamp token's signer is not a TSA: RFC 3161 2.3 wants "
                         "extended key usage timeStamping only, critical");
        goto out;
    }
    if (CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
        crypto_fail(err, "the time-stamp token's signature does not hold");
        goto out;
    }
    if (!ess_ok(si, signer)) {
        crypto_fail(err, "the time-stamp token's signing-certificate attribute does not name "
                         "its signer");
        goto out;
    }
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    const ASN1_OCTET_STRING *content = pos ? *pos : NULL;
    const unsigned char *c = content ? ASN1_STRING_get0_data(content) : NULL;
    long clen = content ? ASN1_STRING_length(content) : 0;
    if (!c || !(tst = d2i_TS_TST_INFO(NULL, &c, clen)) ||
        c != ASN1_STRING_get0_data(content) + clen || TS_TST_INFO_get_version(tst) != 1) {
        crypto_fail(err, "the time-stamp token's TSTInfo cannot be read");
        goto out;
    }
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
    X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(mi);
    const ASN1_OCTET_STRING *got = TS_MSG_IMPRINT_get_msg(mi);
    const ASN1_OBJECT *alg_oid = NULL;
    int ptype = V_ASN1_UNDEF;
    X509_ALGOR_get0(&alg_oid, &ptype, NULL, alg);
    if (OBJ_obj2nid(alg_oid) != EVP_MD_get_type(md_type) ||
        (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) ||
        (size_t)ASN1_STRING_length(got) != md_len ||
        memcmp(ASN1_STRING_get0_data(got), md, md_len) != 0) {
        crypto_fail(err, "the time-stamp is not over the digest that was sent");
        goto out;
    }
    const ASN1_INTEGER *n = TS_TST_INFO_get_nonce(tst);
    if (!n || ASN1_INTEGER_cmp(n, nonce) != 0) {
        crypto_fail(err, "the time-stamp does not carry the nonce that was sent");
        goto out;
    }
    if (policy_oid && ((want_policy = OBJ_txt2obj(policy_oid, 1)) == NULL ||
                       OBJ_cmp(want_policy, TS_TST_INFO_get_policy_id(tst)) != 0)) {
        crypto_fail(err, "the time-stamp is not under the policy %s that was asked", policy_oid);
        goto out;
    }
    err = CRYPTO_OK;
out:
    ASN1_OBJECT_free(want_policy);
    TS_TST_INFO_free(tst);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return err;
}

crypto_err crypto_tsa_request(buf *out, const char *url, const EVP_MD *md_type, const uint8_t *md,
                              size_t md_len, const crypto_tsa_opts *opts) {
    crypto_err err = CRYPTO_OK;
    TS_REQ *q = NULL;
    TS_RESP *resp = NULL;
    ASN1_INTEGER *nonce = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    const char *policy_oid = opts ? opts->policy_oid : NULL;
    crypto_clear_detail();
    if (!out || !url || !md_type || !md) {
        err = crypto_fail(CRYPTO_E_ARG, "crypto_tsa_request: missing argument");
        goto out;
    }
    int nid = EVP_MD_get_type(md_type);
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
        err = crypto_fail(CRYPTO_E_ALGORITHM, "time-stamps are asked over SHA-256/384/512 only");
        goto out;
    }
    if (md_len != (size_t)EVP_MD_get_size(md_type)) {
        err = crypto_fail(CRYPTO_E_ARG, "the digest is %zu bytes, not the %d of %s", md_len,
                          EVP_MD_get_size(md_type), EVP_MD_get0_name(md_type));
        goto out;
    }
    if ((err = make_request(&q, &nonce, md_type, md, md_len, policy_oid)) != CRYPTO_OK)
        goto out;
    if ((err = post(&raw, &raw_len, url, q, timeout_ms)) != CRYPTO_OK)
        goto out;
    const unsigned char *p = raw;
    const uint8_t *tok = NULL;
    size_t tok_len = 0;
    if (!(resp = d2i_TS_RESP(NULL, &p, (long)raw_len)) || p != raw + raw_len) {
        err = crypto_fail(CRYPTO_E_TSA, "%s did not answer with a TimeStampResp", url);
        goto out;
    }
    /* RFC 3161 2.4.2: only granted and grantedWithMods carry a token */
    long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
    if (status != TS_STATUS_GRANTED && status != TS_STATUS_GRANTED_WITH_MODS) {
        char why[320];
        describe_status(why, sizeof why, TS_RESP_get_status_info(resp));
        err = crypto_fail(CRYPTO_E_TSA, "the TSA at %s refused: %s", url, why);
        goto out;
    }
    if (!token_slice(&tok, &tok_len, raw, raw_len)) {
        err = crypto_fail(CRYPTO_E_TSA, "the TSA at %s granted, but sent no token", url);
        goto out;
    }
    if ((err = check_token(tok, tok_len, md_type, md, md_len, nonce, policy_oid)) != CRYPTO_OK)
        goto out;
    int rc = buf_append(out, tok, tok_len);
    if (rc)
        err = crypto_fail(rc == BUF_ETOOBIG ? CRYPTO_E_LIMIT : CRYPTO_E_NOMEM,
                          "no room for the time-stamp token");
out:
    free(raw);
    TS_RESP_free(resp);
    ASN1_INTEGER_free(nonce);
    TS_REQ_free(q);
    ERR_clear_error();
    return err;
}
