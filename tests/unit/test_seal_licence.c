/* Licence identifiers and credit codes: the check characters as the standards define them. */
#include "seal/licence.h"
#include "check.h"

static void valid(const char *id) {
    char why[200] = "";
    bool ok = seal_licence_id_valid(id, why, sizeof why);
    if (!ok)
        fprintf(stderr, "%s: %s\n", id, why);
    CHECK(ok);
}

static void invalid(const char *id, const char *reason) {
    char why[200] = "";
    CHECK(!seal_licence_id_valid(id, why, sizeof why));
    if (!strstr(why, reason))
        fprintf(stderr, "%s: '%s' does not say '%s'\n", id, why, reason);
    CHECK(strstr(why, reason) != NULL);
}

int main(void) {
    /* DESIGN.md's example, and the sample licence's. */
    valid("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S");
    valid("1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A");
    invalid("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.T",
            "check character is 'T'");
    invalid("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000404.002.S", "gives");
    invalid("1.2.156.3005.1.11100000000013338W011.11430000006122244L.20230000403.002.S",
            "starts with");
    invalid("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.S", "five fields");
    invalid("1.2.156.3005.2.11100000000013338X011.11430000006122244L.20230000403.002.S",
            "licence type");
    invalid("1.2.156.3005.2.11100000000013338W011.11430000006122244M.20230000403.002.S", "issuer");
    CHECK_INT(seal_mod37_36("11100000000013338W01111430000006122244L20230000403002", 53), 'S');
    CHECK_INT(seal_mod37_36("abc", 3), 0);

    char why[200];
    CHECK(seal_credit_code_valid("91990000MA0000001B", why, sizeof why));
    CHECK(seal_credit_code_valid("11430000006122244L", why, sizeof why));
    CHECK(!seal_credit_code_valid("91990000MA0000001C", why, sizeof why));
    CHECK(strstr(why, "check character") != NULL);
    CHECK(!seal_credit_code_valid("91990000MA000000IB", why, sizeof why)); /* I not allowed */
    CHECK(!seal_credit_code_valid("9199", why, sizeof why));
    /* every single-character change of a valid code is caught (MOD 31 detects them all) */
    char code[] = "91990000MA0000001B";
    const char *chars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (int i = 0; i < 18; i++) {
        char orig = code[i];
        for (const char *c = chars; *c; c++) {
            if (*c == orig)
                continue;
            code[i] = *c;
            CHECK(!seal_credit_code_valid(code, why, sizeof why));
        }
        code[i] = orig;
    }
    return check_report("test_seal_licence");
}
