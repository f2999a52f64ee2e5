/* Seals in pictures: finding the red seals stamped on a scanned confirmation letter and taking
 * them out as clean pictures (extract), and drawing a round seal (draw). */
#ifndef ESEAL_IMAGING_SEAL_H
#define ESEAL_IMAGING_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "imaging/image.h"

/* One seal-like blob on a scan, in pixels of the scan (x right, y down, from the top-left). */
typedef struct img_seal_candidate {
    double cx, cy;     /* centre */
    double diameter;   /* of the circle (or the longer axis of an oval seal) */
    double confidence; /* 0..1: how surely this is a stamped seal of the expected size */
    char colour[16];   /* "red", "blue", "purple", "black", "other" */
    double ink;        /* 0..1: ink strength (saturation and coverage against a good stamp) */
} img_seal_candidate;

enum {
    IMG_SEAL_NO_SEAL = 1, /* no seal found */
    IMG_SEAL_SEVERAL = 2, /* more than one seal */
    IMG_SEAL_NOT_RED = 4, /* a seal that is not red: not a valid enterprise seal */
    IMG_SEAL_FAINT = 8    /* a seal too faint to trust */
};

typedef struct img_seal_scan {
    img_seal_candidate *seals; /* most confident first */
    size_t n;
    unsigned flags; /* IMG_SEAL_* */
    double dpi;     /* the resolution used: from the file, else from the page size (A4) */
} img_seal_scan;

/* Finds seals on a scan at 100-600 dpi. dpi 0: the file's, else estimated assuming the scan is
 * an A4 page. Expected seal diameters are 38-45 mm (round) or up to 50 mm wide (oval). */
img_err img_seal_find(img_seal_scan *out, const img_rgba *scan, double dpi);
void img_seal_scan_free(img_seal_scan *s);

/* The seal at c taken out of the scan: cropped square around it, paper made transparent, ink
 * normalised to one seal red with alpha from its strength, resampled so the seal is
 * diameter_mm across at the scan's dpi (and that dpi recorded in the picture). */
img_err img_seal_extract(img_rgba **out, const img_rgba *scan, const img_seal_candidate *c,
                         double dpi, double diameter_mm);

/* Draws a round seal (GB/T 38540-style enterprise seal): red rim, five-point star in the middle,
 * name along the upper arc, optional code (e.g. the seal's number) along the lower arc, as an
 * RGBA picture of px x px with a transparent background. font: a TrueType/OpenType/TTC file
 * with the CJK glyphs needed (NULL: the first of the Debian CJK fonts found, see glyph.h). */
img_err img_seal_draw(img_rgba **out, const char *name_utf8, const char *code_utf8, uint32_t px,
                      const char *font);

/* A fogged rendering of a seal picture, for the screen: noise, haze and lowered contrast, so
 * that a screenshot never carries the crisp seal. seed makes it reproducible. */
img_err img_fog(img_rgba **out, const img_rgba *seal, uint32_t seed);

#endif
