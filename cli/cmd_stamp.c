/* eseal stamp: a licence stamped from a template and signed. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "seal/stamp.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: eseal stamp IN.pdf OUT.pdf --template T.json --set NAME=VALUE...\n"
            "                   --key KEY [--cert CERT] [options]\n"
            "\n"
            "Stamps IN.pdf as the template says (the seal, its fog on screen, a QR code for\n"
            "the verification page, a watermark) and signs it, in one incremental update.\n"
            "\n"
            "  --template FILE     stamp template (JSON; see templates/README.md)\n"
            "  --set NAME=VALUE    a value for the template's {NAME} (repeat for each)\n"
            "  --seal-image PNG    the seal picture, instead of the template's\n"
            "  --seal SEAL         a GB/T 38540 seal, instead of the one the template names:\n"
            "                      the signature carries it and its picture is stamped\n"
            "  --qr-key FILE       key that signs the QR token (default: the signing key;\n"
            "                      an EC key keeps the code small and fast)\n"
            "  --qr-pass-file F    its password\n"
            "  --font FILE         font for the watermark (default: a Debian CJK "
            "font)\n" CLI_SIGNER_HELP "  --doc-pass-file F   user password of an encrypted input\n"
            "  --no-repair         refuse an input with a damaged cross-reference table\n"
            "  -q, --quiet         print nothing on success\n"
            "  -h, --help          this help\n");
}

int cmd_stamp(int argc, char **argv) {
    enum {
        O_TEMPLATE = 256,
        O_SET,
        O_SEAL,
        O_SESFILE,
        O_QRKEY,
        O_QRPASS,
        O_FONT,
        O_DOCPASS,
        O_NOREPAIR
    };
    static const struct option longopts[] = {CLI_SIGNER_OPTIONS,
                                             {"template", required_argument, NULL, O_TEMPLATE},
                                             {"set", required_argument, NULL, O_SET},
                                             {"seal-image", required_argument, NULL, O_SEAL},
                                             {"seal", required_argument, NULL, O_SESFILE},
                                             {"qr-key", required_argument, NULL, O_QRKEY},
                                             {"qr-pass-file", required_argument, NULL, O_QRPASS},
                                             {"font", required_argument, NULL, O_FONT},
                                             {"doc-pass-file", required_argument, NULL, O_DOCPASS},
                                             {"no-repair", no_argument, NULL, O_NOREPAIR},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_signer cs = {0};
    seal_sign_opts o = {0};
    seal_stamper_opts so = {0};
    seal_values v;
    const char *tpl_path = NULL, *doc_pass_file = NULL, *qr_pass_file = NULL;
    char *doc_password = NULL, *qr_password = NULL;
    bool quiet = false;
    int c, rc = 0;
    seal_template *t = NULL;
    seal_signer *signer = NULL;
    seal_stamper *st = NULL;
    seal_values_init(&v);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        if (cli_signer_opt(&cs, c, optarg))
            continue;
        switch (c) {
        case O_TEMPLATE:
            tpl_path = optarg;
            break;
        case O_SET:
            if (seal_values_set_arg(&v, optarg) != SEAL_OK) {
                rc = cli_usage("stamp", seal_errdetail());
                goto done;
            }
            break;
        case O_SEAL:
            so.seal_picture = optarg;
            break;
        case O_SESFILE:
            cs.so.seal = optarg;
            break;
        case O_QRKEY:
            so.qr_key = optarg;
            break;
        case O_QRPASS:
            qr_pass_file = optarg;
            break;
        case O_FONT:
            so.font = optarg;
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
            goto done;
        default:
            rc = cli_bad_option("stamp", c, argv);
            goto done;
        }
    }
    if (argc - optind != 2) {
        rc = cli_usage("stamp", "needs IN.pdf and OUT.pdf");
        goto done;
    }
    if (!tpl_path || !cs.so.key) {
        rc = cli_usage("stamp", tpl_path ? "--key is required" : "--template is required");
        goto done;
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    if ((doc_pass_file && !(doc_password = cli_read_secret(doc_pass_file))) ||
        (qr_pass_file && !(qr_password = cli_read_secret(qr_pass_file)))) {
        rc = 1;
        goto done;
    }
    o.doc_password = doc_password;
    so.qr_password = qr_password;
    if (seal_template_load(&t, tpl_path) != SEAL_OK ||
        seal_template_check_values(t, &v) != SEAL_OK) {
        rc = cli_fail(NULL, seal_errdetail());
        goto done;
    }
    if (!cs.so.seal)
        cs.so.seal = t->seal_file;
    if (cs.so.seal && so.seal_picture) {
        rc = cli_usage("stamp", "--seal-image cannot go with a seal: the seal's own picture is "
                                "stamped");
        goto done;
    }
    if (!(signer = cli_signer_open(&cs))) {
        rc = 1;
        goto done;
    }
    if (seal_stamper_new(&st, t, signer, &so) != SEAL_OK) {
        rc = cli_fail(NULL, seal_errdetail());
        goto done;
    }
    char notes[512] = "";
    if (seal_stamp_file(st, &v, in, out, &o, notes, sizeof notes) != SEAL_OK) {
        rc = cli_fail(in, seal_errdetail());
        goto done;
    }
    if (notes[0])
        fprintf(stderr, "%s: note: %s: %s\n", cli_prog, in, notes);
    if (!quiet) {
        const char *id = seal_values_get(&v, "licence_id");
        printf("stamped %s -> %s (template %s%s%s)\n", in, out, t->name, id ? ", " : "",
               id ? id : "");
    }
done:
    seal_stamper_free(st);
    seal_signer_free(signer);
    seal_template_free(t);
    seal_values_free(&v);
    cli_signer_done(&cs);
    cli_free_secret(doc_password);
    cli_free_secret(qr_password);
    return rc;
}
