/*
 * model.h: what the kiosk screen shows, and how messages from examsited
 * change it.  The model knows nothing of sockets or curses: link.c feeds
 * it the room.state reply and the stream (docs/control-protocol.md),
 * screen.c draws it.
 *
 * Every message is hostile: a field of the wrong type or missing is
 * ignored, strings are cut to the model's buffers on a UTF-8 boundary
 * and control characters are dropped, an unknown type or kind changes
 * nothing.  Events are applied once, in id order: an event at or below
 * the last applied id is ignored (a catch-up replays what the screen may
 * already have seen).
 */
#ifndef EXAMKIOSK_MODEL_H
#define EXAMKIOSK_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MODEL_SEATS_MAX   2000
#define MODEL_RECENT      10
#define MODEL_DEVICES_MAX 16
#define MODEL_NAME        96 /* bytes of a name, NUL included */
#define MODEL_TEXT        384

enum seat_state { SEAT_NONE = 0, SEAT_PRESENT, SEAT_OUT, SEAT_ABSENT };

struct model_seat {
    char seat[12];
    char name[MODEL_NAME];
    char ticket[40]; /* masked by the daemon for a kiosk */
    enum seat_state state;
    int late;
};

struct model_recent {
    int64_t id;
    char hhmm[6]; /* site-local */
    char seat[12];
    char name[MODEL_NAME];
    int late;
};

/* The big panel: the last decision, a notice, the prompt, or "offline". */
enum panel_kind {
    PANEL_IDLE = 0, /* "place your ID card" */
    PANEL_OK,       /* green: go in */
    PANEL_WARN,     /* amber: go in, with a warning; or a hint */
    PANEL_INFO,     /* blue: "now scan your ticket", leaving recorded */
    PANEL_REFUSED,  /* red: do not go in, and why */
    PANEL_OFFLINE,  /* grey: not connected to examsited */
};

struct model_panel {
    enum panel_kind kind;
    char title_zh[MODEL_TEXT], title_en[MODEL_TEXT];
    char big_label_zh[64], big_label_en[64];
    char big[16]; /* seat, or the room to go to; "" for none */
    char name[MODEL_NAME];
    char ticket[40];
    char detail_zh[MODEL_TEXT], detail_en[MODEL_TEXT];
    int64_t shown_ms; /* when it was put up; 0 for the prompt */
};

struct model_device {
    char name[64];
    int idcard; /* 1 reader, 0 scanner */
    int attached;
};

struct model {
    char room[17];
    char site[65], site_name[256], station[65], timezone[65];
    char policy[16]; /* id | ticket | id+ticket */
    int have_state;  /* a room.state reply has been loaded */
    struct {
        int have;
        char code[33], certificate[256], level[16], date[11];
        char opens[6], start[6], cutoff[6], end[6], state[16];
        int sealed;
    } session;
    struct model_seat *seats; /* MODEL_SEATS_MAX of them */
    size_t nseats;
    struct model_recent recent[MODEL_RECENT];
    size_t nrecent;
    int expected, present, late, absent;
    struct model_device devices[MODEL_DEVICES_MAX];
    size_t ndevices;
    char last_sync[32]; /* "" until the daemon says */
    int64_t last_id;    /* the last event applied */
    int connected;
    char offline_why[128];
    struct model_panel panel;
    unsigned long ignored; /* messages that made no sense */
};

/* What model_apply() changed (a mask). */
#define MODEL_CHANGED  1 /* redraw */
#define MODEL_DECISION 2 /* the panel shows a new decision */
#define MODEL_REFUSAL  4 /* ... and it says no (ring the bell) */
#define MODEL_REFRESH  8 /* the model cannot follow: fetch room.state again */

/* A model for room; -1 when out of memory. */
int model_init(struct model *m, const char *room);
void model_free(struct model *m);

/* Load a room.state reply (borrowed).  0, or -1 when it is not one (the
 * model is then unchanged). */
int model_load_state(struct model *m, json_t *st);

/* Apply one stream message (borrowed) at now_ms; hold_ms is how long a
 * decision stays up (an older one changes the counts, not the panel).
 * Returns a MODEL_* mask, 0 when the message changed nothing. */
int model_apply(struct model *m, json_t *msg, int64_t now_ms, int64_t hold_ms);

/* Put the prompt back once the panel has been up for hold_ms.  1 if it
 * changed. */
int model_expire(struct model *m, int64_t now_ms, int64_t hold_ms);

/* The daemon connection came or went (why: one line for the screen). */
void model_set_connected(struct model *m, int up, const char *why);

/* The idle prompt for the room's policy. */
void model_prompt(const struct model *m, const char **zh, const char **en);

/* Copy a JSON string into dst (size n): cut on a UTF-8 boundary, control
 * characters dropped; "" when v is not a string. */
void model_copy(char *dst, size_t n, const json_t *v);

#endif
