/* autoseal: the auto-seal worker (DESIGN.md system 2). `autoseal batch` stamps and signs every
 * PDF of a folder from a template, with several worker processes.
 *
 * Processes: the parent lists the work, hands it out and reports; one key process (a child)
 * is the only one that opens the private keys and signs digests for the workers, one thread
 * per worker; the workers (children) parse and stamp documents holding no key, asking the key
 * process for each signature over their own socket (crypto/keyproc.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/json.h"
#include "cli/cli.h"
#include "crypto/keyproc.h"
#include "seal/internal.h"
#include "seal/stamp.h"

const char *cli_prog = "autoseal";

#define MAX_FILES 10000000
#define MAX_JOBS 64
#define MAX_META_LINE (64 * 1024)
#define MAX_META_BYTES ((size_t)1 << 30)

static void usage(FILE *f) {
    fprintf(f,
            "usage: autoseal batch IN_DIR OUT_DIR --template T.json --key KEY [--cert CERT]\n"
            "                      [--meta FILE.jsonl] [--set NAME=VALUE...] [--jobs N]\n"
            "\n"
            "Stamps and signs every PDF of IN_DIR into OUT_DIR (same file names), from the\n"
            "template. Values per file come from --meta (one JSON object per line, with \"file\"\n"
            "and the template's fields), over the --set defaults. Files already sealed in\n"
            "OUT_DIR from the same input are skipped, so a batch can be run again; every output\n"
            "is written atomically. One line per failed file; a summary at the end. Exit 0\n"
            "when no file failed, 1 when some did, 2 on usage errors.\n"
            "\n"
            "  --template FILE     stamp template (templates/README.md)\n"
            "  --meta FILE.jsonl   values per file\n"
            "  --set NAME=VALUE    a default value for every file\n"
            "  --jobs N            worker processes (default: the number of cores)\n"
            "  --seal-image PNG    the seal picture, instead of the template's\n"
            "  --seal SEAL         a GB/T 38540 seal, instead of the one the template names:\n"
            "                      every signature carries it and its picture is stamped\n"
            "  --qr-key FILE       key that signs the QR token (default: the signing key)\n"
            "  --qr-pass-file F    its password\n"
            "  --font FILE         font for the watermark\n" CLI_SIGNER_HELP
            "  -q, --quiet         no progress bar, only failures and the summary\n");
}

typedef struct job {
    char *name;   /* file name in IN_DIR */
    char *meta;   /* the file's metadata line (JSON), or NULL */
    bool written; /* reported written, awaiting its group's sync */
} job;

typedef struct batch {
    const char *in_dir, *out_dir, *tpl_path, *meta_path;
    cli_signer cs;
    seal_stamper_opts so;
    const char *qr_pass_file;
    seal_values defaults;
    job *jobs;
    size_t njobs;
    int nworkers;
    bool quiet;
} batch;

static int cmp_job(const void *a, const void *b) {
    return strcmp(((const job *)a)->name, ((const job *)b)->name);
}

static bool is_pdf_name(const char *n) {
    size_t l = strlen(n);
    return l > 4 && strcasecmp(n + l - 4, ".pdf") == 0 && n[0] != '.';
}

/* The PDFs of IN_DIR, sorted by name. */
static int list_jobs(batch *b) {
    DIR *d = opendir(b->in_dir);
    size_t cap = 0;
    if (!d)
        return cli_fail(b->in_dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (!is_pdf_name(e->d_name))
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", b->in_dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (b->njobs == MAX_FILES) {
            rc = cli_fail(b->in_dir, "more than 10,000,000 PDF files");
            break;
        }
        if (b->njobs == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            job *n = realloc(b->jobs, ncap * sizeof *n);
            if (!n) {
                rc = cli_fail(NULL, "out of memory");
                break;
            }
            b->jobs = n;
            cap = ncap;
        }
        b->jobs[b->njobs].name = strdup(e->d_name);
        b->jobs[b->njobs].meta = NULL;
        b->jobs[b->njobs].written = false;
        if (!b->jobs[b->njobs].name) {
            rc = cli_fail(NULL, "out of memory");
            break;
        }
        b->njobs++;
    }
    closedir(d);
    if (rc == 0 && b->njobs)
        qsort(b->jobs, b->njobs, sizeof *b->jobs, cmp_job);
    return rc;
}

/* Attaches each metadata line to its file ("file" names it). */
static int read_meta(batch *b) {
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = 0;
    int e = file_read_all(&data, &len, b->meta_path, MAX_META_BYTES);
    if (e)
        return cli_fail(b->meta_path, strerror(e));
    size_t line = 0, unmatched = 0;
    char *p = (char *)data, *end = p + len;
    while (p < end && rc == 0) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        char *text = p;
        p += l + 1;
        while (l && isspace((unsigned char)text[l - 1]))
            l--;
        if (l == 0)
            continue;
        char msg[300], where[600];
        if (l > MAX_META_LINE) {
            snprintf(where, sizeof where, "%s: line %zu", b->meta_path, line);
            rc = cli_fail(where, "longer than 64 KiB");
            break;
        }
        arena a;
        arena_init(&a, 1024 * 1024);
        json *j = json_parse(&a, text, l, msg, sizeof msg);
        const json *file = j ? json_get(j, "file") : NULL;
        if (!j || j->type != JSON_OBJECT || !file || file->type != JSON_STRING) {
            snprintf(where, sizeof where, "%s: line %zu", b->meta_path, line);
            rc = cli_fail(where, j ? "expected an object with \"file\"" : msg);
        } else {
            job key = {.name = (char *)(uintptr_t)file->str};
            job *hit = b->njobs ? bsearch(&key, b->jobs, b->njobs, sizeof *b->jobs, cmp_job) : NULL;
            if (!hit) {
                unmatched++;
            } else if (!(hit->meta = strndup(text, l))) {
                rc = cli_fail(NULL, "out of memory");
            }
        }
        arena_free(&a);
    }
    free(data);
    if (rc == 0 && unmatched)
        fprintf(stderr, "%s: note: %zu line(s) of %s name files that are not in %s\n", cli_prog,
                unmatched, b->meta_path, b->in_dir);
    return rc;
}

/* ---- the key process ---- */

typedef struct serve_arg {
    int fd;
    crypto_key **keys;
    X509 **certs;
    STACK_OF(X509) * *chains;
    size_t n;
} serve_arg;

static void *serve_thread(void *p) {
    serve_arg *a = p;
    (void)crypto_keyproc_serve(a->fd, a->keys, a->certs, a->chains, a->n);
    close(a->fd);
    return NULL;
}

static int run_keyproc(batch *b, int *fds) {
    crypto_key *keys[2] = {NULL, NULL};
    X509 *certs[2] = {NULL, NULL};
    STACK_OF(X509) * chains[2] = {NULL, NULL};
    size_t n = 1;
    char *qr_password = NULL;
    crypto_err ce = CRYPTO_OK;
    const char *why = NULL;
    if (b->cs.pass_file && !(b->cs.password = cli_read_secret(b->cs.pass_file)))
        why = "cannot read the key's password file";
    if (!why && (ce = crypto_key_load(&keys[0], &certs[0], &chains[0], b->cs.so.key,
                                      b->cs.password)) != CRYPTO_OK)
        why = crypto_errdetail();
    STACK_OF(X509) *more = NULL;
    if (!why && b->cs.so.cert) {
        if ((ce = crypto_certs_load(&more, b->cs.so.cert)) != CRYPTO_OK) {
            why = crypto_errdetail();
        } else {
            X509_free(certs[0]);
            certs[0] = sk_X509_shift(more);
            if (!chains[0])
                chains[0] = sk_X509_new_null();
            for (X509 *c; (c = sk_X509_shift(more)) != NULL;)
                if (!sk_X509_push(chains[0], c))
                    X509_free(c);
        }
        sk_X509_pop_free(more, X509_free);
    }
    if (!why && b->cs.so.chain) {
        if ((ce = crypto_certs_load(&more, b->cs.so.chain)) != CRYPTO_OK) {
            why = crypto_errdetail();
        } else {
            if (!chains[0])
                chains[0] = sk_X509_new_null();
            for (X509 *c; (c = sk_X509_shift(more)) != NULL;)
                if (!sk_X509_push(chains[0], c))
                    X509_free(c);
            sk_X509_pop_free(more, X509_free);
        }
    }
    if (!why && b->so.qr_key) {
        if (b->qr_pass_file && !(qr_password = cli_read_secret(b->qr_pass_file)))
            why = "cannot read the QR key's password file";
        else if ((ce = crypto_key_load(&keys[1], NULL, NULL, b->so.qr_key, qr_password)) !=
                 CRYPTO_OK)
            why = crypto_errdetail();
        else
            n = 2;
    }
    char whybuf[512] = "";
    if (why)
        snprintf(whybuf, sizeof whybuf, "%s", why);
    pthread_t th[MAX_JOBS];
    serve_arg args[MAX_JOBS];
    int started = 0;
    for (int w = 0; w < b->nworkers; w++) {
        if (whybuf[0]) {
            crypto_keyproc_refuse(fds[w], ce ? ce : CRYPTO_E_KEY, whybuf);
            close(fds[w]);
            continue;
        }
        args[w] = (serve_arg){fds[w], keys, certs, chains, n};
        if (pthread_create(&th[w], NULL, serve_thread, &args[w]) == 0)
            started++;
        else
            close(fds[w]);
    }
    for (int w = 0; w < started; w++)
        pthread_join(th[w], NULL);
    for (size_t i = 0; i < 2; i++) {
        crypto_key_free(keys[i]);
        X509_free(certs[i]);
        sk_X509_pop_free(chains[i], X509_free);
    }
    cli_signer_done(&b->cs);
    cli_free_secret(qr_password);
    return whybuf[0] ? 1 : 0;
}

/* ---- workers ---- */

/* The byte range of the last signature of a file reaches its end (ISO 32000-2 12.8.1), or,
 * at PAdES B-LT, only the update holding the /DSS follows it, up to its %%EOF: the file is
 * whole, not cut short by a crash before its group of files was synced. */
static bool dss_tail(const uint8_t *d, size_t n) {
    static const char dss[] = "/DSS", eof[] = "%%EOF";
    bool has = false;
    for (size_t i = 0; i + 4 <= n && !has; i++)
        has = memcmp(d + i, dss, 4) == 0;
    while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r'))
        n--;
    return has && n >= 5 && memcmp(d + n - 5, eof, 5) == 0;
}

static bool signed_to_the_end(const uint8_t *d, size_t n) {
    static const char key[] = "/ByteRange";
    size_t k = sizeof key - 1;
    for (size_t i = n > k ? n - k : 0; i-- > 0;) {
        if (memcmp(d + i, key, k) != 0)
            continue;
        unsigned long long v[4];
        const char *p = (const char *)d + i + k;
        while (p < (const char *)d + n && (*p == ' ' || *p == '['))
            p++;
        for (int j = 0; j < 4; j++) {
            char *end;
            if (p >= (const char *)d + n - 24)
                return false;
            v[j] = strtoull(p, &end, 10);
            if (end == p)
                return false;
            p = end;
        }
        if (v[0] != 0 || v[1] >= v[2] || v[2] > n || v[3] > n - v[2])
            return false;
        size_t end = (size_t)(v[2] + v[3]);
        return end == n || dss_tail(d + end, n - end);
    }
    return false;
}

/* OUT already holds a sealed copy of IN: it begins with every byte of IN, goes on, and ends
 * with a signature that covers it to the last byte. */
static bool already_sealed(const char *in, const char *out) {
    uint8_t *a = NULL, *o = NULL;
    size_t al = 0, ol = 0;
    bool same = file_read_all(&o, &ol, out, PDF_DEFAULT_MAX_BYTES) == 0 &&
                file_read_all(&a, &al, in, PDF_DEFAULT_MAX_BYTES) == 0 && ol > al &&
                memcmp(a, o, al) == 0 && signed_to_the_end(o, ol);
    free(a);
    free(o);
    return same;
}

/* A report line to the parent: "index<TAB>status<TAB>message\n" with status S sealed (on
 * disk), W written (its group not yet synced; for the progress bar), K skipped, F failed,
 * X the worker could not start; one write of at most
 * PIPE_BUF bytes so that lines from several workers never interleave. */
static void report(int fd, size_t index, char status, const char *msg) {
    char line[PIPE_BUF];
    int n = snprintf(line, sizeof line, "%zu\t%c\t%s", index, status, msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[n] = '\n';
    ssize_t w;
    do
        w = write(fd, line, (size_t)n + 1);
    while (w < 0 && errno == EINTR);
}

#define SYNC_GROUP 256

/* Syncs the output file system, then reports the group's files as sealed (or all as failed
 * when the sync fails: they may not be on disk). */
static void flush_group(int repfd, int dirfd, const size_t *group, char (*notes)[512], size_t n) {
    if (n == 0)
        return;
    bool ok = syncfs(dirfd) == 0;
    char why[160];
    snprintf(why, sizeof why, "the output could not be synced to disk: %s", strerror(errno));
    for (size_t k = 0; k < n; k++)
        report(repfd, group[k], ok ? 'S' : 'F', ok ? notes[k] : why);
}

static seal_err file_values(seal_values *v, const batch *b, const seal_template *t, const job *j) {
    seal_values_init(v);
    seal_err err = SEAL_OK;
    for (size_t i = 0; i < b->defaults.n && err == SEAL_OK; i++)
        err = seal_values_set(v, b->defaults.names[i], b->defaults.values[i]);
    if (err == SEAL_OK && j->meta) {
        arena a;
        char msg[300];
        arena_init(&a, 1024 * 1024);
        json *m = json_parse(&a, j->meta, strlen(j->meta), msg, sizeof msg);
        for (size_t i = 0; m && i < m->len && err == SEAL_OK; i++) {
            if (strcmp(m->keys[i], "file") == 0)
                continue;
            if (m->items[i]->type != JSON_STRING)
                err = seal_fail(SEAL_E_TEMPLATE, "metadata: \"%s\" is not a string", m->keys[i]);
            else
                err = seal_values_set(v, m->keys[i], m->items[i]->str);
        }
        arena_free(&a);
    }
    if (err == SEAL_OK)
        err = seal_template_check_values(t, v);
    return err;
}

static int run_worker(batch *b, int keyfd, int repfd, atomic_size_t *next) {
    crypto_remote rk;
    seal_template *t = NULL;
    seal_signer *signer = NULL;
    seal_stamper *st = NULL;
    int rc = 0, dirfd = -1;
    size_t *group = NULL, ngroup = 0;
    char(*gstatus)[512] = NULL;
    crypto_err ce = crypto_remote_open(&rk, keyfd);
    if (ce != CRYPTO_OK) {
        report(repfd, SIZE_MAX, 'X', crypto_errdetail());
        return 1;
    }
    seal_stamper_opts so = b->so;
    so.qr_key = NULL;
    so.qr_key_obj = rk.n > 1 ? rk.keys[1] : NULL;
    if (seal_template_load(&t, b->tpl_path) != SEAL_OK ||
        seal_signer_from_key(&signer, rk.keys[0], rk.certs[0], rk.chains[0], &b->cs.so) !=
            SEAL_OK ||
        seal_stamper_new(&st, t, signer, &so) != SEAL_OK) {
        report(repfd, SIZE_MAX, 'X', seal_errdetail());
        rc = 1;
        goto out;
    }
    /* Outputs are written without an fsync each and reported once their group is synced
     * (syncfs): one journal commit per group instead of one per file, which made each next
     * file's creation wait. */
    dirfd = open(b->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    group = calloc(SYNC_GROUP, sizeof *group);
    gstatus = calloc(SYNC_GROUP, sizeof *gstatus);
    if (dirfd < 0 || !group || !gstatus) {
        report(repfd, SIZE_MAX, 'X', "cannot open the output folder");
        rc = 1;
        goto out;
    }
    for (;;) {
        size_t i = atomic_fetch_add(next, 1);
        if (i >= b->njobs)
            break;
        const job *j = &b->jobs[i];
        char in[4096], out[4096], notes[512] = "";
        snprintf(in, sizeof in, "%s/%s", b->in_dir, j->name);
        snprintf(out, sizeof out, "%s/%s", b->out_dir, j->name);
        if (already_sealed(in, out)) {
            report(repfd, i, 'K', "");
            continue;
        }
        seal_values v;
        seal_sign_opts o = {.no_sync = true};
        seal_err err = file_values(&v, b, t, j);
        if (err == SEAL_OK)
            err = seal_stamp_file(st, &v, in, out, &o, notes, sizeof notes);
        seal_values_free(&v);
        if (err != SEAL_OK) {
            report(repfd, i, 'F', seal_errdetail());
            continue;
        }
        report(repfd, i, 'W', "");
        group[ngroup] = i;
        snprintf(gstatus[ngroup], sizeof gstatus[ngroup], "%s", notes);
        if (++ngroup == SYNC_GROUP) {
            flush_group(repfd, dirfd, group, gstatus, ngroup);
            ngroup = 0;
        }
    }
    flush_group(repfd, dirfd, group, gstatus, ngroup);
out:
    if (dirfd >= 0)
        close(dirfd);
    free(group);
    free(gstatus);
    seal_stamper_free(st);
    seal_signer_free(signer);
    seal_template_free(t);
    crypto_remote_close(&rk);
    return rc;
}

/* ---- the parent ---- */

typedef struct tally {
    size_t sealed, skipped, failed, done;
    size_t written; /* awaiting the sync of their group */
    double start;
    char last_x[512]; /* the last message of a worker that could not start */
} tally;

static void progress(const tally *t, size_t total, bool last) {
    cli_progress(t->done + t->written, total, t->failed, "failed", t->start, last);
}

static void handle_line(batch *b, tally *t, char *line, bool bar) {
    char *tab1 = strchr(line, '\t');
    char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2)
        return;
    *tab1 = *tab2 = '\0';
    char *endp;
    unsigned long long idx = strtoull(line, &endp, 10);
    char status = tab1[1];
    const char *msg = tab2 + 1;
    const char *name = idx < b->njobs ? b->jobs[idx].name : "(worker)";
    if (bar && (status == 'F' || status == 'X' || (status == 'S' && *msg)))
        cli_progress_clear();
    bool was_written = idx < b->njobs && b->jobs[idx].written;
    if (status != 'W' && was_written) {
        b->jobs[idx].written = false;
        t->written--;
    }
    if (status == 'W') {
        if (idx < b->njobs && !was_written) {
            b->jobs[idx].written = true;
            t->written++;
        }
    } else if (status == 'S') {
        t->sealed++;
        t->done++;
        if (*msg)
            fprintf(stderr, "%s: note: %s: %s\n", cli_prog, name, msg);
    } else if (status == 'K') {
        t->skipped++;
        t->done++;
    } else if (status == 'F') {
        t->failed++;
        t->done++;
        fprintf(stderr, "%s: %s: %s\n", cli_prog, name, msg);
    } else if (status == 'X' && strcmp(msg, t->last_x) != 0) {
        /* every worker meets the same refusal (a seal, a key): said once */
        fprintf(stderr, "%s: a worker could not start: %s\n", cli_prog, msg);
        snprintf(t->last_x, sizeof t->last_x, "%s", msg);
    }
}

static int cmd_batch(int argc, char **argv) {
    enum { O_TEMPLATE = 256, O_META, O_SET, O_JOBS, O_SEAL, O_SESFILE, O_QRKEY, O_QRPASS, O_FONT };
    static const struct option longopts[] = {CLI_SIGNER_OPTIONS,
                                             {"template", required_argument, NULL, O_TEMPLATE},
                                             {"meta", required_argument, NULL, O_META},
                                             {"set", required_argument, NULL, O_SET},
                                             {"jobs", required_argument, NULL, O_JOBS},
                                             {"seal-image", required_argument, NULL, O_SEAL},
                                             {"seal", required_argument, NULL, O_SESFILE},
                                             {"qr-key", required_argument, NULL, O_QRKEY},
                                             {"qr-pass-file", required_argument, NULL, O_QRPASS},
                                             {"font", required_argument, NULL, O_FONT},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    batch b = {0};
    int c, rc = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    b.nworkers = ncpu > 0 ? (int)(ncpu < MAX_JOBS ? ncpu : MAX_JOBS) : 1;
    seal_values_init(&b.defaults);
    seal_template *t = NULL;
    int *keyfds = NULL, repfd[2] = {-1, -1};
    pid_t keyproc = -1, *workers = NULL;
    atomic_size_t *next = MAP_FAILED;
    /* A peer that goes away (the key process, a worker) is an error to report, not a death. */
    signal(SIGPIPE, SIG_IGN);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        if (cli_signer_opt(&b.cs, c, optarg))
            continue;
        switch (c) {
        case O_TEMPLATE:
            b.tpl_path = optarg;
            break;
        case O_META:
            b.meta_path = optarg;
            break;
        case O_SET:
            if (seal_values_set_arg(&b.defaults, optarg) != SEAL_OK) {
                rc = cli_usage("batch", seal_errdetail());
                goto done;
            }
            break;
        case O_JOBS:
            if (!cli_int(&b.nworkers, optarg, 1, MAX_JOBS)) {
                rc = cli_usage("batch", "--jobs needs a number from 1 to 64");
                goto done;
            }
            break;
        case O_SEAL:
            b.so.seal_picture = optarg;
            break;
        case O_SESFILE:
            b.cs.so.seal = optarg;
            break;
        case O_QRKEY:
            b.so.qr_key = optarg;
            break;
        case O_QRPASS:
            b.qr_pass_file = optarg;
            break;
        case O_FONT:
            b.so.font = optarg;
            break;
        case 'q':
            b.quiet = true;
            break;
        case 'h':
            usage(stdout);
            goto done;
        default:
            rc = cli_bad_option("batch", c, argv);
            goto done;
        }
    }
    if (argc - optind != 2) {
        rc = cli_usage("batch", "needs IN_DIR and OUT_DIR");
        goto done;
    }
    if (!b.tpl_path || !b.cs.so.key) {
        rc = cli_usage("batch", b.tpl_path ? "--key is required" : "--template is required");
        goto done;
    }
    b.in_dir = argv[optind];
    b.out_dir = argv[optind + 1];
    /* The template is checked here, before any work starts. */
    if (seal_template_load(&t, b.tpl_path) != SEAL_OK) {
        rc = cli_fail(NULL, seal_errdetail());
        goto done;
    }
    if (!b.cs.so.seal)
        b.cs.so.seal = t->seal_file; /* a path inside t, which lives until the end */
    if (b.cs.so.seal && b.so.seal_picture) {
        rc = cli_usage("batch", "--seal-image cannot go with a seal: the seal's own picture is "
                                "stamped");
        goto done;
    }
    struct stat st;
    if (stat(b.out_dir, &st) != 0 && mkdir(b.out_dir, 0755) != 0) {
        rc = cli_fail(b.out_dir, strerror(errno));
        goto done;
    }
    if ((rc = list_jobs(&b)) != 0 || (b.meta_path && (rc = read_meta(&b)) != 0))
        goto done;
    if (b.njobs == 0) {
        fprintf(stderr, "%s: %s holds no PDF files\n", cli_prog, b.in_dir);
        goto done;
    }
    if ((size_t)b.nworkers > b.njobs)
        b.nworkers = (int)b.njobs;
    next = mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    keyfds = calloc((size_t)b.nworkers * 2, sizeof *keyfds);
    workers = calloc((size_t)b.nworkers, sizeof *workers);
    if (next == MAP_FAILED || !keyfds || !workers || pipe(repfd) != 0) {
        rc = cli_fail(NULL, "cannot set up the worker processes");
        goto done;
    }
    atomic_init(next, 0);
    for (int w = 0; w < b.nworkers; w++) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &keyfds[2 * w]) != 0) {
            rc = cli_fail(NULL, "cannot set up the key process");
            goto done;
        }
    }
    fflush(NULL);
    keyproc = fork();
    if (keyproc == 0) {
        /* The key process keeps one end of each socket; nothing else. */
        int *mine = calloc((size_t)b.nworkers, sizeof *mine);
        for (int w = 0; w < b.nworkers; w++) {
            close(keyfds[2 * w + 1]);
            if (mine)
                mine[w] = keyfds[2 * w];
        }
        close(repfd[0]);
        close(repfd[1]);
        _exit(mine ? run_keyproc(&b, mine) : 1);
    }
    for (int w = 0; w < b.nworkers; w++)
        close(keyfds[2 * w]);
    for (int w = 0; w < b.nworkers; w++) {
        workers[w] = fork();
        if (workers[w] == 0) {
            for (int o = 0; o < b.nworkers; o++)
                if (o != w)
                    close(keyfds[2 * o + 1]);
            close(repfd[0]);
            _exit(run_worker(&b, keyfds[2 * w + 1], repfd[1], next));
        }
    }
    for (int w = 0; w < b.nworkers; w++)
        close(keyfds[2 * w + 1]);
    close(repfd[1]);
    repfd[1] = -1;

    /* Reports, a progress bar on a terminal, one line per failure. */
    bool bar = !b.quiet && isatty(STDERR_FILENO);
    tally tl = {.start = cli_now()};
    char pending[2 * PIPE_BUF];
    size_t have = 0;
    double last = 0;
    for (;;) {
        ssize_t n = read(repfd[0], pending + have, sizeof pending - have - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        pending[have] = '\0';
        char *p = pending, *nl;
        while ((nl = memchr(p, '\n', have - (size_t)(p - pending))) != NULL) {
            *nl = '\0';
            handle_line(&b, &tl, p, bar);
            p = nl + 1;
        }
        have -= (size_t)(p - pending);
        memmove(pending, p, have);
        if (bar && (cli_now() - last > 0.1 || tl.done == b.njobs)) {
            progress(&tl, b.njobs, false);
            last = cli_now();
        }
    }
    if (bar)
        progress(&tl, b.njobs, true);
    int status, worker_failed = 0;
    for (int w = 0; w < b.nworkers; w++)
        if (waitpid(workers[w], &status, 0) > 0 && (!WIFEXITED(status) || WEXITSTATUS(status)))
            worker_failed++;
    if (waitpid(keyproc, &status, 0) > 0 && (!WIFEXITED(status) || WEXITSTATUS(status)))
        worker_failed++;
    keyproc = -1;
    double el = cli_now() - tl.start;
    size_t missing = b.njobs - tl.done;
    printf("%zu file(s): %zu sealed, %zu skipped (already sealed), %zu failed%s in %.2f s "
           "(%.0f/s)\n",
           b.njobs, tl.sealed, tl.skipped, tl.failed + missing, missing ? " or not done" : "", el,
           el > 0 ? (double)tl.done / el : 0);
    rc = tl.failed || missing || worker_failed ? 1 : 0;
done:
    if (keyproc > 0)
        waitpid(keyproc, NULL, 0);
    if (repfd[0] >= 0)
        close(repfd[0]);
    if (next != MAP_FAILED)
        munmap(next, sizeof *next);
    for (size_t i = 0; i < b.njobs; i++) {
        free(b.jobs[i].name);
        free(b.jobs[i].meta);
    }
    free(b.jobs);
    free(keyfds);
    free(workers);
    seal_template_free(t);
    seal_values_free(&b.defaults);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("autoseal %s\n", ESEAL_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "batch") == 0)
        return cmd_batch(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (see autoseal --help)\n", cli_prog, argv[1]);
    return 2;
}
