/*
 * daemon_quiet.c: the control-request fuzz target links the daemon's code
 * without examsited.c (its main loop).  These are the functions of
 * examsited.c that ops.c and checkin.c call; with no control socket and no
 * systemd there is nobody to tell, so they do nothing.  The fuzzed station
 * serves room 101, its roster's room, so a kiosk's requests get past the
 * room check.
 */
#include <string.h>

#include "daemon.h"

int daemon_serves_room(const struct daemon *d, const char *room)
{
    (void)d;
    return strcmp(room, "101") == 0;
}

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
