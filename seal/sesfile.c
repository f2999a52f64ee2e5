/* Seal files: GB/T 38540-2020 seals made from files and shown (seal/sesfile.h). */
#include "seal/sesfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/fileio.h"
#include "base/json.h"
#include "crypto/ca.h"
#include "crypto/ses.h"
#include "imaging/image.h"
#include "seal/internal.h"

/* What a picture in a seal may be decoded to, at most. */
static const img_limits PICTURE_LIMITS = {CRYPTO_SES_MAX_DER, SEAL_SES_MAX_PX, SEAL_SES_MAX_PX,
                                          (uint64_t)SEAL_SES_MAX_PX *SEAL_SES_MAX_PX};

/* A crypto error as the domain's, "cause: detail". */
static seal_err from_crypto(crypto_err e, const char *cause) {
    seal_err se;
    switch (e) {
    case CRYPTO_E_NOMEM:
        return seal_fail(SEAL_E_NOMEM, "out of memory");
    case CRYPTO_E_IO:
        se = SEAL_E_IO;
        break;
    case CRYPTO_E_ARG:
    case CRYPTO_E_LIMIT:
        se = SEAL_E_ARG;
        break;
    case CRYPTO_E_FORMAT:
        se = SEAL_E_DOCUMENT;
        break;
    case CRYPTO_E_SIGN:
        se = SEAL_E_SIGN;
        break;
    default:
        se = SEAL_E_KEY;
        break;
    }
    return seal_fail_lib(se, cause, crypto_errdetail());
}

/* "PNG" or "JPG" by the file's signature (ISO/IEC 15948 5.2, ITU-T T.81 B.1.1.3), as
 * SES_ESPictrueInfo.type names them; NULL for anything else. */
static const char *picture_type(const uint8_t *d, size_t n) {
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "PNG";
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return "JPG";
    return NULL;
}

/* The picture file, which must be a PNG or JPEG that decodes within PICTURE_LIMITS. */
static seal_err load_picture(uint8_t **data, size_t *len, const char **type, const char *path) {
    img_rgba *img = NULL;
    seal_err err = SEAL_OK;
    int rc = file_read_all(data, len, path, CRYPTO_SES_MAX_DER);
    if (rc == EFBIG) {
        err = seal_fail(SEAL_E_IMAGE, "the picture %s is larger than a seal may be (%u bytes)",
                        path, (unsigned)CRYPTO_SES_MAX_DER);
        goto out;
    }
    if (rc != 0) {
        err = seal_fail(SEAL_E_IO, "cannot read the picture %s: %s", path, strerror(rc));
        goto out;
    }
    if (!(*type = picture_type(*data, *len))) {
        img_err ie = img_decode(&img, *data, *len, &PICTURE_LIMITS); /* names what it is */
        err = seal_fail(SEAL_E_IMAGE, "the picture %s: %s", path,
                        ie == IMG_OK ? "not a PNG or JPEG image" : img_errdetail());
        goto out;
    }
    img_err ie = img_decode(&img, *data, *len, &PICTURE_LIMITS);
    if (ie == IMG_E_NOMEM)
        err = seal_fail(SEAL_E_NOMEM, "out of memory");
    else if (ie != IMG_OK)
        err = seal_fail(SEAL_E_IMAGE, "the picture %s does not decode as a %s: %s", path, *type,
                        img_errdetail());
out:
    img_rgba_free(img);
    if (err != SEAL_OK) {
        free(*data);
        *data = NULL;
    }
    return err;
}

/* Every certificate of every file. */
static seal_err load_certs(STACK_OF(X509) * *out, const char *const *files, size_t n) {
    seal_err err = SEAL_OK;
    STACK_OF(X509) *all = sk_X509_new_null(), *some = NULL;
    if (!all) {
        err = seal_fail(SEAL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && err == SEAL_OK; i++) {
        crypto_err ce = crypto_certs_load(&some, files[i]);
        if (ce != CRYPTO_OK) {
            err = from_crypto(ce, "cannot read a signer certificate");
            break;
        }
        for (X509 *c; (c = sk_X509_shift(some)) != NULL;)
            if (!sk_X509_push(all, c)) {
                X509_free(c);
                err = seal_fail(SEAL_E_NOMEM, "out of memory");
            }
        sk_X509_free(some);
        some = NULL;
    }
out:
    sk_X509_pop_free(some, X509_free);
    if (err != SEAL_OK) {
        sk_X509_pop_free(all, X509_free);
        all = NULL;
    }
    *out = all;
    return err;
}

seal_err seal_ses_make_file(const char *out, const seal_ses_make_opts *o) {
    seal_err err = SEAL_OK;
    uint8_t *pic = NULL;
    size_t pic_len = 0;
    const char *pic_type = NULL;
    STACK_OF(X509) *signers = NULL, *maker_certs = NULL, *key_chain = NULL;
    crypto_key *key = NULL;
    X509 *key_cert = NULL, *maker = NULL;
    char *pass = NULL;
    crypto_err ce;
    buf seal;
    buf_init(&seal, CRYPTO_SES_MAX_DER);
    if (!out || !o || !o->picture || !o->name || !o->maker_key) {
        err = seal_fail(SEAL_E_ARG, "seal_ses_make_file: the output, picture, name and maker key "
                                    "are needed");
        goto out;
    }
    if (o->n_certs == 0) {
        err = seal_fail(SEAL_E_ARG, "no signer certificate: a seal lists those who may sign "
                                    "with it");
        goto out;
    }
    time_t from = o->valid_from ? o->valid_from : time(NULL);
    if (o->valid_to <= from) {
        err = seal_fail(SEAL_E_ARG, "the seal's validity must end after it starts");
        goto out;
    }
    if ((err = load_picture(&pic, &pic_len, &pic_type, o->picture)) != SEAL_OK ||
        (err = load_certs(&signers, o->certs, o->n_certs)) != SEAL_OK)
        goto out;
    if (o->maker_pass && (ce = crypto_read_password(&pass, o->maker_pass)) != CRYPTO_OK) {
        err = from_crypto(ce, "cannot read the maker key's password");
        goto out;
    }
    if ((ce = crypto_key_load(&key, &key_cert, &key_chain, o->maker_key, pass)) != CRYPTO_OK) {
        err = from_crypto(ce, "seal maker key");
        goto out;
    }
    if (o->maker_cert) {
        if ((ce = crypto_certs_load(&maker_certs, o->maker_cert)) != CRYPTO_OK) {
            err = from_crypto(ce, "seal maker certificate");
            goto out;
        }
        maker = sk_X509_value(maker_certs, 0);
    } else if (!(maker = key_cert)) {
        err = seal_fail(SEAL_E_ARG, "no seal maker certificate: %s holds none (give it)",
                        o->maker_key);
        goto out;
    }
    crypto_ses_spec spec = {.name = o->name,
                            .esid = o->esid,
                            .vid = o->vid,
                            .type = o->type,
                            .certs = signers,
                            .list_digests = o->cert_digests,
                            .valid_from = from,
                            .valid_to = o->valid_to,
                            .picture_type = pic_type,
                            .picture = pic,
                            .picture_len = pic_len,
                            .width_mm = o->width_mm ? o->width_mm : SEAL_SES_DEFAULT_MM,
                            .height_mm = o->height_mm ? o->height_mm : SEAL_SES_DEFAULT_MM,
                            .maker_key = key,
                            .maker_cert = maker};
    if ((ce = crypto_ses_make(&seal, &spec)) != CRYPTO_OK) {
        err = from_crypto(ce, "cannot make the seal");
        goto out;
    }
    struct iovec part = {seal.data, seal.len};
    int rc = file_write_atomic(out, &part, 1, 0644);
    if (rc != 0)
        err = seal_fail(SEAL_E_IO, "cannot write %s: %s", out, strerror(rc));
out:
    if (pass) {
        memset(pass, 0, strlen(pass));
        free(pass);
    }
    buf_free(&seal);
    free(pic);
    sk_X509_pop_free(signers, X509_free);
    sk_X509_pop_free(maker_certs, X509_free);
    sk_X509_pop_free(key_chain, X509_free);
    X509_free(key_cert);
    crypto_key_free(key);
    return err;
}

/* ---- showing a seal ---- */

/* The report being written: the first buffer failure is kept. */
typedef struct report {
    buf *b;
    bool json;
    int be;
} report;

static void put(report *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(report *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(o->b, fmt, ap);
    va_end(ap);
    if (rc != BUF_OK && o->be == BUF_OK)
        o->be = rc;
}

/* A JSON string (RFC 8259 7), or null. */
static void jstr(report *o, const char *s) {
    if (!s) {
        put(o, "null");
        return;
    }
    char small[256];
    size_t need = json_quote(small, sizeof small, s);
    if (need < sizeof small) {
        put(o, "%s", small);
        return;
    }
    char *big = malloc(need + 1);
    if (!big) {
        o->be = BUF_ENOMEM;
        return;
    }
    json_quote(big, need + 1, s);
    put(o, "%s", big);
    free(big);
}

/* Text for a terminal: control characters (a seal's name could carry escape sequences) shown
 * as '?': C0 and DEL, the C1 controls U+0080..U+009F in their UTF-8 form (U+009B is CSI to a
 * terminal), and the bidirectional overrides and isolates U+202A..U+202E, U+2066..U+2069 (Unicode
 * UAX #9), which reorder what is shown. */
static void tstr(report *o, const char *s) {
    if (!s) {
        put(o, "-");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t ctl = *p < 0x20 || *p == 0x7f                                        ? 1
                     : p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f                 ? 2
                     : p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae ? 3
                     : p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9 ? 3
                                                                                    : 0;
        put(o, "%c", ctl ? '?' : (char)*p);
        if (ctl)
            p += ctl - 1;
    }
}

/* A member of a JSON object: "\"key\":value", after a comma unless first. */
static void jfield(report *o, const char *key, const char *v, bool first) {
    put(o, "%s\"%s\":", first ? "" : ",", key);
    jstr(o, v);
}

/* A line of text: "label             value". */
static void tfield(report *o, const char *label, const char *v) {
    put(o, "%-17s ", label);
    tstr(o, v);
    put(o, "\n");
}

/* The one or the other. */
static void field(report *o, const char *key, const char *label, const char *v, bool first) {
    if (o->json)
        jfield(o, key, v, first);
    else
        tfield(o, label, v);
}

static void jint(report *o, const char *key, long long v) {
    put(o, ",\"%s\":%lld", key, v);
}

static void iso_time(char s[32], time_t t) {
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(s, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(s, 32, "?");
}

static void asn1_iso(char s[32], const ASN1_TIME *t) {
    struct tm tm;
    if (t && ASN1_TIME_to_tm(t, &tm))
        strftime(s, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(s, 32, "?");
}

static void hex(char *out, const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The subject's common name as UTF-8 (caller frees), or NULL. */
static char *common_name(X509 *x) {
    const X509_NAME *n = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    unsigned char *u = NULL;
    int len =
        i < 0 ? -1 : ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
    char *s = len >= 0 ? strndup((const char *)u, (size_t)len) : NULL;
    OPENSSL_free(u);
    return s;
}

/* One listed certificate: subject, common name, serial, SHA-256 fingerprint. */
static void show_cert(report *o, X509 *x, size_t i) {
    char *subject = crypto_name_string(X509_get_subject_name(x)), *cn = common_name(x);
    char serial[CRYPTO_SERIAL_HEX], fp[2 * EVP_MAX_MD_SIZE + 1] = "";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    crypto_serial_hex(serial, X509_get0_serialNumber(x));
    if (X509_digest(x, EVP_sha256(), md, &ml))
        hex(fp, md, ml);
    if (o->json) {
        put(o, "%s{", i ? "," : "");
        jfield(o, "subject", subject, true);
        jfield(o, "cn", cn, false);
        jfield(o, "serial", serial, false);
        jfield(o, "sha256", fp, false);
        put(o, "}");
    } else {
        put(o, "  %zu. ", i + 1);
        tstr(o, cn ? cn : subject);
        put(o, "\n     subject ");
        tstr(o, subject);
        put(o, "\n     serial  %s\n     sha256  %s\n", serial, fp);
    }
    free(subject);
    free(cn);
}

static void show_digest(report *o, const char *type, const uint8_t *v, size_t n, size_t i) {
    char h[2 * 64 + 1];
    hex(h, v, n < 64 ? n : 64);
    if (o->json) {
        put(o, "%s{", i ? "," : "");
        jfield(o, "type", type, true);
        jfield(o, "value", h, false);
        put(o, "}");
    } else {
        put(o, "  %zu. ", i + 1);
        tstr(o, type);
        put(o, " %s\n", h);
    }
}

static void show(report *o, const crypto_ses *s, const char *path, bool maker_ok,
                 const char *maker_why, const img_rgba *img, const char *img_why) {
    char created[32], from[32], to[32], nb[32], na[32], serial[CRYPTO_SERIAL_HEX];
    const char *type_name = s->type == 1 ? "organisation" : s->type == 2 ? "personal" : "other";
    const char *alg_name = crypto_msg_alg_name(s->sig_alg);
    char *msub = crypto_name_string(X509_get_subject_name(s->maker));
    char *miss = crypto_name_string(X509_get_issuer_name(s->maker));
    iso_time(created, s->created);
    iso_time(from, s->valid_from);
    iso_time(to, s->valid_to);
    asn1_iso(nb, X509_get0_notBefore(s->maker));
    asn1_iso(na, X509_get0_notAfter(s->maker));
    crypto_serial_hex(serial, X509_get0_serialNumber(s->maker));
    const char *format = s->version == 4 ? "GB/T 38540-2020" : "GM/T 0031-2014";
    if (o->json)
        put(o, "{");
    field(o, "file", "seal", path, true);
    if (o->json) {
        jfield(o, "format", format, false);
        jint(o, "version", s->version);
    } else {
        put(o, "%-17s %s, version %d\n", "format", format, s->version);
    }
    field(o, "vid", "vendor (Vid)", s->vid, false);
    field(o, "esid", "esID", s->esid, false);
    if (o->json) {
        jint(o, "type", s->type);
        jfield(o, "type_name", type_name, false);
    } else {
        put(o, "%-17s %d (%s)\n", "type", s->type, type_name);
    }
    field(o, "name", "name", s->name, false);
    field(o, "created", "created", created, false);
    field(o, "valid_from", "valid from", from, false);
    field(o, "valid_to", "valid to", to, false);
    if (o->json) {
        jint(o, "cert_list_type", s->cert_list_type);
        put(o, ",\"certificates\":[");
    } else {
        put(o, "%-17s %zu %s (certListType %d)\n", "signers", s->n_listed,
            s->cert_list_type == 1 ? "certificate(s)" : "certificate digest(s)", s->cert_list_type);
    }
    for (int i = 0; s->certs && i < sk_X509_num(s->certs); i++)
        show_cert(o, sk_X509_value(s->certs, i), (size_t)i);
    if (o->json)
        put(o, "],\"digests\":[");
    const char *dt;
    const uint8_t *dv;
    size_t dl;
    for (size_t i = 0; crypto_ses_digest(s, i, &dt, &dv, &dl); i++)
        show_digest(o, dt, dv, dl, i);
    if (o->json) {
        put(o, "],\"picture\":{");
        jfield(o, "type", s->picture_type, true);
        put(o, ",\"bytes\":%zu,\"width_mm\":%d,\"height_mm\":%d,\"decodes\":%s", s->picture_len,
            s->width_mm, s->height_mm, img ? "true" : "false");
        if (img)
            put(o, ",\"width_px\":%u,\"height_px\":%u", img->width, img->height);
        else
            jfield(o, "error", img_why, false);
        put(o, "},\"maker\":{");
        jfield(o, "subject", msub, true);
        jfield(o, "issuer", miss, false);
        jfield(o, "serial", serial, false);
        jfield(o, "not_before", nb, false);
        jfield(o, "not_after", na, false);
        put(o, "},\"signature_algorithm\":{");
        jfield(o, "oid", s->sig_alg, true);
        jfield(o, "name", alg_name, false);
        put(o, "},\"maker_signature\":{\"valid\":%s", maker_ok ? "true" : "false");
        jfield(o, maker_ok ? "signed_over" : "error",
               maker_ok ? crypto_ses_signed_over(s) : maker_why, false);
        put(o, "},\"extensions\":%zu}\n", crypto_ses_ext_count(s));
    } else {
        put(o, "%-17s ", "picture");
        tstr(o, s->picture_type);
        put(o, ", %zu bytes, %d x %d mm", s->picture_len, s->width_mm, s->height_mm);
        if (img)
            put(o, ", %u x %u pixels\n", img->width, img->height);
        else {
            put(o, ", does not decode: ");
            tstr(o, img_why);
            put(o, "\n");
        }
        tfield(o, "maker", msub);
        tfield(o, "  issuer", miss);
        tfield(o, "  serial", serial);
        put(o, "%-17s %s to %s\n", "  valid", nb, na);
        put(o, "%-17s %s (%s)\n", "signature", alg_name ? alg_name : "unsupported", s->sig_alg);
        if (crypto_ses_ext_count(s))
            put(o, "%-17s %zu (none critical)\n", "extensions", crypto_ses_ext_count(s));
        if (maker_ok)
            put(o, "%-17s holds (over %s)\n", "maker signature", crypto_ses_signed_over(s));
        else {
            put(o, "%-17s does not verify: ", "maker signature");
            tstr(o, maker_why);
            put(o, "\n");
        }
    }
    free(msub);
    free(miss);
}

seal_err seal_ses_show(buf *b, seal_ses_shown *shown, const char *path, bool as_json,
                       const char *picture_out) {
    crypto_ses *s = NULL;
    img_rgba *img = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    seal_err err = SEAL_OK;
    char maker_why[512] = "", img_why[512] = "";
    report o = {b, as_json, BUF_OK};
    if (!b || !shown || !path) {
        err = seal_fail(SEAL_E_ARG, "seal_ses_show: NULL argument");
        goto out;
    }
    shown->maker_ok = false;
    int rc = file_read_all(&data, &len, path, CRYPTO_SES_MAX_DER);
    if (rc != 0) {
        err = rc == EFBIG ? seal_fail(SEAL_E_DOCUMENT,
                                      "not a seal: larger than a seal may be (%u "
                                      "bytes)",
                                      (unsigned)CRYPTO_SES_MAX_DER)
                          : seal_fail(SEAL_E_IO, "cannot read it: %s", strerror(rc));
        goto out;
    }
    crypto_err ce = crypto_ses_parse(&s, data, len);
    if (ce != CRYPTO_OK) {
        err = ce == CRYPTO_E_NOMEM
                  ? seal_fail(SEAL_E_NOMEM, "out of memory")
                  : seal_fail_lib(SEAL_E_DOCUMENT, "not a seal", crypto_errdetail());
        goto out;
    }
    ce = crypto_ses_check_maker(s);
    shown->maker_ok = ce == CRYPTO_OK;
    if (ce != CRYPTO_OK)
        snprintf(maker_why, sizeof maker_why, "%s", crypto_errdetail());
    img_err ie = img_decode(&img, s->picture, s->picture_len, &PICTURE_LIMITS);
    if (ie != IMG_OK)
        snprintf(img_why, sizeof img_why, "%s", img_errdetail());
    if (picture_out) {
        struct iovec part = {s->picture, s->picture_len};
        if ((rc = file_write_atomic(picture_out, &part, 1, 0644)) != 0) {
            err = seal_fail(SEAL_E_IO, "cannot write %s: %s", picture_out, strerror(rc));
            goto out;
        }
    }
    show(&o, s, path, shown->maker_ok, maker_why, img, img_why);
    if (o.be != BUF_OK)
        err = seal_fail(o.be == BUF_ENOMEM ? SEAL_E_NOMEM : SEAL_E_ARG,
                        "cannot describe the seal: %s", buf_strerror(o.be));
out:
    free(data);
    img_rgba_free(img);
    crypto_ses_free(s);
    return err;
}
