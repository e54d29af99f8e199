/*
 * serial.c: termios setup and the fd in the loop.  See serial.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "serial.h"

struct serial_port {
    int fd;
    struct event *ev;
    serial_data_fn on_data;
    serial_gone_fn on_gone;
    void *arg;
};

int serial_speed(int baud, unsigned *speed)
{
    static const struct {
        int baud;
        speed_t speed;
    } rates[] = {
        {1200, B1200},     {2400, B2400},     {4800, B4800},
        {9600, B9600},     {19200, B19200},   {38400, B38400},
        {57600, B57600},   {115200, B115200}, {230400, B230400},
        {460800, B460800}, {921600, B921600},
    };
    size_t i;

    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        if (rates[i].baud == baud) {
            *speed = rates[i].speed;
            return 0;
        }
    }
    return -1;
}

static void serial_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct serial_port *sp = arg;
    uint8_t buf[4096];
    ssize_t n;

    (void)what;
    n = read(fd, buf, sizeof(buf));
    if (n > 0) {
        sp->on_data(sp->arg, buf, (size_t)n);
        /* a reader's bytes are a card's text: not left on the stack */
        explicit_bzero(buf, (size_t)n);
        return;
    }
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    event_del(sp->ev);
    sp->on_gone(sp->arg, n == 0 ? "the serial port closed"
                                : "the serial port failed (unplugged?)");
}

struct serial_port *serial_open(struct event_base *base, const char *path,
                                int baud, serial_data_fn on_data,
                                serial_gone_fn on_gone, void *arg,
                                struct err *e)
{
    struct serial_port *sp;
    struct termios tio;
    unsigned speed;

    if (baud == 0)
        baud = SERIAL_DEFAULT_BAUD;
    if (serial_speed(baud, &speed) == -1) {
        err_set(e, EX_USAGE, "unsupported baud rate %d", baud);
        return NULL;
    }
    if ((sp = calloc(1, sizeof(*sp))) == NULL) {
        err_errno(e, EX_OSERR, "serial");
        return NULL;
    }
    sp->on_data = on_data;
    sp->on_gone = on_gone;
    sp->arg = arg;
    sp->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (sp->fd == -1) {
        err_errno(e, EX_UNAVAILABLE, "cannot open %s", path);
        goto fail;
    }
    if (tcgetattr(sp->fd, &tio) == -1) {
        err_errno(e, EX_UNAVAILABLE, "%s is not a serial port", path);
        goto fail;
    }
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, (speed_t)speed);
    cfsetospeed(&tio, (speed_t)speed);
    if (tcsetattr(sp->fd, TCSANOW, &tio) == -1) {
        err_errno(e, EX_UNAVAILABLE, "cannot configure %s", path);
        goto fail;
    }
    /* Answers to commands nobody is waiting for any more. */
    tcflush(sp->fd, TCIFLUSH);
    sp->ev = event_new(base, sp->fd, EV_READ | EV_PERSIST, serial_read_cb, sp);
    if (sp->ev == NULL || event_add(sp->ev, NULL) == -1) {
        err_set(e, EX_OSERR, "cannot watch %s", path);
        goto fail;
    }
    return sp;
fail:
    serial_close(sp);
    return NULL;
}

int serial_write(struct serial_port *sp, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(sp->fd, buf, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

void serial_close(struct serial_port *sp)
{
    if (sp == NULL)
        return;
    if (sp->ev)
        event_free(sp->ev);
    if (sp->fd != -1)
        close(sp->fd);
    free(sp);
}
