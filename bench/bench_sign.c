/* eseal-bench-sign: signatures per second in one process, the cost of each set-up step, and
 * peak memory. Not a test: run it through bench/run, which records the machine and command.
 *
 * usage: eseal-bench-sign IN.pdf --key KEY|URI --cert CERT [--chain PEM] [--image PNG]
 *                         [--pin-file F] [--seconds S] [--rect X,Y,W,H] [--cms-only]
 * A pkcs11: URI as the key signs in the token (the certificate may then come from the token).
 * --cms-only measures the CMS signature alone (crypto_cms_sign over the document's digest),
 * without the PDF update around it: what the key type costs (RSA, ECDSA, SM2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "crypto/crypto.h"
#include "seal/seal.h"

/* --cms-only: crypto_signer_new once, then crypto_cms_sign over the document's digest (computed
 * once) as often as the time allows. */
static int cms_only(const seal_signer_opts *so, const uint8_t *pdf, size_t len, double seconds) {
    crypto_key *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *chain = NULL, *certs = NULL;
    crypto_signer *cs = NULL;
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdl = 0;
    int rc = 1;
    buf out;
    buf_init(&out, 1 << 20);
    double t0 = bench_now();
    if (crypto_key_load(&key, &cert, &chain, so->key, so->password) != CRYPTO_OK)
        goto out;
    if (!cert && (!so->cert || crypto_certs_load(&certs, so->cert) != CRYPTO_OK))
        goto out;
    if (!cert)
        cert = sk_X509_shift(certs);
    if (so->chain && !chain && crypto_certs_load(&chain, so->chain) != CRYPTO_OK)
        goto out;
    struct iovec part = {(void *)(uintptr_t)pdf, len};
    if (crypto_signer_new(&cs, key, cert, chain, NULL) != CRYPTO_OK ||
        crypto_signer_digest(md, &mdl, cs, &part, 1) != CRYPTO_OK)
        goto out;
    double t_setup = bench_now() - t0;
    long n = 0;
    double start = bench_now();
    while (bench_now() - start < seconds || n < 10) {
        buf_reset(&out);
        if (crypto_cms_sign(&out, cs, md, mdl) != CRYPTO_OK)
            goto out;
        n++;
    }
    double el = bench_now() - start;
    printf("signer set-up    %.2f ms (key, certificates)\n", t_setup * 1e3);
    printf("CMS signatures   %ld in %.2f s, %s (no PDF update)\n", n, el,
           crypto_signer_digest_name(cs));
    printf("per second       %.0f (one process, one thread)\n", n / el);
    printf("per signature    %.3f ms\n", el / n * 1e3);
    printf("CMS              %zu bytes\n", out.len);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "eseal-bench-sign: %s\n", crypto_errdetail());
    crypto_signer_free(cs);
    crypto_key_free(key);
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(certs, X509_free);
    buf_free(&out);
    return rc;
}

int main(int argc, char **argv) {
    seal_signer_opts so = {0};
    seal_sign_opts o = {0};
    const char *in = NULL, *pin_file = NULL;
    char *pin = NULL;
    double seconds = 3;
    bool cms = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            so.key = argv[++i];
        else if (!strcmp(argv[i], "--cert") && i + 1 < argc)
            so.cert = argv[++i];
        else if (!strcmp(argv[i], "--chain") && i + 1 < argc)
            so.chain = argv[++i];
        else if (!strcmp(argv[i], "--pin-file") && i + 1 < argc)
            pin_file = argv[++i];
        else if (!strcmp(argv[i], "--image") && i + 1 < argc)
            so.image = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--cms-only"))
            cms = true;
        else if (!strcmp(argv[i], "--rect") && i + 1 < argc &&
                 sscanf(argv[++i], "%lf,%lf,%lf,%lf", &o.rect_mm[0], &o.rect_mm[1], &o.rect_mm[2],
                        &o.rect_mm[3]) == 4)
            o.page = 1;
        else if (argv[i][0] != '-' && !in)
            in = argv[i];
        else {
            fprintf(stderr,
                    "usage: eseal-bench-sign IN.pdf --key KEY|URI --cert CERT [--chain PEM] "
                    "[--image PNG] [--pin-file F] [--rect X,Y,W,H] [--seconds S] [--cms-only]\n");
            return 2;
        }
    }
    if (!in || !so.key) {
        fprintf(stderr, "eseal-bench-sign: IN.pdf and --key are required\n");
        return 2;
    }
    if (so.image && !o.page) {
        o.page = 1;
        o.rect_mm[0] = 130;
        o.rect_mm[1] = 40;
        o.rect_mm[2] = o.rect_mm[3] = 42;
    }
    if (pin_file) {
        uint8_t *d;
        size_t n;
        if (file_read_all(&d, &n, pin_file, 1024) != 0) {
            fprintf(stderr, "eseal-bench-sign: cannot read %s\n", pin_file);
            return 1;
        }
        size_t k = 0;
        while (k < n && d[k] != '\n' && d[k] != '\r')
            k++;
        pin = calloc(1, k + 1);
        if (pin)
            memcpy(pin, d, k);
        free(d);
        so.password = pin;
    }
    uint8_t *pdf;
    size_t len;
    if (file_read_all(&pdf, &len, in, (size_t)1 << 30) != 0) {
        fprintf(stderr, "eseal-bench-sign: cannot read %s\n", in);
        return 1;
    }
    if (cms) {
        int rc = cms_only(&so, pdf, len, seconds);
        free(pdf);
        free(pin);
        return rc;
    }
    double t0 = bench_now();
    seal_signer *s;
    if (seal_signer_new(&s, &so) != SEAL_OK) {
        fprintf(stderr, "eseal-bench-sign: %s\n", seal_errdetail());
        return 1;
    }
    double t_setup = bench_now() - t0;
    size_t out_len = 0;
    long n = 0;
    double start = bench_now(), first = 0;
    while (bench_now() - start < seconds || n < 10) {
        uint8_t *copy = malloc(len);
        memcpy(copy, pdf, len);
        seal_result r;
        double ts = bench_now();
        if (seal_sign_memory(&r, s, copy, len, &o) != SEAL_OK) {
            fprintf(stderr, "eseal-bench-sign: %s\n", seal_errdetail());
            return 1;
        }
        if (n == 0)
            first = bench_now() - ts;
        out_len = r.out.base_len + r.out.tail.len;
        seal_result_free(&r);
        n++;
    }
    double el = bench_now() - start;
    printf("input            %s (%zu bytes)\n", in, len);
    printf("image            %s\n", so.image ? so.image : "(none, invisible signature)");
    printf("signer set-up    %.2f ms (key, certificates, image encoding)\n", t_setup * 1e3);
    printf("first signature  %.3f ms\n", first * 1e3);
    printf("signatures       %ld in %.2f s\n", n, el);
    printf("per second       %.0f (one process, one thread)\n", n / el);
    printf("per signature    %.3f ms\n", el / n * 1e3);
    printf("output           %zu bytes\n", out_len);
    printf("peak RSS         %ld KiB\n", bench_peak_rss_kb());
    seal_signer_free(s);
    free(pdf);
    free(pin);
    return 0;
}
