/*
 * control.c: the control socket: accepting, authorising, framing,
 * subscribers.  What each request does is in ops.c.
 *
 * Nothing a local user does here may stop the doors: every client is
 * freed on every path (EOF, error, timeout, a reply it never reads), a
 * client that says nothing is closed after CONTROL_IDLE_S, every client's
 * queued output is bounded, one read runs at most CONTROL_LINES_PER_TURN
 * requests before the loop gets back to the devices, and the last slots
 * are kept for administrators.  Refused peers never take a slot.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "ops.h"
#include "view.h"

#define PEER_GROUPS_MAX 1024
#define USER_CACHE      32

struct client {
    struct control *ctl;
    struct bufferevent *bev;
    struct event *ev_more; /* runs the rest of a pipelined read */
    enum control_role role;
    uid_t uid;
    pid_t pid;
    int subscribed;
    int closing;
    int eof;       /* the peer closed its end: run what it sent, then close */
    char room[17]; /* subscription filter, "" for all */
    struct client *next;
};

struct user_name {
    uid_t uid;
    char name[33];
};

struct control {
    struct daemon *d;
    struct evconnlistener *listener;
    char path[108];
    struct client *clients;
    int nclients;
    gid_t gid[ROLE_ADMIN + 1]; /* per role; valid where have_gid */
    int have_gid[ROLE_ADMIN + 1];
    struct user_name users[USER_CACHE];
    int nusers;
};

const char *control_role_name(enum control_role r)
{
    switch (r) {
    case ROLE_KIOSK:
        return "kiosk";
    case ROLE_OPERATOR:
        return "operator";
    case ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

static void client_free(struct client *cl)
{
    struct control *c = cl->ctl;
    struct client **pp;

    for (pp = &c->clients; *pp != NULL; pp = &(*pp)->next)
        if (*pp == cl) {
            *pp = cl->next;
            break;
        }
    c->nclients--;
    if (cl->ev_more != NULL)
        event_free(cl->ev_more);
    bufferevent_free(cl->bev);
    free(cl);
}

/*
 * The configured groups, looked up once (at start and reload), so that a
 * connect costs no name-service call on the loop.
 */
void control_groups_refresh(struct control *c)
{
    const struct config *cfg = &c->d->cfg;
    const char *names[ROLE_ADMIN + 1] = {NULL, cfg->control.kiosk_group,
                                         cfg->control.operator_group,
                                         cfg->control.admin_group};
    struct group *gr;
    int r;

    for (r = ROLE_KIOSK; r <= ROLE_ADMIN; r++) {
        c->have_gid[r] = 0;
        if (names[r] == NULL || names[r][0] == '\0')
            continue;
        if ((gr = getgrnam(names[r])) == NULL) {
            log_warnx("control: group %s does not exist: nobody is %s",
                      names[r], control_role_name((enum control_role)r));
            continue;
        }
        c->gid[r] = gr->gr_gid;
        c->have_gid[r] = 1;
    }
}

static int gid_in(gid_t want, gid_t primary, const gid_t *groups, int n)
{
    int i;

    if (primary == want)
        return 1;
    for (i = 0; i < n; i++)
        if (groups[i] == want)
            return 1;
    return 0;
}

/*
 * The peer's credentials as the kernel fixed them at connect
 * (SO_PEERCRED, SO_PEERGROUPS): no /proc read, no pid-reuse race.
 */
static enum control_role peer_role(struct control *c, int fd, uid_t *uid,
                                   pid_t *pid)
{
    gid_t groups[PEER_GROUPS_MAX];
    socklen_t len = sizeof(struct ucred), glen = sizeof(groups);
    struct ucred cr;
    int n = 0, r;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
        return ROLE_NONE;
    *uid = cr.uid;
    *pid = cr.pid;
    if (cr.uid == 0 || cr.uid == geteuid())
        return ROLE_ADMIN;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
        n = (int)(glen / sizeof(gid_t));
    else
        log_warnx("control: uid %u: its groups are unknown (%s)",
                  (unsigned)cr.uid, strerror(errno));
    for (r = ROLE_ADMIN; r >= ROLE_KIOSK; r--)
        if (c->have_gid[r] && gid_in(c->gid[r], cr.gid, groups, n))
            return (enum control_role)r;
    return ROLE_NONE;
}

/* The account name of uid, for the record; cached, "" when unknown. */
static const char *user_name(struct control *c, uid_t uid)
{
    struct passwd *pw;
    int i;

    for (i = 0; i < c->nusers; i++)
        if (c->users[i].uid == uid)
            return c->users[i].name;
    if (c->nusers == USER_CACHE)
        c->nusers = 0; /* a full cache starts over: a handful of accounts */
    c->users[c->nusers].uid = uid;
    pw = getpwuid(uid);
    snprintf(c->users[c->nusers].name, sizeof(c->users[0].name), "%s",
             pw ? pw->pw_name : "");
    return c->users[c->nusers++].name;
}

static size_t out_len(struct client *cl)
{
    return evbuffer_get_length(bufferevent_get_output(cl->bev));
}

/* Queue a line; 0, or -1 when the client has more queued than it may. */
static int send_line(struct client *cl, const char *s, size_t n)
{
    if (out_len(cl) + n + 1 > CONTROL_OUTPUT_MAX)
        return -1;
    bufferevent_write(cl->bev, s, n);
    bufferevent_write(cl->bev, "\n", 1);
    return 0;
}

static int send_error(struct client *cl, int code, const char *msg)
{
    json_t *j =
        json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "code", code);
    char *s = json_dumps(j, JSON_COMPACT);
    int rc = s ? send_line(cl, s, strlen(s)) : -1;

    free(s);
    json_decref(j);
    return rc;
}

static int send_json(struct client *cl, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    size_t n;
    int rc;

    if (s == NULL)
        return send_error(cl, 70, "out of memory");
    n = strlen(s);
    if (n > CONTROL_REPLY_MAX)
        rc = send_error(cl, 70, "reply too large: ask for less (since, limit)");
    else
        rc = send_line(cl, s, n);
    free(s);
    return rc;
}

static void closing_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    client_free(arg); /* the last reply is out */
}

static void closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    client_free(arg); /* EOF, EPIPE or a reader that never reads */
}

/* Stop reading; free the client once its last reply is written, or when
 * writing fails or stalls for CONTROL_DRAIN_S. */
static void client_close_soon(struct client *cl)
{
    struct timeval drain = {CONTROL_DRAIN_S, 0};

    cl->closing = 1;
    bufferevent_disable(cl->bev, EV_READ);
    if (out_len(cl) == 0) {
        client_free(cl);
        return;
    }
    bufferevent_setcb(cl->bev, NULL, closing_write_cb, closing_event_cb, cl);
    bufferevent_set_timeouts(cl->bev, NULL, &drain);
}

static int has_line(struct client *cl)
{
    struct evbuffer_ptr p = evbuffer_search_eol(bufferevent_get_input(cl->bev),
                                                NULL, NULL, EVBUFFER_EOL_LF);
    return p.pos != -1;
}

/* A subscriber's catch-up (subscribe with since), right after its reply:
 * already as its role may see it (ops.c).  0, or -1 when it does not fit
 * in what the client may have queued. */
static int send_replay(struct client *cl, json_t *msgs)
{
    size_t i;
    json_t *m;
    char *s;
    int rc = 0;

    json_array_foreach(msgs, i, m)
    {
        if ((s = json_dumps(m, JSON_COMPACT)) == NULL)
            return -1;
        rc = send_line(cl, s, strlen(s));
        free(s);
        if (rc == -1)
            return -1;
    }
    return 0;
}

static void handle_line(struct client *cl, const char *line, size_t len,
                        int *ok)
{
    struct ops_request rq;
    json_error_t jerr;
    json_t *req, *reply = NULL;
    struct err e;

    req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL || !json_is_object(req)) {
        json_decref(req);
        *ok = send_error(cl, 65, "request is not a JSON object") == 0;
        return;
    }
    memset(&rq, 0, sizeof(rq));
    rq.d = cl->ctl->d;
    rq.role = cl->role;
    rq.uid = cl->uid;
    rq.user = user_name(cl->ctl, cl->uid);
    rq.req = req;
    err_clear(&e);
    if (ops_dispatch(&rq, &reply, &e) == -1) {
        *ok = send_error(cl, e.code ? e.code : 70, e.msg) == 0;
    } else {
        if (rq.new_role != ROLE_NONE)
            cl->role = rq.new_role;
        if (rq.subscribe) {
            cl->subscribed = 1;
            snprintf(cl->room, sizeof(cl->room), "%s", rq.room);
            /* a subscriber only listens: no idle timeout from now on */
            struct timeval stall = {CONTROL_STALL_S, 0};
            bufferevent_set_timeouts(cl->bev, NULL, &stall);
        }
        *ok = send_json(cl, reply) == 0;
        if (*ok && rq.replay != NULL)
            *ok = send_replay(cl, rq.replay) == 0;
    }
    json_decref(rq.replay);
    json_decref(reply);
    json_decref(req);
}

static void client_drop(struct client *cl, const char *why)
{
    log_warnx("control: client uid %u %s; dropped", (unsigned)cl->uid, why);
    client_free(cl);
}

/*
 * Run at most CONTROL_LINES_PER_TURN complete lines, then give the loop
 * back (ev_more picks up the rest), so one write of many requests cannot
 * hold up a scan at a door.  A client whose replies pile up unread is
 * dropped.
 */
static void client_run(struct client *cl)
{
    struct evbuffer *in = bufferevent_get_input(cl->bev);
    size_t len;
    char *line;
    int n = 0, ok = 1;

    /* Replies wait to be read: run no more until they drain (write_cb). */
    if (out_len(cl) >= CONTROL_OUTPUT_PAUSE)
        return;
    while (n < CONTROL_LINES_PER_TURN && out_len(cl) < CONTROL_OUTPUT_PAUSE &&
           (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        if (len > CONTROL_REQUEST_MAX) {
            free(line);
            send_error(cl, 65, "request too large");
            client_close_soon(cl);
            return;
        }
        if (!cl->subscribed) /* a subscriber only listens */
            handle_line(cl, line, len, &ok);
        n++;
        free(line);
        if (!ok) {
            client_drop(cl, "does not read its replies");
            return;
        }
    }
    if (out_len(cl) >= CONTROL_OUTPUT_PAUSE)
        return; /* write_cb goes on once the client has read */
    if (has_line(cl)) {
        event_active(cl->ev_more, EV_TIMEOUT, 0);
        return;
    }
    if (cl->eof) {
        client_close_soon(cl);
        return;
    }
    if (evbuffer_get_length(in) > CONTROL_REQUEST_MAX) {
        send_error(cl, 65, "request too large");
        client_close_soon(cl);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;

    (void)bev;
    if (!event_pending(cl->ev_more, EV_TIMEOUT, NULL))
        client_run(cl);
}

/* The client read its replies down to the low mark: go on with its
 * requests. */
static void write_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;

    (void)bev;
    if (cl->closing || cl->subscribed ||
        event_pending(cl->ev_more, EV_TIMEOUT, NULL))
        return;
    if (has_line(cl))
        event_active(cl->ev_more, EV_TIMEOUT, 0);
    else if (cl->eof)
        client_close_soon(cl); /* it closed its end: all answered */
}

static void more_cb(evutil_socket_t fd, short what, void *arg)
{
    struct client *cl = arg;

    (void)fd;
    (void)what;
    if (!cl->closing)
        client_run(cl);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct client *cl = arg;

    if (what & BEV_EVENT_TIMEOUT) {
        client_drop(cl, (what & BEV_EVENT_WRITING)
                            ? "does not read its replies"
                            : "sent nothing for too long");
        return;
    }
    /* A client that half-closes after its requests still gets the
     * replies: the lines it sent are run, then it is closed. */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        cl->eof = 1;
        bufferevent_disable(bev, EV_READ);
        if (has_line(cl))
            event_active(cl->ev_more, EV_TIMEOUT, 0);
        else
            client_close_soon(cl);
        return;
    }
    client_free(cl);
}

/* A refused peer gets its one line straight on the socket and no slot. */
static void refuse(int fd, int code, const char *msg)
{
    char line[256];
    int n =
        snprintf(line, sizeof(line),
                 "{\"ok\":false,\"error\":\"%s\",\"code\":%d}\n", msg, code);

    if (n > 0 && (size_t)n < sizeof(line) &&
        send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
        log_debug("control: refusal not sent: %s", strerror(errno));
    close(fd);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg)
{
    struct timeval idle = {CONTROL_IDLE_S, 0}, stall = {CONTROL_STALL_S, 0};
    struct control *c = arg;
    enum control_role role;
    struct client *cl;
    uid_t uid = (uid_t)-1;
    pid_t pid = 0;

    (void)l;
    (void)sa;
    (void)socklen;
    role = peer_role(c, fd, &uid, &pid);
    if (role == ROLE_NONE) {
        log_info("control: uid %u is in none of the examsite groups; refused",
                 (unsigned)uid);
        refuse(fd, 77,
               "not authorised: not in a kiosk, operator or admin group");
        return;
    }
    if (c->nclients >= CONTROL_CLIENTS_MAX ||
        (role != ROLE_ADMIN &&
         c->nclients >= CONTROL_CLIENTS_MAX - CONTROL_ADMIN_SLOTS)) {
        log_warnx("control: too many clients, refusing uid %u", (unsigned)uid);
        refuse(fd, 75, "too many clients: try again later");
        return;
    }
    if ((cl = calloc(1, sizeof(*cl))) == NULL) {
        close(fd);
        return;
    }
    cl->ctl = c;
    cl->role = role;
    cl->uid = uid;
    cl->pid = pid;
    cl->bev = bufferevent_socket_new(c->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
    cl->ev_more = event_new(c->d->base, -1, 0, more_cb, cl);
    if (cl->bev == NULL || cl->ev_more == NULL) {
        if (cl->bev != NULL)
            bufferevent_free(cl->bev);
        else
            close(fd);
        if (cl->ev_more != NULL)
            event_free(cl->ev_more);
        free(cl);
        return;
    }
    cl->next = c->clients;
    c->clients = cl;
    c->nclients++;
    bufferevent_setcb(cl->bev, read_cb, write_cb, event_cb, cl);
    bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_REQUEST_MAX + 2);
    bufferevent_setwatermark(cl->bev, EV_WRITE, CONTROL_OUTPUT_PAUSE / 4, 0);
    bufferevent_set_timeouts(cl->bev, &idle, &stall);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

struct control *control_new(struct daemon *d, struct err *e)
{
    struct sockaddr_un sun;
    struct control *c;
    mode_t old;

    if (strlen(d->cfg.control.socket) >= sizeof(sun.sun_path)) {
        err_set(e, EX_CONFIG, "control socket path too long: %s",
                d->cfg.control.socket);
        return NULL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        err_errno(e, EX_OSERR, "control");
        return NULL;
    }
    c->d = d;
    control_groups_refresh(c);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    /* the length was checked above */
    memcpy(sun.sun_path, d->cfg.control.socket,
           strlen(d->cfg.control.socket) + 1);
    memcpy(c->path, sun.sun_path, sizeof(c->path));
    /* A stale socket from a killed daemon.  Only the holder of the
     * database lock gets here (examsited.c), so it is never a live one. */
    unlink(c->path);
    /* Anyone may connect; the peer's credentials decide what they may do. */
    old = umask(0111);
    c->listener = evconnlistener_new_bind(
        d->base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        16, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (c->listener == NULL) {
        err_errno(e, EX_CANTCREAT, "control socket %s", c->path);
        free(c);
        return NULL;
    }
    return c;
}

void control_free(struct control *c)
{
    if (c == NULL)
        return;
    while (c->clients != NULL)
        client_free(c->clients);
    evconnlistener_free(c->listener);
    unlink(c->path);
    free(c);
}

/*
 * Each role gets the stream as view.c says it may read it: the message is
 * serialised once for operators and admins and once for kiosks.
 */
void control_broadcast(struct control *c, const char *room, json_t *msg)
{
    struct client *cl, *next;
    char *full, *kiosk = NULL, *s;
    int kiosk_done = 0;
    json_t *kj;

    if (c == NULL || (full = json_dumps(msg, JSON_COMPACT)) == NULL)
        return;
    for (cl = c->clients; cl != NULL; cl = next) {
        next = cl->next;
        if (!cl->subscribed || cl->closing)
            continue;
        if (room != NULL && cl->room[0] && strcmp(cl->room, room) != 0)
            continue;
        if (cl->role == ROLE_KIOSK) {
            if (!kiosk_done) {
                kiosk_done = 1;
                if ((kj = view_message(msg, ROLE_KIOSK)) != NULL)
                    kiosk = json_dumps(kj, JSON_COMPACT);
                json_decref(kj);
            }
            s = kiosk;
        } else {
            s = full;
        }
        if (s == NULL)
            continue; /* not for this role */
        if (send_line(cl, s, strlen(s)) == -1) {
            log_warnx("control: subscriber uid %u is not reading; dropped",
                      (unsigned)cl->uid);
            client_free(cl);
        }
    }
    free(kiosk);
    free(full);
}
