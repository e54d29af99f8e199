/*
 * link.c: the kiosk's client of the control socket (link.h).
 *
 *   connect ─> role.drop kiosk ─> (reply) ─> room.state ─> (reply)
 *      ^                            ─> subscribe since ─> (reply) ─> stream
 *      │                                                             │
 *      └────────── backoff timer <── EOF, error, refused reply <─────┘
 *
 * The first request asks to be served as a kiosk whoever started the
 * screen (an administrator's account would otherwise get whole tickets
 * and ID digits on a screen that faces the queue).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "link.h"
#include "log.h"

enum link_phase {
    PH_IDLE,
    PH_CONNECTING,
    PH_ROLE,
    PH_STATE,
    PH_SUBSCRIBE,
    PH_STREAM
};

struct link {
    struct event_base *base;
    struct sockaddr_un sun;
    char room[17];
    struct link_cb cb;
    struct bufferevent *bev;
    struct event *ev_retry;
    enum link_phase phase;
    int skipping; /* inside a line that is too long: drop to its newline */
    int backoff_ms;
    unsigned long dropped;
};

static void link_connect(struct link *l);

unsigned long link_dropped(const struct link *l)
{
    return l->dropped;
}

static void link_close(struct link *l)
{
    if (l->bev != NULL)
        bufferevent_free(l->bev);
    l->bev = NULL;
    l->phase = PH_IDLE;
    l->skipping = 0;
}

/* The connection failed: say so once, try again after the backoff. */
static void link_lost(struct link *l, const char *why)
{
    struct timeval tv;
    int ms = l->backoff_ms;

    link_close(l);
    l->cb.down(l->cb.arg, why);
    ms = ms / 2 + (int)(random() % (ms / 2 + 1)); /* jitter: 50..100 % */
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(l->ev_retry, &tv);
    l->backoff_ms *= 2;
    if (l->backoff_ms > LINK_BACKOFF_MAX_MS)
        l->backoff_ms = LINK_BACKOFF_MAX_MS;
}

static int link_send(struct link *l, json_t *req)
{
    char *s = json_dumps(req, JSON_COMPACT);
    int rc = -1;

    json_decref(req);
    if (s != NULL && bufferevent_write(l->bev, s, strlen(s)) == 0 &&
        bufferevent_write(l->bev, "\n", 1) == 0)
        rc = 0;
    free(s);
    return rc;
}

/* A reply to our request: ok, or the daemon said no (logged once). */
static int reply_ok(json_t *j, const char *op)
{
    const char *msg;

    if (json_is_true(json_object_get(j, "ok")))
        return 1;
    msg = json_string_value(json_object_get(j, "error"));
    log_warnx("%s refused: %s", op, msg ? msg : "(no reason given)");
    return 0;
}

static void handle_line(struct link *l, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!json_is_object(j)) {
        l->dropped++;
        json_decref(j);
        return;
    }
    switch (l->phase) {
    case PH_ROLE:
        if (!json_is_boolean(json_object_get(j, "ok"))) {
            l->dropped++;
            break;
        }
        if (!reply_ok(j, "role.drop")) {
            json_decref(j);
            link_lost(l, "refused: role.drop");
            return;
        }
        l->phase = PH_STATE;
        if (link_send(l, json_pack("{s:s, s:s}", "op", "room.state", "room",
                                   l->room)) == -1) {
            json_decref(j);
            link_lost(l, "cannot write to the daemon");
            return;
        }
        break;
    case PH_STATE:
        if (!json_is_boolean(json_object_get(j, "ok"))) {
            l->dropped++; /* not a reply: a stream line cannot come yet */
            break;
        }
        if (!reply_ok(j, "room.state")) {
            const char *msg = json_string_value(json_object_get(j, "error"));
            char why[160];
            snprintf(why, sizeof(why), "refused: %s", msg ? msg : "?");
            json_decref(j);
            link_lost(l, why);
            return;
        }
        l->cb.state(l->cb.arg, j);
        l->phase = PH_SUBSCRIBE;
        if (link_send(l, json_pack("{s:s, s:s, s:I}", "op", "subscribe", "room",
                                   l->room, "since",
                                   (json_int_t)l->cb.since(l->cb.arg))) == -1) {
            json_decref(j);
            link_lost(l, "cannot write to the daemon");
            return;
        }
        break;
    case PH_SUBSCRIBE:
        if (!json_is_boolean(json_object_get(j, "ok"))) {
            l->dropped++;
            break;
        }
        if (!reply_ok(j, "subscribe")) {
            json_decref(j);
            link_lost(l, "refused: subscribe");
            return;
        }
        l->phase = PH_STREAM;
        l->backoff_ms = LINK_BACKOFF_MIN_MS;
        l->cb.up(l->cb.arg);
        break;
    case PH_STREAM:
        l->cb.message(l->cb.arg, j);
        break;
    default:
        l->dropped++;
        break;
    }
    json_decref(j);
}

/*
 * Whole lines only, each at most LINK_LINE_MAX; a longer one is dropped
 * as it streams in (never buffered whole), up to its newline.
 */
static void read_cb(struct bufferevent *bev, void *arg)
{
    struct link *l = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr eol;
    size_t len;
    char *line;

    while (l->bev == bev) {
        eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        if (eol.pos == -1) {
            len = evbuffer_get_length(in);
            if (len > LINK_LINE_MAX || (l->skipping && len > 0)) {
                if (!l->skipping)
                    l->dropped++;
                l->skipping = 1;
                evbuffer_drain(in, len);
            }
            return;
        }
        len = (size_t)eol.pos;
        if (l->skipping || len > LINK_LINE_MAX) {
            if (!l->skipping)
                l->dropped++;
            l->skipping = 0;
            evbuffer_drain(in, len + 1);
            continue;
        }
        if ((line = malloc(len + 1)) == NULL) {
            evbuffer_drain(in, len + 1);
            l->dropped++;
            continue;
        }
        evbuffer_remove(in, line, len + 1);
        line[len] = '\0';
        handle_line(l, line, len);
        free(line);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct link *l = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        l->phase = PH_ROLE;
        if (link_send(l, json_pack("{s:s, s:s}", "op", "role.drop", "role",
                                   "kiosk")) == -1)
            link_lost(l, "cannot write to the daemon");
        return;
    }
    if (what & BEV_EVENT_EOF)
        link_lost(l, l->phase == PH_CONNECTING ? "cannot connect"
                                               : "the daemon closed the "
                                                 "connection");
    else if (what & BEV_EVENT_ERROR)
        link_lost(l, strerror(EVUTIL_SOCKET_ERROR()));
}

static void link_connect(struct link *l)
{
    link_close(l);
    l->bev = bufferevent_socket_new(
        l->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (l->bev == NULL) {
        link_lost(l, "out of memory");
        return;
    }
    bufferevent_setcb(l->bev, read_cb, NULL, event_cb, l);
    l->phase = PH_CONNECTING;
    if (bufferevent_socket_connect(l->bev, (struct sockaddr *)&l->sun,
                                   sizeof(l->sun)) == -1) {
        link_lost(l, strerror(errno));
        return;
    }
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    link_connect(arg);
}

struct link *link_new(struct event_base *base, const char *path,
                      const char *room, const struct link_cb *cb, struct err *e)
{
    struct link *l;

    if (strlen(path) >= sizeof(l->sun.sun_path)) {
        err_set(e, EX_USAGE, "socket path too long: %s", path);
        return NULL;
    }
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        err_errno(e, EX_OSERR, "link");
        return NULL;
    }
    l->base = base;
    l->sun.sun_family = AF_UNIX;
    memcpy(l->sun.sun_path, path, strlen(path) + 1);
    snprintf(l->room, sizeof(l->room), "%s", room);
    l->cb = *cb;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    if ((l->ev_retry = evtimer_new(base, retry_cb, l)) == NULL) {
        free(l);
        err_errno(e, EX_OSERR, "link timer");
        return NULL;
    }
    link_connect(l);
    return l;
}

void link_refresh(struct link *l)
{
    if (l->phase != PH_STREAM)
        return; /* connecting already, or waiting to retry */
    link_connect(l);
}

void link_free(struct link *l)
{
    if (l == NULL)
        return;
    link_close(l);
    event_free(l->ev_retry);
    free(l);
}
