#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "crypto/internal.h"

static _Thread_local char detail[768];

const char *crypto_strerror(crypto_err err) {
    switch (err) {
    case CRYPTO_OK:
        return "success";
    case CRYPTO_E_NOMEM:
        return "out of memory";
    case CRYPTO_E_IO:
        return "cannot read file";
    case CRYPTO_E_KEY:
        return "cannot read the private key";
    case CRYPTO_E_PASSWORD:
        return "password missing or wrong";
    case CRYPTO_E_CERT:
        return "cannot read the certificate";
    case CRYPTO_E_MISMATCH:
        return "the private key does not match the certificate";
    case CRYPTO_E_VALIDITY:
        return "the certificate is not valid now";
    case CRYPTO_E_USAGE:
        return "the certificate does not allow signing";
    case CRYPTO_E_ALGORITHM:
        return "unsupported or too weak algorithm";
    case CRYPTO_E_SIGN:
        return "signing failed";
    case CRYPTO_E_LIMIT:
        return "size limit exceeded";
    case CRYPTO_E_LOCKED:
        return "the key is locked";
    case CRYPTO_E_TOKEN:
        return "the PKCS#11 token failed";
    case CRYPTO_E_FORMAT:
        return "malformed data";
    case CRYPTO_E_ARG:
        return "invalid argument";
    case CRYPTO_E_NETWORK:
        return "network error";
    case CRYPTO_E_TSA:
        return "time-stamping failed";
    case CRYPTO_E_REVOKED:
        return "certificate revoked or its status unknown";
    }
    return "unknown crypto error";
}

const char *crypto_errdetail(void) {
    return detail;
}

void crypto_clear_detail(void) {
    detail[0] = '\0';
}

crypto_err crypto_fail(crypto_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e && n >= 0 && (size_t)n < sizeof detail - 16) {
        char ossl[256];
        ERR_error_string_n(e, ossl, sizeof ossl);
        snprintf(detail + n, sizeof detail - (size_t)n, " (OpenSSL: %s)", ossl);
    }
    ERR_clear_error();
    return err;
}
