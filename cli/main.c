/* eseal: the command line. Exit status: 0 success, 1 the operation was refused or failed,
 * 2 usage errors. One line on stderr names the cause of any failure, and a failed run leaves no
 * output file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *cli_prog = "eseal";

static void usage(FILE *f) {
    fprintf(f, "usage: eseal COMMAND [OPTIONS]\n"
               "\n"
               "commands:\n"
               "  sign           sign a PDF (PAdES baseline B-B) as an incremental update\n"
               "  stamp          stamp a licence from a template (seal, fog, QR code,\n"
               "                 watermark) and sign it, in one incremental update\n"
               "  seal extract   find the red seal on a scanned letter and take it out\n"
               "  seal draw      draw a round seal picture\n"
               "  verify         check the signatures of PDFs: integrity, trust, and what\n"
               "                 changed after signing\n"
               "  timestamp      get an RFC 3161 time-stamp token over a file from a TSA\n"
               "  ca             the deployment's CA: init, import, issue, reissue, revoke,\n"
               "                 list, status, crl\n"
               "  key            keys in PKCS#11 tokens: generate, list, PINs, requests\n"
               "\n"
               "  eseal --version    print the version\n"
               "  eseal COMMAND --help\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("eseal %s\n", ESEAL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "sign") == 0)
        return cmd_sign(argc - 1, argv + 1);
    if (strcmp(cmd, "stamp") == 0)
        return cmd_stamp(argc - 1, argv + 1);
    if (strcmp(cmd, "seal") == 0)
        return cmd_seal(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "timestamp") == 0)
        return cmd_timestamp(argc - 1, argv + 1);
    if (strcmp(cmd, "ca") == 0)
        return cmd_ca(argc - 1, argv + 1);
    if (strcmp(cmd, "key") == 0)
        return cmd_key(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (see eseal --help)\n", cli_prog, cmd);
    return 2;
}
