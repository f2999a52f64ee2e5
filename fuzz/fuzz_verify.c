/* The whole verifier on one document (seal/verify.h), report included, with no trust anchors
 * and no network. */
#include <stdint.h>

#include "seal/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    seal_verify_opts opts = {.now = 1767225600}; /* 2026-01-01: runs repeat */
    seal_verify_report *r;
    if (seal_verify_memory(&r, data, size, "fuzz.pdf", &opts) != SEAL_OK)
        return 0;
    buf b;
    buf_init(&b, (size_t)64 << 20);
    seal_verify_report_json(&b, r);
    buf_free(&b);
    seal_verify_passed(r);
    seal_verify_report_free(r);
    return 0;
}
