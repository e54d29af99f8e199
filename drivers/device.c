/*
 * device.c: config + transport + protocol = one device; the manager that
 * holds them and turns everything into struct device_event.  See device.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "hidkbd.h"
#include "idreader.h"
#include "linecode.h"
#include "log.h"
#include "serial.h"
#include "usb.h"

struct device {
    struct device_manager *m;
    struct config_device cfg;
    int attached;
    int polling;
    enum usb_link link;
    struct serial_port *serial;
    struct usb_dev *usb;
    struct event *ev_open; /* serial: open now / retry later */
    struct event *ev_idle; /* scanner: end a code after a gap */
    struct idreader *reader;
    struct hidkbd kbd;
    struct linecode line;
    int open_error_said; /* serial: "cannot open" reported */
    char where[64];
    char last_error[256];
};

struct device_manager {
    struct event_base *base;
    device_event_fn cb;
    void *arg;
    struct usb_ctx *usb;
    struct device *devs;
    size_t n;
};

/* Bounded copy that always terminates (snprintf would warn on the
 * deliberate truncation of long messages). */
static void device_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void device_emit(struct device *d, enum device_event_type type,
                        const struct idcard_info *card, const char *code,
                        size_t code_len, const char *reason)
{
    struct device_event ev = {
        .type = type,
        .device = d->cfg.name,
        .config = &d->cfg,
        .card = card,
        .code = code,
        .code_len = code_len,
        .reason = reason,
    };

    if (type == DEVICE_ERROR)
        device_copy(d->last_error, sizeof(d->last_error), reason);
    d->m->cb(&ev, d->m->arg);
}

static void device_arm(struct event *ev, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(ev, &tv);
}

/* The decoders' clock: monotonic milliseconds. */
static int64_t device_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A scanner's timer follows its decoder's deadline: the gap after the
 * last key press (HID) or byte (serial) of a code without terminator. */
static void device_arm_idle(struct device *d, int64_t now)
{
    int64_t due = d->cfg.transport == TRANSPORT_SERIAL
                      ? linecode_deadline(&d->line)
                      : hidkbd_deadline(&d->kbd);

    if (due < 0) {
        evtimer_del(d->ev_idle);
        return;
    }
    device_arm(d->ev_idle, due > now ? (int)(due - now) : 0);
}

/* --- protocol callbacks --------------------------------------------- */

static void device_reader_ready(void *arg, const char *sam_id)
{
    struct device *d = arg;

    log_debug("%s: SAM ready %s", d->cfg.name, sam_id);
}

static void device_reader_card(void *arg, const struct idcard_info *card)
{
    device_emit(arg, DEVICE_CARD_READ, card, NULL, 0, NULL);
}

static void device_reader_removed(void *arg)
{
    device_emit(arg, DEVICE_CARD_REMOVED, NULL, NULL, 0, NULL);
}

static void device_error_cb(void *arg, const char *reason)
{
    device_emit(arg, DEVICE_ERROR, NULL, NULL, 0, reason);
}

static void device_code_cb(void *arg, const char *code, size_t len)
{
    device_emit(arg, DEVICE_CODE_SCANNED, NULL, code, len, NULL);
}

static int device_reader_send(void *arg, const uint8_t *frame, size_t len)
{
    struct device *d = arg;

    if (d->serial != NULL)
        return serial_write(d->serial, frame, len);
    if (d->usb == NULL)
        return -1;
    if (d->link == USB_LINK_INTERRUPT) {
        /* HID readers take one zero-padded 64-byte report per frame. */
        uint8_t report[DEVICE_HID_REPORT];
        if (len > sizeof(report))
            return -1;
        memset(report, 0, sizeof(report));
        memcpy(report, frame, len);
        return usb_dev_send(d->usb, report, sizeof(report));
    }
    return usb_dev_send(d->usb, frame, len);
}

static const struct idreader_ops device_reader_ops = {
    .send = device_reader_send,
};

static const struct idreader_callbacks device_reader_cbs = {
    .ready = device_reader_ready,
    .card = device_reader_card,
    .removed = device_reader_removed,
    .error = device_error_cb,
};

/* --- transport events, shared by serial and USB ---------------------- */

static void device_attached(struct device *d, const char *where)
{
    d->attached = 1;
    d->last_error[0] = '\0';
    device_copy(d->where, sizeof(d->where), where);
    hidkbd_reset(&d->kbd);
    linecode_reset(&d->line);
    device_emit(d, DEVICE_ATTACHED, NULL, NULL, 0, where);
    if (d->reader != NULL) {
        idreader_attach(d->reader);
        idreader_set_polling(d->reader, d->polling);
    }
}

static void device_detached(struct device *d, const char *reason)
{
    if (!d->attached)
        return;
    d->attached = 0;
    if (d->reader != NULL)
        idreader_detach(d->reader);
    if (d->ev_idle != NULL)
        evtimer_del(d->ev_idle);
    /* A half-scanned code or half-read card is dropped, never reported. */
    hidkbd_reset(&d->kbd);
    linecode_reset(&d->line);
    device_emit(d, DEVICE_DETACHED, NULL, NULL, 0, reason);
}

static void device_input(struct device *d, const uint8_t *buf, size_t n)
{
    int64_t now = device_now_ms();

    if (d->reader != NULL) {
        idreader_input(d->reader, buf, n);
        return;
    }
    if (d->cfg.transport == TRANSPORT_SERIAL)
        linecode_feed(&d->line, buf, n, now);
    else
        hidkbd_feed(&d->kbd, buf, n, now);
    /* The callbacks may have run: only a device still there keeps a
     * timer. */
    if (d->attached)
        device_arm_idle(d, now);
}

static void device_idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct device *d = arg;
    int64_t now = device_now_ms();

    (void)fd;
    (void)what;
    if (d->cfg.transport == TRANSPORT_SERIAL)
        linecode_expire(&d->line, now);
    else
        hidkbd_expire(&d->kbd, now);
    device_arm_idle(d, now); /* woken a little early: again, for the rest */
}

/* --- serial ---------------------------------------------------------- */

static void device_serial_data(void *arg, const uint8_t *buf, size_t n)
{
    device_input(arg, buf, n);
}

static void device_serial_gone(void *arg, const char *reason)
{
    struct device *d = arg;

    serial_close(d->serial);
    d->serial = NULL;
    device_detached(d, reason);
    device_arm(d->ev_open, DEVICE_SERIAL_RETRY_MS);
}

static void device_serial_open_cb(evutil_socket_t fd, short what, void *arg)
{
    struct device *d = arg;
    struct err e;

    (void)fd;
    (void)what;
    if (d->serial != NULL)
        return;
    d->serial = serial_open(d->m->base, d->cfg.path, d->cfg.baud,
                            device_serial_data, device_serial_gone, d, &e);
    if (d->serial == NULL) {
        /* Say it once, then keep trying quietly until it appears. */
        if (!d->open_error_said)
            device_emit(d, DEVICE_ERROR, NULL, NULL, 0, e.msg);
        d->open_error_said = 1;
        device_arm(d->ev_open, DEVICE_SERIAL_RETRY_MS);
        return;
    }
    d->open_error_said = 0;
    device_attached(d, d->cfg.path);
}

/* --- USB --------------------------------------------------------------- */

static void device_usb_attached(void *arg, enum usb_link link, size_t in_packet,
                                const char *where)
{
    struct device *d = arg;

    (void)in_packet;
    d->link = link;
    device_attached(d, where);
}

static void device_usb_data(void *arg, const uint8_t *buf, size_t n)
{
    device_input(arg, buf, n);
}

static void device_usb_detached(void *arg, const char *reason)
{
    device_detached(arg, reason);
}

static const struct usb_dev_callbacks device_usb_cbs = {
    .attached = device_usb_attached,
    .data = device_usb_data,
    .detached = device_usb_detached,
    .error = device_error_cb,
};

/* --- the manager -------------------------------------------------------- */

static int device_setup(struct device_manager *m, struct device *d,
                        const struct config_device *cfg, struct err *e)
{
    d->m = m;
    d->cfg = *cfg;
    hidkbd_init(&d->kbd, DEVICE_SCAN_IDLE_MS, device_code_cb, device_error_cb,
                d);
    linecode_init(&d->line, DEVICE_SCAN_IDLE_MS, device_code_cb,
                  device_error_cb, d);
    if (cfg->type != DEVTYPE_IDCARD && cfg->type != DEVTYPE_SCANNER)
        return err_set(e, EX_CONFIG, "device %s: unknown type", cfg->name);
    if (cfg->type == DEVTYPE_SCANNER &&
        (d->ev_idle = evtimer_new(m->base, device_idle_cb, d)) == NULL)
        return err_set(e, EX_OSERR, "device %s: no timer", cfg->name);
    if (cfg->type == DEVTYPE_IDCARD) {
        d->reader = idreader_new(m->base, &device_reader_ops, d,
                                 &device_reader_cbs, d, e);
        if (d->reader == NULL)
            return -1;
    }
    if (cfg->transport == TRANSPORT_SERIAL) {
        if (cfg->path[0] == '\0')
            return err_set(e, EX_CONFIG, "device %s: no path", cfg->name);
        d->ev_open = evtimer_new(m->base, device_serial_open_cb, d);
        if (d->ev_open == NULL)
            return err_set(e, EX_OSERR, "device %s: no timer", cfg->name);
        event_active(d->ev_open, EV_TIMEOUT, 0);
        return 0;
    }
    if (cfg->transport != TRANSPORT_USB)
        return err_set(e, EX_CONFIG, "device %s: unknown transport", cfg->name);
    if (m->usb == NULL && (m->usb = usb_ctx_new(m->base, e)) == NULL)
        return -1;
    d->usb = usb_dev_new(m->usb, cfg->vid, cfg->pid, cfg->serial,
                         cfg->type == DEVTYPE_SCANNER ? USB_DEV_KEYBOARD : 0,
                         &device_usb_cbs, d, e);
    return d->usb == NULL ? -1 : 0;
}

struct device_manager *device_manager_new(struct event_base *base,
                                          const struct config_device *devs,
                                          size_t n, device_event_fn cb,
                                          void *arg, struct err *e)
{
    struct device_manager *m = calloc(1, sizeof(*m));
    size_t i;

    if (m == NULL ||
        (n > 0 && (m->devs = calloc(n, sizeof(*m->devs))) == NULL)) {
        err_errno(e, EX_OSERR, "device manager");
        free(m);
        return NULL;
    }
    m->base = base;
    m->cb = cb;
    m->arg = arg;
    for (i = 0; i < n; i++) {
        m->n = i + 1; /* so a failure frees what was set up */
        if (device_setup(m, &m->devs[i], &devs[i], e) == -1) {
            device_manager_free(m);
            return NULL;
        }
    }
    return m;
}

void device_manager_free(struct device_manager *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = m->n; i-- > 0;) {
        struct device *d = &m->devs[i];

        usb_dev_free(d->usb);
        serial_close(d->serial);
        if (d->ev_open)
            event_free(d->ev_open);
        if (d->ev_idle)
            event_free(d->ev_idle);
        idreader_free(d->reader);
    }
    usb_ctx_free(m->usb);
    free(m->devs);
    free(m);
}

size_t device_usb_draining(void)
{
    return usb_ctx_draining();
}

static struct device *device_find(struct device_manager *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (strcmp(m->devs[i].cfg.name, name) == 0)
            return &m->devs[i];
    return NULL;
}

static void device_set_polling(struct device *d, int on)
{
    d->polling = on != 0;
    if (d->reader != NULL && d->attached)
        idreader_set_polling(d->reader, d->polling);
}

int device_manager_set_polling(struct device_manager *m, const char *name,
                               int on)
{
    struct device *d = device_find(m, name);

    if (d == NULL)
        return -1;
    device_set_polling(d, on);
    return 0;
}

void device_manager_set_polling_all(struct device_manager *m, int on)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        device_set_polling(&m->devs[i], on);
}

size_t device_manager_count(const struct device_manager *m)
{
    return m->n;
}

int device_manager_status(const struct device_manager *m, size_t i,
                          struct device_status *st)
{
    const struct device *d;

    if (i >= m->n)
        return -1;
    d = &m->devs[i];
    memset(st, 0, sizeof(*st));
    st->name = d->cfg.name;
    st->type = d->cfg.type;
    st->attached = d->attached;
    st->polling = d->polling;
    if (d->reader != NULL) {
        st->sam_ok = idreader_sam_ok(d->reader);
        snprintf(st->sam_id, sizeof(st->sam_id), "%s",
                 idreader_sam_id(d->reader));
    }
    snprintf(st->where, sizeof(st->where), "%s", d->where);
    snprintf(st->last_error, sizeof(st->last_error), "%s", d->last_error);
    return 0;
}
