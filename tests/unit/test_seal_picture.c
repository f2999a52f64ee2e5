/* The verifier's check that the page shows a seal's picture where the signature carrying the
 * seal is (seal/picture.c), on hand-made documents: the picture as eseal writes it passes;
 * another picture, a hidden or off-page widget, an appearance that draws anything else or
 * shows the picture too small, stretched or clipped, and a picture swapped in a later
 * revision fail, each with its cause. So do a rollover or down appearance, or an appearance
 * state, that shows something else, and an annotation added or changed after the signed (the
 * first) revision that is drawn where the seal is; the signer's own layers pass. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "imaging/image.h"
#include "pdf/raw.h"
#include "seal/verify_internal.h"

#include "check.h"
#include "pdfbuild.h"

#define W 40
#define H 40
#define SIDE "119.055" /* 42 mm in points */

/* A red ring with a star-less centre on transparency, and a half-transparent dot. */
static void picture(uint8_t px[W * H * 4]) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + 4 * (y * W + x);
            int dx = 2 * x + 1 - W, dy = 2 * y + 1 - H, d2 = dx * dx + dy * dy;
            bool ink = d2 <= W * W && d2 >= (W - 8) * (W - 8);
            p[0] = 210;
            p[1] = (uint8_t)(20 + x);
            p[2] = 30;
            p[3] = ink ? 255 : 0;
            if (x == W / 2 && y == H / 2)
                p[3] = 100;
        }
}

/* An object to write: a stream when content is not NULL (dict is then the inside of its
 * dictionary). Lists end with num 0. */
typedef struct xobj {
    uint32_t num;
    const char *dict;
    const char *content;
} xobj;

typedef struct variant {
    const char *widget_extra; /* inside the widget dictionary */
    const char *rect;         /* the widget's /Rect */
    bool off_page;            /* not in the page's /Annots */
    const char *content;      /* the appearance's content */
    const char *image_extra;  /* inside the image dictionary */
    int image_w;              /* 0: W */
    bool no_smask;
    bool pdfa1_mask; /* a 1-bit /Mask instead of the /SMask */
    int poke;        /* change sample poke-1 of the RGB data (0: none) */
    int poke_alpha;  /* change alpha sample poke_alpha-1 */
    const char *page_extra;
    bool nested;         /* the appearance calls a form that paints the image */
    bool swap;           /* a later revision replaces the image with another picture */
    bool loop;           /* the appearance calls itself */
    const char *ap;      /* the inside of the widget's /AP (NULL: /N 7 0 R) */
    const char *annots;  /* the inside of the page's /Annots (NULL: 5 0 R) */
    const xobj *objs1;   /* more objects in the first (signed) revision */
    const xobj *objs2;   /* objects of a later revision */
    const char *annots2; /* the page's /Annots in that later revision (NULL: unchanged) */
} variant;

static void write_objs(pb *b, const xobj *o) {
    for (; o && o->num; o++) {
        if (o->content)
            pb_stream(b, o->num, o->dict, o->content, strlen(o->content));
        else
            pb_obj(b, o->num, o->dict);
    }
}

static void deflate_into(uint8_t **out, size_t *len, const uint8_t *p, size_t n) {
    uLongf cap = compressBound((uLong)n);
    *out = malloc(cap);
    compress(*out, &cap, p, (uLong)n);
    *len = cap;
}

static void image_streams(pb *b, const variant *v, const uint8_t *px, bool other) {
    int iw = v->image_w ? v->image_w : W;
    uint8_t *rgb = calloc((size_t)iw * H, 3), *alpha = calloc((size_t)iw * H, 1),
            *mask = calloc((size_t)(iw + 7) / 8 * H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < iw; x++) {
            const uint8_t *p = px + 4 * (y * W + (x < W ? x : W - 1));
            size_t i = (size_t)y * iw + x;
            for (int k = 0; k < 3; k++)
                rgb[3 * i + k] = p[3] ? p[k] : 255;
            if (other)
                rgb[3 * i + 1] = (uint8_t)(255 - rgb[3 * i + 1]);
            alpha[i] = p[3];
            if (p[3] < 128)
                mask[(size_t)y * ((iw + 7) / 8) + x / 8] |= (uint8_t)(0x80 >> (x % 8));
        }
    if (v->poke)
        rgb[v->poke - 1] ^= 0x40;
    if (v->poke_alpha)
        alpha[v->poke_alpha - 1] ^= 0x40;
    uint8_t *z;
    size_t zl;
    char dict[512];
    const char *alpha_ref = v->no_smask ? "" : v->pdfa1_mask ? "/Mask 9 0 R" : "/SMask 9 0 R";
    snprintf(dict, sizeof dict,
             "/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB"
             "/BitsPerComponent 8/Filter/FlateDecode%s%s",
             iw, H, alpha_ref, v->image_extra ? v->image_extra : "");
    deflate_into(&z, &zl, rgb, (size_t)iw * H * 3);
    pb_stream(b, 8, dict, z, zl);
    free(z);
    if (!v->no_smask && !v->pdfa1_mask) {
        snprintf(dict, sizeof dict,
                 "/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray"
                 "/BitsPerComponent 8/Filter/FlateDecode",
                 iw, H);
        deflate_into(&z, &zl, alpha, (size_t)iw * H);
        pb_stream(b, 9, dict, z, zl);
        free(z);
    } else if (v->pdfa1_mask) {
        snprintf(dict, sizeof dict,
                 "/Type/XObject/Subtype/Image/Width %d/Height %d/ImageMask true"
                 "/BitsPerComponent 1/Filter/FlateDecode",
                 iw, H);
        deflate_into(&z, &zl, mask, (size_t)(iw + 7) / 8 * H);
        pb_stream(b, 9, dict, z, zl);
        free(z);
    }
    free(rgb);
    free(alpha);
    free(mask);
}

static void build(pb *b, const variant *v, const uint8_t *px) {
    char body[1024];
    pb_begin(b);
    pb_obj(b, 1, "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[5 0 R]/SigFlags 3>>>>");
    pb_obj(b, 2, "<</Type/Pages/Kids[3 0 R]/Count 1/MediaBox[0 0 300 300]>>");
    char annots[128];
    snprintf(annots, sizeof annots, "/Annots[%s]", v->annots ? v->annots : "5 0 R");
    snprintf(body, sizeof body, "<</Type/Page/Parent 2 0 R%s/Contents 4 0 R%s>>",
             v->page_extra ? v->page_extra : "", v->off_page ? "" : annots);
    pb_obj(b, 3, body);
    pb_stream(b, 4, "", "0 0 m 10 10 l S", 15);
    snprintf(body, sizeof body,
             "<</FT/Sig/T(Sig1)/Type/Annot/Subtype/Widget/Rect[%s]/F %s/P 3 0 R/V 6 0 R"
             "/AP<<%s>>>>",
             v->rect ? v->rect : "50 50 169.055 169.055", v->widget_extra ? v->widget_extra : "4",
             v->ap ? v->ap : "/N 7 0 R");
    pb_obj(b, 5, body);
    pb_obj(b, 6, "<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached>>");
    const char *content = v->content ? v->content : "q " SIDE " 0 0 " SIDE " 0 0 cm /Im0 Do Q\n";
    if (v->loop) {
        pb_stream(b, 7,
                  "/Type/XObject/Subtype/Form/BBox[0 0 " SIDE " " SIDE "]"
                  "/Resources<</XObject<</Fm0 7 0 R/Im0 8 0 R>>>>",
                  "/Fm0 Do", 7);
    } else if (v->nested) {
        pb_stream(b, 7,
                  "/Type/XObject/Subtype/Form/BBox[0 0 " SIDE " " SIDE "]"
                  "/Resources<</XObject<</Fm0 10 0 R>>>>",
                  "/Fm0 Do", 7);
        pb_stream(b, 10,
                  "/Type/XObject/Subtype/Form/BBox[0 0 1 1]/Matrix[" SIDE " 0 0 " SIDE " 0 0]"
                  "/Resources<</XObject<</Im0 8 0 R>>>>",
                  "/Im0 Do", 7);
    } else {
        pb_stream(b, 7,
                  "/Type/XObject/Subtype/Form/BBox[0 0 " SIDE " " SIDE "]"
                  "/Resources<</XObject<</Im0 8 0 R>>>>",
                  content, strlen(content));
    }
    image_streams(b, v, px, false);
    write_objs(b, v->objs1);
    pb_xref(b, 30, "/Root 1 0 R");
    if (v->swap) {
        variant plain = {0};
        image_streams(b, &plain, px, true);
        pb_xref(b, 30, "/Root 1 0 R");
    }
    if (v->objs2 || v->annots2) {
        write_objs(b, v->objs2);
        if (v->annots2) {
            snprintf(body, sizeof body, "<</Type/Page/Parent 2 0 R%s/Contents 4 0 R/Annots[%s]>>",
                     v->page_extra ? v->page_extra : "", v->annots2);
            pb_obj(b, 3, body);
        }
        pb_xref(b, 30, "/Root 1 0 R");
    }
}

/* The cause found for v (NULL when the picture is shown), malloc'd. */
static char *check(const variant *v, const uint8_t *png, size_t png_len, const uint8_t *px) {
    pb b;
    build(&b, v, px);
    pdf_raw *raw = NULL;
    char *cause = NULL;
    uint32_t got[2];
    CHECK_INT(pdf_raw_open(&raw, b.out.data, b.out.len, NULL), PDF_OK);
    seal_picture_ref pic = {
        .type = "PNG", .bytes = png, .len = png_len, .width_mm = 42, .height_mm = 42};
    size_t n_ends = 0;
    const size_t *ends = raw ? pdf_raw_revision_ends(raw, &n_ends) : NULL;
    pdf_rev *signed_rev = NULL;
    if (raw)
        CHECK_INT(pdf_raw_rev(&signed_rev, raw, ends[0]), PDF_OK);
    if (raw && signed_rev) {
        CHECK_INT(verify_seal_picture(&cause, got, raw, signed_rev, 6, &pic), SEAL_OK);
        CHECK_INT(got[0], W);
        CHECK_INT(got[1], H);
    }
    pdf_raw_free(raw);
    pb_free(&b);
    return cause;
}

static void expect(const char *label, const variant *v, const uint8_t *png, size_t len,
                   const uint8_t *px, const char *cause_part) {
    char *cause = check(v, png, len, px);
    if (!cause_part && cause) {
        fprintf(stderr, "%s: unexpected cause: %s\n", label, cause);
        check_failures++;
    } else if (cause_part && (!cause || !strstr(cause, cause_part))) {
        fprintf(stderr, "%s: expected a cause with \"%s\", got %s\n", label, cause_part,
                cause ? cause : "none");
        check_failures++;
    }
    if (getenv("SHOW_CAUSES"))
        printf("%s: %s\n", label, cause ? cause : "shown");
    free(cause);
}

int main(void) {
    uint8_t px[W * H * 4];
    picture(px);
    img_rgba img = {.width = W, .height = H, .px = px};
    uint8_t *png = NULL;
    size_t len = 0;
    CHECK_INT(img_png_encode(&png, &len, &img), IMG_OK);
    size_t inked = 0, clear = 0; /* 1 + the first opaque and the first transparent pixel */
    for (size_t i = 0; i < (size_t)W * H; i++) {
        if (px[4 * i + 3] == 255 && !inked)
            inked = i + 1;
        if (px[4 * i + 3] == 0 && !clear)
            clear = i + 1;
    }

    expect("as eseal writes it", &(variant){0}, png, len, px, NULL);
    expect("printed, not displayed (fog)", &(variant){.widget_extra = "36"}, png, len, px, NULL);
    expect("nested forms", &(variant){.nested = true}, png, len, px, NULL);
    expect("PDF/A-1 mask", &(variant){.pdfa1_mask = true}, png, len, px, NULL);
    expect("a transparent pixel's colour", &(variant){.poke = (int)(3 * (clear - 1) + 1)}, png, len,
           px, NULL);
    expect("a page turned and scaled down by UserUnit 0.6",
           &(variant){.page_extra = "/UserUnit 0.6"}, png, len, px, NULL);

    expect("an inked pixel's colour", &(variant){.poke = (int)(3 * (inked - 1) + 2)}, png, len, px,
           "differs from it in 1 of 1600 pixels");
    expect("an alpha sample", &(variant){.poke_alpha = (int)inked}, png, len, px,
           "differs from it in 1 of 1600 pixels");
    expect("no soft mask", &(variant){.no_smask = true}, png, len, px, "differs from it in");
    expect("another width", &(variant){.image_w = W - 1}, png, len, px, "is 39x40 pixels");
    expect("inverted colours", &(variant){.image_extra = "/Decode[1 0 1 0 1 0]"}, png, len, px,
           "not 8-bit");
    expect("an image in optional content", &(variant){.image_extra = "/OC 6 0 R"}, png, len, px,
           "optional content");
    expect("swapped in a later revision", &(variant){.swap = true}, png, len, px,
           "is not the seal's picture");
    expect("hidden", &(variant){.widget_extra = "6"}, png, len, px, "hidden");
    expect("neither displayed nor printed", &(variant){.widget_extra = "32"}, png, len, px,
           "neither displayed nor printed");
    expect("optional content", &(variant){.widget_extra = "4/OC 6 0 R"}, png, len, px,
           "optional content");
    expect("empty rectangle", &(variant){.rect = "50 50 50 169"}, png, len, px, "empty rectangle");
    expect("on no page", &(variant){.off_page = true}, png, len, px, "on no page");
    expect("more drawing",
           &(variant){.content = "q " SIDE " 0 0 " SIDE " 0 0 cm /Im0 Do Q 1 g 0 0 50 50 re f\n"},
           png, len, px, "operator g");
    expect("a graphics state",
           &(variant){.content = "/GS0 gs q " SIDE " 0 0 " SIDE " 0 0 cm /Im0 Do Q\n"}, png, len,
           px, "operator gs");
    expect("an inline image", &(variant){.content = "BI /W 1 /H 1 /BPC 8 /CS /G ID x EI\n"}, png,
           len, px, "operator BI");
    expect("no image", &(variant){.content = "q Q\n"}, png, len, px, "paints no image");
    expect("too small", &(variant){.content = "q 40 0 0 40 0 0 cm /Im0 Do Q\n"}, png, len, px,
           "less than half");
    expect("stretched", &(variant){.content = "q " SIDE " 0 0 60 0 0 cm /Im0 Do Q\n"}, png, len, px,
           "stretched");
    expect("clipped by the widget",
           &(variant){.content = "q " SIDE " 0 0 " SIDE " 60 0 cm /Im0 Do Q\n"}, png, len, px,
           "outside the signature's rectangle");
    expect("off the crop box", &(variant){.page_extra = "/CropBox[0 0 100 100]"}, png, len, px,
           "crop box");
    expect("a page scaled down by UserUnit 0.4", &(variant){.page_extra = "/UserUnit 0.4"}, png,
           len, px, "less than half");
    expect("an appearance calling itself", &(variant){.loop = true}, png, len, px,
           "nests forms more than 4 deep");
    expect("unbalanced", &(variant){.content = "q /Im0\n"}, png, len, px, "operands");

    /* ---- other appearances (ISO 32000-2 12.5.5): rollover /R, down /D, states keyed by /AS */
    const xobj same_pic = {12,
                           "/Type/XObject/Subtype/Form/BBox[0 0 " SIDE " " SIDE "]"
                           "/Resources<</XObject<</Im0 8 0 R>>>>",
                           "q " SIDE " 0 0 " SIDE " 0 0 cm /Im0 Do Q\n"};
    const xobj blue = {13, "/Type/XObject/Subtype/Form/BBox[0 0 10 10]", "0 0 1 rg 0 0 10 10 re f"};
    expect("/R and /D the stream of /N", &(variant){.ap = "/N 7 0 R/R 7 0 R/D 7 0 R"}, png, len, px,
           NULL);
    expect("/R another stream showing the picture",
           &(variant){.ap = "/N 7 0 R/R 12 0 R", .objs1 = (const xobj[]){same_pic, {0}}}, png, len,
           px, NULL);
    expect("/R null", &(variant){.ap = "/N 7 0 R/R null"}, png, len, px, NULL);
    expect("/D another picture",
           &(variant){.ap = "/N 7 0 R/D 13 0 R", .objs1 = (const xobj[]){blue, {0}}}, png, len, px,
           "the signature's down appearance (/AP /D, object 13) does not show the seal's picture "
           "alone: the seal's appearance draws more than the seal's picture (operator rg)");
    expect(
        "/R states, one of them another picture",
        &(variant){.ap = "/N 7 0 R/R<</On 7 0 R/Off 13 0 R>>", .objs1 = (const xobj[]){blue, {0}}},
        png, len, px, "rollover appearance in state /Off (/AP /R, object 13)");
    expect("/R neither a stream nor states", &(variant){.ap = "/N 7 0 R/R 5"}, png, len, px,
           "neither a stream nor a dictionary of appearance states");
    expect("/N states, /AS selecting the seal's",
           &(variant){.ap = "/N<</On 7 0 R>>", .widget_extra = "4/AS/On"}, png, len, px, NULL);
    expect("/N states, no /AS", &(variant){.ap = "/N<</On 7 0 R>>"}, png, len, px,
           "its /AS selects none of them");
    expect("/N states, /AS naming none",
           &(variant){.ap = "/N<</On 7 0 R>>", .widget_extra = "4/AS/X"}, png, len, px,
           "its /AS selects none of them");
    expect("/N states, another state another picture",
           &(variant){.ap = "/N<</On 7 0 R/Off 13 0 R>>",
                      .widget_extra = "4/AS/On",
                      .objs1 = (const xobj[]){blue, {0}}},
           png, len, px, "normal appearance in state /Off (/AP /N, object 13)");
    expect("/N states, too many",
           &(variant){.ap = "/N<</A 7 0 R/B 7 0 R/C 7 0 R/D 7 0 R/E 7 0 R>>",
                      .widget_extra = "4/AS/A"},
           png, len, px, "more than 4 states");

    /* ---- annotations drawn where the seal is (ISO 32000-2 12.5.1-12.5.3) */
#define STAMP(num, rect, f)                                                                        \
    { num, "<</Type/Annot/Subtype/Stamp/Rect[" rect "]/F " f "/P 3 0 R/AP<</N 13 0 R>>>>", NULL }
    const xobj over = STAMP(14, "60 60 120 120", "4"), apart = STAMP(15, "200 200 260 260", "4"),
               hidden = STAMP(14, "60 60 120 120", "6"), unseen = STAMP(14, "60 60 120 120", "32"),
               printed = STAMP(14, "60 60 120 120", "36"), fog = STAMP(14, "50 50 169 169", "0");
    const xobj red = {13, "/Type/XObject/Subtype/Form/BBox[0 0 10 10]", "1 0 0 rg 0 0 10 10 re f"};
    expect("a stamp added later over the seal",
           &(variant){.objs2 = (const xobj[]){blue, over, {0}}, .annots2 = "5 0 R 14 0 R"}, png,
           len, px,
           "an annotation added after signing (object 14, a /Stamp) is drawn over the seal's "
           "picture");
    expect("a stamp added later under the seal",
           &(variant){.objs2 = (const xobj[]){blue, over, {0}}, .annots2 = "14 0 R 5 0 R"}, png,
           len, px, "(object 14, a /Stamp) is drawn under the seal's picture");
    expect("a stamp added later, printed only",
           &(variant){.objs2 = (const xobj[]){blue, printed, {0}}, .annots2 = "5 0 R 14 0 R"}, png,
           len, px, "added after signing (object 14");
    expect("a stamp added later elsewhere",
           &(variant){.objs2 = (const xobj[]){blue, apart, {0}}, .annots2 = "5 0 R 15 0 R"}, png,
           len, px, NULL);
    expect("a stamp added later, hidden",
           &(variant){.objs2 = (const xobj[]){blue, hidden, {0}}, .annots2 = "5 0 R 14 0 R"}, png,
           len, px, NULL);
    expect("a stamp added later, neither displayed nor printed",
           &(variant){.objs2 = (const xobj[]){blue, unseen, {0}}, .annots2 = "5 0 R 14 0 R"}, png,
           len, px, NULL);
    expect("the signer's fog over the seal (printed only), in the signed revision",
           &(variant){.widget_extra = "36",
                      .objs1 = (const xobj[]){blue, fog, {0}},
                      .annots = "5 0 R 14 0 R"},
           png, len, px, NULL);
    expect("the signer's layer, kept by a later revision that adds one elsewhere",
           &(variant){.objs1 = (const xobj[]){blue, over, {0}},
                      .annots = "5 0 R 14 0 R",
                      .objs2 = (const xobj[]){apart, {0}},
                      .annots2 = "5 0 R 14 0 R 15 0 R"},
           png, len, px, NULL);
    expect("the signer's layer, its appearance changed later",
           &(variant){.objs1 = (const xobj[]){blue, over, {0}},
                      .annots = "5 0 R 14 0 R",
                      .objs2 = (const xobj[]){red, {0}}},
           png, len, px,
           "an annotation changed after signing (object 14, a /Stamp) is drawn over the seal's "
           "picture");
    expect("the signer's layer, rewritten identically later",
           &(variant){.objs1 = (const xobj[]){blue, over, {0}},
                      .annots = "5 0 R 14 0 R",
                      .objs2 = (const xobj[]){blue, over, {0}}},
           png, len, px, NULL);
    expect("the signer's layer, moved from under the seal to over it",
           &(variant){.objs1 = (const xobj[]){blue, over, {0}},
                      .annots = "14 0 R 5 0 R",
                      .annots2 = "5 0 R 14 0 R"},
           png, len, px,
           "drawn under the seal's picture when it was signed (object 14, a /Stamp) is drawn "
           "over it now");
    expect("the seal moved later under the signer's layer",
           &(variant){.objs1 = (const xobj[]){blue, STAMP(15, "150 150 210 210", "4"), {0}},
                      .annots = "5 0 R 15 0 R",
                      .objs2 = (const xobj[]){{5,
                                               "<</FT/Sig/T(Sig1)/Type/Annot/Subtype/Widget"
                                               "/Rect[100 100 219.055 219.055]/F 4/P 3 0 R"
                                               "/V 6 0 R/AP<</N 7 0 R>>>>",
                                               NULL},
                                              {0}}},
           png, len, px, "the signature's widget was moved after signing");
    expect("a later signature's widget over the seal",
           &(variant){.objs2 = (const xobj[]){blue,
                                              {16,
                                               "<</FT/Sig/T(Sig2)/Type/Annot/Subtype/Widget"
                                               "/Rect[100 100 150 150]/F 4/P 3 0 R"
                                               "/AP<</N 13 0 R>>>>",
                                               NULL},
                                              {0}},
                      .annots2 = "5 0 R 16 0 R"},
           png, len, px, "(object 16, a /Widget) is drawn over");
    expect("a note added later elsewhere, its pop-up over the seal",
           &(variant){.objs2 = (const xobj[]){{17,
                                               "<</Type/Annot/Subtype/Text/Rect[250 250 270 270]"
                                               "/Popup 18 0 R/Contents(x)>>",
                                               NULL},
                                              {18,
                                               "<</Type/Annot/Subtype/Popup/Rect[60 60 160 160]"
                                               "/Parent 17 0 R/Open true>>",
                                               NULL},
                                              {0}},
                      .annots2 = "5 0 R 17 0 R"},
           png, len, px, "(object 17, a /Text) is drawn over");
    expect("an annotation added later whose /Rect no reader bounds",
           &(variant){
               .objs2 =
                   (const xobj[]){{19,
                                   "<</Type/Annot/Subtype/Square/Rect[0 0 99999999999 99999999999]"
                                   "/F 4>>",
                                   NULL},
                                  {0}},
               .annots2 = "5 0 R 19 0 R"},
           png, len, px, "(object 19, a /Square) is drawn over");
    free(png);
    return check_report("test_seal_picture");
}
