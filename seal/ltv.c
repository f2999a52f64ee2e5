/* PAdES baseline levels beyond B-T (ETSI EN 319 142-1 6.3): B-LT adds the validation data of
 * the signature in a /DSS (5.4.2) in an incremental update of its own, B-LTA then a document
 * time-stamp (5.4.3, ISO 32000-2 12.8.5) in one more. The signature itself (B-B, or B-T with
 * its signature time-stamp) is made before, by seal_finish. */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "seal/internal.h"

#define DOC_TST_FIELD_MAX 32

static seal_err from_crypto(crypto_err e) {
    if (e == CRYPTO_E_NOMEM)
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    return seal_fail_lib(SEAL_E_SIGN, crypto_strerror(e), crypto_errdetail());
}

/* The signed result as one document again, to append the next update to. */
static seal_err reopen(seal_result *res, const seal_sign_opts *o) {
    size_t len = res->out.base_len + res->out.tail.len;
    uint8_t *data = malloc(len ? len : 1);
    bool repaired = res->repaired;
    char notes[sizeof res->notes];
    memcpy(notes, res->notes, sizeof notes);
    if (!data)
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    memcpy(data, res->out.base, res->out.base_len);
    memcpy(data + res->out.base_len, res->out.tail.data, res->out.tail.len);
    seal_result_free(res);
    res->repaired = repaired;
    memcpy(res->notes, notes, sizeof notes);
    pdf_open_opts po = {.password = o->doc_password};
    pdf_err pe = pdf_doc_open(&res->doc, data, len, &po);
    return pe == PDF_OK ? SEAL_OK : seal_from_pdf(pe);
}

/* The signature value as /Contents holds it, padding included (the key of its /VRI entry is
 * the SHA-1 of these bytes, ETSI EN 319 142-1 5.4.2.2), from the output just signed. */
static seal_err signature_contents(uint8_t **out, size_t *len, const seal_result *res) {
    const pdf_output *po = &res->out;
    size_t at = po->contents_at, n = po->contents_len;
    *out = NULL;
    if (!po->has_signature || at < po->base_len || n < 2 || at - po->base_len + n > po->tail.len)
        return seal_fail(SEAL_E_SIGN, "the signature just made cannot be found again");
    const uint8_t *hex = po->tail.data + (at - po->base_len) + 1; /* after '<' */
    size_t digits = n - 2;
    uint8_t *b = malloc(digits / 2 + 1);
    if (!b)
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    for (size_t i = 0; i + 1 < digits; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            uint8_t c = hex[i + (size_t)k];
            v = v * 16 + (c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : 0);
        }
        b[i / 2] = (uint8_t)v;
    }
    *out = b;
    *len = digits / 2;
    return SEAL_OK;
}

/* A value of the DSS that is an array, or an array behind a reference: the array to append to
 * (a copy written with the update). */
static pdf_err dss_array(pdf_val **out, pdf_update *u, pdf_val *dss, const char *key) {
    arena *a = pdf_update_arena(u);
    pdf_val *v = pv_dict_get(dss, key);
    pdf_err err = PDF_OK;
    if (v && v->t == PV_REF)
        err = pdf_update_edit(&v, u, v->u.ref.num, v->u.ref.gen);
    if (err == PDF_OK && (!v || v->t != PV_ARRAY)) {
        if (!(v = pv_array(a)))
            return PDF_E_NOMEM;
        err = pv_dict_set(a, dss, key, v);
    }
    *out = v;
    return err;
}

static pdf_err dss_dict(pdf_val **out, pdf_update *u, pdf_val *dss, const char *key) {
    arena *a = pdf_update_arena(u);
    pdf_val *v = pv_dict_get(dss, key);
    pdf_err err = PDF_OK;
    if (v && v->t == PV_REF)
        err = pdf_update_edit(&v, u, v->u.ref.num, v->u.ref.gen);
    if (err == PDF_OK && (!v || v->t != PV_DICT)) {
        if (!(v = pv_dict(a)))
            return PDF_E_NOMEM;
        err = pv_dict_set(a, dss, key, v);
    }
    *out = v;
    return err;
}

/* Each item a stream of its DER (5.4.2.2: Certs, OCSPs, CRLs hold streams), referenced from
 * the DSS's array and from the signature's VRI entry. */
static pdf_err put_items(pdf_update *u, pdf_val *all, pdf_val *vri, const uint8_t *const *items,
                         const size_t *lens, size_t n) {
    arena *a = pdf_update_arena(u);
    pdf_err err = PDF_OK;
    for (size_t i = 0; i < n && err == PDF_OK; i++) {
        uint32_t num;
        pdf_val *d = pv_dict(a);
        uint8_t *copy = arena_memdup(a, items[i], lens[i]);
        if (!d || !copy)
            return PDF_E_NOMEM;
        err = pdf_update_new_object(&num, u);
        if (err == PDF_OK)
            err = pdf_update_put_stream(u, num, d, copy, lens[i]);
        if (err == PDF_OK)
            err = pv_array_push(a, all, pv_ref(a, num, 0));
        if (err == PDF_OK)
            err = pv_array_push(a, vri, pv_ref(a, num, 0));
    }
    return err;
}

/* ETSI EN 319 142-1 5.4.2: the document security store, added to or begun. */
static seal_err add_dss(seal_result *res, const seal_sign_opts *o, const crypto_ltv *ltv,
                        const uint8_t vri_key[SHA_DIGEST_LENGTH]) {
    pdf_update *u = NULL;
    pdf_err pe;
    seal_err err = SEAL_OK;
    uint32_t cat, dss_num = 0;
    uint16_t cat_gen, dss_gen = 0;
    pdf_val *catalog, *dss = NULL, *certs, *ocsps, *crls, *vris, *entry, *vc, *vo, *vl;
    const uint8_t **items = NULL;
    size_t *lens = NULL;
    unsigned char **ders = NULL;
    const STACK_OF(X509) *cs = crypto_ltv_certs(ltv);
    size_t nc = (size_t)sk_X509_num(cs), no, nl;
    const buf *os = crypto_ltv_ocsps(ltv, &no), *ls = crypto_ltv_crls(ltv, &nl);
    size_t most = nc > no ? nc : no;
    most = most > nl ? most : nl;
    if ((err = reopen(res, o)) != SEAL_OK)
        return err;
    items = calloc(most + 1, sizeof *items);
    lens = calloc(most + 1, sizeof *lens);
    ders = calloc(nc + 1, sizeof *ders);
    if (!items || !lens || !ders) {
        err = seal_fail(SEAL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((pe = pdf_update_begin(&u, res->doc)) != PDF_OK)
        goto pdf_out;
    arena *a = pdf_update_arena(u);
    if ((pe = pdf_update_catalog(&cat, &cat_gen, u)) != PDF_OK ||
        (pe = pdf_update_edit(&catalog, u, cat, cat_gen)) != PDF_OK)
        goto pdf_out;
    pdf_val *old = pv_dict_get(catalog, "DSS");
    if (old && old->t == PV_REF) {
        dss_num = old->u.ref.num;
        dss_gen = old->u.ref.gen;
        if ((pe = pdf_update_edit(&dss, u, dss_num, dss_gen)) != PDF_OK)
            goto pdf_out;
    }
    if (!dss || dss->t != PV_DICT) {
        /* a new indirect DSS, taking over what a direct one held */
        if ((pe = pdf_update_new_object(&dss_num, u)) != PDF_OK)
            goto pdf_out;
        dss_gen = 0;
        dss = old && old->t == PV_DICT ? old : pv_dict(a);
        if (!dss) {
            pe = PDF_E_NOMEM;
            goto pdf_out;
        }
        if ((pe = pdf_update_put(u, dss_num, 0, dss)) != PDF_OK ||
            (pe = pv_dict_set(a, catalog, "DSS", pv_ref(a, dss_num, 0))) != PDF_OK)
            goto pdf_out;
    }
    if ((pe = pv_dict_set(a, dss, "Type", pv_name(a, "DSS"))) != PDF_OK ||
        (pe = dss_array(&certs, u, dss, "Certs")) != PDF_OK ||
        (pe = dss_array(&ocsps, u, dss, "OCSPs")) != PDF_OK ||
        (pe = dss_array(&crls, u, dss, "CRLs")) != PDF_OK ||
        (pe = dss_dict(&vris, u, dss, "VRI")) != PDF_OK)
        goto pdf_out;
    /* 5.4.2.2: the VRI entry of the signature, keyed by the upper-case hex SHA-1 of its
     * /Contents */
    char key[2 * SHA_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(key + 2 * i, 3, "%02X", vri_key[i]);
    entry = pv_dict(a);
    vc = pv_array(a);
    vo = pv_array(a);
    vl = pv_array(a);
    if (!entry || !vc || !vo || !vl) {
        pe = PDF_E_NOMEM;
        goto pdf_out;
    }
    for (size_t i = 0; i < nc; i++) {
        int len = i2d_X509(sk_X509_value(cs, (int)i), &ders[i]);
        if (len <= 0) {
            err = seal_fail(SEAL_E_NOMEM, "out of memory");
            goto out;
        }
        items[i] = ders[i];
        lens[i] = (size_t)len;
    }
    if ((pe = put_items(u, certs, vc, items, lens, nc)) != PDF_OK)
        goto pdf_out;
    for (size_t i = 0; i < no; i++) {
        items[i] = os[i].data;
        lens[i] = os[i].len;
    }
    if ((pe = put_items(u, ocsps, vo, items, lens, no)) != PDF_OK)
        goto pdf_out;
    for (size_t i = 0; i < nl; i++) {
        items[i] = ls[i].data;
        lens[i] = ls[i].len;
    }
    if ((pe = put_items(u, crls, vl, items, lens, nl)) != PDF_OK)
        goto pdf_out;
    pe = pv_dict_set(a, entry, "Cert", vc);
    if (pe == PDF_OK && no)
        pe = pv_dict_set(a, entry, "OCSP", vo);
    if (pe == PDF_OK && nl)
        pe = pv_dict_set(a, entry, "CRL", vl);
    if (pe == PDF_OK)
        pe = pv_dict_set(a, vris, key, entry);
    if (pe == PDF_OK)
        pe = pdf_update_write(&res->out, u);
pdf_out:
    if (pe != PDF_OK && err == SEAL_OK)
        err = seal_from_pdf(pe);
out:
    for (size_t i = 0; ders && i < nc; i++)
        OPENSSL_free(ders[i]);
    free(ders);
    free(items);
    free(lens);
    pdf_update_free(u);
    return err;
}

/* ETSI EN 319 142-1 5.4.3, ISO 32000-2 12.8.5: a document time-stamp, an RFC 3161 token over
 * the byte ranges, in an invisible signature field of its own. */
static seal_err add_doc_timestamp(seal_result *res, const seal_signer *s, const seal_sign_opts *o) {
    pdf_update *u = NULL;
    pdf_err pe = PDF_OK;
    seal_err err;
    buf tok;
    buf_init(&tok, CRYPTO_MAX_TST_RESERVE);
    if ((err = reopen(res, o)) != SEAL_OK)
        goto out;
    pdf_sig_spec spec = {.page = -1,
                         .doc_timestamp = true,
                         .filter = "Adobe.PPKLite",
                         .contents_capacity = CRYPTO_MAX_TST_RESERVE};
    if ((pe = pdf_update_begin(&u, res->doc)) != PDF_OK || (pe = pdf_sig_add(u, &spec)) != PDF_OK ||
        (pe = pdf_update_write(&res->out, u)) != PDF_OK) {
        err = seal_from_pdf(pe);
        goto out;
    }
    struct iovec parts[3];
    int n = pdf_output_signed_parts(&res->out, parts);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (int i = 0; i < n && ok; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].iov_base, parts[i].iov_len);
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        err = seal_fail(SEAL_E_SIGN, "cannot digest the document for its time-stamp");
        goto out;
    }
    crypto_tsa_opts to = {.timeout_ms = s->tsa_timeout_ms};
    crypto_err ce = crypto_tsa_request(&tok, s->tsa_url, EVP_sha256(), md, md_len, &to);
    if (ce != CRYPTO_OK) {
        err = from_crypto(ce);
        goto out;
    }
    if ((pe = pdf_output_sign(&res->out, tok.data, tok.len)) != PDF_OK)
        err = seal_fail_lib(SEAL_E_SIGN, pdf_strerror(pe), pdf_errdetail());
out:
    buf_free(&tok);
    pdf_update_free(u);
    return err;
}

seal_err seal_extend(seal_result *res, seal_signer *s, const seal_sign_opts *o) {
    seal_err err = SEAL_OK;
    uint8_t *contents = NULL;
    size_t clen = 0;
    crypto_ltv *ltv = NULL;
    crypto_err ce;
    if (s->level < SEAL_LEVEL_B_LT)
        return SEAL_OK;
    if ((err = signature_contents(&contents, &clen, res)) != SEAL_OK)
        goto out;
    uint8_t vri_key[SHA_DIGEST_LENGTH];
    SHA1(contents, clen, vri_key);
    if ((ce = crypto_ltv_new(&ltv)) != CRYPTO_OK ||
        (ce = crypto_ltv_collect(ltv, contents, clen, s->chain, s->tsa_timeout_ms)) != CRYPTO_OK) {
        err = from_crypto(ce);
        goto out;
    }
    if ((err = add_dss(res, o, ltv, vri_key)) != SEAL_OK)
        goto out;
    if (s->level >= SEAL_LEVEL_B_LTA)
        err = add_doc_timestamp(res, s, o);
out:
    crypto_ltv_free(ltv);
    free(contents);
    return err;
}
