/*
 * sim_scanner.c: examsim's barcode scanner in serial mode.  `scan TEXT`
 * sends TEXT followed by CR LF, as scanners configured for USB CDC or
 * RS-232 do.  Whatever the host writes is ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

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

static int sim_scanner_command(struct sim *s, const char *word,
                               const char *rest, struct err *e)
{
    if (strcmp(word, "scan") != 0)
        return err_set(e, EX_USAGE, "unknown command \"%s\"", word);
    if (*rest == '\0')
        return err_set(e, EX_USAGE, "usage: scan TEXT");
    if (sim_write(s, (const uint8_t *)rest, strlen(rest)) == -1 ||
        sim_write(s, (const uint8_t *)"\r\n", 2) == -1)
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
