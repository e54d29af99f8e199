/*
 * test_sitetime.c: the one parser of the record's UTC times
 * (sitetime_parse_utc) against its printer (sitetime_format_utc), and
 * their display in the site's zone (sitetime_format_local).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sitetime.h"
#include "testutil.h"

static void test_parse_utc(void **state)
{
    char iso[SITETIME_ISO_MAX];
    int64_t ms = 1764547201123; /* 2025-12-01T00:00:01.123Z */

    (void)state;
    sitetime_format_utc(ms, iso);
    assert_string_equal(iso, "2025-12-01T00:00:01.123Z");
    assert_int_equal(sitetime_parse_utc(iso), ms);
    assert_int_equal(sitetime_parse_utc("2025-12-01T00:00:01Z"), 1764547201000);
    assert_int_equal(sitetime_parse_utc("2025-12-01T00:00:01.5Z"),
                     1764547201500);
    assert_int_equal(sitetime_parse_utc("2025-12-01T00:00:01.12345Z"),
                     1764547201123);
    /* not a UTC time: 0 */
    assert_int_equal(sitetime_parse_utc("2025-12-01T00:00:01.123"), 0);
    assert_int_equal(sitetime_parse_utc("2025-12-01T00:00:01+08:00"), 0);
    assert_int_equal(sitetime_parse_utc("2025-12-01"), 0);
    assert_int_equal(sitetime_parse_utc(""), 0);
    assert_int_equal(sitetime_parse_utc(NULL), 0);
}

static void test_format_local(void **state)
{
    char out[32];
    struct err e;

    (void)state;
    assert_int_equal(sitetime_set_zone("Asia/Shanghai", &e), 0);
    assert_int_equal(sitetime_format_local(1764547201123, "%m-%d %H:%M:%S", out,
                                           sizeof(out)),
                     0);
    assert_string_equal(out, "12-01 08:00:01");
    assert_int_equal(sitetime_set_zone("America/New_York", &e), 0);
    assert_int_equal(
        sitetime_format_local(1764547201123, "%F %H:%M", out, sizeof(out)), 0);
    assert_string_equal(out, "2025-11-30 19:00");
    /* too small for the text: -1 and nothing half-written */
    assert_int_equal(sitetime_format_local(1764547201123, "%F %H:%M", out, 4),
                     -1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_utc),
        cmocka_unit_test(test_format_local),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
