/*
 * test_drv_linecode.c: serial-mode barcode lines: CR, LF, CR LF in any
 * chunking, empty lines, the length bound, control bytes, UTF-8; with
 * explicit times, the inter-character gap that ends a code without
 * terminator, and resynchronisation after a line far past the bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linecode.h"

#define GAP 200

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
        linecode_feed(l, (const uint8_t *)s + i, n - i < step ? n - i : step,
                      0);
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
        linecode_init(&l, GAP, on_code, on_error, &s);
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
    linecode_init(&l, GAP, on_code, on_error, &s);
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

static void feed_at(struct linecode *l, const char *str, int64_t t)
{
    linecode_feed(l, (const uint8_t *)str, strlen(str), t);
}

static void test_gap_ends_code(void **state)
{
    struct linecode l;
    struct sink s;

    (void)state;
    memset(&s, 0, sizeof(s));
    linecode_init(&l, GAP, on_code, on_error, &s);
    assert_int_equal(linecode_deadline(&l), -1);
    /* No terminator, then the next code 0.5 s later: two codes, never
     * "260700000002260700000003". */
    feed_at(&l, "2607000", 1000);
    feed_at(&l, "00002", 1003);
    assert_int_equal(linecode_deadline(&l), 1003 + GAP);
    feed_at(&l, "260700000003\r\n", 1500);
    assert_string_equal(s.all, "260700000002|260700000003|");
    /* The owner's timer, at the deadline and not a millisecond before. */
    feed_at(&l, "A1", 2000);
    feed_at(&l, "B2", 2150); /* within the gap of the last byte */
    linecode_expire(&l, 2150 + GAP - 1);
    assert_int_equal(s.codes, 2);
    linecode_expire(&l, 2150 + GAP);
    assert_string_equal(s.all, "260700000002|260700000003|A1B2|");
    assert_false(linecode_pending(&l));
    assert_int_equal(linecode_deadline(&l), -1);
    /* A terminator right after the gap ends nothing more. */
    feed_at(&l, "\r\n", 2500);
    assert_int_equal(s.codes, 3);
    assert_int_equal(s.errors, 0);
}

/* 10 MB without a terminator, in 4 KB reads 1 ms apart (no gap). */
static void feed_junk(struct linecode *l, int64_t *t)
{
    static uint8_t junk[4096];
    size_t total;

    memset(junk, '7', sizeof(junk));
    for (total = 0; total < 10u << 20; total += sizeof(junk))
        linecode_feed(l, junk, sizeof(junk), (*t)++);
}

static void test_overlong_resync(void **state)
{
    struct linecode l;
    struct sink s;
    int64_t t = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    linecode_init(&l, GAP, on_code, on_error, &s);
    /* Reported once, as soon as it passes the bound... */
    feed_junk(&l, &t);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.codes, 0);
    /* ...and the next good code after a pause is read whole. */
    t += GAP;
    feed_at(&l, "260700000003\r\n", t);
    assert_string_equal(s.all, "!|260700000003|");
    /* The same ended by a terminator, the good code straight after. */
    feed_junk(&l, &t);
    feed_at(&l, "\r\n260700000004\r\n", t);
    assert_string_equal(s.all, "!|260700000003|!|260700000004|");
    /* Ended by the owner's timer. */
    feed_junk(&l, &t);
    linecode_expire(&l, linecode_deadline(&l));
    assert_false(linecode_pending(&l));
    feed_at(&l, "260700000005\n", t + 1000);
    assert_string_equal(s.all, "!|260700000003|!|260700000004|!|260700000005|");
    assert_int_equal(s.errors, 3);
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
        cmocka_unit_test(test_gap_ends_code),
        cmocka_unit_test(test_overlong_resync),
        cmocka_unit_test(test_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
