/* eseal-bench-verify: documents verified per second in one process (one thread), every check
 * eseal verify makes, over the files given (read once into memory, verified round-robin), and
 * peak memory after a first pass and after all passes, to show it does not grow. Not a test:
 * run it through bench/run.
 *
 * usage: eseal-bench-verify --trust ROOT.pem [--seconds S] FILE|DIR...
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/bench.h"
#include "base/fileio.h"
#include "seal/verify.h"

typedef struct doc {
    uint8_t *data;
    size_t len;
} doc;

static doc *docs;
static size_t ndocs, capdocs;

static void add(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            add(p);
        }
        if (d)
            closedir(d);
        return;
    }
    if (ndocs == capdocs) {
        capdocs = capdocs ? 2 * capdocs : 64;
        docs = realloc(docs, capdocs * sizeof *docs);
        if (!docs)
            exit(1);
    }
    if (file_read_all(&docs[ndocs].data, &docs[ndocs].len, path, (size_t)512 << 20) == 0)
        ndocs++;
}

int main(int argc, char **argv) {
    crypto_trust *trust = NULL;
    double seconds = 5;
    if (crypto_trust_new(&trust) != CRYPTO_OK)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--trust") && i + 1 < argc) {
            if (crypto_trust_add(trust, argv[++i]) != CRYPTO_OK) {
                fprintf(stderr, "eseal-bench-verify: %s: %s\n", argv[i], crypto_errdetail());
                return 1;
            }
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (argv[i][0] != '-') {
            add(argv[i]);
        } else {
            fprintf(stderr,
                    "usage: eseal-bench-verify --trust ROOT.pem [--seconds S] FILE|DIR...\n");
            return 2;
        }
    }
    if (ndocs == 0) {
        fprintf(stderr, "eseal-bench-verify: no documents\n");
        return 2;
    }
    seal_verify_opts o = {.trust = crypto_trust_count(trust) ? trust : NULL};
    size_t passed = 0, done = 0, bytes = 0;
    long rss_first = 0;
    double t0 = bench_now(), t1 = t0;
    do {
        for (size_t i = 0; i < ndocs; i++) {
            seal_verify_report *r;
            if (seal_verify_memory(&r, docs[i].data, docs[i].len, "bench", &o) != SEAL_OK) {
                fprintf(stderr, "eseal-bench-verify: %s\n", seal_errdetail());
                return 1;
            }
            passed += seal_verify_passed(r);
            bytes += docs[i].len;
            done++;
            seal_verify_report_free(r);
        }
        if (!rss_first)
            rss_first = bench_peak_rss_kb();
        t1 = bench_now();
    } while (t1 - t0 < seconds);
    double el = t1 - t0;
    printf("documents        %zu distinct, %.0f KB on average\n", ndocs,
           (double)bytes / (double)done / 1024);
    printf("verified         %zu in %.2f s, %zu TOTAL_PASSED\n", done, el, passed);
    printf("per second       %.0f (one process, one thread)\n", (double)done / el);
    printf("per document     %.3f ms\n", el * 1000 / (double)done);
    printf("peak RSS         %ld KiB after one pass, %ld KiB after %zu passes\n", rss_first,
           bench_peak_rss_kb(), done / ndocs);
    for (size_t i = 0; i < ndocs; i++)
        free(docs[i].data);
    free(docs);
    crypto_trust_free(trust);
    return passed == done ? 0 : 1;
}
