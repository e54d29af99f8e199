/*
 * hidkbd.c: HID boot-keyboard reports to barcode text.  See hidkbd.h.
 */
#include <string.h>

#include "hidkbd.h"

#define HID_MOD_LSHIFT        0x02
#define HID_MOD_RSHIFT        0x20
#define HID_MOD_NONTEXT       0xDD /* Ctrl, Alt, GUI on either side */
#define HID_KEY_ERR_ROLLOVER  0x01
#define HID_KEY_ERR_UNDEFINED 0x03

/* Usage 0x1E..0x38: digits and punctuation, unshifted and shifted. */
static const char hidkbd_rows[2][28] = {
    "1234567890\n\0\0\t -=[]\\#;'`,./",
    "!@#$%^&*()\n\0\0\t _+{}|~:\"~<>?",
};
/* Usage 0x54..0x63: the keypad (as with NumLock on). */
static const char hidkbd_keypad[] = "/*-+\n1234567890.";

char hidkbd_keychar(uint8_t kc, int shift)
{
    if (kc >= 0x04 && kc <= 0x1D)
        return (char)((shift ? 'A' : 'a') + (kc - 0x04));
    if (kc >= 0x1E && kc <= 0x38)
        return hidkbd_rows[shift ? 1 : 0][kc - 0x1E];
    if (kc >= 0x54 && kc <= 0x63)
        return hidkbd_keypad[kc - 0x54];
    return 0;
}

void hidkbd_init(struct hidkbd *k, int gap_ms, hidkbd_code_fn on_code,
                 hidkbd_error_fn on_error, void *arg)
{
    memset(k, 0, sizeof(*k));
    k->gap_ms = gap_ms;
    k->on_code = on_code;
    k->on_error = on_error;
    k->arg = arg;
}

void hidkbd_reset(struct hidkbd *k)
{
    memset(k->prev, 0, sizeof(k->prev));
    k->len = 0;
    k->overlong = 0;
    k->buf[0] = '\0';
}

int hidkbd_pending(const struct hidkbd *k)
{
    return k->len > 0 || k->overlong;
}

int64_t hidkbd_deadline(const struct hidkbd *k)
{
    return hidkbd_pending(k) ? k->last_press_ms + k->gap_ms : -1;
}

void hidkbd_expire(struct hidkbd *k, int64_t now_ms)
{
    if (hidkbd_pending(k) && now_ms >= hidkbd_deadline(k))
        hidkbd_flush(k);
}

void hidkbd_flush(struct hidkbd *k)
{
    if (k->overlong) {
        k->overlong = 0;
        k->len = 0;
        if (k->on_error)
            k->on_error(k->arg, "scanned code longer than 128 characters, "
                                "discarded");
        return;
    }
    if (k->len == 0)
        return;
    k->buf[k->len] = '\0';
    /* Reset before the callback so it may feed or reset k itself. */
    {
        char code[HIDKBD_MAX_CODE + 1];
        size_t len = k->len;

        memcpy(code, k->buf, len + 1);
        k->len = 0;
        if (k->on_code)
            k->on_code(k->arg, code, len);
    }
}

static void hidkbd_char(struct hidkbd *k, char c, int64_t now_ms)
{
    if (c == '\n' || c == '\t') {
        hidkbd_flush(k);
        return;
    }
    k->last_press_ms = now_ms; /* only a key that adds to the code */
    if (k->overlong)
        return;
    if (k->len == HIDKBD_MAX_CODE) {
        k->overlong = 1;
        return;
    }
    k->buf[k->len++] = c;
}

static int hidkbd_was_down(const struct hidkbd *k, uint8_t kc)
{
    return memchr(k->prev, kc, sizeof(k->prev)) != NULL;
}

int hidkbd_feed(struct hidkbd *k, const uint8_t *r, size_t n, int64_t now_ms)
{
    uint8_t keys[6];
    int shift, i;

    if (n < HIDKBD_REPORT_LEN)
        return -1;
    hidkbd_expire(k, now_ms);
    memcpy(keys, r + 2, sizeof(keys));
    for (i = 0; i < 6; i++)
        if (keys[i] >= HID_KEY_ERR_ROLLOVER && keys[i] <= HID_KEY_ERR_UNDEFINED)
            return 0; /* phantom state: keep the previous key state */
    shift = (r[0] & (HID_MOD_LSHIFT | HID_MOD_RSHIFT)) != 0;
    for (i = 0; i < 6; i++) {
        char c;

        if (keys[i] == 0 || hidkbd_was_down(k, keys[i]))
            continue;
        if ((r[0] & HID_MOD_NONTEXT) != 0)
            continue; /* Ctrl/Alt/GUI chords are not text */
        if ((c = hidkbd_keychar(keys[i], shift)) != 0)
            hidkbd_char(k, c, now_ms);
    }
    memcpy(k->prev, keys, sizeof(keys));
    return 0;
}
