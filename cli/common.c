#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

int cli_fail(const char *what, const char *msg) {
    if (what)
        fprintf(stderr, "%s: %s: %s\n", cli_prog, what, msg);
    else
        fprintf(stderr, "%s: %s\n", cli_prog, msg);
    return 1;
}

int cli_usage(const char *cmd, const char *msg) {
    fprintf(stderr, "%s %s: %s (see %s %s --help)\n", cli_prog, cmd, msg, cli_prog, cmd);
    return 2;
}

int cli_bad_option(const char *cmd, int c, char **argv) {
    extern int optind;
    char msg[160];
    snprintf(msg, sizeof msg, c == ':' ? "option '%s' needs a value" : "unknown option '%s'",
             argv[optind - 1]);
    return cli_usage(cmd, msg);
}

bool cli_int(int *out, const char *s, int lo, int hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cli_numbers(double *r, int max, const char *s) {
    const char *p = s;
    for (int i = 0; i < max; i++) {
        char *end;
        errno = 0;
        r[i] = strtod(p, &end);
        if (errno || end == p || !isfinite(r[i]))
            return 0;
        if (!*end)
            return i + 1;
        if (*end != ',')
            return 0;
        p = end + 1;
    }
    return 0;
}

bool cli_rect(double r[4], const char *s) {
    return cli_numbers(r, 4, s) == 4;
}

char *cli_read_secret(const char *path) {
    char *s = NULL;
    if (crypto_read_password(&s, path) != CRYPTO_OK) {
        cli_fail(path, crypto_errdetail());
        return NULL;
    }
    return s;
}

void cli_free_secret(char *s) {
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

bool cli_time(time_t *out, const char *s) {
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    size_t len = strlen(s);
    bool ok =
        (len == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) ||
        (len == 20 && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) == 6 &&
         n == 20);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = ok && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    if (!ok || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || se > 59 || h < 0 || mi < 0 ||
        se < 0)
        return false;
    /* days from 1970-01-01 to the date (proleptic Gregorian) */
    int yy = mo <= 2 ? y - 1 : y;
    long era = yy / 400, yoe = yy - era * 400;
    long doy = (153L * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    *out = (time_t)days * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

bool cli_signer_opt(cli_signer *cs, int c, const char *arg) {
    switch (c) {
    case CLI_O_KEY:
        cs->so.key = arg;
        return true;
    case CLI_O_CERT:
        cs->so.cert = arg;
        return true;
    case CLI_O_CHAIN:
        cs->so.chain = arg;
        return true;
    case CLI_O_PASS:
        cs->pass_file = arg;
        return true;
    case CLI_O_DIGEST:
        cs->so.digest = arg;
        return true;
    case CLI_O_PSS:
        cs->so.pss = true;
        return true;
    case CLI_O_LEVEL:
        if (!seal_level_parse(&cs->so.level, arg))
            exit(cli_usage("sign", "--level needs B-B, B-T, B-LT or B-LTA"));
        cs->level_given = true;
        return true;
    case CLI_O_TSA:
        cs->so.tsa_url = arg;
        if (!cs->level_given)
            cs->so.level = SEAL_LEVEL_B_T;
        return true;
    case CLI_O_TIMEOUT: {
        int sec;
        if (!cli_int(&sec, arg, 1, 600))
            exit(cli_usage("sign", "--net-timeout needs seconds from 1 to 600"));
        cs->so.tsa_timeout_ms = sec * 1000;
        return true;
    }
    default:
        return false;
    }
}

seal_signer *cli_signer_open(cli_signer *cs) {
    seal_signer *s = NULL;
    if (cs->pass_file && !(cs->password = cli_read_secret(cs->pass_file)))
        return NULL;
    cs->so.password = cs->password;
    if (seal_signer_new(&s, &cs->so) != SEAL_OK) {
        cli_fail(NULL, seal_errdetail());
        return NULL;
    }
    return s;
}

void cli_signer_done(cli_signer *cs) {
    cli_free_secret(cs->password);
    cs->password = NULL;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress(size_t done, size_t total, size_t bad, const char *what, double start,
                  bool last) {
    double el = cli_now() - start, rate = el > 0 ? (double)done / el : 0;
    int width = 30, fill = total ? (int)((double)done / (double)total * width) : width;
    double eta = rate > 0 && total > done ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.0f/s  %zu %s  ETA %d:%02d ", fill,
            "##############################", width - fill, "", done, total, rate, bad, what,
            (int)eta / 60, (int)eta % 60);
    if (last)
        fputc('\n', stderr);
}

void cli_progress_clear(void) {
    fprintf(stderr, "\r%*s\r", 100, "");
}
