/*
 * fuzz_hidkbd.c: libFuzzer target for the HID keyboard decoder and the
 * serial line decoder: the input is a run of 8-byte reports (and, whole,
 * a serial byte stream).  Every code must be non-empty, within the bound
 * and printable (HID) / valid UTF-8 (serial).
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hidkbd k;
    struct linecode l;
    size_t pos;

    hidkbd_init(&k, 200, on_hid_code, on_error, NULL);
    for (pos = 0; pos + HIDKBD_REPORT_LEN <= size; pos += HIDKBD_REPORT_LEN) {
        uint8_t *r = malloc(HIDKBD_REPORT_LEN);
        memcpy(r, data + pos, HIDKBD_REPORT_LEN);
        hidkbd_feed(&k, r, HIDKBD_REPORT_LEN, 0);
        free(r);
    }
    hidkbd_flush(&k);
    linecode_init(&l, 200, on_line_code, on_error, NULL);
    linecode_feed(&l, data, size, 0);
    linecode_flush(&l);
    return 0;
}
