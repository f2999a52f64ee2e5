/* eseal ca: the deployment's certification authority (pki/ca.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fileio.h"
#include "base/json.h"
#include "cli/cli.h"
#include "crypto/ca.h"
#include "pki/ca.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: eseal ca COMMAND --ca DIR [options]\n"
        "\n"
        "The deployment's certification authority: a root and an issuing CA of its own (or an\n"
        "external CA's imported), its certificates in a store (DIR/ca.db), CRLs and the status\n"
        "the OCSP responder (ocspd) answers with. Issued certificates name the CRL at\n"
        "BASE_URL/crl/issuing.crl and the OCSP responder at BASE_URL/ocsp.\n"
        "\n"
        "commands:\n"
        "  init     --base-url URL --pass-file F [--key-type ec384|ec|rsa|rsa2048|sm2]\n"
        "           [--root-subject DN] [--issuing-subject DN]\n"
        "           make a root and an issuing CA; keys encrypted with the password in F\n"
        "           (sm2: SM2 keys, signing SM2-with-SM3 with the ID 1234567812345678)\n"
        "  import   --base-url URL --cert CA.pem --key CA.key [--pass-file F] --chain CHAIN.pem\n"
        "           take an external issuing CA (CHAIN: the certificates above it, to the root)\n"
        "  issue    (--csr REQ | --pubkey PUB --subject DN | --genkey KEY --subject DN\n"
        "           --key-pass-file F [--key-type ec|ec384|rsa|rsa2048|sm2])\n"
        "           [--profile enterprise|tsa|ocsp]\n"
        "           [--days N] --out CERT.pem\n"
        "           a certificate (3 years unless --days; ocsp responders 30 days)\n"
        "  reissue  SERIAL (--csr REQ | --pubkey PUB | --genkey KEY ...) --out CERT.pem\n"
        "           a new certificate with the same subject for a new key; once it is issued\n"
        "           the old one is revoked as superseded\n"
        "  revoke   SERIAL --reason REASON [--pass-file F]   and sign the CRL again\n"
        "           keyCompromise, cACompromise, affiliationChanged, superseded,\n"
        "           cessationOfOperation, certificateHold, privilegeWithdrawn, unspecified\n"
        "  list     [--expiring DAYS] [--json]   every certificate, or the good ones whose\n"
        "           validity ends within DAYS days\n"
        "  status   (SERIAL | --cert CERT.pem) [--json]\n"
        "  crl      [--days N] [--out FILE]   sign a CRL (default DIR/crl/issuing.crl, DER;\n"
        "           next update 7 days later unless --days)\n"
        "\n"
        "  --ca DIR          the CA directory (all commands)\n"
        "  --pass-file F     password of the CA's key (default: key_pass_file of DIR/ca.conf)\n"
        "  DN                \"/C=CN/O=Example Ltd/CN=Example\" or \"C=CN, O=Example, "
        "CN=Example\"\n");
}

enum {
    O_CA = 256,
    O_BASE,
    O_PASS,
    O_KEYTYPE,
    O_ROOTSUBJ,
    O_ISSSUBJ,
    O_CERT,
    O_KEY,
    O_CHAIN,
    O_CSR,
    O_PUBKEY,
    O_GENKEY,
    O_KEYPASS,
    O_SUBJECT,
    O_PROFILE,
    O_DAYS,
    O_OUT,
    O_REASON,
    O_EXPIRING,
    O_JSON
};

typedef struct args {
    const char *ca, *base, *pass, *key_type, *root_subj, *iss_subj, *cert, *key, *chain, *csr;
    const char *pubkey, *genkey, *key_pass, *subject, *profile, *out, *reason;
    int days, expiring;
    bool json;
    const char *pos; /* the one positional argument (SERIAL) */
} args;

/* Which options each command takes. */
static const struct {
    const char *cmd;
    const char *opts;
    bool positional;
} commands[] = {
    {"init", " ca base-url pass-file key-type root-subject issuing-subject ", false},
    {"import", " ca base-url pass-file cert key chain ", false},
    {"issue", " ca pass-file csr pubkey genkey key-pass-file key-type subject profile days out ",
     false},
    {"reissue", " ca pass-file csr pubkey genkey key-pass-file key-type profile days out ", true},
    {"revoke", " ca pass-file reason ", true},
    {"list", " ca expiring json ", false},
    {"status", " ca cert json ", true},
    {"crl", " ca pass-file days out ", false},
};

static const struct option longopts[] = {{"ca", required_argument, NULL, O_CA},
                                         {"base-url", required_argument, NULL, O_BASE},
                                         {"pass-file", required_argument, NULL, O_PASS},
                                         {"key-type", required_argument, NULL, O_KEYTYPE},
                                         {"root-subject", required_argument, NULL, O_ROOTSUBJ},
                                         {"issuing-subject", required_argument, NULL, O_ISSSUBJ},
                                         {"cert", required_argument, NULL, O_CERT},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"chain", required_argument, NULL, O_CHAIN},
                                         {"csr", required_argument, NULL, O_CSR},
                                         {"pubkey", required_argument, NULL, O_PUBKEY},
                                         {"genkey", required_argument, NULL, O_GENKEY},
                                         {"key-pass-file", required_argument, NULL, O_KEYPASS},
                                         {"subject", required_argument, NULL, O_SUBJECT},
                                         {"profile", required_argument, NULL, O_PROFILE},
                                         {"days", required_argument, NULL, O_DAYS},
                                         {"out", required_argument, NULL, O_OUT},
                                         {"reason", required_argument, NULL, O_REASON},
                                         {"expiring", required_argument, NULL, O_EXPIRING},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};

static bool allowed(const char *opts, const char *name) {
    char k[48];
    snprintf(k, sizeof k, " %s ", name);
    return strstr(opts, k) != NULL;
}

/* Parses argv (after the command); returns -1 to go on, else the exit status. */
static int parse(args *a, int idx, int argc, char **argv) {
    char cmd[32];
    int c, li;
    snprintf(cmd, sizeof cmd, "ca %s", commands[idx].cmd);
    memset(a, 0, sizeof *a);
    a->expiring = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, &li)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c == ':' || c == '?')
            return cli_bad_option(cmd, c, argv);
        const char *name = NULL;
        for (size_t i = 0; longopts[i].name; i++)
            if (longopts[i].val == c)
                name = longopts[i].name;
        if (!name || !allowed(commands[idx].opts, name)) {
            char msg[96];
            snprintf(msg, sizeof msg, "--%s is not an option of this command", name ? name : "?");
            return cli_usage(cmd, msg);
        }
        switch (c) {
        case O_CA:
            a->ca = optarg;
            break;
        case O_BASE:
            a->base = optarg;
            break;
        case O_PASS:
            a->pass = optarg;
            break;
        case O_KEYTYPE:
            a->key_type = optarg;
            break;
        case O_ROOTSUBJ:
            a->root_subj = optarg;
            break;
        case O_ISSSUBJ:
            a->iss_subj = optarg;
            break;
        case O_CERT:
            a->cert = optarg;
            break;
        case O_KEY:
            a->key = optarg;
            break;
        case O_CHAIN:
            a->chain = optarg;
            break;
        case O_CSR:
            a->csr = optarg;
            break;
        case O_PUBKEY:
            a->pubkey = optarg;
            break;
        case O_GENKEY:
            a->genkey = optarg;
            break;
        case O_KEYPASS:
            a->key_pass = optarg;
            break;
        case O_SUBJECT:
            a->subject = optarg;
            break;
        case O_PROFILE:
            a->profile = optarg;
            break;
        case O_DAYS:
            if (!cli_int(&a->days, optarg, 1, CRYPTO_CA_MAX_DAYS))
                return cli_usage(cmd, "--days needs a number of days from 1 to 10980");
            break;
        case O_OUT:
            a->out = optarg;
            break;
        case O_REASON:
            a->reason = optarg;
            break;
        case O_EXPIRING:
            if (!cli_int(&a->expiring, optarg, 0, 100000))
                return cli_usage(cmd, "--expiring needs a number of days from 0");
            break;
        case O_JSON:
            a->json = true;
            break;
        default:
            return cli_bad_option(cmd, c, argv);
        }
    }
    if (!a->ca)
        return cli_usage(cmd, "--ca DIR is required");
    int npos = argc - optind;
    if (commands[idx].positional && npos == 1)
        a->pos = argv[optind];
    else if (npos > 0 || (commands[idx].positional && strcmp(commands[idx].cmd, "status") != 0))
        return cli_usage(cmd, commands[idx].positional ? "needs one SERIAL"
                                                       : "takes no arguments besides options");
    return -1;
}

static int pki_failed(const char *what) {
    return cli_fail(what, pki_errdetail()[0] ? pki_errdetail() : "failed");
}

static void fmt_time(char out[32], int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, 32, "?");
}

static void print_json_string(const char *s) {
    size_t need = json_quote(NULL, 0, s);
    char *q = malloc(need + 1);
    if (q) {
        json_quote(q, need + 1, s);
        fputs(q, stdout);
    }
    free(q);
}

static void print_cert(const store_cert *c, bool as_json) {
    char nb[32], na[32], ra[32];
    fmt_time(nb, c->not_before);
    fmt_time(na, c->not_after);
    fmt_time(ra, c->revoked_at);
    if (as_json) {
        printf("{\"serial\":\"%s\",\"subject\":", c->serial);
        print_json_string(c->subject);
        printf(",\"profile\":\"%s\",\"not_before\":\"%s\",\"not_after\":\"%s\",\"status\":\"%s\"",
               c->profile, nb, na, c->revoked ? "revoked" : "good");
        if (c->revoked)
            printf(",\"revoked_at\":\"%s\",\"reason\":\"%s\"", ra, crypto_reason_name(c->reason));
        if (c->reissue_of[0])
            printf(",\"reissue_of\":\"%s\"", c->reissue_of);
        printf("}");
        return;
    }
    printf("%s  %-8s  %s  %s", c->serial, c->revoked ? "revoked" : "good", na, c->subject);
    if (c->revoked)
        printf("  (revoked %s, %s)", ra, crypto_reason_name(c->reason));
    printf("\n");
}

typedef struct list_ctx {
    bool json;
    size_t n;
} list_ctx;

static int list_one(const store_cert *c, void *ctx) {
    list_ctx *l = ctx;
    if (l->json)
        printf("%s\n  ", l->n ? "," : "");
    print_cert(c, l->json);
    l->n++;
    return 0;
}

static int write_cert(const char *path, X509 *cert) {
    buf b;
    int rc = 0;
    buf_init(&b, 1024 * 1024);
    if (crypto_cert_pem(&b, cert) != CRYPTO_OK) {
        rc = cli_fail(path, crypto_errdetail());
    } else {
        struct iovec iov = {b.data, b.len};
        int e = file_write_atomic(path, &iov, 1, 0644);
        if (e)
            rc = cli_fail(path, strerror(e));
    }
    buf_free(&b);
    return rc;
}

static int do_issue(args *a, bool reissue) {
    pki_ca *ca = NULL;
    X509 *cert = NULL;
    char *key_pass = NULL;
    int rc = 0;
    const char *cmd = reissue ? "ca reissue" : "ca issue";
    if (!a->out)
        return cli_usage(cmd, "--out CERT.pem is required");
    if (!!a->csr + !!a->pubkey + !!a->genkey != 1)
        return cli_usage(cmd, "give one of --csr, --pubkey or --genkey");
    if (a->genkey && !a->key_pass)
        return cli_usage(cmd, "--genkey needs --key-pass-file (the new key is encrypted)");
    if (a->key_pass && !(key_pass = cli_read_secret(a->key_pass)))
        return 1;
    if (pki_ca_open(&ca, a->ca, PKI_OPEN_KEY, a->pass) != PKI_OK) {
        rc = pki_failed(NULL);
        goto out;
    }
    pki_issue_req r = {a->csr,      a->pubkey, a->genkey,
                       a->key_type, key_pass,  a->subject,
                       a->profile,  a->days,   reissue ? a->pos : NULL};
    if (pki_issue(&cert, ca, &r) != PKI_OK) {
        rc = pki_failed(NULL);
        goto out;
    }
    if ((rc = write_cert(a->out, cert)) != 0) {
        /* recorded but not written: revoke it, so no certificate exists that nobody holds */
        char s[CRYPTO_SERIAL_HEX];
        crypto_serial_hex(s, X509_get0_serialNumber(cert));
        pki_revoke(ca, s, CRYPTO_REASON_CESSATION);
        goto out;
    }
    char s[CRYPTO_SERIAL_HEX], na[32];
    crypto_serial_hex(s, X509_get0_serialNumber(cert));
    store_cert c;
    if (pki_status(&c, ca, s) == PKI_OK) {
        fmt_time(na, c.not_after);
        printf("issued %s  %s  until %s\n", s, c.subject, na);
        if (reissue)
            printf("revoked %s as superseded\n", c.reissue_of);
    }
    /* the superseded certificate is listed at once (see revoke) */
    if (reissue && pki_crl(ca, 0, NULL) != PKI_OK)
        rc = pki_failed("reissued, but the CRL could not be signed again (run eseal ca crl)");
    store_cert_clear(&c);
out:
    X509_free(cert);
    pki_ca_free(ca);
    cli_free_secret(key_pass);
    return rc;
}

static int run(int idx, args *a) {
    const char *cmd = commands[idx].cmd;
    pki_ca *ca = NULL;
    int rc = 0;
    if (strcmp(cmd, "init") == 0) {
        if (!a->base || !a->pass)
            return cli_usage("ca init", "--base-url and --pass-file are required");
        pki_init_opts o = {a->ca, a->base, a->pass, a->key_type, a->root_subj, a->iss_subj, 0, 0};
        if (pki_ca_init(&o) != PKI_OK)
            return pki_failed(NULL);
        printf("CA made in %s: root.pem, issuing.pem, chain.pem; CRL at %s/crl/issuing.crl, "
               "OCSP at %s/ocsp\n",
               a->ca, a->base, a->base);
        return 0;
    }
    if (strcmp(cmd, "import") == 0) {
        if (!a->base || !a->cert || !a->key || !a->chain)
            return cli_usage("ca import", "--base-url, --cert, --key and --chain are required");
        pki_import_opts o = {a->ca, a->base, a->cert, a->key, a->pass, a->chain};
        if (pki_ca_import(&o) != PKI_OK)
            return pki_failed(NULL);
        printf("CA imported into %s\n", a->ca);
        return 0;
    }
    if (strcmp(cmd, "issue") == 0 || strcmp(cmd, "reissue") == 0)
        return do_issue(a, cmd[0] == 'r');
    if (strcmp(cmd, "revoke") == 0) {
        int reason = a->reason ? crypto_reason_from_name(a->reason) : -1;
        if (!a->reason)
            return cli_usage("ca revoke", "--reason is required");
        if (reason < 0)
            return cli_usage("ca revoke", "unknown --reason (see eseal ca --help)");
        /* the CRL is signed afresh at once: a CRL that does not list a revocation it could know
         * of would tell signers and verifiers the certificate is good (RFC 5280 5) */
        if (pki_ca_open(&ca, a->ca, PKI_OPEN_KEY, a->pass) != PKI_OK)
            return pki_failed(NULL);
        if (pki_revoke(ca, a->pos, reason) != PKI_OK)
            rc = pki_failed(NULL);
        else if (pki_crl(ca, 0, NULL) != PKI_OK)
            rc = pki_failed("revoked, but the CRL could not be signed again (run eseal ca crl)");
        else
            printf("revoked %s (%s); CRL %s/crl/issuing.crl signed again\n", a->pos,
                   crypto_reason_name(reason), a->ca);
        pki_ca_free(ca);
        return rc;
    }
    if (strcmp(cmd, "list") == 0) {
        list_ctx l = {a->json, 0};
        if (pki_ca_open(&ca, a->ca, 0, NULL) != PKI_OK)
            return pki_failed(NULL);
        if (a->json)
            printf("[");
        if (pki_list(ca, a->expiring, list_one, &l) != PKI_OK)
            rc = pki_failed(NULL);
        if (a->json)
            printf("%s]\n", l.n ? "\n" : "");
        pki_ca_free(ca);
        return rc;
    }
    if (strcmp(cmd, "status") == 0) {
        store_cert c;
        if (!!a->pos + !!a->cert != 1)
            return cli_usage("ca status", "give a SERIAL or --cert CERT.pem");
        if (pki_ca_open(&ca, a->ca, 0, NULL) != PKI_OK)
            return pki_failed(NULL);
        pki_err e = a->pos ? pki_status(&c, ca, a->pos) : pki_status_cert(&c, ca, a->cert);
        if (e != PKI_OK) {
            rc = pki_failed(NULL);
        } else {
            print_cert(&c, a->json);
            if (a->json)
                printf("\n");
        }
        store_cert_clear(&c);
        pki_ca_free(ca);
        return rc;
    }
    /* crl */
    if (pki_ca_open(&ca, a->ca, PKI_OPEN_KEY, a->pass) != PKI_OK)
        return pki_failed(NULL);
    if (pki_crl(ca, a->days, a->out) != PKI_OK)
        rc = pki_failed(NULL);
    else
        printf("CRL written to %s%s\n", a->out ? a->out : a->ca, a->out ? "" : "/crl/issuing.crl");
    pki_ca_free(ca);
    return rc;
}

int cmd_ca(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].cmd) == 0) {
            args a;
            int rc = parse(&a, (int)i, argc - 1, argv + 1);
            return rc >= 0 ? rc : run((int)i, &a);
        }
    fprintf(stderr, "%s ca: unknown command '%s' (see %s ca --help)\n", cli_prog, argv[1],
            cli_prog);
    return 2;
}
