/*
 * usb.h: libusb's asynchronous API inside the caller's libevent loop, and
 * USB devices chosen by vendor:product (and optionally serial number) that
 * come and go with hotplug.
 *
 * No thread and no busy polling: libusb's file descriptors are events on
 * the loop (libusb_set_pollfd_notifiers plus a walk of the fds libusb_init
 * already made), and their callback runs
 * libusb_handle_events_timeout_completed() with a zero timeout.
 *
 * A usb_dev follows one configured device.  When a matching device
 * arrives it is opened from the loop (never inside the hotplug callback),
 * the kernel driver is detached by hand with errors tolerated (so a
 * keyboard-mode scanner never types into a console), its interface
 * claimed and an IN transfer kept pending: bulk for vendor-class readers
 * (0400:c35a), interrupt for HID devices (scanners, 2B8B:2721 readers).
 * When it leaves, or a transfer ends with NO_DEVICE, transfers are
 * cancelled and the handle is closed from the loop once they are back.
 *
 * Nothing here waits on the loop: a serial number is read with
 * asynchronous control transfers before the unit is claimed, and freeing
 * never spins.  usb_dev_free() cancels what is in flight and the object
 * stays, muted, until the last transfer's callback has returned; the loop
 * then closes and frees it.  usb_ctx_free() likewise leaves the libusb
 * context and its fds in the loop until its last such device is gone.
 */
#ifndef EXAMSITE_USB_H
#define EXAMSITE_USB_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "err.h"

struct usb_ctx;
struct usb_dev;

enum usb_link {
    USB_LINK_BULK = 1,  /* bulk IN + bulk OUT */
    USB_LINK_INTERRUPT, /* interrupt IN (+ interrupt OUT or
                         * SET_REPORT for output) */
};

struct usb_dev_callbacks {
    /* Opened and claimed; where is "usb BUS/ADDR"; in_packet the IN
     * endpoint's packet size. */
    void (*attached)(void *arg, enum usb_link link, size_t in_packet,
                     const char *where);
    /* One completed IN transfer. */
    void (*data)(void *arg, const uint8_t *buf, size_t n);
    /* The device left (or failed for good) and is closed. */
    void (*detached)(void *arg, const char *reason);
    /* A matching device could not be opened, or a transfer failed. */
    void (*error)(void *arg, const char *reason);
};

/* Start libusb on base.  NULL with e (EX_UNAVAILABLE) on failure. */
struct usb_ctx *usb_ctx_new(struct event_base *base, struct err *e);

/*
 * Stop libusb.  Every usb_dev must be freed first.  If some still have
 * cancelled transfers out, the context stays in the loop until they are
 * back and is freed from there; otherwise it is freed at once.  Accepts
 * NULL.
 */
void usb_ctx_free(struct usb_ctx *u);

/*
 * Contexts freed by their owner but still waiting, in the loop, for
 * cancelled transfers to come back (process-wide).  A process about to
 * exit may run its loop until this is 0 so that everything is freed; one
 * that keeps running needs to do nothing.
 */
size_t usb_ctx_draining(void);

/*
 * Whether a device vid:pid is plugged in now: 1 yes, 0 no, -1 with e when
 * libusb cannot tell.  For tools before they start listening; it builds
 * and drops a libusb context of its own and does no I/O on the device.
 */
int usb_present(uint16_t vid, uint16_t pid, struct err *e);

/* usb_dev_new() flag: a keyboard-mode scanner.  After claiming its HID
 * interface, SET_PROTOCOL(boot) (boot-subclass keyboards: a device powers
 * up in report protocol) and SET_IDLE(0) are sent asynchronously, as
 * usbhid does; like usbhid, a device that stalls them is used anyway. */
#define USB_DEV_KEYBOARD 0x1

/*
 * Follow the device vid:pid (serial: NULL or "" for any; flags: 0 or
 * USB_DEV_KEYBOARD).  Devices already present are found from the loop
 * right after this returns.  Callbacks run on the loop.  NULL with e on
 * failure (no hotplug support in libusb: EX_UNAVAILABLE).
 */
struct usb_dev *usb_dev_new(struct usb_ctx *u, uint16_t vid, uint16_t pid,
                            const char *serial, unsigned flags,
                            const struct usb_dev_callbacks *cb, void *arg,
                            struct err *e);

/*
 * Send n bytes (at most 4096) asynchronously: bulk OUT, interrupt OUT, or
 * a SET_REPORT(output) control transfer for HID devices without an OUT
 * endpoint.  0, or -1 when no device is attached or the submit failed.
 */
int usb_dev_send(struct usb_dev *d, const uint8_t *buf, size_t n);

/* 1 while a device is open. */
int usb_dev_attached(const struct usb_dev *d);

/*
 * Stop following the device: no callback runs after this returns.  Its
 * transfers are cancelled, its interface released (re-attaching a kernel
 * driver we detached) at once, so a new usb_dev can claim the unit; the
 * handle is closed and the memory freed from the loop once the cancelled
 * transfers are back (at once if none is out).  Not from inside a usb
 * callback.  Accepts NULL.
 */
void usb_dev_free(struct usb_dev *d);

#endif
