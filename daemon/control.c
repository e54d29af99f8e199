/*
 * control.c: the control socket: accepting, authorising, framing,
 * subscribers.  What each request does is in ops.c.
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
#include <event2/listener.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "ops.h"

struct client {
    struct control *ctl;
    struct bufferevent *bev;
    enum control_role role;
    uid_t uid;
    pid_t pid;
    int subscribed;
    char room[17]; /* subscription filter, "" for all */
    struct client *next;
};

struct control {
    struct daemon *d;
    struct evconnlistener *listener;
    char path[108];
    struct client *clients;
    int nclients;
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
    bufferevent_free(cl->bev);
    free(cl);
}

/* The user's groups from the group database, when /proc is hidden
 * (ProtectProc=invisible). */
static int user_in_group(uid_t uid, gid_t primary, gid_t want)
{
    struct passwd *pw = getpwuid(uid);
    gid_t groups[256];
    int n = 256, i;

    if (pw == NULL || getgrouplist(pw->pw_name, primary, groups, &n) == -1)
        return 0;
    for (i = 0; i < n; i++)
        if (groups[i] == want)
            return 1;
    return 0;
}

/* The groups of the peer process as the kernel has them. */
static int peer_in_group(pid_t pid, uid_t uid, gid_t primary, const char *group)
{
    struct group *gr;
    char path[64], line[4096];
    FILE *f;
    int found = 0;

    if (group == NULL || *group == '\0' || (gr = getgrnam(group)) == NULL)
        return 0;
    if (primary == gr->gr_gid)
        return 1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return user_in_group(uid, primary, gr->gr_gid);
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *p, *end;
        if (strncmp(line, "Groups:", 7) != 0)
            continue;
        for (p = line + 7;; p = end) {
            long g = strtol(p, &end, 10);
            if (end == p)
                break;
            if ((gid_t)g == gr->gr_gid)
                found = 1;
        }
    }
    fclose(f);
    return found;
}

static enum control_role peer_role(struct control *c, int fd, uid_t *uid,
                                   pid_t *pid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    const struct config *cfg = &c->d->cfg;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
        return ROLE_NONE;
    *uid = cr.uid;
    *pid = cr.pid;
    if (cr.uid == 0 || cr.uid == geteuid())
        return ROLE_ADMIN;
    if (peer_in_group(cr.pid, cr.uid, cr.gid, cfg->control.admin_group))
        return ROLE_ADMIN;
    if (peer_in_group(cr.pid, cr.uid, cr.gid, cfg->control.operator_group))
        return ROLE_OPERATOR;
    if (peer_in_group(cr.pid, cr.uid, cr.gid, cfg->control.kiosk_group))
        return ROLE_KIOSK;
    return ROLE_NONE;
}

static void send_json(struct client *cl, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);

    if (s == NULL)
        return;
    bufferevent_write(cl->bev, s, strlen(s));
    bufferevent_write(cl->bev, "\n", 1);
    free(s);
}

static void send_error(struct client *cl, int code, const char *msg)
{
    json_t *j =
        json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "code", code);

    send_json(cl, j);
    json_decref(j);
}

/* After the last reply is flushed, close. */
static void close_after_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    client_free(arg);
}

static void client_close_soon(struct client *cl)
{
    bufferevent_disable(cl->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
        client_free(cl);
    else
        bufferevent_setcb(cl->bev, NULL, close_after_write, NULL, cl);
}

static void handle_line(struct client *cl, const char *line, size_t len)
{
    struct ops_request rq;
    json_error_t jerr;
    json_t *req, *reply = NULL;
    struct err e;

    req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL || !json_is_object(req)) {
        json_decref(req);
        send_error(cl, 65, "request is not a JSON object");
        return;
    }
    memset(&rq, 0, sizeof(rq));
    rq.d = cl->ctl->d;
    rq.role = cl->role;
    rq.uid = cl->uid;
    rq.req = req;
    err_clear(&e);
    if (ops_dispatch(&rq, &reply, &e) == -1) {
        send_error(cl, e.code ? e.code : 70, e.msg);
    } else {
        if (rq.subscribe) {
            cl->subscribed = 1;
            snprintf(cl->room, sizeof(cl->room), "%s", rq.room);
        }
        send_json(cl, reply);
    }
    json_decref(reply);
    json_decref(req);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len;
    char *line;

    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        if (len > CONTROL_REQUEST_MAX) {
            free(line);
            send_error(cl, 65, "request too large");
            client_close_soon(cl);
            return;
        }
        if (cl->subscribed) { /* a subscriber only listens */
            free(line);
            continue;
        }
        handle_line(cl, line, len);
        free(line);
    }
    if (evbuffer_get_length(in) > CONTROL_REQUEST_MAX) {
        send_error(cl, 65, "request too large");
        client_close_soon(cl);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    /* A client that half-closes after its request still gets the reply. */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
        evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        client_close_soon(arg);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_free(arg);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg)
{
    struct control *c = arg;
    struct client *cl;

    (void)l;
    (void)sa;
    (void)socklen;
    if (c->nclients >= CONTROL_CLIENTS_MAX ||
        (cl = calloc(1, sizeof(*cl))) == NULL) {
        log_warnx("control: too many clients, refusing one");
        close(fd);
        return;
    }
    cl->ctl = c;
    cl->role = peer_role(c, fd, &cl->uid, &cl->pid);
    cl->bev = bufferevent_socket_new(c->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (cl->bev == NULL) {
        close(fd);
        free(cl);
        return;
    }
    cl->next = c->clients;
    c->clients = cl;
    c->nclients++;
    if (cl->role == ROLE_NONE) {
        log_info("control: uid %u is in none of the examsite groups; refused",
                 (unsigned)cl->uid);
        send_error(cl, 77,
                   "not authorised: not in a kiosk, operator or admin group");
        client_close_soon(cl);
        return;
    }
    bufferevent_setcb(cl->bev, read_cb, NULL, event_cb, cl);
    bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_REQUEST_MAX + 2);
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
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    /* the length was checked above */
    memcpy(sun.sun_path, d->cfg.control.socket,
           strlen(d->cfg.control.socket) + 1);
    memcpy(c->path, sun.sun_path, sizeof(c->path));
    unlink(c->path); /* a stale socket from a killed daemon */
    /* Anyone may connect; SO_PEERCRED decides what they may do. */
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

void control_broadcast(struct control *c, const char *room, json_t *msg)
{
    struct client *cl, *next;
    char *s;
    size_t n;

    if (c == NULL || (s = json_dumps(msg, JSON_COMPACT)) == NULL)
        return;
    n = strlen(s);
    for (cl = c->clients; cl != NULL; cl = next) {
        next = cl->next;
        if (!cl->subscribed)
            continue;
        if (room != NULL && cl->room[0] && strcmp(cl->room, room) != 0)
            continue;
        if (evbuffer_get_length(bufferevent_get_output(cl->bev)) + n >
            CONTROL_SUBSCRIBER_MAX) {
            log_warnx("control: subscriber uid %u is not reading; dropped",
                      (unsigned)cl->uid);
            client_free(cl);
            continue;
        }
        bufferevent_write(cl->bev, s, n);
        bufferevent_write(cl->bev, "\n", 1);
    }
    free(s);
}
