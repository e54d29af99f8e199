/*
 * idreader.h: the ID-card reader state machine, independent of transport.
 * It writes command frames through a send function and is handed the
 * bytes that come back (in any chunking); it reports through callbacks.
 *
 * At attach it checks the SAM (11 FF) and reads its ID (12 FF).  While
 * polling is on it runs find (20 01) -> select (20 02) -> read (30 01)
 * every IDREADER_POLL_MS after the previous exchange ends.  With a card
 * read, the polls check its presence instead: find answering 9F, or select
 * answering 90 (readers whose find ignores an already-read card), means
 * still there; find 80 and select 81 mean removed.  A read that fails
 * (status, timeout, a text block that does not decode) is reported once
 * and the reader then waits for that card to be removed before reading
 * again.  A command without an answer is sent again up to
 * IDREADER_RETRIES times.  With polling off and the SAM checked, no timer
 * is armed: zero wakeups.
 *
 * All callbacks run on the caller's libevent loop, from inside
 * idreader_input() or a timer.  They may call idreader_set_polling() but
 * must not free the reader.
 */
#ifndef EXAMSITE_IDREADER_H
#define EXAMSITE_IDREADER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "err.h"
#include "idtext.h"

/*
 * The gap between the end of one poll and the next find.  A card lying
 * down waits for the next find: up to this gap plus one find exchange
 * (docs/hardware.md, "Reader timing").  The protocol has no way for the
 * reader to announce a card, and a command in flight cannot be cut short
 * (the reader answers each one), so only the gap can shrink.  50 ms keeps
 * the wait within the card-to-screen target (bench/card) at about 15
 * exchanges a second per reader, and only while a session is near: with
 * polling off nothing is armed.
 */
#define IDREADER_POLL_MS         50
#define IDREADER_TIMEOUT_MS      1000 /* SAM, find, select */
#define IDREADER_READ_TIMEOUT_MS 3000 /* read: 1,295 bytes at 115200 */
#define IDREADER_RETRIES         2

struct idreader;

struct idreader_ops {
    /* Write one whole frame.  0, or -1 when the transport cannot (the
     * reader then treats it like an unanswered command). */
    int (*send)(void *arg, const uint8_t *frame, size_t len);
};

struct idreader_callbacks {
    /* The SAM answered OK; sam_id is "05.01-20160318-0012345678-..." or
     * "" if the reader gave none. */
    void (*ready)(void *arg, const char *sam_id);
    /* A card was read and decoded.  The callee may use *card only during
     * the call; the reader wipes it afterwards. */
    void (*card)(void *arg, const struct idcard_info *card);
    /* The card reported by the last card() call left the reader. */
    void (*removed)(void *arg);
    /* Something failed; reason is one sentence (never an ID number). */
    void (*error)(void *arg, const char *reason);
};

/* Create a detached reader.  NULL with e on failure. */
struct idreader *idreader_new(struct event_base *base,
                              const struct idreader_ops *ops, void *ops_arg,
                              const struct idreader_callbacks *cb, void *cb_arg,
                              struct err *e);

/* Stop, drop any half-read card, free.  Accepts NULL. */
void idreader_free(struct idreader *r);

/* The transport is open: start the SAM check. */
void idreader_attach(struct idreader *r);

/* The transport is gone: cancel timers and any exchange in progress.  A
 * card half read is never reported. */
void idreader_detach(struct idreader *r);

/* Bytes from the transport. */
void idreader_input(struct idreader *r, const uint8_t *buf, size_t n);

/* Polling on (1) or off (0).  Turning it off lets an exchange in flight
 * finish, then arms nothing; the reader forgets the card it had read, so
 * a card still lying there is read again when polling resumes. */
void idreader_set_polling(struct idreader *r, int on);

int idreader_polling(const struct idreader *r);

/* 1 once the SAM answered OK since attach. */
int idreader_sam_ok(const struct idreader *r);

/* The SAM ID string, "" until known. */
const char *idreader_sam_id(const struct idreader *r);

/* Format the 16-byte SAM ID answer as the vendor tools do.  out holds
 * at least 48 bytes. */
void idreader_format_sam_id(const uint8_t id[16], char *out, size_t outlen);

#endif
