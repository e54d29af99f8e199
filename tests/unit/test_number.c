/*
 * test_number.c: the one reader of decimal integers (common/number.c):
 * bounds, and everything that is not all digits refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "number.h"
#include "testutil.h"

static void test_number(void **state)
{
    long long v = 7;
    int i = 7;

    (void)state;
    assert_int_equal(number_parse("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(number_parse("10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(number_parse("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(number_parse("9223372036854775807", 0, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    v = 7;
    /* out of range, or not all digits: -1, *out untouched */
    assert_int_equal(number_parse("11", 0, 10, &v), -1);
    assert_int_equal(number_parse("-1", 0, 10, &v), -1);
    assert_int_equal(number_parse("9223372036854775808", 0, INT64_MAX, &v), -1);
    assert_int_equal(number_parse("", 0, 10, &v), -1);
    assert_int_equal(number_parse(NULL, 0, 10, &v), -1);
    assert_int_equal(number_parse(" 5", 0, 10, &v), -1);
    assert_int_equal(number_parse("+5", 0, 10, &v), -1);
    assert_int_equal(number_parse("5 ", 0, 10, &v), -1);
    assert_int_equal(number_parse("5s", 0, 10, &v), -1);
    assert_int_equal(number_parse("0x5", 0, 10, &v), -1);
    assert_int_equal(number_parse("-", -10, 10, &v), -1);
    assert_int_equal(v, 7);
    assert_int_equal(number_parse_int("600", 1, 600, &i), 0);
    assert_int_equal(i, 600);
    assert_int_equal(number_parse_int("601", 1, 600, &i), -1);
    assert_int_equal(i, 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
