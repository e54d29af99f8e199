/*
 * test_central_csvout.c: the office's CSV (central/csvout.c): the BOM,
 * CRLF, RFC 4180 quoting, and the cells Excel would take for a formula
 * neutralised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csvout.h"

static char *cells(const char *const *v)
{
    struct csvout b;

    csvout_init(&b);
    for (; *v != NULL; v++)
        csvout_text(&b, *v);
    csvout_end(&b);
    return csvout_finish(&b);
}

static void test_csv_cells(void **state)
{
    static const char *const row[] = {
        "=1+1", "+x", "-2", "@SUM(A1)", "a,b", "say \"hi\"", "中文", "", NULL};
    char *t;

    (void)state;
    t = cells(row);
    assert_non_null(t);
    assert_string_equal(t, "\xEF\xBB\xBF'=1+1,'+x,'-2,'@SUM(A1),\"a,b\","
                           "\"say \"\"hi\"\"\",中文,\r\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cells),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
