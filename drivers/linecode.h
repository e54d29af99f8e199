/*
 * linecode.h: barcode scanners in serial mode (USB CDC or RS-232) send
 * each code as a line ended by CR, LF or CR LF.  This decoder cuts a byte
 * stream, in any chunking, into codes.  Empty lines are dropped (so CR LF
 * gives one code).  A scanner set to send no terminator is served by the
 * inter-character timeout: a line also ends once the gap has passed since
 * its last byte, so a code is never glued to the next one.
 *
 * A line with control characters or bytes that are not UTF-8 is reported
 * as an error and discarded whole at its end.  A line that grows past
 * LINECODE_MAX_CODE bytes is reported at once, one error however long it
 * goes on, and discarded up to the next terminator or gap, where the
 * decoder starts afresh: the next good code is read.
 *
 * No allocation, no I/O, no timers: the owner passes the time (any
 * monotonic clock in milliseconds) with each chunk, and arms its own
 * timer for linecode_deadline(), where it calls linecode_expire().
 */
#ifndef EXAMSITE_LINECODE_H
#define EXAMSITE_LINECODE_H

#include <stddef.h>
#include <stdint.h>

#define LINECODE_MAX_CODE 128

typedef void (*linecode_code_fn)(void *arg, const char *code, size_t len);
typedef void (*linecode_error_fn)(void *arg, const char *reason);

struct linecode {
    size_t len;
    int overlong; /* past the bound: reported, discarding to the end */
    int bad;      /* control character seen */
    int started;  /* a byte of the current line has come */
    int gap_ms;
    int64_t last_byte_ms;
    linecode_code_fn on_code;
    linecode_error_fn on_error;
    void *arg;
    char buf[LINECODE_MAX_CODE + 1];
};

/* Prepare l with an inter-character gap of gap_ms (> 0); either callback
 * may be NULL. */
void linecode_init(struct linecode *l, int gap_ms, linecode_code_fn on_code,
                   linecode_error_fn on_error, void *arg);

/* Feed n bytes that arrived at now_ms.  A pending line whose gap had
 * passed by then ends first.  Callbacks run from inside, once per
 * finished line (and once when a line passes the bound).  A callback may
 * call linecode_reset() on l. */
void linecode_feed(struct linecode *l, const uint8_t *buf, size_t n,
                   int64_t now_ms);

/* When the pending line ends for lack of a terminator (its last byte
 * plus the gap), or -1 if no line has started. */
int64_t linecode_deadline(const struct linecode *l);

/* The owner's timer: end the pending line if its deadline is not after
 * now_ms (else nothing happens). */
void linecode_expire(struct linecode *l, int64_t now_ms);

/* End the pending line, if any, now. */
void linecode_flush(struct linecode *l);

/* 1 when a line has started. */
int linecode_pending(const struct linecode *l);

/* Drop the partial line. */
void linecode_reset(struct linecode *l);

/* 1 if buf[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int linecode_utf8_valid(const char *buf, size_t n);

#endif
