/*
 * test_idnumber.c: common/idnumber.c: the GB 11643 check digit and birth
 * date, masking, and the keyed hash that is the only stored form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "idnumber.h"

static const char *check(const char *s)
{
    const char *why = NULL;

    return idnumber_check(s, &why) == 0 ? NULL : why;
}

static void test_standard_examples_valid(void **state)
{
    (void)state;
    /* GB 11643-1999's own examples and a few more */
    assert_null(check("11010519491231002X"));
    assert_null(check("440524188001010014"));
    assert_null(check("440524188001015368"));
    assert_null(check("53010219200508011X"));
    assert_null(check("110105200002290013")); /* 2000 is a leap year */
    assert_null(check("11010519000101001X"));
}

static void test_lowercase_x(void **state)
{
    (void)state;
    assert_null(check("11010519491231002x"));
    assert_null(check("53010219200508011x"));
}

static void test_bad_check_digit(void **state)
{
    const char *why;

    (void)state;
    why = check("110105194912310021");
    assert_non_null(why);
    assert_non_null(strstr(why, "check digit"));
    why = check("440524188001010015");
    assert_non_null(why);
    assert_non_null(strstr(why, "check digit"));
    /* X where a digit belongs */
    why = check("11010519491231002Y");
    assert_non_null(why);
    assert_non_null(strstr(why, "last character"));
}

static void test_bad_birth_dates(void **state)
{
    const char *why;

    (void)state;
    /* February 31st, with a check digit that is otherwise right */
    why = check("110105194902310026");
    assert_non_null(why);
    assert_non_null(strstr(why, "birth date"));
    /* 1900 was not a leap year */
    why = check("110105190002290017");
    assert_non_null(why);
    assert_non_null(strstr(why, "birth date"));
    /* before 1800 */
    why = check("110105179912310016");
    assert_non_null(why);
    assert_non_null(strstr(why, "birth date"));
    /* month 13, day 00 */
    assert_non_null(check("110105194913010010"));
    assert_non_null(check("110105194901000010"));
}

/* A number born on the given date with the right check digit. */
static void make_number(int y, int m, int d, char out[19])
{
    static const int w[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                              3, 7, 9,  10, 5, 8, 4, 2};
    char buf[64];
    int i, sum = 0;

    snprintf(buf, sizeof(buf), "110105%04d%02d%02d123", y, m, d);
    memcpy(out, buf, 17);
    for (i = 0; i < 17; i++)
        sum += (out[i] - '0') * w[i];
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

static void test_future_birth_date(void **state)
{
    time_t now = time(NULL);
    struct tm tm;
    char n[19];
    const char *why;

    (void)state;
    gmtime_r(&now, &tm);
    make_number(tm.tm_year + 1900 + 1, 1, 1, n);
    why = check(n);
    assert_non_null(why);
    assert_non_null(strstr(why, "birth date"));
    /* the generator itself is right: last year is fine */
    make_number(tm.tm_year + 1900 - 1, 1, 1, n);
    assert_null(check(n));
}

static void test_wrong_length_and_letters(void **state)
{
    const char *why;

    (void)state;
    why = check("11010519491231002");
    assert_non_null(why);
    assert_non_null(strstr(why, "18 characters"));
    assert_non_null(check("11010519491231002XX"));
    assert_non_null(check(""));
    why = check("1101051949123100AX");
    assert_non_null(why);
    assert_non_null(strstr(why, "digits"));
    assert_non_null(check("A1010519491231002X"));
    /* a 15-digit first-generation number is not accepted */
    assert_non_null(check("110105491231002"));
}

static void test_canonical(void **state)
{
    char out[IDNUMBER_LEN + 1];

    (void)state;
    assert_int_equal(idnumber_canonical("  11010519491231002x\t", out), 0);
    assert_string_equal(out, "11010519491231002X");
    assert_int_equal(idnumber_canonical("1101051949123100", out), -1);
    assert_int_equal(idnumber_canonical("11010519491231002X1", out), -1);
}

static void test_mask(void **state)
{
    char out[IDNUMBER_LEN + 1];

    (void)state;
    idnumber_mask("11010519491231002X", out);
    assert_string_equal(out, "110105********002X");
    idnumber_mask("11010519491231002x", out);
    assert_string_equal(out, "110105********002X");
    idnumber_mask("440524188001010014", out);
    assert_string_equal(out, "440524********0014");
    /* another length: masked whole, nothing of it shown */
    idnumber_mask("1234567", out);
    assert_string_equal(out, "******************");
    idnumber_mask("1101051949123100212345", out);
    assert_string_equal(out, "******************");
}

static void test_hash_keyed(void **state)
{
    unsigned char k1[IDNUMBER_SECRET_LEN], k2[IDNUMBER_SECRET_LEN];
    char a[IDNUMBER_HASH_HEX + 1], b[IDNUMBER_HASH_HEX + 1],
        c[IDNUMBER_HASH_HEX + 1];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(k1); i++) {
        k1[i] = (unsigned char)i;
        k2[i] = (unsigned char)(i + 1);
    }
    assert_int_equal(idnumber_hash(k1, sizeof(k1), "11010519491231002X", a), 0);
    /* HMAC-SHA256(key 00..1f, "11010519491231002X"), computed with Python's
     * hmac module: pins the stored form, so a station and its office agree */
    assert_string_equal(a, "a66755453b106dcea0cfa264214ae59f"
                           "f1e8b067f3e5f3aa8085e1d8757880eb");
    assert_int_equal(strlen(a), IDNUMBER_HASH_HEX);
    /* x and X, and surrounding space, hash the same */
    assert_int_equal(idnumber_hash(k1, sizeof(k1), " 11010519491231002x ", b),
                     0);
    assert_string_equal(a, b);
    /* another secret, another hash */
    assert_int_equal(idnumber_hash(k2, sizeof(k2), "11010519491231002X", c), 0);
    assert_string_not_equal(a, c);
    /* another number, another hash */
    assert_int_equal(idnumber_hash(k1, sizeof(k1), "440524188001010014", c), 0);
    assert_string_not_equal(a, c);
    /* the hash does not contain the number */
    assert_null(strstr(a, "19491231"));
    /* not canonicalisable */
    assert_int_equal(idnumber_hash(k1, sizeof(k1), "12345", c), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_examples_valid),
        cmocka_unit_test(test_lowercase_x),
        cmocka_unit_test(test_bad_check_digit),
        cmocka_unit_test(test_bad_birth_dates),
        cmocka_unit_test(test_future_birth_date),
        cmocka_unit_test(test_wrong_length_and_letters),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_hash_keyed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
