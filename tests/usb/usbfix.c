/*
 * usbfix.c: the fixture shared by the emulated-USB tests (see usbfix.h).
 */
#include "usbfix.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include <sys/ioctl.h>

#include <glib.h>

int usbfix_failures;

static int failures_reported;

/* --- checks ---------------------------------------------------------- */

void usbfix_report(const char *fmt, ...)
{
    va_list ap;

    fputs(usbfix_failures == failures_reported ? "ok " : "not ok ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    failures_reported = usbfix_failures;
}

int usbfix_finish(const char *name)
{
    if (usbfix_failures) {
        fprintf(stderr, "%s: %d failures\n", name, usbfix_failures);
        return 1;
    }
    printf("%s: all passed\n", name);
    return 0;
}

/* --- the testbed and devices on it ------------------------------------- */

UMockdevTestbed *usbfix_testbed_new(void)
{
    UMockdevTestbed *tb = umockdev_testbed_new();

    g_assert_true(umockdev_in_mock_environment());
    return tb;
}

void usbfix_add_device(UMockdevTestbed *tb, UMockdevIoctlBase *handler,
                       int devnum, const char *descriptors)
{
    char dev[64], desc[1024];
    int n = devnum;

    snprintf(dev, sizeof(dev), "/dev/bus/usb/001/%03d", n);
    g_assert_true(umockdev_testbed_attach_ioctl(tb, dev, handler, NULL));
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
             n, n, n, n, n, descriptors);
    g_assert_true(umockdev_testbed_add_from_string(tb, desc, NULL));
}

void usbfix_remove_device(UMockdevTestbed *tb, int devnum)
{
    char sys[64];

    snprintf(sys, sizeof(sys), "/sys/devices/usb1/1-%d", devnum);
    umockdev_testbed_uevent(tb, sys, "remove");
    umockdev_testbed_remove_device(tb, sys);
}

void usbfix_detach_ioctl(UMockdevTestbed *tb, int devnum)
{
    char dev[64];

    snprintf(dev, sizeof(dev), "/dev/bus/usb/001/%03d", devnum);
    umockdev_testbed_detach_ioctl(tb, dev, NULL);
}

/* --- usbfs emulation --------------------------------------------------- */

/* Give waiting IN URBs whatever data the device has ready. */
static void fill_in_urbs(struct usbfix_dev *d)
{
    while (d->n_in > 0 && d->n_done < USBFIX_MAX_URBS) {
        struct usbfix_urb w = d->in_urbs[0];
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)w.u->data;
        int n = d->ops->fill(d->user, urb->buffer, (size_t)urb->buffer_length);

        if (n < 0)
            return;
        urb->actual_length = n;
        urb->status = 0;
        memmove(d->in_urbs, d->in_urbs + 1, sizeof(d->in_urbs[0]) * --d->n_in);
        d->done[d->n_done++] = w;
    }
}

static void submit_urb(struct usbfix_dev *d, UMockdevIoctlClient *c,
                       UMockdevIoctlData *arg)
{
    UMockdevIoctlData *u, *buf;
    struct usbdevfs_urb *urb;
    struct usbfix_urb w;

    if (d->removed) {
        umockdev_ioctl_client_complete(c, -1, ENODEV);
        return;
    }
    if (d->n_done == USBFIX_MAX_URBS || d->n_in == USBFIX_MAX_URBS) {
        umockdev_ioctl_client_complete(c, -1, ENOMEM);
        return;
    }
    u = umockdev_ioctl_data_resolve(arg, 0, sizeof(*urb), NULL);
    urb = (struct usbdevfs_urb *)u->data;
    buf = umockdev_ioctl_data_resolve(
        u, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
        (gsize)urb->buffer_length, NULL);
    w.u = u;
    w.c = c;
    if (urb->type != USBDEVFS_URB_TYPE_CONTROL && (urb->endpoint & 0x80)) {
        d->ops->submit(d->user, urb);
        d->in_urbs[d->n_in++] = w;
    } else if (urb->type == USBDEVFS_URB_TYPE_CONTROL && d->hang_control &&
               d->n_hung < USBFIX_MAX_URBS) {
        d->hung[d->n_hung++] = w; /* never answered */
    } else {
        urb->actual_length = urb->buffer_length;
        urb->status = 0;
        d->ops->submit(d->user, urb);
        d->done[d->n_done++] = w;
    }
    umockdev_ioctl_data_unref(buf);
    umockdev_ioctl_client_complete(c, 0, 0);
}

static void reap_urb(struct usbfix_dev *d, UMockdevIoctlClient *c,
                     UMockdevIoctlData *arg)
{
    UMockdevIoctlData *p, *u;
    int i;

    if (!d->removed)
        fill_in_urbs(d);
    for (i = 0; i < d->n_done && d->done[i].c != c; i++)
        ;
    if (i == d->n_done) {
        umockdev_ioctl_client_complete(c, -1, d->removed ? ENODEV : EAGAIN);
        return;
    }
    u = d->done[i].u;
    memmove(d->done + i, d->done + i + 1,
            sizeof(d->done[0]) * (size_t)(--d->n_done - i));
    p = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
    umockdev_ioctl_data_set_ptr(p, 0, u);
    umockdev_ioctl_data_unref(p);
    umockdev_ioctl_data_unref(u);
    umockdev_ioctl_client_complete(c, 0, 0);
}

static void discard_urb(struct usbfix_dev *d, UMockdevIoctlClient *c,
                        UMockdevIoctlData *arg)
{
    gulong addr = (gulong) * (void **)arg->data;
    int i;

    if (d->n_done == USBFIX_MAX_URBS) {
        umockdev_ioctl_client_complete(c, -1, EBUSY);
        return;
    }
    for (i = 0; i < d->n_hung; i++) {
        if (d->hung[i].c == c && d->hung[i].u->client_addr == addr) {
            struct usbfix_urb w = d->hung[i];
            ((struct usbdevfs_urb *)w.u->data)->status = -ENOENT;
            ((struct usbdevfs_urb *)w.u->data)->actual_length = 0;
            memmove(d->hung + i, d->hung + i + 1,
                    sizeof(d->hung[0]) * (size_t)(d->n_hung - i - 1));
            d->n_hung--;
            d->done[d->n_done++] = w;
            d->discards++;
            umockdev_ioctl_client_complete(c, 0, 0);
            return;
        }
    }
    for (i = 0; i < d->n_in; i++) {
        if (d->in_urbs[i].c == c && d->in_urbs[i].u->client_addr == addr) {
            struct usbfix_urb w = d->in_urbs[i];
            ((struct usbdevfs_urb *)w.u->data)->status = -ENOENT;
            ((struct usbdevfs_urb *)w.u->data)->actual_length = 0;
            memmove(d->in_urbs + i, d->in_urbs + i + 1,
                    sizeof(d->in_urbs[0]) * (size_t)(d->n_in - i - 1));
            d->n_in--;
            if (d->hold_discards && d->n_held < USBFIX_MAX_URBS)
                d->held[d->n_held++] = w;
            else
                d->done[d->n_done++] = w;
            d->discards++;
            umockdev_ioctl_client_complete(c, 0, 0);
            return;
        }
    }
    umockdev_ioctl_client_complete(c, -1, EINVAL);
}

/* CLAIMINTERFACE / RELEASEINTERFACE (the argument points to the number). */
static void claim_interface(struct usbfix_dev *d, UMockdevIoctlClient *c,
                            UMockdevIoctlData *arg, int claim)
{
    UMockdevIoctlData *n = umockdev_ioctl_data_resolve(arg, 0, 4, NULL);
    unsigned ifnum = *(guint32 *)n->data;
    UMockdevIoctlClient **holder;

    umockdev_ioctl_data_unref(n);
    if (ifnum >= USBFIX_MAX_IFACES) {
        umockdev_ioctl_client_complete(c, -1, EINVAL);
        return;
    }
    holder = &d->claimed_by[ifnum];
    /* Closing a file releases what it claimed. */
    if (*holder != NULL && !umockdev_ioctl_client_get_connected(*holder)) {
        g_object_unref(*holder);
        *holder = NULL;
    }
    if (!claim) {
        if (*holder == c) {
            g_object_unref(*holder);
            *holder = NULL;
        }
        umockdev_ioctl_client_complete(c, 0, 0);
        return;
    }
    if (*holder != NULL && *holder != c) {
        d->busy++;
        umockdev_ioctl_client_complete(c, -1, EBUSY);
        return;
    }
    if (*holder == NULL)
        *holder = g_object_ref(c);
    d->claims++;
    umockdev_ioctl_client_complete(c, 0, 0);
}

static gboolean handle_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c,
                             struct usbfix_dev *d)
{
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
    gulong req = umockdev_ioctl_client_get_request(c);
    gboolean handled = TRUE;

    (void)h;
    pthread_mutex_lock(&d->mu);
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *cap = umockdev_ioctl_data_resolve(arg, 0, 4, NULL);
        *(guint32 *)cap->data = USBDEVFS_CAP_BULK_CONTINUATION |
                                USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        umockdev_ioctl_data_unref(cap);
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    case USBDEVFS_SUBMITURB:
        submit_urb(d, c, arg);
        break;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        reap_urb(d, c, arg);
        break;
    case USBDEVFS_DISCARDURB:
        discard_urb(d, c, arg);
        break;
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
        if (d->removed) {
            umockdev_ioctl_client_complete(c, -1, ENODEV);
            break;
        }
        claim_interface(d, c, arg, req == USBDEVFS_CLAIMINTERFACE);
        break;
    default:
        handled = FALSE;
        break;
    }
    pthread_mutex_unlock(&d->mu);
    return handled;
}

void usbfix_dev_init(struct usbfix_dev *d, const struct usbfix_ops *ops,
                     void *user)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->ops = ops;
    d->user = user;
    d->handler = umockdev_ioctl_base_new();
    g_object_connect(d->handler, "signal-after::handle-ioctl", handle_ioctl, d,
                     NULL);
}

void usbfix_dev_reset_locked(struct usbfix_dev *d)
{
    while (d->n_in > 0)
        umockdev_ioctl_data_unref(d->in_urbs[--d->n_in].u);
    while (d->n_done > 0)
        umockdev_ioctl_data_unref(d->done[--d->n_done].u);
    while (d->n_held > 0)
        umockdev_ioctl_data_unref(d->held[--d->n_held].u);
    while (d->n_hung > 0)
        umockdev_ioctl_data_unref(d->hung[--d->n_hung].u);
    for (int i = 0; i < USBFIX_MAX_IFACES; i++)
        g_clear_object(&d->claimed_by[i]);
    d->removed = 0;
}

void usbfix_hold_discards(struct usbfix_dev *d, int on)
{
    pthread_mutex_lock(&d->mu);
    d->hold_discards = on;
    /* Given back in order, as far as the reap queue has room. */
    while (!on && d->n_held > 0 && d->n_done < USBFIX_MAX_URBS) {
        d->done[d->n_done++] = d->held[0];
        memmove(d->held, d->held + 1, sizeof(d->held[0]) * --d->n_held);
    }
    pthread_mutex_unlock(&d->mu);
}

void usbfix_dev_free(struct usbfix_dev *d)
{
    pthread_mutex_lock(&d->mu);
    usbfix_dev_reset_locked(d);
    pthread_mutex_unlock(&d->mu);
    g_clear_object(&d->handler);
    pthread_mutex_destroy(&d->mu);
}

int usbfix_get(struct usbfix_dev *d, const int *field)
{
    int v;

    pthread_mutex_lock(&d->mu);
    v = *field;
    pthread_mutex_unlock(&d->mu);
    return v;
}

/* --- the loop ------------------------------------------------------------ */

struct event_base *usbfix_make_base(void)
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

double usbfix_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int usbfix_run_until(struct event_base *base, const int *counter, int want,
                     double seconds)
{
    double end = usbfix_now() + seconds;

    while (*counter < want && usbfix_now() < end) {
        struct timeval tv = {0, 2000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return *counter >= want;
}

int usbfix_drain(struct event_base *base, double seconds)
{
    double end = usbfix_now() + seconds;

    while (device_usb_draining() > 0 && usbfix_now() < end) {
        struct timeval tv = {0, 2000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return device_usb_draining() == 0;
}

int usbfix_run_until_dev(struct event_base *base, struct usbfix_dev *d,
                         const int *field, int want, double seconds)
{
    static const int never = 0;
    double end = usbfix_now() + seconds;

    while (usbfix_get(d, field) < want && usbfix_now() < end)
        usbfix_run_until(base, &never, 1, 0.01);
    return usbfix_get(d, field) >= want;
}

/* --- device events ------------------------------------------------------- */

void usbfix_on_event(const struct device_event *ev, void *arg)
{
    struct usbfix_seen *s = arg;

    switch (ev->type) {
    case DEVICE_ATTACHED:
        s->attached++;
        snprintf(s->where, sizeof(s->where), "%s", ev->reason);
        break;
    case DEVICE_DETACHED:
        s->detached++;
        break;
    case DEVICE_ERROR:
        s->errors++;
        snprintf(s->last_error, sizeof(s->last_error), "%s", ev->reason);
        break;
    case DEVICE_CARD_READ:
        s->cards++;
        snprintf(s->name, sizeof(s->name), "%s", ev->card->name);
        snprintf(s->id, sizeof(s->id), "%s", ev->card->id_number);
        snprintf(s->birth, sizeof(s->birth), "%s", ev->card->birth);
        snprintf(s->valid_to, sizeof(s->valid_to), "%s", ev->card->valid_to);
        snprintf(s->gender, sizeof(s->gender), "%s", ev->card->gender);
        snprintf(s->nation, sizeof(s->nation), "%s", ev->card->nation);
        s->photo_bytes = ev->card->photo_bytes;
        break;
    case DEVICE_CARD_REMOVED:
        s->removed++;
        break;
    case DEVICE_CODE_SCANNED:
        s->codes++;
        snprintf(s->last_code, sizeof(s->last_code), "%s", ev->code);
        break;
    }
}
