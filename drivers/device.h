/*
 * device.h: the devices of a station as the daemon sees them.  One device
 * is a struct config_device (common/config.h) plus its transport (libusb
 * or a serial port) plus its protocol (the ID-card reader state machine,
 * the HID keyboard decoder or the serial line decoder).  Everything that
 * happens comes out as a typed struct device_event through one callback on
 * the caller's libevent loop.  No SQL, no policy: a card read is reported,
 * what it means is the daemon's business.
 *
 *     m = device_manager_new(base, cfg.devices, cfg.ndevices, on_event,
 *                            ctx, &e);
 *     device_manager_set_polling(m, "door1", 1);   // around a session
 *     ...
 *     device_manager_free(m);
 *
 * Devices are opened from the loop after device_manager_new() returns, so
 * every event (including the first ATTACHED) arrives from the loop.  USB
 * devices come and go with hotplug.  A serial port that cannot be opened
 * or goes away is retried every DEVICE_SERIAL_RETRY_MS (the only timer
 * left running when idle, and only while that port is missing).
 * ID-card readers poll only while polling is on; scanners need no polling.
 */
#ifndef EXAMSITE_DEVICE_H
#define EXAMSITE_DEVICE_H

#include <stddef.h>

#include <event2/event.h>

#include "config.h"
#include "err.h"
#include "idtext.h"

#define DEVICE_SERIAL_RETRY_MS 2000
/* A scanned code without terminator ends this long after its last key
 * press (keyboard mode) or byte (serial mode). */
#define DEVICE_SCAN_IDLE_MS 200
#define DEVICE_HID_REPORT   64 /* ID-card frames over HID reports */

enum device_event_type {
    DEVICE_ATTACHED = 1, /* reason: where ("usb 001/004", the tty path) */
    DEVICE_DETACHED,     /* reason: why */
    DEVICE_ERROR,        /* reason: what failed; the device stays */
    DEVICE_CARD_READ,    /* card */
    DEVICE_CARD_REMOVED, /* the card last read left the reader */
    DEVICE_CODE_SCANNED, /* code, code_len */
};

/* Valid only during the callback: copy what you keep. */
struct device_event {
    enum device_event_type type;
    const char *device; /* the config name */
    const struct config_device *config;
    const struct idcard_info *card; /* CARD_READ; ID number in clear */
    const char *code;               /* CODE_SCANNED: UTF-8, NUL-ended */
    size_t code_len;
    const char *reason; /* ATTACHED, DETACHED, ERROR */
};

/* The callback may call device_manager_set_polling(), not _free(). */
typedef void (*device_event_fn)(const struct device_event *ev, void *arg);

struct device_manager;

/* Health of one device, for `examctl devices` and the kiosk. */
struct device_status {
    const char *name;
    enum config_devtype type;
    int attached;
    int polling; /* readers: polling is on */
    int sam_ok;  /* readers: the SAM answered OK */
    char sam_id[48];
    char where[64];       /* as in the last ATTACHED */
    char last_error[256]; /* "" if none since attach */
};

/*
 * Start following n devices (copied).  NULL with e on failure: a device
 * entry that makes no sense (EX_CONFIG), libusb unusable while a USB
 * device is configured (EX_UNAVAILABLE).  A device that is merely absent
 * is not a failure: it shows up later, or its ERROR event says why not.
 */
struct device_manager *device_manager_new(struct event_base *base,
                                          const struct config_device *devs,
                                          size_t n, device_event_fn cb,
                                          void *arg, struct err *e);

/*
 * Close every device and free.  No callback runs after it returns, and it
 * never waits: USB transfers still in flight are cancelled, and what they
 * use (with the libusb context and its fds in the loop) is freed from the
 * loop when they are back, so a device_manager_new() on the same base
 * right after (a reload) is fine and finds the same USB units.  Not from
 * inside the callback.  Accepts NULL.
 */
void device_manager_free(struct device_manager *m);

/*
 * USB contexts of freed managers still waiting for cancelled transfers
 * (process-wide; usually gone one loop iteration after the free).  A
 * process about to exit may run its loop until this is 0 (bounded) for a
 * leak-free exit; one that goes on running needs to do nothing.
 */
size_t device_usb_draining(void);

/* Polling of the reader called name on (1) or off (0).  Returns 0, or -1
 * if there is no device of that name.  Scanners accept and ignore it. */
int device_manager_set_polling(struct device_manager *m, const char *name,
                               int on);

/* The same for every device. */
void device_manager_set_polling_all(struct device_manager *m, int on);

size_t device_manager_count(const struct device_manager *m);

/* Fill *st for device i (0 .. count-1).  0, or -1 if i is out of range. */
int device_manager_status(const struct device_manager *m, size_t i,
                          struct device_status *st);

#endif
