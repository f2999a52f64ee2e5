/* eseal sign: a PAdES baseline B-B signature appended to a PDF. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: eseal sign IN.pdf OUT.pdf --key KEY [--cert CERT] [options]\n"
            "\n"
            "Signs IN.pdf with a PAdES baseline B-B signature (ETSI.CAdES.detached) appended\n"
            "as an incremental update, and writes OUT.pdf atomically.\n"
            "\n" CLI_SIGNER_HELP
            "  --field NAME        sign into the existing empty signature field NAME; with\n"
            "                      --rect, name the new field NAME instead\n"
            "  --page N            page of a visible signature (default 1 with --rect)\n"
            "  --rect X,Y,W,H      its rectangle in millimetres from the lower-left corner of\n"
            "                      the page as the reader sees it (rotation, crop box applied);\n"
            "                      with --seal, X,Y alone: the seal's own size is used\n"
            "  --image PNG         picture for the visible signature\n"
            "  --seal SEAL         a GB/T 38540 seal (eseal seal make): carried by the signature\n"
            "                      as a signed attribute, its picture shown; the seal must list\n"
            "                      the signer's certificate and be valid now\n"
            "  --certify 1|2|3     certification signature with DocMDP permission P\n"
            "                      (1 no changes, 2 form filling and signing, 3 also annotations)\n"
            "  --reason TEXT       reason for signing\n"
            "  --location TEXT     where it was signed\n"
            "  --contact TEXT      contact information of the signer\n"
            "  --doc-pass-file F   user password of an encrypted input (first line of F)\n"
            "  --no-repair         refuse an input with a damaged cross-reference table\n"
            "                      instead of rewriting it whole before signing\n"
            "  -q, --quiet         print nothing on success\n"
            "  -h, --help          this help\n");
}

int cmd_sign(int argc, char **argv) {
    enum {
        O_FIELD = 256,
        O_PAGE,
        O_RECT,
        O_IMAGE,
        O_SEAL,
        O_CERTIFY,
        O_REASON,
        O_LOCATION,
        O_CONTACT,
        O_DOCPASS,
        O_NOREPAIR
    };
    static const struct option longopts[] = {CLI_SIGNER_OPTIONS,
                                             {"field", required_argument, NULL, O_FIELD},
                                             {"page", required_argument, NULL, O_PAGE},
                                             {"rect", required_argument, NULL, O_RECT},
                                             {"image", required_argument, NULL, O_IMAGE},
                                             {"seal", required_argument, NULL, O_SEAL},
                                             {"certify", required_argument, NULL, O_CERTIFY},
                                             {"reason", required_argument, NULL, O_REASON},
                                             {"location", required_argument, NULL, O_LOCATION},
                                             {"contact", required_argument, NULL, O_CONTACT},
                                             {"doc-pass-file", required_argument, NULL, O_DOCPASS},
                                             {"no-repair", no_argument, NULL, O_NOREPAIR},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_signer cs = {0};
    seal_sign_opts o = {0};
    const char *doc_pass_file = NULL;
    bool quiet = false, have_rect = false;
    int page = 0, rect_n = 0, c, rc = 0;
    char *doc_password = NULL;
    seal_signer *signer = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        if (cli_signer_opt(&cs, c, optarg))
            continue;
        switch (c) {
        case O_FIELD:
            o.field = optarg;
            break;
        case O_PAGE:
            if (!cli_int(&page, optarg, 1, 1000000))
                return cli_usage("sign", "--page needs a page number from 1");
            break;
        case O_RECT:
            rect_n = cli_numbers(o.rect_mm, 4, optarg);
            if (rect_n != 2 && rect_n != 4)
                return cli_usage("sign", "--rect needs X,Y,W,H in millimetres (X,Y with --seal)");
            have_rect = true;
            break;
        case O_IMAGE:
            cs.so.image = optarg;
            break;
        case O_SEAL:
            cs.so.seal = optarg;
            break;
        case O_CERTIFY:
            if (!cli_int(&o.certify, optarg, 1, 3))
                return cli_usage("sign", "--certify needs 1, 2 or 3");
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
            usage(stdout);
            return 0;
        default:
            return cli_bad_option("sign", c, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage("sign", "needs IN.pdf and OUT.pdf");
    if (!cs.so.key)
        return cli_usage("sign", "--key is required");
    if (page && !have_rect)
        return cli_usage("sign", "--page needs --rect");
    if (cs.so.seal && cs.so.image)
        return cli_usage("sign", "--image cannot go with --seal: the seal's own picture is shown");
    if (rect_n == 2 && !cs.so.seal)
        return cli_usage("sign", "--rect X,Y without a width and height needs --seal");
    if (rect_n == 2)
        o.rect_mm[2] = o.rect_mm[3] = 0; /* the seal's size */
    if (have_rect)
        o.page = page ? page : 1;
    o.existing_field = o.field && !have_rect;
    const char *in = argv[optind], *out = argv[optind + 1];
    if (doc_pass_file && !(doc_password = cli_read_secret(doc_pass_file))) {
        rc = 1;
        goto done;
    }
    o.doc_password = doc_password;
    if (!(signer = cli_signer_open(&cs))) {
        rc = 1;
        goto done;
    }
    bool repaired = false;
    if (seal_sign_file(signer, in, out, &o, &repaired) != SEAL_OK) {
        rc = cli_fail(in, seal_errdetail());
        goto done;
    }
    if (repaired)
        fprintf(stderr,
                "%s: note: %s had a damaged cross-reference table; it was rewritten "
                "whole before signing\n",
                cli_prog, in);
    if (!quiet)
        printf("signed %s -> %s (signer: %s)\n", in, out, seal_signer_name(signer));
done:
    seal_signer_free(signer);
    cli_signer_done(&cs);
    cli_free_secret(doc_password);
    return rc;
}
