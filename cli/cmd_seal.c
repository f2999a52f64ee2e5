/* eseal seal extract | draw | make | show: seal pictures, and GB/T 38540 seals. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "seal/extract.h"
#include "seal/sesfile.h"

static void usage_draw(FILE *f) {
    fprintf(f, "usage: eseal seal draw --name TEXT [--code TEXT] [--size PX] [--font FILE] "
               "OUT.png\n"
               "\n"
               "Draws a round 42 mm seal: red rim, five-point star, the name along the upper\n"
               "arc and the code along the lower one, as glyph outlines of a CJK font.\n"
               "\n"
               "  --name TEXT   the enterprise or authority name (UTF-8)\n"
               "  --code TEXT   the seal's code, along the lower arc (optional)\n"
               "  --size PX     picture size in pixels (default 992: 600 dpi at 42 mm)\n"
               "  --font FILE   TrueType/OpenType font (default: a Debian CJK font)\n");
}

static int seal_draw(int argc, char **argv) {
    enum { O_NAME = 256, O_CODE, O_SIZE, O_FONT };
    static const struct option longopts[] = {
        {"name", required_argument, NULL, O_NAME}, {"code", required_argument, NULL, O_CODE},
        {"size", required_argument, NULL, O_SIZE}, {"font", required_argument, NULL, O_FONT},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *name = NULL, *code = NULL, *font = NULL;
    int size = 992, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_NAME:
            name = optarg;
            break;
        case O_CODE:
            code = optarg;
            break;
        case O_SIZE:
            if (!cli_int(&size, optarg, 64, 8000))
                return cli_usage("seal draw", "--size needs a number of pixels from 64 to 8000");
            break;
        case O_FONT:
            font = optarg;
            break;
        case 'h':
            usage_draw(stdout);
            return 0;
        default:
            return cli_bad_option("seal draw", c, argv);
        }
    }
    if (!name)
        return cli_usage("seal draw", "--name is required");
    if (argc - optind != 1)
        return cli_usage("seal draw", "needs OUT.png");
    if (seal_draw_file(argv[optind], name, code, (uint32_t)size, font) != SEAL_OK)
        return cli_fail(argv[optind], seal_errdetail());
    return 0;
}

static void usage_extract(FILE *f) {
    fprintf(f,
            "usage: eseal seal extract SCAN OUT.png [--json] [--dpi N]\n"
            "\n"
            "Finds the red seal stamped on a scanned confirmation letter (JPEG or PNG, 100-600\n"
            "dpi) and takes it out: cropped, paper made transparent, one seal red, 42 mm across\n"
            "at the scan's resolution. A scan with no seal, several seals, a seal that is not\n"
            "red or one too faint to trust is refused (exit 1) and nothing is written.\n"
            "\n"
            "  --json     print what was found: {\"seals\":[{\"cx\",\"cy\",\"diameter\",\n"
            "             \"confidence\",\"colour\"}],\"flags\":[...]} in pixels of the scan\n"
            "             (x right, y down, from the top-left corner)\n"
            "  --dpi N    the scan's resolution, when the file does not say (default: from\n"
            "             the file, else the page taken as A4)\n");
}

static int seal_extract(int argc, char **argv) {
    enum { O_JSON = 256, O_DPI };
    static const struct option longopts[] = {{"json", no_argument, NULL, O_JSON},
                                             {"dpi", required_argument, NULL, O_DPI},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool json = false;
    int dpi = 0, c, rc = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_JSON:
            json = true;
            break;
        case O_DPI:
            if (!cli_int(&dpi, optarg, 50, 2400))
                return cli_usage("seal extract", "--dpi needs a resolution from 50 to 2400");
            break;
        case 'h':
            usage_extract(stdout);
            return 0;
        default:
            return cli_bad_option("seal extract", c, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage("seal extract", "needs SCAN and OUT.png");
    seal_extract_report rep;
    seal_err err = seal_extract_file(&rep, argv[optind], argv[optind + 1], dpi);
    if (json && (err == SEAL_OK || err == SEAL_E_IMAGE)) {
        buf b;
        buf_init(&b, 1024 * 1024);
        if (seal_extract_report_json(&b, &rep) == SEAL_OK)
            printf("%.*s\n", (int)b.len, (const char *)b.data);
        buf_free(&b);
    }
    if (err != SEAL_OK)
        rc = cli_fail(argv[optind], seal_errdetail());
    seal_extract_report_free(&rep);
    return rc;
}

static void usage_make(FILE *f) {
    fprintf(f,
            "usage: eseal seal make --picture SEAL.png --name TEXT --cert SIGNER.pem...\n"
            "                       --valid-to DATE [--valid-from DATE] --maker-key KEY\n"
            "                       [--maker-cert CERT] [--maker-pass-file FILE] [--esid ID]\n"
            "                       [--vid ID] [--type organisation|personal] [--size-mm W[xH]]\n"
            "                       [--cert-digests] OUT.seal\n"
            "\n"
            "Makes a GB/T 38540-2020 electronic seal (SES_Seal, version 4, DER): the picture\n"
            "and the name bound to the certificates of those who may sign with the seal, for a\n"
            "period, under the seal maker's signature over SES_SealInfo (SM2-with-SM3 for an\n"
            "SM2 key, sha256WithRSAEncryption, or ECDSA by curve). Nothing is written at OUT\n"
            "unless the seal is whole and its signature checks.\n"
            "\n"
            "  --picture FILE       the seal's picture, PNG or JPEG; it must decode\n"
            "  --name TEXT          the seal's name (UTF-8)\n"
            "  --cert FILE          signers' certificates (PEM or DER; a file may hold several;\n"
            "                       repeat for more; 32 at most; CA certificates are refused)\n"
            "  --cert-digests       list the SM3 digests of the certificates (certListType 2)\n"
            "                       rather than the certificates themselves\n"
            "  --valid-from DATE    start of validity, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC;\n"
            "                       default: now)\n"
            "  --valid-to DATE      end of validity; a date alone means the end of that day\n"
            "  --maker-key KEY      the seal maker's key: PEM (PKCS#8, possibly encrypted),\n"
            "                       PKCS#12, or pkcs11:token=T;object=L (RFC 7512); SM2, RSA\n"
            "                       (2048 bits at least) or EC (P-256, P-384, P-521)\n"
            "  --maker-cert FILE    the maker's certificate (default: from the PKCS#12 or token)\n"
            "  --maker-pass-file F  password or PIN of the maker's key (first line of F)\n"
            "  --esid ID            the seal's identifier (printable ASCII; default: the time\n"
            "                       and 16 random hex digits)\n"
            "  --vid ID             the vendor identifier (default: eseal)\n"
            "  --type T             organisation (default) or personal\n"
            "  --size-mm W[xH]      the picture's size on paper, in mm (default 42x42)\n");
}

/* "42" or "42x30": width and height in mm. */
static bool parse_size(int *w, int *h, const char *s) {
    char a[16];
    const char *x = strchr(s, 'x');
    if (!x)
        return cli_int(w, s, 1, 1000) && cli_int(h, s, 1, 1000);
    if ((size_t)(x - s) >= sizeof a)
        return false;
    memcpy(a, s, (size_t)(x - s));
    a[x - s] = '\0';
    return cli_int(w, a, 1, 1000) && cli_int(h, x + 1, 1, 1000);
}

static int seal_make(int argc, char **argv) {
    enum {
        O_PICTURE = 256,
        O_NAME,
        O_CERT,
        O_DIGESTS,
        O_FROM,
        O_TO,
        O_KEY,
        O_MAKER_CERT,
        O_PASS,
        O_ESID,
        O_VID,
        O_TYPE,
        O_SIZE
    };
    static const struct option longopts[] = {{"picture", required_argument, NULL, O_PICTURE},
                                             {"name", required_argument, NULL, O_NAME},
                                             {"cert", required_argument, NULL, O_CERT},
                                             {"cert-digests", no_argument, NULL, O_DIGESTS},
                                             {"valid-from", required_argument, NULL, O_FROM},
                                             {"valid-to", required_argument, NULL, O_TO},
                                             {"maker-key", required_argument, NULL, O_KEY},
                                             {"maker-cert", required_argument, NULL, O_MAKER_CERT},
                                             {"maker-pass-file", required_argument, NULL, O_PASS},
                                             {"esid", required_argument, NULL, O_ESID},
                                             {"vid", required_argument, NULL, O_VID},
                                             {"type", required_argument, NULL, O_TYPE},
                                             {"size-mm", required_argument, NULL, O_SIZE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    seal_ses_make_opts o = {.type = 1};
    const char *certs[64];
    bool has_to = false;
    int c;
    optind = 1;
    opterr = 0;
    o.certs = certs;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_PICTURE:
            o.picture = optarg;
            break;
        case O_NAME:
            o.name = optarg;
            break;
        case O_CERT:
            if (o.n_certs == sizeof certs / sizeof certs[0])
                return cli_usage("seal make", "too many --cert files");
            certs[o.n_certs++] = optarg;
            break;
        case O_DIGESTS:
            o.cert_digests = true;
            break;
        case O_FROM:
            if (!cli_time(&o.valid_from, optarg))
                return cli_usage("seal make",
                                 "--valid-from needs YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
            break;
        case O_TO:
            if (!cli_time(&o.valid_to, optarg))
                return cli_usage("seal make",
                                 "--valid-to needs YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
            if (strlen(optarg) == 10) /* a date: valid through that day */
                o.valid_to += 86399;
            has_to = true;
            break;
        case O_KEY:
            o.maker_key = optarg;
            break;
        case O_MAKER_CERT:
            o.maker_cert = optarg;
            break;
        case O_PASS:
            o.maker_pass = optarg;
            break;
        case O_ESID:
            o.esid = optarg;
            break;
        case O_VID:
            o.vid = optarg;
            break;
        case O_TYPE:
            if (strcmp(optarg, "organisation") == 0 || strcmp(optarg, "organization") == 0)
                o.type = 1;
            else if (strcmp(optarg, "personal") == 0)
                o.type = 2;
            else
                return cli_usage("seal make", "--type needs organisation or personal");
            break;
        case O_SIZE:
            if (!parse_size(&o.width_mm, &o.height_mm, optarg))
                return cli_usage("seal make", "--size-mm needs W or WxH in mm, 1 to 1000");
            break;
        case 'h':
            usage_make(stdout);
            return 0;
        default:
            return cli_bad_option("seal make", c, argv);
        }
    }
    if (!o.picture)
        return cli_usage("seal make", "--picture is required");
    if (!o.name)
        return cli_usage("seal make", "--name is required");
    if (o.n_certs == 0)
        return cli_usage("seal make", "--cert is required: the signers the seal lists");
    if (!has_to)
        return cli_usage("seal make", "--valid-to is required");
    if (!o.maker_key)
        return cli_usage("seal make", "--maker-key is required");
    if (argc - optind != 1)
        return cli_usage("seal make", "needs OUT.seal");
    if (seal_ses_make_file(argv[optind], &o) != SEAL_OK)
        return cli_fail(argv[optind], seal_errdetail());
    return 0;
}

static void usage_show(FILE *f) {
    fprintf(f, "usage: eseal seal show SEAL [--json] [--picture-out FILE]\n"
               "\n"
               "Reads a GB/T 38540-2020 seal (or a GM/T 0031-2014 one) and shows what it says:\n"
               "its identifiers, type, name and dates, the signers it lists (subject, serial,\n"
               "SHA-256 fingerprint, or their digests), its picture, the seal maker and whether\n"
               "the maker's signature holds. Exit 0 when it holds, 1 when it does not (all is\n"
               "shown still) or the file is not a seal.\n"
               "\n"
               "  --json              one JSON object\n"
               "  --picture-out FILE  write the seal's picture to FILE\n");
}

static int seal_show(int argc, char **argv) {
    enum { O_JSON = 256, O_PICTURE_OUT };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, O_JSON},
        {"picture-out", required_argument, NULL, O_PICTURE_OUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bool json = false;
    const char *picture_out = NULL;
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_JSON:
            json = true;
            break;
        case O_PICTURE_OUT:
            picture_out = optarg;
            break;
        case 'h':
            usage_show(stdout);
            return 0;
        default:
            return cli_bad_option("seal show", c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage("seal show", "needs SEAL");
    buf b;
    buf_init(&b, 1024 * 1024);
    seal_ses_shown shown;
    if (seal_ses_show(&b, &shown, argv[optind], json, picture_out) != SEAL_OK) {
        rc = cli_fail(argv[optind], seal_errdetail());
    } else {
        fwrite(b.data, 1, b.len, stdout);
        if (!shown.maker_ok)
            rc = 1;
    }
    buf_free(&b);
    return rc;
}

int cmd_seal(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: eseal seal extract SCAN OUT.png [--json] [--dpi N]\n"
                "       eseal seal draw --name TEXT [--code TEXT] OUT.png\n"
                "       eseal seal make --picture SEAL.png --name TEXT --cert SIGNER.pem...\n"
                "                       --valid-to DATE --maker-key KEY [--maker-cert CERT]\n"
                "                       [options] OUT.seal\n"
                "       eseal seal show SEAL [--json] [--picture-out FILE]\n"
                "\n"
                "extract and draw make seal pictures; make and show GB/T 38540-2020 electronic\n"
                "seals (SES_Seal). eseal seal COMMAND --help tells more.\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "draw") == 0)
        return seal_draw(argc - 1, argv + 1);
    if (strcmp(argv[1], "extract") == 0)
        return seal_extract(argc - 1, argv + 1);
    if (strcmp(argv[1], "make") == 0)
        return seal_make(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return seal_show(argc - 1, argv + 1);
    fprintf(stderr, "%s seal: unknown command '%s' (see eseal seal --help)\n", cli_prog, argv[1]);
    return 2;
}
