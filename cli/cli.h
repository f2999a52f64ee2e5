/* What the command-line programs (eseal, autoseal) share: one-line errors, number and
 * rectangle parsing, and the signer options. Exit status: 0 success, 1 refused or failed,
 * 2 usage errors. */
#ifndef ESEAL_CLI_CLI_H
#define ESEAL_CLI_CLI_H

#include <stdbool.h>
#include <time.h>

#include "seal/seal.h"

extern const char *cli_prog;

/* "prog: what: msg" (what may be NULL) on stderr; returns 1. */
int cli_fail(const char *what, const char *msg);
/* "prog cmd: msg (see prog cmd --help)" on stderr; returns 2. */
int cli_usage(const char *cmd, const char *msg);
/* The message for a getopt failure at argv[optind - 1] (c is ':' or '?'); returns 2. */
int cli_bad_option(const char *cmd, int c, char **argv);
bool cli_int(int *out, const char *s, int lo, int hi);
bool cli_rect(double r[4], const char *s);
/* Up to max comma-separated finite numbers into r; their count, 0 when s is anything else. */
int cli_numbers(double *r, int max, const char *s);
/* A UTC time "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (years 1970-9999). */
bool cli_time(time_t *out, const char *s);
/* The first line of a password file (caller frees with cli_free_secret); NULL after printing
 * the error. */
char *cli_read_secret(const char *path);
void cli_free_secret(char *s);

/* The signer options of sign, stamp and batch: --key --cert --chain --pass-file (--pin-file, the
 * same for a token key) --digest --pss --level --tsa --net-timeout */
enum {
    CLI_O_KEY = 1000,
    CLI_O_CERT,
    CLI_O_CHAIN,
    CLI_O_PASS,
    CLI_O_DIGEST,
    CLI_O_PSS,
    CLI_O_LEVEL,
    CLI_O_TSA,
    CLI_O_TIMEOUT
};
#define CLI_SIGNER_OPTIONS                                                                         \
    {"key", required_argument, NULL, CLI_O_KEY}, {"cert", required_argument, NULL, CLI_O_CERT},    \
        {"chain", required_argument, NULL, CLI_O_CHAIN},                                           \
        {"pass-file", required_argument, NULL, CLI_O_PASS},                                        \
        {"pin-file", required_argument, NULL, CLI_O_PASS},                                         \
        {"digest", required_argument, NULL, CLI_O_DIGEST}, {"pss", no_argument, NULL, CLI_O_PSS},  \
        {"level", required_argument, NULL, CLI_O_LEVEL},                                           \
        {"tsa", required_argument, NULL, CLI_O_TSA}, {                                             \
        "net-timeout", required_argument, NULL, CLI_O_TIMEOUT                                      \
    }
#define CLI_SIGNER_HELP                                                                            \
    "  --key FILE|URI      private key: PEM (PKCS#8, possibly encrypted) or PKCS#12, or a\n"       \
    "                      key in a PKCS#11 token: pkcs11:token=T;object=L (RFC 7512)\n"           \
    "  --cert FILE         signer certificate (PEM/DER); may be omitted with PKCS#12 or\n"         \
    "                      when the token holds the key's certificate\n"                           \
    "  --chain FILE        intermediate certificates to embed (PEM)\n"                             \
    "  --pass-file FILE    password of the key (first line of FILE)\n"                             \
    "  --pin-file FILE     PIN of a token key (first line of FILE)\n"                              \
    "  --digest NAME       sha256, sha384 or sha512 (default by key); sm3 for SM2 keys,\n"         \
    "                      which sign SM2-with-SM3 only\n"                                         \
    "  --pss               RSA-PSS instead of PKCS#1 v1.5 for RSA keys\n"                          \
    "  --level L           PAdES level: B-B (default), B-T (signature time-stamp), B-LT\n"         \
    "                      (and validation data in /DSS), B-LTA (and a document time-stamp)\n"     \
    "  --tsa URL           RFC 3161 time-stamping authority (http); implies B-T at least\n"        \
    "  --net-timeout S     seconds allowed for each TSA, OCSP or CRL request (default 10)\n"

typedef struct cli_signer {
    seal_signer_opts so;
    bool level_given;
    const char *pass_file;
    char *password;
} cli_signer;

/* Takes option c if it is a signer option. */
bool cli_signer_opt(cli_signer *cs, int c, const char *arg);
/* The signer, or NULL after printing why. */
seal_signer *cli_signer_open(cli_signer *cs);
void cli_signer_done(cli_signer *cs);

/* Seconds on the monotonic clock. */
double cli_now(void);
/* The progress bar of batches, redrawn in place on stderr:
 * "[#####     ] done/total  rate/s  N what  ETA m:ss", a newline after the last one. */
void cli_progress(size_t done, size_t total, size_t bad, const char *what, double start, bool last);
/* Clears the bar's line before other output. */
void cli_progress_clear(void);

int cmd_sign(int argc, char **argv);
int cmd_stamp(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_timestamp(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_key(int argc, char **argv);

#endif
