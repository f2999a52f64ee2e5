/* eseal seal extract | draw: seal pictures. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "seal/extract.h"

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

int cmd_seal(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "usage: eseal seal extract SCAN OUT.png [--json]\n"
                                            "       eseal seal draw --name TEXT [--code TEXT] "
                                            "OUT.png\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "draw") == 0)
        return seal_draw(argc - 1, argv + 1);
    if (strcmp(argv[1], "extract") == 0)
        return seal_extract(argc - 1, argv + 1);
    fprintf(stderr, "%s seal: unknown command '%s' (see eseal seal --help)\n", cli_prog, argv[1]);
    return 2;
}
