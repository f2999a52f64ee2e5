/* Identifiers on electronic licences: the licence identifier (GB/T 36904 style) and the unified
 * social credit code of enterprises and authorities (GB 32100-2015). */
#ifndef ESEAL_SEAL_LICENCE_H
#define ESEAL_SEAL_LICENCE_H

#include <stdbool.h>
#include <stddef.h>

/* GB 32100-2015: 18 characters of 0-9 and A-Z without I, O, S, V, Z, the last a MOD 31 check
 * character. On failure writes the reason to why. */
bool seal_credit_code_valid(const char *code, char *why, size_t n);

/* 1.2.156.3005.2.<type>.<issuer credit code>.<number>.<version>.<check>: the type a credit code
 * followed by a 3-digit serial, the issuer a valid credit code, the number and version digits,
 * the check character ISO/IEC 7064 MOD 37,36 over the four fields without their dots. */
bool seal_licence_id_valid(const char *id, char *why, size_t n);

/* The MOD 37,36 check character of s (0-9, A-Z), or 0 when s has another character. */
char seal_mod37_36(const char *s, size_t len);

#endif
