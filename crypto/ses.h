/* Electronic seals: GB/T 38540-2020 SES_Seal (header version 4), made and read; GM/T 0031-2014
 * SESeal (header version 1 to 3, the layout with SES_SignInfo) read. A seal binds a picture and
 * a name to the certificates of the signers allowed to use it, for a period, under the seal
 * maker's signature. It knows nothing of PDF: a PDF signature carries a seal as the signed CMS
 * attribute CRYPTO_OID_SEAL_ATTR whose one value is the SES_Seal DER.
 *
 * GB/T 38540-2020 clause 7 (version 4):
 *   SES_Seal ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING (maker certificate DER),
 *                           signAlgID OBJECT IDENTIFIER, signedValue BIT STRING }
 *   SES_SealInfo ::= SEQUENCE { header SES_Header, esID IA5String,
 *                               property SES_ESPropertyInfo, picture SES_ESPictrueInfo,
 *                               extDatas ExtensionDatas OPTIONAL }
 *   SES_Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String }
 *   SES_ESPropertyInfo ::= SEQUENCE { type INTEGER, name UTF8String, certListType INTEGER,
 *                                     certList SES_CertList, createDate GeneralizedTime,
 *                                     validStart GeneralizedTime, validEnd GeneralizedTime }
 *   SES_CertList ::= CHOICE { certs SEQUENCE OF OCTET STRING,        -- certListType 1
 *                             certDigestList SEQUENCE OF CertDigestObj } -- certListType 2
 *   CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }
 *   SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING,
 *                                    width INTEGER, height INTEGER }  -- millimetres
 *   The maker signs DER(SES_SealInfo).
 * GM/T 0031-2014: SESeal ::= SEQUENCE { esealInfo SES_SealInfo, signInfo SES_SignInfo } with
 *   SES_ESPropertyInfo ::= SEQUENCE { type, name, certList SEQUENCE OF OCTET STRING,
 *                                     createDate UTCTime, validStart UTCTime, validEnd UTCTime }
 *   SES_SignInfo ::= SEQUENCE { cert OCTET STRING, signatureAlgorithm OBJECT IDENTIFIER,
 *                               signData BIT STRING }
 *   the maker signing DER(SEQUENCE { esealInfo, cert, signatureAlgorithm }). */
#ifndef ESEAL_CRYPTO_SES_H
#define ESEAL_CRYPTO_SES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "crypto/crypto.h"

/* The signed CMS attribute that carries a seal in our PDF signatures: an OID in the project's
 * own 2.25 UUID arc (that of CRYPTO_TSA_DEFAULT_POLICY). */
#define CRYPTO_OID_SEAL_ATTR "2.25.30852577225667587897435140861070771898.2.1"

/* Limits on what a seal may hold; beyond them a seal is refused (CRYPTO_E_LIMIT). */
#define CRYPTO_SES_MAX_DER (2u * 1024 * 1024) /* the whole seal, picture included */
#define CRYPTO_SES_MAX_CERTS 32               /* signer certificates or digests */
#define CRYPTO_SES_MAX_TEXT 1024              /* esID, Vid, name, picture type: bytes */
#define CRYPTO_SES_MAX_MM 1000                /* picture width and height */

/* A seal as read. Every string is NUL-terminated and holds no NUL; names are UTF-8. */
typedef struct crypto_ses {
    int version;    /* SES_Header.version: 4 (GB/T 38540-2020), 1 to 3 (GM/T 0031-2014: 2;
                       some producers write 3, ofdrw 1) */
    char *vid;      /* the vendor's identifier */
    char *esid;     /* the seal's identifier */
    int type;       /* 1 an organisation's seal, 2 a person's; others as found */
    char *name;     /* the seal's name */
    time_t created; /* createDate */
    time_t valid_from, valid_to;
    int cert_list_type;     /* 1: certificates; 2: certificate digests */
    STACK_OF(X509) * certs; /* type 1: the signers' certificates; NULL for type 2 */
    size_t n_listed;        /* certificates or digests listed */
    char *picture_type;     /* "PNG", "JPG", "GIF", "OFD", "SVG", ... as found */
    uint8_t *picture;       /* the picture's bytes */
    size_t picture_len;
    int width_mm, height_mm; /* the picture's displayed size */
    X509 *maker;             /* the seal maker's certificate */
    char *sig_alg;           /* the maker's signature algorithm, dotted OID */
    struct crypto_ses_priv *priv;
} crypto_ses;

/* Reads a seal (DER, at most CRYPTO_SES_MAX_DER bytes, nothing after it). Malformed input is
 * CRYPTO_E_FORMAT with the detail naming the element, CRYPTO_E_LIMIT when a limit is passed.
 * The maker's signature is not checked here. */
crypto_err crypto_ses_parse(crypto_ses **out, const uint8_t *der, size_t len);
/* Reads a seal file (as crypto_ses_parse; files over CRYPTO_SES_MAX_DER refused). */
crypto_err crypto_ses_load(crypto_ses **out, const char *path);
void crypto_ses_free(crypto_ses *s);
/* The DER the seal was read from (borrowed). */
const uint8_t *crypto_ses_der(const crypto_ses *s, size_t *len);
/* SES_SealInfo's bytes as found in the seal (borrowed): what a version 4 maker signed. */
const uint8_t *crypto_ses_info_der(const crypto_ses *s, size_t *len);
/* Entry i of a certListType 2 list: CertDigestObj.type (printable ASCII) and value (borrowed);
 * false for type 1 or i out of range. */
bool crypto_ses_digest(const crypto_ses *s, size_t i, const char **type, const uint8_t **value,
                       size_t *len);
/* How many ExtData the seal carries (none critical: a critical one is refused). */
size_t crypto_ses_ext_count(const crypto_ses *s);

/* The maker's signature over what GB/T 38540 (or GM/T 0031) says is signed, with the maker
 * certificate's key: CRYPTO_OK when it holds, CRYPTO_E_SIGN when it does not,
 * CRYPTO_E_ALGORITHM when the algorithm is not supported or does not fit the key. The maker's
 * certificate is not validated here (see crypto_verify_result.seal). */
crypto_err crypto_ses_check_maker(const crypto_ses *s);
/* After crypto_ses_check_maker held, what the signature was found over, in words
 * ("SES_SealInfo"; for GM/T 0031 "SEQUENCE { esealInfo, cert, signatureAlgorithm }" or
 * "esealInfo alone", and "(signature as r||s)" for a raw SM2 value); NULL otherwise. Checking
 * records this in the seal: one thread at a time per seal. */
const char *crypto_ses_signed_over(const crypto_ses *s);
/* Whether the seal lists cert among its signers: the same DER (certListType 1) or a digest of
 * its DER (certListType 2, digest named by CertDigestObj.type: "SM3", "SHA256", "SHA-256",
 * ... or a dotted OID). */
bool crypto_ses_lists(const crypto_ses *s, X509 *cert);
/* -1 when t is before the seal's validity, 0 within it (bounds included), 1 after it. */
int crypto_ses_when(const crypto_ses *s, time_t t);

/* What a new seal says. */
typedef struct crypto_ses_spec {
    const char *name;       /* required, UTF-8 */
    const char *esid;       /* NULL: made up from the time and random bytes */
    const char *vid;        /* NULL: "eseal" */
    int type;               /* 0 or 1: an organisation's seal; 2 a person's */
    STACK_OF(X509) * certs; /* the signers' certificates: at least one */
    bool list_digests;      /* certListType 2 (SM3 digests of the certificates) */
    time_t valid_from, valid_to;
    time_t created;           /* 0: now */
    const char *picture_type; /* NULL: "PNG" */
    const uint8_t *picture;
    size_t picture_len;
    int width_mm, height_mm; /* required, 1..CRYPTO_SES_MAX_MM */
    crypto_key *maker_key;   /* SM2, RSA or ECDSA */
    X509 *maker_cert;        /* must belong to maker_key */
} crypto_ses_spec;

/* Makes a GB/T 38540-2020 version 4 seal, the maker signing DER(SES_SealInfo) with the key's
 * natural algorithm (crypto_key_sign_message); appends its DER to out. */
crypto_err crypto_ses_make(buf *out, const crypto_ses_spec *spec);

#endif
