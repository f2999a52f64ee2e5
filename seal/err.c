#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "seal/internal.h"

static _Thread_local char detail[1024];

const char *seal_strerror(seal_err err) {
    switch (err) {
    case SEAL_OK:
        return "success";
    case SEAL_E_NOMEM:
        return "out of memory";
    case SEAL_E_ARG:
        return "invalid request";
    case SEAL_E_IO:
        return "input/output error";
    case SEAL_E_DOCUMENT:
        return "document refused";
    case SEAL_E_KEY:
        return "key or certificate refused";
    case SEAL_E_IMAGE:
        return "image refused";
    case SEAL_E_SIGN:
        return "signing failed";
    case SEAL_E_TEMPLATE:
        return "template refused";
    case SEAL_E_SEAL:
        return "seal refused";
    }
    return "unknown error";
}

const char *seal_errdetail(void) {
    return detail[0] ? detail : "";
}

seal_err seal_fail(seal_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err;
}

/* "cause: detail", unless the detail already says the cause. */
seal_err seal_fail_lib(seal_err err, const char *cause, const char *libdetail) {
    if (!libdetail || !*libdetail)
        return seal_fail(err, "%s", cause);
    if (strstr(libdetail, cause))
        return seal_fail(err, "%s", libdetail);
    return seal_fail(err, "%s: %s", cause, libdetail);
}
