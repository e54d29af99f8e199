/*
 * linecode.h: barcode scanners in serial mode (USB CDC or RS-232) send
 * each code as a line ended by CR, LF or CR LF.  This decoder cuts a byte
 * stream, in any chunking, into codes.  Empty lines are dropped (so CR LF
 * gives one code).  A line longer than LINECODE_MAX_CODE bytes, or one
 * with control characters or bytes that are not UTF-8, is reported as an
 * error and discarded whole.  No allocation, no I/O.
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
    int overlong;
    int bad; /* control character seen */
    linecode_code_fn on_code;
    linecode_error_fn on_error;
    void *arg;
    char buf[LINECODE_MAX_CODE + 1];
};

/* Prepare l; either callback may be NULL. */
void linecode_init(struct linecode *l, linecode_code_fn on_code,
                   linecode_error_fn on_error, void *arg);

/* Feed n bytes; callbacks run from inside, once per finished line.  A
 * callback may call linecode_reset() on l. */
void linecode_feed(struct linecode *l, const uint8_t *buf, size_t n);

/* End the pending line, if any, as if a terminator came (idle gap). */
void linecode_flush(struct linecode *l);

/* 1 when a line has started. */
int linecode_pending(const struct linecode *l);

/* Drop the partial line. */
void linecode_reset(struct linecode *l);

/* 1 if buf[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int linecode_utf8_valid(const char *buf, size_t n);

#endif
