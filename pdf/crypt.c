/* The standard security handler: ISO 32000-1 7.6 (RC4 and AES-128, R 2-4), Adobe Supplement to
 * ISO 32000 Extension Level 3 (AES-256, R 5) and ISO 32000-2 7.6.4 (AES-256, R 6).
 *
 * Only OpenSSL 3.0 EVP interfaces are used. RC4 is written out here: OpenSSL 3 keeps it in the
 * legacy provider, which a server should not have to load to read old PDFs. Key material on the
 * stack is wiped with OPENSSL_cleanse before a function returns. */
#include "pdf/crypt.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pdf/internal.h"

/* ISO 32000-1 7.6.3.3, Algorithm 2 step a: the padding string. */
static const uint8_t password_padding[32] = {
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A};

enum {
    PW_MAX_V5 = 127,  /* ISO 32000-2 7.6.4.3.3 step a: UTF-8 password truncated to 127 bytes */
    HASH_2B_MAX = 64, /* SHA-512 output, the longest K of algorithm 2.B */
    UDATA_LEN = 48,   /* /U's hash, validation salt and key salt (R 5/6) */
    AES_BLOCK = 16,
    CHUNK_MAX = 1 << 30 /* the most bytes handed to one EVP_*Update (it takes an int) */
};

/* ------------------------------------------------------------------------------------------ */
/* libcrypto helpers */

static pdf_err ossl_fail(const char *what) {
    char reason[256];
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    else
        snprintf(reason, sizeof reason, "no reason given");
    ERR_clear_error();
    return pdf_fail(PDF_E_ENCRYPTION, "%s failed in libcrypto: %s", what, reason);
}

static pdf_err buf_fail(int rc, const char *what) {
    if (rc == BUF_ETOOBIG)
        return pdf_fail(PDF_E_LIMIT, "%s: output exceeds the buffer's maximum", what);
    return pdf_fail(PDF_E_NOMEM, "%s: %s", what, buf_strerror(rc));
}

typedef struct part {
    const void *p;
    size_t n;
} part;

/* out = md(parts[0] || parts[1] || ...); out must hold EVP_MD_get_size(md) bytes. */
static pdf_err hash_parts(uint8_t *out, const EVP_MD *md, const part *parts, size_t count) {
    pdf_err err = PDF_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
        err = ossl_fail("digest init");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (parts[i].n && !EVP_DigestUpdate(ctx, parts[i].p, parts[i].n)) {
            err = ossl_fail("digest update");
            goto out;
        }
    }
    if (!EVP_DigestFinal_ex(ctx, out, NULL))
        err = ossl_fail("digest final");
out:
    EVP_MD_CTX_free(ctx);
    return err;
}

/* AES without padding over n bytes (a multiple of 16, at most CHUNK_MAX); in and out may be the
 * same buffer. iv is NULL for ECB. */
static pdf_err aes_nopad(uint8_t *out, const EVP_CIPHER *cipher, int enc, const uint8_t *key,
                         const uint8_t *iv, const uint8_t *in, size_t n) {
    pdf_err err = PDF_OK;
    int len = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (n % AES_BLOCK || n > CHUNK_MAX) {
        err = pdf_fail(PDF_E_ARG, "AES over %zu bytes", n);
        goto out;
    }
    if (!ctx || !EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc) ||
        !EVP_CIPHER_CTX_set_padding(ctx, 0) || !EVP_CipherUpdate(ctx, out, &len, in, (int)n) ||
        !EVP_CipherFinal_ex(ctx, out + len, &fin)) {
        err = ossl_fail("AES");
        goto out;
    }
    if ((size_t)len + (size_t)fin != n)
        err = pdf_fail(PDF_E_ENCRYPTION, "AES returned %d bytes for %zu", len + fin, n);
out:
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* RC4 (ISO 32000-1 7.6.2: the RC4 cipher of RSA Security) */

typedef struct rc4 {
    uint8_t s[256];
    uint8_t i, j;
} rc4;

static void rc4_init(rc4 *r, const uint8_t *key, size_t n) {
    for (int k = 0; k < 256; k++)
        r->s[k] = (uint8_t)k;
    uint8_t j = 0;
    for (int k = 0; k < 256; k++) {
        j = (uint8_t)(j + r->s[k] + key[(size_t)k % n]);
        uint8_t t = r->s[k];
        r->s[k] = r->s[j];
        r->s[j] = t;
    }
    r->i = r->j = 0;
}

/* out = in XOR keystream; out may be in. */
static void rc4_apply(rc4 *r, uint8_t *out, const uint8_t *in, size_t n) {
    for (size_t k = 0; k < n; k++) {
        r->i = (uint8_t)(r->i + 1);
        r->j = (uint8_t)(r->j + r->s[r->i]);
        uint8_t t = r->s[r->i];
        r->s[r->i] = r->s[r->j];
        r->s[r->j] = t;
        out[k] = in[k] ^ r->s[(uint8_t)(r->s[r->i] + r->s[r->j])];
    }
}

/* One RC4 pass with a fresh key, in place. */
static void rc4_once(uint8_t *data, size_t n, const uint8_t *key, size_t key_len) {
    rc4 r;
    rc4_init(&r, key, key_len);
    rc4_apply(&r, data, data, n);
    OPENSSL_cleanse(&r, sizeof r);
}

/* ISO 32000-1 7.6.3.3 Algorithm 5 steps d-e (and Algorithm 7 step b): 19 further RC4 passes, each
 * with the key's bytes XORed with the pass number; descending for decryption of /O, as the
 * standard words it (RC4 keystreams XOR in any order to the same result). */
static void rc4_xor_passes(uint8_t *data, size_t n, const uint8_t *key, size_t key_len,
                           bool descending) {
    uint8_t k[16];
    for (int pass = 1; pass <= 19; pass++) {
        int x = descending ? 20 - pass : pass;
        for (size_t b = 0; b < key_len; b++)
            k[b] = (uint8_t)(key[b] ^ x);
        rc4_once(data, n, k, key_len);
    }
    OPENSSL_cleanse(k, sizeof k);
}

/* ------------------------------------------------------------------------------------------ */
/* R 2-4: ISO 32000-1 7.6.3.3 and 7.6.3.4 */

/* Algorithm 2 step a: the password padded or truncated to 32 bytes. The password's bytes are used
 * as given: ISO 32000-1 wants PDFDocEncoding, which is the same as UTF-8 for ASCII passwords. */
static void pad_password(uint8_t out[32], const char *password) {
    size_t n = strlen(password);
    if (n > 32)
        n = 32;
    memcpy(out, password, n);
    memcpy(out + n, password_padding, 32 - n);
}

static void put_le32(uint8_t out[4], uint32_t v) {
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)(v >> 8);
    out[2] = (uint8_t)(v >> 16);
    out[3] = (uint8_t)(v >> 24);
}

/* ISO 32000-1 7.6.3.3 Algorithm 2: the file key (n bytes) from a padded user password. */
static pdf_err key_r2_r4(uint8_t key[16], size_t n, const pdf_crypt_params *p,
                         const uint8_t padded[32]) {
    uint8_t digest[16], perm[4];
    static const uint8_t no_metadata[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    put_le32(perm, (uint32_t)p->P);
    const part parts[] = {{padded, 32},
                          {p->O, 32},
                          {perm, 4},
                          {p->id0, p->id0_len},
                          {no_metadata, (p->R >= 4 && !p->encrypt_metadata) ? 4 : 0}};
    pdf_err err = hash_parts(digest, EVP_md5(), parts, sizeof parts / sizeof parts[0]);
    /* step h: for R 3 or greater, 50 more MD5 rounds over the first n bytes */
    for (int i = 0; !err && p->R >= 3 && i < 50; i++) {
        const part again = {digest, n};
        err = hash_parts(digest, EVP_md5(), &again, 1);
    }
    if (!err)
        memcpy(key, digest, n);
    OPENSSL_cleanse(digest, sizeof digest);
    return err;
}

/* ISO 32000-1 7.6.3.4 Algorithm 6 (with Algorithm 4 for R 2 and Algorithm 5 for R 3-4): is the
 * padded password the user password? The file key it gives is left in key. */
static pdf_err check_user_r2_r4(bool *ok, uint8_t key[16], size_t n, const pdf_crypt_params *p,
                                const uint8_t padded[32]) {
    uint8_t u[32];
    *ok = false;
    pdf_err err = key_r2_r4(key, n, p, padded);
    if (err)
        goto out;
    if (p->R == 2) {
        /* Algorithm 4: RC4 of the padding string; all 32 bytes must match */
        memcpy(u, password_padding, 32);
        rc4_once(u, 32, key, n);
        *ok = CRYPTO_memcmp(u, p->U, 32) == 0;
    } else {
        /* Algorithm 5: MD5 of the padding string and the first /ID element, RC4 with the key,
         * 19 passes with derived keys; the first 16 bytes must match */
        const part parts[] = {{password_padding, 32}, {p->id0, p->id0_len}};
        err = hash_parts(u, EVP_md5(), parts, 2);
        if (err)
            goto out;
        rc4_once(u, 16, key, n);
        rc4_xor_passes(u, 16, key, n, false);
        *ok = CRYPTO_memcmp(u, p->U, 16) == 0;
    }
out:
    OPENSSL_cleanse(u, sizeof u);
    return err;
}

/* ISO 32000-1 7.6.3.4 Algorithm 7: is the padded password the owner password? Algorithm 3
 * steps a-d give the RC4 key, which decrypts /O to the padded user password; that is then checked
 * with Algorithm 6. */
static pdf_err check_owner_r2_r4(bool *ok, uint8_t key[16], size_t n, const pdf_crypt_params *p,
                                 const uint8_t padded[32]) {
    uint8_t digest[16], user[32];
    *ok = false;
    const part pw = {padded, 32};
    pdf_err err = hash_parts(digest, EVP_md5(), &pw, 1);
    /* Algorithm 3 step c: for R 3 or greater, 50 more rounds over the whole previous output */
    for (int i = 0; !err && p->R >= 3 && i < 50; i++) {
        const part again = {digest, 16};
        err = hash_parts(digest, EVP_md5(), &again, 1);
    }
    if (err)
        goto out;
    memcpy(user, p->O, 32);
    if (p->R == 2) {
        rc4_once(user, 32, digest, n);
    } else {
        /* Algorithm 7 step b: 20 passes, keys XORed with 19 down to 0 */
        rc4_xor_passes(user, 32, digest, n, true);
        rc4_once(user, 32, digest, n);
    }
    err = check_user_r2_r4(ok, key, n, p, user);
out:
    OPENSSL_cleanse(digest, sizeof digest);
    OPENSSL_cleanse(user, sizeof user);
    return err;
}

/* The key length in bytes (ISO 32000-1 Table 20 /Length; Algorithm 2 step i). */
static pdf_err key_len_r2_r4(size_t *out, const pdf_crypt_params *p) {
    pdf_err err = PDF_OK;
    int bits = p->length_bits ? p->length_bits : 40;
    if (p->R == 2 || p->V == 1) {
        *out = 5; /* n is always 5 for R 2; V 1 is the 40-bit algorithm */
    } else if (p->V == 4) {
        *out = 16; /* V 4: 128-bit keys (7.6.5 crypt filters) */
    } else if (bits < 40 || bits > 128 || bits % 8) {
        err = pdf_fail(PDF_E_ENCRYPTION, "/Length %d is not a multiple of 8 in 40..128",
                       p->length_bits);
    } else {
        *out = (size_t)bits / 8;
    }
    return err;
}

static pdf_err init_r2_r4(pdf_crypt *c, const pdf_crypt_params *p, const char *password) {
    uint8_t padded[32];
    size_t n = 0;
    bool ok = false;
    pdf_err err = PDF_OK;
    if (!p->O || !p->U || p->O_len != 32 || p->U_len != 32) {
        err = pdf_fail(PDF_E_ENCRYPTION, "/O and /U must be 32-byte strings for /R %d (%zu, %zu)",
                       p->R, p->O ? p->O_len : 0, p->U ? p->U_len : 0);
        goto out;
    }
    err = key_len_r2_r4(&n, p);
    if (err)
        goto out;
    pad_password(padded, password);
    err = check_user_r2_r4(&ok, c->key, n, p, padded);
    if (!err && !ok) {
        err = check_owner_r2_r4(&ok, c->key, n, p, padded);
        c->owner = ok;
    }
    if (err)
        goto out;
    if (!ok) {
        err = pdf_fail(PDF_E_PASSWORD, "the password is neither the user nor the owner password");
        goto out;
    }
    c->key_len = n;
out:
    OPENSSL_cleanse(padded, sizeof padded);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* R 5 and 6: Adobe Extension Level 3 3.5.2 and ISO 32000-2 7.6.4.3.3-4 */

/* ISO 32000-2 7.6.4.3.4 Algorithm 2.B: the R 6 hash of password, salt and (for the owner) the 48
 * bytes of /U. K starts as SHA-256 of the input; each round encrypts 64 copies of
 * password || K || udata with AES-128-CBC (key and IV from K) and hashes the result with SHA-256,
 * -384 or -512 chosen by the first 16 bytes mod 3; at least 64 rounds, until the last byte of E
 * is at most round - 32 (the initial SHA-256 is not a round). */
static pdf_err hash_2b(uint8_t out[32], const uint8_t *pw, size_t pw_len, const uint8_t salt[8],
                       const uint8_t *udata) {
    uint8_t k[HASH_2B_MAX];
    uint8_t e[64 * (PW_MAX_V5 + HASH_2B_MAX + UDATA_LEN)];
    size_t k_len = 32, u_len = udata ? UDATA_LEN : 0;
    const part first[] = {{pw, pw_len}, {salt, 8}, {udata, u_len}};
    pdf_err err = hash_parts(k, EVP_sha256(), first, 3);
    for (int round = 1; !err; round++) {
        size_t seq = pw_len + k_len + u_len;
        for (size_t i = 0; i < 64; i++) {
            uint8_t *dst = e + i * seq;
            memcpy(dst, pw, pw_len);
            memcpy(dst + pw_len, k, k_len);
            if (u_len)
                memcpy(dst + pw_len + k_len, udata, u_len);
        }
        /* 64 * seq is a multiple of 16 */
        err = aes_nopad(e, EVP_aes_128_cbc(), 1, k, k + 16, e, 64 * seq);
        if (err)
            break;
        unsigned sum = 0; /* 256 = 1 (mod 3): the 128-bit number mod 3 is its bytes' sum mod 3 */
        for (int i = 0; i < 16; i++)
            sum += e[i];
        const EVP_MD *md = sum % 3 == 0 ? EVP_sha256() : sum % 3 == 1 ? EVP_sha384() : EVP_sha512();
        const part all = {e, 64 * seq};
        err = hash_parts(k, md, &all, 1);
        k_len = (size_t)EVP_MD_get_size(md);
        /* ends by round 287 at the latest, when round - 32 reaches 255 */
        if (round >= 64 && e[64 * seq - 1] <= round - 32)
            break;
    }
    if (!err)
        memcpy(out, k, 32);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(e, sizeof e);
    return err;
}

/* R 5: SHA-256(password || salt || udata) (Extension Level 3, Algorithm 3.2a); R 6: 2.B. */
static pdf_err hash_v5(uint8_t out[32], int R, const uint8_t *pw, size_t pw_len,
                       const uint8_t salt[8], const uint8_t *udata) {
    pdf_err err;
    if (R == 6) {
        err = hash_2b(out, pw, pw_len, salt, udata);
    } else {
        const part parts[] = {{pw, pw_len}, {salt, 8}, {udata, udata ? UDATA_LEN : 0}};
        err = hash_parts(out, EVP_sha256(), parts, 3);
    }
    return err;
}

/* /O and /U hold a 32-byte hash, an 8-byte validation salt and an 8-byte key salt. Some writers
 * pad them to 127 bytes; only the first 48 count. */
static bool v5_ou_ok(const uint8_t *s, size_t n) {
    return s && n >= UDATA_LEN && n <= PW_MAX_V5;
}

static pdf_err init_v5(pdf_crypt *c, const pdf_crypt_params *p, const char *password) {
    uint8_t h[32], ikey[32], perms[16];
    const uint8_t *pw = (const uint8_t *)password;
    size_t pw_len = 0;
    pdf_err err = PDF_OK;
    if (!v5_ou_ok(p->O, p->O_len) || !v5_ou_ok(p->U, p->U_len)) {
        err = pdf_fail(PDF_E_ENCRYPTION, "/O and /U must be 48-byte strings for /R %d (%zu, %zu)",
                       p->R, p->O ? p->O_len : 0, p->U ? p->U_len : 0);
        goto out;
    }
    if (!p->OE || !p->UE || p->OE_len != 32 || p->UE_len != 32) {
        err = pdf_fail(PDF_E_ENCRYPTION, "/OE and /UE must be 32-byte strings for /R %d (%zu, %zu)",
                       p->R, p->OE ? p->OE_len : 0, p->UE ? p->UE_len : 0);
        goto out;
    }
    if (p->R == 6 && (!p->Perms || p->Perms_len != 16)) {
        err = pdf_fail(PDF_E_ENCRYPTION, "/Perms must be a 16-byte string for /R 6 (%zu)",
                       p->Perms ? p->Perms_len : 0);
        goto out;
    }
    /* ISO 32000-2 7.6.4.3.3 step a: the UTF-8 password truncated to 127 bytes. SASLprep (RFC 4013)
     * is not applied: passwords are compared as the bytes the caller gives. */
    while (pw_len < PW_MAX_V5 && password[pw_len])
        pw_len++;

    /* ISO 32000-2 7.6.4.4 Algorithm 11 (user): hash with the validation salt U[32..40] must equal
     * U[0..32]; then Algorithm 2.A step f: hash with the key salt U[40..48] decrypts /UE
     * (AES-256-CBC, zero IV, no padding) into the file key. The user password is tried first (as
     * for R 2-4), so a password that is both counts as the user's. */
    err = hash_v5(h, p->R, pw, pw_len, p->U + 32, NULL);
    if (err)
        goto out;
    if (CRYPTO_memcmp(h, p->U, 32) == 0) {
        err = hash_v5(ikey, p->R, pw, pw_len, p->U + 40, NULL);
        if (!err)
            err = aes_nopad(c->key, EVP_aes_256_cbc(), 0, ikey, (const uint8_t[16]){0}, p->UE, 32);
    } else {
        /* ISO 32000-2 7.6.4.4 Algorithm 12 (owner): the same with /O's salts and the 48 bytes of /U
         * appended; the key from /OE (Algorithm 2.A step e) */
        err = hash_v5(h, p->R, pw, pw_len, p->O + 32, p->U);
        if (err)
            goto out;
        if (CRYPTO_memcmp(h, p->O, 32) != 0) {
            err =
                pdf_fail(PDF_E_PASSWORD, "the password is neither the user nor the owner password");
            goto out;
        }
        c->owner = true;
        err = hash_v5(ikey, p->R, pw, pw_len, p->O + 40, p->U);
        if (!err)
            err = aes_nopad(c->key, EVP_aes_256_cbc(), 0, ikey, (const uint8_t[16]){0}, p->OE, 32);
    }
    if (err)
        goto out;
    c->key_len = 32;

    /* ISO 32000-2 7.6.4.4 Algorithm 13: /Perms decrypted with AES-256-ECB and the file key must
     * read "adb" at bytes 9-11 and hold /P little-endian at bytes 0-3. */
    if (p->R == 6) {
        err = aes_nopad(perms, EVP_aes_256_ecb(), 0, c->key, NULL, p->Perms, 16);
        if (err)
            goto out;
        uint32_t pv = (uint32_t)perms[0] | (uint32_t)perms[1] << 8 | (uint32_t)perms[2] << 16 |
                      (uint32_t)perms[3] << 24;
        if (memcmp(perms + 9, "adb", 3) != 0) {
            err = pdf_fail(PDF_E_ENCRYPTION,
                           "/Perms does not match /P: it does not decrypt with the file key");
        } else if (pv != (uint32_t)p->P) {
            err = pdf_fail(PDF_E_ENCRYPTION, "/Perms does not match /P: /Perms holds %d, /P is %d",
                           (int32_t)pv, p->P);
        }
    }
out:
    OPENSSL_cleanse(h, sizeof h);
    OPENSSL_cleanse(ikey, sizeof ikey);
    OPENSSL_cleanse(perms, sizeof perms);
    return err;
}

/* ------------------------------------------------------------------------------------------ */

static bool method_ok(int V, pdf_crypt_method m) {
    if (V == 4)
        return m == PDF_CM_NONE || m == PDF_CM_RC4 || m == PDF_CM_AESV2;
    return m == PDF_CM_NONE || m == PDF_CM_AESV3; /* V 5 */
}

/* ISO 32000-2 7.6.4.1 Table 20 /V and Table 21 /R: the pairs this handler supports. */
static bool v_r_supported(int V, int R) {
    return ((V == 1 || V == 2) && (R == 2 || R == 3)) || (V == 4 && R == 4) ||
           (V == 5 && (R == 5 || R == 6));
}

pdf_err pdf_crypt_init(pdf_crypt *out, const pdf_crypt_params *params, const char *password) {
    pdf_err err = PDF_OK;
    if (!out || !params || !password) {
        err = pdf_fail(PDF_E_ARG, "pdf_crypt_init: NULL argument");
        goto out;
    }
    memset(out, 0, sizeof *out);
    if (params->id0_len && !params->id0) {
        err = pdf_fail(PDF_E_ARG, "pdf_crypt_init: /ID length without bytes");
        goto out;
    }
    if (!v_r_supported(params->V, params->R)) {
        err = pdf_fail(PDF_E_ENCRYPTION, "unsupported standard security handler /V %d /R %d",
                       params->V, params->R);
        goto out;
    }
    out->R = params->R;
    out->P = (uint32_t)params->P;
    if (params->V >= 4) {
        if (!method_ok(params->V, params->stm) || !method_ok(params->V, params->str)) {
            err =
                pdf_fail(PDF_E_ENCRYPTION, "crypt filter method not allowed with /V %d", params->V);
            goto out;
        }
        out->stm = params->stm;
        out->str = params->str;
    } else {
        out->stm = out->str = PDF_CM_RC4;
    }
    err = params->V == 5 ? init_v5(out, params, password) : init_r2_r4(out, params, password);
out:
    if (err && out)
        OPENSSL_cleanse(out, sizeof *out);
    return err;
}

bool pdf_crypt_allows(const pdf_crypt *c, int bit) {
    bool allowed = false;
    if (c && bit >= 1 && bit <= 32) {
        /* ISO 32000-1 Table 22: bits 9-12 mean something from R 3 on. For R 2 the permissions they
         * refine are governed by bits 6 (fill forms), 5 (extract for accessibility), 4 (assemble)
         * and 3 (print, at any quality). */
        if (c->R == 2) {
            switch (bit) {
            case 9:
                bit = 6;
                break;
            case 10:
                bit = 5;
                break;
            case 11:
                bit = 4;
                break;
            case 12:
                bit = 3;
                break;
            default:
                break;
            }
        }
        allowed = (c->P >> (bit - 1)) & 1u;
    }
    return allowed;
}

/* ISO 32000-1 7.6.2 Algorithm 1: the key for object num/gen. For AESV3 (ISO 32000-2 7.6.3,
 * Algorithm 1.A) the file key itself. */
static pdf_err object_key(uint8_t key[32], size_t *key_len, const pdf_crypt *c, pdf_crypt_method m,
                          uint32_t num, uint16_t gen) {
    pdf_err err = PDF_OK;
    uint8_t digest[16];
    if (m == PDF_CM_AESV3) {
        if (c->key_len != 32) {
            err = pdf_fail(PDF_E_ARG, "AESV3 with a %zu-byte file key", c->key_len);
            goto out;
        }
        memcpy(key, c->key, 32);
        *key_len = 32;
        goto out;
    }
    if (c->key_len < 5 || c->key_len > 16 || (m == PDF_CM_AESV2 && c->key_len != 16)) {
        err = pdf_fail(PDF_E_ARG, "a %zu-byte file key for this crypt filter", c->key_len);
        goto out;
    }
    /* steps a-b: the key, then the low 3 bytes of num and low 2 of gen, low byte first; "sAlT"
     * for AES. step d: the first min(n + 5, 16) bytes of the MD5 hash */
    const uint8_t ng[5] = {(uint8_t)num, (uint8_t)(num >> 8), (uint8_t)(num >> 16), (uint8_t)gen,
                           (uint8_t)(gen >> 8)};
    const part parts[] = {{c->key, c->key_len}, {ng, 5}, {"sAlT", m == PDF_CM_AESV2 ? 4 : 0}};
    err = hash_parts(digest, EVP_md5(), parts, 3);
    if (err)
        goto out;
    *key_len = c->key_len + 5 < 16 ? c->key_len + 5 : 16;
    memcpy(key, digest, *key_len);
out:
    OPENSSL_cleanse(digest, sizeof digest);
    return err;
}

/* AES-CBC with PKCS#5 padding (ISO 32000-1 7.6.2: the IV is the first 16 bytes of the string or
 * stream). Encryption writes a random IV, then the ciphertext. */
static pdf_err aes_cbc(buf *out, int enc, const uint8_t *key, size_t key_len, const uint8_t *p,
                       size_t n) {
    pdf_err err = PDF_OK;
    uint8_t iv[AES_BLOCK];
    uint8_t *dst = NULL;
    const uint8_t *in = p;
    size_t in_len = n, done = 0;
    int len = 0, rc;
    EVP_CIPHER_CTX *ctx = NULL;
    const EVP_CIPHER *cipher = key_len == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
    if (enc) {
        if (n > SIZE_MAX - 2 * AES_BLOCK) {
            err = pdf_fail(PDF_E_LIMIT, "%zu bytes to encrypt", n);
            goto out;
        }
        /* the IV, then at most n + 16 bytes of ciphertext (the room EVP_EncryptUpdate asks for) */
        if ((rc = buf_reserve(out, n + 2 * AES_BLOCK)) != BUF_OK) {
            err = buf_fail(rc, "AES encryption");
            goto out;
        }
        if (RAND_bytes(iv, sizeof iv) != 1) {
            err = ossl_fail("RAND_bytes");
            goto out;
        }
        memcpy(out->data + out->len, iv, AES_BLOCK);
        dst = out->data + out->len + AES_BLOCK;
    } else {
        if (n < 2 * AES_BLOCK || n % AES_BLOCK) {
            err = pdf_fail(PDF_E_ENCRYPTION,
                           "AES data of %zu bytes: not an IV and whole blocks of ciphertext", n);
            goto out;
        }
        /* the plaintext is shorter than n - 16; EVP_DecryptUpdate asks for a block more */
        if ((rc = buf_reserve(out, n)) != BUF_OK) {
            err = buf_fail(rc, "AES decryption");
            goto out;
        }
        memcpy(iv, p, AES_BLOCK);
        in += AES_BLOCK;
        in_len -= AES_BLOCK;
        dst = out->data + out->len;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc)) {
        err = ossl_fail("AES init");
        goto out;
    }
    while (in_len) {
        size_t chunk = in_len < CHUNK_MAX ? in_len : CHUNK_MAX;
        if (!EVP_CipherUpdate(ctx, dst + done, &len, in, (int)chunk)) {
            err = ossl_fail("AES update");
            goto out;
        }
        done += (size_t)len;
        in += chunk;
        in_len -= chunk;
    }
    if (!EVP_CipherFinal_ex(ctx, dst + done, &len)) {
        if (enc) {
            err = ossl_fail("AES final");
        } else {
            ERR_clear_error();
            err = pdf_fail(PDF_E_ENCRYPTION, "AES data of %zu bytes: bad padding", n);
        }
        goto out;
    }
    done += (size_t)len;
    out->len += done + (enc ? AES_BLOCK : 0);
out:
    if (err && dst)
        OPENSSL_cleanse(dst, done); /* plaintext of a failed decryption is not left behind */
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

static pdf_err crypt_data(buf *out, const pdf_crypt *c, bool is_stream, uint32_t num, uint16_t gen,
                          const uint8_t *p, size_t n, int enc) {
    pdf_err err = PDF_OK;
    uint8_t key[32];
    size_t key_len = 0;
    int rc;
    pdf_crypt_method m;
    if (!out || !c || (!p && n)) {
        err = pdf_fail(PDF_E_ARG, "pdf_crypt: NULL argument");
        goto out;
    }
    m = is_stream ? c->stm : c->str;
    if (m != PDF_CM_NONE && m != PDF_CM_RC4 && m != PDF_CM_AESV2 && m != PDF_CM_AESV3) {
        err = pdf_fail(PDF_E_ARG, "pdf_crypt: unknown crypt method %d", (int)m);
        goto out;
    }
    if (m == PDF_CM_NONE) {
        if ((rc = buf_append(out, p, n)) != BUF_OK)
            err = buf_fail(rc, "identity crypt filter");
        goto out;
    }
    err = object_key(key, &key_len, c, m, num, gen);
    if (err)
        goto out;
    if (m == PDF_CM_RC4) {
        if (n == 0)
            goto out; /* an empty string stays empty */
        if ((rc = buf_reserve(out, n)) != BUF_OK) {
            err = buf_fail(rc, "RC4");
            goto out;
        }
        rc4 r;
        rc4_init(&r, key, key_len);
        rc4_apply(&r, out->data + out->len, p, n);
        OPENSSL_cleanse(&r, sizeof r);
        out->len += n;
    } else {
        err = aes_cbc(out, enc, key, key_len, p, n);
    }
out:
    OPENSSL_cleanse(key, sizeof key);
    return err;
}

pdf_err pdf_crypt_encrypt(buf *out, const pdf_crypt *c, bool is_stream, uint32_t num, uint16_t gen,
                          const uint8_t *p, size_t n) {
    return crypt_data(out, c, is_stream, num, gen, p, n, 1);
}

pdf_err pdf_crypt_decrypt(buf *out, const pdf_crypt *c, bool is_stream, uint32_t num, uint16_t gen,
                          const uint8_t *p, size_t n) {
    return crypt_data(out, c, is_stream, num, gen, p, n, 0);
}
