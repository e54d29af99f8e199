/*
 * daemon_stub.c: the three functions of examsited.c that ops.c and
 * checkin.c call, for the control-request fuzz target, which links the
 * daemon's code without its main loop.  With no control socket there is
 * nobody to publish to.
 */
#include "daemon.h"

void daemon_published(struct daemon *d, const struct event *ev)
{
    (void)d;
    (void)ev;
}

void daemon_notice(struct daemon *d, const char *room, const char *type,
                   const char *zh, const char *en)
{
    (void)d;
    (void)room;
    (void)type;
    (void)zh;
    (void)en;
}

void daemon_status(struct daemon *d, const char *fmt, ...)
{
    (void)d;
    (void)fmt;
}
