/* The deployment's CA, OCSP and TSA services: ties crypto (certificates, CRLs, OCSP) to the store
 * (what was issued and revoked).
 *
 * A CA lives in a directory:
 *   ca.conf            key = value lines: base_url, cert, key, key_pass_file, chain, root, store,
 *                      days, crl_days, ocsp_next_update, [ocsp_cert, ocsp_key, ocsp_pass_file]
 *   root.pem           the root (made by init, or the top of an imported chain)
 *   issuing.pem        the issuing CA's certificate; chain.pem: it and the certificates above it
 *   private/issuing.key, private/root.key: encrypted PKCS#8 keys (the password in a file named by
 * key_pass_file) ca.db              the store (SQLite) crl/issuing.crl    the last CRL (DER),
 * served at BASE_URL/crl/issuing.crl Issued certificates name BASE_URL/crl/issuing.crl and the OCSP
 * responder BASE_URL/ocsp. */
#ifndef ESEAL_PKI_CA_H
#define ESEAL_PKI_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "store/store.h"

typedef enum pki_err {
    PKI_OK = 0,
    PKI_E_NOMEM,
    PKI_E_CONFIG,   /* the CA directory or its ca.conf is missing or wrong */
    PKI_E_EXISTS,   /* init or import into a directory that holds a CA */
    PKI_E_CRYPTO,   /* a key, certificate, request or signature was refused */
    PKI_E_STORE,    /* the store failed */
    PKI_E_NOTFOUND, /* no certificate with that serial */
    PKI_E_STATE,    /* revoked already */
    PKI_E_IO,
    PKI_E_ARG
} pki_err;

const char *pki_strerror(pki_err err);
/* This thread's detail of the last failure. */
const char *pki_errdetail(void);

#define PKI_DEFAULT_DAYS 1095 /* enterprise certificates: 3 years */
#define PKI_DEFAULT_CRL_DAYS 7
#define PKI_DEFAULT_OCSP_NEXT 3600 /* seconds from thisUpdate to nextUpdate */

typedef struct pki_init_opts {
    const char *dir;
    const char *base_url;        /* http://host[:port][/prefix] */
    const char *pass_file;       /* the password the CA keys are encrypted with */
    const char *key_type;        /* "ec384" (default), "ec", "rsa", "rsa2048", "sm2" */
    const char *root_subject;    /* default "/CN=eseal Root CA" */
    const char *issuing_subject; /* default "/CN=eseal Issuing CA" */
    int root_days;               /* default 7300 */
    int issuing_days;            /* default 3650 */
} pki_init_opts;

/* A root and an issuing CA of the deployment's own. Refuses a directory that holds a ca.conf. */
pki_err pki_ca_init(const pki_init_opts *o);

typedef struct pki_import_opts {
    const char *dir;
    const char *base_url;
    const char *cert;      /* the issuing CA's certificate */
    const char *key;       /* its private key */
    const char *pass_file; /* the key's password, if it is encrypted */
    const char *chain;     /* the certificates above it, up to the root */
} pki_import_opts;

/* An external CA's certificate and key, taken in. */
pki_err pki_ca_import(const pki_import_opts *o);

typedef struct pki_ca pki_ca;

enum { PKI_OPEN_KEY = 1 }; /* also load the CA's key (to issue, revoke into a CRL, answer OCSP) */

/* pass_file overrides the configured key_pass_file when not NULL. */
pki_err pki_ca_open(pki_ca **out, const char *dir, unsigned flags, const char *pass_file);
void pki_ca_free(pki_ca *ca);

X509 *pki_ca_cert(const pki_ca *ca);
const char *pki_ca_base_url(const pki_ca *ca);

typedef struct pki_issue_req {
    const char *csr;      /* a PKCS#10 request file, or */
    const char *pubkey;   /* a public key file (with subject), or */
    const char *genkey;   /* a key file to generate (with subject; encrypted with key_pass) */
    const char *key_type; /* for genkey: "ec" (default), "ec384", "rsa", "rsa2048", "sm2" */
    const char *key_pass; /* the password genkey's file is encrypted with */
    const char *subject;  /* "/C=CN/O=.../CN=..."; for a CSR, overrides the request's */
    const char *profile;  /* "enterprise" (default), "tsa", "ocsp" */
    int days;             /* 0: the CA's default (3 years) */
    const char *reissue;  /* serial of the certificate this one replaces (same subject) */
} pki_issue_req;

/* Issues and records a certificate; a re-issue revokes the certificate it replaces as
 * superseded once the new one is recorded. */
pki_err pki_issue(X509 **out, pki_ca *ca, const pki_issue_req *req);

/* reason: RFC 5280 5.3.1 code. */
pki_err pki_revoke(pki_ca *ca, const char *serial, int reason);

/* The record of a certificate by serial (any hex form) or by the certificate itself. */
pki_err pki_status(store_cert *out, pki_ca *ca, const char *serial);
pki_err pki_status_cert(store_cert *out, pki_ca *ca, const char *cert_path);

/* Good certificates whose validity ends within days from now (days < 0: every certificate). */
pki_err pki_list(pki_ca *ca, int days, store_cert_fn fn, void *ctx);

/* Signs a CRL of every revoked certificate (nextUpdate days later, 0: the configured
 * crl_days) and writes it atomically to out_path (NULL: DIR/crl/issuing.crl) as DER. */
pki_err pki_crl(pki_ca *ca, int days, const char *out_path);

/* Answers one DER OCSP request (RFC 6960) from the store's present state. */
pki_err pki_ocsp_respond(buf *out, pki_ca *ca, const uint8_t *req, size_t len);

#endif
