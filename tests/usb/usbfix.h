/*
 * usbfix.h: the fixture shared by the emulated-USB tests (tests/usb/test_*.c;
 * docs/usb-testing.md): the umockdev testbed, USB devices added and
 * removed through it, a usbfs emulation answering the ioctls libusb sends
 * (SUBMITURB / REAPURB(NDELAY) / DISCARDURB / CLAIM / RELEASE), the
 * libevent loop helpers, the device-event recorder and the CHECK / report
 * bookkeeping.  What a device says (keyboard reports, reader frames) stays in
 * each test and is plugged in through struct usbfix_ops.
 *
 * Threads: the ioctl handler runs in umockdev's thread, everything else in
 * the test's (main) thread.  Each emulated device's state, and whatever
 * protocol state its ops touch, is under that device's mutex mu.
 */
#ifndef EXAMSITE_TESTS_USBFIX_H
#define EXAMSITE_TESTS_USBFIX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/usbdevice_fs.h>

#include <event2/event.h>
#include <umockdev.h>

#include "device.h"

/* --- checks ---------------------------------------------------------- */

/* Failed CHECKs so far (main thread, or under a device's mu). */
extern int usbfix_failures;

/* Count and print (stderr) a failure when cond is false; never aborts. */
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            usbfix_failures++;                                                 \
        }                                                                      \
    } while (0)

/* Print "ok <what>" on stdout if no CHECK failed since the previous report
 * (or the start), else "not ok <what>".  what is a printf format. */
void usbfix_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The end of main(): "<name>: N failures" on stderr and 1, or
 * "<name>: all passed" on stdout and 0. */
int usbfix_finish(const char *name);

/* --- the testbed and devices on it ------------------------------------- */

/* A new umockdev testbed; asserts the process runs in the mock environment.
 * Call it before libusb is initialised: it sets $UMOCKDEV_DIR, which libusb
 * must see.  Free with g_clear_object(). */
UMockdevTestbed *usbfix_testbed_new(void);

/* Plug a full-speed device in as bus 1 address devnum (1..127): its usbfs
 * node /dev/bus/usb/001/<devnum> answered by handler, its sysfs node
 * /sys/devices/usb1/1-<devnum> with descriptors (the hex string of the
 * device, configuration, interface and endpoint descriptors) and
 * bConfigurationValue 1.  Asserts umockdev accepted both. */
void usbfix_add_device(UMockdevTestbed *tb, UMockdevIoctlBase *handler,
                       int devnum, const char *descriptors);

/* Unplug device devnum: a "remove" uevent, then its sysfs node goes.  The
 * usbfs node stays answered by its handler (an open fd keeps getting
 * whatever the handler says, e.g. ENODEV). */
void usbfix_remove_device(UMockdevTestbed *tb, int devnum);

/* Stop answering the usbfs node of devnum (after usbfix_remove_device(),
 * once nobody uses the device any more). */
void usbfix_detach_ioctl(UMockdevTestbed *tb, int devnum);

/* --- usbfs emulation --------------------------------------------------- */

#define USBFIX_MAX_URBS   32
#define USBFIX_MAX_IFACES 4

/* What the emulated device does; called in umockdev's thread with the
 * device's mu held, never after usbfix_dev_free(). */
struct usbfix_ops {
    /* Every URB submitted, before it is queued.  For a control or OUT URB
     * the device acts on it here; urb->status (0) and urb->actual_length
     * (buffer_length) are preset and may be changed; it completes at once.
     * An interrupt/bulk IN URB is only looked at: it waits for fill(). */
    void (*submit)(void *user, struct usbdevfs_urb *urb);
    /* Give the oldest waiting IN URB its data: copy at most cap bytes to buf
     * and return how many, or -1 if nothing is ready (it keeps waiting). */
    int (*fill)(void *user, uint8_t *buf, size_t cap);
};

/* A URB and the open file (umockdev client) it was submitted on: each
 * open handle reaps only its own, as with the kernel. */
struct usbfix_urb {
    UMockdevIoctlData *u;
    UMockdevIoctlClient *c;
};

/* One emulated usbfs device (one ioctl handler, attachable to any number
 * of device nodes one after the other). */
struct usbfix_dev {
    pthread_mutex_t mu;
    UMockdevIoctlBase *handler;
    const struct usbfix_ops *ops;
    void *user;
    struct usbfix_urb in_urbs[USBFIX_MAX_URBS]; /* IN URBs waiting */
    int n_in;
    struct usbfix_urb done[USBFIX_MAX_URBS]; /* completed, to be reaped */
    int n_done;
    /* Set (under mu) to play a slow host controller: a DISCARDURB is
     * accepted but the URB comes back (-ENOENT) only once cleared, so a
     * cancelled transfer stays in flight as long as the test wants. */
    int hold_discards;
    struct usbfix_urb held[USBFIX_MAX_URBS]; /* discarded, held back */
    int n_held;
    int discards; /* DISCARDURB calls that found their URB */
    /* Set (under mu) for a device that never answers on endpoint 0:
     * control URBs are accepted and then left without an answer until
     * they are discarded (the host's timeout). */
    int hang_control;
    struct usbfix_urb hung[USBFIX_MAX_URBS];
    int n_hung;
    /* Set (under mu) to unplug the device from the driver's side: from then
     * on SUBMITURB, CLAIM/RELEASEINTERFACE and a reap with nothing completed
     * fail with ENODEV, as the kernel does, and IN URBs get no more data. */
    int removed;
    int claims; /* successful CLAIMINTERFACE calls */
    /* Who holds interface i (0..USBFIX_MAX_IFACES-1): as with the kernel,
     * another open file's CLAIMINTERFACE fails with EBUSY until it is
     * released (or the holder's file is closed). */
    UMockdevIoctlClient *claimed_by[USBFIX_MAX_IFACES];
    int busy; /* CLAIMINTERFACE refused with EBUSY */
};

/* Set d up with a fresh handler calling ops with user.  A full URB queue
 * makes SUBMITURB fail with ENOMEM; unknown ioctls are left to umockdev. */
void usbfix_dev_init(struct usbfix_dev *d, const struct usbfix_ops *ops,
                     void *user);

/* Drop the URBs nobody will reap any more (after an unplug) and clear
 * removed.  The caller holds d->mu. */
void usbfix_dev_reset_locked(struct usbfix_dev *d);

/* Drop the URBs left and free the handler and the mutex. */
void usbfix_dev_free(struct usbfix_dev *d);

/* *field (a counter in d or in state under d->mu), read under d->mu. */
int usbfix_get(struct usbfix_dev *d, const int *field);

/* Hold discarded URBs back (on) or give back those held and stop (off). */
void usbfix_hold_discards(struct usbfix_dev *d, int on);

/* --- the loop ------------------------------------------------------------ */

/* A libevent base that avoids epoll: the emulated usbfs fd is a regular
 * file, which epoll refuses.  Asserts it was made. */
struct event_base *usbfix_make_base(void);

/* Seconds on the monotonic clock. */
double usbfix_now(void);

/* Run base in 2 ms slices until *counter (main-thread state) reaches want
 * or seconds pass; returns whether it did. */
int usbfix_run_until(struct event_base *base, const int *counter, int want,
                     double seconds);

/* The same for a counter of d read under d->mu, in 10 ms runs of base. */
int usbfix_run_until_dev(struct event_base *base, struct usbfix_dev *d,
                         const int *field, int want, double seconds);

/* After device_manager_free(): run base until the freed USB devices'
 * cancelled transfers are back and everything of theirs is freed
 * (device_usb_draining() is 0), at most seconds; returns whether so.  A
 * test that then frees base leaves nothing behind for LeakSanitizer. */
int usbfix_drain(struct event_base *base, double seconds);

/* --- device events ------------------------------------------------------- */

/* What the test saw (main thread only). */
struct usbfix_seen {
    int attached, detached, errors, cards, removed, codes;
    char where[64];       /* reason of the last ATTACHED */
    char last_error[256]; /* reason of the last ERROR */
    char last_code[256];  /* the last code scanned */
    char name[96], id[56], birth[9], valid_to[16], gender[16], nation[40];
    size_t photo_bytes; /* of the last card read */
};

/* A device_event_cb recording ev into the struct usbfix_seen at arg. */
void usbfix_on_event(const struct device_event *ev, void *arg);

#endif
