/* Text as glyph outlines with FreeType 2.12.
 *
 * References: ISO 32000-2:2020 8.5.2 (path construction operators m, l, c, h) and 8.5.3.3.2
 * (nonzero winding rule, which TrueType and CFF outlines both assume); FreeType 2.12 API
 * reference (FT_New_Memory_Face, FT_Load_Glyph, FT_Outline_Decompose, FT_Get_Advance,
 * FT_Get_Kerning); OpenType 1.9 'name' and 'hmtx'. RFC 3629 section 3 and the Unicode Standard
 * 15.0 table 3-7 for well-formed UTF-8.
 *
 * A font is read whole into memory (bounded, base/fileio.h) and handed to FreeType with
 * FT_New_Memory_Face; each img_font has its own FT_Library, so two fonts may be used from two
 * threads, but one img_font must not be used from two threads at once (FT_Face is not
 * thread-safe, and neither is the outline cache).
 *
 * Outlines are loaded unscaled and unhinted (FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING): in font
 * units, y up, exactly as designed. Each glyph's outline is converted once into a compact form
 * (operators and points in thirds of a font unit, so the control points of a quadratic raised
 * to a cubic are exact) and kept in a bounded cache keyed by glyph index; drawing text then
 * only scales, shifts and prints the cached points. The watermark repeats a few characters
 * hundreds of times, so nearly every glyph comes from the cache. Advances come from 'hmtx'
 * (FT_Get_Advance / the loaded glyph's advance, unscaled), with pair kerning from a 'kern'
 * table when the face has one (FreeType does not apply GPOS kerning; Noto CJK has no 'kern').
 *
 * Face choice in a collection (TTC): face_index >= 0 takes that face. face_index < 0 takes the
 * first face whose family name has "SC" as a word (Simplified Chinese: face 2, "Noto Sans CJK
 * SC", of Debian's NotoSansCJK-Regular.ttc), else face 0. path NULL opens the first of the
 * default fonts that exists, with that automatic choice; face_index must then be 0 or -1. */
#include "imaging/glyph.h"

#include "imaging/internal.h"

#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include FT_ADVANCES_H

/* glyph.h: font files over 64 MiB are refused. */
#define FONT_MAX_BYTES ((size_t)64 << 20)
/* glyph.h: at most 4096 characters per call. */
#define TEXT_MAX_CHARS 4096u
/* Arguments: sizes up to 10000 units per em, origins within +-10^6. With 4096 characters of
 * at most a few em each, every printed coordinate stays far below 2^53 / 10^4. */
#define SIZE_MAX_EM 1e4
#define ORIGIN_MAX 1e6
/* Faces looked at when choosing one automatically. */
#define FACES_MAX 64
/* Outline coordinates beyond +-2^24 font units are not a real font (TrueType stores 16 bits). */
#define COORD_MAX ((FT_Pos)1 << 24)
/* The outline cache: an open-addressing table of at most CACHE_MAX_SLOTS slots (a power of
 * two), kept at most half full, holding at most CACHE_MAX_BYTES of outlines. When either bound
 * would be crossed the whole cache is emptied and filled again. */
#define CACHE_MIN_SLOTS 64u
#define CACHE_MAX_SLOTS 8192u
#define CACHE_MAX_BYTES ((size_t)16 << 20)

/* The default fonts, in the order glyph.h gives (Debian package paths). */
static const char *const default_fonts[] = {
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  /* fonts-noto-cjk */
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", /* fonts-noto-cjk */
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",          /* fonts-wqy-microhei */
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",            /* fonts-wqy-zenhei */
};

/* A cached outline: ops[i] is 'm', 'l', 'c' or 'h'; m and l take one point, c three, h none.
 * Points are x, y pairs in thirds of a font unit. used is false for an empty slot. */
struct glyph_rec {
    bool used;
    uint32_t gid;
    int32_t advance; /* font units */
    uint32_t nops, npts;
    int32_t *pts; /* one allocation: the points, then the operators */
    uint8_t *ops;
};

struct img_font {
    FT_Library lib;
    FT_Face face;
    uint8_t *data; /* the font file mapped read-only; FreeType reads it until the face is done */
    size_t len;
    int face_index;
    double units_per_em;
    bool kerning;
    struct glyph_rec *slots;
    size_t nslots, nused, bytes;
};

/* ---- Errors ---------------------------------------------------------------------------------- */

/* Records a FreeType error as ours. */
static img_err ft_fail(FT_Error e, const char *what) {
    const char *s = FT_Error_String(e); /* NULL unless FreeType was built with error strings */
    img_err rc = IMG_E_CORRUPT;
    if (e == FT_Err_Out_Of_Memory)
        rc = IMG_E_NOMEM;
    else if (e == FT_Err_Unknown_File_Format)
        rc = IMG_E_FORMAT;
    else if (e == FT_Err_Invalid_Argument || e == FT_Err_Invalid_Glyph_Index)
        rc = IMG_E_ARG;
    if (s)
        return img_fail(rc, "%s: FreeType error 0x%02x (%s)", what, (unsigned)e, s);
    if (e == FT_Err_Unknown_File_Format)
        return img_fail(rc, "%s: not a font FreeType knows (unknown file format)", what);
    return img_fail(rc, "%s: FreeType error 0x%02x", what, (unsigned)e);
}

/* ---- UTF-8 (RFC 3629 section 3; Unicode 15.0 table 3-7) ------------------------------------- */

/* Decodes the character at *p, moving *p past it. Returns false for an ill-formed sequence:
 * a stray continuation byte, C0/C1/F5..FF, an overlong form, a surrogate, beyond U+10FFFF or
 * a sequence cut short (the terminating NUL is not a continuation byte, so reads stop there). */
static bool utf8_next(const uint8_t **p, uint32_t *cp) {
    const uint8_t *s = *p;
    uint32_t c = s[0];
    size_t n = 0;
    bool ok = true;
    uint8_t lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c < 0x80) {
        n = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
        c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing beyond U+10FFFF */
        c &= 0x07;
    } else {
        ok = false;
    }
    for (size_t i = 1; ok && i <= n; i++) {
        uint8_t b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
            ok = false;
        else
            c = c << 6 | (b & 0x3fu);
    }
    if (ok) {
        *cp = c;
        *p = s + n + 1;
    }
    return ok;
}

/* Checks that utf8 is well-formed and at most TEXT_MAX_CHARS characters. */
static img_err utf8_check(const char *utf8, const char *fn) {
    img_err rc = IMG_OK;
    const uint8_t *p = (const uint8_t *)utf8;
    size_t n = 0;
    uint32_t cp;
    while (*p && rc == IMG_OK) {
        if (!utf8_next(&p, &cp))
            rc = img_fail(IMG_E_ARG, "%s: ill-formed UTF-8 at byte %zu", fn,
                          (size_t)(p - (const uint8_t *)utf8));
        else if (++n > TEXT_MAX_CHARS)
            rc = img_fail(IMG_E_LIMIT, "%s: text longer than %u characters", fn, TEXT_MAX_CHARS);
    }
    return rc;
}

/* ---- Opening -----------------------------------------------------------------------------------
 */

/* Whether a family name has "SC" as a word ("Noto Sans CJK SC", "Noto Sans Mono CJK SC"). */
static bool family_is_sc(const char *family) {
    bool found = false;
    for (const char *s = family ? strstr(family, "SC") : NULL; s && !found; s = strstr(s + 1, "SC"))
        found = (s == family || s[-1] == ' ') && (s[2] == '\0' || s[2] == ' ');
    return found;
}

/* Maps the font file read-only, so FreeType touches only the pages of the glyphs it reads (a
 * CJK collection is some 20 MB, of which a stamp needs a few dozen glyphs); *missing tells
 * whether it does not exist (for the default search). */
static img_err read_font_file(struct img_font *f, const char *path, bool *missing) {
    img_err rc = IMG_OK;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *missing = fd < 0 && errno == ENOENT;
    if (fd < 0) {
        rc = img_fail(IMG_E_IO, "cannot read font %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = img_fail(IMG_E_IO, "cannot read font %s: not a regular file", path);
    } else if ((uintmax_t)st.st_size > FONT_MAX_BYTES) {
        rc = img_fail(IMG_E_LIMIT, "%s: font file larger than the maximum of %zu bytes", path,
                      (size_t)FONT_MAX_BYTES);
    } else if (st.st_size == 0) {
        f->data = NULL;
        f->len = 0;
    } else {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = img_fail(IMG_E_IO, "cannot map font %s: %s", path, strerror(errno));
        } else {
            f->data = m;
            f->len = (size_t)st.st_size;
        }
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Only the formats glyph.h names reach FreeType's parsers: an sfnt (OpenType 1.9 "Organization
 * of an OpenType font": sfntVersion 0x00010000 for TrueType outlines, 'OTTO' for CFF, and
 * Apple's 'true') or a collection ('ttcf', "Font collections"). */
static img_err check_signature(const uint8_t *data, size_t len, const char *path) {
    static const char *const tags[] = {"\x00\x01\x00\x00", "OTTO", "true", "ttcf"};
    img_err rc = IMG_E_FORMAT;
    for (size_t i = 0; len >= 4 && i < sizeof tags / sizeof *tags && rc != IMG_OK; i++)
        if (memcmp(data, tags[i], 4) == 0)
            rc = IMG_OK;
    if (rc != IMG_OK && len < 4)
        rc = img_fail(rc, "%s: not a font: %zu bytes", path, len);
    else if (rc != IMG_OK)
        rc = img_fail(rc,
                      "%s: not a TrueType/OpenType font or collection (starts %02x %02x %02x %02x)",
                      path, data[0], data[1], data[2], data[3]);
    return rc;
}

/* Opens face face_index of the font in f->data, choosing one when face_index < 0. */
static img_err open_face(struct img_font *f, const char *path, int face_index) {
    img_err rc = IMG_OK;
    FT_Error e;
    FT_Long nfaces;
    int chosen = face_index < 0 ? 0 : face_index;
    e = FT_New_Memory_Face(f->lib, f->data, (FT_Long)f->len, 0, &f->face);
    if (e) {
        rc = ft_fail(e, path);
        goto out;
    }
    nfaces = f->face->num_faces;
    if (face_index >= nfaces) {
        rc = img_fail(IMG_E_ARG, "%s: face %d asked for, the file has %ld", path, face_index,
                      (long)nfaces);
        goto out;
    }
    for (FT_Long i = 0; face_index < 0 && i < nfaces && i < FACES_MAX; i++) {
        FT_Face face = NULL;
        bool sc;
        if (i == 0) {
            face = f->face;
        } else {
            e = FT_New_Memory_Face(f->lib, f->data, (FT_Long)f->len, i, &face);
            if (e) {
                rc = ft_fail(e, path);
                goto out;
            }
        }
        sc = family_is_sc(face->family_name);
        if (i != 0)
            FT_Done_Face(face);
        if (sc) {
            chosen = (int)i;
            break;
        }
    }
    if (chosen != 0) {
        FT_Done_Face(f->face);
        f->face = NULL;
        e = FT_New_Memory_Face(f->lib, f->data, (FT_Long)f->len, chosen, &f->face);
        if (e) {
            rc = ft_fail(e, path);
            goto out;
        }
    }
    f->face_index = chosen;
    if (!FT_IS_SCALABLE(f->face) || f->face->units_per_EM == 0) {
        rc = img_fail(IMG_E_UNSUPPORTED, "%s: face %d has no scalable outlines", path, chosen);
        goto out;
    }
    e = FT_Select_Charmap(f->face, FT_ENCODING_UNICODE);
    if (e) {
        rc = img_fail(IMG_E_UNSUPPORTED, "%s: face %d has no Unicode character map", path, chosen);
        goto out;
    }
    f->units_per_em = f->face->units_per_EM;
    f->kerning = FT_HAS_KERNING(f->face);
out:
    return rc;
}

img_err img_font_open(img_font **out, const char *path, int face_index) {
    img_err rc = IMG_OK;
    struct img_font *f = NULL;
    bool missing = false;
    FT_Error e;
    if (!out) {
        rc = img_fail(IMG_E_ARG, "img_font_open: out is NULL");
        goto out;
    }
    *out = NULL;
    if (!path && face_index > 0) {
        rc = img_fail(IMG_E_ARG, "img_font_open: face %d of the default font: give its path",
                      face_index);
        goto out;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        rc = img_fail(IMG_E_NOMEM, "img_font_open: no memory");
        goto out;
    }
    e = FT_Init_FreeType(&f->lib);
    if (e) {
        rc = ft_fail(e, "FT_Init_FreeType");
        goto out;
    }
    if (path) {
        rc = read_font_file(f, path, &missing);
    } else {
        missing = true;
        for (size_t i = 0; missing && i < sizeof default_fonts / sizeof *default_fonts; i++) {
            path = default_fonts[i];
            rc = read_font_file(f, path, &missing);
        }
        if (missing)
            rc = img_fail(IMG_E_IO,
                          "no default font: install fonts-noto-cjk or fonts-wqy-microhei (looked "
                          "for %s and three others)",
                          default_fonts[0]);
        face_index = -1;
    }
    if (rc == IMG_OK)
        rc = check_signature(f->data, f->len, path);
    if (rc != IMG_OK)
        goto out;
    rc = open_face(f, path, face_index);
    if (rc != IMG_OK)
        goto out;
    *out = f;
    f = NULL;
out:
    img_font_free(f);
    return rc;
}

static void cache_clear(struct img_font *f) {
    for (size_t i = 0; i < f->nslots; i++)
        if (f->slots[i].used)
            free(f->slots[i].pts); /* one block: the points, then the operators */
    if (f->slots)
        memset(f->slots, 0, f->nslots * sizeof *f->slots);
    f->nused = 0;
    f->bytes = 0;
}

void img_font_free(img_font *f) {
    if (!f)
        return;
    cache_clear(f);
    free(f->slots);
    if (f->face)
        FT_Done_Face(f->face);
    if (f->lib)
        FT_Done_FreeType(f->lib);
    if (f->data)
        munmap(f->data, f->len);
    free(f);
}

/* ---- Outlines ----------------------------------------------------------------------------------
 */

/* Conversion of one FreeType outline into operators and points (thirds of a font unit). */
struct conv {
    uint8_t *ops;
    int32_t *pts;
    size_t nops, npts;
    size_t max_ops, max_pts; /* the room in ops and pts */
    int32_t cx, cy;          /* the current point */
    int32_t sx, sy;          /* the start of the open contour */
    bool open;               /* a contour is open */
    bool bad;                /* a coordinate out of range, or too many operators */
};

static void conv_op(struct conv *c, uint8_t op, const int32_t *xy, size_t npts) {
    if (c->nops >= c->max_ops || npts > c->max_pts - c->npts) {
        c->bad = true;
        return;
    }
    c->ops[c->nops++] = op;
    for (size_t i = 0; i < npts; i++) {
        c->pts[2 * (c->npts + i)] = xy[2 * i];
        c->pts[2 * (c->npts + i) + 1] = xy[2 * i + 1];
    }
    c->npts += npts;
    if (npts) {
        c->cx = xy[2 * npts - 2];
        c->cy = xy[2 * npts - 1];
    }
}

/* Closes the open contour. FT_Outline_Decompose ends each contour with a line back to its
 * start; h draws that line (ISO 32000-2 8.5.2.1), so the line is dropped. */
static void conv_close(struct conv *c) {
    if (!c->open)
        return;
    if (c->nops && c->ops[c->nops - 1] == 'l' && c->cx == c->sx && c->cy == c->sy) {
        c->nops--;
        c->npts--;
    }
    conv_op(c, 'h', NULL, 0);
    c->open = false;
}

/* A FreeType point in font units to thirds; false when out of range. */
static bool conv_pt(struct conv *c, const FT_Vector *v, int32_t *xy) {
    if (v->x > COORD_MAX || v->x < -COORD_MAX || v->y > COORD_MAX || v->y < -COORD_MAX) {
        c->bad = true;
        return false;
    }
    xy[0] = (int32_t)(3 * v->x);
    xy[1] = (int32_t)(3 * v->y);
    return true;
}

static int cb_move(const FT_Vector *to, void *user) {
    struct conv *c = user;
    int32_t xy[2];
    conv_close(c);
    if (conv_pt(c, to, xy)) {
        conv_op(c, 'm', xy, 1);
        c->sx = xy[0];
        c->sy = xy[1];
        c->open = true;
    }
    return c->bad ? 1 : 0;
}

static int cb_line(const FT_Vector *to, void *user) {
    struct conv *c = user;
    int32_t xy[2];
    if (conv_pt(c, to, xy))
        conv_op(c, 'l', xy, 1);
    return c->bad ? 1 : 0;
}

/* A quadratic Bezier P0 Q P2 is the cubic P0, P0 + 2/3 (Q - P0), P2 + 2/3 (Q - P2), P2. In
 * thirds of a unit the division is exact: P0 (an on-curve point: a move's, a line's or a
 * curve's end), Q and P2 are whole font units (FT_LOAD_NO_SCALE), that is multiples of 3. */
static int cb_conic(const FT_Vector *ctrl, const FT_Vector *to, void *user) {
    struct conv *c = user;
    int32_t q[2], p2[2], xy[6];
    if (conv_pt(c, ctrl, q) && conv_pt(c, to, p2)) {
        xy[0] = (c->cx + 2 * q[0]) / 3;
        xy[1] = (c->cy + 2 * q[1]) / 3;
        xy[2] = (p2[0] + 2 * q[0]) / 3;
        xy[3] = (p2[1] + 2 * q[1]) / 3;
        xy[4] = p2[0];
        xy[5] = p2[1];
        conv_op(c, 'c', xy, 3);
    }
    return c->bad ? 1 : 0;
}

static int cb_cubic(const FT_Vector *c1, const FT_Vector *c2, const FT_Vector *to, void *user) {
    struct conv *c = user;
    int32_t xy[6];
    if (conv_pt(c, c1, xy) && conv_pt(c, c2, xy + 2) && conv_pt(c, to, xy + 4))
        conv_op(c, 'c', xy, 3);
    return c->bad ? 1 : 0;
}

/* Loads glyph gid and converts its outline into rec (which owns the result, allocated to
 * its exact size). */
static img_err load_glyph(struct glyph_rec *rec, struct img_font *f, FT_UInt gid) {
    static const FT_Outline_Funcs funcs = {
        .move_to = cb_move,
        .line_to = cb_line,
        .conic_to = cb_conic,
        .cubic_to = cb_cubic,
        .shift = 0,
        .delta = 0,
    };
    img_err rc = IMG_OK;
    struct conv c;
    FT_Outline *o;
    FT_Error e;
    size_t maxops, maxpts, ptbytes;
    uint8_t *work = NULL, *block = NULL;
    memset(&c, 0, sizeof c);
    e = FT_Load_Glyph(f->face, gid, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP);
    if (e) {
        rc = ft_fail(e, "FT_Load_Glyph");
        goto out;
    }
    if (f->face->glyph->format != FT_GLYPH_FORMAT_OUTLINE) {
        rc = img_fail(IMG_E_UNSUPPORTED, "glyph %u is not an outline", (unsigned)gid);
        goto out;
    }
    o = &f->face->glyph->outline;
    if (o->n_points < 0 || o->n_contours < 0) {
        rc = img_fail(IMG_E_CORRUPT, "glyph %u: negative point count", (unsigned)gid);
        goto out;
    }
    if (f->face->glyph->advance.x > COORD_MAX || f->face->glyph->advance.x < -COORD_MAX) {
        rc = img_fail(IMG_E_CORRUPT, "glyph %u: advance out of range", (unsigned)gid);
        goto out;
    }
    /* Each point gives at most one operator (a move, a line, a conic or a third of a cubic);
     * each contour adds at most a move from a virtual point, the closing segment and h. Every
     * operator has at most three points. FreeType 2.12 counts points in a short, so this is
     * small; conv_op() checks it all the same. */
    maxops = (size_t)o->n_points + 3 * (size_t)o->n_contours + 1;
    maxpts = 3 * maxops;
    work = malloc(maxpts * 2 * sizeof *c.pts + maxops);
    if (!work) {
        rc = img_fail(IMG_E_NOMEM, "no memory for the outline of glyph %u", (unsigned)gid);
        goto out;
    }
    c.pts = (int32_t *)(void *)work;
    c.ops = work + maxpts * 2 * sizeof *c.pts;
    c.max_ops = maxops;
    c.max_pts = maxpts;
    e = FT_Outline_Decompose(o, &funcs, &c);
    if (!e && !c.bad)
        conv_close(&c);
    if (e || c.bad) {
        rc = c.bad ? img_fail(IMG_E_CORRUPT, "glyph %u: outline out of range", (unsigned)gid)
                   : ft_fail(e, "FT_Outline_Decompose");
        goto out;
    }
    ptbytes = c.npts * 2 * sizeof *c.pts;
    block = malloc(ptbytes + c.nops + 1);
    if (!block) {
        rc = img_fail(IMG_E_NOMEM, "no memory for the outline of glyph %u", (unsigned)gid);
        goto out;
    }
    memcpy(block, c.pts, ptbytes);
    memcpy(block + ptbytes, c.ops, c.nops);
    rec->used = true;
    rec->gid = gid;
    rec->advance = (int32_t)f->face->glyph->advance.x;
    rec->nops = (uint32_t)c.nops;
    rec->npts = (uint32_t)c.npts;
    rec->pts = (int32_t *)(void *)block;
    rec->ops = block + ptbytes;
    block = NULL;
out:
    free(work);
    free(block);
    return rc;
}

/* ---- The cache ---------------------------------------------------------------------------------
 */

static size_t slot_of(uint32_t gid, size_t nslots) {
    return (size_t)((gid * UINT32_C(0x9E3779B1)) >> 7) & (nslots - 1);
}

static size_t rec_bytes(const struct glyph_rec *r) {
    return (size_t)r->npts * 2 * sizeof *r->pts + r->nops + 1;
}

/* Makes room for one more entry: grows the table while it may, else empties it. */
static img_err cache_room(struct img_font *f, size_t bytes) {
    img_err rc = IMG_OK;
    struct glyph_rec *slots = NULL;
    size_t n;
    if (f->nslots && (f->nused + 1) * 2 <= f->nslots && f->bytes + bytes <= CACHE_MAX_BYTES)
        goto out;
    if (f->nslots == CACHE_MAX_SLOTS || f->bytes + bytes > CACHE_MAX_BYTES) {
        cache_clear(f);
        goto out;
    }
    n = f->nslots ? 2 * f->nslots : CACHE_MIN_SLOTS;
    slots = calloc(n, sizeof *slots);
    if (!slots) {
        rc = img_fail(IMG_E_NOMEM, "no memory for a glyph cache of %zu slots", n);
        goto out;
    }
    for (size_t i = 0; i < f->nslots; i++) {
        size_t j;
        if (!f->slots[i].used)
            continue;
        for (j = slot_of(f->slots[i].gid, n); slots[j].used; j = (j + 1) & (n - 1))
            ;
        slots[j] = f->slots[i];
    }
    free(f->slots);
    f->slots = slots;
    f->nslots = n;
    slots = NULL;
out:
    free(slots);
    return rc;
}

/* The outline of glyph gid, from the cache or loaded into it. */
static img_err glyph_get(const struct glyph_rec **out, struct img_font *f, FT_UInt gid) {
    img_err rc = IMG_OK;
    struct glyph_rec rec;
    size_t i = 0;
    memset(&rec, 0, sizeof rec);
    *out = NULL;
    if (f->nslots) {
        for (i = slot_of(gid, f->nslots); f->slots[i].used; i = (i + 1) & (f->nslots - 1)) {
            if (f->slots[i].gid == gid) {
                *out = &f->slots[i];
                goto out;
            }
        }
    }
    rc = load_glyph(&rec, f, gid);
    if (rc == IMG_OK)
        rc = cache_room(f, rec_bytes(&rec));
    if (rc != IMG_OK)
        goto out;
    for (i = slot_of(gid, f->nslots); f->slots[i].used; i = (i + 1) & (f->nslots - 1))
        ;
    f->slots[i] = rec;
    f->nused++;
    f->bytes += rec_bytes(&rec);
    rec.pts = NULL;
    *out = &f->slots[i];
out:
    free(rec.pts);
    return rc;
}

/* ---- Text ---------------------------------------------------------------------------------- */

/* Writes v / 10^k with k decimals, trailing zeros (and a bare point) dropped; "0", never "-0". */
static char *put_fixed(char *p, int64_t v, int k) {
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int dropped = 0;
    if (v < 0)
        *p++ = '-';
    /* Drop trailing zero decimals. */
    while (dropped < k && u % 10 == 0 && u != 0) {
        u /= 10;
        dropped++;
    }
    if (u == 0)
        dropped = k;
    k -= dropped;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u || (int)n <= k);
    while (n) {
        if ((int)n == k)
            *p++ = '.';
        *p++ = tmp[--n];
    }
    return p;
}

/* How text is placed: origin, scale from thirds of a font unit, printing precision. */
struct place {
    double x, y;  /* the pen in output units */
    double scale; /* output units per third of a font unit */
    double mul;   /* 10^k */
    int k;        /* decimals */
};

static img_err put_glyph(buf *out, const struct glyph_rec *g, const struct place *pl) {
    img_err rc = IMG_OK;
    char line[6 * 26 + 8];
    const int32_t *pt = g->pts;
    int err = BUF_OK;
    for (uint32_t i = 0; i < g->nops && err == BUF_OK; i++) {
        uint8_t op = g->ops[i];
        int npts = op == 'c' ? 3 : op == 'h' ? 0 : 1;
        char *p = line;
        for (int j = 0; j < npts; j++, pt += 2) {
            double vx = (pl->x + pt[0] * pl->scale) * pl->mul;
            double vy = (pl->y + pt[1] * pl->scale) * pl->mul;
            p = put_fixed(p, (int64_t)llround(vx), pl->k);
            *p++ = ' ';
            p = put_fixed(p, (int64_t)llround(vy), pl->k);
            *p++ = ' ';
        }
        *p++ = (char)op;
        *p++ = '\n';
        err = buf_append(out, line, (size_t)(p - line));
    }
    if (err == BUF_ETOOBIG)
        rc = img_fail(IMG_E_LIMIT, "text path larger than its buffer's maximum of %zu bytes",
                      out->max);
    else if (err)
        rc = img_fail(IMG_E_NOMEM, "no memory for the text path");
    return rc;
}

/* Lays out utf8 (checked by the caller) and draws it into out, or only measures it when out is
 * NULL. *pen receives the advance in font units. */
static img_err layout(buf *out, int64_t *pen, size_t *missing, struct img_font *f, const char *utf8,
                      struct place *pl) {
    img_err rc = IMG_OK;
    const uint8_t *p = (const uint8_t *)utf8;
    FT_UInt prev = 0;
    double x0 = pl ? pl->x : 0;
    uint32_t cp = 0;
    *pen = 0;
    *missing = 0;
    while (*p && rc == IMG_OK) {
        FT_UInt gid;
        FT_Fixed adv = 0;
        const struct glyph_rec *g = NULL;
        if (!utf8_next(&p, &cp)) {
            rc = img_fail(IMG_E_ARG, "ill-formed UTF-8"); /* utf8_check() ran first */
            break;
        }
        gid = FT_Get_Char_Index(f->face, cp);
        if (gid == 0)
            ++*missing; /* glyph 0 is .notdef (OpenType 'glyf'/'CFF ' conventions) */
        if (f->kerning && prev && gid) {
            FT_Vector k;
            if (FT_Get_Kerning(f->face, prev, gid, FT_KERNING_UNSCALED, &k) == 0 &&
                k.x < COORD_MAX && k.x > -COORD_MAX)
                *pen += k.x;
        }
        if (out) {
            rc = glyph_get(&g, f, gid);
            if (rc != IMG_OK)
                break;
            pl->x = x0 + (double)*pen * 3 * pl->scale;
            rc = put_glyph(out, g, pl);
            *pen += g->advance;
        } else {
            FT_Error e = FT_Get_Advance(f->face, gid, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING, &adv);
            if (e) {
                rc = ft_fail(e, "FT_Get_Advance");
                break;
            }
            if (adv > COORD_MAX || adv < -COORD_MAX) {
                rc = img_fail(IMG_E_CORRUPT, "glyph %u: advance out of range", (unsigned)gid);
                break;
            }
            *pen += adv;
        }
        prev = gid;
    }
    return rc;
}

static img_err check_args(const img_font *f, const char *utf8, double size, const char *fn) {
    img_err rc = IMG_OK;
    if (!f || !utf8)
        rc = img_fail(IMG_E_ARG, "%s: NULL %s", fn, f ? "text" : "font");
    else if (!(size > 0 && size <= SIZE_MAX_EM))
        rc = img_fail(IMG_E_ARG, "%s: size %g not in (0, %g]", fn, size, SIZE_MAX_EM);
    else
        rc = utf8_check(utf8, fn);
    return rc;
}

img_err img_font_text_path(buf *out, img_font *f, const char *utf8, double size, double x, double y,
                           double *advance, size_t *missing) {
    img_err rc = IMG_OK;
    size_t len0 = out ? out->len : 0, nmiss = 0;
    int64_t pen = 0;
    struct place pl;
    if (advance)
        *advance = 0;
    if (missing)
        *missing = 0;
    if (!out) {
        rc = img_fail(IMG_E_ARG, "img_font_text_path: out is NULL");
        goto out;
    }
    rc = check_args(f, utf8, size, "img_font_text_path");
    if (rc != IMG_OK)
        goto out;
    if (!(fabs(x) <= ORIGIN_MAX && fabs(y) <= ORIGIN_MAX)) {
        rc = img_fail(IMG_E_ARG, "img_font_text_path: origin (%g, %g) beyond +-%g", x, y,
                      ORIGIN_MAX);
        goto out;
    }
    /* Decimals: the fewest that keep the rounding within 1/1000 em, at most 4. */
    pl.k = 0;
    pl.mul = 1;
    while (pl.k < 4 && 1 / pl.mul > size / 1000) {
        pl.k++;
        pl.mul *= 10;
    }
    pl.x = x;
    pl.y = y;
    pl.scale = size / f->units_per_em / 3;
    rc = layout(out, &pen, &nmiss, f, utf8, &pl);
    if (rc != IMG_OK)
        goto out;
    if (advance)
        *advance = (double)pen * size / f->units_per_em;
    if (missing)
        *missing = nmiss;
out:
    if (rc != IMG_OK && out)
        out->len = len0; /* all or nothing */
    return rc;
}

img_err img_font_text_width(double *advance, img_font *f, const char *utf8, double size) {
    img_err rc = IMG_OK;
    int64_t pen = 0;
    size_t nmiss = 0;
    if (!advance) {
        rc = img_fail(IMG_E_ARG, "img_font_text_width: advance is NULL");
        goto out;
    }
    *advance = 0;
    rc = check_args(f, utf8, size, "img_font_text_width");
    if (rc == IMG_OK)
        rc = layout(NULL, &pen, &nmiss, f, utf8, NULL);
    if (rc == IMG_OK)
        *advance = (double)pen * size / f->units_per_em;
out:
    return rc;
}
