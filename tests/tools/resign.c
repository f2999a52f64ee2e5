/* A rogue signer, for the verifier's tests: what an attacker holding an enterprise's key but a
 * bad seal would produce. Takes a PDF eseal signed, and rewrites its last signature's /Contents
 * with a new CMS over the same /ByteRange that carries the given seal DER (as is: expired, not
 * listing the signer, its maker's signature broken...), in the same placeholder.
 *
 *   resign IN.pdf OUT.pdf KEY CERT SEAL.der [CHAIN]
 *
 * Exit 0, or 1 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "crypto/crypto.h"

#define MAX_PDF ((size_t)256 << 20)

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "resign: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* The four integers after the last "/ByteRange [". */
static bool last_byterange(const uint8_t *d, size_t n, size_t r[4]) {
    const char key[] = "/ByteRange";
    size_t at = SIZE_MAX;
    for (size_t i = 0; i + sizeof key - 1 <= n; i++)
        if (memcmp(d + i, key, sizeof key - 1) == 0)
            at = i;
    if (at == SIZE_MAX)
        return false;
    size_t p = at + sizeof key - 1;
    while (p < n && (d[p] == ' ' || d[p] == '['))
        p++;
    for (int k = 0; k < 4; k++) {
        size_t v = 0;
        if (p >= n || d[p] < '0' || d[p] > '9')
            return false;
        while (p < n && d[p] >= '0' && d[p] <= '9')
            v = v * 10 + (size_t)(d[p++] - '0');
        r[k] = v;
        while (p < n && d[p] == ' ')
            p++;
    }
    return r[0] == 0 && r[1] < r[2] && r[2] + r[3] <= n;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: resign IN.pdf OUT.pdf KEY CERT SEAL.der [CHAIN]\n");
        return 2;
    }
    uint8_t *pdf = NULL, *seal = NULL;
    size_t len = 0, seal_len = 0, r[4];
    crypto_key *key = NULL;
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    crypto_signer *s = NULL;
    buf cms;
    buf_init(&cms, (size_t)8 << 20);
    int rc = 1;
    if (file_read_all(&pdf, &len, argv[1], MAX_PDF) != 0 ||
        file_read_all(&seal, &seal_len, argv[5], (size_t)8 << 20) != 0) {
        rc = fail("cannot read the PDF or the seal", NULL);
        goto out;
    }
    if (!last_byterange(pdf, len, r) || pdf[r[1]] != '<' || pdf[r[2] - 1] != '>') {
        rc = fail("no signature placeholder found", argv[1]);
        goto out;
    }
    if (crypto_key_load(&key, NULL, NULL, argv[3], NULL) != CRYPTO_OK ||
        crypto_certs_load(&certs, argv[4]) != CRYPTO_OK ||
        (argc == 7 && crypto_certs_load(&chain, argv[6]) != CRYPTO_OK)) {
        rc = fail("key or certificates", crypto_errdetail());
        goto out;
    }
    crypto_signer_opts so = {.seal_der = seal, .seal_len = seal_len};
    if (crypto_signer_new(&s, key, sk_X509_value(certs, 0), chain, &so) != CRYPTO_OK) {
        rc = fail("signer", crypto_errdetail());
        goto out;
    }
    struct iovec parts[2] = {{pdf, r[1]}, {pdf + r[2], r[3]}};
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t md_len;
    if (crypto_signer_digest(md, &md_len, s, parts, 2) != CRYPTO_OK ||
        crypto_cms_sign(&cms, s, md, md_len) != CRYPTO_OK) {
        rc = fail("signing", crypto_errdetail());
        goto out;
    }
    size_t room = (r[2] - r[1] - 2) / 2;
    if (cms.len > room) {
        rc = fail("the new CMS does not fit the placeholder", NULL);
        goto out;
    }
    static const char hex[] = "0123456789abcdef";
    uint8_t *p = pdf + r[1] + 1;
    for (size_t i = 0; i < room; i++) {
        uint8_t b = i < cms.len ? cms.data[i] : 0;
        p[2 * i] = (uint8_t)hex[b >> 4];
        p[2 * i + 1] = (uint8_t)hex[b & 15];
    }
    struct iovec whole = {pdf, len};
    if (file_write_atomic(argv[2], &whole, 1, 0644) != 0) {
        rc = fail("cannot write", argv[2]);
        goto out;
    }
    rc = 0;
out:
    crypto_signer_free(s);
    crypto_key_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    buf_free(&cms);
    free(pdf);
    free(seal);
    return rc;
}
