/*
 * ctl_device.c: `examctl device listen`, the technician's test of one
 * reader or scanner without the daemon (examctl(1), device listen):
 *
 *   examctl device listen (--usb VID:PID | --serial PATH [--baud N])
 *                  --type idcard|scanner [--count N] [--timeout SEC]
 *                  [--reveal]
 *
 * It runs the same drivers the daemon uses (device_manager with one
 * device, polling on) and prints one JSON line per item: {"code":"..."}
 * for a scan, the card object (idjson_card) for a card.  Device trouble
 * (attach, detach, errors) goes to stderr as "examctl: listen: ..." and
 * listening goes on.  Exit 0 once --count items were printed (without
 * --count: at the timeout or SIGINT/SIGTERM if at least one item came),
 * 69 when it ends short, or at once when a --serial path does not exist
 * or no --usb device of that VID:PID is plugged in; 64 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <jansson.h>

#include "ctl.h"
#include "device.h"
#include "idjson.h"
#include "log.h"
#include "number.h"
#include "usb.h"

static const char ctl_device_usage[] =
    "usage: examctl device listen (--usb VID:PID | --serial PATH [--baud N])\n"
    "                     --type idcard|scanner [--count N] [--timeout SEC]\n"
    "                     [--reveal]\n"
    "  Open one reader or scanner and print one JSON line per card read or\n"
    "  code scanned.  Exit 0 after --count items, 69 on timeout or when\n"
    "  the device is absent.\n"
    "usage: examctl --config FILE device udev-rules\n"
    "  Print udev rules that give the examsite group the USB devices the\n"
    "  configuration names (install as "
    "/etc/udev/rules.d/71-examsite-local.rules).";

struct listen {
    struct event_base *base;
    long count; /* 0: no limit */
    long got;
    int reveal;
    int interrupted;
    int write_failed;
};

static int ctl_parse_usb(const char *s, struct config_device *d)
{
    char *end;
    unsigned long vid, pid;

    errno = 0;
    vid = strtoul(s, &end, 16);
    if (errno != 0 || end == s || *end != ':' || vid > 0xFFFF)
        return -1;
    s = end + 1;
    pid = strtoul(s, &end, 16);
    if (errno != 0 || end == s || *end != '\0' || pid > 0xFFFF)
        return -1;
    d->vid = (uint16_t)vid;
    d->pid = (uint16_t)pid;
    return 0;
}

static void ctl_listen_print(struct listen *l, json_t *j)
{
    if (j == NULL || json_dumpf(j, stdout, JSON_COMPACT) == -1 ||
        putchar('\n') == EOF || fflush(stdout) == EOF)
        l->write_failed = 1;
    json_decref(j);
    l->got++;
    if (l->write_failed || (l->count > 0 && l->got >= l->count))
        event_base_loopexit(l->base, NULL);
}

static void ctl_listen_event(const struct device_event *ev, void *arg)
{
    struct listen *l = arg;

    switch (ev->type) {
    case DEVICE_CARD_READ:
        ctl_listen_print(l, idjson_card(ev->card, l->reveal));
        break;
    case DEVICE_CODE_SCANNED:
        ctl_listen_print(l,
                         json_pack("{s:s%}", "code", ev->code, ev->code_len));
        break;
    case DEVICE_ATTACHED:
        fprintf(stderr, "examctl: listen: attached (%s)\n", ev->reason);
        break;
    case DEVICE_DETACHED:
        fprintf(stderr, "examctl: listen: detached: %s\n", ev->reason);
        break;
    case DEVICE_ERROR:
        fprintf(stderr, "examctl: listen: %s\n", ev->reason);
        break;
    case DEVICE_CARD_REMOVED:
        break;
    }
}

static void ctl_listen_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listen *l = arg;

    (void)fd;
    if (what & EV_SIGNAL)
        l->interrupted = 1;
    event_base_loopexit(l->base, NULL);
}

static const char listen_syn[] =
    "device listen (--usb VID:PID | --serial PATH [--baud N]) --type "
    "idcard|scanner [--count N] [--timeout SEC] [--reveal]";
static const char udev_syn[] = "--config FILE device udev-rules";

/* The options of device listen (argv[0] is "listen"): 0, or EX_USAGE
 * after saying what was wrong. */
static int ctl_listen_parse(int argc, char **argv, struct config_device *d,
                            struct listen *l, long *timeout)
{
    static const struct option opts[] = {
        {"usb", required_argument, NULL, 'u'},
        {"serial", required_argument, NULL, 's'},
        {"baud", required_argument, NULL, 'b'},
        {"type", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 'T'},
        {"reveal", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int ch, have_type = 0;
    long long v;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'u':
        case 's':
            if (d->transport != 0)
                return ctl_usagef(listen_syn,
                                  "give one device: --usb or --serial, once");
            if (ch == 's') {
                if (strlen(optarg) >= sizeof(d->path))
                    return ctl_usagef(listen_syn, "--serial path too long");
                d->transport = TRANSPORT_SERIAL;
                memcpy(d->path, optarg, strlen(optarg) + 1);
            } else if (ctl_parse_usb(optarg, d) == -1) {
                return ctl_usagef(listen_syn,
                                  "--usb must be VID:PID in hex, not '%s'",
                                  optarg);
            } else {
                d->transport = TRANSPORT_USB;
            }
            break;
        case 'b':
            if (number_parse(optarg, 1, 4000000, &v) == -1)
                return ctl_usagef(listen_syn,
                                  "--baud must be 1-4000000, not '%s'", optarg);
            d->baud = (int)v;
            break;
        case 't':
            if (strcmp(optarg, "idcard") == 0)
                d->type = DEVTYPE_IDCARD;
            else if (strcmp(optarg, "scanner") == 0)
                d->type = DEVTYPE_SCANNER;
            else
                return ctl_usagef(listen_syn,
                                  "--type must be idcard or scanner, not '%s'",
                                  optarg);
            have_type = 1;
            break;
        case 'c':
            if (number_parse(optarg, 1, 1000000, &v) == -1)
                return ctl_usagef(
                    listen_syn, "--count must be 1-1000000, not '%s'", optarg);
            l->count = (long)v;
            break;
        case 'T':
            if (number_parse(optarg, 1, 86400 * 365, &v) == -1)
                return ctl_usagef(listen_syn,
                                  "--timeout must be 1-%d seconds, not '%s'",
                                  86400 * 365, optarg);
            *timeout = (long)v;
            break;
        case 'r':
            l->reveal = 1;
            break;
        default:
            return ctl_opt_error(listen_syn, ch, argv);
        }
    }
    if (optind != argc)
        return ctl_usagef(listen_syn,
                          "device listen takes no arguments, not '%s'",
                          argv[optind]);
    if (d->transport == 0)
        return ctl_usagef(listen_syn, "device listen needs --usb or --serial");
    if (!have_type)
        return ctl_usagef(listen_syn, "device listen needs --type");
    return 0;
}

static int ctl_device_listen(int argc, char **argv)
{
    struct config_device dev;
    struct listen l;
    struct device_manager *m = NULL;
    struct event *ev_timeout = NULL, *ev_int = NULL, *ev_term = NULL;
    struct stat st;
    struct err e;
    long timeout = 0;
    int rc;

    memset(&dev, 0, sizeof(dev));
    memset(&l, 0, sizeof(l));
    snprintf(dev.name, sizeof(dev.name), "listen");
    if ((rc = ctl_listen_parse(argc, argv, &dev, &l, &timeout)) != 0)
        return rc;
    if (dev.transport == TRANSPORT_SERIAL && stat(dev.path, &st) == -1)
        return ctl_failf(EX_UNAVAILABLE, "%s: no such device", dev.path);
    /* Absent now: say so rather than wait for the timeout.  (One that is
     * unplugged once listening has begun is waited for, as a port is.) */
    if (dev.transport == TRANSPORT_USB) {
        int present = usb_present(dev.vid, dev.pid, &e);

        if (present == -1)
            return ctl_fail(&e);
        if (present == 0)
            return ctl_failf(EX_UNAVAILABLE, "usb %04x:%04x: not found",
                             dev.vid, dev.pid);
    }
    if ((l.base = event_base_new()) == NULL)
        return ctl_failf(EX_OSERR, "libevent");
    m = device_manager_new(l.base, &dev, 1, ctl_listen_event, &l, &e);
    if (m == NULL) {
        rc = ctl_fail(&e);
        goto out;
    }
    device_manager_set_polling_all(m, 1);
    ev_int = evsignal_new(l.base, SIGINT, ctl_listen_stop_cb, &l);
    ev_term = evsignal_new(l.base, SIGTERM, ctl_listen_stop_cb, &l);
    ev_timeout = evtimer_new(l.base, ctl_listen_stop_cb, &l);
    if (ev_int == NULL || ev_term == NULL || ev_timeout == NULL) {
        rc = ctl_failf(EX_OSERR, "libevent");
        goto out;
    }
    evsignal_add(ev_int, NULL);
    evsignal_add(ev_term, NULL);
    if (timeout > 0) {
        struct timeval tv = {timeout, 0};
        evtimer_add(ev_timeout, &tv);
    }
    event_base_dispatch(l.base);
    if (l.write_failed)
        rc = ctl_failf(EX_IOERR, "cannot write the output");
    else if (l.count > 0 && l.got < l.count)
        rc = ctl_failf(EX_UNAVAILABLE, "%s: %ld of %ld items before %s",
                       dev.transport == TRANSPORT_SERIAL ? dev.path : "usb",
                       l.got, l.count,
                       l.interrupted ? "the interrupt" : "the timeout");
    else if (l.count == 0 && l.got == 0)
        rc = ctl_failf(EX_UNAVAILABLE, "nothing read before %s",
                       l.interrupted ? "the interrupt" : "the timeout");
    else
        rc = 0;
out:
    if (ev_timeout)
        event_free(ev_timeout);
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    device_manager_free(m);
    event_base_free(l.base);
    return rc;
}

/* One rule per configured USB device, each VID:PID once. */
static int ctl_device_udev_rules(struct ctl *c)
{
    size_t i, j;
    int dup;

    if (!c->have_config)
        return ctl_usagef(udev_syn, "device udev-rules needs --config FILE");
    printf("# examsite: the USB devices of %s, for the examsite group\n",
           c->cfg.file);
    for (i = 0; i < c->cfg.ndevices; i++) {
        const struct config_device *d = &c->cfg.devices[i];
        if (d->transport != TRANSPORT_USB)
            continue;
        for (dup = 0, j = 0; j < i; j++)
            dup |= c->cfg.devices[j].transport == TRANSPORT_USB &&
                   c->cfg.devices[j].vid == d->vid &&
                   c->cfg.devices[j].pid == d->pid;
        if (dup)
            continue;
        printf("# [device %s] %s, room %s\n", d->name,
               d->type == DEVTYPE_IDCARD ? "ID-card reader" : "scanner",
               d->room);
        printf("SUBSYSTEM==\"usb\", ENV{DEVTYPE}==\"usb_device\", "
               "ATTR{idVendor}==\"%04x\", ATTR{idProduct}==\"%04x\", "
               "GROUP=\"examsite\", MODE=\"0660\"\n",
               d->vid, d->pid);
    }
    return 0;
}

int ctl_device(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        printf("%s\n", ctl_device_usage);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(NULL, "device needs listen or udev-rules");
    if (strcmp(argv[1], "udev-rules") == 0) {
        if (argc != 2)
            return ctl_usagef(udev_syn,
                              "device udev-rules takes no arguments, not '%s'",
                              argv[2]);
        return ctl_device_udev_rules(c);
    }
    if (strcmp(argv[1], "listen") != 0)
        return ctl_usagef(NULL, "unknown device subcommand '%s'", argv[1]);
    return ctl_device_listen(argc - 1, argv + 1);
}
