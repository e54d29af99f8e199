/*
 * test_drv_hidkbd.c: HID boot-keyboard reports to barcode text: Shift,
 * repeats needing a release, six-key rollover, Enter/Tab/keypad Enter,
 * the idle flush, the length bound, phantom reports; the idle gap counted
 * from the last key press (not from releases or repeats), with explicit
 * times and with the reports and times of a real keyboard's recording
 * (tests/fixtures/umockdev-usbkbd, read from the repository root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../usb/usbcap.h"
#include "hidkbd.h"

#define KBD_CAPTURE "tests/fixtures/umockdev-usbkbd/usbkbd.pcap.pcapng"

struct sink {
    int codes, errors;
    char last[HIDKBD_MAX_CODE + 1];
    char all[1024];
    int64_t end[32]; /* clock_ms when code i came out */
};

/* The time the test says it is when it calls into the decoder. */
static int64_t clock_ms;

static void on_code(void *arg, const char *code, size_t len)
{
    struct sink *s = arg;

    assert_int_equal(strlen(code), len);
    if (s->codes < 32)
        s->end[s->codes] = clock_ms;
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

#define GAP 200

/* The time the next report arrives: 1 ms apart, well inside the gap. */
static int64_t now_ms;

static void rep(struct hidkbd *k, uint8_t mod, uint8_t k0, uint8_t k1,
                uint8_t k2)
{
    uint8_t r[8] = {mod, 0, k0, k1, k2, 0, 0, 0};
    assert_int_equal(hidkbd_feed(k, r, sizeof(r), ++now_ms), 0);
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
    hidkbd_init(k, GAP, on_code, on_error, s);
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
    assert_int_equal(hidkbd_feed(&k, r, sizeof(r), 0), -1);
    assert_false(hidkbd_pending(&k));
}

/* Feed one report at time t (ms). */
static void rep_at(struct hidkbd *k, int64_t t, uint8_t k0)
{
    uint8_t r[8] = {0, 0, k0, 0, 0, 0, 0, 0};

    clock_ms = t;
    assert_int_equal(hidkbd_feed(k, r, sizeof(r), t), 0);
}

static void expire_at(struct hidkbd *k, int64_t t)
{
    clock_ms = t;
    hidkbd_expire(k, t);
}

static void test_gap_from_last_press(void **state)
{
    struct hidkbd k;
    struct sink s;
    int64_t t;

    (void)state;
    setup_sink(&k, &s);
    assert_int_equal(hidkbd_deadline(&k), -1);
    rep_at(&k, 1000, 0x1E); /* '1' */
    assert_int_equal(hidkbd_deadline(&k), 1000 + GAP);
    /* Held: the same key in report after report (idle repeats), then the
     * release: none of them presses anything, the deadline stays. */
    for (t = 1050; t < 1000 + GAP; t += 50)
        rep_at(&k, t, 0x1E);
    rep_at(&k, 1190, 0);
    assert_int_equal(hidkbd_deadline(&k), 1000 + GAP);
    expire_at(&k, 1000 + GAP - 1);
    assert_int_equal(s.codes, 0); /* not a millisecond early */
    expire_at(&k, 1000 + GAP);
    assert_int_equal(s.codes, 1);
    assert_string_equal(s.last, "1");
    assert_int_equal(s.end[0], 1000 + GAP);
    assert_int_equal(hidkbd_deadline(&k), -1);

    /* A new key press does move it: "12" is one code. */
    rep_at(&k, 2000, 0x1E);
    rep_at(&k, 2010, 0);
    rep_at(&k, 2150, 0x1F);
    assert_int_equal(hidkbd_deadline(&k), 2150 + GAP);
    rep_at(&k, 2160, 0);
    expire_at(&k, 2150 + GAP);
    assert_string_equal(s.last, "12");

    /* A late timer: the next report finds the gap passed and ends the
     * code first, so it is not glued to the next one. */
    rep_at(&k, 3000, 0x20);
    rep_at(&k, 3010, 0);
    rep_at(&k, 3000 + GAP + 50, 0x21);
    assert_int_equal(s.codes, 3);
    assert_string_equal(s.last, "3");
    expire_at(&k, 3000 + 2 * GAP + 50);
    assert_int_equal(s.codes, 4);
    assert_string_equal(s.last, "4");
}

/* One report of the capture on the keyboard interface's IN endpoint. */
static int kbd_report(const struct usbcap_pkt *p)
{
    return p->type == 'C' && p->bus == 1 && p->dev == 11 && p->ep == 0x81 &&
           p->xfer == USBCAP_XFER_INT && p->status == 0 && p->data_len == 8;
}

/*
 * The 14 reports of the recorded keyboard at their recorded times (7
 * presses of 'i', 0.25 to 1.45 s apart, each released 0.1 to 0.42 s
 * later).  With timer: the owner's timer fires at each deadline; without:
 * it is late and only the next report (or the end) ends the code.  Either
 * way every 'i' is its own code, ended GAP after its key press.
 */
static void replay_recorded(int timer)
{
    struct usbcap c;
    struct usbcap_pkt p;
    struct hidkbd k;
    struct sink s;
    int64_t press[16], at[32], due;
    int npress = 0, nrep = 0, r, i, j;
    char want[64] = "";

    setup_sink(&k, &s);
    assert_int_equal(usbcap_open(&c, KBD_CAPTURE), 0);
    while ((r = usbcap_next(&c, &p)) == 1) {
        int64_t t = p.ts_us / 1000;

        if (!kbd_report(&p) || nrep == 32)
            continue;
        at[nrep++] = t;
        due = hidkbd_deadline(&k);
        if (timer && due >= 0 && due <= t)
            expire_at(&k, due);
        rep_at(&k, t, p.data[2]);
        if (p.data[2] != 0 && npress < 16)
            press[npress++] = t;
    }
    assert_int_equal(r, 0);
    usbcap_close(&c);
    expire_at(&k, hidkbd_deadline(&k));
    assert_int_equal(nrep, 14);
    assert_int_equal(npress, 7);
    for (i = 0; i < npress; i++)
        strcat(want, "i|");
    assert_string_equal(s.all, want);
    assert_int_equal(s.codes, npress);
    for (i = 0; i < npress; i++) {
        /* Without the timer: at the first report after the deadline
         * (a release, or the next press), else at the final expiry. */
        int64_t end = press[i] + GAP;

        for (j = 0; !timer && j < nrep; j++) {
            if (at[j] >= press[i] + GAP) {
                end = at[j];
                break;
            }
        }
        assert_int_equal(s.end[i], end);
    }
}

static void test_recorded_keyboard(void **state)
{
    (void)state;
    replay_recorded(1);
    replay_recorded(0);
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
        cmocka_unit_test(test_gap_from_last_press),
        cmocka_unit_test(test_recorded_keyboard),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
