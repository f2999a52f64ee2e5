/* eseal-bench-sign: signatures per second in one process, the cost of each set-up step, and
 * peak memory. Not a test: run it through bench/run, which records the machine and command.
 *
 * usage: eseal-bench-sign IN.pdf --key KEY|URI --cert CERT [--chain PEM] [--image PNG]
 *                         [--pin-file F] [--seconds S] [--rect X,Y,W,H]
 * A pkcs11: URI as the key signs in the token (the certificate may then come from the token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench.h"
#include "base/fileio.h"
#include "seal/seal.h"

int main(int argc, char **argv) {
    seal_signer_opts so = {0};
    seal_sign_opts o = {0};
    const char *in = NULL, *pin_file = NULL;
    char *pin = NULL;
    double seconds = 3;
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
        else if (!strcmp(argv[i], "--rect") && i + 1 < argc &&
                 sscanf(argv[++i], "%lf,%lf,%lf,%lf", &o.rect_mm[0], &o.rect_mm[1], &o.rect_mm[2],
                        &o.rect_mm[3]) == 4)
            o.page = 1;
        else if (argv[i][0] != '-' && !in)
            in = argv[i];
        else {
            fprintf(stderr,
                    "usage: eseal-bench-sign IN.pdf --key KEY|URI --cert CERT [--chain PEM] "
                    "[--image PNG] [--pin-file F] [--rect X,Y,W,H] [--seconds S]\n");
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
