/* eseal seal extract | draw: seal pictures. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

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

int cmd_seal(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "usage: eseal seal extract SCAN OUT.png [--json]\n"
                                            "       eseal seal draw --name TEXT [--code TEXT] "
                                            "OUT.png\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "draw") == 0)
        return seal_draw(argc - 1, argv + 1);
    fprintf(stderr, "%s seal: unknown command '%s' (see eseal seal --help)\n", cli_prog, argv[1]);
    return 2;
}
