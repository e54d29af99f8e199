/*
 * test_usb_hidreader.c: the HID transport of the ID-card reader and USB
 * serial-number matching, through device_manager_new() on a libevent loop
 * against devices emulated in-process by umockdev
 * (docs/usb-testing.md; the protocol in docs/idcard-protocol.md §4):
 *
 *   1. a 2B8B:2721 HID reader (interrupt IN 0x81 and OUT 0x02, 64-byte
 *      reports): every command must arrive as one zero-padded 64-byte
 *      interrupt OUT report without a report ID; the answers go back in
 *      64-byte interrupt IN reports, the 1,295-byte read answer in 21 of
 *      them.  With polling on: ATTACHED, then CARD_READ with the decoded
 *      fields exactly once while the card lies there, then CARD_REMOVED
 *      (find 80 / select 81) when it leaves;
 *   2. the same reader answering the read with a truncated report sequence
 *      (the last reports never come) and with a garbled one (a byte
 *      flipped in a middle report): an ERROR, never a card; a good read
 *      of a card laid on again afterwards still works;
 *   3. two identical readers that differ only in their iSerialNumber
 *      string (read with GET_DESCRIPTOR control transfers): a config
 *      naming one serial attaches that one whichever order they enumerate
 *      in, claims and submits nothing to the other; a serial nobody has
 *      attaches nothing; the right unit arriving by hotplug after a wrong
 *      one is still found; two configured doors with one serial each get
 *      their own unit; a unit that never answers the string request is
 *      given up after the control timeout while the loop keeps turning
 *      (the request is asynchronous), and the right unit is found.
 *
 * Each emulated device is a usbfs emulation of the shared fixture
 * (usbfix.h) with its own umockdev ioctl handler, which runs in umockdev's
 * thread, so its state is under the device's mutex; the ops below play
 * the reader.
 * ID numbers are compared in memory and never printed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "device.h"
#include "idframe.h"
#include "idreader.h"
#include "idtext.h"
#include "log.h"
#include "usbfix.h"

#define MAX_REPORTS 128
#define REPORT      DEVICE_HID_REPORT
#define READ_LEN    (7 + 3 + 4 + IDTEXT_LEN + IDTEXT_PHOTO_LEN + 1) /* 1,295 */
#define READ_REPS   ((READ_LEN + REPORT - 1) / REPORT)              /* 21 */

enum read_mode {
    READ_GOOD = 0,
    READ_TRUNCATED, /* only the first 12 reports come */
    READ_GARBLED,   /* one byte of report 10 flipped */
};

/* One emulated reader. */
struct emu {
    struct usbfix_dev dev; /* its mu guards the state below */
    int devnum;
    const char *serial;
    uint8_t reports[MAX_REPORTS][REPORT]; /* IN reports queued */
    int n_reports;
    /* the card */
    int card_present;
    enum read_mode mode;
    uint8_t text[IDTEXT_LEN];
    /* what the driver did to this device (CLAIMINTERFACE: dev.claims) */
    int data_urbs;  /* non-control URBs submitted */
    int ctrl_urbs;  /* control URBs submitted */
    int str_reads;  /* GET_DESCRIPTOR(string) */
    int bad_out;    /* OUT not one zero-padded 64-byte frame */
    int setreports; /* class control requests (should be none) */
    int sam_status, sam_id, finds, selects, reads;
};

/* --- the emulated reader ---------------------------------------------- */

/* Queue a response frame as ceil(len/64) zero-padded reports. */
static void queue_frame(struct emu *x, const uint8_t *frame, size_t len,
                        int nrep_max)
{
    size_t off;
    int k = 0;

    for (off = 0; off < len && k < nrep_max; off += REPORT, k++) {
        size_t n = len - off < REPORT ? len - off : REPORT;
        uint8_t *r;

        if (x->n_reports == MAX_REPORTS)
            return;
        r = x->reports[x->n_reports++];
        memset(r, 0, REPORT);
        memcpy(r, frame + off, n);
    }
}

static void reader_answer(struct emu *x, const uint8_t *out, size_t n)
{
    static const uint8_t sam_id[16] = {5,    0,    1, 0, 0x10, 0x27, 0, 0,
                                       0x40, 0xe2, 1, 0, 0x2a, 0,    0, 0};
    static const uint8_t four[4] = {0};
    static const uint8_t eight[8] = {0};
    uint8_t data[4 + IDTEXT_LEN + IDTEXT_PHOTO_LEN];
    uint8_t r[READ_LEN + 16];
    struct idframe_decoder d;
    struct idframe fr;
    size_t used, i;
    uint16_t cmd;
    long len = -1;
    int nrep = MAX_REPORTS;

    /* One frame, zero padded to exactly 64 bytes, no report ID byte. */
    idframe_decoder_init(&d);
    if (n != REPORT ||
        idframe_decoder_feed(&d, out, n, &used, &fr) != IDFRAME_OK ||
        d.skipped != 0 || fr.body_len < 2) {
        x->bad_out++;
        return;
    }
    for (i = fr.raw_len; i < n; i++)
        if (out[i] != 0)
            x->bad_out++;
    cmd = (uint16_t)(fr.body[0] << 8 | fr.body[1]);
    switch (cmd) {
    case IDCMD_SAM_STATUS:
        x->sam_status++;
        len = idframe_encode_resp(IDSW_OK, NULL, 0, r, sizeof(r));
        break;
    case IDCMD_SAM_ID:
        x->sam_id++;
        len = idframe_encode_resp(IDSW_OK, sam_id, 16, r, sizeof(r));
        break;
    case IDCMD_FIND:
        x->finds++;
        len = idframe_encode_resp(x->card_present ? IDSW_FOUND : IDSW_NO_CARD,
                                  four, x->card_present ? 4 : 0, r, sizeof(r));
        break;
    case IDCMD_SELECT:
        x->selects++;
        len = idframe_encode_resp(x->card_present ? IDSW_OK : IDSW_SELECT_FAIL,
                                  eight, x->card_present ? 8 : 0, r, sizeof(r));
        break;
    case IDCMD_READ:
        x->reads++;
        if (!x->card_present) {
            len = idframe_encode_resp(IDSW_READ_FAIL, NULL, 0, r, sizeof(r));
            break;
        }
        data[0] = IDTEXT_LEN >> 8;
        data[1] = IDTEXT_LEN & 0xff;
        data[2] = IDTEXT_PHOTO_LEN >> 8;
        data[3] = IDTEXT_PHOTO_LEN & 0xff;
        memcpy(data + 4, x->text, IDTEXT_LEN);
        memset(data + 4 + IDTEXT_LEN, 0x5a, IDTEXT_PHOTO_LEN);
        memcpy(data + 4 + IDTEXT_LEN, "WLf", 4);
        len = idframe_encode_resp(IDSW_OK, data, sizeof(data), r, sizeof(r));
        if (len != READ_LEN) {
            x->bad_out++; /* the test's own arithmetic is wrong */
            return;
        }
        if (x->mode == READ_TRUNCATED)
            nrep = 12;
        else if (x->mode == READ_GARBLED)
            r[10 * REPORT + 17] ^= 0x44;
        break;
    default:
        len = idframe_encode_resp(IDSW_BAD_COMMAND, NULL, 0, r, sizeof(r));
        break;
    }
    if (len > 0)
        queue_frame(x, r, (size_t)len, nrep);
}

/* GET_DESCRIPTOR(string): language list, or the UTF-16LE of a string. */
static int string_descriptor(struct emu *x, uint8_t idx, uint8_t *out,
                             size_t cap)
{
    const char *s;
    size_t i, n;

    if (idx == 0) {
        static const uint8_t langs[4] = {4, 3, 0x09, 0x04};
        n = cap < 4 ? cap : 4;
        memcpy(out, langs, n);
        return (int)n;
    }
    s = idx == 1 ? "Synthetic" : idx == 2 ? "HID ID reader" : x->serial;
    if (idx > 3 || s == NULL)
        return -1;
    n = 2 + 2 * strlen(s);
    if (n > cap)
        n = cap;
    if (n >= 1)
        out[0] = (uint8_t)(2 + 2 * strlen(s));
    if (n >= 2)
        out[1] = 3;
    for (i = 2; i < n; i++)
        out[i] = i % 2 == 0 ? (uint8_t)s[(i - 2) / 2] : 0;
    return (int)n;
}

static void submit_control(struct emu *x, struct usbdevfs_urb *urb)
{
    uint8_t *b = urb->buffer;
    int n = 0;

    x->ctrl_urbs++;
    urb->status = 0;
    if (urb->buffer_length < 8) {
        urb->status = -EPIPE;
    } else if (b[0] == 0x80 && b[1] == 6 && b[3] == 3) {
        x->str_reads++;
        n = string_descriptor(x, b[2], b + 8, (size_t)urb->buffer_length - 8);
        if (n < 0) {
            urb->status = -EPIPE;
            n = 0;
        }
    } else if ((b[0] & 0x60) == 0x20) {
        x->setreports++; /* class request: the reader has an OUT ep */
    }
    urb->actual_length = n;
}

/* usbfs SUBMITURB: only interrupt transfers on 0x81 / 0x02, and control
 * transfers (string descriptors). */
static void emu_submit(void *user, struct usbdevfs_urb *urb)
{
    struct emu *x = user;

    if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
        submit_control(x, urb);
    } else if (urb->endpoint & 0x80) {
        x->data_urbs++;
        if (urb->endpoint != 0x81 || urb->type != USBDEVFS_URB_TYPE_INTERRUPT)
            x->bad_out++;
    } else {
        x->data_urbs++;
        if (urb->endpoint != 0x02 || urb->type != USBDEVFS_URB_TYPE_INTERRUPT)
            x->bad_out++;
        else
            reader_answer(x, urb->buffer, (size_t)urb->buffer_length);
    }
}

/* An IN URB gets one queued report. */
static int emu_fill(void *user, uint8_t *buf, size_t cap)
{
    struct emu *x = user;
    size_t n = REPORT;

    if (x->n_reports == 0)
        return -1;
    if (n > cap)
        n = cap;
    memcpy(buf, x->reports[0], n);
    memmove(x->reports, x->reports + 1,
            sizeof(x->reports[0]) * (size_t)--x->n_reports);
    return (int)n;
}

static const struct usbfix_ops emu_ops = {emu_submit, emu_fill};

/* 2B8B:2721, strings 1/2/3, one HID interface with interrupt IN 0x81 and
 * interrupt OUT 0x02 of 64 bytes. */
static const char hidreader_desc[] = "12010002000000408b2b2127000101020301"
                                     "09022900010100"
                                     "8032"
                                     "090400000203000000"
                                     "092111010001222200"
                                     "07058103400001"
                                     "07050203400001";

static void emu_init(struct emu *x, int devnum, const char *serial)
{
    memset(x, 0, sizeof(*x));
    usbfix_dev_init(&x->dev, &emu_ops, x);
    x->devnum = devnum;
    x->serial = serial;
}

static void emu_plug(UMockdevTestbed *tb, struct emu *x)
{
    usbfix_add_device(tb, x->dev.handler, x->devnum, hidreader_desc);
}

static void emu_unplug(UMockdevTestbed *tb, struct emu *x)
{
    usbfix_remove_device(tb, x->devnum);
    usbfix_detach_ioctl(tb, x->devnum);
}

/* Read a counter of x under its lock. */
static int emu_get(struct emu *x, const int *field)
{
    return usbfix_get(&x->dev, field);
}

/* Run the loop until x's counter *field reaches want or seconds pass. */
static int run_until_emu(struct event_base *base, struct emu *x,
                         const int *field, int want, double seconds)
{
    return usbfix_run_until_dev(base, &x->dev, field, want, seconds);
}

/* --- the loop ------------------------------------------------------------ */

/* Every event is recorded; a reader never types. */
static void on_event(const struct device_event *ev, void *arg)
{
    CHECK(ev->type != DEVICE_CODE_SCANNED, "a reader scanned a code");
    usbfix_on_event(ev, arg);
}

static const char card_name[] = "测试丙";
static const char card_id[] = "11010519491231002X";

static void set_card(struct emu *x, int present)
{
    struct idcard_info c;
    struct err e;

    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", card_name);
    snprintf(c.gender_code, sizeof(c.gender_code), "2");
    snprintf(c.nation_code, sizeof(c.nation_code), "01");
    snprintf(c.birth, sizeof(c.birth), "19491231");
    snprintf(c.address, sizeof(c.address), "测试省测试市测试路1号");
    snprintf(c.id_number, sizeof(c.id_number), "%s", card_id);
    snprintf(c.authority, sizeof(c.authority), "测试公安局");
    snprintf(c.valid_from, sizeof(c.valid_from), "20200101");
    snprintf(c.valid_to, sizeof(c.valid_to), "长期");
    pthread_mutex_lock(&x->dev.mu);
    g_assert_cmpint(idtext_encode(&c, x->text, &e), ==, 0);
    x->card_present = present;
    pthread_mutex_unlock(&x->dev.mu);
    idcard_info_wipe(&c);
}

static void set_present(struct emu *x, int present, enum read_mode mode)
{
    pthread_mutex_lock(&x->dev.mu);
    x->card_present = present;
    x->mode = mode;
    pthread_mutex_unlock(&x->dev.mu);
}

static void reader_cfg(struct config_device *cfg, const char *name,
                       const char *serial)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->name, sizeof(cfg->name), "%s", name);
    cfg->type = DEVTYPE_IDCARD;
    cfg->transport = TRANSPORT_USB;
    cfg->vid = 0x2B8B;
    cfg->pid = 0x2721;
    snprintf(cfg->serial, sizeof(cfg->serial), "%s", serial);
}

/* --- tests ----------------------------------------------------------- */

static void test_frames(void)
{
    static const uint8_t sam_ok[] = {0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00,
                                     0x04, 0x00, 0x00, 0x90, 0x94};
    uint8_t r[32];

    /* The answer the emulated reader gives to 11 FF, byte for byte. */
    CHECK(idframe_encode_resp(IDSW_OK, NULL, 0, r, sizeof(r)) ==
                  (long)sizeof(sam_ok) &&
              memcmp(r, sam_ok, sizeof(sam_ok)) == 0,
          "SAM status answer");
    CHECK(READ_LEN == 1295 && READ_REPS == 21, "%d bytes, %d reports", READ_LEN,
          READ_REPS);
    usbfix_report("frames");
}

static void test_hid_read(UMockdevTestbed *tb)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m;
    struct device_status st;
    struct usbfix_seen s;
    struct emu x;
    struct err e;

    memset(&s, 0, sizeof(s));
    emu_init(&x, 2, "HID0001");
    set_card(&x, 1);
    emu_plug(tb, &x);
    reader_cfg(&cfg, "door-hid", "");
    m = device_manager_new(base, &cfg, 1, on_event, &s, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    device_manager_set_polling(m, "door-hid", 1);
    CHECK(usbfix_run_until(base, &s.attached, 1, 5), "never attached");
    CHECK(strcmp(s.where, "usb 001/002") == 0, "where [%s]", s.where);

    CHECK(usbfix_run_until(base, &s.cards, 1, 5), "no card read");
    CHECK(strcmp(s.name, card_name) == 0, "name [%s]", s.name);
    CHECK(strcmp(s.id, card_id) == 0, "the ID number differs");
    CHECK(strcmp(s.birth, "19491231") == 0, "birth [%s]", s.birth);
    CHECK(strcmp(s.gender, "女") == 0, "gender [%s]", s.gender);
    CHECK(strcmp(s.nation, "汉") == 0, "nation [%s]", s.nation);
    CHECK(strcmp(s.valid_to, "长期") == 0, "valid_to [%s]", s.valid_to);
    CHECK(s.photo_bytes == IDTEXT_PHOTO_LEN, "photo %zu", s.photo_bytes);

    /* The card stays: polled (find 9F), never read or reported again. */
    CHECK(run_until_emu(base, &x, &x.finds, emu_get(&x, &x.finds) + 3, 3),
          "polling stopped");
    CHECK(s.cards == 1, "card reported %d times", s.cards);
    CHECK(emu_get(&x, &x.reads) == 1, "%d reads", emu_get(&x, &x.reads));
    device_manager_status(m, 0, &st);
    CHECK(st.attached && st.polling && st.sam_ok,
          "attached %d polling %d sam %d", st.attached, st.polling, st.sam_ok);
    CHECK(strcmp(st.sam_id, "05.01-00010000-0000123456-0000000042") == 0,
          "sam id [%s]", st.sam_id);
    CHECK(strcmp(st.where, "usb 001/002") == 0, "where [%s]", st.where);

    /* Taken away: find 80, select 81, removed exactly once. */
    set_present(&x, 0, READ_GOOD);
    CHECK(usbfix_run_until(base, &s.removed, 1, 5), "removal not reported");
    usbfix_run_until(base, &s.removed, 2, 1.0);
    CHECK(s.removed == 1, "removed %d times", s.removed);
    CHECK(s.cards == 1 && s.errors == 0 && s.detached == 0,
          "cards %d errors %d (%s) detached %d", s.cards, s.errors,
          s.last_error, s.detached);

    pthread_mutex_lock(&x.dev.mu);
    CHECK(x.bad_out == 0, "%d OUT reports were not one padded frame",
          x.bad_out);
    CHECK(x.setreports == 0, "SET_REPORT used despite an OUT endpoint");
    CHECK(x.sam_status == 1 && x.sam_id == 1, "SAM status %d, SAM ID %d",
          x.sam_status, x.sam_id);
    CHECK(x.dev.claims == 1, "claims %d", x.dev.claims);
    pthread_mutex_unlock(&x.dev.mu);
    usbfix_report("hid reader: card in 21 reports, once, then removed");

    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    emu_unplug(tb, &x);
    usbfix_dev_free(&x.dev);
}

/* A read answered by a broken report sequence: an error, never a card. */
static void broken_read(struct event_base *base, struct device_manager *m,
                        struct emu *x, struct usbfix_seen *s,
                        enum read_mode mode)
{
    int errors = s->errors, reads = emu_get(x, &x->reads);
    int cards = s->cards;

    (void)m;
    set_present(x, 1, mode);
    /* Three tries, each timing out (IDREADER_READ_TIMEOUT_MS) or failing
     * its checksum; then the read is given up. */
    CHECK(usbfix_run_until(base, &s->errors, errors + 1,
                           (IDREADER_RETRIES + 2) * 3.0 + 2),
          "no error for a %s read",
          mode == READ_TRUNCATED ? "truncated" : "garbled");
    CHECK(strstr(s->last_error, "card read failed") != NULL, "error [%s]",
          s->last_error);
    CHECK(emu_get(x, &x->reads) == reads + 1 + IDREADER_RETRIES, "%d reads",
          emu_get(x, &x->reads) - reads);
    /* The card stays: no new attempt, no card. */
    run_until_emu(base, x, &x->finds, emu_get(x, &x->finds) + 3, 3);
    CHECK(emu_get(x, &x->reads) == reads + 1 + IDREADER_RETRIES,
          "read again while the failed card lies there");
    CHECK(s->cards == cards, "a broken read gave a card");
    CHECK(s->errors == errors + 1, "%d errors", s->errors - errors);
    /* Taken away (no CARD_REMOVED: none was reported). */
    set_present(x, 0, READ_GOOD);
    CHECK(run_until_emu(base, x, &x->selects, emu_get(x, &x->selects) + 1, 3),
          "no presence check");
    run_until_emu(base, x, &x->finds, emu_get(x, &x->finds) + 1, 3);
    CHECK(s->removed == 0, "removal of a card never reported");
}

static void test_hid_broken(UMockdevTestbed *tb)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m;
    struct usbfix_seen s;
    struct emu x;
    struct err e;

    memset(&s, 0, sizeof(s));
    emu_init(&x, 3, NULL);
    set_card(&x, 0);
    emu_plug(tb, &x);
    reader_cfg(&cfg, "door-hid", "");
    m = device_manager_new(base, &cfg, 1, on_event, &s, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    device_manager_set_polling(m, "door-hid", 1);
    CHECK(usbfix_run_until(base, &s.attached, 1, 5), "never attached");
    CHECK(run_until_emu(base, &x, &x.finds, 1, 3), "no polling");

    broken_read(base, m, &x, &s, READ_TRUNCATED);
    usbfix_report("hid reader: truncated read gives an error");
    broken_read(base, m, &x, &s, READ_GARBLED);
    usbfix_report("hid reader: garbled read gives an error");

    /* Laid on again, read properly this time. */
    set_present(&x, 1, READ_GOOD);
    CHECK(usbfix_run_until(base, &s.cards, 1, 5), "no card after the failures");
    CHECK(strcmp(s.id, card_id) == 0, "the ID number differs");
    CHECK(s.cards == 1 && s.detached == 0, "cards %d detached %d", s.cards,
          s.detached);
    CHECK(emu_get(&x, &x.bad_out) == 0, "bad OUT reports");
    usbfix_report("hid reader: good read after broken ones");

    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    emu_unplug(tb, &x);
    usbfix_dev_free(&x.dev);
}

/* Two identical units present; cfg names want (or nobody). */
static void serial_case(UMockdevTestbed *tb, const char *want, int expect)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m;
    struct device_status st;
    struct emu x[2];
    struct usbfix_seen s;
    struct err e;
    char where[32];
    int i;

    memset(&s, 0, sizeof(s));
    emu_init(&x[0], 4, "AAA111");
    emu_init(&x[1], 5, "BBB222");
    for (i = 0; i < 2; i++) {
        set_card(&x[i], 0);
        emu_plug(tb, &x[i]);
    }
    reader_cfg(&cfg, "door-sn", want);
    m = device_manager_new(base, &cfg, 1, on_event, &s, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    if (expect >= 0) {
        CHECK(usbfix_run_until(base, &s.attached, 1, 5),
              "serial %s: not attached", want);
        /* The SAM check goes to the chosen unit. */
        CHECK(run_until_emu(base, &x[expect], &x[expect].sam_id, 1, 3),
              "serial %s: no SAM check", want);
    }
    usbfix_run_until(base, &s.attached, 2, 1.0);
    device_manager_status(m, 0, &st);
    if (expect >= 0) {
        snprintf(where, sizeof(where), "usb 001/%03d", x[expect].devnum);
        CHECK(s.attached == 1, "serial %s: attached %d times", want,
              s.attached);
        CHECK(st.attached && strcmp(st.where, where) == 0,
              "serial %s: attached %d where [%s]", want, st.attached, st.where);
        CHECK(st.sam_ok, "serial %s: SAM not ok", want);
    } else {
        CHECK(s.attached == 0 && !st.attached,
              "serial %s: attached to something (%s)", want, st.where);
    }
    for (i = 0; i < 2; i++) {
        pthread_mutex_lock(&x[i].dev.mu);
        if (i == expect) {
            CHECK(x[i].dev.claims == 1 && x[i].data_urbs > 0,
                  "serial %s: unit %d: claims %d urbs %d", want, i,
                  x[i].dev.claims, x[i].data_urbs);
        } else {
            CHECK(x[i].dev.claims == 0 && x[i].data_urbs == 0,
                  "serial %s: unit %d was used: claims %d urbs %d", want, i,
                  x[i].dev.claims, x[i].data_urbs);
            /* Only its serial number was read, and not over and over. */
            CHECK(x[i].ctrl_urbs == x[i].str_reads && x[i].str_reads <= 4,
                  "serial %s: unit %d: %d control, %d string reads", want, i,
                  x[i].ctrl_urbs, x[i].str_reads);
        }
        CHECK(x[i].bad_out == 0, "bad OUT reports");
        pthread_mutex_unlock(&x[i].dev.mu);
    }
    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    for (i = 0; i < 2; i++) {
        emu_unplug(tb, &x[i]);
        usbfix_dev_free(&x[i].dev);
    }
}

/* The wrong unit arrives first, the right one later by hotplug. */
static void serial_hotplug(UMockdevTestbed *tb)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m;
    struct device_status st;
    struct emu x[2];
    struct usbfix_seen s;
    struct err e;
    int i;

    memset(&s, 0, sizeof(s));
    emu_init(&x[0], 6, "AAA111");
    emu_init(&x[1], 7, "BBB222");
    reader_cfg(&cfg, "door-sn", "BBB222");
    m = device_manager_new(base, &cfg, 1, on_event, &s, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    usbfix_run_until(base, &s.attached, 1, 0.2);
    emu_plug(tb, &x[0]);
    CHECK(run_until_emu(base, &x[0], &x[0].str_reads, 1, 5),
          "the first unit was never looked at");
    usbfix_run_until(base, &s.attached, 1, 0.5);
    CHECK(s.attached == 0, "attached to the wrong unit");
    emu_plug(tb, &x[1]);
    CHECK(usbfix_run_until(base, &s.attached, 1, 5), "right unit not attached");
    device_manager_status(m, 0, &st);
    CHECK(st.attached && strcmp(st.where, "usb 001/007") == 0,
          "attached %d where [%s]", st.attached, st.where);
    CHECK(emu_get(&x[0], &x[0].dev.claims) == 0 &&
              emu_get(&x[0], &x[0].data_urbs) == 0,
          "the wrong unit was used");
    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    for (i = 0; i < 2; i++) {
        emu_unplug(tb, &x[i]);
        usbfix_dev_free(&x[i].dev);
    }
}

/* Two doors, two units of one model told apart by serial number. */
static void serial_pair(UMockdevTestbed *tb, int a_first)
{
    struct event_base *base = usbfix_make_base();
    struct config_device cfg[2];
    struct device_manager *m;
    struct device_status st;
    struct emu x[2];
    struct usbfix_seen s;
    struct err e;
    int i, ia = a_first ? 0 : 1, ib = 1 - ia;
    char where[32];

    memset(&s, 0, sizeof(s));
    emu_init(&x[0], a_first ? 8 : 10, "AAA111");
    emu_init(&x[1], a_first ? 9 : 11, "BBB222");
    for (i = 0; i < 2; i++) {
        set_card(&x[i], 0);
        emu_plug(tb, &x[i]);
    }
    /* Both orders of the config, against libusb's enumeration order. */
    reader_cfg(&cfg[ia], "door-a", "AAA111");
    reader_cfg(&cfg[ib], "door-b", "BBB222");
    m = device_manager_new(base, cfg, 2, on_event, &s, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    CHECK(usbfix_run_until(base, &s.attached, 2, 5), "attached %d of 2",
          s.attached);
    usbfix_run_until(base, &s.attached, 3, 0.5);
    CHECK(s.attached == 2, "attached %d times", s.attached);
    device_manager_status(m, (size_t)ia, &st);
    snprintf(where, sizeof(where), "usb 001/%03d", x[0].devnum);
    CHECK(st.attached && strcmp(st.where, where) == 0,
          "door-a: attached %d where [%s]", st.attached, st.where);
    device_manager_status(m, (size_t)ib, &st);
    snprintf(where, sizeof(where), "usb 001/%03d", x[1].devnum);
    CHECK(st.attached && strcmp(st.where, where) == 0,
          "door-b: attached %d where [%s]", st.attached, st.where);
    for (i = 0; i < 2; i++)
        CHECK(emu_get(&x[i], &x[i].dev.claims) == 1, "unit %d claimed %d times",
              i, emu_get(&x[i], &x[i].dev.claims));
    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_base_free(base);
    for (i = 0; i < 2; i++) {
        emu_unplug(tb, &x[i]);
        usbfix_dev_free(&x[i].dev);
    }
}

/* A loop heartbeat: the longest time between two 10 ms ticks. */
struct beat {
    double last, max_gap;
};

static void beat_cb(evutil_socket_t fd, short what, void *arg)
{
    struct beat *b = arg;
    double now = usbfix_now();

    (void)fd;
    (void)what;
    if (b->last > 0 && now - b->last > b->max_gap)
        b->max_gap = now - b->last;
    b->last = now;
}

/* The wrong unit never answers on endpoint 0; the right one comes later. */
static void serial_hung(UMockdevTestbed *tb)
{
    static const struct timeval tick = {0, 10000};
    struct event_base *base = usbfix_make_base();
    struct config_device cfg;
    struct device_manager *m;
    struct device_status st;
    struct event *ev_beat;
    struct beat beat = {0, 0};
    struct emu x[2];
    struct usbfix_seen s;
    struct err e;
    int i;

    memset(&s, 0, sizeof(s));
    emu_init(&x[0], 12, "AAA111");
    emu_init(&x[1], 13, "BBB222");
    x[0].dev.hang_control = 1;
    ev_beat = event_new(base, -1, EV_PERSIST, beat_cb, &beat);
    g_assert_nonnull(ev_beat);
    event_add(ev_beat, &tick);
    reader_cfg(&cfg, "door-sn", "BBB222");
    emu_plug(tb, &x[0]);
    m = device_manager_new(base, &cfg, 1, on_event, &s, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        goto out;
    CHECK(run_until_emu(base, &x[0], &x[0].dev.n_hung, 1, 5),
          "the silent unit was never asked");
    emu_plug(tb, &x[1]);
    CHECK(usbfix_run_until(base, &s.attached, 1, 10),
          "right unit not attached");
    device_manager_status(m, 0, &st);
    CHECK(st.attached && strcmp(st.where, "usb 001/013") == 0,
          "attached %d where [%s]", st.attached, st.where);
    CHECK(emu_get(&x[0], &x[0].dev.discards) >= 1,
          "the silent unit's request never timed out");
    CHECK(emu_get(&x[0], &x[0].dev.claims) == 0 &&
              emu_get(&x[0], &x[0].data_urbs) == 0,
          "the silent unit was used");
    /* Its control timeout (1 s) passed on the loop, not inside it. */
    CHECK(beat.max_gap < 0.5, "the loop stood still for %.2f s", beat.max_gap);
    device_manager_free(m);
    CHECK(usbfix_drain(base, 5), "freed USB devices still draining");
out:
    event_free(ev_beat);
    event_base_free(base);
    for (i = 0; i < 2; i++) {
        emu_unplug(tb, &x[i]);
        usbfix_dev_free(&x[i].dev);
    }
}

static void test_serial_match(UMockdevTestbed *tb)
{
    serial_case(tb, "AAA111", 0);
    serial_case(tb, "BBB222", 1);
    usbfix_report("serial number picks the unit, either order");
    serial_case(tb, "CCC333", -1);
    usbfix_report("unknown serial number attaches nothing");
    serial_hotplug(tb);
    usbfix_report("right unit found by hotplug after a wrong one");
    serial_pair(tb, 1);
    serial_pair(tb, 0);
    usbfix_report("two doors, two units of one model, each by serial number");
    serial_hung(tb);
    usbfix_report("a unit silent on endpoint 0 is given up without blocking "
                  "the loop");
}

int main(void)
{
    UMockdevTestbed *tb;

    log_init("test_usb_hidreader", 1, LOG_LVL_WARN);
    /* The testbed first: it sets $UMOCKDEV_DIR, which libusb must see. */
    tb = usbfix_testbed_new();
    test_frames();
    test_hid_read(tb);
    test_hid_broken(tb);
    test_serial_match(tb);
    g_clear_object(&tb);
    return usbfix_finish("test_usb_hidreader");
}
