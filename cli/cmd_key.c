/* eseal key: keys in PKCS#11 tokens (crypto/p11.h). One token per enterprise key: its user PIN
 * is the signing PIN, its SO PIN the administrator's. PINs are read from files, never argv. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "base/fileio.h"
#include "cli/cli.h"
#include "crypto/p11.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: eseal key COMMAND [OPTIONS]\n"
            "\n"
            "Keys in PKCS#11 tokens, named by RFC 7512 URIs (pkcs11:token=T;object=L).\n"
            "\n"
            "  eseal key list [--token LABEL --pin-file F]\n"
            "      tokens, their keys and certificates; with the token's PIN also the private\n"
            "      keys' attributes (sensitive, extractable)\n"
            "  eseal key init-token --label L --so-pin-file F --pin-file F\n"
            "      initialise a free token with an SO PIN and a user (signing) PIN\n"
            "  eseal key generate --token LABEL --label L [--id HEX] --type TYPE --pin-file F\n"
            "                     [--pubout PUB.pem]\n"
            "      generate a key pair in the token; TYPE rsa2048, rsa3072, rsa4096, p256, p384\n"
            "  eseal key csr URI --subject /C=CN/O=.../CN=... --pin-file F OUT.csr\n"
            "      a PKCS#10 request signed by the key in the token\n"
            "  eseal key import-cert URI CERT.pem --pin-file F\n"
            "      store the key's certificate in the token (then --cert may be omitted)\n"
            "  eseal key passwd URI --pin-file OLD --new-pin-file NEW\n"
            "  eseal key unlock URI --so-pin-file F --new-pin-file NEW\n"
            "      the administrator's unlock: a new user PIN, the count of wrong PINs reset\n"
            "  eseal key status URI\n"
            "      wrong PINs so far, and whether the key is locked\n"
            "\n"
            "  --module SO     the PKCS#11 module (default $ESEAL_PKCS11_MODULE, else\n"
            "                  " CRYPTO_P11_DEFAULT_MODULE ")\n"
            "\n"
            "After %d consecutive wrong PINs a key locks until an administrator unlocks it;\n"
            "the count is kept in $ESEAL_KEYSTATE_DIR (default ~/.local/state/eseal).\n",
            CRYPTO_P11_MAX_TRIES);
}

typedef struct key_opts {
    const char *module, *token, *label, *id, *type, *pin_file, *so_pin_file, *new_pin_file, *pubout,
        *subject;
} key_opts;

static int fail_crypto(const char *what) {
    return cli_fail(what, crypto_errdetail()[0] ? crypto_errdetail() : "failed");
}

/* A PIN from a file option that must be given; NULL after printing why. */
static char *need_pin(const char *cmd, const char *path, const char *option, int *rc) {
    if (!path) {
        char msg[80];
        snprintf(msg, sizeof msg, "%s is required", option);
        *rc = cli_usage(cmd, msg);
        return NULL;
    }
    char *pin = cli_read_secret(path);
    if (!pin)
        *rc = 1;
    return pin;
}

static int write_out(const char *path, const void *data, size_t len) {
    struct iovec v = {(void *)(uintptr_t)data, len};
    int e = file_write_atomic(path, &v, 1, 0644);
    if (e)
        return cli_fail(path, strerror(e));
    return 0;
}

/* "pkcs11:token=LABEL" with the label %-encoded (RFC 7512 section 2.3). */
static char *token_uri(const char *label) {
    size_t n = strlen(label);
    char *u = malloc(16 + 3 * n);
    if (!u)
        return NULL;
    size_t k = (size_t)sprintf(u, "pkcs11:token=");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)label[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            u[k++] = (char)c;
        else
            k += (size_t)sprintf(u + k, "%%%02X", c);
    }
    u[k] = '\0';
    return u;
}

static bool parse_hex(uint8_t *out, size_t *len, const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n % 2 || n / 2 > CRYPTO_P11_MAX_ID)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return false;
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return true;
}

static void print_id(const uint8_t *id, size_t n) {
    if (n == 0)
        printf("(none)");
    for (size_t i = 0; i < n; i++)
        printf("%02x", id[i]);
}

static int key_list(const key_opts *o) {
    crypto_p11_tokeninfo *ts = NULL;
    size_t n = 0;
    char *pin = NULL;
    int rc = 0;
    if (o->pin_file && !o->token)
        return cli_usage("key list", "--pin-file needs --token");
    if (o->pin_file && !(pin = cli_read_secret(o->pin_file)))
        return 1;
    if (crypto_p11_list(&ts, &n, o->module, o->token, pin) != CRYPTO_OK) {
        rc = fail_crypto("key list");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const crypto_p11_tokeninfo *t = &ts[i];
        if (!t->initialized) {
            printf("slot %lu: free (no token initialised)\n", t->slot);
            continue;
        }
        bool locked = t->token_locked || t->failures >= CRYPTO_P11_MAX_TRIES;
        printf("token '%s'  serial %s  slot %lu  (%s %s)  wrong PINs %d of %d%s\n", t->label,
               t->serial, t->slot, t->manufacturer, t->model, t->failures, CRYPTO_P11_MAX_TRIES,
               locked ? "  LOCKED" : "");
        if (t->nkeys == 0)
            printf("  no keys\n");
        for (size_t k = 0; k < t->nkeys; k++) {
            const crypto_p11_keyinfo *ki = &t->keys[k];
            printf("  key '%s'  id ", ki->label);
            print_id(ki->id, ki->id_len);
            printf("  %s", ki->algorithm[0] ? ki->algorithm : "?");
            if (ki->has_private)
                printf("  private: %s, %s", ki->sensitive ? "sensitive" : "NOT sensitive",
                       ki->extractable ? "EXTRACTABLE" : "not extractable");
            else if (t->logged_in)
                printf("  no private key");
            printf("  certificate: %s\n", ki->has_cert ? ki->cert_subject : "none");
        }
        if (!t->logged_in)
            printf("  (private keys are listed with --token %s --pin-file F)\n", t->label);
    }
    if (n == 0)
        printf("no slots\n");
done:
    crypto_p11_list_free(ts, n);
    cli_free_secret(pin);
    return rc;
}

static int key_init_token(const key_opts *o) {
    char *so = NULL, *pin = NULL;
    int rc = 0;
    if (!o->label)
        return cli_usage("key init-token", "--label is required");
    if (!(so = need_pin("key init-token", o->so_pin_file, "--so-pin-file", &rc)) ||
        !(pin = need_pin("key init-token", o->pin_file, "--pin-file", &rc)))
        goto done;
    if (crypto_p11_init_token(o->module, o->label, so, pin) != CRYPTO_OK) {
        rc = fail_crypto("key init-token");
        goto done;
    }
    printf("token '%s' initialised\n", o->label);
done:
    cli_free_secret(so);
    cli_free_secret(pin);
    return rc;
}

static int key_generate(const key_opts *o) {
    static const char *const names[] = {"rsa2048", "rsa3072", "rsa4096", "p256", "p384"};
    crypto_p11_keytype type = CRYPTO_P11_RSA2048;
    uint8_t id[CRYPTO_P11_MAX_ID];
    size_t id_len = 0;
    char *pin = NULL, *uri = NULL;
    EVP_PKEY *pub = NULL;
    BIO *mem = NULL;
    int rc = 0, t = -1;
    if (!o->token || !o->label || !o->type)
        return cli_usage("key generate", "--token, --label and --type are required");
    for (int i = 0; i < 5; i++)
        if (strcmp(o->type, names[i]) == 0)
            t = i;
    if (t < 0)
        return cli_usage("key generate", "--type is rsa2048, rsa3072, rsa4096, p256 or p384");
    type = (crypto_p11_keytype)t;
    if (o->id && !parse_hex(id, &id_len, o->id))
        return cli_usage("key generate", "--id needs 1 to 64 bytes in hex");
    if (!(pin = need_pin("key generate", o->pin_file, "--pin-file", &rc)))
        goto done;
    if (!(uri = token_uri(o->token))) {
        rc = cli_fail(NULL, "out of memory");
        goto done;
    }
    if (crypto_p11_generate(&pub, uri, pin, type, o->label, o->id ? id : NULL, id_len) !=
        CRYPTO_OK) {
        rc = fail_crypto("key generate");
        goto done;
    }
    if (o->pubout) {
        char *data = NULL;
        long len;
        if (!(mem = BIO_new(BIO_s_mem())) || !PEM_write_bio_PUBKEY(mem, pub) ||
            (len = BIO_get_mem_data(mem, &data)) <= 0) {
            rc = cli_fail(o->pubout, "cannot encode the public key");
            goto done;
        }
        if ((rc = write_out(o->pubout, data, (size_t)len)) != 0)
            goto done;
    }
    printf("generated %s key '%s' in token '%s': pkcs11:token=%s;object=%s\n", names[t], o->label,
           o->token, uri + strlen("pkcs11:token="), o->label);
done:
    EVP_PKEY_free(pub);
    BIO_free(mem);
    free(uri);
    cli_free_secret(pin);
    return rc;
}

static int key_csr(const key_opts *o, const char *uri, const char *out) {
    char *pin = NULL, *data = NULL;
    crypto_key *key = NULL;
    X509_REQ *req = NULL;
    BIO *mem = NULL;
    long len;
    int rc = 0;
    if (!o->subject)
        return cli_usage("key csr", "--subject is required");
    if (o->pin_file && !(pin = cli_read_secret(o->pin_file)))
        return 1;
    if (crypto_key_load(&key, NULL, NULL, uri, pin) != CRYPTO_OK ||
        crypto_make_csr(&req, key, o->subject) != CRYPTO_OK) {
        rc = fail_crypto("key csr");
        goto done;
    }
    if (!(mem = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509_REQ(mem, req) ||
        (len = BIO_get_mem_data(mem, &data)) <= 0) {
        rc = cli_fail(out, "cannot encode the request");
        goto done;
    }
    if ((rc = write_out(out, data, (size_t)len)) == 0)
        printf("wrote %s\n", out);
done:
    BIO_free(mem);
    X509_REQ_free(req);
    crypto_key_free(key);
    cli_free_secret(pin);
    return rc;
}

static int key_import_cert(const key_opts *o, const char *uri, const char *path) {
    char *pin = NULL;
    STACK_OF(X509) *certs = NULL;
    int rc = 0;
    if (o->pin_file && !(pin = cli_read_secret(o->pin_file)))
        return 1;
    if (crypto_certs_load(&certs, path) != CRYPTO_OK) {
        rc = fail_crypto(path);
        goto done;
    }
    if (crypto_p11_import_cert(uri, pin, sk_X509_value(certs, 0)) != CRYPTO_OK) {
        rc = fail_crypto("key import-cert");
        goto done;
    }
    printf("certificate stored with the key\n");
done:
    sk_X509_pop_free(certs, X509_free);
    cli_free_secret(pin);
    return rc;
}

static int key_passwd(const key_opts *o, const char *uri) {
    char *old = NULL, *new_pin = NULL;
    int rc = 0;
    if (!(old = need_pin("key passwd", o->pin_file, "--pin-file", &rc)) ||
        !(new_pin = need_pin("key passwd", o->new_pin_file, "--new-pin-file", &rc)))
        goto done;
    if (crypto_p11_set_pin(uri, old, new_pin) != CRYPTO_OK) {
        rc = fail_crypto("key passwd");
        goto done;
    }
    printf("PIN changed\n");
done:
    cli_free_secret(old);
    cli_free_secret(new_pin);
    return rc;
}

static int key_unlock(const key_opts *o, const char *uri) {
    char *so = NULL, *new_pin = NULL;
    int rc = 0;
    if (!(so = need_pin("key unlock", o->so_pin_file, "--so-pin-file", &rc)) ||
        !(new_pin = need_pin("key unlock", o->new_pin_file, "--new-pin-file", &rc)))
        goto done;
    if (crypto_p11_unlock(uri, so, new_pin) != CRYPTO_OK) {
        rc = fail_crypto("key unlock");
        goto done;
    }
    printf("unlocked: new PIN set, wrong-PIN count reset\n");
done:
    cli_free_secret(so);
    cli_free_secret(new_pin);
    return rc;
}

static int key_status(const char *uri) {
    crypto_p11_tokeninfo t;
    if (crypto_p11_status(&t, uri) != CRYPTO_OK)
        return fail_crypto("key status");
    bool locked = t.token_locked || t.failures >= CRYPTO_P11_MAX_TRIES;
    printf("token '%s' (serial %s): %d wrong PIN%s of %d; %s\n", t.label, t.serial, t.failures,
           t.failures == 1 ? "" : "s", CRYPTO_P11_MAX_TRIES,
           locked ? "locked: an administrator must unlock it" : "not locked");
    return 0;
}

int cmd_key(int argc, char **argv) {
    enum {
        O_MODULE = 256,
        O_TOKEN,
        O_LABEL,
        O_ID,
        O_TYPE,
        O_PIN,
        O_SOPIN,
        O_NEWPIN,
        O_PUBOUT,
        O_SUBJECT
    };
    static const struct option longopts[] = {{"module", required_argument, NULL, O_MODULE},
                                             {"token", required_argument, NULL, O_TOKEN},
                                             {"label", required_argument, NULL, O_LABEL},
                                             {"id", required_argument, NULL, O_ID},
                                             {"type", required_argument, NULL, O_TYPE},
                                             {"pin-file", required_argument, NULL, O_PIN},
                                             {"so-pin-file", required_argument, NULL, O_SOPIN},
                                             {"new-pin-file", required_argument, NULL, O_NEWPIN},
                                             {"pubout", required_argument, NULL, O_PUBOUT},
                                             {"subject", required_argument, NULL, O_SUBJECT},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    key_opts o = {0};
    int c;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return 0;
    }
    optind = 1;
    opterr = 0;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODULE:
            o.module = optarg;
            break;
        case O_TOKEN:
            o.token = optarg;
            break;
        case O_LABEL:
            o.label = optarg;
            break;
        case O_ID:
            o.id = optarg;
            break;
        case O_TYPE:
            o.type = optarg;
            break;
        case O_PIN:
            o.pin_file = optarg;
            break;
        case O_SOPIN:
            o.so_pin_file = optarg;
            break;
        case O_NEWPIN:
            o.new_pin_file = optarg;
            break;
        case O_PUBOUT:
            o.pubout = optarg;
            break;
        case O_SUBJECT:
            o.subject = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return cli_bad_option("key", c, argv);
        }
    }
    /* The module for every command, URIs' module-path aside. */
    if (o.module && setenv("ESEAL_PKCS11_MODULE", o.module, 1) != 0)
        return cli_fail(NULL, "cannot set the module");
    int nargs = argc - optind;
    char **args = argv + optind;
    if (strcmp(sub, "list") == 0)
        return nargs ? cli_usage("key list", "takes no arguments") : key_list(&o);
    if (strcmp(sub, "init-token") == 0)
        return nargs ? cli_usage("key init-token", "takes no arguments") : key_init_token(&o);
    if (strcmp(sub, "generate") == 0)
        return nargs ? cli_usage("key generate", "takes no arguments") : key_generate(&o);
    if (strcmp(sub, "csr") == 0)
        return nargs != 2 ? cli_usage("key csr", "needs URI and OUT.csr")
                          : key_csr(&o, args[0], args[1]);
    if (strcmp(sub, "import-cert") == 0)
        return nargs != 2 ? cli_usage("key import-cert", "needs URI and CERT.pem")
                          : key_import_cert(&o, args[0], args[1]);
    if (strcmp(sub, "passwd") == 0)
        return nargs != 1 ? cli_usage("key passwd", "needs URI") : key_passwd(&o, args[0]);
    if (strcmp(sub, "unlock") == 0)
        return nargs != 1 ? cli_usage("key unlock", "needs URI") : key_unlock(&o, args[0]);
    if (strcmp(sub, "status") == 0)
        return nargs != 1 ? cli_usage("key status", "needs URI") : key_status(args[0]);
    fprintf(stderr, "%s: unknown key command '%s' (see eseal key --help)\n", cli_prog, sub);
    return 2;
}
