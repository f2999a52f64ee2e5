/* RFC 7512 PKCS#11 URIs: the attributes, percent-decoding, limits, and the refusals. */
#include <stdlib.h>
#include <string.h>

#include "crypto/p11.h"
#include "check.h"

static crypto_err parse(crypto_p11_uri *u, const char *s) {
    return crypto_p11_uri_parse(u, s);
}

/* The URI is refused with err and a detail containing text. */
static void refused(const char *uri, crypto_err err, const char *text) {
    crypto_p11_uri u;
    crypto_err got = parse(&u, uri);
    CHECK_INT(got, err);
    if (!strstr(crypto_errdetail(), text)) {
        fprintf(stderr, "%s: detail '%s' lacks '%s'\n", uri, crypto_errdetail(), text);
        check_failures++;
    }
    CHECK(u.token == NULL && u.object == NULL && !u.has_id);
}

int main(void) {
    crypto_p11_uri u;

    CHECK(crypto_p11_is_uri("pkcs11:"));
    CHECK(!crypto_p11_is_uri("pkcs11"));
    CHECK(!crypto_p11_is_uri("/tmp/key.pem"));
    CHECK(!crypto_p11_is_uri(NULL));

    /* RFC 7512 section 3's examples and ours */
    CHECK_INT(parse(&u, "pkcs11:"), CRYPTO_OK);
    CHECK(!u.token && !u.object && !u.has_id && u.slot_id == -1 && u.type == CRYPTO_P11_ANY);
    crypto_p11_uri_clear(&u);

    CHECK_INT(parse(&u, "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
                        "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;"
                        "type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial="),
              CRYPTO_OK);
    CHECK_STR(u.token, "The Software PKCS#11 Softtoken");
    CHECK_STR(u.manufacturer, "Snake Oil, Inc.");
    CHECK_STR(u.model, "1.0");
    CHECK_STR(u.object, "my-certificate");
    CHECK_STR(u.serial, "");
    CHECK_INT(u.type, CRYPTO_P11_CERT);
    CHECK(u.has_id && u.id_len == 8);
    CHECK_MEM(u.id, "\x69\x95\x3e\x5c\xf4\xbd\xec\x91", 8);
    crypto_p11_uri_clear(&u);

    CHECK_INT(parse(&u, "pkcs11:token=ent-0001;object=seal;type=private;slot-id=7"
                        "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin"
                        "&pin-value=12%2634"),
              CRYPTO_OK);
    CHECK_STR(u.token, "ent-0001");
    CHECK_STR(u.object, "seal");
    CHECK_INT(u.type, CRYPTO_P11_PRIVATE);
    CHECK_INT(u.slot_id, 7);
    CHECK_STR(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
    CHECK_STR(u.pin_source, "file:/run/pin");
    CHECK_STR(u.pin_value, "12&34");
    crypto_p11_uri_clear(&u);

    /* UTF-8 labels, percent-encoded; vendor attributes ignored; library attributes accepted */
    CHECK_INT(parse(&u, "pkcs11:token=%E7%A4%BA%E4%BE%8B;x-vendor=1;library-manufacturer=OpenSC"),
              CRYPTO_OK);
    CHECK_STR(u.token, "示例");
    crypto_p11_uri_clear(&u);
    CHECK_INT(parse(&u, "pkcs11:id=%01"), CRYPTO_OK);
    CHECK(u.has_id && u.id_len == 1 && u.id[0] == 1);
    crypto_p11_uri_clear(&u);

    /* refusals, each naming its cause */
    refused("pkcs12:token=a", CRYPTO_E_ARG, "must begin with pkcs11:");
    refused("pkcs11:token=a;objekt=b", CRYPTO_E_ARG, "unknown attribute 'objekt'");
    refused("pkcs11:token=a?pin-sauce=x", CRYPTO_E_ARG, "unknown attribute 'pin-sauce'");
    refused("pkcs11:token=a;token=b", CRYPTO_E_ARG, "'token' appears twice");
    refused("pkcs11:id=%01;id=%02", CRYPTO_E_ARG, "'id' appears twice");
    refused("pkcs11:token=a%2", CRYPTO_E_ARG, "two hex digits");
    refused("pkcs11:token=a%zz", CRYPTO_E_ARG, "two hex digits");
    refused("pkcs11:token=a%", CRYPTO_E_ARG, "two hex digits");
    refused("pkcs11:token=a b", CRYPTO_E_ARG, "space or control character");
    refused("pkcs11:object=a%00b", CRYPTO_E_ARG, "NUL byte");
    refused("pkcs11:token", CRYPTO_E_ARG, "not name=value");
    refused("pkcs11:=x", CRYPTO_E_ARG, "not name=value");
    refused("pkcs11:token=a;;object=b", CRYPTO_E_ARG, "empty attribute");
    refused("pkcs11:token=a;", CRYPTO_E_ARG, "ends with ';'");
    refused("pkcs11:token=a?pin-value=1&&pin-source=x", CRYPTO_E_ARG, "empty query attribute");
    refused("pkcs11:type=secret", CRYPTO_E_ARG, "type must be");
    refused("pkcs11:slot-id=-1", CRYPTO_E_ARG, "slot-id is not a number");
    refused("pkcs11:slot-id=12x", CRYPTO_E_ARG, "slot-id is not a number");
    refused("pkcs11:id=", CRYPTO_E_ARG, "'id' is empty");
    refused("pkcs11:token=a?module-name=softhsm2", CRYPTO_E_ARG, "module-name is not supported");
    /* the sizes of the PKCS#11 fields */
    refused("pkcs11:token=123456789012345678901234567890123", CRYPTO_E_LIMIT, "longer than 32");
    refused("pkcs11:serial=12345678901234567", CRYPTO_E_LIMIT, "longer than 16");
    CHECK_INT(parse(&u, "pkcs11:token=12345678901234567890123456789012"), CRYPTO_OK);
    crypto_p11_uri_clear(&u);
    {
        char id[3 * 65 + 16] = "pkcs11:id=";
        for (int i = 0; i < 65; i++)
            strcat(id, "%ab");
        refused(id, CRYPTO_E_LIMIT, "longer than 64");
        id[strlen(id) - 3] = '\0';
        CHECK_INT(parse(&u, id), CRYPTO_OK);
        CHECK_INT(u.id_len, 64);
        crypto_p11_uri_clear(&u);
    }
    {
        size_t n = CRYPTO_P11_MAX_URI + 10;
        char *big = malloc(n + 1);
        memcpy(big, "pkcs11:object=", 14);
        memset(big + 14, 'a', n - 14);
        big[n] = '\0';
        refused(big, CRYPTO_E_LIMIT, "longer than 8192");
        free(big);
    }
    return check_report("test_crypto_p11");
}
