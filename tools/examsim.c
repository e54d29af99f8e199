/*
 * examsim.c: device simulators on a pseudo-terminal, for demos and tests.
 *
 *   examsim idcard --pty [TIMING]    an ID-card reader speaking the SAM
 *                                    protocol
 *   examsim scanner --pty [TIMING]   a barcode scanner in serial mode
 *
 * TIMING (sim_wire.c): --timing real|none, --baud N, --latency
 * find=MS,select=MS,read=MS; later options override earlier ones.  The
 * default is none, answers at once, so the tests run fast; the benches
 * and demos ask for real.
 *
 * The first stdout line is the pty slave path (the "device" to open).
 * Then stdin takes one command per line (see sim_idcard.c, sim_scanner.c;
 * both know `quit`), and after each command one line goes to stdout:
 * "ok", or "error: reason", so a test can wait for it before going on.
 * EOF on stdin is `quit`.  The simulator keeps its own slave fd open so
 * the pty survives the host closing and reopening it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "number.h"
#include "serial.h"
#include "sim.h"

#define SIM_LINE_MAX 4096

struct simloop {
    struct sim sim;
    const struct sim_device *devtype;
    struct event_base *base;
    struct event *ev_master, *ev_stdin;
    struct evbuffer *in;
    int slave;
};

/* Every command sim_idcard.c and sim_scanner.c take, and quit. */
static void sim_usage(FILE *f)
{
    fprintf(f,
            "usage: examsim idcard --pty [TIMING]\n"
            "       examsim scanner --pty [TIMING]\n"
            "TIMING (later options override earlier ones):\n"
            "  --timing real|none  real: %d baud, find %d ms, select %d "
            "ms, read %d ms;\n"
            "                      none (the default): answers at once\n"
            "  --baud N            wire time at N baud, 10 bits a byte "
            "(0: none)\n"
            "  --latency find=MS,select=MS,read=MS\n"
            "                      the reader's time to answer each "
            "command\n"
            "The first output line is the pty path.  Commands on stdin, "
            "one a line:\n"
            "  idcard:  place CARD.json | remove | fault KIND | status | "
            "quit\n"
            "           KIND: no-card bad-checksum truncated garbage\n"
            "                 no-answer sam-fail removed-mid-read clear\n"
            "           (status answers \"ok present=0|1 "
            "faults=LIST|none\")\n"
            "  scanner: scan TEXT | type TEXT | junk BYTES | quit\n"
            "           (scan: TEXT and CR LF; type: TEXT alone; junk: "
            "BYTES digits,\n"
            "           no CR LF, up to 64 MiB)\n"
            "Each command answers \"ok\" or \"error: reason\"; end of "
            "input is quit.\n",
            SIM_REAL_BAUD, SIM_REAL_FIND_MS, SIM_REAL_SELECT_MS,
            SIM_REAL_READ_MS);
}

static int sim_open_pty(struct simloop *l, struct err *e)
{
    struct termios tio;
    const char *name;

    l->sim.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (l->sim.master == -1 || grantpt(l->sim.master) == -1 ||
        unlockpt(l->sim.master) == -1 ||
        (name = ptsname(l->sim.master)) == NULL)
        return err_errno(e, EX_OSERR, "cannot create a pseudo-terminal");
    l->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (l->slave == -1)
        return err_errno(e, EX_OSERR, "cannot open %s", name);
    /* Raw both ways: protocol bytes, no echo, no CR/LF translation. */
    if (tcgetattr(l->slave, &tio) == 0) {
        cfmakeraw(&tio);
        unsigned speed;
        if (serial_speed(l->sim.timing.baud > 0 ? (int)l->sim.timing.baud
                                                : SERIAL_DEFAULT_BAUD,
                         &speed) == -1)
            speed = B115200; /* a rate termios has no name for */
        cfsetispeed(&tio, (speed_t)speed);
        cfsetospeed(&tio, (speed_t)speed);
        tcsetattr(l->slave, TCSANOW, &tio);
    }
    if (fcntl(l->sim.master, F_SETFL, O_NONBLOCK) == -1)
        return err_errno(e, EX_OSERR, "pty");
    printf("%s\n", name);
    fflush(stdout);
    return 0;
}

static void sim_master_cb(evutil_socket_t fd, short what, void *arg)
{
    struct simloop *l = arg;
    uint8_t buf[4096];
    ssize_t n;

    (void)what;
    n = read(fd, buf, sizeof(buf));
    if (n > 0)
        l->devtype->input(&l->sim, buf, (size_t)n);
    /* EIO cannot happen while we hold the slave open; EAGAIN is fine. */
}

/* One command line; returns 1 on quit. */
static int sim_command(struct simloop *l, char *line)
{
    char *word = line, *rest;
    struct err e;

    while (*word == ' ' || *word == '\t')
        word++;
    rest = word + strcspn(word, " \t");
    if (*rest != '\0')
        *rest++ = '\0';
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*word == '\0')
        return 0;
    if (strcmp(word, "quit") == 0) {
        printf("ok\n");
        fflush(stdout);
        return 1;
    }
    err_clear(&e);
    switch (l->devtype->command(&l->sim, word, rest, &e)) {
    case 0:
        printf("ok\n");
        break;
    case 1:
        break; /* the device printed its own "ok ..." line */
    default:
        printf("error: %s\n", e.msg);
        break;
    }
    fflush(stdout);
    return 0;
}

static void sim_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    struct simloop *l = arg;
    char *line;
    size_t len;
    int n;

    (void)what;
    n = evbuffer_read(l->in, fd, SIM_LINE_MAX);
    while ((line = evbuffer_readln(l->in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
        int quit = sim_command(l, line);
        free(line);
        if (quit) {
            event_base_loopexit(l->base, NULL);
            return;
        }
    }
    if (evbuffer_get_length(l->in) > SIM_LINE_MAX) {
        printf("error: line too long\n");
        fflush(stdout);
        evbuffer_drain(l->in, evbuffer_get_length(l->in));
    }
    if (n <= 0 && !(n == -1 && (errno == EAGAIN || errno == EINTR)))
        event_base_loopexit(l->base, NULL); /* EOF: quit */
}

static int sim_run(struct simloop *l, struct err *e)
{
    if ((l->base = event_base_new()) == NULL ||
        (l->in = evbuffer_new()) == NULL)
        return err_set(e, EX_OSERR, "libevent");
    if (sim_open_pty(l, e) == -1)
        return -1;
    if ((l->sim.dev = l->devtype->create(e)) == NULL ||
        sim_wire_start(&l->sim, l->base, e) == -1)
        return -1;
    l->ev_master = event_new(l->base, l->sim.master, EV_READ | EV_PERSIST,
                             sim_master_cb, l);
    l->ev_stdin =
        event_new(l->base, STDIN_FILENO, EV_READ | EV_PERSIST, sim_stdin_cb, l);
    if (l->ev_master == NULL || l->ev_stdin == NULL ||
        event_add(l->ev_master, NULL) == -1 ||
        event_add(l->ev_stdin, NULL) == -1)
        return err_set(e, EX_OSERR, "libevent: cannot watch the pty or stdin");
    event_base_dispatch(l->base);
    return 0;
}

static void sim_cleanup(struct simloop *l)
{
    if (l->ev_stdin)
        event_free(l->ev_stdin);
    if (l->ev_master)
        event_free(l->ev_master);
    sim_wire_stop(&l->sim);
    if (l->sim.dev)
        l->devtype->destroy(l->sim.dev);
    if (l->in)
        evbuffer_free(l->in);
    if (l->slave != -1)
        close(l->slave);
    if (l->sim.master != -1)
        close(l->sim.master);
    if (l->base)
        event_base_free(l->base);
}

/* "find=MS,select=MS,read=MS", any subset, any order.  0 or -1. */
static int sim_parse_latency(const char *arg, struct sim_timing *t)
{
    static const char *const names[] = {"find", "select", "read"};
    int *fields[] = {&t->find_ms, &t->select_ms, &t->read_ms};
    const char *p = arg;

    while (*p != '\0') {
        size_t k, len = strcspn(p, "=");
        char *end;
        long v;

        for (k = 0; k < 3; k++)
            if (strlen(names[k]) == len && strncmp(p, names[k], len) == 0)
                break;
        if (k == 3 || p[len] != '=')
            return -1;
        p += len + 1;
        if (*p < '0' || *p > '9')
            return -1;
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno != 0 || v > SIM_LATENCY_MAX_MS || (*end != ',' && *end))
            return -1;
        *fields[k] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* The options after --pty.  0, or -1 having said what is wrong. */
static int sim_parse_timing(int argc, char **argv, struct sim_timing *t)
{
    int i;

    for (i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n;

        if (v == NULL) {
            fprintf(stderr, "examsim: %s needs a value\n", argv[i]);
            return -1;
        }
        if (strcmp(argv[i], "--timing") == 0 && strcmp(v, "real") == 0) {
            t->baud = SIM_REAL_BAUD;
            t->find_ms = SIM_REAL_FIND_MS;
            t->select_ms = SIM_REAL_SELECT_MS;
            t->read_ms = SIM_REAL_READ_MS;
        } else if (strcmp(argv[i], "--timing") == 0 && strcmp(v, "none") == 0) {
            memset(t, 0, sizeof(*t));
        } else if (strcmp(argv[i], "--baud") == 0) {
            if (number_parse(v, 0, 4000000, &n) == -1) {
                fprintf(stderr,
                        "examsim: --baud takes 0..4000000, not "
                        "\"%s\"\n",
                        v);
                return -1;
            }
            t->baud = (long)n;
        } else if (strcmp(argv[i], "--latency") == 0) {
            if (sim_parse_latency(v, t) == -1) {
                fprintf(stderr,
                        "examsim: --latency takes "
                        "find=MS,select=MS,read=MS (0..%d), not "
                        "\"%s\"\n",
                        SIM_LATENCY_MAX_MS, v);
                return -1;
            }
        } else {
            fprintf(stderr, "examsim: unknown option \"%s %s\"\n", argv[i], v);
            return -1;
        }
        i++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct simloop l;
    struct err e;
    int rc = 0;

    log_init("examsim", 1, LOG_LVL_WARN);
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        sim_usage(stdout);
        return 0;
    }
    memset(&l, 0, sizeof(l));
    l.sim.master = -1;
    l.slave = -1;
    if (argc < 3 || strcmp(argv[2], "--pty") != 0) {
        sim_usage(stderr);
        return EX_USAGE;
    }
    if (sim_parse_timing(argc - 3, argv + 3, &l.sim.timing) == -1)
        return EX_USAGE;
    if (strcmp(argv[1], "idcard") == 0)
        l.devtype = &sim_idcard;
    else if (strcmp(argv[1], "scanner") == 0)
        l.devtype = &sim_scanner;
    else {
        sim_usage(stderr);
        return EX_USAGE;
    }
    if (sim_run(&l, &e) == -1) {
        fprintf(stderr, "examsim: %s\n", e.msg);
        rc = e.code;
    }
    sim_cleanup(&l);
    return rc;
}
