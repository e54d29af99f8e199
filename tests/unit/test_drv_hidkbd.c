/*
 * test_drv_hidkbd.c: HID boot-keyboard reports to barcode text: Shift,
 * repeats needing a release, six-key rollover, Enter/Tab/keypad Enter,
 * the idle flush, the length bound, phantom reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hidkbd.h"

struct sink {
    int codes, errors;
    char last[HIDKBD_MAX_CODE + 1];
    char all[1024];
};

static void on_code(void *arg, const char *code, size_t len)
{
    struct sink *s = arg;

    assert_int_equal(strlen(code), len);
    s->codes++;
    strcpy(s->last, code);
    strcat(s->all, code);
    strcat(s->all, "|");
}

static void on_error(void *arg, const char *reason)
{
    struct sink *s = arg;

    assert_non_null(strstr(reason, "128"));
    s->errors++;
}

static void rep(struct hidkbd *k, uint8_t mod, uint8_t k0, uint8_t k1,
                uint8_t k2)
{
    uint8_t r[8] = {mod, 0, k0, k1, k2, 0, 0, 0};
    assert_int_equal(hidkbd_feed(k, r, sizeof(r)), 0);
}

/* Press and release one key. */
static void tap(struct hidkbd *k, uint8_t mod, uint8_t kc)
{
    rep(k, mod, kc, 0, 0);
    rep(k, 0, 0, 0, 0);
}

static void setup_sink(struct hidkbd *k, struct sink *s)
{
    memset(s, 0, sizeof(*s));
    hidkbd_init(k, on_code, on_error, s);
}

static void test_digits_and_enter(void **state)
{
    struct hidkbd k;
    struct sink s;
    /* "4006381333931" then Enter */
    const uint8_t keys[] = {0x21, 0x27, 0x27, 0x23, 0x20, 0x25, 0x1E,
                            0x20, 0x20, 0x20, 0x26, 0x20, 0x1E};
    size_t i;

    (void)state;
    setup_sink(&k, &s);
    for (i = 0; i < sizeof(keys); i++)
        tap(&k, 0, keys[i]);
    assert_int_equal(s.codes, 0);
    assert_true(hidkbd_pending(&k));
    tap(&k, 0, 0x28);
    assert_int_equal(s.codes, 1);
    assert_string_equal(s.last, "4006381333931");
    assert_false(hidkbd_pending(&k));
}

static void test_shift(void **state)
{
    struct hidkbd k;
    struct sink s;

    (void)state;
    setup_sink(&k, &s);
    tap(&k, 0x02, 0x04); /* A (left shift) */
    tap(&k, 0x00, 0x05); /* b */
    tap(&k, 0x20, 0x06); /* C (right shift) */
    tap(&k, 0x02, 0x1E); /* ! */
    tap(&k, 0x00, 0x2D); /* - */
    tap(&k, 0x02, 0x2D); /* _ */
    tap(&k, 0x02, 0x38); /* ? */
    tap(&k, 0x01, 0x06); /* Ctrl-C: not text */
    tap(&k, 0x00, 0x2B); /* Tab ends the code */
    assert_string_equal(s.last, "AbC!-_?");
}

static void test_repeat_needs_release(void **state)
{
    struct hidkbd k;
    struct sink s;

    (void)state;
    setup_sink(&k, &s);
    /* '3' held over three reports is one '3'. */
    rep(&k, 0, 0x20, 0, 0);
    rep(&k, 0, 0x20, 0, 0);
    rep(&k, 0, 0x20, 0, 0);
    rep(&k, 0, 0, 0, 0);
    rep(&k, 0, 0x20, 0, 0); /* after a release: a second '3' */
    rep(&k, 0, 0, 0, 0);
    tap(&k, 0, 0x28);
    assert_string_equal(s.last, "33");
}

static void test_rollover(void **state)
{
    struct hidkbd k;
    struct sink s;

    (void)state;
    setup_sink(&k, &s);
    /* 1 down; 1+2 down; 2 alone; 2+3; 3+1 (1 is new again); release. */
    rep(&k, 0, 0x1E, 0, 0);
    rep(&k, 0, 0x1E, 0x1F, 0);
    rep(&k, 0, 0x1F, 0, 0);
    rep(&k, 0, 0x1F, 0x20, 0);
    rep(&k, 0, 0x20, 0x1E, 0);
    /* Phantom report (ErrorRollOver): ignored, state kept. */
    rep(&k, 0, 0x01, 0x01, 0x01);
    rep(&k, 0, 0x20, 0x1E, 0x21); /* 4 new */
    rep(&k, 0, 0, 0, 0);
    rep(&k, 0, 0x58, 0, 0); /* keypad Enter */
    assert_string_equal(s.last, "12314");
    /* Several new keys in one report, in slot order, Enter among them. */
    rep(&k, 0, 0, 0, 0);
    rep(&k, 0, 0x59, 0x5A, 0x28);
    assert_string_equal(s.last, "12");
    assert_int_equal(s.codes, 2);
}

static void test_idle_flush(void **state)
{
    struct hidkbd k;
    struct sink s;

    (void)state;
    setup_sink(&k, &s);
    hidkbd_flush(&k); /* nothing pending: nothing emitted */
    assert_int_equal(s.codes, 0);
    tap(&k, 0, 0x04);
    tap(&k, 0, 0x05);
    hidkbd_flush(&k);
    assert_int_equal(s.codes, 1);
    assert_string_equal(s.last, "ab");
    tap(&k, 0, 0x28); /* a lone Enter is no code */
    assert_int_equal(s.codes, 1);
}

static void test_overlong(void **state)
{
    struct hidkbd k;
    struct sink s;
    int i;

    (void)state;
    setup_sink(&k, &s);
    for (i = 0; i < HIDKBD_MAX_CODE; i++)
        tap(&k, 0, 0x1E);
    tap(&k, 0, 0x28);
    assert_int_equal(s.codes, 1);
    assert_int_equal(strlen(s.last), HIDKBD_MAX_CODE);
    for (i = 0; i < HIDKBD_MAX_CODE + 5; i++)
        tap(&k, 0, 0x1F);
    tap(&k, 0, 0x28);
    assert_int_equal(s.codes, 1);
    assert_int_equal(s.errors, 1);
    /* The next code after the discarded one is whole. */
    tap(&k, 0, 0x20);
    tap(&k, 0, 0x28);
    assert_string_equal(s.last, "3");
    /* Overlong ended by the idle gap is reported too. */
    for (i = 0; i < HIDKBD_MAX_CODE + 1; i++)
        tap(&k, 0, 0x1F);
    hidkbd_flush(&k);
    assert_int_equal(s.errors, 2);
}

static void test_short_report(void **state)
{
    struct hidkbd k;
    struct sink s;
    uint8_t r[4] = {0, 0, 0x04, 0};

    (void)state;
    setup_sink(&k, &s);
    assert_int_equal(hidkbd_feed(&k, r, sizeof(r)), -1);
    assert_false(hidkbd_pending(&k));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digits_and_enter),
        cmocka_unit_test(test_shift),
        cmocka_unit_test(test_repeat_needs_release),
        cmocka_unit_test(test_rollover),
        cmocka_unit_test(test_idle_flush),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_short_report),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
