/*
 * log.c: one small logger for every binary (stderr or syslog), with the
 * ID-number redaction every line goes through.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>

#include "idnumber.h"
#include "log.h"

#define LOG_LINE_MAX 2048

static const char *log_prog = "examsite";
static int log_to_stderr = 1;
static enum log_level log_level = LOG_LVL_INFO;

void log_init(const char *prog, int dest_stderr, enum log_level level)
{
    log_prog = prog;
    log_to_stderr = dest_stderr;
    log_level = level;
    if (!dest_stderr)
        openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

const char *log_progname(void)
{
    return log_prog;
}

void log_redact(char *s)
{
    idnumber_redact(s);
}

static void log_emit(enum log_level lvl, int with_errno, const char *fmt,
                     va_list ap)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char line[LOG_LINE_MAX];
    int saved = errno;
    size_t n;

    if (lvl > log_level)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (with_errno) {
        n = strlen(line);
        snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
    }
    log_redact(line);
    if (log_to_stderr) {
        fprintf(stderr, "%s: %s\n", log_prog, line);
        fflush(stderr);
    } else {
        syslog(prio[lvl], "%s", line);
    }
    errno = saved;
}

#define LOG_FN(name, lvl, with_errno)                                          \
    void name(const char *fmt, ...)                                            \
    {                                                                          \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_emit(lvl, with_errno, fmt, ap);                                    \
        va_end(ap);                                                            \
    }

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(LOG_LVL_ERR, 1, fmt, ap);
    va_end(ap);
    exit(EX_SOFTWARE);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(LOG_LVL_ERR, 0, fmt, ap);
    va_end(ap);
    exit(EX_SOFTWARE);
}

void log_hexdump(const char *label, const void *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = buf;
    char line[3 * 32 + 1];
    size_t off, i, k;

    if (log_level < LOG_LVL_DEBUG)
        return;
    for (off = 0; off < len; off += 32) {
        for (i = off, k = 0; i < len && i < off + 32; i++) {
            line[k++] = hex[p[i] >> 4];
            line[k++] = hex[p[i] & 15];
            line[k++] = ' ';
        }
        line[k ? k - 1 : 0] = '\0';
        log_debug("%s +%04zx: %s", label, off, line);
    }
}
