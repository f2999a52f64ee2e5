/* eseal-bench-stamp: licences stamped and signed per second in one process (every layer of the
 * template, in memory, no file I/O), the set-up cost, and peak memory. Run through bench/run.
 *
 * usage: eseal-bench-stamp IN.pdf --template T.json --seal-image PNG --key KEY --cert CERT
 *                          [--qr-key KEY] [--seconds S] [--set NAME=VALUE...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench.h"
#include "base/fileio.h"
#include "seal/stamp.h"

int main(int argc, char **argv) {
    seal_signer_opts so = {0};
    seal_stamper_opts sto = {0};
    seal_values v;
    const char *in = NULL, *tpl = NULL;
    double seconds = 3;
    seal_values_init(&v);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            so.key = argv[++i];
        else if (!strcmp(argv[i], "--cert") && i + 1 < argc)
            so.cert = argv[++i];
        else if (!strcmp(argv[i], "--template") && i + 1 < argc)
            tpl = argv[++i];
        else if (!strcmp(argv[i], "--seal-image") && i + 1 < argc)
            sto.seal_picture = argv[++i];
        else if (!strcmp(argv[i], "--qr-key") && i + 1 < argc)
            sto.qr_key = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--set") && i + 1 < argc)
            seal_values_set_arg(&v, argv[++i]);
        else if (argv[i][0] != '-' && !in)
            in = argv[i];
        else {
            fprintf(stderr, "usage: eseal-bench-stamp IN.pdf --template T --seal-image PNG --key K "
                            "--cert C [--qr-key K] [--seconds S] [--set N=V...]\n");
            return 2;
        }
    }
    uint8_t *pdf;
    size_t len;
    seal_template *t;
    seal_signer *s;
    seal_stamper *st;
    if (!in || !tpl || file_read_all(&pdf, &len, in, (size_t)1 << 30) != 0) {
        fprintf(stderr, "eseal-bench-stamp: IN.pdf and --template needed\n");
        return 2;
    }
    double t0 = bench_now();
    if (seal_template_load(&t, tpl) != SEAL_OK || seal_template_check_values(t, &v) != SEAL_OK ||
        seal_signer_new(&s, &so) != SEAL_OK || seal_stamper_new(&st, t, s, &sto) != SEAL_OK) {
        fprintf(stderr, "eseal-bench-stamp: %s\n", seal_errdetail());
        return 1;
    }
    double setup = bench_now() - t0;
    long n = 0;
    size_t out_len = 0;
    seal_sign_opts o = {0};
    double start = bench_now();
    while (bench_now() - start < seconds || n < 10) {
        uint8_t *copy = malloc(len);
        memcpy(copy, pdf, len);
        seal_result r;
        if (seal_stamp_memory(&r, st, &v, copy, len, &o) != SEAL_OK) {
            fprintf(stderr, "eseal-bench-stamp: %s\n", seal_errdetail());
            return 1;
        }
        out_len = r.out.base_len + r.out.tail.len;
        seal_result_free(&r);
        n++;
    }
    double el = bench_now() - start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("set-up           %.1f ms (template, key, seal picture and fog, font)\n", setup * 1e3);
    printf("stamped          %ld in %.2f s\n", n, el);
    printf("per second       %.0f (one process, one thread)\n", n / el);
    printf("per licence      %.3f ms\n", el / n * 1e3);
    printf("output           %zu bytes\n", out_len);
    printf("peak RSS         %ld KiB\n", ru.ru_maxrss);
    seal_stamper_free(st);
    seal_signer_free(s);
    seal_template_free(t);
    seal_values_free(&v);
    free(pdf);
    return 0;
}
