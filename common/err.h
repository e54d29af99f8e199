/*
 * err.h: the one error convention of examsite.
 *
 * A function that can fail returns 0 on success and -1 on failure, and
 * fills the caller's struct err with a sysexits(3) code and one line of
 * text saying what went wrong, in words an operator can act on.  The
 * function that fails does not log; the caller decides what to do with the
 * message and reports it once (stderr for examctl, the log for daemons, an
 * error reply on the control socket).
 *
 *     struct err e;
 *     if (store_open(&st, path, &e) == -1)
 *         fatalx("%s", e.msg);
 *
 * Functions that cannot fail in interesting ways (lookups) may instead
 * return 1 found / 0 not found / -1 error, and say so in their contract.
 * A NULL struct err pointer is allowed: the message is then dropped.
 */
#ifndef EXAMSITE_ERR_H
#define EXAMSITE_ERR_H

#include <stdarg.h>
#include <sysexits.h>

#define ERR_MSG_MAX 512

struct err {
    int code;              /* sysexits value: EX_DATAERR, EX_IOERR, ... */
    int line;              /* input line the error is about, or 0 */
    char msg[ERR_MSG_MAX]; /* one line, no trailing newline */
};

/* Clear e (code 0, empty message).  Accepts NULL. */
void err_clear(struct err *e);

/* Fill e and return -1, so a failing function can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int err_vset(struct err *e, int code, const char *fmt, va_list ap);

/* As err_set, with strerror(errno) appended after ": ". */
int err_errno(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in e with "prefix: ", keeping its code. */
int err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
