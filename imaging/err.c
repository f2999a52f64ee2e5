#include "imaging/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The last error's detail, one per thread so concurrent decoders do not mix messages. */
static _Thread_local char img_detail[512];

const char *img_strerror(img_err err) {
    switch (err) {
    case IMG_OK:
        return "success";
    case IMG_E_NOMEM:
        return "out of memory";
    case IMG_E_IO:
        return "input/output error";
    case IMG_E_FORMAT:
        return "not the expected image format";
    case IMG_E_CORRUPT:
        return "corrupt or truncated image";
    case IMG_E_LIMIT:
        return "image exceeds a limit";
    case IMG_E_UNSUPPORTED:
        return "unsupported image";
    case IMG_E_ARG:
        return "invalid argument";
    }
    return "unknown imaging error";
}

const char *img_errdetail(void) {
    return img_detail;
}

img_err img_fail(img_err err, const char *fmt, ...) {
    if (!fmt) {
        snprintf(img_detail, sizeof img_detail, "%s", img_strerror(err));
    } else {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(img_detail, sizeof img_detail, fmt, ap);
        va_end(ap);
        if (n < 0)
            snprintf(img_detail, sizeof img_detail, "%s", img_strerror(err));
    }
    return err;
}
