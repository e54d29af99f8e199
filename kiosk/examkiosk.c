/*
 * examkiosk: the screen at an exam room's door (docs/examkiosk.1).  An
 * unprivileged client of examsited's control socket, in the kiosk group:
 * it reads its room's state and stream and shows, full screen, the last
 * decision (green: go in, amber: go in with a warning, red: why not), the
 * room's counts, the last check-ins and whether the devices and the
 * daemon are there.  It changes nothing.
 *
 * One loop (libevent) owns the socket, the keyboard, the clock, the
 * signals.  It reads the socket as fast as lines come and draws only when
 * something changed, so the daemon never waits for it; if the terminal
 * stalls the kiosk, the daemon drops it and it catches up when it runs
 * again (since = the last event it showed).
 */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <event2/event.h>

#include "config.h"
#include "link.h"
#include "log.h"
#include "model.h"
#include "number.h"
#include "screen.h"
#include "sitetime.h"

#define HOLD_DEFAULT_S 6
#define REFRESH_MS     300 /* a refresh waits for a burst to pass */
#define SEATS_IDLE_S   120 /* the seats view goes back on its own */

static const char usage_text[] =
    "usage: examkiosk (--config FILE | --socket PATH) --room ROOM\n"
    "                 [--hold SECONDS] [--no-bell] [--monochrome]\n"
    "  --config FILE    the station's configuration (its [control] socket\n"
    "                   and [site] timezone); default $EXAMSITE_CONFIG,\n"
    "                   then " CONFIG_DEFAULT_PATH "\n"
    "  --socket PATH    examsited's control socket instead of --config\n"
    "  --room ROOM      the room this screen stands at (required)\n"
    "  --hold SECONDS   how long a decision stays up (1-60, default 6)\n"
    "  --no-bell        no bell on a refusal\n"
    "  --monochrome     no colour, whatever the terminal can do\n"
    "  --help           this text\n"
    "Keys: s toggles the supervisor's seat view (arrows, PgUp, PgDn to\n"
    "scroll); q does nothing: a kiosk is not left from its keyboard.\n";

struct kiosk {
    struct event_base *base;
    struct link *link;
    struct model model;
    enum screen_view view;
    int scroll, max_scroll;
    int64_t hold_ms;
    int bell;
    time_t seats_since; /* last key in the seats view */
    char zone[65];
    struct event *ev_tick, *ev_stdin, *ev_refresh;
    struct event *ev_winch, *ev_term, *ev_int, *ev_hup;
};

static int64_t now_ms(void)
{
    return sitetime_now_ms();
}

static void redraw(struct kiosk *k)
{
    k->max_scroll = screen_draw(&k->model, k->view, k->scroll, time(NULL));
    if (k->scroll > k->max_scroll)
        k->scroll = k->max_scroll;
}

static void refresh_soon(struct kiosk *k)
{
    struct timeval tv = {0, REFRESH_MS * 1000};

    if (!evtimer_pending(k->ev_refresh, NULL))
        evtimer_add(k->ev_refresh, &tv);
}

/* --- the link's callbacks ---------------------------------------------- */

static void state_cb(void *arg, json_t *st)
{
    struct kiosk *k = arg;
    char zone[65];
    struct err e;

    /* the site's zone first: the state's times are shown in it */
    model_copy(zone, sizeof(zone), json_object_get(st, "timezone"));
    if (zone[0] && strcmp(zone, k->zone) != 0 &&
        sitetime_set_zone(zone, &e) == 0)
        snprintf(k->zone, sizeof(k->zone), "%s", zone);
    if (model_load_state(&k->model, st) == -1) {
        log_warnx("room.state: not a room state; ignored");
        return;
    }
    redraw(k);
}

static void up_cb(void *arg)
{
    struct kiosk *k = arg;

    if (!k->model.connected)
        log_info("connected to examsited (room %s)", k->model.room);
    model_set_connected(&k->model, 1, "");
    redraw(k);
}

static void down_cb(void *arg, const char *why)
{
    struct kiosk *k = arg;

    if (k->model.connected)
        log_warnx("lost examsited: %s", why);
    model_set_connected(&k->model, 0, why);
    k->view = VIEW_MAIN;
    redraw(k);
}

static void message_cb(void *arg, json_t *msg)
{
    struct kiosk *k = arg;
    int rc = model_apply(&k->model, msg, now_ms(), k->hold_ms);

    if (rc & MODEL_DECISION)
        k->view = VIEW_MAIN; /* the queue must see it */
    if ((rc & MODEL_REFUSAL) && k->bell)
        screen_bell();
    if (rc & MODEL_REFRESH)
        refresh_soon(k);
    if (rc & (MODEL_CHANGED | MODEL_DECISION))
        redraw(k);
}

static int64_t since_cb(void *arg)
{
    struct kiosk *k = arg;

    return k->model.last_id;
}

/* --- the loop's other events ---------------------------------------------- */

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kiosk *k = arg;

    (void)fd;
    (void)what;
    link_refresh(k->link);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kiosk *k = arg;

    (void)fd;
    (void)what;
    model_expire(&k->model, now_ms(), k->hold_ms);
    if (k->view == VIEW_SEATS && time(NULL) - k->seats_since > SEATS_IDLE_S)
        k->view = VIEW_MAIN;
    redraw(k); /* the clock */
}

static void resize(struct kiosk *k)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        screen_resize(ws.ws_row, ws.ws_col);
    clearok(curscr, TRUE);
    redraw(k);
}

static void key(struct kiosk *k, wint_t c, int is_key)
{
    int page = LINES - 3 > 1 ? LINES - 3 : 1;

    if (is_key && c == KEY_RESIZE) {
        resize(k);
        return;
    }
    if (!is_key && (c == 's' || c == 'S')) {
        k->view = k->view == VIEW_MAIN ? VIEW_SEATS : VIEW_MAIN;
        k->scroll = 0;
    } else if (!is_key && c == 12) { /* ^L */
        clearok(curscr, TRUE);
    } else if (k->view == VIEW_SEATS) {
        if (!is_key && c == 27)
            k->view = VIEW_MAIN;
        else if ((is_key && c == KEY_UP) || (!is_key && c == 'k'))
            k->scroll--;
        else if ((is_key && c == KEY_DOWN) || (!is_key && c == 'j'))
            k->scroll++;
        else if (is_key && c == KEY_PPAGE)
            k->scroll -= page;
        else if ((is_key && c == KEY_NPAGE) || (!is_key && c == ' '))
            k->scroll += page;
        else if (is_key && c == KEY_HOME)
            k->scroll = 0;
        else if (is_key && c == KEY_END)
            k->scroll = k->max_scroll;
        if (k->scroll < 0)
            k->scroll = 0;
        if (k->scroll > k->max_scroll)
            k->scroll = k->max_scroll;
    }
    /* q, and everything else, does nothing: the kiosk stays up */
    k->seats_since = time(NULL);
    redraw(k);
}

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kiosk *k = arg;
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    int n = 0, rc;
    wint_t c;

    (void)fd;
    (void)what;
    while ((rc = get_wch(&c)) != ERR && n < 64) {
        key(k, c, rc == KEY_CODE_YES);
        n++;
    }
    /* Readable but nothing to read: the terminal has gone away. */
    if (n == 0 && poll(&pfd, 1, 0) == 1 &&
        (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
        log_warnx("the terminal went away; stopping");
        event_base_loopbreak(k->base);
    }
}

static void winch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    resize(arg);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kiosk *k = arg;

    (void)fd;
    (void)what;
    event_base_loopbreak(k->base);
}

/* --- setup ---------------------------------------------------------------- */

static int room_valid(const char *room)
{
    size_t n = strlen(room), i;

    if (n == 0 || n > 16)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)room[i] < 0x20 || room[i] == 0x7f)
            return 0;
    return 1;
}

static void utf8_locale(void)
{
    setlocale(LC_ALL, "");
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8"); /* Chinese needs it, whatever LANG */
}

static int kiosk_events(struct kiosk *k)
{
    struct timeval sec = {1, 0};

    k->ev_tick = event_new(k->base, -1, EV_PERSIST, tick_cb, k);
    k->ev_stdin =
        event_new(k->base, STDIN_FILENO, EV_READ | EV_PERSIST, stdin_cb, k);
    k->ev_refresh = evtimer_new(k->base, refresh_cb, k);
    k->ev_winch = evsignal_new(k->base, SIGWINCH, winch_cb, k);
    k->ev_term = evsignal_new(k->base, SIGTERM, stop_cb, k);
    k->ev_int = evsignal_new(k->base, SIGINT, stop_cb, k);
    k->ev_hup = evsignal_new(k->base, SIGHUP, stop_cb, k);
    if (k->ev_tick == NULL || k->ev_stdin == NULL || k->ev_refresh == NULL ||
        k->ev_winch == NULL || k->ev_term == NULL || k->ev_int == NULL ||
        k->ev_hup == NULL)
        return -1;
    event_add(k->ev_tick, &sec);
    event_add(k->ev_stdin, NULL);
    event_add(k->ev_winch, NULL);
    event_add(k->ev_term, NULL);
    event_add(k->ev_int, NULL);
    event_add(k->ev_hup, NULL);
    return 0;
}

static void kiosk_free(struct kiosk *k)
{
    struct event *evs[] = {k->ev_hup,     k->ev_int,   k->ev_term, k->ev_winch,
                           k->ev_refresh, k->ev_stdin, k->ev_tick};
    size_t i;

    link_free(k->link);
    for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    model_free(&k->model);
    if (k->base != NULL)
        event_base_free(k->base);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 'S'},
        {"room", required_argument, NULL, 'r'},
        {"hold", required_argument, NULL, 'H'},
        {"no-bell", no_argument, NULL, 'b'},
        {"monochrome", no_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *socket_path = NULL, *room = NULL;
    struct screen_opts so = {0};
    struct link_cb cb = {state_cb, up_cb, down_cb, message_cb, since_cb, NULL};
    struct kiosk k;
    struct config cfg;
    struct err e;
    long long hold = HOLD_DEFAULT_S;
    int c, rc = 0;

    memset(&k, 0, sizeof(k));
    k.bell = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'S':
            socket_path = optarg;
            break;
        case 'r':
            room = optarg;
            break;
        case 'H':
            if (number_parse(optarg, 1, 60, &hold) == -1) {
                fprintf(stderr, "examkiosk: --hold: 1 to 60 seconds\n");
                return EX_USAGE;
            }
            break;
        case 'b':
            k.bell = 0;
            break;
        case 'm':
            so.monochrome = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc || room == NULL || (config_path && socket_path)) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    if (!room_valid(room)) {
        fprintf(stderr, "examkiosk: --room: 1-16 bytes, no control "
                        "characters\n");
        return EX_USAGE;
    }
    if (socket_path == NULL && config_path == NULL)
        socket_path = getenv("EXAMSITE_SOCKET");
    if (socket_path == NULL) {
        if (config_path == NULL)
            config_path = getenv("EXAMSITE_CONFIG");
        if (config_path == NULL)
            config_path = CONFIG_DEFAULT_PATH;
        if (config_load(config_path, &cfg, &e) == -1) {
            fprintf(stderr, "examkiosk: %s\n", e.msg);
            return e.code ? e.code : EX_CONFIG;
        }
        socket_path = cfg.control.socket;
        if (sitetime_set_zone(cfg.site.timezone, &e) == 0)
            snprintf(k.zone, sizeof(k.zone), "%s", cfg.site.timezone);
    } else if (sitetime_set_zone(SITETIME_DEFAULT_ZONE, &e) == 0) {
        snprintf(k.zone, sizeof(k.zone), "%s", SITETIME_DEFAULT_ZONE);
    }
    utf8_locale();
    log_init("examkiosk", 0, LOG_LVL_INFO); /* the terminal is the screen */
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    k.hold_ms = hold * 1000;
    if (model_init(&k.model, room) == -1 ||
        (k.base = event_base_new()) == NULL) {
        fprintf(stderr, "examkiosk: out of memory\n");
        kiosk_free(&k);
        return EX_OSERR;
    }
    if (screen_init(&so) == -1) {
        fprintf(stderr, "examkiosk: cannot use this terminal\n");
        kiosk_free(&k);
        return EX_UNAVAILABLE;
    }
    cb.arg = &k;
    if (kiosk_events(&k) == -1 ||
        (k.link = link_new(k.base, socket_path, room, &cb, &e)) == NULL) {
        screen_end();
        fprintf(stderr, "examkiosk: %s\n",
                k.ev_tick ? e.msg : "cannot set up its events");
        kiosk_free(&k);
        return EX_OSERR;
    }
    redraw(&k);
    if (event_base_dispatch(k.base) == -1)
        rc = EX_SOFTWARE;
    screen_end();
    kiosk_free(&k);
    return rc;
}
