/*
 * test_drv_linecode.c: serial-mode barcode lines: CR, LF, CR LF in any
 * chunking, empty lines, the length bound, control bytes, UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linecode.h"

struct sink {
    int codes, errors;
    char all[2048];
};

static void on_code(void *arg, const char *code, size_t len)
{
    struct sink *s = arg;

    assert_int_equal(strlen(code), len);
    s->codes++;
    strcat(s->all, code);
    strcat(s->all, "|");
}

static void on_error(void *arg, const char *reason)
{
    struct sink *s = arg;

    (void)reason;
    s->errors++;
    strcat(s->all, "!|");
}

static void feed_chunked(struct linecode *l, const char *s, size_t step)
{
    size_t n = strlen(s), i;

    for (i = 0; i < n; i += step)
        linecode_feed(l, (const uint8_t *)s + i, n - i < step ? n - i : step);
}

static void test_terminators(void **state)
{
    const char *in = "260000000001\r\nABC-123\rxyz\n\r\n\n二维码\r\n";
    size_t step;

    (void)state;
    for (step = 1; step <= 7; step++) {
        struct linecode l;
        struct sink s;

        memset(&s, 0, sizeof(s));
        linecode_init(&l, on_code, on_error, &s);
        feed_chunked(&l, in, step);
        assert_string_equal(s.all, "260000000001|ABC-123|xyz|二维码|");
        assert_int_equal(s.errors, 0);
        assert_false(linecode_pending(&l));
    }
}

static void test_bounds_and_junk(void **state)
{
    struct linecode l;
    struct sink s;
    char big[LINECODE_MAX_CODE + 2];

    (void)state;
    memset(&s, 0, sizeof(s));
    linecode_init(&l, on_code, on_error, &s);
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    feed_chunked(&l, big, 5); /* 129 bytes */
    feed_chunked(&l, "\r\nok1\r\n", 3);
    feed_chunked(&l, "a\001b\r\n", 1);       /* control byte */
    feed_chunked(&l, "\xff\xfe\r\n", 1);     /* not UTF-8 */
    feed_chunked(&l, "\xed\xa0\x80\r\n", 1); /* surrogate */
    feed_chunked(&l, "ok2", 1);
    assert_true(linecode_pending(&l));
    linecode_flush(&l); /* idle end */
    assert_string_equal(s.all, "!|ok1|!|!|!|ok2|");
    big[LINECODE_MAX_CODE] = '\0'; /* exactly 128: fine */
    memset(&s, 0, sizeof(s));
    feed_chunked(&l, big, 128);
    feed_chunked(&l, "\n", 1);
    assert_int_equal(s.codes, 1);
    assert_int_equal(s.errors, 0);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(linecode_utf8_valid("abc", 3));
    assert_true(linecode_utf8_valid("\xe4\xb8\xad", 3));
    assert_true(linecode_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(linecode_utf8_valid("\xe4\xb8", 2));
    assert_false(linecode_utf8_valid("\xc0\x80", 2));
    assert_false(linecode_utf8_valid("\xe0\x80\x80", 3));
    assert_false(linecode_utf8_valid("\xf4\x90\x80\x80", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminators),
        cmocka_unit_test(test_bounds_and_junk),
        cmocka_unit_test(test_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
