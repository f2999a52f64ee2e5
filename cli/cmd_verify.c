/* eseal verify: every signature of every document given, judged (seal/verify.h), as a table or
 * as JSON lines, in the order the files were given (directories in name order). Batches run in
 * forked workers that take files from a shared counter; the parent only prints. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, strcasecmp */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "cli/cli.h"
#include "crypto/ses.h"
#include "seal/verify.h"

#define VERIFY_MAX_FILES 10000000
#define VERIFY_MAX_DEPTH 32
#define VERIFY_MAX_JOBS 256

static void usage(FILE *f) {
    fprintf(f,
            "usage: eseal verify [OPTIONS] FILE|DIR...\n"
            "\n"
            "Checks every signature and document time-stamp of each PDF: that it covers its\n"
            "revision, that its signature value holds, that its certificate chains to a trusted\n"
            "root, and what was changed after it was made. Directories are searched recursively\n"
            "for *.pdf files.\n"
            "\n"
            "  --trust PEM|DIR     trusted root certificates (repeatable); without any, no\n"
            "                      chain is trusted and signatures are at best INDETERMINATE\n"
            "  --maker-trust PEM|DIR  the GB/T 38540 seal makers trusted to make seals: their\n"
            "                      certificates or their CAs (repeatable); a seal whose maker\n"
            "                      is not among them is at best INDETERMINATE. --trust roots\n"
            "                      do not make a seal maker trusted\n"
            "  --online            fetch OCSP responses and CRLs the certificates point to\n"
            "  --timeout SECONDS   limit on each online fetch (default 10)\n"
            "  --at TIME           validate as at TIME (UTC, YYYY-MM-DD[THH:MM:SSZ]) instead\n"
            "                      of now: what a reader will be told then\n"
            "  --pass-file FILE    password of encrypted documents (first line of FILE)\n"
            "  --json              one JSON object per document per line on stdout\n"
            "  -j, --jobs N        documents verified in parallel (default: the CPU count)\n"
            "  -q, --quiet         no progress bar; in the table, only documents that did not\n"
            "                      pass\n"
            "  -h, --help          this help\n"
            "\n"
            "Exit status: 0 when every document passed, 1 when any failed, is indeterminate or\n"
            "carries no signature, 2 on usage or I/O errors.\n");
}

typedef struct vfile {
    char *path;
} vfile;

typedef struct vlist {
    vfile *f;
    size_t n, cap;
} vlist;

static int add_file(vlist *l, const char *path) {
    if (l->n == VERIFY_MAX_FILES)
        return cli_fail(path, "more than 10,000,000 files");
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 64;
        vfile *n = realloc(l->f, ncap * sizeof *n);
        if (!n)
            return cli_fail(NULL, "out of memory");
        l->f = n;
        l->cap = ncap;
    }
    l->f[l->n].path = strdup(path);
    if (!l->f[l->n].path)
        return cli_fail(NULL, "out of memory");
    l->n++;
    return 0;
}

static bool is_pdf_name(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".pdf") == 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular *.pdf files under dir, in name order; symbolic links to directories are not
 * followed (no loops). */
static int add_dir(vlist *l, const char *dir, int depth) {
    if (depth > VERIFY_MAX_DEPTH)
        return cli_fail(dir, "directories nested too deep");
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail(dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = cli_fail(NULL, "out of memory");
                break;
            }
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (!names[n])
            rc = cli_fail(NULL, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        struct stat st;
        if (!p) {
            rc = cli_fail(NULL, "out of memory");
            break;
        }
        snprintf(p, len, "%s/%s", dir, names[i]);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rc = add_dir(l, p, depth + 1);
        else if (is_pdf_name(names[i]) && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            rc = add_file(l, p);
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- the table ---- */

static const char *kind_text(seal_mod_kind k) {
    switch (k) {
    case SEAL_MOD_CONTENT:
        return "content changed";
    case SEAL_MOD_PAGE_ADDED:
        return "page added";
    case SEAL_MOD_PAGE_REMOVED:
        return "page removed";
    case SEAL_MOD_ANNOT_ADDED:
        return "annotation added";
    case SEAL_MOD_ANNOT_CHANGED:
        return "annotation changed";
    case SEAL_MOD_ANNOT_REMOVED:
        return "annotation removed";
    case SEAL_MOD_FIELD_ADDED:
        return "field added";
    case SEAL_MOD_FIELD_REMOVED:
        return "field removed";
    case SEAL_MOD_FIELD_VALUE:
        return "field value changed";
    case SEAL_MOD_SIGDICT:
        return "signature dictionary changed";
    case SEAL_MOD_CATALOG:
        return "catalog changed";
    case SEAL_MOD_OBJECT:
        return "object changed";
    case SEAL_MOD_UNREADABLE:
        return "unreadable object";
    case SEAL_MOD_TRAILING:
        return "unsigned trailing bytes";
    }
    return "?";
}

/* Text from the document or its certificates, for a terminal: C0 and C1 control characters
 * (which could move the cursor or rewrite the screen) become '?'. */
static void put_safe(buf *b, const char *s) {
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            buf_putc(b, '?');
            p++;
        } else {
            buf_putc(b, *p < 0x20 || *p == 0x7F ? '?' : *p);
        }
    }
}

static void put_time(buf *b, time_t t) {
    struct tm tm;
    char s[40];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S UTC", &tm);
    buf_puts(b, s);
}

static void put_mods(buf *b, const char *title, const seal_mod *m, size_t n) {
    if (!n)
        return;
    buf_printf(b, "    %s:\n", title);
    for (size_t i = 0; i < n && i < 50; i++) {
        buf_printf(b, "      - %s", kind_text(m[i].kind));
        if (m[i].page)
            buf_printf(b, ", page %d", m[i].page);
        if (m[i].object)
            buf_printf(b, ", object %u", m[i].object);
        if (m[i].revision)
            buf_printf(b, ", revision %d", m[i].revision);
        if (m[i].detail) {
            buf_puts(b, ": ");
            put_safe(b, m[i].detail);
        }
        buf_putc(b, '\n');
    }
    if (n > 50)
        buf_printf(b, "      ... and %zu more\n", n - 50);
}

static const char *cover_text(const seal_sig_report *s, size_t revisions) {
    static _Thread_local char t[64];
    if (s->coverage == SEAL_COVER_ENTIRE_FILE)
        return "the whole file";
    if (s->coverage == SEAL_COVER_ENTIRE_REVISION) {
        snprintf(t, sizeof t, "revision %d of %zu", s->revision, revisions);
        return t;
    }
    return "part of the file only";
}

static void put_date(buf *b, time_t t) {
    struct tm tm;
    char d[16];
    gmtime_r(&t, &tm);
    strftime(d, sizeof d, "%Y-%m-%d", &tm);
    buf_puts(b, d);
}

/* The GB/T 38540 seal a signature carries, and what was found of it. */
static void put_seal(buf *b, const seal_sig_report *s) {
    const crypto_seal_check *sc = s->crypto ? s->crypto->seal : NULL;
    if (!sc)
        return;
    const crypto_ses *ses = sc->ses;
    if (!ses) {
        buf_puts(b, "    seal:     cannot be read\n");
        return;
    }
    char maker[256];
    seal_cert_cn(maker, sizeof maker, ses->maker);
    buf_puts(b, "    seal:     \"");
    put_safe(b, ses->name);
    buf_puts(b, "\", ");
    buf_puts(b, ses->type == 1   ? "an organisation's seal"
                : ses->type == 2 ? "a person's seal"
                                 : "a seal");
    buf_puts(b, ", esID ");
    put_safe(b, ses->esid);
    buf_printf(b, " (%s version %d)\n", ses->version == 4 ? "GB/T 38540" : "GM/T 0031",
               ses->version);
    buf_puts(b, "              valid ");
    put_date(b, ses->valid_from);
    buf_puts(b, " to ");
    put_date(b, ses->valid_to);
    buf_puts(b, sc->validity == 0  ? " (valid when signed)"
                : sc->validity < 0 ? " (NOT yet valid when signed)"
                                   : " (EXPIRED when signed)");
    buf_puts(b, "; made by ");
    put_safe(b, maker);
    buf_printf(b, ", whose signature %s, %s\n", sc->maker_signature ? "holds" : "does NOT hold",
               sc->maker_trusted ? "trusted" : "NOT trusted");
    buf_printf(b, "              the signer is %s among the %zu it lists\n",
               sc->signer_listed ? "one" : "NOT one", ses->n_listed);
    buf_puts(b, "              picture: ");
    put_safe(b, ses->picture_type);
    buf_printf(b, ", %zu bytes, %dx%d mm", ses->picture_len, ses->width_mm, ses->height_mm);
    if (s->seal_picture_px[0])
        buf_printf(b, ", %ux%u px", s->seal_picture_px[0], s->seal_picture_px[1]);
    buf_puts(b, !s->seal_picture_checked ? "\n"
                : s->seal_picture_shown  ? "; shown on the page\n"
                                         : "; NOT the picture shown\n");
}

static void render_text(buf *b, const seal_verify_report *r) {
    const char *ind = seal_verify_indication(r);
    const char *sub = crypto_subind_name(r->sub);
    put_safe(b, r->file);
    buf_printf(b, ": %s", ind);
    if ((r->n_sigs || !r->readable || r->damaged_signature) && sub && *sub)
        buf_printf(b, " (%s)", sub);
    if (r->n_sigs)
        buf_printf(b, ", %zu signature%s", r->n_sigs, r->n_sigs == 1 ? "" : "s");
    buf_putc(b, '\n');
    for (size_t i = 0; i < r->n_errors; i++) {
        buf_puts(b, "  ! ");
        put_safe(b, r->errors[i]);
        buf_putc(b, '\n');
    }
    for (size_t i = 0; i < r->n_sigs; i++) {
        const seal_sig_report *s = &r->sigs[i];
        const crypto_verify_result *c = s->crypto;
        const char *ssub = crypto_subind_name(s->sub);
        buf_printf(b, "  %s \"", s->doc_timestamp ? "document time-stamp" : "signature");
        put_safe(b, s->field);
        buf_putc(b, '"');
        if (s->docmdp)
            buf_printf(b, ", certification P=%d", s->docmdp);
        buf_printf(b, ": %s", crypto_indication_name(s->indication));
        if (ssub && *ssub)
            buf_printf(b, " (%s)", ssub);
        buf_putc(b, '\n');
        if (c && c->signer) {
            buf_puts(b, "    signer:   ");
            put_safe(b, c->signer);
            if (c->issuer) {
                buf_puts(b, ", issued by ");
                put_safe(b, c->issuer);
            }
            buf_putc(b, '\n');
        }
        if (s->signing_time) {
            buf_puts(b, "    signed:   ");
            put_time(b, s->signing_time);
            buf_puts(b, s->time_source == CRYPTO_TIME_TIMESTAMP ? " (time-stamped)\n"
                                                                : " (claimed, not proven)\n");
        }
        buf_printf(b, "    covers:   %s; signature value %s\n", cover_text(s, r->n_revisions),
                   s->integrity ? "intact" : "NOT intact");
        if (c)
            buf_printf(b, "    chain:    %s\n",
                       c->chain_trusted ? "trusted" : "not trusted (no path to a --trust root)");
        put_seal(b, s);
        put_mods(b, "changed after signing", s->mods, s->n_mods);
        put_mods(b, "permitted changes after signing", s->permitted, s->n_permitted);
        for (size_t k = 0; k < s->n_errors; k++) {
            buf_puts(b, "    ! ");
            put_safe(b, s->errors[k]);
            buf_putc(b, '\n');
        }
    }
}

/* ---- workers ---- */

typedef struct vopts {
    seal_verify_opts so;
    bool json, quiet;
} vopts;

enum { ST_PASSED = 'P', ST_NOT_PASSED = 'N', ST_IO = 'E' };

static void put_json_str(buf *b, const char *s) {
    size_t need = json_quote(NULL, 0, s);
    char *q = malloc(need + 1);
    if (q) {
        json_quote(q, need + 1, s);
        buf_append(b, q, need);
        free(q);
    }
}

/* One file's output and status. */
static char verify_one(buf *out, const char *path, const vopts *o) {
    seal_verify_report *r = NULL;
    seal_err err = seal_verify_file(&r, path, &o->so);
    char st;
    if (err != SEAL_OK) {
        st = ST_IO;
        if (o->json) {
            buf_puts(out, "{\"file\":");
            put_json_str(out, path);
            buf_puts(out, ",\"indication\":null,\"signatures\":[],\"errors\":[");
            put_json_str(out, seal_errdetail());
            buf_puts(out, "]}\n");
        } else {
            put_safe(out, path);
            buf_puts(out, ": ERROR: ");
            put_safe(out, seal_errdetail());
            buf_putc(out, '\n');
        }
    } else {
        st = seal_verify_passed(r) ? ST_PASSED : ST_NOT_PASSED;
        if (o->json) {
            if (seal_verify_report_json(out, r) != SEAL_OK)
                buf_printf(out, "{\"file\":null,\"indication\":null,\"errors\":[\"report too "
                                "large\"]}");
            buf_putc(out, '\n');
        } else if (!(o->quiet && st == ST_PASSED)) {
            render_text(out, r);
        }
    }
    seal_verify_report_free(r);
    return st;
}

static bool write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Records on the worker's pipe: "index status length\n" then the output. */
static int run_worker(const vlist *l, const vopts *o, atomic_size_t *next, int fd) {
    buf out;
    buf_init(&out, (size_t)64 << 20);
    for (;;) {
        size_t i = atomic_fetch_add(next, 1);
        if (i >= l->n)
            break;
        buf_reset(&out);
        char st = verify_one(&out, l->f[i].path, o);
        char hdr[64];
        int h = snprintf(hdr, sizeof hdr, "%zu %c %zu\n", i, st, out.len);
        if (!write_all(fd, hdr, (size_t)h) || !write_all(fd, out.data, out.len))
            break;
    }
    buf_free(&out);
    close(fd);
    return 0;
}

typedef struct result {
    char st;
    bool done;
    uint8_t *text;
    size_t len;
} result;

typedef struct tally {
    size_t passed, not_passed, io, done;
    double start;
} tally;

static void progress(const tally *t, size_t total, bool last) {
    cli_progress(t->done, total, t->not_passed + t->io, "not passed", t->start, last);
}

static void count(tally *t, char st) {
    t->done++;
    if (st == ST_PASSED)
        t->passed++;
    else if (st == ST_IO)
        t->io++;
    else
        t->not_passed++;
}

/* Prints results in file order as they become available. */
static void flush_in_order(result *res, size_t n, size_t *printed, bool bar) {
    bool cleared = false;
    while (*printed < n && res[*printed].done) {
        if (bar && !cleared) {
            cli_progress_clear();
            cleared = true;
        }
        fwrite(res[*printed].text, 1, res[*printed].len, stdout);
        free(res[*printed].text);
        res[*printed].text = NULL;
        (*printed)++;
    }
    if (cleared)
        fflush(stdout);
}

typedef struct wpipe {
    int fd;
    buf in;
} wpipe;

/* Takes the complete records of a worker's stream. */
static void take_records(wpipe *w, result *res, size_t n, tally *t) {
    for (;;) {
        uint8_t *nl = memchr(w->in.data, '\n', w->in.len);
        if (!nl)
            return;
        size_t idx, len;
        char st;
        char hdr[64];
        size_t hl = (size_t)(nl - w->in.data);
        if (hl >= sizeof hdr)
            return;
        memcpy(hdr, w->in.data, hl);
        hdr[hl] = 0;
        if (sscanf(hdr, "%zu %c %zu", &idx, &st, &len) != 3 || idx >= n)
            return;
        if (w->in.len - hl - 1 < len)
            return;
        res[idx].st = st;
        res[idx].text = malloc(len ? len : 1);
        if (res[idx].text)
            memcpy(res[idx].text, nl + 1, len);
        res[idx].len = res[idx].text ? len : 0;
        res[idx].done = true;
        count(t, st);
        size_t used = hl + 1 + len;
        memmove(w->in.data, w->in.data + used, w->in.len - used);
        w->in.len -= used;
    }
}

static int run_batch(const vlist *l, const vopts *o, int jobs, tally *t) {
    bool bar = !o->quiet && isatty(STDERR_FILENO) && l->n > 1;
    result *res = calloc(l->n, sizeof *res);
    wpipe *w = calloc((size_t)jobs, sizeof *w);
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    struct pollfd *pfd = calloc((size_t)jobs, sizeof *pfd);
    atomic_size_t *next =
        mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int rc = 0, alive = 0;
    if (!res || !w || !pids || !pfd || next == MAP_FAILED) {
        rc = cli_fail(NULL, "cannot set up the worker processes");
        goto out;
    }
    atomic_init(next, 0);
    for (int k = 0; k < jobs; k++)
        w[k].fd = -1;
    fflush(NULL);
    /* as many workers as can be started; fewer only make the batch slower */
    for (int k = 0; k < jobs; k++) {
        int p[2];
        if (pipe(p) != 0)
            break;
        pids[k] = fork();
        if (pids[k] == 0) {
            close(p[0]);
            for (int j = 0; j < k; j++)
                close(w[j].fd);
            _exit(run_worker(l, o, next, p[1]));
        }
        close(p[1]);
        if (pids[k] < 0) {
            close(p[0]);
            break;
        }
        w[k].fd = p[0];
        buf_init(&w[k].in, (size_t)128 << 20);
        alive++;
    }
    if (alive == 0) {
        rc = cli_fail(NULL, "cannot start a worker process");
        goto out;
    }
    size_t printed = 0;
    double last = 0;
    while (alive > 0) {
        int np = 0;
        for (int k = 0; k < jobs; k++)
            if (w[k].fd >= 0)
                pfd[np++] = (struct pollfd){.fd = w[k].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)np, 200) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < jobs; k++) {
            if (w[k].fd < 0)
                continue;
            struct pollfd *pf = NULL;
            for (int q = 0; q < np; q++)
                if (pfd[q].fd == w[k].fd)
                    pf = &pfd[q];
            if (!pf || !(pf->revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = -1;
            if (buf_reserve(&w[k].in, 65536) == BUF_OK) {
                n = read(w[k].fd, w[k].in.data + w[k].in.len, 65536);
                if (n < 0 && errno == EINTR)
                    continue;
            }
            /* the end of its output, or a record too large to take: the worker is done (its
             * files without a result are reported below) */
            if (n <= 0) {
                close(w[k].fd);
                w[k].fd = -1;
                alive--;
                continue;
            }
            w[k].in.len += (size_t)n;
            take_records(&w[k], res, l->n, t);
        }
        flush_in_order(res, l->n, &printed, bar);
        if (bar && cli_now() - last > 0.1) {
            progress(t, l->n, false);
            last = cli_now();
        }
    }
    for (int k = 0; k < jobs; k++) {
        int status;
        if (pids[k] > 0 && waitpid(pids[k], &status, 0) > 0 &&
            (!WIFEXITED(status) || WEXITSTATUS(status)))
            rc = cli_fail(NULL, "a worker process failed");
    }
    /* a file whose worker died has no result: say so rather than skip it */
    for (size_t i = 0; i < l->n; i++) {
        if (!res[i].done) {
            buf b;
            buf_init(&b, 8192);
            buf_printf(&b, "%s: ERROR: not verified (its worker process ended)\n", l->f[i].path);
            res[i].text = buf_detach(&b, &res[i].len);
            res[i].done = true;
            count(t, ST_IO);
        }
    }
    flush_in_order(res, l->n, &printed, bar);
    if (bar)
        progress(t, l->n, true);
out:
    for (int k = 0; w && k < jobs; k++) {
        if (w[k].fd >= 0)
            close(w[k].fd);
        buf_free(&w[k].in);
    }
    for (size_t i = 0; res && i < l->n; i++)
        free(res[i].text);
    if (next != MAP_FAILED)
        munmap(next, sizeof *next);
    free(res);
    free(w);
    free(pids);
    free(pfd);
    return rc;
}

int cmd_verify(int argc, char **argv) {
    enum { O_TRUST = 1, O_MAKER_TRUST, O_ONLINE, O_TIMEOUT, O_PASS, O_JSON, O_AT };
    static const struct option opts[] = {{"trust", required_argument, NULL, O_TRUST},
                                         {"maker-trust", required_argument, NULL, O_MAKER_TRUST},
                                         {"online", no_argument, NULL, O_ONLINE},
                                         {"timeout", required_argument, NULL, O_TIMEOUT},
                                         {"pass-file", required_argument, NULL, O_PASS},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"at", required_argument, NULL, O_AT},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    vopts o = {0};
    crypto_trust *trust = NULL, *makers = NULL;
    char *password = NULL;
    vlist l = {0};
    int rc = 0, jobs = 0, timeout = 10;
    tally t = {.start = cli_now()};
    if (crypto_trust_new(&trust) != CRYPTO_OK || crypto_trust_new(&makers) != CRYPTO_OK) {
        rc = cli_fail(NULL, "out of memory");
        goto done;
    }
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":j:qh", opts, NULL)) != -1;) {
        switch (c) {
        case O_TRUST:
            if (crypto_trust_add(trust, optarg) != CRYPTO_OK) {
                cli_fail(optarg, crypto_errdetail());
                rc = 2;
                goto done;
            }
            break;
        case O_MAKER_TRUST:
            if (crypto_trust_add(makers, optarg) != CRYPTO_OK) {
                cli_fail(optarg, crypto_errdetail());
                rc = 2;
                goto done;
            }
            break;
        case O_ONLINE:
            o.so.online = true;
            break;
        case O_TIMEOUT:
            if (!cli_int(&timeout, optarg, 1, 600)) {
                rc = cli_usage("verify", "--timeout takes 1 to 600 seconds");
                goto done;
            }
            break;
        case O_PASS:
            cli_free_secret(password);
            if (!(password = cli_read_secret(optarg))) {
                rc = 2;
                goto done;
            }
            break;
        case O_JSON:
            o.json = true;
            break;
        case O_AT:
            if (!cli_time(&o.so.now, optarg)) {
                rc = cli_usage("verify", "--at takes a UTC time: YYYY-MM-DD or "
                                         "YYYY-MM-DDTHH:MM:SSZ");
                goto done;
            }
            break;
        case 'j':
            if (!cli_int(&jobs, optarg, 1, VERIFY_MAX_JOBS)) {
                rc = cli_usage("verify", "--jobs takes 1 to 256");
                goto done;
            }
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'h':
            usage(stdout);
            goto done;
        default:
            rc = cli_bad_option("verify", c, argv);
            goto done;
        }
    }
    if (optind >= argc) {
        rc = cli_usage("verify", "needs at least one FILE or DIR");
        goto done;
    }
    for (int i = optind; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            rc = cli_fail(argv[i], strerror(errno)) + 1;
        else if (S_ISDIR(st.st_mode))
            rc = add_dir(&l, argv[i], 0) ? 2 : 0;
        else
            rc = add_file(&l, argv[i]) ? 2 : 0;
    }
    if (rc)
        goto done;
    o.so.trust = crypto_trust_count(trust) ? trust : NULL;
    o.so.maker_trust = crypto_trust_count(makers) ? makers : NULL;
    o.so.timeout_ms = timeout * 1000;
    o.so.password = password;
    if (jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus > 0 && cpus < VERIFY_MAX_JOBS ? (int)cpus : 1;
    }
    if ((size_t)jobs > l.n)
        jobs = (int)l.n;
    if (jobs <= 1) {
        buf out;
        buf_init(&out, (size_t)64 << 20);
        bool bar = !o.quiet && isatty(STDERR_FILENO) && l.n > 1;
        double last = 0;
        for (size_t i = 0; i < l.n; i++) {
            buf_reset(&out);
            count(&t, verify_one(&out, l.f[i].path, &o));
            if (bar && out.len)
                cli_progress_clear();
            fwrite(out.data, 1, out.len, stdout);
            fflush(stdout);
            if (bar && cli_now() - last > 0.1) {
                progress(&t, l.n, false);
                last = cli_now();
            }
        }
        if (bar)
            progress(&t, l.n, true);
        buf_free(&out);
    } else if ((rc = run_batch(&l, &o, jobs, &t)) != 0) {
        rc = 2;
        goto done;
    }
    if (!o.json && (l.n > 1 || !o.quiet)) {
        double el = cli_now() - t.start;
        if (l.n > 1)
            printf("%zu document(s): %zu passed, %zu not passed, %zu not readable in %.2f s "
                   "(%.0f/s)\n",
                   l.n, t.passed, t.not_passed, t.io, el, el > 0 ? (double)l.n / el : 0);
    }
    if (!o.so.trust && !o.quiet)
        fprintf(stderr,
                "%s verify: note: no --trust roots given, so no certificate chain is "
                "trusted\n",
                cli_prog);
    rc = t.io ? 2 : t.not_passed ? 1 : 0;
done:
    for (size_t i = 0; i < l.n; i++)
        free(l.f[i].path);
    free(l.f);
    cli_free_secret(password);
    crypto_trust_free(trust);
    crypto_trust_free(makers);
    return rc;
}
