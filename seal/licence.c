#include "seal/licence.h"

#include <stdio.h>
#include <string.h>

/* GB 32100-2015 5.2 / Annex: code characters and weights of the check character. */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int uscc_weights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                     29, 25, 13, 8,  24, 10, 30, 28};

bool seal_credit_code_valid(const char *code, char *why, size_t n) {
    size_t len = strlen(code);
    if (len != 18) {
        snprintf(why, n, "a unified social credit code has 18 characters, not %zu", len);
        return false;
    }
    int sum = 0;
    for (int i = 0; i < 18; i++) {
        const char *p = code[i] ? strchr(uscc_chars, code[i]) : NULL;
        if (!p) {
            snprintf(why, n, "character %d ('%c') is not allowed in a unified social credit code",
                     i + 1, code[i]);
            return false;
        }
        if (i < 17)
            sum += (int)(p - uscc_chars) * uscc_weights[i];
    }
    int c = 31 - sum % 31;
    char want = uscc_chars[c == 31 ? 0 : c];
    if (code[17] != want) {
        snprintf(why, n, "check character is '%c', the code's digits give '%c'", code[17], want);
        return false;
    }
    return true;
}

static int code36(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* ISO/IEC 7064 hybrid system MOD 37,36 (M = 36). */
char seal_mod37_36(const char *s, size_t len) {
    const int M = 36;
    int p = M;
    for (size_t i = 0; i < len; i++) {
        int v = code36(s[i]);
        if (v < 0)
            return 0;
        int sum = (p + v) % M;
        if (sum == 0)
            sum = M;
        p = (sum * 2) % (M + 1);
    }
    int c = ((1 - p) % M + M) % M;
    return "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[c];
}

static bool all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

bool seal_licence_id_valid(const char *id, char *why, size_t n) {
    static const char prefix[] = "1.2.156.3005.2.";
    const size_t plen = sizeof prefix - 1;
    const char *f[5];
    size_t flen[5];
    if (strncmp(id, prefix, plen) != 0) {
        snprintf(why, n, "a licence identifier starts with %s", prefix);
        return false;
    }
    const char *p = id + plen;
    for (int i = 0; i < 5; i++) {
        const char *dot = i < 4 ? strchr(p, '.') : p + strlen(p);
        if (!dot) {
            snprintf(why, n, "a licence identifier has five fields after %s", prefix);
            return false;
        }
        f[i] = p;
        flen[i] = (size_t)(dot - p);
        p = *dot ? dot + 1 : dot;
    }
    char code[19];
    if (flen[0] != 21 || !all_digits(f[0] + 18, 3)) {
        snprintf(why, n, "the licence type is a credit code and a 3-digit serial (21 characters)");
        return false;
    }
    memcpy(code, f[0], 18);
    code[18] = '\0';
    char sub[160];
    if (!seal_credit_code_valid(code, sub, sizeof sub)) {
        snprintf(why, n, "licence type: %s", sub);
        return false;
    }
    if (flen[1] != 18) {
        snprintf(why, n, "the issuer is an 18-character credit code");
        return false;
    }
    memcpy(code, f[1], 18);
    if (!seal_credit_code_valid(code, sub, sizeof sub)) {
        snprintf(why, n, "issuer: %s", sub);
        return false;
    }
    if (!all_digits(f[2], flen[2]) || flen[2] > 20 || !all_digits(f[3], flen[3]) || flen[3] > 5) {
        snprintf(why, n, "the licence number and version are digits");
        return false;
    }
    if (flen[4] != 1) {
        snprintf(why, n, "the check is one character");
        return false;
    }
    char body[80];
    size_t bl = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(body + bl, f[i], flen[i]);
        bl += flen[i];
    }
    char want = seal_mod37_36(body, bl);
    if (f[4][0] != want) {
        snprintf(why, n,
                 "check character is '%c', the identifier gives '%c' (ISO/IEC 7064 MOD 37,36)",
                 f[4][0], want);
        return false;
    }
    return true;
}
