/*
 * usb.c: libusb in the libevent loop, hotplug, claiming, transfers.
 * See usb.h and docs/usb-testing.md §5 for the traps avoided here.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libusb.h>

#include "log.h"
#include "usb.h"

#define USB_IN_BUF          4096 /* a full 30 10 answer is 2,321 bytes */
#define USB_OUT_TIMEOUT_MS  1000
#define USB_CTRL_TIMEOUT_MS 1000 /* serial number, HID class requests */
#define USB_MAX_IN_ERRORS   5
#define USB_MAX_PENDING     8   /* units of one model waiting to be opened */
#define USB_MAX_XFERS       8   /* out at once: IN, frames, control */
#define USB_STRING_MAX      255 /* as libusb_get_string_descriptor_ascii */

#define HID_REQ_OUT           0x21 /* class, to the interface */
#define HID_SET_IDLE          0x0A
#define HID_SET_PROTOCOL      0x0B
#define HID_PROTOCOL_BOOT     0
#define HID_SUBCLASS_BOOT     1
#define HID_PROTOCOL_KEYBOARD 1

struct usb_pollfd {
    struct usb_pollfd *next;
    int fd;
    struct event *ev;
};

struct usb_ctx {
    struct event_base *base;
    libusb_context *lu;
    struct usb_pollfd *fds;
    struct event *ev_timer; /* only where libusb has no timerfd */
    struct usb_dev *devs;   /* followed, and freed ones still draining */
    int released;           /* usb_ctx_free() was called */
    int lingering;          /* ... with devices still draining */
};

/* Reading the serial number of a candidate before claiming it. */
enum usb_probe {
    PROBE_NONE = 0,
    PROBE_LANG,   /* string descriptor 0 (languages) asked */
    PROBE_SERIAL, /* iSerialNumber asked */
    PROBE_MATCH,
    PROBE_NO, /* another unit, no answer, or it left */
};

struct usb_dev {
    struct usb_dev *next;
    struct usb_ctx *u;
    uint16_t vid, pid;
    char serial[64];
    unsigned flags;
    struct usb_dev_callbacks cb;
    void *arg;
    libusb_hotplug_callback_handle hh;
    int registered;
    struct event *ev_work; /* open/close/free from the loop */
    /* Arrived, not yet opened: one at a time, or with a serial number to
     * match every unit of the model, since only opening tells them apart. */
    libusb_device *pending[USB_MAX_PENDING];
    int pending_left[USB_MAX_PENDING]; /* ... and already left again */
    int npending;
    /* The candidate whose serial number is being read (open, unclaimed). */
    libusb_device *probe_dev;
    libusb_device_handle *probe_h;
    enum usb_probe probe;
    uint8_t probe_index; /* its iSerialNumber */
    int probe_left;
    libusb_device *dev; /* open */
    libusb_device_handle *h;
    struct libusb_transfer *in;
    /* Every transfer submitted and not yet back, so that all of them can
     * be cancelled; the object lives until this is empty. */
    struct libusb_transfer *xfers[USB_MAX_XFERS];
    int inflight;
    int iface;
    uint8_t iface_class, iface_subclass, iface_protocol;
    int claimed;         /* the interface is ours */
    int detached_driver; /* we detached a kernel driver */
    enum usb_link link;
    uint8_t ep_in, ep_out; /* ep_out 0: none (HID: SET_REPORT) */
    size_t in_packet;
    int gone;    /* closing: device left or failed */
    int freeing; /* usb_dev_free() was called: mute, drain, free */
    int in_errors;
    char gone_reason[128];
};

/* Contexts released by their owner with transfers still out.  The only
 * process-wide state: a context nobody holds any more cannot be asked. */
static size_t usb_draining;

static const struct timeval usb_zero_tv = {0, 0};

/* --- libusb fds in the loop ---------------------------------------- */

static void usb_arm_timer(struct usb_ctx *u)
{
    struct timeval tv;

    if (u->ev_timer == NULL)
        return;
    if (libusb_get_next_timeout(u->lu, &tv) == 1)
        evtimer_add(u->ev_timer, &tv);
}

static void usb_handle(struct usb_ctx *u)
{
    struct timeval tv = usb_zero_tv;

    libusb_handle_events_timeout_completed(u->lu, &tv, NULL);
    usb_arm_timer(u);
}

static void usb_fd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    usb_handle(arg);
}

static void usb_pollfd_added(int fd, short events, void *arg)
{
    struct usb_ctx *u = arg;
    struct usb_pollfd *p = calloc(1, sizeof(*p));
    short what = EV_PERSIST;

    if (p == NULL) {
        log_warn("usb: cannot watch fd %d", fd);
        return;
    }
    if (events & POLLIN)
        what |= EV_READ;
    if (events & POLLOUT)
        what |= EV_WRITE;
    p->fd = fd;
    p->ev = event_new(u->base, fd, what, usb_fd_cb, u);
    if (p->ev == NULL || event_add(p->ev, NULL) == -1) {
        log_warnx("usb: cannot watch fd %d", fd);
        if (p->ev)
            event_free(p->ev);
        free(p);
        return;
    }
    p->next = u->fds;
    u->fds = p;
}

static void usb_pollfd_removed(int fd, void *arg)
{
    struct usb_ctx *u = arg;
    struct usb_pollfd **pp;

    for (pp = &u->fds; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->fd == fd) {
            struct usb_pollfd *p = *pp;
            *pp = p->next;
            event_free(p->ev);
            free(p);
            return;
        }
    }
}

static void usb_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    usb_handle(arg);
}

struct usb_ctx *usb_ctx_new(struct event_base *base, struct err *e)
{
    struct usb_ctx *u = calloc(1, sizeof(*u));
    const struct libusb_pollfd **fds;
    int r, i;

    if (u == NULL) {
        err_errno(e, EX_OSERR, "usb");
        return NULL;
    }
    u->base = base;
    if ((r = libusb_init(&u->lu)) != 0) {
        err_set(e, EX_UNAVAILABLE, "libusb: %s", libusb_strerror(r));
        free(u);
        return NULL;
    }
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        err_set(e, EX_UNAVAILABLE, "libusb has no hotplug support here");
        usb_ctx_free(u);
        return NULL;
    }
    libusb_set_pollfd_notifiers(u->lu, usb_pollfd_added, usb_pollfd_removed, u);
    /* libusb_init made fds before the notifiers existed (libusb#1055). */
    if ((fds = libusb_get_pollfds(u->lu)) != NULL) {
        for (i = 0; fds[i] != NULL; i++)
            usb_pollfd_added(fds[i]->fd, fds[i]->events, u);
        libusb_free_pollfds(fds);
    }
    if (!libusb_pollfds_handle_timeouts(u->lu)) {
        if ((u->ev_timer = evtimer_new(base, usb_timer_cb, u)) == NULL) {
            err_set(e, EX_OSERR, "usb: cannot create a timer");
            usb_ctx_free(u);
            return NULL;
        }
    }
    return u;
}

/* Stop libusb for good (from the loop, never inside libusb's callbacks). */
static void usb_ctx_destroy(struct usb_ctx *u)
{
    if (u->lingering)
        usb_draining--;
    /* The remove notifier may fire inside libusb_exit. */
    libusb_set_pollfd_notifiers(u->lu, NULL, NULL, NULL);
    while (u->fds != NULL)
        usb_pollfd_removed(u->fds->fd, u);
    if (u->ev_timer)
        event_free(u->ev_timer);
    libusb_exit(u->lu);
    free(u);
}

void usb_ctx_free(struct usb_ctx *u)
{
    if (u == NULL)
        return;
    u->released = 1;
    if (u->devs == NULL) {
        usb_ctx_destroy(u);
        return;
    }
    /* Freed devices still wait for cancelled transfers: libusb must keep
     * running in the loop for their callbacks; the last one frees us. */
    u->lingering = 1;
    usb_draining++;
}

size_t usb_ctx_draining(void)
{
    return usb_draining;
}

int usb_present(uint16_t vid, uint16_t pid, struct err *e)
{
    libusb_context *lu;
    libusb_device **list;
    ssize_t n, i;
    int r, found = 0;

    if ((r = libusb_init(&lu)) != 0)
        return err_set(e, EX_UNAVAILABLE, "libusb: %s", libusb_strerror(r));
    if ((n = libusb_get_device_list(lu, &list)) < 0) {
        err_set(e, EX_UNAVAILABLE, "libusb: %s", libusb_strerror((int)n));
        libusb_exit(lu);
        return -1;
    }
    for (i = 0; i < n && !found; i++) {
        struct libusb_device_descriptor desc;

        found = libusb_get_device_descriptor(list[i], &desc) == 0 &&
                desc.idVendor == vid && desc.idProduct == pid;
    }
    libusb_free_device_list(list, 1);
    libusb_exit(lu);
    return found;
}

/* --- one followed device -------------------------------------------- */

static void usb_dev_schedule(struct usb_dev *d)
{
    event_active(d->ev_work, EV_TIMEOUT, 0);
}

/* Submit t and keep it in d->xfers until its callback.  0 or a libusb
 * error (LIBUSB_ERROR_BUSY when too many are out already). */
static int usb_xfer_submit(struct usb_dev *d, struct libusb_transfer *t)
{
    int i, r;

    for (i = 0; i < USB_MAX_XFERS && d->xfers[i] != NULL; i++)
        ;
    if (i == USB_MAX_XFERS)
        return LIBUSB_ERROR_BUSY;
    if ((r = libusb_submit_transfer(t)) != 0)
        return r;
    d->xfers[i] = t;
    d->inflight++;
    return 0;
}

/* First thing in every transfer callback: t is back. */
static void usb_xfer_done(struct usb_dev *d, struct libusb_transfer *t)
{
    int i;

    for (i = 0; i < USB_MAX_XFERS; i++) {
        if (d->xfers[i] == t) {
            d->xfers[i] = NULL;
            d->inflight--;
            return;
        }
    }
}

static void usb_cancel_all(struct usb_dev *d)
{
    int i;

    /* An error only means it is already on its way back. */
    for (i = 0; i < USB_MAX_XFERS; i++)
        if (d->xfers[i] != NULL)
            libusb_cancel_transfer(d->xfers[i]);
}

/* Last thing in a transfer callback of a closing or freed device: the
 * loop closes (and frees) it once nothing is out any more. */
static void usb_dev_settle(struct usb_dev *d)
{
    if ((d->gone || d->freeing) && d->inflight == 0)
        usb_dev_schedule(d);
}

/* An asynchronous control transfer of len bytes (IN) or none (OUT) on h;
 * freed by libusb after cb returns.  0 or a libusb error. */
static int usb_control(struct usb_dev *d, libusb_device_handle *h, uint8_t type,
                       uint8_t req, uint16_t value, uint16_t index,
                       uint16_t len, libusb_transfer_cb_fn cb)
{
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    unsigned char *buf = malloc(LIBUSB_CONTROL_SETUP_SIZE + (size_t)len);
    int r;

    if (t == NULL || buf == NULL) {
        libusb_free_transfer(t);
        free(buf);
        return LIBUSB_ERROR_NO_MEM;
    }
    libusb_fill_control_setup(buf, type, req, value, index, len);
    libusb_fill_control_transfer(t, h, buf, cb, d, USB_CTRL_TIMEOUT_MS);
    t->flags = LIBUSB_TRANSFER_FREE_BUFFER | LIBUSB_TRANSFER_FREE_TRANSFER;
    if ((r = usb_xfer_submit(d, t)) != 0)
        libusb_free_transfer(t); /* frees buf too (FREE_BUFFER) */
    return r;
}

static void usb_dev_mark_gone(struct usb_dev *d, const char *reason)
{
    if (d->gone || d->h == NULL)
        return;
    d->gone = 1;
    snprintf(d->gone_reason, sizeof(d->gone_reason), "%s", reason);
    usb_cancel_all(d);
    usb_dev_schedule(d);
}

static void usb_in_cb(struct libusb_transfer *t)
{
    struct usb_dev *d = t->user_data;

    usb_xfer_done(d, t);
    if (d->freeing) {
        usb_dev_settle(d);
        return;
    }
    switch (t->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        d->in_errors = 0;
        if (!d->gone && t->actual_length > 0)
            d->cb.data(d->arg, t->buffer, (size_t)t->actual_length);
        /* A reader's bytes hold the card's ID number: the owner has
         * taken its copy, and none stays behind in the buffer. */
        explicit_bzero(t->buffer, (size_t)t->actual_length);
        break;
    case LIBUSB_TRANSFER_NO_DEVICE:
        usb_dev_mark_gone(d, "the device was unplugged");
        break;
    case LIBUSB_TRANSFER_CANCELLED:
        break;
    default:
        if (++d->in_errors >= USB_MAX_IN_ERRORS) {
            usb_dev_mark_gone(d, "the device keeps failing transfers");
            break;
        }
        d->cb.error(d->arg, "a USB read failed");
        break;
    }
    if (d->gone) {
        usb_dev_settle(d);
        return;
    }
    if (usb_xfer_submit(d, t) != 0)
        usb_dev_mark_gone(d, "the device stopped accepting reads");
}

static void usb_out_cb(struct libusb_transfer *t)
{
    struct usb_dev *d = t->user_data;

    usb_xfer_done(d, t);
    if (!d->freeing) {
        if (t->status == LIBUSB_TRANSFER_NO_DEVICE)
            usb_dev_mark_gone(d, "the device was unplugged");
        else if (t->status != LIBUSB_TRANSFER_COMPLETED && !d->gone)
            log_debug("usb: write ended with status %d", t->status);
    }
    usb_dev_settle(d);
}

/* SET_PROTOCOL / SET_IDLE came back.  Like usbhid, a device that stalls
 * them (or does not answer) is used anyway. */
static void usb_class_cb(struct libusb_transfer *t)
{
    struct usb_dev *d = t->user_data;

    usb_xfer_done(d, t);
    if (!d->freeing) {
        if (t->status == LIBUSB_TRANSFER_NO_DEVICE)
            usb_dev_mark_gone(d, "the device was unplugged");
        else if (t->status != LIBUSB_TRANSFER_COMPLETED)
            log_debug("usb: HID request %02X ended with status %d, ignored",
                      t->buffer[1], t->status);
    }
    usb_dev_settle(d);
}

/* A string descriptor of the candidate came back: the language list
 * (then ask for the serial number in the first language), or the serial
 * number itself, compared the way libusb_get_string_descriptor_ascii()
 * reads it (UTF-16LE, '?' for what is not ASCII). */
static void usb_probe_cb(struct libusb_transfer *t)
{
    struct usb_dev *d = t->user_data;
    const unsigned char *s = libusb_control_transfer_get_data(t);
    int n = t->actual_length;

    usb_xfer_done(d, t);
    if (d->freeing) {
        usb_dev_settle(d);
        return;
    }
    if (t->status != LIBUSB_TRANSFER_COMPLETED || n < 2 ||
        s[1] != LIBUSB_DT_STRING || s[0] > n) {
        d->probe = PROBE_NO;
    } else if (d->probe == PROBE_LANG) {
        uint16_t lang = n >= 4 ? (uint16_t)(s[2] | s[3] << 8) : 0;

        d->probe = PROBE_SERIAL;
        if (n < 4 ||
            usb_control(d, d->probe_h, LIBUSB_ENDPOINT_IN,
                        LIBUSB_REQUEST_GET_DESCRIPTOR,
                        (uint16_t)(LIBUSB_DT_STRING << 8 | d->probe_index),
                        lang, USB_STRING_MAX, usb_probe_cb) != 0)
            d->probe = PROBE_NO;
    } else {
        char got[sizeof(d->serial)];
        size_t k = 0;
        int i;

        for (i = 2; i + 1 < s[0] && k + 1 < sizeof(got); i += 2)
            got[k++] = (s[i] & 0x80) || s[i + 1] ? '?' : (char)s[i];
        got[k] = '\0';
        d->probe = strcmp(got, d->serial) == 0 ? PROBE_MATCH : PROBE_NO;
    }
    if (d->probe == PROBE_MATCH || d->probe == PROBE_NO)
        usb_dev_schedule(d);
}

/* Pick the interface and endpoints: a bulk pair first, else interrupt. */
static int usb_find_endpoints(struct usb_dev *d, libusb_device *dev)
{
    struct libusb_config_descriptor *cfg;
    int i, found = 0, pass;

    if (libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
        libusb_get_config_descriptor(dev, 0, &cfg) != 0)
        return -1;
    for (pass = 0; pass < 2 && !found; pass++) {
        int want = pass == 0 ? LIBUSB_TRANSFER_TYPE_BULK
                             : LIBUSB_TRANSFER_TYPE_INTERRUPT;
        for (i = 0; i < cfg->bNumInterfaces && !found; i++) {
            const struct libusb_interface_descriptor *alt;
            uint8_t in = 0, out = 0;
            size_t pkt = 0;
            int k;

            if (cfg->interface[i].num_altsetting < 1)
                continue;
            alt = &cfg->interface[i].altsetting[0];
            for (k = 0; k < alt->bNumEndpoints; k++) {
                const struct libusb_endpoint_descriptor *ep = &alt->endpoint[k];
                if ((ep->bmAttributes & 3) != want)
                    continue;
                if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
                    if (in == 0) {
                        in = ep->bEndpointAddress;
                        pkt = ep->wMaxPacketSize;
                    }
                } else if (out == 0) {
                    out = ep->bEndpointAddress;
                }
            }
            if (in != 0 && (out != 0 || pass == 1)) {
                d->iface = alt->bInterfaceNumber;
                d->iface_class = alt->bInterfaceClass;
                d->iface_subclass = alt->bInterfaceSubClass;
                d->iface_protocol = alt->bInterfaceProtocol;
                d->ep_in = in;
                d->ep_out = out;
                d->in_packet = pkt;
                d->link = pass == 0 ? USB_LINK_BULK : USB_LINK_INTERRUPT;
                found = 1;
            }
        }
    }
    libusb_free_config_descriptor(cfg);
    return found ? 0 : -1;
}

static void usb_dev_error(struct usb_dev *d, const char *fmt, int r)
{
    char msg[160];

    snprintf(msg, sizeof(msg), fmt, libusb_strerror(r));
    d->cb.error(d->arg, msg);
}

/* A keyboard-mode scanner: boot protocol (the 8-byte reports hidkbd
 * reads) and no idle repeats, both asynchronous, errors ignored. */
static void usb_hid_setup(struct usb_dev *d)
{
    uint16_t iface = (uint16_t)d->iface;

    if (!(d->flags & USB_DEV_KEYBOARD) || d->link != USB_LINK_INTERRUPT ||
        d->iface_class != LIBUSB_CLASS_HID)
        return;
    if (d->iface_subclass == HID_SUBCLASS_BOOT &&
        d->iface_protocol == HID_PROTOCOL_KEYBOARD &&
        usb_control(d, d->h, HID_REQ_OUT, HID_SET_PROTOCOL, HID_PROTOCOL_BOOT,
                    iface, 0, usb_class_cb) != 0)
        log_debug("usb: cannot send SET_PROTOCOL");
    if (usb_control(d, d->h, HID_REQ_OUT, HID_SET_IDLE, 0, iface, 0,
                    usb_class_cb) != 0)
        log_debug("usb: cannot send SET_IDLE");
}

/* Give back the interface (and the kernel driver we took it from). */
static void usb_dev_release(struct usb_dev *d)
{
    if (!d->claimed)
        return;
    d->claimed = 0;
    if (d->gone)
        return; /* nothing left to tell */
    libusb_release_interface(d->h, d->iface);
    if (d->detached_driver)
        libusb_attach_kernel_driver(d->h, d->iface);
}

/* Claim the chosen unit h (open) and start reading.  On failure it is
 * closed and dropped. */
static void usb_dev_claim(struct usb_dev *d, libusb_device *dev,
                          libusb_device_handle *h)
{
    char where[32];
    int r;

    d->detached_driver = 0;
    if (usb_find_endpoints(d, dev) == -1) {
        d->cb.error(d->arg, "the USB device has no usable endpoints");
        goto fail;
    }
    /* Manual detach, errors tolerated: auto-detach fails under some
     * kernels and emulations, and a failed detach still lets claim try. */
    r = libusb_kernel_driver_active(h, d->iface);
    if (r == 1 && libusb_detach_kernel_driver(h, d->iface) == 0)
        d->detached_driver = 1;
    if ((r = libusb_claim_interface(h, d->iface)) != 0) {
        usb_dev_error(d, "cannot claim the USB device: %s", r);
        goto fail;
    }
    d->in = libusb_alloc_transfer(0);
    if (d->in == NULL) {
        libusb_release_interface(h, d->iface);
        goto fail;
    }
    d->h = h;
    d->dev = dev;
    d->claimed = 1;
    d->gone = 0;
    d->in_errors = 0;
    if (d->link == USB_LINK_BULK)
        libusb_fill_bulk_transfer(d->in, h, d->ep_in, malloc(USB_IN_BUF),
                                  USB_IN_BUF, usb_in_cb, d, 0);
    else
        libusb_fill_interrupt_transfer(
            d->in, h, d->ep_in, malloc(USB_IN_BUF),
            d->in_packet > 0 && d->in_packet < USB_IN_BUF ? (int)d->in_packet
                                                          : 64,
            usb_in_cb, d, 0);
    d->in->flags = LIBUSB_TRANSFER_FREE_BUFFER;
    if (d->in->buffer == NULL || usb_xfer_submit(d, d->in) != 0) {
        d->cb.error(d->arg, "cannot start reading the USB device");
        libusb_free_transfer(d->in);
        d->in = NULL;
        d->h = NULL;
        d->dev = NULL;
        d->claimed = 0;
        libusb_release_interface(h, d->iface);
        goto fail;
    }
    usb_hid_setup(d);
    snprintf(where, sizeof(where), "usb %03u/%03u", libusb_get_bus_number(dev),
             libusb_get_device_address(dev));
    d->cb.attached(d->arg, d->link, d->in_packet, where);
    return;
fail:
    /* Not ours after all: a keyboard-mode scanner types again. */
    if (d->detached_driver)
        libusb_attach_kernel_driver(h, d->iface);
    d->detached_driver = 0;
    libusb_close(h);
    libusb_unref_device(dev);
}

/* Open candidate dev (from the loop).  Without a serial number to match
 * it is claimed at once; with one, its serial number is asked for and the
 * loop goes on when the answer is back (usb_probe_cb).  On failure dev is
 * dropped. */
static void usb_dev_open(struct usb_dev *d, libusb_device *dev)
{
    struct libusb_device_descriptor desc;
    libusb_device_handle *h = NULL;
    int r;

    if ((r = libusb_open(dev, &h)) != 0) {
        usb_dev_error(d, "cannot open the USB device: %s", r);
        libusb_unref_device(dev);
        return;
    }
    if (d->serial[0] == '\0') {
        usb_dev_claim(d, dev, h);
        return;
    }
    if (libusb_get_device_descriptor(dev, &desc) != 0 ||
        desc.iSerialNumber == 0) {
        libusb_close(h); /* a unit without a serial number is not ours */
        libusb_unref_device(dev);
        return;
    }
    d->probe_dev = dev;
    d->probe_h = h;
    d->probe_index = desc.iSerialNumber;
    d->probe_left = 0;
    d->probe = PROBE_LANG;
    if (usb_control(d, h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                    LIBUSB_DT_STRING << 8, 0, USB_STRING_MAX,
                    usb_probe_cb) != 0)
        d->probe = PROBE_NO;
}

/* Close the handle; transfers must all be back. */
static void usb_dev_close(struct usb_dev *d)
{
    if (d->in != NULL) {
        libusb_free_transfer(d->in);
        d->in = NULL;
    }
    usb_dev_release(d);
    libusb_close(d->h);
    libusb_unref_device(d->dev);
    d->h = NULL;
    d->dev = NULL;
}

static int usb_pending_index(const struct usb_dev *d, libusb_device *dev)
{
    int i;

    for (i = 0; i < d->npending; i++)
        if (d->pending[i] == dev)
            return i;
    return -1;
}

/* Take candidate i off the list; the caller owns its reference. */
static libusb_device *usb_pending_take(struct usb_dev *d, int i)
{
    libusb_device *dev = d->pending[i];

    d->npending--;
    memmove(d->pending + i, d->pending + i + 1,
            sizeof(d->pending[0]) * (size_t)(d->npending - i));
    memmove(d->pending_left + i, d->pending_left + i + 1,
            sizeof(d->pending_left[0]) * (size_t)(d->npending - i));
    return dev;
}

/* dev is open by another usb_dev, or (count_pending) waits to be opened
 * by one that takes any unit of the model. */
static int usb_owned_elsewhere(struct usb_dev *d, libusb_device *dev,
                               int count_pending)
{
    struct usb_dev *o;

    /* A freed one still draining has let its unit go already. */
    for (o = d->u->devs; o != NULL; o = o->next)
        if (o != d && !o->freeing &&
            (o->dev == dev || (count_pending && o->serial[0] == '\0' &&
                               usb_pending_index(o, dev) >= 0)))
            return 1;
    return 0;
}

/* Its serial number is read: claim the candidate or let it go. */
static void usb_probe_finish(struct usb_dev *d)
{
    libusb_device *dev = d->probe_dev;
    libusb_device_handle *h = d->probe_h;
    int match = d->probe == PROBE_MATCH && !d->probe_left;

    d->probe_dev = NULL;
    d->probe_h = NULL;
    d->probe = PROBE_NONE;
    if (match && !usb_owned_elsewhere(d, dev, 0)) {
        usb_dev_claim(d, dev, h);
        return;
    }
    libusb_close(h);
    libusb_unref_device(dev);
}

/* The end of a freed device, from the loop once nothing is out; the last
 * one of a released context takes the context with it. */
static void usb_dev_destroy(struct usb_dev *d)
{
    struct usb_ctx *u = d->u;
    struct usb_dev **pp;

    if (d->h != NULL)
        usb_dev_close(d);
    if (d->probe_h != NULL) {
        libusb_close(d->probe_h);
        libusb_unref_device(d->probe_dev);
    }
    while (d->npending > 0)
        libusb_unref_device(usb_pending_take(d, d->npending - 1));
    for (pp = &u->devs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    if (d->ev_work)
        event_free(d->ev_work);
    free(d);
    if (u->released && u->devs == NULL)
        usb_ctx_destroy(u);
}

static void usb_dev_work_cb(evutil_socket_t fd, short what, void *arg)
{
    struct usb_dev *d = arg;
    int i;

    (void)fd;
    (void)what;
    if (d->freeing) {
        if (d->inflight == 0)
            usb_dev_destroy(d); /* frees d->ev_work: safe in its callback */
        return;
    }
    if (d->h != NULL && d->gone) {
        if (d->inflight > 0)
            return; /* the last transfer callback schedules us again */
        usb_dev_close(d);
        d->gone = 0;
        d->cb.detached(d->arg, d->gone_reason);
    }
    /* Candidates in turn until one opens (and has the serial number). */
    for (;;) {
        if (d->probe_h != NULL) {
            if (d->probe != PROBE_MATCH && d->probe != PROBE_NO)
                return; /* usb_probe_cb schedules us with the answer */
            usb_probe_finish(d);
        }
        for (i = d->npending; i-- > 0;)
            if (d->pending_left[i])
                libusb_unref_device(usb_pending_take(d, i));
        if (d->h != NULL || d->npending == 0)
            break;
        libusb_device *dev = usb_pending_take(d, 0);
        if (usb_owned_elsewhere(d, dev, 0))
            libusb_unref_device(dev);
        else
            usb_dev_open(d, dev);
    }
    /* Following one now: no other unit can have its serial number. */
    while (d->h != NULL && d->npending > 0)
        libusb_unref_device(usb_pending_take(d, d->npending - 1));
}

static int usb_hotplug_cb(libusb_context *ctx, libusb_device *dev,
                          libusb_hotplug_event event, void *arg)
{
    struct usb_dev *d = arg;
    int i;

    (void)ctx;
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
        /* ENUMERATE may repeat an arrival; the same unit twice is fine. */
        if (d->dev == dev || d->probe_dev == dev ||
            usb_pending_index(d, dev) >= 0 || usb_owned_elsewhere(d, dev, 1))
            return 0;
        if (d->h != NULL && !d->gone)
            return 0; /* we already follow a unit of this model */
        if (d->npending > 0 && d->serial[0] == '\0')
            return 0; /* one at a time; the loop opens it first */
        if (d->npending == USB_MAX_PENDING)
            return 0;
        d->pending[d->npending] = libusb_ref_device(dev);
        d->pending_left[d->npending++] = 0;
        usb_dev_schedule(d);
    } else if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) {
        if (d->dev == dev) {
            usb_dev_mark_gone(d, "the device was unplugged");
        } else if (d->probe_dev == dev) {
            d->probe_left = 1; /* its string request fails or is ignored */
        } else if ((i = usb_pending_index(d, dev)) >= 0) {
            /* Little is safe inside LEFT: drop it from the loop. */
            d->pending_left[i] = 1;
            usb_dev_schedule(d);
        }
    }
    return 0;
}

struct usb_dev *usb_dev_new(struct usb_ctx *u, uint16_t vid, uint16_t pid,
                            const char *serial, unsigned flags,
                            const struct usb_dev_callbacks *cb, void *arg,
                            struct err *e)
{
    struct usb_dev *d = calloc(1, sizeof(*d));
    int r;

    if (d == NULL) {
        err_errno(e, EX_OSERR, "usb");
        return NULL;
    }
    d->u = u;
    d->vid = vid;
    d->pid = pid;
    snprintf(d->serial, sizeof(d->serial), "%s", serial ? serial : "");
    d->flags = flags;
    d->cb = *cb;
    d->arg = arg;
    if ((d->ev_work = event_new(u->base, -1, 0, usb_dev_work_cb, d)) == NULL) {
        err_set(e, EX_OSERR, "usb: cannot create an event");
        free(d);
        return NULL;
    }
    d->next = u->devs;
    u->devs = d;
    /* ENUMERATE: devices already plugged in arrive from inside this call;
     * the callback only queues them, the loop opens them. */
    r = libusb_hotplug_register_callback(
        u->lu,
        LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
        LIBUSB_HOTPLUG_ENUMERATE, vid, pid, LIBUSB_HOTPLUG_MATCH_ANY,
        usb_hotplug_cb, d, &d->hh);
    if (r != LIBUSB_SUCCESS) {
        err_set(e, EX_UNAVAILABLE, "libusb hotplug: %s", libusb_strerror(r));
        usb_dev_free(d);
        return NULL;
    }
    d->registered = 1;
    return d;
}

int usb_dev_attached(const struct usb_dev *d)
{
    return d->h != NULL && !d->gone;
}

int usb_dev_send(struct usb_dev *d, const uint8_t *buf, size_t n)
{
    struct libusb_transfer *t;
    unsigned char *copy;
    int r;

    if (!usb_dev_attached(d) || n == 0 || n > USB_IN_BUF)
        return -1;
    if ((t = libusb_alloc_transfer(0)) == NULL)
        return -1;
    if (d->ep_out == 0) {
        /* HID without an OUT endpoint: SET_REPORT(output, id 0). */
        if ((copy = malloc(LIBUSB_CONTROL_SETUP_SIZE + n)) == NULL) {
            libusb_free_transfer(t);
            return -1;
        }
        libusb_fill_control_setup(copy, 0x21, 0x09, 0x0200, (uint16_t)d->iface,
                                  (uint16_t)n);
        memcpy(copy + LIBUSB_CONTROL_SETUP_SIZE, buf, n);
        libusb_fill_control_transfer(t, d->h, copy, usb_out_cb, d,
                                     USB_OUT_TIMEOUT_MS);
    } else {
        if ((copy = malloc(n)) == NULL) {
            libusb_free_transfer(t);
            return -1;
        }
        memcpy(copy, buf, n);
        if (d->link == USB_LINK_BULK)
            libusb_fill_bulk_transfer(t, d->h, d->ep_out, copy, (int)n,
                                      usb_out_cb, d, USB_OUT_TIMEOUT_MS);
        else
            libusb_fill_interrupt_transfer(t, d->h, d->ep_out, copy, (int)n,
                                           usb_out_cb, d, USB_OUT_TIMEOUT_MS);
    }
    t->flags = LIBUSB_TRANSFER_FREE_BUFFER | LIBUSB_TRANSFER_FREE_TRANSFER;
    if ((r = usb_xfer_submit(d, t)) != 0) {
        libusb_free_transfer(t);
        if (r == LIBUSB_ERROR_NO_DEVICE)
            usb_dev_mark_gone(d, "the device was unplugged");
        return -1;
    }
    return 0;
}

void usb_dev_free(struct usb_dev *d)
{
    if (d == NULL)
        return;
    if (d->registered)
        libusb_hotplug_deregister_callback(d->u->lu, d->hh);
    d->registered = 0;
    d->freeing = 1;
    while (d->npending > 0)
        libusb_unref_device(usb_pending_take(d, d->npending - 1));
    usb_cancel_all(d);
    /* Let the unit go now rather than when the cancelled transfers are
     * back, so that the next owner (a reload) can claim it meanwhile. */
    if (d->h != NULL)
        usb_dev_release(d);
    /* Never wait here: what is out comes back through the loop, and the
     * last callback schedules ev_work, which frees d. */
    if (d->inflight == 0)
        usb_dev_destroy(d);
}
