/*
 * daemon.h: the one context struct of examsited.  It owns every event
 * source (signals, timers, the control socket, the devices) and is the
 * argument of every callback; there are no other globals.
 */
#ifndef EXAMSITE_DAEMON_H
#define EXAMSITE_DAEMON_H

#include <stdint.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "secret.h"
#include "site.h"

struct store;
struct control;
struct device_manager;
struct schedule;
struct checkin;
struct sync;
struct event;

struct daemon {
    struct event_base *base;
    struct clock clock; /* the rules' wall clock: the system's */
    int lockfd;         /* DATABASE.lock, held while running */
    struct config cfg;
    const char *config_path;
    int foreground;
    struct store *store;
    struct secret secret;
    struct site site;
    struct control *control;
    struct device_manager *devices;
    struct schedule *schedule;
    struct checkin *checkin;
    struct sync *sync; /* the nightly sync to the office */
    struct event *ev_sigterm, *ev_sigint, *ev_sighup, *ev_watchdog;
    struct event *ev_checkpoint; /* one-shot, after the last commit */
    uint64_t watchdog_usec;
    uint64_t decisions; /* since start, for STATUS= */
    /* When each configured device last gave a card or a code, ms or 0. */
    int64_t last_read_ms[CONFIG_MAX_DEVICES];
};

/*
 * Every committed event goes through here, and only after its transaction
 * committed: it is streamed to the subscribers.
 */
void daemon_published(struct daemon *d, const struct event *ev);

/*
 * A message for the kiosks of room that decides nothing and is not
 * recorded: "now scan your ticket", "system fault".  type is "pending",
 * "hint" or "error".
 */
void daemon_notice(struct daemon *d, const char *room, const char *type,
                   const char *zh, const char *en);

/* Tell systemd a one-line status (no-op without NOTIFY_SOCKET). */
void daemon_status(struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The rooms this station serves (those of its configured devices). */
int daemon_serves_room(const struct daemon *d, const char *room);

#endif
