/*
 * fuzz_hidkbd.c: libFuzzer target for the HID keyboard decoder and the
 * serial line decoder: the input is a run of 8-byte reports (and, whole
 * and in 7-byte chunks, a serial byte stream).  Times come from the input
 * too (a report's reserved byte is its delay in ms; chunks are 97 ms
 * apart), with the owner's timer fired at every deadline that passes, so
 * the idle gap is explored.  Every code must be non-empty, within the
 * bound and printable (HID) / valid UTF-8 (serial); a deadline, when there
 * is one, is never in the past after the timer has run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hidkbd.h"
#include "linecode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_hid_code(void *arg, const char *code, size_t len)
{
    size_t i;

    (void)arg;
    if (len == 0 || len > HIDKBD_MAX_CODE || strlen(code) != len)
        abort();
    for (i = 0; i < len; i++)
        if (code[i] < 0x20 || code[i] > 0x7E)
            abort();
}

static void on_line_code(void *arg, const char *code, size_t len)
{
    (void)arg;
    if (len == 0 || len > LINECODE_MAX_CODE || !linecode_utf8_valid(code, len))
        abort();
}

static void on_error(void *arg, const char *reason)
{
    (void)arg;
    (void)reason;
}

#define GAP 200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hidkbd k;
    struct linecode l;
    int64_t t = 0, due;
    size_t pos;

    hidkbd_init(&k, GAP, on_hid_code, on_error, NULL);
    for (pos = 0; pos + HIDKBD_REPORT_LEN <= size; pos += HIDKBD_REPORT_LEN) {
        uint8_t *r = malloc(HIDKBD_REPORT_LEN);
        memcpy(r, data + pos, HIDKBD_REPORT_LEN);
        t += r[1];
        if ((due = hidkbd_deadline(&k)) >= 0 && due <= t)
            hidkbd_expire(&k, due);
        if ((due = hidkbd_deadline(&k)) >= 0 && due <= t)
            abort();
        hidkbd_feed(&k, r, HIDKBD_REPORT_LEN, t);
        free(r);
    }
    hidkbd_flush(&k);
    if (hidkbd_pending(&k))
        abort();
    linecode_init(&l, GAP, on_line_code, on_error, NULL);
    linecode_feed(&l, data, size, 0);
    linecode_flush(&l);
    for (pos = 0, t = 0; pos < size; pos += 7, t += 97) {
        if ((due = linecode_deadline(&l)) >= 0 && due <= t)
            linecode_expire(&l, due);
        linecode_feed(&l, data + pos, size - pos < 7 ? size - pos : 7, t);
    }
    linecode_expire(&l, t + GAP);
    if (linecode_pending(&l))
        abort();
    return 0;
}
