/*
 * ctl_client.c: examctl's side of the control socket: connect, send one
 * request line, read one reply line (bounded), and for --follow keep
 * reading the stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define REPLY_MAX (4 * 1024 * 1024)

int ctl_connect(struct ctl *c, struct err *e)
{
    struct sockaddr_un sun;
    int fd;

    if (strlen(c->socket_path) >= sizeof(sun.sun_path))
        return err_set(e, EX_USAGE, "socket path too long");
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return err_errno(e, EX_OSERR, "socket");
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->socket_path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
        close(fd);
        return err_errno(e, EX_UNAVAILABLE, "examsited is not answering on %s",
                         c->socket_path);
    }
    return fd;
}

int ctl_send(int fd, json_t *req, struct err *e)
{
    char *s = json_dumps(req, JSON_COMPACT);
    size_t n, off = 0;
    ssize_t w;

    if (s == NULL)
        return err_set(e, EX_SOFTWARE, "out of memory");
    n = strlen(s);
    while (off < n) {
        /* MSG_NOSIGNAL: a daemon that refused us at connect has closed
         * its end; we get EPIPE (and then read its refusal), not SIGPIPE */
        w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(s);
            return err_errno(e, EX_UNAVAILABLE, "control socket write");
        }
        off += (size_t)w;
    }
    free(s);
    if (send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
        return err_errno(e, EX_UNAVAILABLE, "control socket write");
    return 0;
}

/* One line from fd (buffered in *buf across calls).  Returns the parsed
 * object (caller frees), NULL at EOF (e->code 0) or on error. */
json_t *ctl_read_line(int fd, struct ctl_linebuf *lb, struct err *e)
{
    json_error_t jerr;
    char *nl;
    json_t *j;
    ssize_t r;

    err_clear(e);
    for (;;) {
        if (lb->len > 0 && (nl = memchr(lb->buf, '\n', lb->len)) != NULL) {
            size_t linelen = (size_t)(nl - lb->buf);
            j = json_loadb(lb->buf, linelen, 0, &jerr);
            memmove(lb->buf, nl + 1, lb->len - linelen - 1);
            lb->len -= linelen + 1;
            if (j == NULL || !json_is_object(j)) {
                json_decref(j);
                err_set(e, EX_PROTOCOL, "bad reply from examsited");
                return NULL;
            }
            return j;
        }
        if (lb->len == lb->cap) {
            size_t cap = lb->cap ? lb->cap * 2 : 65536;
            char *n;
            if (cap > REPLY_MAX || (n = realloc(lb->buf, cap)) == NULL) {
                err_set(e, EX_PROTOCOL, "reply from examsited too large");
                return NULL;
            }
            lb->buf = n;
            lb->cap = cap;
        }
        r = read(fd, lb->buf + lb->len, lb->cap - lb->len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == 0)
            return NULL;
        if (r < 0) {
            err_errno(e, EX_UNAVAILABLE, "control socket read");
            return NULL;
        }
        lb->len += (size_t)r;
    }
}

int ctl_exchange(int fd, json_t *req, json_t **reply, struct err *e)
{
    struct ctl_linebuf lb = {NULL, 0, 0};
    struct err e2;
    json_t *r;

    *reply = NULL;
    if (ctl_send(fd, req, e) == -1) {
        /* refused at connect: the daemon's reply says why */
        if ((r = ctl_read_line(fd, &lb, &e2)) == NULL) {
            free(lb.buf);
            return -1;
        }
    } else {
        r = ctl_read_line(fd, &lb, e);
    }
    free(lb.buf);
    if (r == NULL)
        return e->code ? -1
                       : err_set(e, EX_UNAVAILABLE,
                                 "examsited closed the connection");
    if (!json_is_true(json_object_get(r, "ok"))) {
        const char *msg = json_string_value(json_object_get(r, "error"));
        json_int_t code = json_integer_value(json_object_get(r, "code"));
        err_set(e, code > 0 && code < 256 ? (int)code : EX_SOFTWARE, "%s",
                msg ? msg : "refused");
        json_decref(r);
        return -1;
    }
    *reply = r;
    return 0;
}

int ctl_request(struct ctl *c, json_t *req, json_t **reply, struct err *e)
{
    int fd, rc;

    *reply = NULL;
    if ((fd = ctl_connect(c, e)) == -1)
        return -1;
    rc = ctl_exchange(fd, req, reply, e);
    close(fd);
    return rc;
}

void ctl_tell_daemon(struct ctl *c)
{
    json_t *req = json_pack("{s:s}", "op", "reload"), *reply = NULL;
    struct err e;

    if (ctl_request(c, req, &reply, &e) == -1 && e.code != EX_UNAVAILABLE)
        fprintf(stderr,
                "examctl: examsited was not told (%s): run 'examctl reload' "
                "as an administrator\n",
                e.msg);
    json_decref(reply);
    json_decref(req);
}

static const char reload_usage[] = "reload";

int ctl_reload(struct ctl *c, int argc, char **argv)
{
    json_t *req, *reply = NULL;
    struct err e;
    int rc;

    if (ctl_wants_help(argc, argv)) {
        puts("usage: examctl reload\n\n"
             "Ask the running examsited to read the sessions and the roster "
             "again and\nre-plan its timers (reader polling, check-in "
             "windows, absent marking).\nsession import, session add and "
             "roster import do this themselves.  Needs\nthe admin role.  It "
             "does not re-read the configuration file: that is\n'systemctl "
             "reload examsited' (SIGHUP).");
        return 0;
    }
    if (argc != 1)
        return ctl_usagef(reload_usage, "reload takes no arguments");
    req = json_pack("{s:s}", "op", "reload");
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    json_decref(reply);
    if (c->json) {
        json_t *j = json_pack("{s:b}", "reloaded", 1);
        ctl_print_json(j);
        json_decref(j);
    } else {
        puts("examsited re-read the sessions and the roster");
    }
    return 0;
}
