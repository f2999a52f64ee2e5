/* The verification report as one line of JSON (RFC 8259), for scripts and the web service. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "seal/internal.h"
#include "seal/verify_internal.h"

/* The first failure of the buffer (too large, out of memory) in this thread's report. */
static _Thread_local int json_err;

static void chk(int rc) {
    if (rc != BUF_OK && json_err == BUF_OK)
        json_err = rc;
}

static void jstr(buf *b, const char *s) {
    if (!s) {
        chk(buf_puts(b, "null"));
        return;
    }
    char small[256];
    size_t need = json_quote(small, sizeof small, s);
    if (need < sizeof small) {
        chk(buf_append(b, small, need));
        return;
    }
    char *big = malloc(need + 1);
    if (big) {
        json_quote(big, need + 1, s);
        chk(buf_append(b, big, need));
        free(big);
    }
}

static void jkey(buf *b, const char *k, bool first) {
    if (!first)
        chk(buf_putc(b, ','));
    jstr(b, k);
    chk(buf_putc(b, ':'));
}

static void jtime(buf *b, time_t t) {
    if (!t) {
        chk(buf_puts(b, "null"));
        return;
    }
    struct tm tm;
    char s[32];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    jstr(b, s);
}

static void jsub(buf *b, crypto_subind sub) {
    const char *n = crypto_subind_name(sub);
    if (n && *n)
        jstr(b, n);
    else
        chk(buf_puts(b, "null"));
}

static const char *coverage_name(seal_coverage c) {
    return c == SEAL_COVER_ENTIRE_FILE       ? "entire_file"
           : c == SEAL_COVER_ENTIRE_REVISION ? "entire_revision"
                                             : "partial";
}

static const char *time_source_name(crypto_time_source s) {
    return s == CRYPTO_TIME_TIMESTAMP ? "timestamp" : s == CRYPTO_TIME_CLAIMED ? "claimed" : "none";
}

static const char *revocation_name(crypto_revocation r) {
    switch (r) {
    case CRYPTO_REV_GOOD:
        return "good";
    case CRYPTO_REV_REVOKED:
        return "revoked";
    case CRYPTO_REV_UNKNOWN:
        return "unknown";
    case CRYPTO_REV_NO_POINTERS:
        return "not_offered";
    default:
        return "not_checked";
    }
}

static void jmods(buf *b, const seal_mod *m, size_t n) {
    chk(buf_putc(b, '['));
    for (size_t i = 0; i < n; i++) {
        if (i)
            chk(buf_putc(b, ','));
        chk(buf_putc(b, '{'));
        jkey(b, "kind", true);
        jstr(b, seal_mod_kind_name(m[i].kind));
        jkey(b, "object", false);
        if (m[i].object)
            chk(buf_printf(b, "%u", m[i].object));
        else
            chk(buf_puts(b, "null"));
        jkey(b, "page", false);
        if (m[i].page)
            chk(buf_printf(b, "%d", m[i].page));
        else
            chk(buf_puts(b, "null"));
        jkey(b, "revision", false);
        if (m[i].revision)
            chk(buf_printf(b, "%d", m[i].revision));
        else
            chk(buf_puts(b, "null"));
        jkey(b, "detail", false);
        jstr(b, m[i].detail);
        chk(buf_putc(b, '}'));
    }
    chk(buf_putc(b, ']'));
}

static void jstrs(buf *b, char *const *s, size_t n) {
    chk(buf_putc(b, '['));
    for (size_t i = 0; i < n; i++) {
        if (i)
            chk(buf_putc(b, ','));
        jstr(b, s[i]);
    }
    chk(buf_putc(b, ']'));
}

static void jbool(buf *b, bool v) {
    chk(buf_puts(b, v ? "true" : "false"));
}

static const char *validity_name(int v) {
    return v < 0 ? "not_yet_valid" : v > 0 ? "expired" : "valid";
}

/* The GB/T 38540 seal a signature carries (crypto_verify_result.seal) and what was found of
 * it: null when the signature carries none. */
static void jseal(buf *b, const seal_sig_report *s) {
    const crypto_seal_check *sc = s->crypto ? s->crypto->seal : NULL;
    if (!sc) {
        chk(buf_puts(b, "null"));
        return;
    }
    const crypto_ses *ses = sc->ses;
    chk(buf_putc(b, '{'));
    jkey(b, "readable", true);
    jbool(b, ses != NULL);
    if (ses) {
        char maker[256];
        seal_cert_cn(maker, sizeof maker, ses->maker);
        jkey(b, "name", false);
        jstr(b, ses->name);
        jkey(b, "esid", false);
        jstr(b, ses->esid);
        jkey(b, "type", false);
        chk(buf_printf(b, "%d", ses->type));
        jkey(b, "version", false);
        chk(buf_printf(b, "%d", ses->version));
        jkey(b, "vid", false);
        jstr(b, ses->vid);
        jkey(b, "created", false);
        jtime(b, ses->created);
        jkey(b, "valid_from", false);
        jtime(b, ses->valid_from);
        jkey(b, "valid_to", false);
        jtime(b, ses->valid_to);
        jkey(b, "maker", false);
        jstr(b, maker);
        jkey(b, "maker_algorithm", false);
        const char *alg = ses->sig_alg ? crypto_msg_alg_name(ses->sig_alg) : NULL;
        jstr(b, alg ? alg : ses->sig_alg);
        jkey(b, "certificates_listed", false);
        chk(buf_printf(b, "%zu", ses->n_listed));
        jkey(b, "listed_by", false);
        jstr(b, ses->cert_list_type == 2 ? "digest" : "certificate");
    }
    jkey(b, "maker_signature", false);
    jbool(b, sc->maker_signature);
    jkey(b, "maker_trusted", false);
    jbool(b, sc->maker_trusted);
    jkey(b, "signer_listed", false);
    jbool(b, sc->signer_listed);
    jkey(b, "validity", false);
    jstr(b, ses ? validity_name(sc->validity) : NULL);
    jkey(b, "valid_at_signing", false);
    jbool(b, ses && sc->validity == 0);
    jkey(b, "picture", false);
    if (ses) {
        chk(buf_putc(b, '{'));
        jkey(b, "type", true);
        jstr(b, ses->picture_type);
        jkey(b, "bytes", false);
        chk(buf_printf(b, "%zu", ses->picture_len));
        jkey(b, "width_mm", false);
        chk(buf_printf(b, "%d", ses->width_mm));
        jkey(b, "height_mm", false);
        chk(buf_printf(b, "%d", ses->height_mm));
        jkey(b, "width_px", false);
        if (s->seal_picture_px[0])
            chk(buf_printf(b, "%u", s->seal_picture_px[0]));
        else
            chk(buf_puts(b, "null"));
        jkey(b, "height_px", false);
        if (s->seal_picture_px[1])
            chk(buf_printf(b, "%u", s->seal_picture_px[1]));
        else
            chk(buf_puts(b, "null"));
        jkey(b, "shown", false);
        if (s->seal_picture_checked)
            jbool(b, s->seal_picture_shown);
        else
            chk(buf_puts(b, "null"));
        jkey(b, "cause", false);
        jstr(b, s->seal_picture_cause);
        chk(buf_putc(b, '}'));
    } else {
        chk(buf_puts(b, "null"));
    }
    jkey(b, "cause", false);
    jstr(b, sc->cause);
    chk(buf_putc(b, '}'));
}

static void jsig(buf *b, const seal_sig_report *s) {
    const crypto_verify_result *c = s->crypto;
    chk(buf_putc(b, '{'));
    jkey(b, "field", true);
    jstr(b, s->field);
    jkey(b, "object", false);
    chk(buf_printf(b, "%u", s->object));
    jkey(b, "type", false);
    jstr(b, s->doc_timestamp ? "document_timestamp" : s->docmdp ? "certification" : "approval");
    jkey(b, "subfilter", false);
    jstr(b, s->subfilter);
    jkey(b, "docmdp", false);
    if (s->docmdp)
        chk(buf_printf(b, "%d", s->docmdp));
    else
        chk(buf_puts(b, "null"));
    jkey(b, "signer", false);
    jstr(b, c ? c->signer : NULL);
    jkey(b, "signer_subject", false);
    jstr(b, c ? c->signer_subject : NULL);
    jkey(b, "issuer", false);
    jstr(b, c ? c->issuer : NULL);
    jkey(b, "serial", false);
    jstr(b, c ? c->serial : NULL);
    jkey(b, "signing_time", false);
    jtime(b, s->signing_time);
    jkey(b, "signing_time_source", false);
    jstr(b, time_source_name(s->time_source));
    jkey(b, "claimed_time", false);
    jstr(b, s->claimed_time);
    jkey(b, "indication", false);
    jstr(b, crypto_indication_name(s->indication));
    jkey(b, "sub_indication", false);
    jsub(b, s->sub);
    jkey(b, "integrity", false);
    chk(buf_puts(b, s->integrity ? "true" : "false"));
    jkey(b, "coverage", false);
    jstr(b, coverage_name(s->coverage));
    jkey(b, "byte_range", false);
    chk(buf_printf(b, "[%lld,%lld,%lld,%lld]", s->byterange[0], s->byterange[1], s->byterange[2],
                   s->byterange[3]));
    jkey(b, "revision", false);
    if (s->revision)
        chk(buf_printf(b, "%d", s->revision));
    else
        chk(buf_puts(b, "null"));
    jkey(b, "digest", false);
    jstr(b, c && c->digest && *c->digest ? c->digest : NULL);
    jkey(b, "algorithm", false);
    jstr(b, c && c->algorithm && *c->algorithm ? c->algorithm : NULL);
    jkey(b, "chain_trusted", false);
    chk(buf_puts(b, c && c->chain_trusted ? "true" : "false"));
    jkey(b, "revocation", false);
    jstr(b, revocation_name(c ? c->revocation : CRYPTO_REV_NOT_CHECKED));
    jkey(b, "timestamps", false);
    chk(buf_putc(b, '['));
    for (size_t i = 0; c && i < c->n_timestamps; i++) {
        const crypto_timestamp *t = &c->timestamps[i];
        if (i)
            chk(buf_putc(b, ','));
        chk(buf_putc(b, '{'));
        jkey(b, "time", true);
        jtime(b, t->gen_time);
        jkey(b, "tsa", false);
        jstr(b, t->tsa);
        jkey(b, "indication", false);
        jstr(b, crypto_indication_name(t->indication));
        jkey(b, "sub_indication", false);
        jsub(b, t->sub);
        jkey(b, "integrity", false);
        chk(buf_puts(b, t->integrity ? "true" : "false"));
        chk(buf_putc(b, '}'));
    }
    chk(buf_putc(b, ']'));
    jkey(b, "seal", false);
    jseal(b, s);
    jkey(b, "reason", false);
    jstr(b, s->reason);
    jkey(b, "location", false);
    jstr(b, s->location);
    jkey(b, "modifications", false);
    jmods(b, s->mods, s->n_mods);
    jkey(b, "permitted_changes", false);
    jmods(b, s->permitted, s->n_permitted);
    jkey(b, "errors", false);
    jstrs(b, s->errors, s->n_errors);
    chk(buf_putc(b, '}'));
}

seal_err seal_verify_report_json(buf *out, const seal_verify_report *r) {
    size_t start = out->len;
    json_err = BUF_OK;
    chk(buf_putc(out, '{'));
    jkey(out, "file", true);
    jstr(out, r->file);
    jkey(out, "indication", false);
    jstr(out, seal_verify_indication(r));
    jkey(out, "sub_indication", false);
    if (r->n_sigs || !r->readable || r->damaged_signature)
        jsub(out, r->sub);
    else
        chk(buf_puts(out, "null"));
    jkey(out, "revisions", false);
    chk(buf_printf(out, "%zu", r->n_revisions));
    jkey(out, "pages", false);
    chk(buf_printf(out, "%zu", r->n_pages));
    jkey(out, "encrypted", false);
    chk(buf_puts(out, r->encrypted ? "true" : "false"));
    jkey(out, "unsigned_trailing_bytes", false);
    chk(buf_printf(out, "%zu", r->trailing));
    jkey(out, "signatures", false);
    chk(buf_putc(out, '['));
    for (size_t i = 0; i < r->n_sigs; i++) {
        if (i)
            chk(buf_putc(out, ','));
        jsig(out, &r->sigs[i]);
    }
    chk(buf_putc(out, ']'));
    jkey(out, "errors", false);
    jstrs(out, r->errors, r->n_errors);
    chk(buf_putc(out, '}'));
    int rc = json_err;
    if (rc != BUF_OK) {
        /* a partial line would be worse than none */
        out->len = start;
        return rc == BUF_ENOMEM ? SEAL_E_NOMEM : seal_fail(SEAL_E_ARG, "report too large");
    }
    return SEAL_OK;
}
