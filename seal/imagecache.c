/* Seal pictures prepared once: a PNG is decoded and deflated into PDF image streams the first
 * time, and the result is kept in a cache directory under the SHA-256 of the PNG's bytes, so
 * later runs with the same picture read a few kilobytes instead. The cache is an optimisation
 * only: any problem with it (no directory, a damaged file) falls back to preparing again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "base/fileio.h"
#include "imaging/image.h"
#include "imaging/seal.h"
#include "seal/internal.h"

#define MAX_PNG_BYTES ((size_t)64 * 1024 * 1024)
#define MAX_CACHED ((size_t)256 * 1024 * 1024)
#define FOG_SIDE 160

/* ESEAL_CACHE_DIR ("off" disables), else $XDG_CACHE_HOME/eseal, else ~/.cache/eseal. */
static bool cache_dir(char *out, size_t n) {
    const char *env = getenv("ESEAL_CACHE_DIR");
    int w;
    if (env && strcmp(env, "off") == 0)
        return false;
    if (env && *env) {
        w = snprintf(out, n, "%s", env);
    } else if ((env = getenv("XDG_CACHE_HOME")) && *env) {
        w = snprintf(out, n, "%s/eseal", env);
    } else if ((env = getenv("HOME")) && *env) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/.cache", env);
        mkdir(parent, 0700);
        w = snprintf(out, n, "%s/.cache/eseal", env);
    } else {
        return false;
    }
    if (w < 0 || (size_t)w >= n)
        return false;
    return mkdir(out, 0700) == 0 || errno == EEXIST;
}

/* A prepared picture from a cache file, if it holds a good one. */
static bool load_cached(pdf_image **out, const char *file) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    bool ok = file_read_all(&bytes, &len, file, MAX_CACHED) == 0 &&
              pdf_image_deserialize(out, bytes, len) == PDF_OK;
    free(bytes);
    return ok;
}

/* Keeps a prepared picture in the cache (best effort: a cache that cannot be written is only
 * slower). */
static void store_cached(const char *file, const pdf_image *img) {
    buf b;
    buf_init(&b, MAX_CACHED);
    if (pdf_image_serialize(&b, img) == PDF_OK) {
        struct iovec part = {b.data, b.len};
        (void)file_write_atomic(file, &part, 1, 0600);
    }
    buf_free(&b);
}

static seal_err prepare(pdf_image **out, const img_rgba *img) {
    pdf_err pe = pdf_image_from_rgba(out, img->px, img->width, img->height);
    if (pe == PDF_OK)
        return SEAL_OK;
    return seal_fail_lib(pe == PDF_E_NOMEM ? SEAL_E_NOMEM : SEAL_E_IMAGE, pdf_strerror(pe),
                         pdf_errdetail());
}

/* The prepared picture of bytes (PNG, or with jpeg also JPEG), from the cache or made and
 * kept there. */
static seal_err load_bytes(pdf_image **out, pdf_image **fog, const uint8_t *png, size_t len,
                           bool jpeg) {
    img_rgba *img = NULL, *fogged = NULL;
    seal_err err = SEAL_OK;
    char dir[3072], file[4096], fogfile[4096];
    bool have_dir = false;
    *out = NULL;
    if (fog)
        *fog = NULL;
    uint8_t md[32];
    unsigned mdlen = 0;
    if (cache_dir(dir, sizeof dir) && EVP_Digest(png, len, md, &mdlen, EVP_sha256(), NULL)) {
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        have_dir = snprintf(file, sizeof file, "%s/%s.pdfimage", dir, hex) < (int)sizeof file &&
                   snprintf(fogfile, sizeof fogfile, "%s/%s.fog2.pdfimage", dir, hex) <
                       (int)sizeof fogfile;
    }
    if (have_dir && load_cached(out, file) && (!fog || load_cached(fog, fogfile)))
        goto out; /* all from the cache */
    pdf_image_free(*out);
    *out = NULL;
    img_err ie = jpeg ? img_decode(&img, png, len, NULL) : img_png_decode(&img, png, len, NULL);
    if (ie != IMG_OK) {
        err = seal_fail_lib(SEAL_E_IMAGE, img_strerror(ie), img_errdetail());
        goto out;
    }
    if ((err = prepare(out, img)) != SEAL_OK)
        goto out;
    if (fog) {
        /* The fog is for the screen and meant to be blurry: 160 px across (about screen
         * resolution for a 42 mm seal) and 16 levels per channel keep its noise from costing
         * every licence half a megabyte (599 KB at 496 px and 256 levels, 25 KB so). */
        img_rgba *small = NULL;
        if ((ie = img_rgba_downscale(&small, img, FOG_SIDE)) == IMG_OK)
            ie = img_fog(&fogged, small, 0x5ea1);
        img_rgba_free(small);
        if (ie != IMG_OK) {
            err = seal_fail_lib(SEAL_E_IMAGE, img_strerror(ie), img_errdetail());
            goto out;
        }
        size_t n = (size_t)fogged->width * fogged->height * 4;
        for (size_t i = 0; i < n; i++) {
            unsigned q = (fogged->px[i] + 8u) / 16u * 16u;
            fogged->px[i] = (uint8_t)(q > 255 ? 255 : q);
        }
        if ((err = prepare(fog, fogged)) != SEAL_OK)
            goto out;
    }
    if (have_dir) {
        store_cached(file, *out);
        if (fog)
            store_cached(fogfile, *fog);
    }
out:
    if (err != SEAL_OK) {
        pdf_image_free(*out);
        *out = NULL;
        if (fog) {
            pdf_image_free(*fog);
            *fog = NULL;
        }
    }
    img_rgba_free(img);
    img_rgba_free(fogged);
    return err;
}

seal_err seal_image_load(pdf_image **out, pdf_image **fog, const char *path) {
    uint8_t *png = NULL;
    size_t len = 0;
    seal_err err;
    *out = NULL;
    if (fog)
        *fog = NULL;
    int e = file_read_all(&png, &len, path, MAX_PNG_BYTES);
    if (e)
        err = e == EFBIG
                  ? seal_fail(SEAL_E_IMAGE, "%s is larger than %zu bytes", path, MAX_PNG_BYTES)
                  : seal_fail(SEAL_E_IO, "%s: %s", path, strerror(e));
    else
        err = load_bytes(out, fog, png, len, false);
    free(png);
    return err;
}

seal_err seal_image_load_memory(pdf_image **out, pdf_image **fog, const uint8_t *data, size_t len) {
    if (len > MAX_PNG_BYTES)
        return seal_fail(SEAL_E_IMAGE, "the picture is larger than %zu bytes", MAX_PNG_BYTES);
    return load_bytes(out, fog, data, len, true);
}
