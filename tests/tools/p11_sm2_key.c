/* Generates an EC key pair on the SM2 curve {1 2 156 10197 1 301} (GB/T 32918.5) in a PKCS#11
 * token, as a token that knows the curve but no SM2 mechanism would hold one: eseal has no way
 * to make such a key (crypto_p11_generate offers RSA and the NIST curves), so tests make it here
 * to check that eseal refuses to sign with it.
 *
 *   p11_sm2_key MODULE TOKEN_LABEL PIN_FILE KEY_LABEL
 *
 * Exit 0 when the token made the key, 1 with a message otherwise (3 when the token refuses the
 * curve itself). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static int fail(const char *what, CK_RV rv) {
    fprintf(stderr, "p11_sm2_key: %s: 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

/* The first line of a file, without its end. */
static int read_line(char *out, size_t n, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f || !fgets(out, (int)n, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int main(int argc, char **argv) {
    static CK_BYTE sm2[] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};
    char pin[256];
    if (argc != 5 || read_line(pin, sizeof pin, argv[3]) != 0) {
        fprintf(stderr, "usage: p11_sm2_key MODULE TOKEN_LABEL PIN_FILE KEY_LABEL\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    void *sym = h ? dlsym(h, "C_GetFunctionList") : NULL;
    CK_C_GetFunctionList gfl = NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_RV rv;
    if (sym)
        memcpy(&gfl, &sym, sizeof gfl); /* ISO C has no object-to-function pointer cast */
    if (!gfl || (rv = gfl(&f)) != CKR_OK || (rv = f->C_Initialize(NULL)) != CKR_OK) {
        fprintf(stderr, "p11_sm2_key: cannot load %s\n", argv[1]);
        return 1;
    }
    CK_SLOT_ID slots[64], slot = 0;
    CK_ULONG ns = 64;
    int found = 0;
    if ((rv = f->C_GetSlotList(CK_TRUE, slots, &ns)) != CKR_OK)
        return fail("C_GetSlotList", rv);
    size_t ll = strlen(argv[2]);
    for (CK_ULONG i = 0; i < ns && !found; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && (ti.flags & CKF_TOKEN_INITIALIZED) &&
            ll <= sizeof ti.label && memcmp(ti.label, argv[2], ll) == 0 &&
            (ll == sizeof ti.label || ti.label[ll] == ' ')) {
            slot = slots[i];
            found = 1;
        }
    }
    if (!found) {
        fprintf(stderr, "p11_sm2_key: no token '%s'\n", argv[2]);
        return 1;
    }
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
        CKR_OK)
        return fail("C_OpenSession", rv);
    if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))) != CKR_OK)
        return fail("C_Login", rv);
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_BYTE id[] = {0x53, 0x4D, 0x32};
    char *label = argv[4];
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, sizeof yes},
                          {CKA_VERIFY, &yes, sizeof yes},
                          {CKA_EC_PARAMS, sm2, sizeof sm2},
                          {CKA_LABEL, label, strlen(label)},
                          {CKA_ID, id, sizeof id}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof yes},
                           {CKA_PRIVATE, &yes, sizeof yes},
                           {CKA_SENSITIVE, &yes, sizeof yes},
                           {CKA_EXTRACTABLE, &no, sizeof no},
                           {CKA_SIGN, &yes, sizeof yes},
                           {CKA_LABEL, label, strlen(label)},
                           {CKA_ID, id, sizeof id}};
    CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub, hpriv;
    rv = f->C_GenerateKeyPair(s, &m, pub, sizeof pub / sizeof *pub, priv,
                              sizeof priv / sizeof *priv, &hpub, &hpriv);
    if (rv == CKR_CURVE_NOT_SUPPORTED || rv == CKR_DOMAIN_PARAMS_INVALID) {
        fprintf(stderr, "p11_sm2_key: the token does not know the SM2 curve (0x%lx)\n",
                (unsigned long)rv);
        return 3;
    }
    if (rv != CKR_OK)
        return fail("C_GenerateKeyPair", rv);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
}
