/*
 * log.h: logging shared by every examsite binary.
 *
 * In the foreground (or when stderr is a terminal) messages go to stderr as
 * "prog: message"; a daemon started by systemd logs to syslog, which the
 * journal collects.  log_warn appends strerror(errno); the x variants do
 * not.  fatal/fatalx log and exit(EX_SOFTWARE... or the given code).
 *
 * Privacy guard: every message passes through log_redact(), which masks
 * anything shaped like a resident ID number (17 digits and a digit or X).
 * Code must never log one on purpose; this catches the accident.
 */
#ifndef EXAMSITE_LOG_H
#define EXAMSITE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* dest_stderr: 1 stderr, 0 syslog.  Level: messages above it are dropped. */
void log_init(const char *prog, int dest_stderr, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
const char *log_progname(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Hex dump of a device frame at debug level only; label says which. */
void log_hexdump(const char *label, const void *buf, size_t len);

/*
 * Mask every ID-number-shaped run in s in place: 17 digits followed by a
 * digit or X/x become the first 6 and last 4 with '*' between.
 */
void log_redact(char *s);

#endif
