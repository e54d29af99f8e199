/*
 * hidkbd.h: barcode scanners in USB keyboard mode.  Turns HID boot-keyboard
 * input reports (8 bytes: modifiers, reserved, six key codes) into text
 * with the US layout of the HID usage table, and cuts the text into codes.
 *
 * A key counts when it newly appears in a report compared with the
 * previous one (six-key rollover), so the same character twice in a row
 * needs a release in between, exactly as on a keyboard.  Enter (main or
 * keypad) and Tab end a code.  For scanners that send no terminator a
 * code also ends once the idle gap has passed since its last key press:
 * reports that press nothing new (releases, a held key, idle repeats) do
 * not extend it.  A code longer than HIDKBD_MAX_CODE is reported as an
 * error and discarded up to its end.
 *
 * No allocation, no I/O, no timers: the owner passes the time (any
 * monotonic clock in milliseconds) with each report, and arms its own
 * timer for hidkbd_deadline(), where it calls hidkbd_expire().
 */
#ifndef EXAMSITE_HIDKBD_H
#define EXAMSITE_HIDKBD_H

#include <stddef.h>
#include <stdint.h>

#define HIDKBD_REPORT_LEN 8
#define HIDKBD_MAX_CODE   128

/* A complete code (NUL-terminated, printable ASCII, len >= 1). */
typedef void (*hidkbd_code_fn)(void *arg, const char *code, size_t len);
/* A code was discarded; reason is a sentence. */
typedef void (*hidkbd_error_fn)(void *arg, const char *reason);

struct hidkbd {
    uint8_t prev[6];       /* key codes of the previous report */
    size_t len;            /* characters in buf */
    int overlong;          /* the current code passed the bound */
    int gap_ms;            /* idle gap that ends a code without terminator */
    int64_t last_press_ms; /* the current code's last key press */
    hidkbd_code_fn on_code;
    hidkbd_error_fn on_error;
    void *arg;
    char buf[HIDKBD_MAX_CODE + 1];
};

/* Prepare k with an idle gap of gap_ms (> 0); the callbacks get arg.
 * Either callback may be NULL. */
void hidkbd_init(struct hidkbd *k, int gap_ms, hidkbd_code_fn on_code,
                 hidkbd_error_fn on_error, void *arg);

/*
 * Process one input report of n bytes (only the first 8 are used) that
 * arrived at now_ms.  A pending code whose gap had already passed by then
 * ends first, as if the owner's timer had fired in time.  Callbacks run
 * from inside this call, zero or more times.  Returns 0, or -1 if the
 * report is shorter than 8 bytes (it is ignored).  Phantom reports
 * (ErrorRollOver in the key slots) are ignored whole.
 */
int hidkbd_feed(struct hidkbd *k, const uint8_t *report, size_t n,
                int64_t now_ms);

/* When the pending code ends without a terminator (its last key press
 * plus the gap), or -1 if nothing is pending. */
int64_t hidkbd_deadline(const struct hidkbd *k);

/* The owner's timer: end the pending code if its deadline is not after
 * now_ms (else nothing happens). */
void hidkbd_expire(struct hidkbd *k, int64_t now_ms);

/* End the pending code now (or report its overlong error). */
void hidkbd_flush(struct hidkbd *k);

/* 1 when characters (or an overlong code) wait for a terminator. */
int hidkbd_pending(const struct hidkbd *k);

/* Forget the partial code and the key state (device gone). */
void hidkbd_reset(struct hidkbd *k);

/* The character for a key code with shift state, or 0 if the key makes
 * no text; '\n' for the keys that end a code. */
char hidkbd_keychar(uint8_t keycode, int shift);

#endif
