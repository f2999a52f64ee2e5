/* eseal timestamp: an RFC 3161 time-stamp token over a file, from a TSA over HTTP. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/fileio.h"
#include "cli/cli.h"
#include "crypto/crypto.h"

#define MAX_TOKEN (64 * 1024)

static void usage(FILE *f) {
    fprintf(f, "usage: eseal timestamp --tsa URL [--digest NAME] [--policy OID] [--timeout-ms N]\n"
               "                       FILE OUT.tst\n"
               "\n"
               "Asks the time-stamping authority at URL (RFC 3161 over http://, not https yet)\n"
               "for a token over the digest of FILE, checks it (granted, over our digest and\n"
               "nonce, signed by a TSA certificate included in it) and writes the token\n"
               "(TimeStampToken, DER) to OUT.tst. Whether the TSA is trusted is for the reader:\n"
               "  openssl ts -verify -data FILE -in OUT.tst -token_in -CAfile ROOT.pem\n"
               "\n"
               "  --tsa URL         the TSA (e.g. http://127.0.0.1:8080/tsa)\n"
               "  --digest NAME     sha256 (default), sha384 or sha512\n"
               "  --policy OID      ask for this TSA policy\n"
               "  --timeout-ms N    give up after N milliseconds (default 10000)\n");
}

/* The digest of a file of any size, read in pieces. */
static int digest_file(uint8_t *md, unsigned *md_len, const EVP_MD *type, const char *path) {
    int rc = 1;
    uint8_t chunk[65536];
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!f) {
        rc = cli_fail(path, strerror(errno));
        goto out;
    }
    if (!ctx || !EVP_DigestInit_ex(ctx, type, NULL)) {
        rc = cli_fail(path, "cannot start the digest");
        goto out;
    }
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (!EVP_DigestUpdate(ctx, chunk, n))
            break;
    if (ferror(f) || !feof(f) || !EVP_DigestFinal_ex(ctx, md, md_len)) {
        rc = cli_fail(path, "cannot read it");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    if (f)
        fclose(f);
    return rc;
}

int cmd_timestamp(int argc, char **argv) {
    enum { O_TSA = 256, O_DIGEST, O_POLICY, O_TIMEOUT };
    static const struct option longopts[] = {{"tsa", required_argument, NULL, O_TSA},
                                             {"digest", required_argument, NULL, O_DIGEST},
                                             {"policy", required_argument, NULL, O_POLICY},
                                             {"timeout-ms", required_argument, NULL, O_TIMEOUT},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *url = NULL, *digest = "sha256";
    crypto_tsa_opts opts = {0, NULL};
    int c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_TSA:
            url = optarg;
            break;
        case O_DIGEST:
            digest = optarg;
            break;
        case O_POLICY:
            opts.policy_oid = optarg;
            break;
        case O_TIMEOUT:
            if (!cli_int(&opts.timeout_ms, optarg, 1, 600000))
                return cli_usage("timestamp", "--timeout-ms needs 1 to 600000");
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return cli_bad_option("timestamp", c, argv);
        }
    }
    if (!url)
        return cli_usage("timestamp", "--tsa is required");
    if (argc - optind != 2)
        return cli_usage("timestamp", "needs FILE and OUT.tst");
    const EVP_MD *type = strcmp(digest, "sha256") == 0   ? EVP_sha256()
                         : strcmp(digest, "sha384") == 0 ? EVP_sha384()
                         : strcmp(digest, "sha512") == 0 ? EVP_sha512()
                                                         : NULL;
    if (!type)
        return cli_usage("timestamp", "--digest is sha256, sha384 or sha512");
    const char *in = argv[optind], *out = argv[optind + 1];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if ((rc = digest_file(md, &md_len, type, in)) != 0)
        return rc;
    buf tok;
    buf_init(&tok, MAX_TOKEN);
    if (crypto_tsa_request(&tok, url, type, md, md_len, &opts) != CRYPTO_OK) {
        rc = cli_fail(NULL, crypto_errdetail());
        goto out;
    }
    struct iovec part = {tok.data, tok.len};
    int e = file_write_atomic(out, &part, 1, 0644);
    if (e)
        rc = cli_fail(out, strerror(e));
out:
    buf_free(&tok);
    return rc;
}
