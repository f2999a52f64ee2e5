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
#include "seal/internal.h"

#define MAX_PNG_BYTES ((size_t)64 * 1024 * 1024)
#define MAX_CACHED ((size_t)256 * 1024 * 1024)

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

seal_err seal_image_load(pdf_image **out, const char *path) {
    uint8_t *png = NULL, *cached = NULL;
    size_t len = 0, clen = 0;
    img_rgba *img = NULL;
    seal_err err = SEAL_OK;
    char dir[3072], file[4096];
    bool have_dir = false;
    *out = NULL;
    int e = file_read_all(&png, &len, path, MAX_PNG_BYTES);
    if (e) {
        err = e == EFBIG
                  ? seal_fail(SEAL_E_IMAGE, "%s is larger than %zu bytes", path, MAX_PNG_BYTES)
                  : seal_fail(SEAL_E_IO, "%s: %s", path, strerror(e));
        goto out;
    }
    uint8_t md[32];
    unsigned mdlen = 0;
    if (cache_dir(dir, sizeof dir) && EVP_Digest(png, len, md, &mdlen, EVP_sha256(), NULL)) {
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        have_dir = snprintf(file, sizeof file, "%s/%s.pdfimage", dir, hex) < (int)sizeof file;
    }
    if (have_dir && file_read_all(&cached, &clen, file, MAX_CACHED) == 0 &&
        pdf_image_deserialize(out, cached, clen) == PDF_OK)
        goto out;
    img_err ie = img_png_decode(&img, png, len, NULL);
    if (ie != IMG_OK) {
        err = seal_fail_lib(SEAL_E_IMAGE, img_strerror(ie), img_errdetail());
        goto out;
    }
    pdf_err pe = pdf_image_from_rgba(out, img->px, img->width, img->height);
    if (pe != PDF_OK) {
        err = seal_fail_lib(pe == PDF_E_NOMEM ? SEAL_E_NOMEM : SEAL_E_IMAGE, pdf_strerror(pe),
                            pdf_errdetail());
        goto out;
    }
    if (have_dir) {
        buf b;
        buf_init(&b, MAX_CACHED);
        if (pdf_image_serialize(&b, *out) == PDF_OK) {
            struct iovec part = {b.data, b.len};
            (void)file_write_atomic(file, &part, 1, 0600); /* best effort */
        }
        buf_free(&b);
    }
out:
    img_rgba_free(img);
    free(png);
    free(cached);
    return err;
}
