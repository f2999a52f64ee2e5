/* The verifier (seal/verify.h) on hand-made files with a signature dictionary whose structure
 * holds but whose CMS is no CMS at all, so what is checked here is all but the cryptography:
 * revision and /ByteRange rules, what changed after signing, and the bounds on hostile
 * structure (long reference chains, loops in page and field trees, many revisions), each of
 * which must end in a report, not a crash or a hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seal/verify.h"

#include "check.h"
#include "pdfbuild.h"

/* a SEQUENCE holding an INTEGER: DER, but not a CMS SignedData */
#define NOT_A_CMS "3003020100"

/* A one-page document with an approval signature in its second revision. */
static void signed_doc(pb *b) {
    pb_begin(b);
    pb_obj(b, 1, "<</Type/Catalog/Pages 2 0 R>>");
    pb_obj(b, 2, "<</Type/Pages/Kids[3 0 R]/Count 1>>");
    pb_obj(b, 3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R>>");
    pb_stream(b, 4, "", "0 0 m 10 10 l S", 15);
    pb_xref(b, 5, "/Root 1 0 R");
    pb_obj(b, 1, "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[5 0 R]/SigFlags 3>>>>");
    pb_obj(b, 3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R/Annots[5 0 R]>>");
    pb_obj(b, 5, "<</FT/Sig/T(Sig1)/Type/Annot/Subtype/Widget/Rect[0 0 0 0]/P 3 0 R/V 6 0 R>>");
    pb_sig(b, 6, "/M(D:20260101000000Z)", NOT_A_CMS);
    pb_xref(b, 7, "/Root 1 0 R");
}

static seal_verify_report *verify(const pb *b) {
    seal_verify_opts o = {.now = 1767225600};
    seal_verify_report *r = NULL;
    CHECK_INT(seal_verify_memory(&r, b->out.data, b->out.len, "t.pdf", &o), SEAL_OK);
    return r;
}

static bool has_mod(const seal_sig_report *s, seal_mod_kind k) {
    for (size_t i = 0; i < s->n_mods; i++)
        if (s->mods[i].kind == k)
            return true;
    return false;
}

static void test_structure(void) {
    pb b;
    signed_doc(&b);
    seal_verify_report *r = verify(&b);
    CHECK(r && r->n_sigs == 1);
    if (r && r->n_sigs == 1) {
        const seal_sig_report *s = &r->sigs[0];
        CHECK_STR(s->field, "Sig1");
        CHECK_INT(s->coverage, SEAL_COVER_ENTIRE_FILE);
        CHECK_INT(s->revision, 2);
        CHECK_INT(s->n_mods, 0);
        /* no CMS: a format failure, not intact */
        CHECK_INT(s->indication, CRYPTO_TOTAL_FAILED);
        CHECK(!s->integrity);
        CHECK(s->signing_time == 1767225600);
        CHECK_INT(s->time_source, CRYPTO_TIME_CLAIMED);
    }
    seal_verify_report_free(r);
    pb_free(&b);
}

/* A later revision draws new content through a chain of 300,000 objects, each referring to
 * the next: every one is looked at (no recursion, no stack overflow) and the change named. */
static void test_long_chain(void) {
    pb b;
    signed_doc(&b);
    const uint32_t first = 10, n = 300000;
    pb_obj(&b, 3,
           "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R/Annots[5 0 R]"
           "/Chain 10 0 R>>");
    char body[64];
    for (uint32_t k = 0; k < n; k++) {
        snprintf(body, sizeof body, "<</Next %u 0 R>>", first + k + 1);
        pb_obj(&b, first + k, body);
    }
    pb_xref(&b, first + n + 1, "/Root 1 0 R");
    seal_verify_report *r = verify(&b);
    CHECK(r && r->n_sigs == 1);
    if (r && r->n_sigs == 1) {
        CHECK(has_mod(&r->sigs[0], SEAL_MOD_CONTENT));
        CHECK_INT(r->sigs[0].coverage, SEAL_COVER_ENTIRE_REVISION);
        CHECK_INT(r->indication, CRYPTO_TOTAL_FAILED);
    }
    seal_verify_report_free(r);
    pb_free(&b);
}

/* Loops: a page tree whose node is its own kid, a field whose kid is itself, a widget whose
 * parent is itself (DSS's infinite-loop file). */
static void test_loops(void) {
    pb b;
    signed_doc(&b);
    pb_obj(&b, 2, "<</Type/Pages/Kids[3 0 R 2 0 R]/Count 2>>");
    pb_obj(&b, 5,
           "<</FT/Sig/T(Sig1)/Type/Annot/Subtype/Widget/Rect[0 0 0 0]/P 3 0 R/V 6 0 R"
           "/Parent 5 0 R/Kids[5 0 R 7 0 R]>>");
    pb_obj(&b, 7, "<</T(x)/Kids[7 0 R 5 0 R]/Parent 7 0 R>>");
    pb_xref(&b, 8, "/Root 1 0 R");
    seal_verify_report *r = verify(&b);
    CHECK(r && r->n_sigs == 1);
    if (r && r->n_sigs == 1) {
        CHECK(r->sigs[0].n_mods > 0); /* the page tree and the field changed */
        CHECK_INT(r->indication, CRYPTO_TOTAL_FAILED);
    }
    seal_verify_report_free(r);
    pb_free(&b);
}

/* 500 revisions after the signature, each saving the catalog unchanged: nothing changed. */
static void test_many_revisions(void) {
    pb b;
    signed_doc(&b);
    for (int i = 0; i < 500; i++) {
        pb_obj(&b, 1, "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[5 0 R]/SigFlags 3>>>>");
        pb_xref(&b, 7, "/Root 1 0 R");
    }
    seal_verify_report *r = verify(&b);
    CHECK(r && r->n_sigs == 1 && r->n_revisions == 502);
    if (r && r->n_sigs == 1) {
        CHECK_INT(r->sigs[0].n_mods, 0);
        CHECK_INT(r->sigs[0].coverage, SEAL_COVER_ENTIRE_REVISION);
    }
    seal_verify_report_free(r);
    pb_free(&b);
}

/* /ByteRange tricks on the same file: not from byte 0, a gap wider than /Contents. */
static void test_byterange(void) {
    pb b;
    signed_doc(&b);
    char *at = NULL;
    for (size_t k = 0; k + 12 <= b.out.len && !at; k++)
        if (memcmp(b.out.data + k, "[0000000000 ", 12) == 0)
            at = (char *)b.out.data + k;
    CHECK(at != NULL);
    if (at) {
        at[10] = '1';
        seal_verify_report *r = verify(&b);
        CHECK(r && r->n_sigs == 1);
        if (r && r->n_sigs == 1) {
            CHECK_INT(r->sigs[0].indication, CRYPTO_TOTAL_FAILED);
            CHECK_INT(r->sigs[0].sub, CRYPTO_SUB_FORMAT_FAILURE);
            CHECK(r->sigs[0].n_errors > 0 && strstr(r->sigs[0].errors[0], "start at byte 0"));
        }
        seal_verify_report_free(r);
    }
    pb_free(&b);
    /* the gap one byte wider than /Contents */
    signed_doc(&b);
    char *br = NULL;
    for (size_t k = 0; k + 11 <= b.out.len && !br; k++)
        if (memcmp(b.out.data + k, "/ByteRange [", 12) == 0)
            br = (char *)b.out.data + k + 12;
    long long v[4];
    CHECK(br && sscanf(br, "%lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) == 4);
    if (br) {
        char nb[64];
        snprintf(nb, sizeof nb, "%010lld %010lld %010lld %010lld", v[0], v[1] - 1, v[2], v[3]);
        memcpy(br, nb, strlen(nb));
        seal_verify_report *r = verify(&b);
        CHECK(r && r->n_sigs == 1 && r->sigs[0].sub == CRYPTO_SUB_FORMAT_FAILURE &&
              r->sigs[0].coverage == SEAL_COVER_PARTIAL);
        seal_verify_report_free(r);
    }
    pb_free(&b);
}

/* A signature appended to a damaged file without repairing it (its /Prev misses the first
 * table): the signature is found and holds its revision; the repair is reported. */
static void test_signed_damaged(void) {
    pb b;
    pb_begin(&b);
    pb_obj(&b, 1, "<</Type/Catalog/Pages 2 0 R>>");
    pb_obj(&b, 2, "<</Type/Pages/Kids[3 0 R]/Count 1>>");
    pb_obj(&b, 3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>");
    pb_xref(&b, 4, "/Root 1 0 R");
    b.last_xref += 2;
    pb_obj(&b, 1, "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[5 0 R]/SigFlags 3>>>>");
    pb_obj(&b, 5, "<</FT/Sig/T(Sig1)/Type/Annot/Subtype/Widget/Rect[0 0 0 0]/V 6 0 R>>");
    pb_sig(&b, 6, "", NOT_A_CMS);
    pb_xref(&b, 7, "/Root 1 0 R");
    seal_verify_report *r = verify(&b);
    CHECK(r && r->n_sigs == 1 && r->n_pages == 1);
    if (r && r->n_sigs == 1) {
        CHECK_INT(r->sigs[0].coverage, SEAL_COVER_ENTIRE_FILE);
        CHECK_INT(r->sigs[0].n_mods, 0);
        CHECK(r->n_errors == 1 && strstr(r->errors[0], "searching"));
    }
    seal_verify_report_free(r);
    pb_free(&b);
}

int main(void) {
    test_structure();
    test_long_chain();
    test_loops();
    test_many_revisions();
    test_byterange();
    test_signed_damaged();
    return check_failures ? 1 : 0;
}
