/* The CA's cryptography: certificates (RFC 5280), CRLs (RFC 5280 5) and OCSP responses
 * (RFC 6960), signed with a crypto_key. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "base/fileio.h"
#include "crypto/ca.h"
#include "crypto/internal.h"

#define MAX_DN 1024
#define MAX_RDNS 16
#define MAX_PUBKEY_FILE (64 * 1024)
#define NONCE_MIN 1 /* RFC 8954 2.1 */
#define NONCE_MAX 32

static const char *const profile_names[] = {"root", "issuing", "enterprise", "tsa", "ocsp"};

bool crypto_profile_from_name(crypto_profile *out, const char *name) {
    for (size_t i = 0; i < sizeof profile_names / sizeof *profile_names; i++)
        if (strcmp(name, profile_names[i]) == 0) {
            *out = (crypto_profile)i;
            return true;
        }
    return false;
}

const char *crypto_profile_name(crypto_profile p) {
    return (unsigned)p < sizeof profile_names / sizeof *profile_names ? profile_names[p] : "?";
}

/* RFC 5280 5.3.1 CRLReason */
static const struct {
    int code;
    const char *name;
} reasons[] = {{0, "unspecified"},        {1, "keyCompromise"},      {2, "cACompromise"},
               {3, "affiliationChanged"}, {4, "superseded"},         {5, "cessationOfOperation"},
               {6, "certificateHold"},    {9, "privilegeWithdrawn"}, {10, "aACompromise"}};

int crypto_reason_from_name(const char *name) {
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (strcasecmp(name, reasons[i].name) == 0)
            return reasons[i].code;
    return -1;
}

const char *crypto_reason_name(int reason) {
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (reasons[i].code == reason)
            return reasons[i].name;
    return reason < 0 ? "none" : "unknown";
}

/* ------------------------------------------------------------------------------------------ */
/* keys */

crypto_err crypto_key_strength(EVP_PKEY *pub) {
    int type = EVP_PKEY_get_base_id(pub);
    if (crypto_is_sm2(pub)) {
        /* GB/T 32918.5-2017: SM2 keys are of its one 256-bit curve */
        char group[32] = "";
        if (EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof group, NULL) &&
            OBJ_sn2nid(group) == NID_sm2)
            return CRYPTO_OK;
        return crypto_fail(CRYPTO_E_ALGORITHM, "an SM2 key on curve %s, not the SM2 curve",
                           group[0] ? group : "(unnamed)");
    }
    if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS) {
        if (EVP_PKEY_get_bits(pub) < 2048)
            return crypto_fail(CRYPTO_E_ALGORITHM,
                               "RSA keys of %d bits are too weak (2048 at least)",
                               EVP_PKEY_get_bits(pub));
        return CRYPTO_OK;
    }
    if (type == EVP_PKEY_EC) {
        char group[64] = "";
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof group, &gl);
        int nid = OBJ_sn2nid(group);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1)
            return CRYPTO_OK;
        return crypto_fail(CRYPTO_E_ALGORITHM,
                           "EC curve %s is not accepted (P-256, P-384, P-521 are)",
                           group[0] ? group : "(unnamed)");
    }
    return crypto_fail(CRYPTO_E_ALGORITHM, "keys of type %s are not accepted (RSA, EC, SM2 are)",
                       EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "unknown");
}

crypto_err crypto_keygen(EVP_PKEY **out, const char *type) {
    *out = NULL;
    if (strcmp(type, "ec") == 0)
        *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (strcmp(type, "ec384") == 0)
        *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    else if (strcmp(type, "rsa") == 0)
        *out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    else if (strcmp(type, "rsa2048") == 0)
        *out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (strcmp(type, "sm2") == 0) /* GB/T 32918.5-2017 curve */
        *out = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    else
        return crypto_fail(CRYPTO_E_ARG, "unknown key type '%s' (ec, ec384, rsa, rsa2048, sm2)",
                           type);
    if (!*out)
        return crypto_fail(CRYPTO_E_KEY, "key generation failed");
    return CRYPTO_OK;
}

crypto_err crypto_key_write(const char *path, EVP_PKEY *pkey, const char *password) {
    crypto_err err = CRYPTO_OK;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    if (!password || !*password) {
        err = crypto_fail(CRYPTO_E_PASSWORD, "a key is written encrypted: its password is needed");
        goto out;
    }
    /* PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 3) with PBES2 (RFC 8018 6.2); OpenSSL 3 derives
     * with PBKDF2-HMAC-SHA256. */
    if (!bio || !PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), NULL, 0, NULL,
                                               (void *)(uintptr_t)password)) {
        err = crypto_fail(CRYPTO_E_KEY, "cannot encrypt the private key");
        goto out;
    }
    long n = BIO_get_mem_data(bio, &data);
    struct iovec iov = {data, (size_t)n};
    int e = file_write_atomic(path, &iov, 1, 0600);
    if (e)
        err = crypto_fail(CRYPTO_E_IO, "%s: %s", path, strerror(e));
out:
    BIO_free(bio);
    return err;
}

crypto_err crypto_csr_load(X509_REQ **out, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    X509_REQ *req = NULL;
    EVP_PKEY *pub;
    *out = NULL;
    crypto_clear_detail();
    crypto_err err = crypto_read_file(&data, &len, path, CRYPTO_CA_MAX_CSR);
    if (err != CRYPTO_OK)
        goto out;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!req) {
        const unsigned char *p = data;
        req = d2i_X509_REQ(NULL, &p, (long)len);
    }
    if (!req) {
        err = crypto_fail(CRYPTO_E_CERT, "%s is not a certification request (PKCS#10, PEM or DER)",
                          path);
        goto out;
    }
    /* RFC 2986 3: the request is signed with the key it asks a certificate for; an SM2
     * request with the default ID (GM/T 0009 5.4.4), which OpenSSL 3.0 is told beforehand (it
     * would take an empty one) */
    const X509_ALGOR *alg = NULL;
    X509_REQ_get0_signature(req, NULL, &alg);
    if (crypto_alg_is_sm2(alg)) {
        ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
        if (!id || !ASN1_OCTET_STRING_set(id, (const unsigned char *)CRYPTO_SM2_ID,
                                          (int)strlen(CRYPTO_SM2_ID))) {
            ASN1_OCTET_STRING_free(id);
            err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
            goto out;
        }
        X509_REQ_set0_distinguishing_id(req, id);
    }
    if (!(pub = X509_REQ_get0_pubkey(req)) || X509_REQ_verify(req, pub) != 1) {
        err = crypto_fail(CRYPTO_E_SIGN, "%s: the request's signature does not hold", path);
        goto out;
    }
    if ((err = crypto_key_strength(pub)) != CRYPTO_OK)
        goto out;
    *out = req;
    req = NULL;
out:
    X509_REQ_free(req);
    free(data);
    ERR_clear_error();
    return err;
}

crypto_err crypto_pubkey_load(EVP_PKEY **out, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    EVP_PKEY *pub = NULL;
    *out = NULL;
    crypto_clear_detail();
    crypto_err err = crypto_read_file(&data, &len, path, MAX_PUBKEY_FILE);
    if (err != CRYPTO_OK)
        goto out;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    pub = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pub) {
        const unsigned char *p = data;
        pub = d2i_PUBKEY(NULL, &p, (long)len);
    }
    if (!pub) {
        err = crypto_fail(CRYPTO_E_KEY, "%s is not a public key (PEM or DER SubjectPublicKeyInfo)",
                          path);
        goto out;
    }
    if ((err = crypto_key_strength(pub)) != CRYPTO_OK)
        goto out;
    *out = pub;
    pub = NULL;
out:
    EVP_PKEY_free(pub);
    free(data);
    ERR_clear_error();
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* names and numbers */

/* One "type=value" into name; value may hold escaped separators (\, or \/). */
static bool add_rdn(X509_NAME *name, const char *s, size_t n) {
    char part[MAX_DN + 1], *eq;
    size_t k = 0;
    for (size_t i = 0; i < n && k < MAX_DN; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        part[k++] = s[i];
    }
    part[k] = '\0';
    char *p = part;
    while (*p == ' ')
        p++;
    if (!(eq = strchr(p, '=')) || eq == p)
        return false;
    *eq = '\0';
    char *v = eq + 1, *end = eq;
    while (end > p && end[-1] == ' ')
        *--end = '\0';
    while (*v == ' ')
        v++;
    size_t vl = strlen(v);
    while (vl > 0 && v[vl - 1] == ' ')
        v[--vl] = '\0';
    if (vl == 0)
        return false;
    return X509_NAME_add_entry_by_txt(name, p, MBSTRING_UTF8, (const unsigned char *)v, -1, -1,
                                      0) == 1;
}

crypto_err crypto_name_parse(X509_NAME **out, const char *dn) {
    crypto_err err = CRYPTO_OK;
    X509_NAME *name = X509_NAME_new();
    size_t len = strlen(dn);
    *out = NULL;
    if (!name)
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    if (len == 0 || len > MAX_DN) {
        err = crypto_fail(CRYPTO_E_ARG, "a subject has 1 to %d characters", MAX_DN);
        goto out;
    }
    char sep = dn[0] == '/' ? '/' : ',';
    const char *p = dn[0] == '/' ? dn + 1 : dn;
    int rdns = 0;
    while (*p) {
        const char *e = p;
        while (*e && *e != sep) {
            if (*e == '\\' && e[1])
                e++;
            e++;
        }
        if (++rdns > MAX_RDNS || !add_rdn(name, p, (size_t)(e - p))) {
            err = crypto_fail(CRYPTO_E_ARG,
                              rdns > MAX_RDNS ? "a subject has at most 16 parts"
                                              : "'%.*s' is not TYPE=VALUE with a known type "
                                                "(C, O, OU, CN, ...)",
                              (int)(e - p), p);
            goto out;
        }
        p = *e ? e + 1 : e;
    }
    if (X509_NAME_entry_count(name) == 0) {
        err = crypto_fail(CRYPTO_E_ARG, "the subject is empty");
        goto out;
    }
    *out = name;
    name = NULL;
out:
    X509_NAME_free(name);
    ERR_clear_error();
    return err;
}

char *crypto_name_string(const X509_NAME *name) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *s = NULL;
    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        long n = BIO_get_mem_data(bio, &data);
        if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
            memcpy(s, data, (size_t)n);
            s[n] = '\0';
        }
    }
    BIO_free(bio);
    return s;
}

static bool bn_hex(char out[CRYPTO_SERIAL_HEX], const BIGNUM *bn) {
    char *h = bn ? BN_bn2hex(bn) : NULL;
    bool ok = h && strlen(h) < CRYPTO_SERIAL_HEX && h[0] != '-';
    if (ok)
        memcpy(out, h, strlen(h) + 1);
    else
        out[0] = '\0';
    OPENSSL_free(h);
    return ok;
}

void crypto_serial_hex(char out[CRYPTO_SERIAL_HEX], const ASN1_INTEGER *serial) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    bn_hex(out, bn);
    BN_free(bn);
}

bool crypto_serial_norm(char out[CRYPTO_SERIAL_HEX], const char *in) {
    BIGNUM *bn = NULL;
    bool ok = false;
    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
        in += 2;
    size_t n = strlen(in);
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)in[i]))
            goto out;
    if (n == 0 || n >= CRYPTO_SERIAL_HEX || BN_hex2bn(&bn, in) != (int)n)
        goto out;
    ok = bn_hex(out, bn);
out:
    BN_free(bn);
    if (!ok)
        out[0] = '\0';
    return ok;
}

/* RFC 5280 4.1.2.2: a positive serial number of at most 20 octets, here 128 random bits. */
static bool random_serial(ASN1_INTEGER *serial) {
    unsigned char r[16];
    BIGNUM *bn = NULL;
    bool ok = false;
    do {
        if (RAND_bytes(r, sizeof r) != 1)
            goto out;
    } while (r[0] == 0);
    ok = (bn = BN_bin2bn(r, sizeof r, NULL)) != NULL && BN_to_ASN1_INTEGER(bn, serial) != NULL;
out:
    BN_free(bn);
    return ok;
}

static crypto_err append_der(buf *out, unsigned char *der, int n) {
    crypto_err err = CRYPTO_OK;
    if (n <= 0)
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode");
    else if (buf_append(out, der, (size_t)n) != BUF_OK)
        err = crypto_fail(CRYPTO_E_LIMIT, "the output is too large");
    OPENSSL_free(der);
    return err;
}

crypto_err crypto_cert_der(buf *out, X509 *cert) {
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    return append_der(out, der, n);
}

crypto_err crypto_cert_pem(buf *out, X509 *cert) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    crypto_err err = CRYPTO_OK;
    if (!bio || !PEM_write_bio_X509(bio, cert)) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode the certificate");
    } else {
        long n = BIO_get_mem_data(bio, &data);
        if (buf_append(out, data, (size_t)n) != BUF_OK)
            err = crypto_fail(CRYPTO_E_LIMIT, "the output is too large");
    }
    BIO_free(bio);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* signing */

/* A digest context for the CA's key: SHA-256 for RSA and P-256, SHA-384 for P-384, SHA-512 for
 * P-521 (RFC 5758 3.2, ETSI TS 119 312); RSA signs PKCS#1 v1.5 (RFC 4055 5); SM2 signs
 * SM2-with-SM3 with the default ID (GM/T 0015-2012, GM/T 0009 5.4.4), for certificates, CRLs
 * and OCSP responses alike. The key must be one OpenSSL can sign with: a file key, or a token
 * key a provider holds. */
static crypto_err sign_ctx(EVP_MD_CTX **out, crypto_key *key) {
    EVP_PKEY *pk = crypto_key_file_pkey(key);
    const char *md = "SHA256";
    *out = NULL;
    if (!pk)
        return crypto_fail(CRYPTO_E_KEY, "the CA's key is held by another process and cannot "
                                         "sign certificates here");
    if (crypto_is_sm2(pk)) {
        *out = crypto_sm2_md_ctx(pk, true);
        return *out ? CRYPTO_OK : crypto_fail(CRYPTO_E_SIGN, "cannot sign with the CA's SM2 key");
    }
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
        int bits = EVP_PKEY_get_bits(pk);
        md = bits > 384 ? "SHA512" : bits > 256 ? "SHA384" : "SHA256";
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, pk, NULL) != 1) {
        EVP_MD_CTX_free(c);
        return crypto_fail(CRYPTO_E_SIGN, "cannot sign with the CA's key");
    }
    *out = c;
    return CRYPTO_OK;
}

/* An http(s) address that fits in a certificate and in OpenSSL's extension syntax. */
static bool url_ok(const char *u) {
    size_t n = strlen(u);
    if (n > CRYPTO_CA_MAX_URL || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)u[i]) && !strchr("-._~:/%?=&+@[]", u[i]))
            return false;
    return true;
}

static bool add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value) {
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = ex && X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok;
}

/* RFC 5280 4.2: the extensions of each profile. */
static crypto_err add_extensions(X509 *cert, X509 *issuer, const crypto_cert_spec *s) {
    X509V3_CTX ctx;
    char v[CRYPTO_CA_MAX_URL + 32];
    bool ok = true, ca = s->profile == CRYPTO_PROFILE_ROOT || s->profile == CRYPTO_PROFILE_ISSUING;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    /* 4.2.1.9 basicConstraints, critical in CA certificates */
    ok = ok && add_ext(cert, &ctx, NID_basic_constraints,
                       s->profile == CRYPTO_PROFILE_ROOT      ? "critical,CA:TRUE"
                       : s->profile == CRYPTO_PROFILE_ISSUING ? "critical,CA:TRUE,pathlen:0"
                                                              : "critical,CA:FALSE");
    /* 4.2.1.3 keyUsage */
    ok = ok && add_ext(cert, &ctx, NID_key_usage,
                       ca                                        ? "critical,keyCertSign,cRLSign"
                       : s->profile == CRYPTO_PROFILE_ENTERPRISE ? "critical,digitalSignature,"
                                                                   "nonRepudiation"
                                                                 : "critical,digitalSignature");
    /* 4.2.1.12: RFC 3161 2.3 wants timeStamping alone and critical; RFC 6960 4.2.2.2
     * id-kp-OCSPSigning for a delegated responder */
    if (s->profile == CRYPTO_PROFILE_TSA)
        ok = ok && add_ext(cert, &ctx, NID_ext_key_usage, "critical,timeStamping");
    if (s->profile == CRYPTO_PROFILE_OCSP) {
        ok = ok && add_ext(cert, &ctx, NID_ext_key_usage, "OCSPSigning");
        /* RFC 6960 4.2.2.2.1 id-pkix-ocsp-nocheck: the responder's own status is not asked */
        ok = ok && add_ext(cert, &ctx, NID_id_pkix_OCSP_noCheck, "ignored");
    }
    /* 4.2.1.2 and 4.2.1.1 */
    ok = ok && add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
    ok = ok && add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    /* 4.2.1.13 cRLDistributionPoints and 4.2.2.1 authorityInfoAccess (id-ad-ocsp), for all but
     * the root (whose status nobody asks) and the responder (ocsp-nocheck) */
    if (s->profile != CRYPTO_PROFILE_ROOT && s->profile != CRYPTO_PROFILE_OCSP) {
        if (s->crl_url) {
            snprintf(v, sizeof v, "URI:%s", s->crl_url);
            ok = ok && add_ext(cert, &ctx, NID_crl_distribution_points, v);
        }
        if (s->ocsp_url) {
            snprintf(v, sizeof v, "OCSP;URI:%s", s->ocsp_url);
            ok = ok && add_ext(cert, &ctx, NID_info_access, v);
        }
    }
    return ok ? CRYPTO_OK : crypto_fail(CRYPTO_E_CERT, "cannot add the certificate's extensions");
}

crypto_err crypto_ca_issue(X509 **out, crypto_key *ca_key, X509 *ca_cert,
                           const crypto_cert_spec *s) {
    crypto_err err = CRYPTO_OK;
    X509 *cert = X509_new();
    EVP_MD_CTX *mc = NULL;
    time_t nb = s->not_before ? s->not_before : time(NULL);
    *out = NULL;
    if (!cert) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    if (s->days < 1 || s->days > CRYPTO_CA_MAX_DAYS) {
        err = crypto_fail(CRYPTO_E_ARG, "a validity of %d days is not between 1 and %d", s->days,
                          CRYPTO_CA_MAX_DAYS);
        goto out;
    }
    if ((s->crl_url && !url_ok(s->crl_url)) || (s->ocsp_url && !url_ok(s->ocsp_url))) {
        err = crypto_fail(CRYPTO_E_ARG,
                          "CRL and OCSP addresses are http(s) URLs of at most %d "
                          "characters without commas or spaces",
                          CRYPTO_CA_MAX_URL);
        goto out;
    }
    if (!ca_cert && (s->profile != CRYPTO_PROFILE_ROOT ||
                     EVP_PKEY_eq(s->pub, crypto_key_public(ca_key)) != 1)) {
        err = crypto_fail(CRYPTO_E_ARG, "only a root certificate is self-signed");
        goto out;
    }
    if (ca_cert && EVP_PKEY_eq(X509_get0_pubkey(ca_cert), crypto_key_public(ca_key)) != 1) {
        err = crypto_fail(CRYPTO_E_MISMATCH, "the CA's key does not belong to its certificate");
        goto out;
    }
    if ((err = crypto_key_strength(s->pub)) != CRYPTO_OK)
        goto out;
    /* RFC 5280 4.1.2.1 version 3, 4.1.2.5 validity */
    if (!X509_set_version(cert, X509_VERSION_3) || !random_serial(X509_get_serialNumber(cert)) ||
        !X509_set_subject_name(cert, s->subject) ||
        !X509_set_issuer_name(cert, ca_cert ? X509_get_subject_name(ca_cert) : s->subject) ||
        !X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &nb) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), s->days, 0, &nb) ||
        !X509_set_pubkey(cert, s->pub)) {
        err = crypto_fail(CRYPTO_E_CERT, "cannot build the certificate");
        goto out;
    }
    if (ca_cert && ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(ca_cert)) > 0) {
        err = crypto_fail(CRYPTO_E_VALIDITY, "%d days would outlast the CA's own certificate",
                          s->days);
        goto out;
    }
    if ((err = add_extensions(cert, ca_cert ? ca_cert : cert, s)) != CRYPTO_OK ||
        (err = sign_ctx(&mc, ca_key)) != CRYPTO_OK)
        goto out;
    if (X509_sign_ctx(cert, mc) <= 0) {
        err = crypto_fail(CRYPTO_E_SIGN, "signing the certificate failed");
        goto out;
    }
    *out = cert;
    cert = NULL;
out:
    EVP_MD_CTX_free(mc);
    X509_free(cert);
    ERR_clear_error();
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* CRL */

static ASN1_INTEGER *serial_from_hex(const char *hex) {
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    if (BN_hex2bn(&bn, hex) > 0)
        ai = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return ai;
}

/* RFC 5280 5.3: reasonCode (5.3.1, omitted for unspecified as it recommends) and invalidityDate
 * (5.3.2). */
static bool add_entry(X509_CRL *crl, const crypto_revoked *r) {
    X509_REVOKED *rv = X509_REVOKED_new();
    ASN1_INTEGER *serial = serial_from_hex(r->serial);
    ASN1_TIME *when = ASN1_TIME_set(NULL, r->when);
    ASN1_ENUMERATED *why = NULL;
    ASN1_GENERALIZEDTIME *inv = NULL;
    bool ok = rv && serial && when && X509_REVOKED_set_serialNumber(rv, serial) &&
              X509_REVOKED_set_revocationDate(rv, when);
    if (ok && r->reason > 0)
        ok = (why = ASN1_ENUMERATED_new()) && ASN1_ENUMERATED_set(why, r->reason) &&
             X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, why, 0, 0) == 1;
    if (ok && r->invalidity)
        ok = (inv = ASN1_GENERALIZEDTIME_set(NULL, r->invalidity)) &&
             X509_REVOKED_add1_ext_i2d(rv, NID_invalidity_date, inv, 0, 0) == 1;
    if (ok && X509_CRL_add0_revoked(crl, rv))
        rv = NULL;
    else
        ok = false;
    X509_REVOKED_free(rv);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(why);
    ASN1_GENERALIZEDTIME_free(inv);
    return ok;
}

crypto_err crypto_ca_crl(buf *out, crypto_key *ca_key, X509 *ca_cert, const crypto_revoked *revoked,
                         size_t n, uint64_t number, time_t this_update, time_t next_update) {
    crypto_err err = CRYPTO_OK;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *tu = ASN1_TIME_set(NULL, this_update), *nu = ASN1_TIME_set(NULL, next_update);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509_EXTENSION *aki = NULL;
    EVP_MD_CTX *mc = NULL;
    unsigned char *der = NULL;
    X509V3_CTX ctx;
    crypto_clear_detail();
    /* 5.1.2.1 version v2; 5.1.2.4, 5.1.2.5 thisUpdate, nextUpdate */
    if (!crl || !tu || !nu || !num || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) ||
        !X509_CRL_set1_lastUpdate(crl, tu) || !X509_CRL_set1_nextUpdate(crl, nu)) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot build the CRL");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!add_entry(crl, &revoked[i])) {
            err = crypto_fail(CRYPTO_E_ARG, "cannot list serial %s in the CRL", revoked[i].serial);
            goto out;
        }
    X509_CRL_sort(crl);
    /* 5.2.3 cRLNumber and 5.2.1 authorityKeyIdentifier, both required of conforming CAs */
    X509V3_set_ctx(&ctx, ca_cert, NULL, NULL, crl, 0);
    if (!ASN1_INTEGER_set_uint64(num, number) ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
        !(aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always")) ||
        !X509_CRL_add_ext(crl, aki, -1)) {
        err = crypto_fail(CRYPTO_E_CERT, "cannot add the CRL's extensions");
        goto out;
    }
    if ((err = sign_ctx(&mc, ca_key)) != CRYPTO_OK)
        goto out;
    if (X509_CRL_sign_ctx(crl, mc) <= 0) {
        err = crypto_fail(CRYPTO_E_SIGN, "signing the CRL failed");
        goto out;
    }
    int len = i2d_X509_CRL(crl, &der);
    err = append_der(out, der, len);
out:
    X509_CRL_free(crl);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    ASN1_INTEGER_free(num);
    X509_EXTENSION_free(aki);
    EVP_MD_CTX_free(mc);
    ERR_clear_error();
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* OCSP */

/* RFC 8954 2.1: the nonce extension's value is an OCTET STRING of 1 to 32 octets; a request
 * without one is fine. */
static bool nonce_ok(OCSP_REQUEST *rq) {
    int idx = OCSP_REQUEST_get_ext_by_NID(rq, NID_id_pkix_OCSP_Nonce, -1);
    if (idx < 0)
        return true;
    if (OCSP_REQUEST_get_ext_by_NID(rq, NID_id_pkix_OCSP_Nonce, idx) >= 0)
        return false; /* RFC 5280 4.2: an extension appears once */
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(rq, idx));
    const unsigned char *p = ASN1_STRING_get0_data(v);
    long len = ASN1_STRING_length(v);
    ASN1_OCTET_STRING *nonce = d2i_ASN1_OCTET_STRING(NULL, &p, len);
    bool ok = nonce && p == ASN1_STRING_get0_data(v) + len &&
              ASN1_STRING_length(nonce) >= NONCE_MIN && ASN1_STRING_length(nonce) <= NONCE_MAX;
    ASN1_OCTET_STRING_free(nonce);
    return ok;
}

/* RFC 6960 4.1.1: a CertID names its issuer by the hashes of its name and key with the hash
 * algorithm the requester chose; SHA-1 and the SHA-2 family are taken. */
static bool ours(OCSP_CERTID *cid, X509 *ca) {
    ASN1_OBJECT *mdo = NULL;
    if (!OCSP_id_get0_info(NULL, &mdo, NULL, NULL, cid))
        return false;
    int nid = OBJ_obj2nid(mdo);
    if (nid != NID_sha1 && nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512)
        return false;
    OCSP_CERTID *mine = OCSP_cert_to_id(EVP_get_digestbynid(nid), NULL, ca);
    bool same = mine && OCSP_id_issuer_cmp(mine, cid) == 0;
    OCSP_CERTID_free(mine);
    return same;
}

crypto_err crypto_ocsp_respond(buf *out, const crypto_ocsp_responder *r, const uint8_t *req,
                               size_t len, time_t now) {
    crypto_err err = CRYPTO_OK;
    int status = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
    OCSP_REQUEST *rq = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_RESPONSE *resp = NULL;
    EVP_MD_CTX *mc = NULL;
    ASN1_TIME *tu = ASN1_TIME_set(NULL, now), *nu = NULL, *rt = NULL;
    unsigned char *der = NULL;
    crypto_clear_detail();
    if (r->next_update_s > 0)
        nu = ASN1_TIME_set(NULL, now + r->next_update_s);
    /* RFC 6960 4.1.1: OCSPRequest, DER, nothing after it */
    const unsigned char *p = req;
    if (len == 0 || len > CRYPTO_OCSP_MAX_REQUEST ||
        !(rq = d2i_OCSP_REQUEST(NULL, &p, (long)len)) || p != req + len)
        goto respond;
    int n = OCSP_request_onereq_count(rq);
    if (n < 1 || n > CRYPTO_OCSP_MAX_IDS || !nonce_ok(rq))
        goto respond;
    status = OCSP_RESPONSE_STATUS_INTERNALERROR;
    if (!tu || (r->next_update_s > 0 && !nu) || !(bs = OCSP_BASICRESP_new()))
        goto respond;
    /* RFC 6960 4.2.1, 4.2.2.3: one SingleResponse for each certificate asked about; a
     * certificate of another issuer is unknown to us */
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i));
        ASN1_INTEGER *serial = NULL;
        crypto_ocsp_answer a = {CRYPTO_OCSP_UNKNOWN, 0, -1};
        char hex[CRYPTO_SERIAL_HEX];
        if (!OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid)) {
            status = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
            goto respond;
        }
        if (ours(cid, r->ca_cert)) {
            crypto_serial_hex(hex, serial);
            if (hex[0] && !r->lookup(&a, hex, r->ctx)) {
                status = OCSP_RESPONSE_STATUS_TRYLATER;
                goto respond;
            }
        }
        int st = a.status == CRYPTO_OCSP_GOOD      ? V_OCSP_CERTSTATUS_GOOD
                 : a.status == CRYPTO_OCSP_REVOKED ? V_OCSP_CERTSTATUS_REVOKED
                                                   : V_OCSP_CERTSTATUS_UNKNOWN;
        ASN1_TIME_free(rt);
        rt = NULL;
        if (st == V_OCSP_CERTSTATUS_REVOKED && !(rt = ASN1_TIME_set(NULL, a.rev_time)))
            goto respond;
        /* RFC 6960 4.2.1 RevokedInfo: the reason is optional; OpenSSL omits it for -1 */
        if (!OCSP_basic_add1_status(bs, cid, st, st == V_OCSP_CERTSTATUS_REVOKED ? a.reason : -1,
                                    rt, tu, nu))
            goto respond;
    }
    /* RFC 8954 / RFC 6960 4.4.1: the nonce is echoed */
    if (OCSP_copy_nonce(bs, rq) <= 0)
        goto respond;
    /* RFC 6960 4.2.2.2: signed by the CA, or by a responder it delegated to, whose certificate
     * goes in the response */
    if ((err = sign_ctx(&mc, r->key)) != CRYPTO_OK) {
        err = CRYPTO_OK; /* the detail stays; the response says internalError */
        goto respond;
    }
    if (!OCSP_basic_sign_ctx(bs, r->signer_cert ? r->signer_cert : r->ca_cert, mc, NULL,
                             r->signer_cert ? 0 : OCSP_NOCERTS)) {
        crypto_fail(CRYPTO_E_SIGN, "signing the OCSP response failed");
        goto respond;
    }
    status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
respond:
    /* RFC 6960 4.2.1: an unsuccessful response has no responseBytes */
    resp = OCSP_response_create(status, status == OCSP_RESPONSE_STATUS_SUCCESSFUL ? bs : NULL);
    if (!resp) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot build the OCSP response");
    } else {
        int dl = i2d_OCSP_RESPONSE(resp, &der);
        err = append_der(out, der, dl);
    }
    OCSP_REQUEST_free(rq);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    EVP_MD_CTX_free(mc);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    ASN1_TIME_free(rt);
    ERR_clear_error();
    return err;
}
