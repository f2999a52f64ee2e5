/* Signing a document: PAdES baseline B-B (ETSI EN 319 142-1) in one incremental update. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "base/fileio.h"
#include "crypto/crypto.h"
#include "imaging/image.h"
#include "seal/internal.h"

static seal_err from_crypto(crypto_err e) {
    if (e == CRYPTO_E_NOMEM)
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    return seal_fail_lib(SEAL_E_KEY, crypto_strerror(e), crypto_errdetail());
}

seal_err seal_from_pdf(pdf_err e) {
    if (e == PDF_E_NOMEM)
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    if (e == PDF_E_IO)
        return seal_fail_lib(SEAL_E_IO, pdf_strerror(e), pdf_errdetail());
    if (e == PDF_E_ARG || e == PDF_E_FIELD || e == PDF_E_NO_PAGE)
        return seal_fail_lib(SEAL_E_ARG, pdf_strerror(e), pdf_errdetail());
    return seal_fail_lib(SEAL_E_DOCUMENT, pdf_strerror(e), pdf_errdetail());
}

bool seal_level_parse(seal_level *out, const char *name) {
    static const char *const names[] = {"B-B", "B-T", "B-LT", "B-LTA"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = (seal_level)i;
            return true;
        }
    return false;
}

void seal_cert_cn(char *out, size_t n, X509 *cert) {
    X509_NAME *subj = cert ? X509_get_subject_name(cert) : NULL;
    int idx = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
    unsigned char *utf8 = NULL;
    out[0] = '\0';
    if (idx >= 0 &&
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx))) >= 0) {
        snprintf(out, n, "%s", (char *)utf8);
        OPENSSL_free(utf8);
    } else if (subj) {
        X509_NAME_oneline(subj, out, (int)n);
    }
}

bool seal_picture_type_ok(const char *type) {
    return type && (strcasecmp(type, "PNG") == 0 || strcasecmp(type, "JPG") == 0 ||
                    strcasecmp(type, "JPEG") == 0);
}

void seal_time_text(char *out, size_t n, time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The seal of o->seal, judged for this signer before anything is signed (GB/T 38540-2020
 * clause 8: the seal maker's signature over SES_SealInfo holds, and the signer's certificate
 * is one the seal's certList names); the crypto signer's options carry its DER as the signed
 * attribute CRYPTO_OID_SEAL_ATTR. Its validity is judged at each signing (seal_finish). */
static seal_err take_seal(seal_signer *s, crypto_signer_opts *so, const seal_signer_opts *o) {
    if (!o || !o->seal)
        return SEAL_OK;
    if (o->image)
        return seal_fail(SEAL_E_ARG, "a seal brings its own picture: --image cannot go with it");
    crypto_err ce = crypto_ses_load(&s->ses, o->seal);
    if (ce == CRYPTO_E_NOMEM)
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    if (ce == CRYPTO_E_IO)
        return seal_fail_lib(SEAL_E_IO, o->seal, crypto_errdetail());
    if (ce != CRYPTO_OK)
        return seal_fail_lib(SEAL_E_SEAL, o->seal, crypto_errdetail());
    const crypto_ses *ses = s->ses;
    if ((ce = crypto_ses_check_maker(ses)) == CRYPTO_E_SIGN)
        return seal_fail(SEAL_E_SEAL, "seal %s (\"%s\"): the seal maker's signature does not hold",
                         o->seal, ses->name);
    if (ce != CRYPTO_OK)
        return seal_fail(SEAL_E_SEAL,
                         "seal %s (\"%s\"): the seal maker's signature cannot be checked: %s",
                         o->seal, ses->name, crypto_errdetail());
    char cn[256];
    seal_cert_cn(cn, sizeof cn, s->cert);
    if (!crypto_ses_lists(ses, s->cert))
        return seal_fail(SEAL_E_SEAL,
                         "seal %s (\"%s\") does not list the signer's certificate (%s): it "
                         "lists %zu other%s",
                         o->seal, ses->name, cn, ses->n_listed, ses->n_listed == 1 ? "" : "s");
    if (!seal_picture_type_ok(ses->picture_type))
        return seal_fail(SEAL_E_SEAL,
                         "seal %s (\"%s\"): its picture is of type %s; eseal shows PNG and JPEG "
                         "pictures only",
                         o->seal, ses->name, ses->picture_type);
    so->seal_der = crypto_ses_der(ses, &so->seal_len);
    return SEAL_OK;
}

/* The seal's validity at the signing time (GB/T 38540-2020 clause 8: validStart and
 * validEnd). */
static seal_err seal_valid_at(const seal_signer *s, time_t when) {
    int w = crypto_ses_when(s->ses, when);
    if (w == 0)
        return SEAL_OK;
    char at[40], from[40], to[40];
    seal_time_text(at, sizeof at, when);
    seal_time_text(from, sizeof from, s->ses->valid_from);
    seal_time_text(to, sizeof to, s->ses->valid_to);
    return seal_fail(SEAL_E_SEAL, "seal \"%s\" is %s at the signing time %s (valid from %s to %s)",
                     s->ses->name, w < 0 ? "not yet valid" : "expired", at, from, to);
}

/* The level and the TSA, checked and kept; the crypto signer's options for them. */
static seal_err take_level(seal_signer *s, crypto_signer_opts *so, const seal_signer_opts *o) {
    if (!o)
        return SEAL_OK;
    if (o->level > SEAL_LEVEL_B_LTA)
        return seal_fail(SEAL_E_ARG, "unknown PAdES level");
    if (o->level >= SEAL_LEVEL_B_T && !o->tsa_url)
        return seal_fail(SEAL_E_ARG,
                         "PAdES B-T and above need a time-stamping authority (--tsa URL)");
    s->level = o->level;
    s->tsa_timeout_ms = o->tsa_timeout_ms;
    if (o->level >= SEAL_LEVEL_B_T) {
        if (!(s->tsa_url = strdup(o->tsa_url)))
            return seal_fail(SEAL_E_NOMEM, "out of memory");
        so->tsa_url = s->tsa_url;
        so->tsa_timeout_ms = o->tsa_timeout_ms;
    }
    return SEAL_OK;
}

/* The appearance picture: the seal's, or the --image PNG. */
static seal_err take_picture(seal_signer *s, const seal_signer_opts *o) {
    if (s->ses) {
        seal_err err =
            seal_image_load_memory(&s->image, NULL, s->ses->picture, s->ses->picture_len);
        if (err != SEAL_OK && err != SEAL_E_NOMEM)
            err = seal_fail(SEAL_E_SEAL, "seal \"%s\": its picture cannot be shown: %s",
                            s->ses->name, seal_errdetail());
        return err;
    }
    if (o && o->image)
        return seal_image_load(&s->image, NULL, o->image);
    return SEAL_OK;
}

seal_err seal_signer_new(seal_signer **out, const seal_signer_opts *o) {
    seal_err err = SEAL_OK;
    crypto_err ce;
    seal_signer *s = calloc(1, sizeof *s);
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    *out = NULL;
    if (!s)
        return SEAL_E_NOMEM;
    if (!o->key) {
        err = seal_fail(SEAL_E_ARG, "no key given");
        goto out;
    }
    if ((ce = crypto_key_load(&s->key, &s->cert, &s->chain, o->key, o->password)) != CRYPTO_OK) {
        err = from_crypto(ce);
        goto out;
    }
    s->own_key = true;
    if (o->cert) {
        /* The certificate file's first certificate is the signer's; the rest join the chain. */
        if ((ce = crypto_certs_load(&certs, o->cert)) != CRYPTO_OK) {
            err = from_crypto(ce);
            goto out;
        }
        X509_free(s->cert);
        s->cert = sk_X509_shift(certs);
        if (!s->chain)
            s->chain = sk_X509_new_null();
        for (X509 *c; (c = sk_X509_shift(certs)) != NULL;)
            if (!s->chain || !sk_X509_push(s->chain, c))
                X509_free(c);
    }
    if (!s->cert) {
        err = seal_fail(SEAL_E_ARG, "no certificate given (--cert), and the key file holds none");
        goto out;
    }
    if (o->chain) {
        if ((ce = crypto_certs_load(&chain, o->chain)) != CRYPTO_OK) {
            err = from_crypto(ce);
            goto out;
        }
        if (!s->chain)
            s->chain = sk_X509_new_null();
        for (X509 *c; (c = sk_X509_shift(chain)) != NULL;)
            if (!s->chain || !sk_X509_push(s->chain, c))
                X509_free(c);
    }
    crypto_signer_opts so = {.digest = o->digest,
                             .padding = o->pss ? CRYPTO_PAD_PSS : CRYPTO_PAD_AUTO};
    if ((err = take_level(s, &so, o)) != SEAL_OK || (err = take_seal(s, &so, o)) != SEAL_OK)
        goto out;
    if ((ce = crypto_signer_new(&s->cs, s->key, s->cert, s->chain, &so)) != CRYPTO_OK) {
        err = from_crypto(ce);
        goto out;
    }
    err = take_picture(s, o);
out:
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    if (err == SEAL_OK)
        *out = s;
    else
        seal_signer_free(s);
    return err;
}

seal_err seal_signer_from_key(seal_signer **out, crypto_key *key, X509 *cert,
                              STACK_OF(X509) * chain, const seal_signer_opts *o) {
    seal_err err = SEAL_OK;
    seal_signer *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return SEAL_E_NOMEM;
    s->key = key;
    if (!cert) {
        err = seal_fail(SEAL_E_KEY, "the key process has no certificate for the signing key");
        goto out;
    }
    if (!X509_up_ref(cert) || (chain && !(s->chain = X509_chain_up_ref(chain)))) {
        err = SEAL_E_NOMEM;
        goto out;
    }
    s->cert = cert;
    crypto_signer_opts so = {.digest = o ? o->digest : NULL,
                             .padding = o && o->pss ? CRYPTO_PAD_PSS : CRYPTO_PAD_AUTO};
    if ((err = take_level(s, &so, o)) != SEAL_OK || (err = take_seal(s, &so, o)) != SEAL_OK)
        goto out;
    crypto_err ce = crypto_signer_new(&s->cs, s->key, s->cert, s->chain, &so);
    if (ce != CRYPTO_OK) {
        err = from_crypto(ce);
        goto out;
    }
    err = take_picture(s, o);
out:
    if (err == SEAL_OK)
        *out = s;
    else
        seal_signer_free(s);
    return err;
}

void seal_signer_free(seal_signer *s) {
    if (!s)
        return;
    crypto_signer_free(s->cs);
    if (s->own_key)
        crypto_key_free(s->key);
    X509_free(s->cert);
    sk_X509_pop_free(s->chain, X509_free);
    pdf_image_free(s->image);
    crypto_ses_free(s->ses);
    free(s->tsa_url);
    free(s);
}

const char *seal_signer_name(const seal_signer *s) {
    return crypto_signer_name(s->cs);
}

/* A visible signature without a picture: a frame and, where fonts need not be embedded (not
 * PDF/A), who signed and when in Helvetica. Non-ASCII characters of the name show as '?'
 * until glyph outlines are drawn. */
static pdf_err text_appearance(uint32_t *num, pdf_update *u, const pdf_sig_field *w,
                               const char *name, time_t when) {
    arena *a = pdf_update_arena(u);
    buf c;
    buf_init(&c, 4096);
    bool text = pdf_doc_pdfa_part(pdf_update_doc(u)) == 0;
    pdf_err err = PDF_OK;
    int rc =
        buf_printf(&c, "q 0.4 G 0.75 w 0.5 0.5 %.3f %.3f re S Q\n", w->width - 1, w->height - 1);
    if (text && rc == BUF_OK) {
        char ascii[64], date[32];
        size_t n = 0;
        for (const char *p = name; *p && n < sizeof ascii - 1; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch >= 0x80 && (ch & 0xC0) == 0x80)
                continue; /* continuation byte of a character already replaced */
            ascii[n++] =
                ch >= 0x20 && ch < 0x7F && ch != '(' && ch != ')' && ch != '\\' ? (char)ch : '?';
        }
        ascii[n] = '\0';
        struct tm tm;
        gmtime_r(&when, &tm);
        strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
        double size = w->height / 4.5 < 9 ? w->height / 4.5 : 9;
        rc = buf_printf(&c,
                        "BT /Helv %.2f Tf 0 g %.2f %.2f Td (Digitally signed by) Tj 0 %.2f Td (%s) "
                        "Tj 0 %.2f Td (%s) Tj ET\n",
                        size, size * 0.5, w->height - size * 1.5, -size * 1.3, ascii, -size * 1.3,
                        date);
    }
    pdf_val *res = text ? pv_dict(a) : NULL, *fonts = pv_dict(a), *helv = pv_dict(a);
    uint8_t *data = rc == BUF_OK ? arena_memdup(a, c.data, c.len) : NULL;
    size_t len = c.len;
    buf_free(&c);
    if (!data || (text && !res) || !fonts || !helv)
        return PDF_E_NOMEM;
    if (text) {
        err = pv_dict_set(a, helv, "Type", pv_name(a, "Font"));
        if (err == PDF_OK)
            err = pv_dict_set(a, helv, "Subtype", pv_name(a, "Type1"));
        if (err == PDF_OK)
            err = pv_dict_set(a, helv, "BaseFont", pv_name(a, "Helvetica"));
        if (err == PDF_OK)
            err = pv_dict_set(a, helv, "Encoding", pv_name(a, "WinAnsiEncoding"));
        if (err == PDF_OK)
            err = pv_dict_set(a, fonts, "Helv", helv);
        if (err == PDF_OK)
            err = pv_dict_set(a, res, "Font", fonts);
    }
    if (err == PDF_OK)
        err = pdf_update_add_form(num, u, w->width, w->height, w->rotate, res, data, len);
    return err;
}

static seal_err check_opts(const seal_sign_opts *o) {
    if (o->certify < 0 || o->certify > 3)
        return seal_fail(SEAL_E_ARG, "certification level must be 1, 2 or 3");
    if (o->existing_field && !o->field)
        return seal_fail(SEAL_E_ARG, "an existing field needs its name");
    bool seal_size = o->rect_mm[2] == 0 && o->rect_mm[3] == 0; /* the seal's own */
    if (o->page > 0 && !((seal_size || (o->rect_mm[2] > 0 && o->rect_mm[3] > 0)) &&
                         o->rect_mm[2] < 10000 && o->rect_mm[3] < 10000 && o->rect_mm[0] > -10000 &&
                         o->rect_mm[1] > -10000 && o->rect_mm[0] < 10000 && o->rect_mm[1] < 10000))
        return seal_fail(SEAL_E_ARG, "the rectangle must have a positive width and height in "
                                     "millimetres");
    return SEAL_OK;
}

seal_err seal_begin(seal_result *res, pdf_update **u, uint8_t *data, size_t len,
                    const seal_sign_opts *o, bool new_field) {
    pdf_err pe;
    seal_err err = SEAL_OK;
    memset(res, 0, sizeof *res);
    *u = NULL;
    if ((err = check_opts(o)) != SEAL_OK) {
        free(data);
        return err;
    }
    pdf_open_opts po = {.password = o->doc_password, .repair = !o->no_repair};
    if ((pe = pdf_doc_open(&res->doc, data, len, &po)) != PDF_OK ||
        (pe = pdf_doc_may_sign(res->doc, new_field)) != PDF_OK ||
        (pe = pdf_update_begin(u, res->doc)) != PDF_OK) {
        err = seal_from_pdf(pe);
        seal_result_free(res);
        return err;
    }
    res->repaired = pdf_doc_repaired(res->doc);
    return SEAL_OK;
}

seal_err seal_finish(seal_result *res, seal_signer *s, pdf_update *u, pdf_sig_spec *spec) {
    seal_err err = SEAL_OK;
    pdf_err pe = PDF_OK;
    buf cms;
    buf_init(&cms, 1024 * 1024);
    spec->contents_capacity = crypto_signer_max_size(s->cs);
    if (!spec->subfilter)
        spec->subfilter = "ETSI.CAdES.detached";
    if (s->ses && (err = seal_valid_at(s, spec->signing_time)) != SEAL_OK)
        goto out;
    if (s->ses) {
        /* A seal is a picture on the page: the verifier fails a seal it cannot see. */
        pdf_sig_field where;
        if ((pe = pdf_sig_locate(&where, u, spec)) == PDF_OK && !where.visible) {
            err = seal_fail(SEAL_E_ARG,
                            "a signature carrying a seal must show it: give --rect X,Y (the "
                            "seal's own size is used) or --field of a visible field");
            goto out;
        }
    }
    if (pe == PDF_OK && !spec->appearance) {
        pdf_sig_field where;
        pe = pdf_sig_locate(&where, u, spec);
        if (pe == PDF_OK && where.visible && s->image) {
            uint32_t img, iw, ih;
            pdf_image_size(s->image, &iw, &ih);
            pe = pdf_update_add_image(&img, u, s->image);
            if (pe == PDF_OK)
                pe = pdf_update_add_image_form(&spec->appearance, u, where.width, where.height,
                                               where.rotate, img, iw, ih);
        } else if (pe == PDF_OK && where.visible) {
            pe = text_appearance(&spec->appearance, u, &where, crypto_signer_name(s->cs),
                                 spec->signing_time);
        }
    }
    if (pe == PDF_OK)
        pe = pdf_sig_add(u, spec);
    if (pe == PDF_OK)
        pe = pdf_update_write(&res->out, u);
    if (pe != PDF_OK) {
        err = seal_from_pdf(pe);
        goto out;
    }
    /* ISO 32000-2 12.8.1: the digest covers the byte ranges, everything but /Contents. */
    struct iovec parts[3];
    int n = pdf_output_signed_parts(&res->out, parts);
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t md_len;
    crypto_err ce = crypto_signer_digest(md, &md_len, s->cs, parts, n);
    if (ce == CRYPTO_OK)
        ce = crypto_cms_sign(&cms, s->cs, md, md_len);
    if (ce != CRYPTO_OK) {
        err = seal_fail_lib(SEAL_E_SIGN, crypto_strerror(ce), crypto_errdetail());
        goto out;
    }
    if ((pe = pdf_output_sign(&res->out, cms.data, cms.len)) != PDF_OK)
        err = seal_fail_lib(SEAL_E_SIGN, pdf_strerror(pe), pdf_errdetail());
out:
    buf_free(&cms);
    return err;
}

/* With a seal, the rectangle is the seal's size (GB/T 38540-2020 SES_ESPictrueInfo width and
 * height, millimetres): taken when none is given, and a different one refused rather than the
 * seal shown at another size. */
static seal_err seal_rect(double r[4], const crypto_ses *ses) {
    if (r[2] == 0 && r[3] == 0) {
        r[2] = ses->width_mm;
        r[3] = ses->height_mm;
        return SEAL_OK;
    }
    if (fabs(r[2] - ses->width_mm) > 0.5 || fabs(r[3] - ses->height_mm) > 0.5)
        return seal_fail(SEAL_E_ARG,
                         "the rectangle is %gx%g mm but seal \"%s\" is %dx%d mm: give its position "
                         "alone (--rect X,Y)",
                         r[2], r[3], ses->name, ses->width_mm, ses->height_mm);
    return SEAL_OK;
}

seal_err seal_sign_memory(seal_result *res, seal_signer *s, uint8_t *data, size_t len,
                          const seal_sign_opts *o) {
    pdf_update *u = NULL;
    seal_err err = seal_begin(res, &u, data, len, o, !o->existing_field);
    if (err != SEAL_OK)
        return err;
    time_t when = o->when ? o->when : time(NULL);
    pdf_sig_spec spec = {.field = o->field,
                         .existing = o->existing_field,
                         .page = o->page > 0 ? o->page - 1 : -1,
                         .docmdp = o->certify,
                         .reason = o->reason,
                         .location = o->location,
                         .contact = o->contact,
                         .signing_time = when};
    if (spec.page >= 0 && !o->existing_field) {
        pdf_page_geom g;
        double r[4] = {o->rect_mm[0], o->rect_mm[1], o->rect_mm[2], o->rect_mm[3]};
        pdf_err pe = pdf_page_geometry(&g, res->doc, spec.page);
        if (s->ses)
            err = seal_rect(r, s->ses);
        else if (r[2] == 0 && r[3] == 0)
            err = seal_fail(SEAL_E_ARG, "the rectangle needs a width and a height (its position "
                                        "alone is enough only with a seal)");
        if (pe != PDF_OK)
            err = seal_from_pdf(pe);
        else if (err == SEAL_OK)
            pdf_page_view_mm_to_user(spec.rect, &g, r);
    }
    if (err == SEAL_OK)
        err = seal_finish(res, s, u, &spec);
    pdf_update_free(u);
    if (err == SEAL_OK)
        err = seal_extend(res, s, o);
    if (err != SEAL_OK)
        seal_result_free(res);
    return err;
}

void seal_result_free(seal_result *res) {
    pdf_output_free(&res->out);
    pdf_doc_free(res->doc);
    memset(res, 0, sizeof *res);
}

seal_err seal_sign_file(seal_signer *s, const char *in, const char *out, const seal_sign_opts *opts,
                        bool *repaired) {
    uint8_t *data;
    size_t len;
    seal_result res;
    int e = file_read_all(&data, &len, in, PDF_DEFAULT_MAX_BYTES);
    if (e == EFBIG)
        return seal_fail(SEAL_E_DOCUMENT, "%s is larger than %zu bytes", in,
                         (size_t)PDF_DEFAULT_MAX_BYTES);
    if (e)
        return seal_fail(SEAL_E_IO, "%s: %s", in, strerror(e));
    seal_err err = seal_sign_memory(&res, s, data, len, opts);
    if (err != SEAL_OK)
        return err;
    struct iovec parts[2];
    int n = pdf_output_parts(&res.out, parts);
    e = opts->no_sync ? file_write_atomic_nosync(out, parts, n, 0644)
                      : file_write_atomic(out, parts, n, 0644);
    if (e)
        err = seal_fail(SEAL_E_IO, "%s: %s", out, strerror(e));
    if (repaired)
        *repaired = res.repaired;
    seal_result_free(&res);
    return err;
}
