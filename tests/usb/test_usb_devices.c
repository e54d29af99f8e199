/*
 * test_usb_devices.c: the real drivers/ USB path (usb.c in a libevent
 * loop, hotplug, transfers, device.c, hidkbd / idreader) against devices
 * emulated in-process by umockdev (docs/usb-testing.md):
 *
 *   1. a HID keyboard-mode scanner typing codes (Shift, repeats with
 *      releases, rollover) through interrupt IN reports;
 *   2. a bulk ID-card reader 0400:c35a answering SAM status / SAM ID /
 *      find / select / read; the card is decoded;
 *   3. that reader unplugged in the middle of a read: DETACHED, no card
 *      event, the process stays up; plugged back in: ATTACHED and the
 *      next card is read;
 *   4. the scanner's HID class requests: SET_PROTOCOL(boot) and
 *      SET_IDLE(0) to its boot-keyboard interface, as usbhid does, and a
 *      scanner that STALLs both still scans;
 *   5. a reload (device_manager_free() then device_manager_new()) while
 *      the scanner's read is in flight, its cancellation held back by the
 *      emulated host controller: the free returns at once, the new
 *      manager claims the unit meanwhile and gets its codes, the old
 *      callbacks never run; then the same with the scanner unplugged in
 *      the middle of the reload: everything of the freed manager is freed
 *      once its transfers are back (ASan sees every access), and the
 *      scanner plugged in again is back on the new manager.
 *
 * The shared fixture (usbfix.h) emulates usbfs; the ops below play the
 * device: they queue scanner reports and answer reader commands with real
 * protocol frames.  After an unplug the fixture answers ENODEV, as the
 * kernel does.  They run in umockdev's thread, so the state is under the
 * device's mutex.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "device.h"
#include "idframe.h"
#include "idtext.h"
#include "log.h"
#include "usbfix.h"

#define MAX_REPORTS 512
#define RESP_MAX    1400

struct fx {
    struct usbfix_dev dev; /* its mu guards the device state below */
    UMockdevTestbed *tb;
    /* scanner */
    uint8_t reports[MAX_REPORTS][8];
    int n_reports, next_report;
    int set_protocol, set_idle; /* HID class requests as usbhid sends */
    int bad_class;              /* other class requests, or wrong fields */
    int stall_class;            /* answer class requests with a STALL */
    /* reader */
    int card_present;
    int unplug_on_read; /* vanish at the next 30 01 */
    int read_cmds;
    uint8_t text[IDTEXT_LEN];
    uint8_t resp[4][RESP_MAX];
    size_t resp_len[4];
    int n_resp;
    /* events seen by the test (main thread only) */
    struct usbfix_seen seen;
};

/* --- the emulated device ------------------------------------------------ */

static void reader_answer(struct fx *f, const uint8_t *out, size_t n)
{
    struct idframe_decoder d;
    struct idframe fr;
    size_t used;
    uint16_t cmd;
    uint8_t data[4 + IDTEXT_LEN + IDTEXT_PHOTO_LEN];
    static const uint8_t zeros[16] = {1, 0, 2, 0};
    long len = -1;
    uint8_t *r;

    idframe_decoder_init(&d);
    if (idframe_decoder_feed(&d, out, n, &used, &fr) != IDFRAME_OK ||
        fr.body_len < 2 || f->n_resp == 4)
        return;
    r = f->resp[f->n_resp];
    cmd = (uint16_t)(fr.body[0] << 8 | fr.body[1]);
    switch (cmd) {
    case IDCMD_SAM_STATUS:
        len = idframe_encode_resp(IDSW_OK, NULL, 0, r, RESP_MAX);
        break;
    case IDCMD_SAM_ID:
        len = idframe_encode_resp(IDSW_OK, zeros, 16, r, RESP_MAX);
        break;
    case IDCMD_FIND:
        len = idframe_encode_resp(f->card_present ? IDSW_FOUND : IDSW_NO_CARD,
                                  zeros, f->card_present ? 4 : 0, r, RESP_MAX);
        break;
    case IDCMD_SELECT:
        len = idframe_encode_resp(f->card_present ? IDSW_OK : IDSW_SELECT_FAIL,
                                  zeros, f->card_present ? 8 : 0, r, RESP_MAX);
        break;
    case IDCMD_READ:
        f->read_cmds++;
        if (f->unplug_on_read) {
            /* Gone mid-read: half an answer, then nothing but ENODEV. */
            f->unplug_on_read = 0;
            f->dev.removed = 1;
            return;
        }
        data[0] = 1;
        data[1] = 0;
        data[2] = 4;
        data[3] = 0;
        memcpy(data + 4, f->text, IDTEXT_LEN);
        memset(data + 4 + IDTEXT_LEN, 0, IDTEXT_PHOTO_LEN);
        memcpy(data + 4 + IDTEXT_LEN, "WLf", 4);
        len =
            f->card_present
                ? idframe_encode_resp(IDSW_OK, data, sizeof(data), r, RESP_MAX)
                : idframe_encode_resp(IDSW_READ_FAIL, NULL, 0, r, RESP_MAX);
        break;
    default:
        len = idframe_encode_resp(IDSW_BAD_COMMAND, NULL, 0, r, RESP_MAX);
        break;
    }
    if (len > 0)
        f->resp_len[f->n_resp++] = (size_t)len;
}

/* A control URB: the scanner's HID class requests, which must be exactly
 * those usbhid sends to a boot keyboard on interface 0 (no data). */
static void dev_control(struct fx *f, struct usbdevfs_urb *urb)
{
    const uint8_t *b = urb->buffer;

    urb->actual_length = 0;
    if (urb->buffer_length < 8 || (b[0] & 0x60) != 0x20)
        return; /* standard requests: nothing to do */
    if (urb->buffer_length == 8 && b[0] == 0x21 && b[1] == 0x0B && b[2] == 0 &&
        b[3] == 0 && b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0)
        f->set_protocol++; /* SET_PROTOCOL(boot), interface 0 */
    else if (urb->buffer_length == 8 && b[0] == 0x21 && b[1] == 0x0A &&
             b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0 && b[6] == 0 &&
             b[7] == 0)
        f->set_idle++; /* SET_IDLE(duration 0, all reports), interface 0 */
    else
        f->bad_class++;
    if (f->stall_class)
        urb->status = -EPIPE;
}

/* usbfs SUBMITURB: an OUT frame is a reader command. */
static void dev_submit(void *user, struct usbdevfs_urb *urb)
{
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL)
        dev_control(user, urb);
    else if (!(urb->endpoint & 0x80))
        reader_answer(user, urb->buffer, (size_t)urb->buffer_length);
}

/* An IN URB gets the next reader answer, else the next scanner report. */
static int dev_fill(void *user, uint8_t *buf, size_t cap)
{
    struct fx *f = user;
    const uint8_t *src;
    size_t n;

    if (f->n_resp > 0) {
        src = f->resp[0];
        n = f->resp_len[0];
    } else if (f->next_report < f->n_reports) {
        src = f->reports[f->next_report];
        n = 8;
    } else {
        return -1;
    }
    if (n > cap)
        n = cap;
    memcpy(buf, src, n);
    if (f->n_resp > 0) {
        memmove(f->resp[0], f->resp[1], sizeof(f->resp[0]) * 3);
        memmove(f->resp_len, f->resp_len + 1, sizeof(f->resp_len[0]) * 3);
        f->n_resp--;
    } else {
        f->next_report++;
    }
    return (int)n;
}

static const struct usbfix_ops dev_ops = {dev_submit, dev_fill};

/* Drop URBs the driver will never reap (after an unplug). */
static void fx_reset_urbs(struct fx *f)
{
    pthread_mutex_lock(&f->dev.mu);
    usbfix_dev_reset_locked(&f->dev);
    f->n_resp = 0;
    pthread_mutex_unlock(&f->dev.mu);
}

/* HID keyboard 1234:5678: one interface, interrupt IN 0x81, 8 bytes. */
static const char scanner_desc[] = "12011001000000083412785600010102"
                                   "0001"
                                   "09022200010100a032"
                                   "090400000103010100"
                                   "092111010001223f00"
                                   "07058103080008";

/* ID-card reader 0400:c35a: vendor class, bulk IN 0x81, bulk OUT 0x02. */
static const char reader_desc[] = "12010002000000400004"
                                  "5ac3"
                                  "00010102"
                                  "0001"
                                  "09022000010100"
                                  "8032"
                                  "0904000002ff000000"
                                  "07058102400000"
                                  "07050202400000";

static void press(struct fx *f, uint8_t mod, uint8_t k0, uint8_t k1)
{
    uint8_t *r = f->reports[f->n_reports++];

    memset(r, 0, 8);
    r[0] = mod;
    r[2] = k0;
    r[3] = k1;
}

/* --- tests ----------------------------------------------------------- */

static void test_scanner(struct fx *f)
{
    struct config_device cfg;
    struct device_manager *m;
    struct event_base *base = usbfix_make_base();
    struct err e;

    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.name, sizeof(cfg.name), "scan1");
    cfg.type = DEVTYPE_SCANNER;
    cfg.transport = TRANSPORT_USB;
    cfg.vid = 0x1234;
    cfg.pid = 0x5678;
    usbfix_add_device(f->tb, f->dev.handler, 2, scanner_desc);
    m = device_manager_new(base, &cfg, 1, usbfix_on_event, &f->seen, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL) {
        usbfix_report("scanner");
        return;
    }
    CHECK(usbfix_run_until(base, &f->seen.attached, 1, 5),
          "scanner never attached");
    CHECK(usbfix_run_until_dev(base, &f->dev, &f->set_idle, 1, 5),
          "no SET_IDLE");
    pthread_mutex_lock(&f->dev.mu);
    CHECK(f->set_protocol == 1 && f->set_idle == 1 && f->bad_class == 0,
          "SET_PROTOCOL %d, SET_IDLE %d, other class requests %d",
          f->set_protocol, f->set_idle, f->bad_class);
    pthread_mutex_unlock(&f->dev.mu);

    pthread_mutex_lock(&f->dev.mu);
    /* "Ab-33" Enter: Shift, a repeat with a release between, rollover. */
    press(f, 0x02, 0x04, 0);    /* A */
    press(f, 0x00, 0x04, 0x05); /* a held (not new), b new */
    press(f, 0x00, 0x05, 0);
    press(f, 0x00, 0x2D, 0); /* - */
    press(f, 0x00, 0x20, 0); /* 3 */
    press(f, 0x00, 0x20, 0); /* still held: nothing */
    press(f, 0x00, 0, 0);    /* release */
    press(f, 0x00, 0x20, 0); /* 3 again */
    press(f, 0x00, 0x28, 0); /* Enter */
    press(f, 0x00, 0, 0);
    pthread_mutex_unlock(&f->dev.mu);
    CHECK(usbfix_run_until(base, &f->seen.codes, 1, 5), "no code scanned");
    CHECK(strcmp(f->seen.last_code, "Ab-33") == 0, "code [%s]",
          f->seen.last_code);

    /* A code without Enter ends after the idle gap. */
    pthread_mutex_lock(&f->dev.mu);
    press(f, 0x00, 0x1E, 0);
    press(f, 0x00, 0x1F, 0);
    press(f, 0x00, 0, 0);
    pthread_mutex_unlock(&f->dev.mu);
    CHECK(usbfix_run_until(base, &f->seen.codes, 2, 5), "idle code not ended");
    CHECK(strcmp(f->seen.last_code, "12") == 0, "code [%s]", f->seen.last_code);

    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
    event_base_free(base);
    usbfix_remove_device(f->tb, 2);
    fx_reset_urbs(f);
    usbfix_report("scanner (boot protocol and idle 0 asked as usbhid does)");
}

static void set_card(struct fx *f, const char *name, const char *id)
{
    struct idcard_info c;
    struct err e;

    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    snprintf(c.gender_code, sizeof(c.gender_code), "1");
    snprintf(c.nation_code, sizeof(c.nation_code), "01");
    snprintf(c.birth, sizeof(c.birth), "%.8s", id + 6);
    snprintf(c.address, sizeof(c.address), "测试地址");
    snprintf(c.id_number, sizeof(c.id_number), "%s", id);
    snprintf(c.authority, sizeof(c.authority), "测试公安局");
    snprintf(c.valid_from, sizeof(c.valid_from), "20200101");
    snprintf(c.valid_to, sizeof(c.valid_to), "20400101");
    pthread_mutex_lock(&f->dev.mu);
    g_assert_cmpint(idtext_encode(&c, f->text, &e), ==, 0);
    f->card_present = 1;
    pthread_mutex_unlock(&f->dev.mu);
}

static void test_reader(struct fx *f)
{
    struct config_device cfg;
    struct device_manager *m;
    struct event_base *base = usbfix_make_base();
    struct device_status st;
    struct err e;
    int reads;

    f->seen.attached = f->seen.detached = f->seen.errors = f->seen.cards = 0;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.name, sizeof(cfg.name), "door1");
    cfg.type = DEVTYPE_IDCARD;
    cfg.transport = TRANSPORT_USB;
    cfg.vid = 0x0400;
    cfg.pid = 0xc35a;
    usbfix_add_device(f->tb, f->dev.handler, 3, reader_desc);
    m = device_manager_new(base, &cfg, 1, usbfix_on_event, &f->seen, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL) {
        usbfix_report("reader");
        return;
    }
    CHECK(usbfix_run_until(base, &f->seen.attached, 1, 5),
          "reader never attached");

    /* Polling off: a card lying there is not read. */
    set_card(f, "测试甲", "11010519491231002X");
    usbfix_run_until(base, &f->seen.cards, 1, 1.0);
    CHECK(f->seen.cards == 0, "card read with polling off");
    device_manager_status(m, 0, &st);
    CHECK(st.sam_ok && st.attached, "sam_ok %d attached %d", st.sam_ok,
          st.attached);

    device_manager_set_polling(m, "door1", 1);
    CHECK(usbfix_run_until(base, &f->seen.cards, 1, 5), "no card read");
    CHECK(strcmp(f->seen.name, "测试甲") == 0, "name [%s]", f->seen.name);
    CHECK(strcmp(f->seen.id, "11010519491231002X") == 0, "id wrong");
    usbfix_report("reader");

    /* Unplugged in the middle of the next read. */
    pthread_mutex_lock(&f->dev.mu);
    f->card_present = 0;
    pthread_mutex_unlock(&f->dev.mu);
    usbfix_run_until(base, &f->seen.cards, 99, 1.5); /* removal seen */
    set_card(f, "测试乙", "440524188001010014");
    pthread_mutex_lock(&f->dev.mu);
    f->unplug_on_read = 1;
    reads = f->read_cmds;
    pthread_mutex_unlock(&f->dev.mu);
    CHECK(usbfix_run_until_dev(base, &f->dev, &f->read_cmds, reads + 1, 5),
          "no read command sent");
    usbfix_remove_device(f->tb, 3);
    CHECK(usbfix_run_until(base, &f->seen.detached, 1, 5),
          "detach not reported");
    CHECK(f->seen.cards == 1, "a half-read card was reported (%d)",
          f->seen.cards);
    device_manager_status(m, 0, &st);
    CHECK(!st.attached, "still attached after unplug");
    fx_reset_urbs(f);

    /* Plugged back in (new address): attached again, card read. */
    usbfix_add_device(f->tb, f->dev.handler, 4, reader_desc);
    CHECK(usbfix_run_until(base, &f->seen.attached, 2, 5), "not re-attached");
    CHECK(usbfix_run_until(base, &f->seen.cards, 2, 5), "no card after replug");
    CHECK(strcmp(f->seen.name, "测试乙") == 0, "name [%s]", f->seen.name);
    usbfix_report("reader hotplug (errors reported: %d)", f->seen.errors);

    /* Polling off again: no more reads, no timers. */
    device_manager_set_polling(m, "door1", 0);
    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
    event_base_free(base);
    usbfix_remove_device(f->tb, 4);
    fx_reset_urbs(f);
}

static void scanner_cfg(struct config_device *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->name, sizeof(cfg->name), "scan1");
    cfg->type = DEVTYPE_SCANNER;
    cfg->transport = TRANSPORT_USB;
    cfg->vid = 0x1234;
    cfg->pid = 0x5678;
}

/* Queue "code" as key taps (digits only) and Enter. */
static void type_code(struct fx *f, const char *code)
{
    pthread_mutex_lock(&f->dev.mu);
    for (; *code; code++) {
        press(f, 0, *code == '0' ? 0x27 : (uint8_t)(0x1E + *code - '1'), 0);
        press(f, 0, 0, 0);
    }
    press(f, 0, 0x28, 0);
    press(f, 0, 0, 0);
    pthread_mutex_unlock(&f->dev.mu);
}

static void clear_seen(struct fx *f)
{
    memset(&f->seen, 0, sizeof(f->seen));
}

/* A scanner that STALLs SET_PROTOCOL and SET_IDLE (as many do, and the
 * kernel ignores): attached, no error, and it scans. */
static void test_scanner_stall(struct fx *f)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m;
    struct err e;

    clear_seen(f);
    pthread_mutex_lock(&f->dev.mu);
    f->stall_class = 1;
    f->set_protocol = f->set_idle = f->bad_class = 0;
    pthread_mutex_unlock(&f->dev.mu);
    scanner_cfg(&cfg);
    usbfix_add_device(f->tb, f->dev.handler, 5, scanner_desc);
    m = device_manager_new(base, &cfg, 1, usbfix_on_event, &f->seen, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    CHECK(usbfix_run_until(base, &f->seen.attached, 1, 5), "never attached");
    CHECK(usbfix_run_until_dev(base, &f->dev, &f->set_idle, 1, 5),
          "no SET_IDLE");
    type_code(f, "4006381333931");
    CHECK(usbfix_run_until(base, &f->seen.codes, 1, 5), "no code scanned");
    CHECK(strcmp(f->seen.last_code, "4006381333931") == 0, "code [%s]",
          f->seen.last_code);
    CHECK(f->seen.errors == 0 && f->seen.detached == 0,
          "errors %d (%s) detached %d", f->seen.errors, f->seen.last_error,
          f->seen.detached);
    pthread_mutex_lock(&f->dev.mu);
    CHECK(f->set_protocol == 1 && f->set_idle == 1 && f->bad_class == 0,
          "SET_PROTOCOL %d, SET_IDLE %d, other %d", f->set_protocol,
          f->set_idle, f->bad_class);
    f->stall_class = 0;
    pthread_mutex_unlock(&f->dev.mu);
    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    usbfix_remove_device(f->tb, 5);
    fx_reset_urbs(f);
    usbfix_report("scanner that stalls SET_PROTOCOL and SET_IDLE still scans");
}

/* What the freed manager's callback would record: it must stay empty. */
static struct usbfix_seen old_seen;

/*
 * A reload while the scanner's IN transfer is in flight and its
 * cancellation is held back; with unplug, the scanner is removed between
 * the free and the new manager, and plugged in again afterwards.
 */
static void reload_case(struct fx *f, int unplug)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m, *m2 = NULL;
    struct device_status st;
    int devnum = unplug ? 7 : 6, claims;
    double t0;
    struct err e;

    clear_seen(f);
    memset(&old_seen, 0, sizeof(old_seen));
    scanner_cfg(&cfg);
    usbfix_add_device(f->tb, f->dev.handler, devnum, scanner_desc);
    m = device_manager_new(base, &cfg, 1, usbfix_on_event, &old_seen, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    CHECK(usbfix_run_until(base, &old_seen.attached, 1, 5), "never attached");
    type_code(f, "111");
    CHECK(usbfix_run_until(base, &old_seen.codes, 1, 5), "no code before");
    claims = usbfix_get(&f->dev, &f->dev.claims);

    /* The reload, with the read in flight and its cancellation held. */
    usbfix_hold_discards(&f->dev, 1);
    t0 = usbfix_now();
    device_manager_free(m);
    CHECK(usbfix_now() - t0 < 1.0, "device_manager_free took %.2f s",
          usbfix_now() - t0);
    CHECK(usbfix_get(&f->dev, &f->dev.discards) >= 1, "nothing cancelled");
    CHECK(device_usb_draining() == 1, "draining %zu", device_usb_draining());
    if (unplug) {
        pthread_mutex_lock(&f->dev.mu);
        f->dev.removed = 1;
        pthread_mutex_unlock(&f->dev.mu);
        usbfix_remove_device(f->tb, devnum);
    }
    m2 = device_manager_new(base, &cfg, 1, usbfix_on_event, &f->seen, &e);
    CHECK(m2 != NULL, "%s", e.msg);
    if (m2 == NULL)
        goto out;
    if (!unplug) {
        /* The unit was let go at the free: claimed again at once, and it
         * scans into the new manager while the old read is still out. */
        CHECK(usbfix_run_until(base, &f->seen.attached, 1, 5),
              "not attached to the new manager");
        CHECK(usbfix_get(&f->dev, &f->dev.claims) == claims + 1, "claims %d",
              usbfix_get(&f->dev, &f->dev.claims) - claims);
        type_code(f, "222");
        CHECK(usbfix_run_until(base, &f->seen.codes, 1, 5),
              "no code on the new manager");
        CHECK(strcmp(f->seen.last_code, "222") == 0, "code [%s]",
              f->seen.last_code);
        CHECK(device_usb_draining() == 1, "the old one went without its "
                                          "transfer");
    } else {
        usbfix_run_until(base, &f->seen.attached, 1, 0.3);
        CHECK(f->seen.attached == 0, "attached to an unplugged device");
    }
    /* The held cancellation comes back: the old device is freed. */
    usbfix_hold_discards(&f->dev, 0);
    CHECK(usbfix_drain(base, 5), "the freed manager never drained");
    CHECK(old_seen.attached == 1 && old_seen.codes == 1 &&
              old_seen.detached == 0 && old_seen.errors == 0,
          "the freed manager's callback ran: attached %d codes %d "
          "detached %d errors %d",
          old_seen.attached, old_seen.codes, old_seen.detached,
          old_seen.errors);
    if (unplug) {
        /* Plugged in again (a new address): back on the new manager. */
        fx_reset_urbs(f);
        devnum = 8;
        usbfix_add_device(f->tb, f->dev.handler, devnum, scanner_desc);
        CHECK(usbfix_run_until(base, &f->seen.attached, 1, 5),
              "not back after the replug");
        type_code(f, "333");
        CHECK(usbfix_run_until(base, &f->seen.codes, 1, 5),
              "no code after the replug");
        CHECK(strcmp(f->seen.last_code, "333") == 0, "code [%s]",
              f->seen.last_code);
    }
    device_manager_status(m2, 0, &st);
    CHECK(st.attached, "not attached at the end");
    device_manager_free(m2);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    usbfix_remove_device(f->tb, devnum);
    fx_reset_urbs(f);
    if (unplug)
        usbfix_report("unplug during a reload: old manager freed once its "
                      "transfers are back, device back after replug");
    else
        usbfix_report("reload with a read in flight: no wait, unit claimed "
                      "again at once, old callbacks silent");
}

int main(void)
{
    struct fx f;

    memset(&f, 0, sizeof(f));
    log_init("test_usb_devices", 1, LOG_LVL_WARN);
    /* The testbed first: it sets $UMOCKDEV_DIR, which libusb must see. */
    f.tb = usbfix_testbed_new();
    usbfix_dev_init(&f.dev, &dev_ops, &f);
    test_scanner(&f);
    test_reader(&f);
    test_scanner_stall(&f);
    reload_case(&f, 0);
    reload_case(&f, 1);
    usbfix_dev_free(&f.dev);
    g_clear_object(&f.tb);
    return usbfix_finish("test_usb_devices");
}
