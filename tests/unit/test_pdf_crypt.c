/* The standard security handler against qpdf, the reference the pdf library is built on.
 *
 * A small unencrypted PDF (an /Info /Title and a stream) is encrypted by the qpdf command for
 * every revision (R 2 RC4-40, R 3 RC4-128, R 4 RC4 and AES-128, R 5 and R 6 AES-256), with an
 * empty and a non-empty user password and with restricted permissions. For each file the test
 * reads the encryption dictionary and the encrypted bytes out of the file itself, then checks
 * what a user of pdf_crypt would: the user and owner passwords open it and others do not, the
 * file key is the one `qpdf --show-encryption-key` prints, the /Title and the stream decrypt to
 * the plaintext, the permissions are the ones qpdf reports, and a file written with
 * pdf_crypt_encrypt is read back by qpdf. Tampered and malformed dictionaries fail with the
 * exact error. Needs the qpdf command on PATH. */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "pdf/crypt.h"
#include "pdf/pdf_err.h"

#include "check.h"

enum { FILE_MAX = 1 << 24 };

static const char TITLE[] = "eseal crypt test title";
static const char STREAM[] =
    "BT /F1 12 Tf 72 712 Td (stream data for the eseal crypt test) Tj ET\n";
static const char NEW_TITLE[] = "title written by pdf_crypt_encrypt";
static const char NEW_STREAM[] = "stream written by pdf_crypt_encrypt, longer than one AES block\n";

/* ------------------------------------------------------------------------------------------ */
/* files and commands */

static char tmpdir[4096];

static bool read_whole(buf *out, const char *path) {
    FILE *f = fopen(path, "rb");
    bool ok = f != NULL;
    uint8_t chunk[8192];
    size_t n;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = buf_append(out, chunk, n) == BUF_OK;
    if (f && ferror(f))
        ok = false;
    if (f)
        fclose(f);
    return ok;
}

static bool write_whole(const char *path, const buf *b) {
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f) != 0)
        ok = false;
    return ok;
}

/* Appends s single-quoted for /bin/sh. */
static void sh_quote(buf *cmd, const char *s) {
    buf_putc(cmd, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_puts(cmd, "'\\''");
        else
            buf_putc(cmd, (uint8_t)*s);
    }
    buf_putc(cmd, '\'');
}

static const char *cstr(buf *b) {
    buf_putc(b, 0);
    b->len--;
    return (const char *)b->data;
}

/* Runs a command; true when it exits 0. */
static bool run(buf *cmd) {
    int st = system(cstr(cmd));
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "command failed (%d): %s\n", st, cstr(cmd));
        return false;
    }
    return true;
}

/* Runs a command and collects its standard output. */
static bool capture(buf *out, buf *cmd) {
    FILE *p = popen(cstr(cmd), "r");
    if (!p)
        return false;
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_append(out, chunk, n);
    int st = pclose(p);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A PDF written by hand: each object is its own xref subsection, so object numbers may have gaps.
 */
typedef struct obj {
    uint32_t num;
    uint16_t gen;
    const uint8_t *body;
    size_t len;
} obj;

static bool write_pdf(const char *path, const obj *objs, size_t count, const char *trailer) {
    buf b;
    size_t offs[16];
    uint32_t size = 1;
    buf_init(&b, FILE_MAX);
    buf_puts(&b, "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    for (size_t i = 0; i < count && i < 16; i++) {
        offs[i] = b.len;
        buf_printf(&b, "%u %u obj\n", (unsigned)objs[i].num, (unsigned)objs[i].gen);
        buf_append(&b, objs[i].body, objs[i].len);
        buf_puts(&b, "\nendobj\n");
        if (objs[i].num >= size)
            size = objs[i].num + 1;
    }
    size_t xref = b.len;
    buf_puts(&b, "xref\n0 1\n0000000000 65535 f \n");
    for (size_t i = 0; i < count && i < 16; i++)
        buf_printf(&b, "%u 1\n%010zu %05u n \n", (unsigned)objs[i].num, offs[i],
                   (unsigned)objs[i].gen);
    buf_printf(&b, "trailer\n<< /Size %u %s >>\nstartxref\n%zu\n%%%%EOF\n", (unsigned)size, trailer,
               xref);
    bool ok = count <= 16 && write_whole(path, &b);
    buf_free(&b);
    return ok;
}

static const obj *text_obj(obj *o, uint32_t num, const char *text) {
    o->num = num;
    o->gen = 0;
    o->body = (const uint8_t *)text;
    o->len = strlen(text);
    return o;
}

/* ------------------------------------------------------------------------------------------ */
/* a small reader for the files qpdf writes (classic xref, no object streams) */

typedef struct cur {
    const uint8_t *p, *end;
} cur;

typedef enum tt { T_END, T_NAME, T_WORD, T_STR, T_DOPEN, T_DCLOSE, T_AOPEN, T_ACLOSE } tt;

typedef struct tok {
    tt t;
    const uint8_t *s; /* name (after '/') or word */
    size_t n;
    uint8_t str[512]; /* string value */
    size_t str_len;
} tok;

static bool is_ws(uint8_t c) {
    return c == 0 || c == 9 || c == 10 || c == 12 || c == 13 || c == 32;
}

static bool is_delim(uint8_t c) {
    return c && strchr("()<>[]{}/%", c) != NULL;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void skip_ws(cur *c) {
    while (c->p < c->end) {
        if (is_ws(*c->p)) {
            c->p++;
        } else if (*c->p == '%') {
            while (c->p < c->end && *c->p != '\n' && *c->p != '\r')
                c->p++;
        } else {
            break;
        }
    }
}

static bool str_put(tok *t, int v) {
    if (t->str_len >= sizeof t->str)
        return false;
    t->str[t->str_len++] = (uint8_t)v;
    return true;
}

/* ISO 32000-1 7.3.4.2: a literal string with its escapes. */
static bool literal(cur *c, tok *t) {
    int depth = 1;
    c->p++;
    while (c->p < c->end) {
        uint8_t ch = *c->p++;
        if (ch == '(') {
            depth++;
        } else if (ch == ')' && --depth == 0) {
            return true;
        } else if (ch == '\\' && c->p < c->end) {
            ch = *c->p++;
            switch (ch) {
            case 'n':
                ch = '\n';
                break;
            case 'r':
                ch = '\r';
                break;
            case 't':
                ch = '\t';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case '\r':
                if (c->p < c->end && *c->p == '\n')
                    c->p++;
                continue; /* a line continuation */
            case '\n':
                continue;
            default:
                if (ch >= '0' && ch <= '7') {
                    int v = ch - '0';
                    for (int k = 0; k < 2 && c->p < c->end && *c->p >= '0' && *c->p <= '7'; k++)
                        v = v * 8 + (*c->p++ - '0');
                    ch = (uint8_t)v;
                }
                break; /* \(, \), \\ and unknown escapes: the character itself */
            }
        }
        if (!str_put(t, ch))
            return false;
    }
    return false;
}

static tok *next(cur *c, tok *t) {
    skip_ws(c);
    t->t = T_END;
    t->str_len = 0;
    if (c->p >= c->end)
        return t;
    uint8_t ch = *c->p;
    if (ch == '<' && c->p + 1 < c->end && c->p[1] == '<') {
        c->p += 2;
        t->t = T_DOPEN;
    } else if (ch == '>' && c->p + 1 < c->end && c->p[1] == '>') {
        c->p += 2;
        t->t = T_DCLOSE;
    } else if (ch == '[' || ch == ']') {
        c->p++;
        t->t = ch == '[' ? T_AOPEN : T_ACLOSE;
    } else if (ch == '<') {
        int hi = -1;
        for (c->p++; c->p < c->end && *c->p != '>'; c->p++) {
            int v = hexval(*c->p);
            if (v < 0)
                continue;
            if (hi < 0) {
                hi = v;
            } else {
                if (!str_put(t, hi * 16 + v))
                    return t;
                hi = -1;
            }
        }
        if (c->p < c->end && (hi < 0 || str_put(t, hi * 16))) {
            c->p++;
            t->t = T_STR;
        }
    } else if (ch == '(') {
        if (literal(c, t))
            t->t = T_STR;
    } else {
        if (ch == '/')
            c->p++;
        t->s = c->p;
        while (c->p < c->end && !is_ws(*c->p) && !is_delim(*c->p))
            c->p++;
        t->n = (size_t)(c->p - t->s);
        t->t = ch == '/' ? T_NAME : T_WORD;
    }
    return t;
}

static bool word_is(const tok *t, const char *w) {
    return (t->t == T_WORD || t->t == T_NAME) && t->n == strlen(w) && memcmp(t->s, w, t->n) == 0;
}

/* Skips one value: a nested dictionary or array, or "num gen R", or a single token. */
static bool skip_value(cur *c) {
    tok t;
    next(c, &t);
    if (t.t == T_DOPEN || t.t == T_AOPEN) {
        int depth = 1;
        while (depth > 0) {
            next(c, &t);
            if (t.t == T_END)
                return false;
            if (t.t == T_DOPEN || t.t == T_AOPEN)
                depth++;
            else if (t.t == T_DCLOSE || t.t == T_ACLOSE)
                depth--;
        }
        return true;
    }
    if (t.t == T_WORD) {
        cur save = *c;
        tok g, r;
        if (next(c, &g)->t == T_WORD && next(c, &r)->t == T_WORD && word_is(&r, "R"))
            return true;
        *c = save;
    }
    return t.t != T_END && t.t != T_DCLOSE && t.t != T_ACLOSE;
}

/* Finds key in the dictionary that starts at d; val is left at its value. */
static bool dict_find(cur d, const char *key, cur *val) {
    tok t;
    if (next(&d, &t)->t != T_DOPEN)
        return false;
    for (;;) {
        if (next(&d, &t)->t != T_NAME)
            return false;
        if (word_is(&t, key)) {
            *val = d;
            return true;
        }
        if (!skip_value(&d))
            return false;
    }
}

static bool get_long(cur d, const char *key, long *out) {
    cur v;
    tok t;
    char num[32];
    if (!dict_find(d, key, &v) || next(&v, &t)->t != T_WORD || t.n == 0 || t.n >= sizeof num)
        return false;
    memcpy(num, t.s, t.n);
    num[t.n] = 0;
    char *end;
    *out = strtol(num, &end, 10);
    return *end == 0;
}

static bool get_str(cur d, const char *key, uint8_t *out, size_t cap, size_t *len) {
    cur v;
    tok t;
    if (!dict_find(d, key, &v) || next(&v, &t)->t != T_STR || t.str_len > cap)
        return false;
    memcpy(out, t.str, t.str_len);
    *len = t.str_len;
    return true;
}

static bool get_name(cur d, const char *key, char *out, size_t cap) {
    cur v;
    tok t;
    if (!dict_find(d, key, &v) || next(&v, &t)->t != T_NAME || t.n >= cap)
        return false;
    memcpy(out, t.s, t.n);
    out[t.n] = 0;
    return true;
}

static bool get_ref(cur d, const char *key, uint32_t *num) {
    long n;
    if (!get_long(d, key, &n) || n <= 0)
        return false;
    *num = (uint32_t)n;
    return true;
}

/* Positions c at the body of object num (after "num gen obj"). */
static bool find_obj(const buf *file, uint32_t num, uint16_t *gen, cur *c) {
    char head[32];
    int hn = snprintf(head, sizeof head, "\n%u ", (unsigned)num);
    for (size_t i = 0; i + (size_t)hn < file->len; i++) {
        if (memcmp(file->data + i, head, (size_t)hn) != 0)
            continue;
        cur x = {file->data + i + hn, file->data + file->len};
        tok g, o;
        if (next(&x, &g)->t == T_WORD && next(&x, &o)->t == T_WORD && word_is(&o, "obj")) {
            *gen = (uint16_t)strtoul((const char *)g.s, NULL, 10);
            *c = x;
            return true;
        }
    }
    return false;
}

static bool find_trailer(const buf *file, cur *c) {
    static const char kw[] = "trailer";
    for (size_t i = file->len; i-- > sizeof kw - 1;) {
        size_t at = i - (sizeof kw - 1);
        if (memcmp(file->data + at, kw, sizeof kw - 1) == 0) {
            c->p = file->data + i;
            c->end = file->data + file->len;
            return true;
        }
    }
    return false;
}

/* Data of the stream whose dictionary starts at c (7.3.8: "stream", then CRLF or LF). */
static bool stream_data(cur c, const uint8_t **data, size_t *len) {
    long n;
    tok t;
    if (!get_long(c, "Length", &n) || n < 0 || !skip_value(&c) || !word_is(next(&c, &t), "stream"))
        return false;
    if (c.p < c.end && *c.p == '\r')
        c.p++;
    if (c.p >= c.end || *c.p != '\n' || (size_t)(c.end - c.p - 1) < (size_t)n)
        return false;
    *data = c.p + 1;
    *len = (size_t)n;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* an encrypted file as qpdf wrote it */

typedef struct enc_file {
    buf raw;
    pdf_crypt_params prm;
    uint8_t O[256], U[256], OE[256], UE[256], Perms[256], id0[256];
    uint32_t info_num, data_num;
    uint16_t info_gen, data_gen;
    uint8_t title[256];
    size_t title_len;
    const uint8_t *stream;
    size_t stream_len;
    const uint8_t *enc_dict; /* the encryption dictionary's text, to copy */
    size_t enc_dict_len;
} enc_file;

/* ISO 32000-1 7.6.5: the method of the crypt filter /StmF or /StrF names. */
static bool method_of(cur enc, const char *which, pdf_crypt_method *m) {
    char name[64] = "Identity", cfm[64] = "None";
    cur cf, filter;
    get_name(enc, which, name, sizeof name);
    if (strcmp(name, "Identity") == 0) {
        *m = PDF_CM_NONE;
        return true;
    }
    if (!dict_find(enc, "CF", &cf) || !dict_find(cf, name, &filter))
        return false;
    get_name(filter, "CFM", cfm, sizeof cfm);
    if (strcmp(cfm, "V2") == 0)
        *m = PDF_CM_RC4;
    else if (strcmp(cfm, "AESV2") == 0)
        *m = PDF_CM_AESV2;
    else if (strcmp(cfm, "AESV3") == 0)
        *m = PDF_CM_AESV3;
    else if (strcmp(cfm, "None") == 0)
        *m = PDF_CM_NONE;
    else
        return false;
    return true;
}

static bool load_enc(enc_file *f, const char *path) {
    cur tr, enc, idv, info, root, data;
    uint32_t enc_num, root_num;
    uint16_t enc_gen, root_gen;
    long v, r, len = 40, p;
    tok t;
    char em[8] = "true";
    memset(f, 0, sizeof *f);
    buf_init(&f->raw, FILE_MAX);
    if (!read_whole(&f->raw, path) || !find_trailer(&f->raw, &tr) ||
        !get_ref(tr, "Encrypt", &enc_num) || !get_ref(tr, "Info", &f->info_num) ||
        !get_ref(tr, "Root", &root_num) || !dict_find(tr, "ID", &idv) ||
        next(&idv, &t)->t != T_AOPEN || next(&idv, &t)->t != T_STR || t.str_len > sizeof f->id0 ||
        !find_obj(&f->raw, enc_num, &enc_gen, &enc))
        return false;
    memcpy(f->id0, t.str, t.str_len);
    f->prm.id0 = f->id0;
    f->prm.id0_len = t.str_len;

    /* the encryption dictionary's own values (7.6.1 Table 20, 7.6.3.2 Table 21) */
    if (!get_long(enc, "V", &v) || !get_long(enc, "R", &r) || !get_long(enc, "P", &p))
        return false;
    get_long(enc, "Length", &len);
    f->prm.V = (int)v;
    f->prm.R = (int)r;
    f->prm.P = (int32_t)p;
    f->prm.length_bits = (int)len;
    if (!get_str(enc, "O", f->O, sizeof f->O, &f->prm.O_len) ||
        !get_str(enc, "U", f->U, sizeof f->U, &f->prm.U_len))
        return false;
    f->prm.O = f->O;
    f->prm.U = f->U;
    if (get_str(enc, "OE", f->OE, sizeof f->OE, &f->prm.OE_len))
        f->prm.OE = f->OE;
    if (get_str(enc, "UE", f->UE, sizeof f->UE, &f->prm.UE_len))
        f->prm.UE = f->UE;
    if (get_str(enc, "Perms", f->Perms, sizeof f->Perms, &f->prm.Perms_len))
        f->prm.Perms = f->Perms;
    cur emv;
    if (dict_find(enc, "EncryptMetadata", &emv) && next(&emv, &t)->t == T_WORD && t.n < sizeof em) {
        memcpy(em, t.s, t.n);
        em[t.n] = 0;
    }
    f->prm.encrypt_metadata = strcmp(em, "false") != 0;
    f->prm.stm = f->prm.str = PDF_CM_RC4;
    if (v >= 4 && (!method_of(enc, "StmF", &f->prm.stm) || !method_of(enc, "StrF", &f->prm.str)))
        return false;
    f->enc_dict = enc.p;
    cur after = enc;
    if (!skip_value(&after))
        return false;
    f->enc_dict_len = (size_t)(after.p - enc.p);

    /* the encrypted /Title and stream */
    if (!find_obj(&f->raw, f->info_num, &f->info_gen, &info) ||
        !get_str(info, "Title", f->title, sizeof f->title, &f->title_len) ||
        !find_obj(&f->raw, root_num, &root_gen, &root) ||
        !get_ref(root, "EsealData", &f->data_num) ||
        !find_obj(&f->raw, f->data_num, &f->data_gen, &data) ||
        !stream_data(data, &f->stream, &f->stream_len))
        return false;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* what qpdf says about a file */

/* qpdf's --show-encryption permission lines, and the Table 22 bits each stands for. */
static const char *const perm_lines[] = {"extract for accessibility", "extract for any purpose",
                                         "print low resolution",      "print high resolution",
                                         "modify document assembly",  "modify forms",
                                         "modify annotations",        "modify other"};
enum { N_PERMS = sizeof perm_lines / sizeof perm_lines[0] };

typedef struct qinfo {
    bool opened;
    int R;
    long P;
    char key[129]; /* lower-case hex */
    bool owner;
    int perm[N_PERMS]; /* 1 allowed, 0 not allowed, -1 missing */
} qinfo;

static const char *line_value(const char *out, const char *label) {
    size_t n = strlen(label);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, label, n) == 0 && strncmp(l + n, " = ", 3) == 0)
            return l + n + 3;
        if (strncmp(l, label, n) == 0 && strncmp(l + n, ": ", 2) == 0)
            return l + n + 2;
    }
    return NULL;
}

static qinfo qpdf_info(const char *path, const char *password) {
    qinfo q;
    buf cmd, out;
    memset(&q, 0, sizeof q);
    buf_init(&cmd, 1 << 16);
    buf_init(&out, 1 << 20);
    buf_puts(&cmd, "qpdf --show-encryption --show-encryption-key ");
    buf_puts(&cmd, "--password=");
    sh_quote(&cmd, password);
    buf_putc(&cmd, ' ');
    sh_quote(&cmd, path);
    buf_puts(&cmd, " 2>/dev/null");
    if (!capture(&out, &cmd))
        fprintf(stderr, "qpdf failed: %s\n", cstr(&cmd));
    const char *s = cstr(&out), *v;
    q.opened = strstr(s, "Incorrect password supplied") == NULL;
    q.owner = strstr(s, "Supplied password is owner password") != NULL;
    if ((v = line_value(s, "R")))
        q.R = atoi(v);
    if ((v = line_value(s, "P")))
        q.P = strtol(v, NULL, 10);
    if ((v = line_value(s, "Encryption key"))) {
        size_t i = 0;
        for (; i < sizeof q.key - 1 && hexval((uint8_t)v[i]) >= 0; i++)
            q.key[i] = (char)(v[i] >= 'A' && v[i] <= 'F' ? v[i] - 'A' + 'a' : v[i]);
        q.key[i] = 0;
    }
    for (int i = 0; i < N_PERMS; i++) {
        v = line_value(s, perm_lines[i]);
        q.perm[i] = !v                                   ? -1
                    : strncmp(v, "allowed", 7) == 0      ? 1
                    : strncmp(v, "not allowed", 11) == 0 ? 0
                                                         : -1;
    }
    buf_free(&cmd);
    buf_free(&out);
    return q;
}

static void hex(char *out, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the checks */

typedef struct tcase {
    const char *name;
    int key_bits;        /* 40, 128 or 256 */
    const char *options; /* qpdf's encryption options */
    const char *user;    /* user password */
    int V, R;
    pdf_crypt_method method;
} tcase;

static const char OWNER[] = "owner";
static char long_user[201]; /* 200 bytes; the file is made with the first 127 */

static const tcase cases[] = {
    {"R2 RC4-40", 40, "", "", 1, 2, PDF_CM_RC4},
    {"R2 user password, no modify, no print", 40, "--modify=n --print=n", "user-pw", 1, 2,
     PDF_CM_RC4},
    {"R2 no extract, no annotate", 40, "--extract=n --annotate=n", "", 1, 2, PDF_CM_RC4},
    {"R3 RC4-128", 128, "--use-aes=n", "", 2, 3, PDF_CM_RC4},
    {"R3 user password, modify none, print low", 128, "--use-aes=n --modify=none --print=low",
     "user-pw", 2, 3, PDF_CM_RC4},
    {"R3 no accessibility, no extract, no assemble", 128,
     "--use-aes=n --accessibility=n --extract=n --assemble=n", "", 2, 3, PDF_CM_RC4},
    {"R4 RC4 crypt filter", 128, "--use-aes=n --force-V4", "user-pw", 4, 4, PDF_CM_RC4},
    {"R4 AESV2", 128, "--use-aes=y", "", 4, 4, PDF_CM_AESV2},
    {"R4 AESV2 user password, cleartext metadata, modify form", 128,
     "--use-aes=y --cleartext-metadata --modify=form", "user-pw", 4, 4, PDF_CM_AESV2},
    {"R5 AESV3", 256, "--force-R5", "", 5, 5, PDF_CM_AESV3},
    {"R5 user password, modify none", 256, "--force-R5 --modify=none", "user-pw", 5, 5,
     PDF_CM_AESV3},
    {"R6 AESV3", 256, "", "", 5, 6, PDF_CM_AESV3},
    {"R6 user password, modify none, print low", 256, "--modify=none --print=low", "user-pw", 5, 6,
     PDF_CM_AESV3},
    {"R6 UTF-8 user password", 256, "--annotate=n", "p\xC3\xA4sswort-\xE5\xAF\x86\xE7\xA0\x81", 5,
     6, PDF_CM_AESV3},
    {"R6 user password longer than 127 bytes", 256, "", long_user, 5, 6, PDF_CM_AESV3},
};

/* Encrypts the plain file with qpdf. The 200-byte password case gives qpdf its first 127 bytes:
 * qpdf 11.3 cannot reopen a file it encrypted with a longer password (it truncates to 127 bytes
 * when reading only). */
static bool qpdf_encrypt(const char *plain, const char *out, const tcase *tc) {
    buf cmd;
    char user[128];
    snprintf(user, sizeof user, "%s", tc->user);
    buf_init(&cmd, 1 << 16);
    buf_puts(&cmd, "qpdf ");
    if (tc->key_bits < 256)
        buf_puts(&cmd, "--allow-weak-crypto ");
    buf_puts(&cmd, "--encrypt ");
    sh_quote(&cmd, user);
    buf_putc(&cmd, ' ');
    sh_quote(&cmd, OWNER);
    buf_printf(&cmd, " %d %s -- --compress-streams=n ", tc->key_bits, tc->options);
    sh_quote(&cmd, plain);
    buf_putc(&cmd, ' ');
    sh_quote(&cmd, out);
    bool ok = run(&cmd);
    buf_free(&cmd);
    return ok;
}

static bool is_aes(pdf_crypt_method m) {
    return m == PDF_CM_AESV2 || m == PDF_CM_AESV3;
}

/* pdf_crypt_allows against qpdf's reading of the same /P. */
static void check_perms(const pdf_crypt *c, const qinfo *q, const char *name) {
    const bool ours[N_PERMS] = {
        pdf_crypt_allows(c, 10),
        pdf_crypt_allows(c, PDF_PERM_COPY),
        pdf_crypt_allows(c, PDF_PERM_PRINT),
        pdf_crypt_allows(c, PDF_PERM_PRINT) && pdf_crypt_allows(c, PDF_PERM_PRINT_HIGH),
        pdf_crypt_allows(c, PDF_PERM_ASSEMBLE),
        pdf_crypt_allows(c, PDF_PERM_FILL_FORM),
        pdf_crypt_allows(c, PDF_PERM_ANNOTATE),
        pdf_crypt_allows(c, PDF_PERM_MODIFY),
    };
    for (int i = 0; i < N_PERMS; i++) {
        if (q->perm[i] != (int)ours[i]) {
            fprintf(stderr, "%s: \"%s\": qpdf %d, pdf_crypt_allows %d\n", name, perm_lines[i],
                    q->perm[i], (int)ours[i]);
            check_failures++;
        }
    }
    CHECK(!pdf_crypt_allows(c, 0));
    CHECK(!pdf_crypt_allows(c, 33));
}

/* The raw /Title and stream of qpdf's file decrypt to what was put in. */
static void check_decrypt_qpdf_bytes(const pdf_crypt *c, const enc_file *f) {
    buf out;
    buf_init(&out, FILE_MAX);
    CHECK_INT(pdf_crypt_decrypt(&out, c, false, f->info_num, f->info_gen, f->title, f->title_len),
              PDF_OK);
    CHECK(out.len == strlen(TITLE) && memcmp(out.data, TITLE, out.len) == 0);
    buf_reset(&out);
    CHECK_INT(pdf_crypt_decrypt(&out, c, true, f->data_num, f->data_gen, f->stream, f->stream_len),
              PDF_OK);
    CHECK(out.len == strlen(STREAM) && memcmp(out.data, STREAM, out.len) == 0);
    buf_reset(&out);
    /* RC4 has no IV: encrypting the plaintext again gives qpdf's bytes */
    if (c->str == PDF_CM_RC4) {
        CHECK_INT(pdf_crypt_encrypt(&out, c, false, f->info_num, f->info_gen,
                                    (const uint8_t *)TITLE, strlen(TITLE)),
                  PDF_OK);
        CHECK(out.len == f->title_len && memcmp(out.data, f->title, out.len) == 0);
    }
    /* below AESV3 the object number is part of the key (Algorithm 1; AESV3 uses the file key) */
    if (c->str != PDF_CM_AESV3) {
        buf_reset(&out);
        pdf_err e =
            pdf_crypt_decrypt(&out, c, false, f->info_num + 1, f->info_gen, f->title, f->title_len);
        CHECK(e != PDF_OK || out.len != strlen(TITLE) || memcmp(out.data, TITLE, out.len) != 0);
    }
    buf_free(&out);
}

/* Encrypt-then-decrypt over lengths around the AES block size; sizes as 7.6.2 gives them. */
static void check_round_trips(const pdf_crypt *c) {
    static const size_t lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 1000, 100003};
    uint8_t *plain = malloc(100003);
    buf enc, dec, enc2;
    buf_init(&enc, FILE_MAX);
    buf_init(&dec, FILE_MAX);
    buf_init(&enc2, FILE_MAX);
    for (size_t i = 0; plain && i < 100003; i++)
        plain[i] = (uint8_t)(i * 131 + 7);
    for (size_t k = 0; plain && k < sizeof lens / sizeof lens[0]; k++) {
        for (int stream = 0; stream < 2; stream++) {
            size_t n = lens[k];
            pdf_crypt_method m = stream ? c->stm : c->str;
            uint32_t num = 70001 + (uint32_t)k;
            uint16_t gen = (uint16_t)stream;
            buf_reset(&enc);
            buf_reset(&dec);
            buf_reset(&enc2);
            CHECK_INT(pdf_crypt_encrypt(&enc, c, stream, num, gen, plain, n), PDF_OK);
            CHECK_INT(enc.len, is_aes(m) ? 16 + (n / 16 + 1) * 16 : n);
            CHECK_INT(pdf_crypt_decrypt(&dec, c, stream, num, gen, enc.data, enc.len), PDF_OK);
            CHECK(dec.len == n && (n == 0 || memcmp(dec.data, plain, n) == 0));
            if (n >= 16 && m != PDF_CM_NONE)
                CHECK(memcmp(enc.data, plain, 16) != 0);
            /* AES: a fresh random IV each time */
            CHECK_INT(pdf_crypt_encrypt(&enc2, c, stream, num, gen, plain, n), PDF_OK);
            if (is_aes(m))
                CHECK(memcmp(enc.data, enc2.data, 16) != 0);
            else
                CHECK(enc.len == enc2.len && (n == 0 || memcmp(enc.data, enc2.data, n) == 0));
        }
    }
    CHECK(plain != NULL);
    free(plain);
    buf_free(&enc);
    buf_free(&dec);
    buf_free(&enc2);
}

/* AES input that is not an IV plus whole blocks, or whose padding is wrong, is refused; the output
 * buffer is left as it was. */
static void check_aes_refusals(const pdf_crypt *c) {
    static const uint8_t zeros[48];
    static const size_t bad_lens[] = {0, 16, 31, 33, 47};
    buf out, enc;
    buf_init(&out, FILE_MAX);
    buf_init(&enc, FILE_MAX);
    buf_puts(&out, "kept");
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
        CHECK_INT(pdf_crypt_decrypt(&out, c, false, 9, 0, zeros, bad_lens[i]), PDF_E_ENCRYPTION);
        CHECK_INT(out.len, 4);
    }
    /* 16 bytes of plaintext: IV, one data block C1, one block of padding (16 x 0x10). Flipping
     * bits of C1 flips the same bits of the decrypted padding block (CBC), so the padding can be
     * broken on purpose without knowing the key. */
    static const struct {
        int at;
        uint8_t x;
    } flips[] = {{15, 0x10}, {15, 0x10 ^ 0x11}, {14, 0x01}, {0, 0x10}};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        buf_reset(&enc);
        CHECK_INT(pdf_crypt_encrypt(&enc, c, false, 9, 0, (const uint8_t *)"0123456789abcdef", 16),
                  PDF_OK);
        CHECK_INT(enc.len, 48);
        if (enc.len != 48)
            continue;
        enc.data[16 + flips[i].at] ^= flips[i].x;
        CHECK_INT(pdf_crypt_decrypt(&out, c, false, 9, 0, enc.data, enc.len), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "padding") != NULL);
        CHECK_INT(out.len, 4);
    }
    buf_free(&out);
    buf_free(&enc);
}

/* A file whose /Title and stream come from pdf_crypt_encrypt, with qpdf's encryption dictionary
 * and /ID: qpdf must read both back. Object numbers above 65535 and a non-zero generation
 * exercise every byte Algorithm 1 takes from them. */
static void check_qpdf_reads_ours(const pdf_crypt *c, const enc_file *f, const char *path,
                                  const char *password) {
    buf title, info, stream, data, trailer, cmd, out;
    char idhex[513];
    obj objs[5];
    buf_init(&title, 4096);
    buf_init(&info, 4096);
    buf_init(&stream, 4096);
    buf_init(&data, 4096);
    buf_init(&trailer, 4096);
    buf_init(&cmd, 1 << 16);
    buf_init(&out, 1 << 20);

    CHECK_INT(pdf_crypt_encrypt(&title, c, false, 70001, 0, (const uint8_t *)NEW_TITLE,
                                strlen(NEW_TITLE)),
              PDF_OK);
    buf_puts(&info, "<< /Title <");
    buf_put_hex(&info, title.data, title.len);
    buf_puts(&info, "> >>");
    CHECK_INT(pdf_crypt_encrypt(&data, c, true, 70002, 2, (const uint8_t *)NEW_STREAM,
                                strlen(NEW_STREAM)),
              PDF_OK);
    buf_printf(&stream, "<< /Length %zu >>\nstream\n", data.len);
    buf_append(&stream, data.data, data.len);
    buf_puts(&stream, "\nendstream");
    hex(idhex, f->id0, f->prm.id0_len);
    buf_printf(&trailer, "/Root 1 0 R /Info 70001 0 R /Encrypt 3 0 R /ID [<%s><%s>]", idhex, idhex);

    text_obj(&objs[0], 1, "<< /Type /Catalog /Pages 2 0 R /EsealData 70002 2 R >>");
    text_obj(&objs[1], 2, "<< /Type /Pages /Kids [] /Count 0 >>");
    objs[2] = (obj){3, 0, f->enc_dict, f->enc_dict_len};
    objs[3] = (obj){70001, 0, info.data, info.len};
    objs[4] = (obj){70002, 2, stream.data, stream.len};
    CHECK(write_pdf(path, objs, 5, cstr(&trailer)));

    buf_puts(&cmd, "qpdf --check --password=");
    sh_quote(&cmd, password);
    buf_putc(&cmd, ' ');
    sh_quote(&cmd, path);
    buf_puts(&cmd, " >/dev/null");
    CHECK(run(&cmd));

    buf_reset(&cmd);
    buf_puts(&cmd, "qpdf --show-object=70001 --password=");
    sh_quote(&cmd, password);
    buf_putc(&cmd, ' ');
    sh_quote(&cmd, path);
    CHECK(capture(&out, &cmd));
    char want[128];
    snprintf(want, sizeof want, "/Title (%s)", NEW_TITLE);
    CHECK(strstr(cstr(&out), want) != NULL);

    buf_reset(&cmd);
    buf_reset(&out);
    buf_puts(&cmd, "qpdf --show-object=70002,2 --raw-stream-data --password=");
    sh_quote(&cmd, password);
    buf_putc(&cmd, ' ');
    sh_quote(&cmd, path);
    CHECK(capture(&out, &cmd));
    CHECK(out.len == strlen(NEW_STREAM) && memcmp(out.data, NEW_STREAM, out.len) == 0);

    buf_free(&title);
    buf_free(&info);
    buf_free(&stream);
    buf_free(&data);
    buf_free(&trailer);
    buf_free(&cmd);
    buf_free(&out);
}

/* Changing /P breaks R 2-4 keys (Algorithm 2 hashes it) and, for R 6, must be caught by /Perms. */
static void check_tampering(const enc_file *f, const tcase *tc) {
    pdf_crypt c;
    pdf_crypt_params p = f->prm;
    p.P ^= 1 << 2; /* printing */
    if (tc->R <= 4) {
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_PASSWORD);
        CHECK_INT(pdf_crypt_init(&c, &p, OWNER), PDF_E_PASSWORD);
    } else if (tc->R == 6) {
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "/Perms does not match /P") != NULL);
        CHECK_INT(pdf_crypt_init(&c, &p, OWNER), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "/Perms does not match /P") != NULL);
        uint8_t perms[16];
        memcpy(perms, f->Perms, 16);
        perms[3] ^= 0x80;
        p = f->prm;
        p.Perms = perms;
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "/Perms does not match /P") != NULL);
    }
    /* a changed /U: both passwords fail (Algorithm 6 compares /U; Algorithm 7 ends in Algorithm 6;
     * Algorithms 11 and 12 hash /U in) */
    p = f->prm;
    uint8_t u[256];
    memcpy(u, f->U, f->prm.U_len);
    u[0] ^= 1;
    p.U = u;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_PASSWORD);
    CHECK_INT(pdf_crypt_init(&c, &p, OWNER), PDF_E_PASSWORD);
}

/* Malformed dictionaries: the exact error and a detail naming the problem. */
static void check_malformed(const enc_file *f, const tcase *tc) {
    pdf_crypt c;
    pdf_crypt_params p = f->prm;
    size_t hash_len = tc->R >= 5 ? 48 : 32;
    memset(&c, 0x5A, sizeof c);

    p.U_len = hash_len - 1;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    CHECK(strstr(pdf_errdetail(), "/U") != NULL);
    CHECK_INT(c.key_len, 0); /* no key left behind */
    p = f->prm;
    p.O = NULL;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    p = f->prm;
    p.O_len = 200;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    if (tc->R >= 5) {
        p = f->prm;
        p.UE_len = 31;
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "/UE") != NULL);
        p = f->prm;
        p.OE = NULL;
        CHECK_INT(pdf_crypt_init(&c, &p, OWNER), PDF_E_ENCRYPTION);
        p = f->prm;
        p.stm = PDF_CM_AESV2;
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    }
    if (tc->R == 6) {
        p = f->prm;
        p.Perms_len = 15;
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "/Perms") != NULL);
    }
    if (tc->V == 2) {
        p = f->prm;
        p.length_bits = 44;
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
        CHECK(strstr(pdf_errdetail(), "/Length 44") != NULL);
    }
    if (tc->V == 4) {
        p = f->prm;
        p.str = PDF_CM_AESV3;
        CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    }
    p = f->prm;
    p.V = 3;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    CHECK(strstr(pdf_errdetail(), "/V 3") != NULL);
    p = f->prm;
    p.R = 7;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ENCRYPTION);
    CHECK(strstr(pdf_errdetail(), "/R 7") != NULL);
    p = f->prm;
    p.id0 = NULL;
    CHECK_INT(pdf_crypt_init(&c, &p, tc->user), PDF_E_ARG);
}

static void run_case(const char *plain, int idx) {
    const tcase *tc = &cases[idx];
    char path[4200], ours[4200];
    enc_file f;
    snprintf(path, sizeof path, "%s/case%02d.pdf", tmpdir, idx);
    snprintf(ours, sizeof ours, "%s/case%02d-ours.pdf", tmpdir, idx);
    int before = check_failures;

    if (!qpdf_encrypt(plain, path, tc) || !load_enc(&f, path)) {
        fprintf(stderr, "%s: could not make or read %s\n", tc->name, path);
        check_failures++;
        buf_free(&f.raw);
        return;
    }
    CHECK_INT(f.prm.V, tc->V);
    CHECK_INT(f.prm.R, tc->R);
    CHECK_INT(f.prm.str, tc->method);

    qinfo qu = qpdf_info(path, tc->user), qo = qpdf_info(path, OWNER);
    CHECK(qu.opened && !qu.owner);
    CHECK(qo.opened && qo.owner);
    CHECK_INT(qu.R, tc->R);
    CHECK_INT(qu.P, f.prm.P);

    /* the user password */
    pdf_crypt cu, co;
    char key[129];
    CHECK_INT(pdf_crypt_init(&cu, &f.prm, tc->user), PDF_OK);
    CHECK(!cu.owner);
    CHECK_INT(cu.R, tc->R);
    CHECK_INT((int32_t)cu.P, f.prm.P);
    hex(key, cu.key, cu.key_len);
    CHECK_STR(key, qu.key);

    /* the owner password gives the same key */
    CHECK_INT(pdf_crypt_init(&co, &f.prm, OWNER), PDF_OK);
    CHECK(co.owner);
    hex(key, co.key, co.key_len);
    CHECK_STR(key, qo.key);

    /* other passwords */
    pdf_crypt cx;
    if (*tc->user) {
        CHECK_INT(pdf_crypt_init(&cx, &f.prm, ""), PDF_E_PASSWORD);
        CHECK_INT(qpdf_info(path, "").opened, false);
    }
    CHECK_INT(pdf_crypt_init(&cx, &f.prm, "not the password"), PDF_E_PASSWORD);
    CHECK(strlen(pdf_errdetail()) > 0);
    CHECK_INT(pdf_crypt_init(&cx, &f.prm, "Owner"), PDF_E_PASSWORD);

    /* R 5/6 passwords are truncated to 127 bytes (ISO 32000-2 7.6.4.3.3); qpdf agrees */
    if (tc->user == long_user) {
        char shorter[127];
        memcpy(shorter, long_user, 126);
        shorter[126] = 0;
        CHECK_INT(pdf_crypt_init(&cx, &f.prm, long_user), PDF_OK);
        CHECK_INT(pdf_crypt_init(&cx, &f.prm, shorter), PDF_E_PASSWORD);
        CHECK(qpdf_info(path, long_user).opened);
        CHECK(!qpdf_info(path, shorter).opened);
    }

    check_perms(&cu, &qu, tc->name);
    check_perms(&co, &qo, tc->name);
    check_decrypt_qpdf_bytes(&cu, &f);
    check_decrypt_qpdf_bytes(&co, &f);
    check_round_trips(&cu);
    if (is_aes(tc->method))
        check_aes_refusals(&cu);
    check_qpdf_reads_ours(&cu, &f, ours, tc->user);
    check_tampering(&f, tc);
    check_malformed(&f, tc);

    if (check_failures != before)
        fprintf(stderr, "case \"%s\" (%s) failed\n", tc->name, path);
    else
        unlink(path), unlink(ours);
    buf_free(&f.raw);
}

/* Crypt filter /Identity, the buffer's maximum and a NULL input, on a made-up AESV3 state. */
static void check_identity_and_limit(void) {
    pdf_crypt c;
    memset(&c, 0, sizeof c);
    c.R = 6;
    c.key_len = 32;
    c.str = PDF_CM_NONE;
    c.stm = PDF_CM_AESV3;
    buf out;
    buf_init(&out, 40);
    CHECK_INT(pdf_crypt_encrypt(&out, &c, false, 1, 0, (const uint8_t *)"plain", 5), PDF_OK);
    CHECK(out.len == 5 && memcmp(out.data, "plain", 5) == 0);
    CHECK_INT(pdf_crypt_decrypt(&out, &c, false, 1, 0, (const uint8_t *)"text", 4), PDF_OK);
    CHECK(out.len == 9 && memcmp(out.data, "plaintext", 9) == 0);
    /* 20 bytes of AES output need 16 + 32: more than the 31 left */
    uint8_t twenty[20] = {0};
    CHECK_INT(pdf_crypt_encrypt(&out, &c, true, 1, 0, twenty, 20), PDF_E_LIMIT);
    CHECK_INT(out.len, 9);
    CHECK_INT(pdf_crypt_encrypt(&out, &c, true, 1, 0, NULL, 3), PDF_E_ARG);
    buf_free(&out);
}

int main(void) {
    const char *base = getenv("ESEAL_BUILD_DIR");
    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/test_pdf_crypt.XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        perror(tmpdir);
        return 1;
    }
    if (system("qpdf --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_pdf_crypt needs the qpdf command\n");
        return 1;
    }
    for (int i = 0; i < 200; i++)
        long_user[i] = (char)('a' + i % 26);
    long_user[200] = 0;

    /* the plain file: a catalog pointing at a stream, a page tree, an /Info with a /Title */
    char plain[4200], catalog[] = "<< /Type /Catalog /Pages 2 0 R /EsealData 4 0 R >>";
    char info[128], stream[256];
    snprintf(plain, sizeof plain, "%s/plain.pdf", tmpdir);
    snprintf(info, sizeof info, "<< /Title (%s) >>", TITLE);
    snprintf(stream, sizeof stream, "<< /Length %zu >>\nstream\n%sendstream", strlen(STREAM),
             STREAM);
    obj objs[4];
    text_obj(&objs[0], 1, catalog);
    text_obj(&objs[1], 2, "<< /Type /Pages /Kids [] /Count 0 >>");
    text_obj(&objs[2], 3, info);
    text_obj(&objs[3], 4, stream);
    if (!write_pdf(plain, objs, 4, "/Root 1 0 R /Info 3 0 R")) {
        perror(plain);
        return 1;
    }

    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        run_case(plain, i);
    check_identity_and_limit();

    if (!check_failures) {
        unlink(plain);
        rmdir(tmpdir);
    }
    return check_report("test_pdf_crypt");
}
