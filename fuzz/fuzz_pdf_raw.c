/* Opening a PDF with the raw revision reader and reading every object of every revision,
 * stream data included (pdf/raw.h). */
#include <stdint.h>
#include <stdlib.h>

#include "pdf/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pdf_raw *r;
    if (pdf_raw_open(&r, data, size, NULL) != PDF_OK)
        return 0;
    size_t n_ends;
    const size_t *ends = pdf_raw_revision_ends(r, &n_ends);
    const pdf_robj *prev_obj = NULL;
    for (size_t i = 0; i < n_ends; i++) {
        pdf_rev *v;
        if (pdf_raw_rev(&v, r, ends[i]) != PDF_OK)
            continue;
        size_t n;
        const uint32_t *nums = pdf_rev_numbers(v, &n);
        for (size_t k = 0; k < n && k < 5000; k++) {
            const pdf_robj *o;
            if (pdf_rev_obj(&o, v, nums[k]) != PDF_OK)
                continue;
            pdf_rev_resolve(v, o->val);
            if (o->stream) {
                buf b;
                buf_init(&b, (size_t)1 << 20);
                pdf_rev_stream_data(&b, v, o, (size_t)1 << 20);
                buf_free(&b);
            }
            if (prev_obj)
                pdf_val_equal(prev_obj->val, o->val);
            prev_obj = o;
            char *t = pv_text_utf8(o->val, 256);
            free(t);
        }
    }
    pdf_raw_free(r);
    return 0;
}
