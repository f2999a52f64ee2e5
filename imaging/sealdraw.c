/* Drawing a round enterprise seal (img_seal_draw).
 *
 * References: GB/T 38540-2020 (electronic seals; the seal picture and its sample seals);
 * GA 241-2000 / the public-security seal rules the samples follow: a round seal about 40-42 mm
 * across, a rim about 1 mm thick, a five-point star in the centre, the enterprise's name along
 * the upper arc reading clockwise with the tops of the characters outward, and the seal's
 * number along the lower arc reading left to right with the tops inward. FreeType 2.12
 * FT_Outline_Render (the anti-aliasing "gray" rasteriser, direct spans).
 *
 * The characters are the very outlines glyph.c gives the PDF layers: img_font_text_path at a
 * large size, parsed back here (the grammar is our own: numbers, then m, l, c or h), turned and
 * placed on the arc, and filled with FreeType's rasteriser into one coverage plane. The rim is
 * computed from the distance to the centre, the star is a ten-point polygon. The picture is one
 * colour (SEAL_R/G/B) with the coverage as alpha, so it composes cleanly at any scale.
 *
 * A name or code with characters the font lacks is refused (IMG_E_UNSUPPORTED): a seal with
 * .notdef boxes in it is not one anybody should stamp. */
#include "imaging/seal.h"

#include "imaging/glyph.h"
#include "imaging/internal.h"

#include "base/buf.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

/* The seal red (an opaque vermilion like the ink of stamped seals). */
#define SEAL_R 220
#define SEAL_G 30
#define SEAL_B 40
/* seal.h: enterprise seals are 42 mm across; the picture's dpi says so. */
#define SEAL_MM 42.0
#define MM_PER_INCH 25.4
/* Picture sizes: 64 px is a thumbnail, 4096 px is 42 mm at about 2500 dpi. */
#define PX_MIN 64u
#define PX_MAX 4096u
/* Characters: the longest registered enterprise names are around 50 characters. */
#define NAME_MAX_CHARS 64u
#define CODE_MAX_CHARS 32u
/* Outlines are requested at this size (units per em): glyph.c prints them to 1/1000 em or
 * better, which at the largest picture is well under a pixel. */
#define EM 10000.0
/* FreeType 2.12 outlines count points and contours in shorts. */
#define OUTLINE_MAX 32767u

/* Geometry as fractions of the picture's width D (= the seal's diameter, 42 mm). */
#define F_MARGIN 0.01  /* outside the rim, for the anti-aliased edge */
#define F_RIM 0.04     /* rim thickness: about 4% of the diameter */
#define F_GAP 0.022    /* between the rim and the text */
#define F_STAR 0.15    /* the star's outer radius: the star is 30% of the diameter across */
#define F_NAME_H 0.15  /* the name's height (ink, not em) before any shrinking */
#define F_CODE_H 0.065 /* the code's height */
/* The star's inner radius: that of a regular star, sin 18 / sin 54 of the outer. */
#define STAR_INNER 0.38196601125
/* Arcs, in degrees: the name's, centred at the top; with a code it leaves more room below. */
#define ARC_NAME 250.0
#define ARC_NAME_WITH_CODE 228.0
#define ARC_CODE_GAP 12.0  /* between the name's ends and the code's */
#define ARC_NAME_MIN 160.0 /* a short name is spaced out over at least this */
/* The name's characters take at most this share of their slot (the rest is space), and are
 * narrowed to at least this width before they are made smaller. */
#define NAME_FILL 0.8
#define NAME_MIN_SX 0.55
#define CODE_SX 0.85
#define CODE_TRACK 0.12 /* extra space between code characters, in em */
/* Seal engravings have heavier strokes than a text face: strokes thickened by this share of
 * the ink height (FT_Outline_EmboldenXY; the ink grows by as much, which the layout allows). */
#define F_NAME_BOLD 0.025
#define F_CODE_BOLD 0.04

#define PI 3.14159265358979323846

/* An outline: points (x, y) with FreeType tags, contours by their last point. */
struct shape {
    double *xy;
    char *tags;
    short *ends;
    size_t n, cap, nc, ccap;
    double y0, y1;  /* vertical extent of the points (control points included) */
    double advance; /* in the units of the path */
};

static void shape_free(struct shape *s) {
    free(s->xy);
    free(s->tags);
    free(s->ends);
    memset(s, 0, sizeof *s);
}

static img_err shape_point(struct shape *s, double x, double y, char tag) {
    img_err rc = IMG_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *xy = NULL;
        char *tags = NULL;
        if (cap > OUTLINE_MAX)
            cap = OUTLINE_MAX;
        if (s->n == cap) {
            rc = img_fail(IMG_E_LIMIT, "a seal character has over %u points", OUTLINE_MAX);
            goto out;
        }
        xy = realloc(s->xy, cap * 2 * sizeof *xy);
        if (xy)
            s->xy = xy;
        tags = xy ? realloc(s->tags, cap) : NULL;
        if (tags)
            s->tags = tags;
        if (!xy || !tags) {
            rc = img_fail(IMG_E_NOMEM, "no memory for a seal character's outline");
            goto out;
        }
        s->cap = cap;
    }
    s->xy[2 * s->n] = x;
    s->xy[2 * s->n + 1] = y;
    s->tags[s->n] = tag;
    if (s->n == 0 || y < s->y0)
        s->y0 = y;
    if (s->n == 0 || y > s->y1)
        s->y1 = y;
    s->n++;
out:
    return rc;
}

/* Ends the open contour, if any (one that has points since the last end). */
static img_err shape_close(struct shape *s) {
    img_err rc = IMG_OK;
    size_t start = s->nc ? (size_t)s->ends[s->nc - 1] + 1 : 0;
    if (s->n == start)
        goto out;
    if (s->nc == s->ccap) {
        size_t cap = s->ccap ? 2 * s->ccap : 16;
        short *ends = NULL;
        if (cap > OUTLINE_MAX)
            cap = OUTLINE_MAX;
        if (s->nc == cap) {
            rc = img_fail(IMG_E_LIMIT, "a seal character has over %u contours", OUTLINE_MAX);
            goto out;
        }
        ends = realloc(s->ends, cap * sizeof *ends);
        if (!ends) {
            rc = img_fail(IMG_E_NOMEM, "no memory for a seal character's outline");
            goto out;
        }
        s->ends = ends;
        s->ccap = cap;
    }
    s->ends[s->nc++] = (short)(s->n - 1);
out:
    return rc;
}

/* Reads one number of glyph.c's form: -?digits(.digits)? (locale-independent). */
static bool parse_number(const uint8_t **pp, const uint8_t *end, double *v) {
    const uint8_t *p = *pp;
    bool neg = false, digits = false;
    double x = 0, scale = 1;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        x = x * 10 + (*p - '0');
        digits = true;
    }
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            scale /= 10;
            x += (*p - '0') * scale;
            digits = true;
        }
    *v = neg ? -x : x;
    *pp = p;
    return digits;
}

/* Parses PDF path operators as img_font_text_path writes them (m, l, c, h; ISO 32000-2 8.5.2)
 * into s, closing every contour. */
static img_err shape_parse(struct shape *s, const buf *path) {
    img_err rc = IMG_OK;
    const uint8_t *p = path->data, *end = path->data + path->len;
    double v[6];
    int nv = 0;
    while (p < end && rc == IMG_OK) {
        uint8_t ch = *p;
        if (ch == ' ' || ch == '\n') {
            p++;
        } else if (ch == '-' || ch == '.' || (ch >= '0' && ch <= '9')) {
            if (nv == 6 || !parse_number(&p, end, &v[nv++]))
                rc = img_fail(IMG_E_CORRUPT, "glyph path: bad number at byte %zu",
                              (size_t)(p - path->data));
        } else if (ch == 'm' && nv == 2) {
            rc = shape_close(s);
            if (rc == IMG_OK)
                rc = shape_point(s, v[0], v[1], FT_CURVE_TAG_ON);
            nv = 0;
            p++;
        } else if (ch == 'l' && nv == 2 && s->n) {
            rc = shape_point(s, v[0], v[1], FT_CURVE_TAG_ON);
            nv = 0;
            p++;
        } else if (ch == 'c' && nv == 6 && s->n) {
            rc = shape_point(s, v[0], v[1], FT_CURVE_TAG_CUBIC);
            if (rc == IMG_OK)
                rc = shape_point(s, v[2], v[3], FT_CURVE_TAG_CUBIC);
            if (rc == IMG_OK)
                rc = shape_point(s, v[4], v[5], FT_CURVE_TAG_ON);
            nv = 0;
            p++;
        } else if (ch == 'h' && nv == 0) {
            rc = shape_close(s);
            p++;
        } else {
            rc = img_fail(IMG_E_CORRUPT, "glyph path: unexpected '%c' at byte %zu", ch,
                          (size_t)(p - path->data));
        }
    }
    if (rc == IMG_OK)
        rc = shape_close(s);
    return rc;
}

/* The coverage plane (y down, as the picture) and FreeType's rasteriser. */
struct canvas {
    FT_Library lib;
    uint8_t *cov;
    uint32_t size;
};

/* Adds coverage as the union of independent shapes: a + c - a c. */
static void cover(uint8_t *p, unsigned c) {
    unsigned a = *p;
    *p = (uint8_t)(a + c - (a * c + 127) / 255);
}

/* FreeType's spans come bottom-up (y up). */
static void on_spans(int y, int count, const FT_Span *spans, void *user) {
    struct canvas *cv = user;
    if (y < 0 || (uint32_t)y >= cv->size)
        return;
    uint8_t *row = cv->cov + (size_t)(cv->size - 1 - (uint32_t)y) * cv->size;
    for (int i = 0; i < count; i++) {
        int x0 = spans[i].x < 0 ? 0 : spans[i].x;
        int x1 = spans[i].x + (int)spans[i].len;
        if (x1 > (int)cv->size)
            x1 = (int)cv->size;
        for (int x = x0; x < x1; x++)
            cover(row + x, spans[i].coverage);
    }
}

/* Where a shape goes: the affine map (x, y) -> (m0 x + m2 y + m4, m1 x + m3 y + m5) into its
 * own frame in pixels (y up), strokes thickened there by bold pixels, then turned by phi
 * radians and moved by (tx, ty) into the picture. */
struct place {
    double m[6];
    double bold;
    double phi, tx, ty;
};

/* Fills s with the nonzero winding rule (as PDF's f, and as the fonts mean it). */
static img_err fill_shape(struct canvas *cv, const struct shape *s, const struct place *pl) {
    img_err rc = IMG_OK;
    FT_Vector *pts = NULL;
    FT_Outline o;
    FT_Matrix turn;
    FT_Raster_Params params;
    FT_Error e;
    const double *m = pl->m;
    if (s->n == 0 || s->nc == 0)
        goto out;
    pts = malloc(s->n * sizeof *pts);
    if (!pts) {
        rc = img_fail(IMG_E_NOMEM, "no memory to draw a seal character");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        double x = s->xy[2 * i], y = s->xy[2 * i + 1];
        /* 26.6 fixed point; every shape is within the picture, so this is in range. */
        pts[i].x = (FT_Pos)lround((m[0] * x + m[2] * y + m[4]) * 64);
        pts[i].y = (FT_Pos)lround((m[1] * x + m[3] * y + m[5]) * 64);
    }
    memset(&o, 0, sizeof o);
    o.n_points = (short)s->n;
    o.n_contours = (short)s->nc;
    o.points = pts;
    o.tags = s->tags;
    o.contours = s->ends;
    o.flags = FT_OUTLINE_NONE;
    if (pl->bold > 0) {
        /* The outline grows by bold up and to the right (left and bottom stay): recentred. */
        FT_Pos b = (FT_Pos)lround(pl->bold * 64);
        e = FT_Outline_EmboldenXY(&o, b, b);
        if (e) {
            rc = img_fail(IMG_E_CORRUPT, "FT_Outline_EmboldenXY: FreeType error 0x%02x",
                          (unsigned)e);
            goto out;
        }
        FT_Outline_Translate(&o, -b / 2, -b / 2);
    }
    /* FT_Matrix is 16.16: xx xy / yx yy. */
    turn.xx = (FT_Fixed)lround(cos(pl->phi) * 65536);
    turn.xy = (FT_Fixed)lround(-sin(pl->phi) * 65536);
    turn.yx = -turn.xy;
    turn.yy = turn.xx;
    FT_Outline_Transform(&o, &turn);
    FT_Outline_Translate(&o, (FT_Pos)lround(pl->tx * 64), (FT_Pos)lround(pl->ty * 64));
    memset(&params, 0, sizeof params);
    params.flags = FT_RASTER_FLAG_AA | FT_RASTER_FLAG_DIRECT | FT_RASTER_FLAG_CLIP;
    params.gray_spans = on_spans;
    params.user = cv;
    params.clip_box.xMin = 0;
    params.clip_box.yMin = 0;
    params.clip_box.xMax = (FT_Pos)cv->size;
    params.clip_box.yMax = (FT_Pos)cv->size;
    e = FT_Outline_Render(cv->lib, &o, &params);
    if (e)
        rc = img_fail(e == FT_Err_Out_Of_Memory ? IMG_E_NOMEM : IMG_E_CORRUPT,
                      "FT_Outline_Render failed: FreeType error 0x%02x", (unsigned)e);
out:
    free(pts);
    return rc;
}

/* The rim: coverage from the distance of each pixel's centre to the seal's centre, a pixel wide
 * ramp on either edge. */
static void draw_rim(struct canvas *cv, double r_out, double r_in) {
    double c = cv->size / 2.0;
    for (uint32_t y = 0; y < cv->size; y++)
        for (uint32_t x = 0; x < cv->size; x++) {
            double d = hypot(x + 0.5 - c, y + 0.5 - c);
            double a = fmin(fmax(r_out - d + 0.5, 0), 1) * fmin(fmax(d - r_in + 0.5, 0), 1);
            if (a > 0)
                cover(cv->cov + (size_t)y * cv->size + x, (unsigned)lround(a * 255));
        }
}

/* The five-point star, one point up, as a ten-point polygon. */
static img_err draw_star(struct canvas *cv, double r) {
    img_err rc = IMG_OK;
    struct shape s;
    const struct place pl = {{1, 0, 0, 1, 0, 0}, 0, 0, cv->size / 2.0, cv->size / 2.0};
    memset(&s, 0, sizeof s);
    for (int k = 0; k < 10 && rc == IMG_OK; k++) {
        double a = PI / 2 + k * PI / 5, rr = k % 2 ? r * STAR_INNER : r;
        rc = shape_point(&s, rr * cos(a), rr * sin(a), FT_CURVE_TAG_ON);
    }
    if (rc == IMG_OK)
        rc = shape_close(&s);
    if (rc == IMG_OK)
        rc = fill_shape(cv, &s, &pl);
    shape_free(&s);
    return rc;
}

/* A line of text split into characters, each with its outline at EM units per em. */
struct line {
    struct shape *ch;
    size_t n;
    double y0, y1; /* vertical extent of all its characters' ink */
    double max_advance, sum_advance;
};

static void line_free(struct line *l) {
    for (size_t i = 0; l->ch && i < l->n; i++)
        shape_free(&l->ch[i]);
    free(l->ch);
    memset(l, 0, sizeof *l);
}

/* The length of the UTF-8 sequence starting with b (well-formed: glyph.c checked it). */
static size_t utf8_len(uint8_t b) {
    return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

static img_err line_load(struct line *l, img_font *f, const char *utf8, size_t max_chars,
                         const char *what) {
    img_err rc = IMG_OK;
    double width = 0;
    size_t n = 0, missing = 0;
    bool ink = false;
    buf path;
    buf_init(&path, (size_t)4 << 20);
    memset(l, 0, sizeof *l);
    rc = img_font_text_width(&width, f, utf8, EM); /* checks the UTF-8 */
    if (rc != IMG_OK)
        goto out;
    for (const char *p = utf8; *p; p += utf8_len((uint8_t)*p))
        n++;
    if (n == 0 || n > max_chars) {
        rc = img_fail(n ? IMG_E_LIMIT : IMG_E_ARG,
                      "img_seal_draw: the %s has %zu characters (1 to %zu)", what, n, max_chars);
        goto out;
    }
    l->ch = calloc(n, sizeof *l->ch);
    if (!l->ch) {
        rc = img_fail(IMG_E_NOMEM, "img_seal_draw: no memory");
        goto out;
    }
    l->n = n;
    for (size_t i = 0, off = 0; i < n && rc == IMG_OK; i++) {
        char one[5] = {0};
        size_t len = utf8_len((uint8_t)utf8[off]), miss = 0;
        struct shape *s = &l->ch[i];
        memcpy(one, utf8 + off, len);
        off += len;
        buf_reset(&path);
        rc = img_font_text_path(&path, f, one, EM, 0, 0, &s->advance, &miss);
        if (rc == IMG_OK)
            rc = shape_parse(s, &path);
        missing += miss;
        if (rc == IMG_OK && s->n) {
            l->y0 = ink ? fmin(l->y0, s->y0) : s->y0;
            l->y1 = ink ? fmax(l->y1, s->y1) : s->y1;
            ink = true;
        }
        l->max_advance = fmax(l->max_advance, s->advance);
        l->sum_advance += s->advance;
    }
    if (rc != IMG_OK)
        goto out;
    if (missing) {
        rc = img_fail(IMG_E_UNSUPPORTED, "img_seal_draw: the font lacks %zu character(s) of the %s",
                      missing, what);
        goto out;
    }
    if (!ink || l->y1 - l->y0 < EM / 100 || l->max_advance <= 0) {
        rc = img_fail(IMG_E_ARG, "img_seal_draw: the %s draws nothing", what);
        goto out;
    }
out:
    buf_free(&path);
    return rc;
}

/* Draws character s with its advance box centred at angle theta (radians) on radius r, its
 * ink centred vertically on the circle (ymid: the middle of the line's ink), scale pixels per
 * path unit, narrowed by sx, turned by phi, strokes bold pixels thicker. */
static img_err place_char(struct canvas *cv, const struct shape *s, double ymid, double theta,
                          double r, double scale, double sx, double phi, double bold) {
    double c = cv->size / 2.0;
    struct place pl;
    pl.m[0] = scale * sx;
    pl.m[1] = 0;
    pl.m[2] = 0;
    pl.m[3] = scale;
    pl.m[4] = -scale * sx * s->advance / 2;
    pl.m[5] = -scale * ymid;
    pl.bold = bold;
    pl.phi = phi;
    pl.tx = c + r * cos(theta);
    pl.ty = c + r * sin(theta);
    return fill_shape(cv, s, &pl);
}

/* The name: n characters in equal slots over the upper arc, reading clockwise, tops outward.
 * They are as tall as F_NAME_H while they fit; a long name first narrows them (down to
 * NAME_MIN_SX), then makes them smaller, which also moves them out towards the rim. */
static img_err draw_name(struct canvas *cv, const struct line *l, double r_top, double arc_deg) {
    img_err rc = IMG_OK;
    double D = cv->size;
    double ink = l->y1 - l->y0;      /* ink height in path units */
    double u = l->max_advance / ink; /* widest advance per unit of ink height */
    double h = F_NAME_H * D;         /* ink height in pixels */
    double arc = arc_deg * PI / 180;
    double sx = 1, r, slot, width;
    /* Not wider than the arc needs: a short name keeps NAME_FILL of each slot filled, but is
     * spread over ARC_NAME_MIN at least. */
    width = u * h / (r_top - h * (1 + F_NAME_BOLD) / 2); /* the widest character, full size */
    if (width / NAME_FILL * (double)l->n < arc)
        arc = fmin(arc, fmax(width / NAME_FILL * (double)l->n, ARC_NAME_MIN * PI / 180));
    slot = arc / (double)l->n;
    if (width > NAME_FILL * slot) {
        sx = NAME_FILL * slot / width;
        if (sx < NAME_MIN_SX) {
            /* u h sx / (r_top - h (1 + bold) / 2) = NAME_FILL slot, solved for h with sx =
             * NAME_MIN_SX. */
            double w = NAME_FILL * slot;
            sx = NAME_MIN_SX;
            h = w * r_top / (u * sx + w * (1 + F_NAME_BOLD) / 2);
        }
    }
    r = r_top - h * (1 + F_NAME_BOLD) / 2; /* the ink's middle, its strokes thickened */
    for (size_t i = 0; i < l->n && rc == IMG_OK; i++) {
        double theta = PI / 2 + arc / 2 - ((double)i + 0.5) * slot;
        rc = place_char(cv, &l->ch[i], (l->y0 + l->y1) / 2, theta, r, h / ink, sx, theta - PI / 2,
                        F_NAME_BOLD * h);
    }
    return rc;
}

/* The code: along the lower arc, reading left to right with the tops inward, spaced by its
 * advances, centred at the bottom, made smaller when it would not fit in arc_deg. */
static img_err draw_code(struct canvas *cv, const struct line *l, double r_bottom, double arc_deg) {
    img_err rc = IMG_OK;
    double D = cv->size;
    double ink = l->y1 - l->y0;
    double h = F_CODE_H * D;
    double arc = arc_deg * PI / 180;
    double track = CODE_TRACK * EM;
    double len_units = CODE_SX * l->sum_advance + track * (double)(l->n - 1); /* path units */
    double r, scale, total, pos;
    /* The arc length len_units * h / ink at the ink's middle, r = r_bottom - h (1 + bold) / 2,
     * must be within arc: solved for h. */
    r = r_bottom - h * (1 + F_CODE_BOLD) / 2;
    if (len_units * h / ink > arc * r)
        h = arc * r_bottom / (len_units / ink + arc * (1 + F_CODE_BOLD) / 2);
    r = r_bottom - h * (1 + F_CODE_BOLD) / 2;
    scale = h / ink;
    total = len_units * scale / r; /* radians */
    pos = 0;
    for (size_t i = 0; i < l->n && rc == IMG_OK; i++) {
        double mid = (pos + CODE_SX * l->ch[i].advance / 2) * scale / r;
        double theta = 3 * PI / 2 - total / 2 + mid;
        rc = place_char(cv, &l->ch[i], (l->y0 + l->y1) / 2, theta, r, scale, CODE_SX,
                        theta + PI / 2, F_CODE_BOLD * h);
        pos += CODE_SX * l->ch[i].advance + track;
    }
    return rc;
}

img_err img_seal_draw(img_rgba **out, const char *name_utf8, const char *code_utf8, uint32_t px,
                      const char *font) {
    img_err rc = IMG_OK;
    img_font *f = NULL;
    img_rgba *img = NULL;
    struct canvas cv;
    struct line name, code;
    bool has_code = code_utf8 && *code_utf8;
    double D = px, r_out, r_in, r_text;
    FT_Error e;
    memset(&cv, 0, sizeof cv);
    memset(&name, 0, sizeof name);
    memset(&code, 0, sizeof code);
    if (out)
        *out = NULL;
    if (!out || !name_utf8) {
        rc = img_fail(IMG_E_ARG, "img_seal_draw: NULL %s", out ? "name" : "out");
        goto out;
    }
    if (px < PX_MIN || px > PX_MAX) {
        rc = img_fail(IMG_E_ARG, "img_seal_draw: %u px is not in %u..%u", (unsigned)px, PX_MIN,
                      PX_MAX);
        goto out;
    }
    rc = img_font_open(&f, font, -1);
    if (rc == IMG_OK)
        rc = line_load(&name, f, name_utf8, NAME_MAX_CHARS, "name");
    if (rc == IMG_OK && has_code)
        rc = line_load(&code, f, code_utf8, CODE_MAX_CHARS, "code");
    if (rc != IMG_OK)
        goto out;
    e = FT_Init_FreeType(&cv.lib);
    if (e) {
        rc = img_fail(e == FT_Err_Out_Of_Memory ? IMG_E_NOMEM : IMG_E_UNSUPPORTED,
                      "FT_Init_FreeType failed: FreeType error 0x%02x", (unsigned)e);
        goto out;
    }
    rc = img_rgba_new(&img, px, px);
    if (rc != IMG_OK)
        goto out;
    cv.size = px;
    cv.cov = calloc(px, px);
    if (!cv.cov) {
        rc = img_fail(IMG_E_NOMEM, "img_seal_draw: no memory for %u x %u px", (unsigned)px,
                      (unsigned)px);
        goto out;
    }
    r_out = D / 2 - F_MARGIN * D;
    r_in = r_out - F_RIM * D;
    r_text = r_in - F_GAP * D;
    draw_rim(&cv, r_out, r_in);
    rc = draw_star(&cv, F_STAR * D);
    if (rc == IMG_OK)
        rc = draw_name(&cv, &name, r_text, has_code ? ARC_NAME_WITH_CODE : ARC_NAME);
    if (rc == IMG_OK && has_code)
        rc = draw_code(&cv, &code, r_text, 360 - ARC_NAME_WITH_CODE - 2 * ARC_CODE_GAP);
    if (rc != IMG_OK)
        goto out;
    for (size_t i = 0; i < (size_t)px * px; i++) {
        img->px[4 * i] = SEAL_R;
        img->px[4 * i + 1] = SEAL_G;
        img->px[4 * i + 2] = SEAL_B;
        img->px[4 * i + 3] = cv.cov[i];
    }
    img->dpi_x = img->dpi_y = D / (SEAL_MM / MM_PER_INCH);
    *out = img;
    img = NULL;
out:
    line_free(&name);
    line_free(&code);
    free(cv.cov);
    if (cv.lib)
        FT_Done_FreeType(cv.lib);
    img_rgba_free(img);
    img_font_free(f);
    return rc;
}
