/* Makes GB/T 38540 seals with the crypto library (crypto_ses_make), for the tests that need
 * seals eseal seal make would not make: any validity, pictures of any type and size.
 *
 *   make_ses OUT.seal --picture FILE [--type PNG|JPG|...] --size WxH --from T --to T
 *            --maker-key KEY --maker-cert CERT [--name TEXT] [--digests] CERT...
 *
 * Times are seconds since 1970 or "now+N" / "now-N" (seconds). Exit 0, or 1 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fileio.h"
#include "crypto/ses.h"

static time_t when(const char *s) {
    if (strncmp(s, "now", 3) == 0)
        return time(NULL) + (s[3] ? atol(s + 3) : 0);
    return (time_t)atoll(s);
}

int main(int argc, char **argv) {
    crypto_ses_spec sp = {.name = "eseal test seal"};
    const char *out = NULL, *picture = NULL, *maker_key = NULL, *maker_cert = NULL;
    STACK_OF(X509) *certs = sk_X509_new_null(), *more = NULL, *mc = NULL;
    uint8_t *pic = NULL;
    size_t pic_len = 0;
    buf der;
    buf_init(&der, CRYPTO_SES_MAX_DER);
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--picture") == 0 && v) {
            picture = v;
            i++;
        } else if (strcmp(a, "--type") == 0 && v) {
            sp.picture_type = v;
            i++;
        } else if (strcmp(a, "--size") == 0 && v) {
            if (sscanf(v, "%dx%d", &sp.width_mm, &sp.height_mm) != 2)
                goto usage;
            i++;
        } else if (strcmp(a, "--from") == 0 && v) {
            sp.valid_from = when(v);
            i++;
        } else if (strcmp(a, "--to") == 0 && v) {
            sp.valid_to = when(v);
            i++;
        } else if (strcmp(a, "--maker-key") == 0 && v) {
            maker_key = v;
            i++;
        } else if (strcmp(a, "--maker-cert") == 0 && v) {
            maker_cert = v;
            i++;
        } else if (strcmp(a, "--name") == 0 && v) {
            sp.name = v;
            i++;
        } else if (strcmp(a, "--digests") == 0) {
            sp.list_digests = true;
        } else if (a[0] == '-') {
            goto usage;
        } else if (!out) {
            out = a;
        } else {
            if (crypto_certs_load(&more, a) != CRYPTO_OK) {
                fprintf(stderr, "make_ses: %s: %s\n", a, crypto_errdetail());
                goto done;
            }
            for (X509 *c; (c = sk_X509_shift(more)) != NULL;)
                sk_X509_push(certs, c);
            sk_X509_free(more);
            more = NULL;
        }
    }
    if (!out || !picture || !maker_key || !maker_cert || !sp.width_mm)
        goto usage;
    if (file_read_all(&pic, &pic_len, picture, CRYPTO_SES_MAX_DER) != 0) {
        fprintf(stderr, "make_ses: cannot read %s\n", picture);
        goto done;
    }
    sp.picture = pic;
    sp.picture_len = pic_len;
    sp.certs = certs;
    if (crypto_key_load(&sp.maker_key, NULL, NULL, maker_key, NULL) != CRYPTO_OK ||
        crypto_certs_load(&mc, maker_cert) != CRYPTO_OK) {
        fprintf(stderr, "make_ses: %s\n", crypto_errdetail());
        goto done;
    }
    sp.maker_cert = sk_X509_value(mc, 0);
    if (crypto_ses_make(&der, &sp) != CRYPTO_OK) {
        fprintf(stderr, "make_ses: %s\n", crypto_errdetail());
        goto done;
    }
    struct iovec part = {der.data, der.len};
    if (file_write_atomic(out, &part, 1, 0644) != 0) {
        fprintf(stderr, "make_ses: cannot write %s\n", out);
        goto done;
    }
    rc = 0;
    goto done;
usage:
    fprintf(stderr, "usage: make_ses OUT.seal --picture FILE [--type T] --size WxH --from T --to T "
                    "--maker-key KEY --maker-cert CERT [--name TEXT] [--digests] CERT...\n");
    rc = 2;
done:
    crypto_key_free(sp.maker_key);
    sk_X509_pop_free(mc, X509_free);
    sk_X509_pop_free(certs, X509_free);
    free(pic);
    buf_free(&der);
    return rc;
}
