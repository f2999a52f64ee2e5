/* Splitting a file into revisions: the revision ends, the prefix views a signature's
 * /ByteRange may name (any offset, chosen by the input's first bytes), the trailing bytes. */
#include <stdint.h>
#include <string.h>

#include "pdf/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4)
        return 0;
    uint32_t pick;
    memcpy(&pick, data, 4);
    data += 4;
    size -= 4;
    pdf_raw *r;
    if (pdf_raw_open(&r, data, size, NULL) != PDF_OK)
        return 0;
    size_t n_ends;
    const size_t *ends = pdf_raw_revision_ends(r, &n_ends);
    for (size_t i = 0; i < n_ends; i++)
        pdf_raw_revision_at(r, ends[i]);
    pdf_raw_trailing(r);
    size_t at = size ? pick % (size + 1) : 0;
    pdf_rev *v;
    if (pdf_raw_revision_at(r, at) >= 0 && pdf_raw_rev(&v, r, at) == PDF_OK) {
        size_t n;
        const uint32_t *nums = pdf_rev_numbers(v, &n);
        pdf_val *root = pdf_rev_get(v, pdf_rev_trailer(v), "Root");
        pdf_rev_get(v, root, "AcroForm");
        for (size_t k = 0; k < n && k < 100; k++)
            pdf_rev_loc(v, nums[k]);
    }
    pdf_raw_free(r);
    return 0;
}
