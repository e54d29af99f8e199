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

#define USB_IN_BUF         4096 /* a full 30 10 answer is 2,321 bytes */
#define USB_OUT_TIMEOUT_MS 1000
#define USB_MAX_IN_ERRORS  5
#define USB_MAX_PENDING    8 /* units of one model waiting to be opened */

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
    struct usb_dev *devs;
};

struct usb_dev {
    struct usb_dev *next;
    struct usb_ctx *u;
    uint16_t vid, pid;
    char serial[64];
    struct usb_dev_callbacks cb;
    void *arg;
    libusb_hotplug_callback_handle hh;
    int registered;
    struct event *ev_work; /* open/close from the loop */
    /* Arrived, not yet opened: one at a time, or with a serial number to
     * match every unit of the model, since only opening tells them apart. */
    libusb_device *pending[USB_MAX_PENDING];
    int pending_left[USB_MAX_PENDING]; /* ... and already left again */
    int npending;
    libusb_device *dev; /* open */
    libusb_device_handle *h;
    struct libusb_transfer *in;
    int iface;
    int detached_driver; /* we detached a kernel driver */
    enum usb_link link;
    uint8_t ep_in, ep_out; /* ep_out 0: none (HID: SET_REPORT) */
    size_t in_packet;
    int inflight; /* submitted transfers not yet back */
    int gone;     /* closing: device left or failed */
    int freeing;
    int in_errors;
    char gone_reason[128];
};

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

void usb_ctx_free(struct usb_ctx *u)
{
    if (u == NULL)
        return;
    /* The remove notifier may fire inside libusb_exit. */
    libusb_set_pollfd_notifiers(u->lu, NULL, NULL, NULL);
    while (u->fds != NULL)
        usb_pollfd_removed(u->fds->fd, u);
    if (u->ev_timer)
        event_free(u->ev_timer);
    libusb_exit(u->lu);
    free(u);
}

/* --- one followed device -------------------------------------------- */

static void usb_dev_schedule(struct usb_dev *d)
{
    event_active(d->ev_work, EV_TIMEOUT, 0);
}

static void usb_dev_mark_gone(struct usb_dev *d, const char *reason)
{
    if (d->gone || d->h == NULL)
        return;
    d->gone = 1;
    snprintf(d->gone_reason, sizeof(d->gone_reason), "%s", reason);
    if (d->in != NULL && d->inflight > 0)
        libusb_cancel_transfer(d->in);
    usb_dev_schedule(d);
}

static void usb_in_cb(struct libusb_transfer *t)
{
    struct usb_dev *d = t->user_data;

    d->inflight--;
    if (d->freeing)
        return;
    switch (t->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        d->in_errors = 0;
        if (!d->gone && t->actual_length > 0)
            d->cb.data(d->arg, t->buffer, (size_t)t->actual_length);
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
        if (d->inflight == 0)
            usb_dev_schedule(d);
        return;
    }
    if (libusb_submit_transfer(t) == 0)
        d->inflight++;
    else
        usb_dev_mark_gone(d, "the device stopped accepting reads");
}

static void usb_out_cb(struct libusb_transfer *t)
{
    struct usb_dev *d = t->user_data;

    d->inflight--;
    if (d->freeing)
        return;
    if (t->status == LIBUSB_TRANSFER_NO_DEVICE)
        usb_dev_mark_gone(d, "the device was unplugged");
    else if (t->status != LIBUSB_TRANSFER_COMPLETED && !d->gone)
        log_debug("usb: write ended with status %d", t->status);
    if (d->gone && d->inflight == 0)
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

static int usb_serial_matches(struct usb_dev *d, libusb_device_handle *h,
                              libusb_device *dev)
{
    struct libusb_device_descriptor desc;
    unsigned char buf[128];
    int n;

    if (d->serial[0] == '\0')
        return 1;
    if (libusb_get_device_descriptor(dev, &desc) != 0 ||
        desc.iSerialNumber == 0)
        return 0;
    n = libusb_get_string_descriptor_ascii(h, desc.iSerialNumber, buf,
                                           sizeof(buf) - 1);
    if (n < 0)
        return 0;
    buf[n] = '\0';
    return strcmp((char *)buf, d->serial) == 0;
}

static void usb_dev_error(struct usb_dev *d, const char *fmt, int r)
{
    char msg[160];

    snprintf(msg, sizeof(msg), fmt, libusb_strerror(r));
    d->cb.error(d->arg, msg);
}

/* Open dev (from the loop).  On failure dev is dropped. */
static void usb_dev_open(struct usb_dev *d, libusb_device *dev)
{
    libusb_device_handle *h = NULL;
    char where[32];
    int r;

    if ((r = libusb_open(dev, &h)) != 0) {
        usb_dev_error(d, "cannot open the USB device: %s", r);
        goto fail;
    }
    if (!usb_serial_matches(d, h, dev))
        goto fail; /* another unit of the same model */
    if (usb_find_endpoints(d, dev) == -1) {
        d->cb.error(d->arg, "the USB device has no usable endpoints");
        goto fail;
    }
    /* Manual detach, errors tolerated: auto-detach fails under some
     * kernels and emulations, and a failed detach still lets claim try. */
    d->detached_driver = 0;
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
    if (d->in->buffer == NULL || libusb_submit_transfer(d->in) != 0) {
        d->cb.error(d->arg, "cannot start reading the USB device");
        libusb_free_transfer(d->in);
        d->in = NULL;
        d->h = NULL;
        d->dev = NULL;
        libusb_release_interface(h, d->iface);
        goto fail;
    }
    d->inflight++;
    snprintf(where, sizeof(where), "usb %03u/%03u", libusb_get_bus_number(dev),
             libusb_get_device_address(dev));
    d->cb.attached(d->arg, d->link, d->in_packet, where);
    return;
fail:
    if (h != NULL)
        libusb_close(h);
    libusb_unref_device(dev);
}

/* Close the handle; transfers must all be back. */
static void usb_dev_close(struct usb_dev *d, int orderly)
{
    if (d->in != NULL) {
        libusb_free_transfer(d->in);
        d->in = NULL;
    }
    if (orderly) {
        libusb_release_interface(d->h, d->iface);
        if (d->detached_driver)
            libusb_attach_kernel_driver(d->h, d->iface);
    }
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

    for (o = d->u->devs; o != NULL; o = o->next)
        if (o != d &&
            (o->dev == dev || (count_pending && o->serial[0] == '\0' &&
                               usb_pending_index(o, dev) >= 0)))
            return 1;
    return 0;
}

static void usb_dev_work_cb(evutil_socket_t fd, short what, void *arg)
{
    struct usb_dev *d = arg;
    int i;

    (void)fd;
    (void)what;
    if (d->h != NULL && d->gone) {
        if (d->inflight > 0)
            return; /* the last transfer callback schedules us again */
        usb_dev_close(d, 0);
        d->gone = 0;
        d->cb.detached(d->arg, d->gone_reason);
    }
    for (i = d->npending; i-- > 0;)
        if (d->pending_left[i])
            libusb_unref_device(usb_pending_take(d, i));
    /* Candidates in turn until one opens (and has the serial number). */
    while (d->h == NULL && d->npending > 0) {
        libusb_device *dev = usb_pending_take(d, 0);
        if (usb_owned_elsewhere(d, dev, 0))
            libusb_unref_device(dev);
        else
            usb_dev_open(d, dev);
    }
    /* Following one now: no other unit can have its serial number. */
    while (d->npending > 0)
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
        if (d->dev == dev || usb_pending_index(d, dev) >= 0 ||
            usb_owned_elsewhere(d, dev, 1))
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
        if (d->dev == dev)
            usb_dev_mark_gone(d, "the device was unplugged");
        else if ((i = usb_pending_index(d, dev)) >= 0) {
            /* Little is safe inside LEFT: drop it from the loop. */
            d->pending_left[i] = 1;
            usb_dev_schedule(d);
        }
    }
    return 0;
}

struct usb_dev *usb_dev_new(struct usb_ctx *u, uint16_t vid, uint16_t pid,
                            const char *serial,
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
    if ((r = libusb_submit_transfer(t)) != 0) {
        libusb_free_transfer(t);
        if (r == LIBUSB_ERROR_NO_DEVICE)
            usb_dev_mark_gone(d, "the device was unplugged");
        return -1;
    }
    d->inflight++;
    return 0;
}

void usb_dev_free(struct usb_dev *d)
{
    struct usb_dev **pp;
    int spins;

    if (d == NULL)
        return;
    if (d->registered)
        libusb_hotplug_deregister_callback(d->u->lu, d->hh);
    d->freeing = 1;
    if (d->h != NULL) {
        if (d->in != NULL && d->inflight > 0)
            libusb_cancel_transfer(d->in);
        /* Wait (bounded) for the cancelled transfers to come back. */
        for (spins = 0; d->inflight > 0 && spins < 200; spins++) {
            struct timeval tv = {0, 10000};
            libusb_handle_events_timeout_completed(d->u->lu, &tv, NULL);
        }
        if (d->inflight == 0)
            usb_dev_close(d, !d->gone);
        else
            log_warnx("usb: transfers still pending at close");
    }
    while (d->npending > 0)
        libusb_unref_device(usb_pending_take(d, d->npending - 1));
    for (pp = &d->u->devs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    if (d->ev_work)
        event_free(d->ev_work);
    free(d);
}
