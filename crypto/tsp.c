/* RFC 3161 time-stamp tokens, validated as ETSI EN 319 102-1 5.4 (time-stamp validation
 * building block) asks: a SignedData over a TSTInfo (RFC 3161 2.4.2) whose message imprint is
 * the digest of what was time-stamped, signed by a TSA whose certificate is for
 * time-stamping only (RFC 3161 2.3) and chains to a trust anchor at the validation time. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ts.h>

#include "crypto/internal.h"
#include "crypto/verify_int.h"

void tsp_eval(sig_eval *e, vctx *vc, const uint8_t *raw, size_t len, const struct iovec *imprinted,
              int nimprinted) {
    CMS_ContentInfo *cms = NULL;
    TS_TST_INFO *tst = NULL;
    char oid[80];
    if (!read_signed_data(&cms, &e->v, vc, raw, len))
        goto out;
    /* RFC 3161 2.4.2: eContentType id-ct-TSTInfo, the TSTInfo encapsulated */
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    const ASN1_OCTET_STRING *content = pos ? *pos : NULL;
    const unsigned char *p = content ? ASN1_STRING_get0_data(content) : NULL;
    long clen = content ? ASN1_STRING_length(content) : 0;
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo || !content ||
        !(tst = d2i_TS_TST_INFO(NULL, &p, clen)) || p != ASN1_STRING_get0_data(content) + clen ||
        !time_from_asn1(&e->gen_time, TS_TST_INFO_get_time(tst))) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the time-stamp token does not hold a readable TSTInfo (RFC 3161 2.4.2)");
        goto out;
    }
    struct iovec c = {(void *)(uintptr_t)ASN1_STRING_get0_data(content), (size_t)clen};
    eval_signed_data(e, vc, cms, &c, 1, true);
    if (!e->integrity)
        goto out;

    /* RFC 3161 2.4.2 messageImprint: the digest of the time-stamped data */
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
    const ASN1_OCTET_STRING *want = TS_MSG_IMPRINT_get_msg(mi);
    vdigest d;
    uint8_t md[EVP_MAX_MD_SIZE];
    if (!digest_from_alg(&d, TS_MSG_IMPRINT_get_algo(mi))) {
        oid_text(oid, sizeof oid, TS_MSG_IMPRINT_get_algo(mi)->algorithm);
        e->integrity = false;
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the time-stamp's imprint algorithm %s is not supported", oid);
        goto out;
    }
    if (!digest_run(md, &d, imprinted, nimprinted)) {
        vc->oom = true;
        goto out;
    }
    if ((size_t)ASN1_STRING_length(want) != d.len ||
        memcmp(ASN1_STRING_get0_data(want), md, d.len) != 0) {
        e->integrity = false;
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_HASH_FAILURE,
              "the time-stamp's message imprint is not the digest of what it should time-stamp");
        goto out;
    }
    if (d.def->weak)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the time-stamp's imprint algorithm %s is too weak (ETSI TS 119 312)", d.def->name);
    /* 5.4.4: the TSA's certificate at the current time, unless a later document time-stamp
     * proves the token existed earlier (5.6.2.1): then at that time */
    time_t poe = vc->opts->poe_time && vc->opts->poe_time < vc->now ? vc->opts->poe_time : 0;
    eval_certificate(e, vc, poe ? poe : vc->now, poe != 0, ROLE_TSA);
out:
    TS_TST_INFO_free(tst);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
}
