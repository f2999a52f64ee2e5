/* A GB/T 38540 / GM/T 0031 seal read (crypto/ses.h), and when it reads, all that is asked of
 * it: the maker's signature, the signer list, the validity, the digests. */
#include <stdint.h>

#include "crypto/ses.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    crypto_ses *s = NULL;
    if (crypto_ses_parse(&s, data, size) != CRYPTO_OK)
        return 0;
    crypto_ses_check_maker(s);
    crypto_ses_signed_over(s);
    crypto_ses_lists(s, s->maker);
    for (int i = 0; s->certs && i < sk_X509_num(s->certs); i++)
        crypto_ses_lists(s, sk_X509_value(s->certs, i));
    crypto_ses_when(s, 1767225600);
    for (size_t i = 0; i < s->n_listed; i++) {
        const char *type;
        const uint8_t *value;
        size_t len;
        crypto_ses_digest(s, i, &type, &value, &len);
    }
    size_t len;
    crypto_ses_der(s, &len);
    crypto_ses_info_der(s, &len);
    crypto_ses_ext_count(s);
    crypto_ses_free(s);
    return 0;
}
