/*
 * serial.h: a serial port (a USB-serial adapter, a CDC-ACM scanner or a
 * pseudo-terminal) as a raw 8N1 fd in the caller's libevent loop.
 */
#ifndef EXAMSITE_SERIAL_H
#define EXAMSITE_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "err.h"

#define SERIAL_DEFAULT_BAUD 115200

struct serial_port;

/* Bytes arrived (any chunking). */
typedef void (*serial_data_fn)(void *arg, const uint8_t *buf, size_t n);
/* The port failed or went away (EOF, EIO after an unplug); reason is a
 * sentence.  No more callbacks follow; the callee may serial_close(). */
typedef void (*serial_gone_fn)(void *arg, const char *reason);

/*
 * Open path non-blocking, without becoming its controlling terminal, set
 * it raw 8N1 at baud (0: SERIAL_DEFAULT_BAUD; the standard rates from 1200
 * to 921600), flush stale input, and watch it on base.  NULL with e
 * (EX_UNAVAILABLE when it cannot be opened, EX_USAGE for a bad rate).
 */
struct serial_port *serial_open(struct event_base *base, const char *path,
                                int baud, serial_data_fn on_data,
                                serial_gone_fn on_gone, void *arg,
                                struct err *e);

/* Write a whole frame.  0, or -1 when the port does not take it all at
 * once (frames are small; the protocol's retry covers a lost one). */
int serial_write(struct serial_port *sp, const uint8_t *buf, size_t n);

/* Stop watching and close.  Accepts NULL. */
void serial_close(struct serial_port *sp);

/* Map a rate to a termios speed; -1 if not supported. */
int serial_speed(int baud, unsigned *speed);

#endif
