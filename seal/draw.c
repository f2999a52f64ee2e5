/* Drawing a seal picture (for the bureau's own seal and for demonstrations). */
#include <string.h>

#include "imaging/seal.h"
#include "seal/internal.h"

seal_err seal_draw_file(const char *out_png, const char *name, const char *code, uint32_t px,
                        const char *font) {
    img_rgba *img = NULL;
    img_err ie = img_seal_draw(&img, name, code, px, font);
    if (ie == IMG_OK)
        ie = img_png_write_file(out_png, img);
    img_rgba_free(img);
    if (ie == IMG_E_IO)
        return seal_fail_lib(SEAL_E_IO, img_strerror(ie), img_errdetail());
    if (ie != IMG_OK)
        return seal_fail_lib(ie == IMG_E_ARG ? SEAL_E_ARG : SEAL_E_IMAGE, img_strerror(ie),
                             img_errdetail());
    return SEAL_OK;
}
