/*
 * examsited: the check-in daemon.  One thread, one libevent loop owning the
 * devices, the timers, the signals, the control socket and the database.
 * This file sets it all up, reloads on SIGHUP, stops on SIGTERM, and keeps
 * systemd informed (READY=1, STATUS=, WATCHDOG=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "checkin.h"
#include "control.h"
#include "daemon.h"
#include "device.h"
#include "event.h"
#include "log.h"
#include "refdigest.h"
#include "schedule.h"
#include "sitetime.h"
#include "store.h"
#include "sync.h"

static const char usage_text[] = "usage: examsited --config FILE "
                                 "[--foreground] [--check-config] [--debug]\n";

void daemon_status(struct daemon *d, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    (void)d;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", buf);
}

int daemon_serves_room(const struct daemon *d, const char *room)
{
    size_t i;

    for (i = 0; i < d->cfg.ndevices; i++)
        if (strcmp(d->cfg.devices[i].room, room) == 0)
            return 1;
    return 0;
}

/*
 * The WAL is checkpointed after a decision has been published, never inside
 * its commit: when the station goes quiet, or at once when the WAL has
 * grown past CHECKPOINT_PAGES (so it is reused, not grown: a growing file
 * costs every commit a metadata write).
 */
#define CHECKPOINT_IDLE_S 2
#define CHECKPOINT_PAGES  1000

static void checkpoint_cb(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    struct err e;

    (void)fd;
    (void)what;
    if (store_checkpoint(d->store, &e) == -1)
        log_warnx("%s", e.msg);
}

void daemon_published(struct daemon *d, const struct event *ev)
{
    struct timeval tv = {CHECKPOINT_IDLE_S, 0};
    json_t *j = event_to_json(ev), *msg;

    if (d->ev_checkpoint != NULL)
        evtimer_add(d->ev_checkpoint, &tv); /* re-armed by every commit */

    if (j == NULL)
        return;
    msg = json_pack("{s:s, s:o}", "type", "event", "event", j);
    control_broadcast(d->control, ev->room, msg);
    json_decref(msg);
    if (store_wal_pages(d->store) >= CHECKPOINT_PAGES)
        checkpoint_cb(-1, 0, d);
}

void daemon_notice(struct daemon *d, const char *room, const char *type,
                   const char *zh, const char *en)
{
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "notice",
                            "room", room ? room : "", "notice", type,
                            "message_zh", zh, "message_en", en);

    control_broadcast(d->control, room, msg);
    json_decref(msg);
}

/* device.attached / device.detached / device.error as events. */
static void record_device(struct daemon *d, const struct device_event *dev,
                          const char *kind)
{
    struct event ev;
    struct err e;
    char *payload;
    json_t *j;

    j = json_pack("{s:s, s:s}", "type",
                  dev->config->type == DEVTYPE_IDCARD ? "idcard" : "scanner",
                  "reason", dev->reason ? dev->reason : "");
    payload = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (payload == NULL)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.room = dev->config->room;
    ev.device = dev->device;
    ev.payload = payload;
    ev.time_ms = clock_ms(&d->clock);
    if (store_begin(d->store, &e) == -1 ||
        event_append(d->store, &ev, &e) == -1 ||
        store_commit(d->store, &e) == -1) {
        store_rollback(d->store);
        log_warnx("%s: %s not recorded: %s", dev->device, kind, e.msg);
    } else {
        daemon_published(d, &ev);
    }
    event_release(&ev);
    free(payload);
}

/* Device health for `examctl devices`: when it last read something. */
static void note_read(struct daemon *d, const char *device)
{
    size_t i;

    for (i = 0; i < d->cfg.ndevices; i++)
        if (strcmp(d->cfg.devices[i].name, device) == 0)
            d->last_read_ms[i] = clock_ms(&d->clock);
}

static void device_cb(const struct device_event *ev, void *arg)
{
    struct daemon *d = arg;

    switch (ev->type) {
    case DEVICE_CARD_READ:
        note_read(d, ev->device);
        checkin_card(d->checkin, ev->device, ev->config->room, ev->card);
        break;
    case DEVICE_CODE_SCANNED:
        note_read(d, ev->device);
        checkin_code(d->checkin, ev->device, ev->config->room, ev->code,
                     ev->code_len);
        break;
    case DEVICE_CARD_REMOVED:
        checkin_card_removed(d->checkin, ev->device);
        break;
    case DEVICE_ATTACHED:
        log_info("%s attached (%s)", ev->device, ev->reason ? ev->reason : "");
        record_device(d, ev, "device.attached");
        break;
    case DEVICE_DETACHED:
        log_warnx("%s detached: %s", ev->device, ev->reason ? ev->reason : "");
        record_device(d, ev, "device.detached");
        daemon_notice(d, ev->config->room, "error",
                      "设备已断开，请联系技术人员",
                      "A device was unplugged: call the technician");
        break;
    case DEVICE_ERROR:
        log_warnx("%s: %s", ev->device, ev->reason ? ev->reason : "error");
        if (ev->config->type == DEVTYPE_SCANNER)
            daemon_notice(d, ev->config->room, "error",
                          "扫描失败，请重新扫描准考证",
                          "Scan failed: please scan again");
        else
            daemon_notice(d, ev->config->room, "error",
                          "读卡失败，请重新放置证件",
                          "Read failed: place the card again");
        break;
    }
}

/* The narrow interfaces the rules get from the manager. */
static void published_cb(void *arg, const struct event *ev)
{
    daemon_published(arg, ev);
}

static void notice_cb(void *arg, const char *room, const char *type,
                      const char *zh, const char *en)
{
    daemon_notice(arg, room, type, zh, en);
}

static void polling_cb(void *arg, const char *room, int on)
{
    struct daemon *d = arg;
    size_t i;

    for (i = 0; i < d->cfg.ndevices; i++)
        if (strcmp(d->cfg.devices[i].room, room) == 0 &&
            d->cfg.devices[i].type == DEVTYPE_IDCARD && d->devices != NULL)
            device_manager_set_polling(d->devices, d->cfg.devices[i].name, on);
}

static void sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;

    (void)what;
    log_info("signal %d: stopping", (int)sig);
    sd_notify(0, "STOPPING=1");
    event_base_loopexit(d->base, NULL);
}

/* Reload: the new configuration replaces the live one only if it parses. */
static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    struct config *fresh;
    struct device_manager *dm;
    struct err e;

    (void)sig;
    (void)what;
    sd_notify(0, "RELOADING=1");
    if ((fresh = malloc(sizeof(*fresh))) == NULL ||
        config_load(d->config_path, fresh, &e) == -1) {
        log_warnx("reload refused, keeping the running configuration: %s",
                  fresh ? e.msg : "out of memory");
        free(fresh);
        sd_notify(0, "READY=1");
        return;
    }
    if (strcmp(fresh->site.database, d->cfg.site.database) != 0 ||
        strcmp(fresh->control.socket, d->cfg.control.socket) != 0)
        log_warnx("reload: database and socket changes take effect at restart");
    snprintf(fresh->site.database, sizeof(fresh->site.database), "%s",
             d->cfg.site.database);
    snprintf(fresh->control.socket, sizeof(fresh->control.socket), "%s",
             d->cfg.control.socket);
    device_manager_free(d->devices);
    d->devices = NULL;
    d->cfg = *fresh;
    free(fresh);
    memset(d->last_read_ms, 0, sizeof(d->last_read_ms));
    checkin_reset(d->checkin);
    control_groups_refresh(d->control);
    if ((dm = device_manager_new(d->base, d->cfg.devices, d->cfg.ndevices,
                                 device_cb, d, &e)) == NULL)
        log_warnx("reload: devices: %s", e.msg);
    d->devices = dm;
    schedule_replan(d->schedule);
    sync_replan(d->sync);
    log_info("configuration reloaded: %zu devices, policy %s", d->cfg.ndevices,
             config_policy_name(d->cfg.policy.mode));
    sd_notify(0, "READY=1");
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sd_notify(0, "WATCHDOG=1");
}

/*
 * One daemon per database: an open-file-description lock on DATABASE.lock,
 * taken before the devices, the socket or the database are touched, and
 * held until exit.  A second daemon names the holder and leaves.
 */
static int daemon_lock(struct daemon *d, struct err *e)
{
    char path[CONFIG_STR + 8], pid[32] = "";
    struct flock fl;
    ssize_t n;

    snprintf(path, sizeof(path), "%s.lock", d->cfg.site.database);
    if ((d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1)
        return err_errno(e, EX_CANTCREAT, "lock file %s", path);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(d->lockfd, F_OFD_SETLK, &fl) == -1) {
        int saved = errno;
        if ((n = pread(d->lockfd, pid, sizeof(pid) - 1, 0)) > 0)
            pid[n] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(d->lockfd);
        d->lockfd = -1;
        if (saved == EAGAIN || saved == EACCES)
            return err_set(e, EX_TEMPFAIL,
                           "another examsited (pid %s) already runs on %s",
                           pid[0] ? pid : "?", d->cfg.site.database);
        errno = saved;
        return err_errno(e, EX_OSERR, "lock file %s", path);
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(d->lockfd, 0) == -1 ||
        pwrite(d->lockfd, pid, (size_t)n, 0) != n)
        log_warn("lock file %s: cannot write the pid", path);
    return 0;
}

static int daemon_open(struct daemon *d, struct err *e)
{
    char secret_path[CONFIG_STR + 16];
    int rc;

    if (sitetime_set_zone(d->cfg.site.timezone, e) == -1)
        return -1;
    if (store_open(&d->store, d->cfg.site.database, 0, e) == -1)
        return -1;
    if ((rc = site_get(d->store, &d->site, e)) != 1)
        return rc == -1 ? -1
                        : err_set(e, EX_NOINPUT,
                                  "%s has no site: run 'examctl init'",
                                  d->cfg.site.database);
    if (strcmp(d->site.id, d->cfg.site.id) != 0)
        return err_set(
            e, EX_CONFIG,
            "the database belongs to site %s, the configuration says %s",
            d->site.id, d->cfg.site.id);
    if (sitetime_set_zone(d->site.timezone, e) == -1)
        return -1;
    {
        char warn[2 * CONFIG_STR + 256];
        if (config_site_mismatch(&d->cfg, d->site.station, d->site.timezone,
                                 warn, sizeof(warn)))
            log_warnx("%s", warn);
    }
    config_secret_path(d->cfg.site.database, d->cfg.site.secret_file,
                       secret_path, sizeof(secret_path));
    if (secret_load(secret_path, &d->secret, e) == -1)
        return -1;
    /* Refuse to run rather than fail every candidate at the door: a
     * damaged last event (nothing could be appended), roster tables
     * edited outside the record, a secret that is not this site's. */
    if (event_check_head(d->store, e) == -1 ||
        refdigest_check(d->store, e) == -1 ||
        site_secret_check(d->store, &d->secret, e) == -1) {
        err_prefix(e, "%s", d->cfg.site.database);
        return -1;
    }
    return 0;
}

static int daemon_start(struct daemon *d, struct err *e)
{
    uint64_t usec = 0;

    struct checkin_env ce;
    struct schedule_env se;
    struct sync_env ye;

    /* The last card and the secret must not land in a core dump. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
        log_warn("prctl(PR_SET_DUMPABLE)");
    if ((d->base = event_base_new()) == NULL)
        return err_set(e, EX_OSERR, "event_base_new failed");
    if (daemon_lock(d, e) == -1 || daemon_open(d, e) == -1)
        return -1;
    /* From here on the loop runs: it never waits for another process's
     * lock (checkin.c queues, ops reply 75, the schedule looks again). */
    store_set_busy_timeout(d->store, 0);
    if (store_autocheckpoint(d->store, 0, e) == -1 ||
        (d->ev_checkpoint = evtimer_new(d->base, checkpoint_cb, d)) == NULL)
        return -1;
    memset(&ce, 0, sizeof(ce));
    ce.store = d->store;
    ce.base = d->base;
    ce.clock = &d->clock;
    ce.cfg = &d->cfg;
    ce.published = published_cb;
    ce.notice = notice_cb;
    ce.arg = d;
    memset(&se, 0, sizeof(se));
    se.store = d->store;
    se.base = d->base;
    se.clock = &d->clock;
    se.cfg = &d->cfg;
    se.set_polling = polling_cb;
    se.published = published_cb;
    se.arg = d;
    if ((d->checkin = checkin_new(&ce, d->secret.key, sizeof(d->secret.key),
                                  e)) == NULL ||
        (d->schedule = schedule_new(&se, e)) == NULL ||
        (d->control = control_new(d, e)) == NULL)
        return -1;
    memset(&ye, 0, sizeof(ye));
    ye.store = d->store;
    ye.base = d->base;
    ye.clock = &d->clock;
    ye.cfg = &d->cfg;
    ye.site = d->site.id;
    ye.station = d->site.station;
    if ((d->sync = sync_new(&ye, e)) == NULL)
        return -1;
    d->ev_sigterm = evsignal_new(d->base, SIGTERM, sigterm_cb, d);
    d->ev_sigint = evsignal_new(d->base, SIGINT, sigterm_cb, d);
    d->ev_sighup = evsignal_new(d->base, SIGHUP, sighup_cb, d);
    if (!d->ev_sigterm || !d->ev_sigint || !d->ev_sighup ||
        evsignal_add(d->ev_sigterm, NULL) || evsignal_add(d->ev_sigint, NULL) ||
        evsignal_add(d->ev_sighup, NULL))
        return err_set(e, EX_OSERR, "signals");
    signal(SIGPIPE, SIG_IGN);
    if ((d->devices = device_manager_new(d->base, d->cfg.devices,
                                         d->cfg.ndevices, device_cb, d, e)) ==
        NULL)
        return -1;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        struct timeval tv = {(time_t)(usec / 2000000),
                             (suseconds_t)(usec / 2 % 1000000)};
        d->ev_watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
        if (d->ev_watchdog == NULL || event_add(d->ev_watchdog, &tv) == -1)
            return err_set(e, EX_OSERR, "watchdog timer");
    }
    schedule_replan(d->schedule);
    return 0;
}

/* Freed USB devices give back their cancelled transfers through the
 * loop: let it run for them, a second at most, before it goes. */
static void usb_drain(struct daemon *d)
{
    struct timeval tick = {0, 50000};
    int i;

    for (i = 0; d->base != NULL && device_usb_draining() > 0 && i < 20; i++) {
        event_base_loopexit(d->base, &tick);
        event_base_dispatch(d->base);
    }
}

static void daemon_stop(struct daemon *d)
{
    if (d->ev_watchdog)
        event_free(d->ev_watchdog);
    if (d->ev_sighup)
        event_free(d->ev_sighup);
    if (d->ev_sigint)
        event_free(d->ev_sigint);
    if (d->ev_sigterm)
        event_free(d->ev_sigterm);
    device_manager_free(d->devices);
    usb_drain(d);
    if (d->ev_checkpoint) {
        if (d->store)
            store_checkpoint(d->store, NULL);
        event_free(d->ev_checkpoint);
    }
    sync_free(d->sync);
    control_free(d->control);
    schedule_free(d->schedule);
    checkin_free(d->checkin);
    store_close(d->store);
    secret_wipe(&d->secret);
    if (d->base)
        event_base_free(d->base);
    if (d->lockfd > 0)
        close(d->lockfd); /* the lock goes with it */
}

/* --check-config: what the database says, when it can be read (the
 * configuration is checked whether or not it can). */
static void check_against_database(const struct config *cfg)
{
    char warn[2 * CONFIG_STR + 256];
    struct store *st;
    struct site site;
    struct err e;

    if (store_open(&st, cfg->site.database, STORE_READONLY, &e) == -1) {
        log_warnx("%s (the configuration itself is checked)", e.msg);
        return;
    }
    if (site_get(st, &site, &e) == 1) {
        if (strcmp(site.id, cfg->site.id) != 0)
            log_warnx("%s: the database belongs to site %s, the "
                      "configuration says %s",
                      cfg->file, site.id, cfg->site.id);
        if (config_site_mismatch(cfg, site.station, site.timezone, warn,
                                 sizeof(warn)))
            log_warnx("%s", warn);
    }
    store_close(st);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"check-config", no_argument, NULL, 'n'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct daemon d;
    int ch, check = 0, debug = 0;
    struct err e;

    while ((ch = getopt_long(argc, argv, "c:fndh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            d.config_path = optarg;
            break;
        case 'f':
            d.foreground = 1;
            break;
        case 'n':
            check = 1;
            break;
        case 'd':
            debug = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return EX_USAGE;
        }
    }
    if (d.config_path == NULL || optind != argc) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    log_init("examsited", d.foreground || check || isatty(STDERR_FILENO),
             debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    if (config_load(d.config_path, &d.cfg, &e) == -1) {
        log_warnx("%s", e.msg);
        return e.code;
    }
    if (check) {
        check_against_database(&d.cfg);
        printf("%s: configuration OK: site %s, station %s, %zu devices, policy "
               "%s\n",
               d.config_path, d.cfg.site.id, d.cfg.site.station, d.cfg.ndevices,
               config_policy_name(d.cfg.policy.mode));
        return 0;
    }
    if (daemon_start(&d, &e) == -1) {
        log_warnx("%s", e.msg);
        daemon_stop(&d);
        return e.code ? e.code : EX_SOFTWARE;
    }
    log_info("ready: site %s station %s, %zu devices, policy %s, socket %s",
             d.site.id, d.site.station, d.cfg.ndevices,
             config_policy_name(d.cfg.policy.mode), d.cfg.control.socket);
    sd_notify(0, "READY=1");
    daemon_status(&d, "ready: %zu devices", d.cfg.ndevices);
    event_base_dispatch(d.base);
    daemon_stop(&d);
    log_info("stopped");
    return 0;
}
