/*
 * ops.h: what each control request does, and who may ask for it.
 *
 *   ping, subscribe, devices, room.state          kiosk and up
 *     (a kiosk: only for a room this station serves)
 *   status, incident.list, events                 operator and up
 *   checkin.manual, incident.add, incident.amend,
 *   session.close                                 operator and up
 *   reload                                        admin
 */
#ifndef EXAMSITE_OPS_H
#define EXAMSITE_OPS_H

#include <sys/types.h>

#include <jansson.h>

#include "control.h"
#include "err.h"

struct daemon;

struct ops_request {
    struct daemon *d;
    enum control_role role;
    uid_t uid;
    const char *user; /* the uid's account name, "" when unknown */
    json_t *req;      /* the request object (borrowed) */
    int subscribe;    /* out: the client subscribed */
    char room[17];    /* out: its room filter */
    /* out: stream messages to write after the reply (subscribe with
     * since), already as the client's role may see them; caller frees */
    json_t *replay;
    /* out: the lesser role the client is served as from now on (role.drop),
     * ROLE_NONE when unchanged */
    enum control_role new_role;
};

/*
 * Validate and carry out one request.  0 with *reply (caller frees), or -1
 * with e (code: 64 bad request, 65 bad data, 77 not allowed, 69/70/74).
 * Nothing changes when it fails.
 */
int ops_dispatch(struct ops_request *rq, json_t **reply, struct err *e);

/* Is kind an incident code (V1-V9, C1-C9, late, absent, exit, reentry,
 * device, other)? */
int ops_incident_kind_valid(const char *kind);

#endif
