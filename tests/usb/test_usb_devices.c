/*
 * test_usb_devices.c: the real drivers/ USB path (usb.c in a libevent
 * loop, hotplug, transfers, device.c, hidkbd / idreader) against devices
 * emulated in-process by umockdev (shared/notes/usb-testing.md):
 *
 *   1. a HID keyboard-mode scanner typing codes (Shift, repeats with
 *      releases, rollover) through interrupt IN reports;
 *   2. a bulk ID-card reader 0400:c35a answering SAM status / SAM ID /
 *      find / select / read; the card is decoded;
 *   3. that reader unplugged in the middle of a read: DETACHED, no card
 *      event, the process stays up; plugged back in: ATTACHED and the
 *      next card is read.
 *
 * The ioctl handler below plays the device: it answers SUBMITURB /
 * REAPURBNDELAY / DISCARDURB like usbfs, queues scanner reports, and
 * answers reader commands with real protocol frames.  After an unplug it
 * answers ENODEV, as the kernel does.  It runs in umockdev's thread, so
 * its state is under a mutex.  The loop avoids epoll: the emulated usbfs
 * fd is a regular file, which epoll refuses.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>

#include <event2/event.h>
#include <glib.h>
#include <umockdev.h>

#include "device.h"
#include "idframe.h"
#include "idtext.h"
#include "log.h"

#define MAX_URBS    16
#define MAX_REPORTS 512
#define RESP_MAX    1400

struct fx {
    pthread_mutex_t mu;
    UMockdevTestbed *tb;
    UMockdevIoctlBase *handler;
    /* usbfs emulation */
    UMockdevIoctlData *in_urbs[MAX_URBS]; /* IN URBs waiting for data */
    int n_in;
    UMockdevIoctlData *done[MAX_URBS]; /* completed, to be reaped */
    int n_done;
    int removed; /* answer ENODEV */
    /* scanner */
    uint8_t reports[MAX_REPORTS][8];
    int n_reports, next_report;
    /* reader */
    int card_present;
    int unplug_on_read; /* vanish at the next 30 01 */
    int read_cmds;
    uint8_t text[IDTEXT_LEN];
    uint8_t resp[4][RESP_MAX];
    size_t resp_len[4];
    int n_resp;
    /* events seen by the test (main thread only) */
    int attached, detached, errors, cards, codes;
    char last_code[256];
    char last_name[96];
    char last_id[56];
};

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

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
            f->removed = 1;
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

/* Give waiting IN URBs whatever data is ready. */
static void fill_in_urbs(struct fx *f)
{
    while (f->n_in > 0 && f->n_done < MAX_URBS) {
        UMockdevIoctlData *u = f->in_urbs[0];
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)u->data;
        const uint8_t *src;
        size_t n;

        if (f->n_resp > 0) {
            src = f->resp[0];
            n = f->resp_len[0];
        } else if (f->next_report < f->n_reports) {
            src = f->reports[f->next_report];
            n = 8;
        } else {
            return;
        }
        if (n > (size_t)urb->buffer_length)
            n = (size_t)urb->buffer_length;
        memcpy(urb->buffer, src, n);
        urb->actual_length = (int)n;
        urb->status = 0;
        if (f->n_resp > 0) {
            memmove(f->resp[0], f->resp[1], sizeof(f->resp[0]) * 3);
            memmove(f->resp_len, f->resp_len + 1, sizeof(f->resp_len[0]) * 3);
            f->n_resp--;
        } else {
            f->next_report++;
        }
        memmove(f->in_urbs, f->in_urbs + 1, sizeof(f->in_urbs[0]) * --f->n_in);
        f->done[f->n_done++] = u;
    }
}

static gboolean handle_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c,
                             struct fx *f)
{
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
    gulong req = umockdev_ioctl_client_get_request(c);
    gboolean handled = TRUE;

    (void)h;
    pthread_mutex_lock(&f->mu);
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, 4, NULL);
        *(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION |
                              USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                              USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        umockdev_ioctl_data_unref(d);
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    case USBDEVFS_SUBMITURB: {
        UMockdevIoctlData *u, *buf;
        struct usbdevfs_urb *urb;

        if (f->removed) {
            umockdev_ioctl_client_complete(c, -1, ENODEV);
            break;
        }
        u = umockdev_ioctl_data_resolve(arg, 0, sizeof(*urb), NULL);
        urb = (struct usbdevfs_urb *)u->data;
        buf = umockdev_ioctl_data_resolve(
            u, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
            (gsize)urb->buffer_length, NULL);
        if (urb->endpoint & 0x80) {
            if (f->n_in < MAX_URBS)
                f->in_urbs[f->n_in++] = u;
        } else {
            reader_answer(f, urb->buffer, (size_t)urb->buffer_length);
            urb->actual_length = urb->buffer_length;
            urb->status = 0;
            if (f->n_done < MAX_URBS)
                f->done[f->n_done++] = u;
        }
        umockdev_ioctl_data_unref(buf);
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
        UMockdevIoctlData *p, *u;

        if (!f->removed)
            fill_in_urbs(f);
        if (f->n_done == 0) {
            umockdev_ioctl_client_complete(c, -1, f->removed ? ENODEV : EAGAIN);
            break;
        }
        u = f->done[0];
        memmove(f->done, f->done + 1, sizeof(f->done[0]) * --f->n_done);
        p = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
        umockdev_ioctl_data_set_ptr(p, 0, u);
        umockdev_ioctl_data_unref(p);
        umockdev_ioctl_data_unref(u);
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    case USBDEVFS_DISCARDURB: {
        gulong addr = (gulong) * (void **)arg->data;
        int i, found = 0;

        for (i = 0; i < f->n_in; i++) {
            if (f->in_urbs[i]->client_addr == addr) {
                UMockdevIoctlData *u = f->in_urbs[i];
                ((struct usbdevfs_urb *)u->data)->status = -ENOENT;
                ((struct usbdevfs_urb *)u->data)->actual_length = 0;
                memmove(f->in_urbs + i, f->in_urbs + i + 1,
                        sizeof(f->in_urbs[0]) * (size_t)(f->n_in - i - 1));
                f->n_in--;
                f->done[f->n_done++] = u;
                found = 1;
                break;
            }
        }
        umockdev_ioctl_client_complete(c, found ? 0 : -1, found ? 0 : EINVAL);
        break;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
        if (f->removed)
            umockdev_ioctl_client_complete(c, -1, ENODEV);
        else
            umockdev_ioctl_client_complete(c, 0, 0);
        break;
    default:
        handled = FALSE;
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return handled;
}

/* Drop URBs the driver will never reap (after an unplug). */
static void fx_reset_urbs(struct fx *f)
{
    pthread_mutex_lock(&f->mu);
    while (f->n_in > 0)
        umockdev_ioctl_data_unref(f->in_urbs[--f->n_in]);
    while (f->n_done > 0)
        umockdev_ioctl_data_unref(f->done[--f->n_done]);
    f->n_resp = 0;
    f->removed = 0;
    pthread_mutex_unlock(&f->mu);
}

static void add_device(struct fx *f, int devnum, const char *descriptors)
{
    char dev[64], desc[1024];

    snprintf(dev, sizeof(dev), "/dev/bus/usb/001/%03d", devnum);
    g_assert_true(umockdev_testbed_attach_ioctl(f->tb, dev, f->handler, NULL));
    snprintf(desc, sizeof(desc),
             "P: /devices/usb1/1-%d\n"
             "N: bus/usb/001/%03d\n"
             "E: SUBSYSTEM=usb\n"
             "E: DEVTYPE=usb_device\n"
             "E: DRIVER=usb\n"
             "E: BUSNUM=001\n"
             "E: DEVNUM=%03d\n"
             "E: DEVNAME=/dev/bus/usb/001/%03d\n"
             "A: busnum=1\\n\n"
             "A: devnum=%d\\n\n"
             "A: speed=12\\n\n"
             "A: bConfigurationValue=1\\n\n"
             "H: descriptors=%s\n",
             devnum, devnum, devnum, devnum, devnum, descriptors);
    umockdev_testbed_add_from_string(f->tb, desc, NULL);
}

static void remove_device(struct fx *f, int devnum)
{
    char sys[64];

    snprintf(sys, sizeof(sys), "/sys/devices/usb1/1-%d", devnum);
    umockdev_testbed_uevent(f->tb, sys, "remove");
    umockdev_testbed_remove_device(f->tb, sys);
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

/* --- the loop ------------------------------------------------------------ */

static void on_event(const struct device_event *ev, void *arg)
{
    struct fx *f = arg;

    switch (ev->type) {
    case DEVICE_ATTACHED:
        f->attached++;
        break;
    case DEVICE_DETACHED:
        f->detached++;
        break;
    case DEVICE_ERROR:
        f->errors++;
        break;
    case DEVICE_CARD_READ:
        f->cards++;
        snprintf(f->last_name, sizeof(f->last_name), "%s", ev->card->name);
        snprintf(f->last_id, sizeof(f->last_id), "%s", ev->card->id_number);
        break;
    case DEVICE_CARD_REMOVED:
        break;
    case DEVICE_CODE_SCANNED:
        f->codes++;
        snprintf(f->last_code, sizeof(f->last_code), "%s", ev->code);
        break;
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the loop until *counter reaches want or seconds pass. */
static int run_until(struct event_base *base, int *counter, int want,
                     double seconds)
{
    double end = now() + seconds;

    while (*counter < want && now() < end) {
        struct timeval tv = {0, 2000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return *counter >= want;
}

static struct event_base *make_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    /* The emulated usbfs fd is a regular file: epoll refuses it. */
    event_config_avoid_method(cfg, "epoll");
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    g_assert_nonnull(base);
    return base;
}

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
    struct event_base *base = make_base();
    struct err e;

    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.name, sizeof(cfg.name), "scan1");
    cfg.type = DEVTYPE_SCANNER;
    cfg.transport = TRANSPORT_USB;
    cfg.vid = 0x1234;
    cfg.pid = 0x5678;
    add_device(f, 2, scanner_desc);
    m = device_manager_new(base, &cfg, 1, on_event, f, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        return;
    CHECK(run_until(base, &f->attached, 1, 5), "scanner never attached");

    pthread_mutex_lock(&f->mu);
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
    pthread_mutex_unlock(&f->mu);
    CHECK(run_until(base, &f->codes, 1, 5), "no code scanned");
    CHECK(strcmp(f->last_code, "Ab-33") == 0, "code [%s]", f->last_code);

    /* A code without Enter ends after the idle gap. */
    pthread_mutex_lock(&f->mu);
    press(f, 0x00, 0x1E, 0);
    press(f, 0x00, 0x1F, 0);
    press(f, 0x00, 0, 0);
    pthread_mutex_unlock(&f->mu);
    CHECK(run_until(base, &f->codes, 2, 5), "idle code not ended");
    CHECK(strcmp(f->last_code, "12") == 0, "code [%s]", f->last_code);

    device_manager_free(m);
    event_base_free(base);
    remove_device(f, 2);
    fx_reset_urbs(f);
    printf("ok scanner\n");
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
    pthread_mutex_lock(&f->mu);
    g_assert_cmpint(idtext_encode(&c, f->text, &e), ==, 0);
    f->card_present = 1;
    pthread_mutex_unlock(&f->mu);
}

static void test_reader(struct fx *f)
{
    struct config_device cfg;
    struct device_manager *m;
    struct event_base *base = make_base();
    struct device_status st;
    struct err e;
    int reads;

    f->attached = f->detached = f->errors = f->cards = 0;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.name, sizeof(cfg.name), "door1");
    cfg.type = DEVTYPE_IDCARD;
    cfg.transport = TRANSPORT_USB;
    cfg.vid = 0x0400;
    cfg.pid = 0xc35a;
    add_device(f, 3, reader_desc);
    m = device_manager_new(base, &cfg, 1, on_event, f, &e);
    CHECK(m != NULL, "%s", e.msg);
    if (m == NULL)
        return;
    CHECK(run_until(base, &f->attached, 1, 5), "reader never attached");

    /* Polling off: a card lying there is not read. */
    set_card(f, "测试甲", "11010519491231002X");
    run_until(base, &f->cards, 1, 1.0);
    CHECK(f->cards == 0, "card read with polling off");
    device_manager_status(m, 0, &st);
    CHECK(st.sam_ok && st.attached, "sam_ok %d attached %d", st.sam_ok,
          st.attached);

    device_manager_set_polling(m, "door1", 1);
    CHECK(run_until(base, &f->cards, 1, 5), "no card read");
    CHECK(strcmp(f->last_name, "测试甲") == 0, "name [%s]", f->last_name);
    CHECK(strcmp(f->last_id, "11010519491231002X") == 0, "id wrong");
    printf("ok reader\n");

    /* Unplugged in the middle of the next read. */
    pthread_mutex_lock(&f->mu);
    f->card_present = 0;
    pthread_mutex_unlock(&f->mu);
    run_until(base, &f->cards, 99, 1.5); /* removal seen */
    set_card(f, "测试乙", "440524188001010014");
    pthread_mutex_lock(&f->mu);
    f->unplug_on_read = 1;
    reads = f->read_cmds;
    pthread_mutex_unlock(&f->mu);
    {
        double end = now() + 5;
        int r = reads;
        while (r == reads && now() < end) {
            run_until(base, &f->cards, 99, 0.05);
            pthread_mutex_lock(&f->mu);
            r = f->read_cmds;
            pthread_mutex_unlock(&f->mu);
        }
        CHECK(r > reads, "no read command sent");
    }
    remove_device(f, 3);
    CHECK(run_until(base, &f->detached, 1, 5), "detach not reported");
    CHECK(f->cards == 1, "a half-read card was reported (%d)", f->cards);
    device_manager_status(m, 0, &st);
    CHECK(!st.attached, "still attached after unplug");
    fx_reset_urbs(f);

    /* Plugged back in (new address): attached again, card read. */
    add_device(f, 4, reader_desc);
    CHECK(run_until(base, &f->attached, 2, 5), "not re-attached");
    CHECK(run_until(base, &f->cards, 2, 5), "no card after replug");
    CHECK(strcmp(f->last_name, "测试乙") == 0, "name [%s]", f->last_name);
    printf("ok reader hotplug (errors reported: %d)\n", f->errors);

    /* Polling off again: no more reads, no timers. */
    device_manager_set_polling(m, "door1", 0);
    device_manager_free(m);
    event_base_free(base);
    remove_device(f, 4);
    fx_reset_urbs(f);
}

int main(void)
{
    struct fx f;

    log_init("test_usb_devices", 1, LOG_LVL_WARN);
    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    /* The testbed first: it sets $UMOCKDEV_DIR, which libusb must see. */
    f.tb = umockdev_testbed_new();
    g_assert_true(umockdev_in_mock_environment());
    f.handler = umockdev_ioctl_base_new();
    g_object_connect(f.handler, "signal-after::handle-ioctl", handle_ioctl, &f,
                     NULL);
    test_scanner(&f);
    test_reader(&f);
    g_clear_object(&f.handler);
    g_clear_object(&f.tb);
    pthread_mutex_destroy(&f.mu);
    if (failures) {
        fprintf(stderr, "test_usb_devices: %d failures\n", failures);
        return 1;
    }
    printf("test_usb_devices: all passed\n");
    return 0;
}
