/*
 * sim_scanner.c: examsim's barcode scanner in serial mode.  `scan TEXT`
 * sends TEXT followed by CR LF, as scanners configured for USB CDC or
 * RS-232 do.  `type TEXT` sends TEXT alone, as a scanner set to send no
 * terminator does.  `junk N` sends N bytes (up to 64 MiB) of digits
 * without a terminator, a scanner gone mad.  Whatever the host writes is
 * ignored.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "number.h"
#include "sim.h"

#define SIM_JUNK_MAX     (64L << 20)
#define SIM_JUNK_WAIT_MS 30000 /* the host stopped reading */

static void *sim_scanner_create(struct err *e)
{
    /* No state; any non-NULL pointer will do. */
    (void)e;
    return (void *)&sim_scanner;
}

static void sim_scanner_destroy(void *dev)
{
    (void)dev;
}

static void sim_scanner_input(struct sim *s, const uint8_t *buf, size_t n)
{
    (void)s;
    (void)buf;
    (void)n;
}

/* Much more than the pty holds: write as the host reads, waiting for
 * room (the simulator has nothing else to do meanwhile). */
static int sim_scanner_junk(struct sim *s, long n, struct err *e)
{
    uint8_t buf[4096];

    memset(buf, '7', sizeof(buf));
    while (n > 0) {
        struct pollfd p = {.fd = s->master, .events = POLLOUT};
        size_t chunk = n < (long)sizeof(buf) ? (size_t)n : sizeof(buf);
        ssize_t w;
        int r = poll(&p, 1, SIM_JUNK_WAIT_MS);

        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return err_set(e, EX_IOERR, "the host stopped reading");
        w = write(s->master, buf, chunk);
        if (w == -1 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return err_errno(e, EX_IOERR, "pty write");
        n -= (long)w;
    }
    return 0;
}

static int sim_scanner_command(struct sim *s, const char *word,
                               const char *rest, struct err *e)
{
    if (strcmp(word, "junk") == 0) {
        long long n;

        if (number_parse(rest, 1, SIM_JUNK_MAX, &n) == -1)
            return err_set(e, EX_USAGE, "usage: junk BYTES (1..%ld)",
                           SIM_JUNK_MAX);
        return sim_scanner_junk(s, n, e);
    }
    if (strcmp(word, "scan") != 0 && strcmp(word, "type") != 0)
        return err_set(e, EX_USAGE, "unknown command \"%s\"", word);
    if (*rest == '\0')
        return err_set(e, EX_USAGE, "usage: %s TEXT", word);
    if (sim_write(s, (const uint8_t *)rest, strlen(rest)) == -1 ||
        (word[0] == 's' && sim_write(s, (const uint8_t *)"\r\n", 2) == -1))
        return err_errno(e, EX_IOERR, "pty write");
    return 0;
}

const struct sim_device sim_scanner = {
    .name = "scanner",
    .create = sim_scanner_create,
    .destroy = sim_scanner_destroy,
    .input = sim_scanner_input,
    .command = sim_scanner_command,
};
