/* eseal: the command line. `eseal sign` seals a PDF; later issues add stamp, verify, seal, ca.
 * Exit status: 0 success, 1 the operation was refused or failed, 2 usage errors. One line on
 * stderr names the cause of any failure, and a failed run leaves no output file. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "seal/seal.h"

static const char *prog = "eseal";

static void usage_main(FILE *f) {
    fprintf(f, "usage: eseal COMMAND [OPTIONS]\n"
               "\n"
               "commands:\n"
               "  sign      sign a PDF (PAdES baseline B-B) as an incremental update\n"
               "\n"
               "  eseal --version    print the version\n"
               "  eseal COMMAND --help\n");
}

static void usage_sign(FILE *f) {
    fprintf(f,
            "usage: eseal sign IN.pdf OUT.pdf --key KEY [--cert CERT] [options]\n"
            "\n"
            "Signs IN.pdf with a PAdES baseline B-B signature (ETSI.CAdES.detached) appended\n"
            "as an incremental update, and writes OUT.pdf atomically.\n"
            "\n"
            "  --key FILE          private key: PEM (PKCS#8, possibly encrypted) or PKCS#12\n"
            "  --cert FILE         signer certificate (PEM/DER); may be omitted with PKCS#12\n"
            "  --chain FILE        intermediate certificates to embed (PEM)\n"
            "  --pass-file FILE    password of the key (first line of FILE)\n"
            "  --field NAME        sign into the existing empty signature field NAME; with\n"
            "                      --rect, name the new field NAME instead\n"
            "  --page N            page of a visible signature (default 1 with --rect)\n"
            "  --rect X,Y,W,H      its rectangle in millimetres from the lower-left corner of\n"
            "                      the page as the reader sees it (rotation, crop box applied)\n"
            "  --image PNG         picture for the visible signature (a seal, say)\n"
            "  --certify 1|2|3     certification signature with DocMDP permission P\n"
            "                      (1 no changes, 2 form filling and signing, 3 also annotations)\n"
            "  --reason TEXT       reason for signing\n"
            "  --location TEXT     where it was signed\n"
            "  --contact TEXT      contact information of the signer\n"
            "  --digest NAME       sha256, sha384 or sha512 (default by key)\n"
            "  --pss               RSA-PSS instead of PKCS#1 v1.5 for RSA keys\n"
            "  --doc-pass-file F   user password of an encrypted input (first line of F)\n"
            "  --no-repair         refuse an input with a damaged cross-reference table\n"
            "                      instead of rewriting it whole before signing\n"
            "  -q, --quiet         print nothing on success\n"
            "  -h, --help          this help\n");
}

static int parse_int(int *out, const char *s, int lo, int hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_rect(double r[4], const char *s) {
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        r[i] = strtod(p, &end);
        if (errno || end == p || !isfinite(r[i]))
            return -1;
        if (i < 3 && *end != ',')
            return -1;
        p = end + (i < 3);
        if (i == 3 && *end)
            return -1;
    }
    return 0;
}

static int fail(const char *what, const char *msg) {
    if (what)
        fprintf(stderr, "%s: %s: %s\n", prog, what, msg);
    else
        fprintf(stderr, "%s: %s\n", prog, msg);
    return 1;
}

static int usage_error(const char *msg) {
    fprintf(stderr, "%s sign: %s (see eseal sign --help)\n", prog, msg);
    return 2;
}

static int cmd_sign(int argc, char **argv) {
    enum {
        O_KEY = 256,
        O_CERT,
        O_CHAIN,
        O_PASS,
        O_FIELD,
        O_PAGE,
        O_RECT,
        O_IMAGE,
        O_CERTIFY,
        O_REASON,
        O_LOCATION,
        O_CONTACT,
        O_DIGEST,
        O_PSS,
        O_DOCPASS,
        O_NOREPAIR
    };
    static const struct option longopts[] = {{"key", required_argument, NULL, O_KEY},
                                             {"cert", required_argument, NULL, O_CERT},
                                             {"chain", required_argument, NULL, O_CHAIN},
                                             {"pass-file", required_argument, NULL, O_PASS},
                                             {"field", required_argument, NULL, O_FIELD},
                                             {"page", required_argument, NULL, O_PAGE},
                                             {"rect", required_argument, NULL, O_RECT},
                                             {"image", required_argument, NULL, O_IMAGE},
                                             {"certify", required_argument, NULL, O_CERTIFY},
                                             {"reason", required_argument, NULL, O_REASON},
                                             {"location", required_argument, NULL, O_LOCATION},
                                             {"contact", required_argument, NULL, O_CONTACT},
                                             {"digest", required_argument, NULL, O_DIGEST},
                                             {"pss", no_argument, NULL, O_PSS},
                                             {"doc-pass-file", required_argument, NULL, O_DOCPASS},
                                             {"no-repair", no_argument, NULL, O_NOREPAIR},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    seal_signer_opts so = {0};
    seal_sign_opts o = {0};
    const char *pass_file = NULL, *doc_pass_file = NULL;
    bool quiet = false, have_rect = false;
    int page = 0, c, rc = 0;
    char *password = NULL, *doc_password = NULL;
    seal_signer *signer = NULL;
    optind = 1;
    opterr = 0; /* our own one-line messages */
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (c) {
        case O_KEY:
            so.key = optarg;
            break;
        case O_CERT:
            so.cert = optarg;
            break;
        case O_CHAIN:
            so.chain = optarg;
            break;
        case O_PASS:
            pass_file = optarg;
            break;
        case O_FIELD:
            o.field = optarg;
            break;
        case O_PAGE:
            if (parse_int(&page, optarg, 1, 1000000) != 0)
                return usage_error("--page needs a page number from 1");
            break;
        case O_RECT:
            if (parse_rect(o.rect_mm, optarg) != 0)
                return usage_error("--rect needs X,Y,W,H in millimetres");
            have_rect = true;
            break;
        case O_IMAGE:
            so.image = optarg;
            break;
        case O_CERTIFY:
            if (parse_int(&o.certify, optarg, 1, 3) != 0)
                return usage_error("--certify needs 1, 2 or 3");
            break;
        case O_REASON:
            o.reason = optarg;
            break;
        case O_LOCATION:
            o.location = optarg;
            break;
        case O_CONTACT:
            o.contact = optarg;
            break;
        case O_DIGEST:
            so.digest = optarg;
            break;
        case O_PSS:
            so.pss = true;
            break;
        case O_DOCPASS:
            doc_pass_file = optarg;
            break;
        case O_NOREPAIR:
            o.no_repair = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage_sign(stdout);
            return 0;
        case ':': {
            char msg[128];
            snprintf(msg, sizeof msg, "option '%s' needs a value", argv[optind - 1]);
            return usage_error(msg);
        }
        default: {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown option '%s'", argv[optind - 1]);
            return usage_error(msg);
        }
        }
    }
    if (argc - optind != 2)
        return usage_error("needs IN.pdf and OUT.pdf");
    if (!so.key)
        return usage_error("--key is required");
    if (page && !have_rect)
        return usage_error("--page needs --rect");
    if (have_rect)
        o.page = page ? page : 1;
    o.existing_field = o.field && !have_rect;
    const char *in = argv[optind], *out = argv[optind + 1];
    crypto_err ce;
    if (pass_file && (ce = crypto_read_password(&password, pass_file)) != CRYPTO_OK) {
        rc = fail(pass_file, crypto_errdetail());
        goto done;
    }
    if (doc_pass_file && (ce = crypto_read_password(&doc_password, doc_pass_file)) != CRYPTO_OK) {
        rc = fail(doc_pass_file, crypto_errdetail());
        goto done;
    }
    so.password = password;
    o.doc_password = doc_password;
    seal_err se = seal_signer_new(&signer, &so);
    if (se != SEAL_OK) {
        rc = fail(NULL, seal_errdetail());
        goto done;
    }
    bool repaired = false;
    se = seal_sign_file(signer, in, out, &o, &repaired);
    if (se != SEAL_OK) {
        rc = fail(in, seal_errdetail());
        goto done;
    }
    if (repaired)
        fprintf(stderr,
                "%s: note: %s had a damaged cross-reference table; it was rewritten "
                "whole before signing\n",
                prog, in);
    if (!quiet)
        printf("signed %s -> %s (signer: %s)\n", in, out, seal_signer_name(signer));
done:
    seal_signer_free(signer);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    if (doc_password) {
        memset(doc_password, 0, strlen(doc_password));
        free(doc_password);
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("eseal %s\n", ESEAL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(cmd, "sign") == 0)
        return cmd_sign(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (see eseal --help)\n", prog, cmd);
    return 2;
}
