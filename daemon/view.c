/*
 * view.c: the stream as a role may read it (view.h).  The kiosk's view is
 * built from a whitelist: a key the daemon adds to payloads tomorrow does
 * not reach the screen until it is added here on purpose.
 */
#include <stdio.h>
#include <string.h>

#include "view.h"

/* Kinds a kiosk receives, reduced, when they concern its room. */
static const char *const kiosk_kinds[] = {
    "checkin.accepted", "checkin.denied",  "checkin.duplicate",
    "checkin.exit",     "checkin.reentry", "checkin.manual",
    "absent.marked",    "session.opened",  "session.closed",
    "device.attached",  "device.detached", NULL};

/* Payload keys a kiosk receives: what the screen shows, nothing else
 * (not note, account, operator, clock_behind_ms, checkin_event). */
static const char *const kiosk_payload_keys[] = {"result",
                                                 "reason",
                                                 "via",
                                                 "name",
                                                 "seat",
                                                 "right_room",
                                                 "when",
                                                 "late",
                                                 "override",
                                                 "warnings",
                                                 "flag",
                                                 "type",
                                                 "candidate_room",
                                                 "presented_at",
                                                 "message_zh",
                                                 "message_en",
                                                 NULL};

static int listed(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

void view_mask_ticket(const char *ticket, char out[VIEW_TICKET_MAX])
{
    size_t n = strlen(ticket), i, keep;

    if (n >= VIEW_TICKET_MAX)
        n = VIEW_TICKET_MAX - 1;
    keep = n > 4 ? 4 : 0;
    for (i = 0; i < n; i++)
        out[i] = i + keep >= n ? ticket[i] : '*';
    out[n] = '\0';
}

static void copy_key(json_t *to, json_t *from, const char *key)
{
    json_t *v = json_object_get(from, key);

    if (v != NULL)
        json_object_set(to, key, v);
}

json_t *view_kiosk_event(json_t *ev)
{
    static const char *const keys[] = {"id",      "time", "tz_offset", "kind",
                                       "session", "room", "device",    NULL};
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    json_t *room = json_object_get(ev, "room"), *payload, *out, *v;
    const char *ticket, *key;
    const char *const *k;
    char masked[VIEW_TICKET_MAX];

    if (kind == NULL)
        return NULL;
    if (!listed(kiosk_kinds, kind)) {
        /* Something happened that concerns no room (a roster or session
         * change): the screen learns only that, to refresh itself. */
        if (room != NULL && !json_is_null(room))
            return NULL;
        out = json_object();
        copy_key(out, ev, "id");
        copy_key(out, ev, "kind");
        copy_key(out, ev, "time");
        return out;
    }
    out = json_object();
    for (k = keys; *k != NULL; k++)
        copy_key(out, ev, *k);
    ticket = json_string_value(json_object_get(ev, "ticket"));
    if (ticket != NULL) {
        view_mask_ticket(ticket, masked);
        json_object_set_new(out, "ticket", json_string(masked));
    } else {
        json_object_set_new(out, "ticket", json_null());
    }
    payload = json_object();
    json_object_foreach(json_object_get(ev, "payload"), key, v)
    {
        if (listed(kiosk_payload_keys, key))
            json_object_set(payload, key, v);
    }
    json_object_set_new(out, "payload", payload);
    return out;
}

json_t *view_message(json_t *msg, enum control_role role)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    json_t *ev;

    if (role >= ROLE_OPERATOR)
        return json_incref(msg);
    if (role != ROLE_KIOSK || type == NULL)
        return NULL;
    if (strcmp(type, "notice") == 0)
        return json_incref(msg); /* what the door is told, nothing stored */
    if (strcmp(type, "event") != 0)
        return NULL;
    if ((ev = view_kiosk_event(json_object_get(msg, "event"))) == NULL)
        return NULL;
    return json_pack("{s:s, s:o}", "type", "event", "event", ev);
}
