/*
 * test_usb_kbdreplay.c: a real keyboard's recording replayed to the real
 * driver.  umockdev's own capture of a Holtek 04d9:1603 keyboard
 * (tests/fixtures/umockdev-usbkbd, LGPL-2.1+, see its README) is loaded
 * with umockdev_testbed_load_pcap() and a scanner configured for
 * 04d9:1603 is opened by device_manager_new() on a libevent loop.
 *
 * umockdev 0.17 replays strictly in order, without the recorded timing,
 * and waits at every class request until the client makes it: the
 * recording has usbhid's SET_IDLE(0) to the keyboard interface, so a
 * driver that does not send it gets no report at all.  The capture is
 * reduced (at run time, from the file) to the keyboard interface: the
 * packets of device 11 on EP 0x81, its SET_IDLE and the standard
 * requests.  The LED SET_REPORTs and interface 1 (SET_IDLE, EP 0x82) are
 * left out: a driver claiming only the keyboard interface does not and
 * must not send them.  Our SET_PROTOCOL(boot) is not in the recording
 * (usbhid does not send it): it goes unanswered and times out, which the
 * driver must ride out.
 *
 * Expected: attached, then the seven recorded key presses as one code
 * "iiiiiii" (no Enter: the idle gap ends it; the replay comes faster than
 * the gap), no error.  Also usb_present() (examctl's "not found" check)
 * sees this device and no other.  Run from the repository root.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "device.h"
#include "log.h"
#include "usb.h"
#include "usbcap.h"
#include "usbfix.h"

#define FIXTURE   "tests/fixtures/umockdev-usbkbd/"
#define KBD_SYSFS "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3"
#define KBD_BUS   1
#define KBD_DEV   11
#define MAX_KEPT  256

/* A packet of the keyboard interface: its IN endpoint, its SET_IDLE, or
 * a standard request (umockdev skips those when nobody makes them). */
static int keep_submit(const struct usbcap_pkt *p)
{
    if (p->bus != KBD_BUS || p->dev != KBD_DEV)
        return 0;
    if (p->xfer == USBCAP_XFER_INT)
        return p->ep == 0x81;
    if (p->xfer != USBCAP_XFER_CTRL || !p->has_setup)
        return 0;
    if ((p->setup[0] & 0x60) == 0)
        return 1;
    /* SET_IDLE, class request to interface 0 */
    return p->setup[0] == 0x21 && p->setup[1] == 0x0A && p->setup[4] == 0 &&
           p->setup[5] == 0;
}

static void put32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};

    fwrite(b, 1, 4, f);
}

/* Write the reduced capture as classic pcap to path; the number of
 * interrupt IN completions (reports) kept, or -1. */
static int reduce_capture(const char *from, const char *path)
{
    uint64_t kept[MAX_KEPT];
    struct usbcap c;
    struct usbcap_pkt p;
    int nkept = 0, reports = 0, r, i;
    FILE *f;

    if (usbcap_open(&c, from) == -1)
        return -1;
    if ((f = fopen(path, "wb")) == NULL) {
        usbcap_close(&c);
        return -1;
    }
    put32(f, 0xA1B2C3D4); /* pcap, microseconds */
    put32(f, 2 | 4 << 16);
    put32(f, 0);
    put32(f, 0);
    put32(f, 262144);
    put32(f, USBCAP_LINKTYPE);
    while ((r = usbcap_next(&c, &p)) == 1) {
        int keep = 0;

        if (p.type == 'S') {
            keep = keep_submit(&p) && nkept < MAX_KEPT;
            if (keep)
                kept[nkept++] = p.id;
        } else {
            for (i = 0; i < nkept && !keep; i++)
                keep = kept[i] == p.id;
            if (keep && p.type == 'C' && p.xfer == USBCAP_XFER_INT)
                reports++;
        }
        if (!keep)
            continue;
        put32(f, (uint32_t)(p.ts_us / 1000000));
        put32(f, (uint32_t)(p.ts_us % 1000000));
        put32(f, p.rec_len);
        put32(f, p.rec_len);
        fwrite(p.rec, 1, p.rec_len, f);
    }
    usbcap_close(&c);
    if (fclose(f) != 0 || r != 0)
        return -1;
    return reports;
}

int main(void)
{
    char dir[] = "/tmp/examsite-kbdreplay.XXXXXX", pcap[64];
    struct config_device cfg;
    struct device_manager *m;
    struct event_base *base;
    struct usbfix_seen seen;
    UMockdevTestbed *tb;
    GError *gerr = NULL;
    struct err e;
    int reports;

    log_init("test_usb_kbdreplay", 1, LOG_LVL_WARN);
    /* The testbed first: it sets $UMOCKDEV_DIR, which libusb must see. */
    tb = usbfix_testbed_new();
    g_assert_nonnull(mkdtemp(dir));
    snprintf(pcap, sizeof(pcap), "%s/kbd.pcap", dir);
    reports = reduce_capture(FIXTURE "usbkbd.pcap.pcapng", pcap);
    CHECK(reports == 14, "%d keyboard reports in the capture", reports);
    CHECK(umockdev_testbed_add_from_file(tb, FIXTURE "usbkbd.pcap.umockdev",
                                         &gerr),
          "device record: %s", gerr ? gerr->message : "?");
    g_clear_error(&gerr);
    CHECK(umockdev_testbed_load_pcap(tb, KBD_SYSFS, pcap, &gerr), "capture: %s",
          gerr ? gerr->message : "?");
    g_clear_error(&gerr);
    usbfix_report("recording loaded: 14 reports of device 11 on EP 0x81");
    /* What `examctl device listen --usb` asks before it listens. */
    CHECK(usb_present(0x04d9, 0x1603, &e) == 1, "04d9:1603 not present");
    CHECK(usb_present(0x04d9, 0x1604, &e) == 0, "04d9:1604 present");
    CHECK(usb_present(0x1603, 0x04d9, &e) == 0, "1603:04d9 present");
    usbfix_report("usb_present finds the recorded keyboard, nothing else");

    memset(&seen, 0, sizeof(seen));
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.name, sizeof(cfg.name), "kbd");
    cfg.type = DEVTYPE_SCANNER;
    cfg.transport = TRANSPORT_USB;
    cfg.vid = 0x04d9;
    cfg.pid = 0x1603;
    base = usbfix_make_base();
    m = device_manager_new(base, &cfg, 1, usbfix_on_event, &seen, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m != NULL) {
        CHECK(usbfix_run_until(base, &seen.attached, 1, 5), "not attached");
        CHECK(strcmp(seen.where, "usb 001/011") == 0, "where [%s]", seen.where);
        /* SET_PROTOCOL times out (1 s) on the way: well within 10 s. */
        CHECK(usbfix_run_until(base, &seen.codes, 1, 10),
              "no code: the replay stalled");
        CHECK(strcmp(seen.last_code, "iiiiiii") == 0, "code [%s]",
              seen.last_code);
        usbfix_run_until(base, &seen.codes, 2, 0.5);
        CHECK(seen.codes == 1 && seen.errors == 0 && seen.detached == 0,
              "codes %d errors %d (%s) detached %d", seen.codes, seen.errors,
              seen.last_error, seen.detached);
        device_manager_free(m);
        CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
    }
    usbfix_report("recorded keyboard replayed: the keys recorded, one code");
    event_base_free(base);
    unlink(pcap);
    rmdir(dir);
    g_clear_object(&tb);
    return usbfix_finish("test_usb_kbdreplay");
}
