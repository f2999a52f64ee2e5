/* The signature verifier over the CMS blobs of the shared corpus's attack files (their
 * attacks/MANIFEST.tsv says what each is): every signature is checked without trust anchors,
 * so none may pass and none may crash; the files whose CMS is the point are checked for the
 * verdict DSS and pyHanko give them: a badly encoded CMS (I09) and an unfilled /Contents (I10)
 * are format failures, a CMS without certificates (I11) has no signing certificate, an
 * unsupported algorithm (I12) is not verified, encapsulated content in a detached signature
 * (I16) is a format failure, Ed448 with SHA-512 (I17) fails the crypto constraints, changed
 * bytes (I02) a hash failure; signatures without signed attributes (V11), with a subject key
 * identifier (V12), with Ed25519 (M18) hold, and so do the time-stamps of V05 and V10.
 *
 * The signatures are found by their bytes (each /Contents hex string with the /ByteRange and
 * /SubFilter nearest to it), which is enough for these files; finding them properly is the
 * PDF library's work. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "crypto/verify.h"

#include "check.h"

#define MAX_SIGS 8
#define NEAR 4096

typedef struct sig_blob {
    uint8_t *cms;
    size_t len;
    size_t br[4];
    bool has_br;
    crypto_sig_kind kind;
} sig_blob;

static long find(const uint8_t *d, size_t from, size_t to, const char *s) {
    size_t n = strlen(s);
    for (size_t i = from; i + n <= to; i++)
        if (memcmp(d + i, s, n) == 0)
            return (long)i;
    return -1;
}

/* The occurrence of s nearest to [start, end) within NEAR bytes, or -1. */
static long nearest(const uint8_t *d, size_t n, size_t start, size_t end, const char *s) {
    size_t lo = start > NEAR ? start - NEAR : 0, hi = end + NEAR < n ? end + NEAR : n;
    long best = -1;
    size_t best_dist = SIZE_MAX;
    for (long at = find(d, lo, hi, s); at >= 0; at = find(d, (size_t)at + 1, hi, s)) {
        size_t dist = (size_t)at < start ? start - (size_t)at : (size_t)at - end;
        if (dist < best_dist) {
            best = at;
            best_dist = dist;
        }
    }
    return best;
}

static int hexval(uint8_t c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static size_t find_sigs(sig_blob *out, const uint8_t *d, size_t n) {
    size_t count = 0;
    for (long at = find(d, 0, n, "/Contents"); at >= 0 && count < MAX_SIGS;
         at = find(d, (size_t)at + 1, n, "/Contents")) {
        size_t p = (size_t)at + 9;
        while (p < n && (d[p] == ' ' || d[p] == '\n' || d[p] == '\r'))
            p++;
        if (p >= n || d[p] != '<')
            continue;
        size_t start = (size_t)at, q = p + 1, digits = 0;
        while (q < n && d[q] != '>' && (hexval(d[q]) >= 0 || d[q] <= ' '))
            digits += hexval(d[q++]) >= 0;
        if (q >= n || d[q] != '>' || digits < 200)
            continue;
        sig_blob *s = &out[count];
        memset(s, 0, sizeof *s);
        s->cms = malloc(digits / 2);
        int hi = -1;
        for (size_t i = p + 1; s->cms && i < q; i++) {
            int v = hexval(d[i]);
            if (v < 0)
                continue;
            if (hi < 0) {
                hi = v;
            } else {
                s->cms[s->len++] = (uint8_t)(hi << 4 | v);
                hi = -1;
            }
        }
        long br = nearest(d, n, start, q, "/ByteRange");
        if (br >= 0) {
            size_t i = (size_t)br + 10, k = 0;
            while (i < n && d[i] != '[')
                i++;
            for (i++; i < n && k < 4 && d[i] != ']'; i++) {
                if (d[i] < '0' || d[i] > '9')
                    continue;
                size_t v = 0;
                while (i < n && d[i] >= '0' && d[i] <= '9' && v < SIZE_MAX / 16)
                    v = v * 10 + (size_t)(d[i++] - '0');
                s->br[k++] = v;
            }
            s->has_br = k == 4;
        }
        long sf = nearest(d, n, start, q, "/SubFilter");
        s->kind = CRYPTO_SIG_PKCS7;
        if (sf >= 0 && find(d, (size_t)sf, (size_t)sf + 40 < n ? (size_t)sf + 40 : n,
                            "ETSI.CAdES.detached") >= 0)
            s->kind = CRYPTO_SIG_CADES;
        else if (sf >= 0 &&
                 find(d, (size_t)sf, (size_t)sf + 40 < n ? (size_t)sf + 40 : n, "RFC3161") >= 0)
            s->kind = CRYPTO_SIG_DOC_TIMESTAMP;
        count++;
        at = (long)q;
    }
    return count;
}

/* Verifies one signature over its byte ranges (clipped to the file), without anchors. */
static crypto_verify_result *verify(const sig_blob *s, const uint8_t *d, size_t n) {
    struct iovec parts[2];
    int np = 0;
    for (int k = 0; s->has_br && k < 2; k++) {
        size_t off = s->br[2 * k], len = s->br[2 * k + 1];
        if (off > n)
            continue;
        parts[np].iov_base = (void *)(uintptr_t)(d + off);
        parts[np++].iov_len = len < n - off ? len : n - off;
    }
    crypto_verify_result *r = NULL;
    crypto_verify_opts o = {0};
    CHECK_INT(crypto_verify_signature(&r, s->cms, s->len, s->kind, parts, np, &o), CRYPTO_OK);
    return r;
}

typedef struct expect {
    const char *file; /* prefix */
    int sig;          /* 1-based, in file order */
    crypto_indication ind;
    crypto_subind sub;
    bool integrity;
    const char *in_cause;
} expect;

static const expect EXPECTED[] = {
    {"I02", 1, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_HASH_FAILURE, false, NULL},
    {"I09", 1, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE, false, NULL},
    {"I10", 1, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE, false, NULL},
    {"I11", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_SIGNING_CERTIFICATE_FOUND, false, NULL},
    {"I12", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, false, "supported"},
    {"I16", 1, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE, false, "encapsulated"},
    {"I17", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, true, "Ed448"},
    {"M18", 2, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V01", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V05", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V05", 2, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V10", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V10", 2, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V11", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
    {"V12", 1, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND, true, NULL},
};

static void check_expected(const char *name, int sig, const crypto_verify_result *r, int *seen) {
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        const expect *e = &EXPECTED[i];
        if (strncmp(name, e->file, 3) != 0 || e->sig != sig)
            continue;
        seen[i]++;
        if (r->indication != e->ind || r->sub != e->sub || r->integrity != e->integrity)
            fprintf(stderr, "%s #%d: %s/%s integrity %d: %s\n", name, sig,
                    crypto_indication_name(r->indication), crypto_subind_name(r->sub), r->integrity,
                    r->cause ? r->cause : "");
        CHECK_INT(r->indication, e->ind);
        CHECK_INT(r->sub, e->sub);
        CHECK_INT(r->integrity, e->integrity);
        CHECK(!e->in_cause || (r->cause && strstr(r->cause, e->in_cause)));
        /* the time-stamps of the time-stamped ones hold as mathematics */
        if (!strncmp(name, "V05", 3) || !strncmp(name, "V10", 3)) {
            CHECK(r->n_timestamps >= 1);
            for (size_t k = 0; k < r->n_timestamps; k++)
                CHECK(r->timestamps[k].integrity && r->timestamps[k].gen_time > 1000000000);
        }
        if (!strncmp(name, "M18", 3))
            CHECK_STR(r->algorithm, "Ed25519");
    }
}

int main(void) {
    const char *corpus = getenv("ESEAL_CORPUS");
    char dir[2048], path[4096];
    snprintf(dir, sizeof dir, "%s/attacks", corpus && *corpus ? corpus : "/work/shared/corpus");
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "test_crypto_verify_corpus: no corpus at %s (set ESEAL_CORPUS)\n", dir);
        return 1;
    }
    int seen[sizeof EXPECTED / sizeof EXPECTED[0]] = {0};
    size_t files = 0, sigs = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".pdf") != 0)
            continue;
        uint8_t *pdf = NULL;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CHECK_INT(file_read_all(&pdf, &n, path, 64 * 1024 * 1024), 0);
        sig_blob found[MAX_SIGS];
        size_t k = pdf ? find_sigs(found, pdf, n) : 0;
        files++;
        for (size_t i = 0; i < k; i++) {
            crypto_verify_result *r = verify(&found[i], pdf, n);
            sigs++;
            if (r) {
                /* no trust anchors: nothing passes */
                CHECK(r->indication != CRYPTO_TOTAL_PASSED);
                CHECK(r->cause != NULL);
                check_expected(e->d_name, (int)i + 1, r, seen);
            }
            crypto_verify_result_free(r);
            free(found[i].cms);
        }
        free(pdf);
    }
    closedir(d);
    printf("test_crypto_verify_corpus: %zu signatures in %zu files\n", sigs, files);
    CHECK(files >= 40);
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        if (seen[i] != 1)
            fprintf(stderr, "%s #%d: seen %d times\n", EXPECTED[i].file, EXPECTED[i].sig, seen[i]);
        CHECK_INT(seen[i], 1);
    }
    return check_report("test_crypto_verify_corpus");
}
