/*
 * sim_wire.c: the time a simulated device's answer takes to reach the
 * host.  A real reader answers a command after its own latency, then its
 * UART sends 10 bits a byte (start, 8 data, stop) at the baud rate; a
 * pseudo-terminal ignores the rate and would hand the host 1,295 bytes at
 * once.  So the bytes are queued and written as the wall clock makes them
 * due: the host really receives them at the rate (docs/hardware.md,
 * "Reader timing").  Everything is timed from one start per run of bytes,
 * so the rounding of the timer does not add up.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "sim.h"

#define SIM_TICK_MIN_MS 1.0 /* never wake more often than this */

struct sim_wire {
    struct event *ev;
    struct evbuffer *q;
    double t0;     /* when the first byte of this run may go (ms) */
    uint64_t sent; /* bytes of this run written since t0 */
    int held;      /* t0 was set by sim_hold for the next answer */
};

static double sim_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Wire time of n bytes at baud, in ms. */
static double sim_wire_ms(long baud, uint64_t n)
{
    return baud > 0 ? (double)n * 10.0 * 1000.0 / (double)baud : 0.0;
}

static void sim_wire_arm(struct sim_wire *w, double ms)
{
    struct timeval tv;
    long us = (long)(ms * 1000.0);

    if (us < 0)
        us = 0;
    tv.tv_sec = us / 1000000;
    tv.tv_usec = us % 1000000;
    evtimer_add(w->ev, &tv);
}

/* Write what the clock has made due; arm the timer for the rest. */
static void sim_wire_flush(struct sim *s)
{
    struct sim_wire *w = s->wire;
    size_t have = evbuffer_get_length(w->q);
    double now = sim_now_ms(), next;
    uint64_t due;

    if (have == 0)
        return;
    if (now < w->t0) {
        sim_wire_arm(w, w->t0 - now);
        return;
    }
    if (s->timing.baud > 0) {
        /* bytes whose last bit has gone by now, less those written */
        due = (uint64_t)((now - w->t0) * (double)s->timing.baud / 10000.0);
        due = due > w->sent ? due - w->sent : 0;
    } else {
        due = have;
    }
    if (due > have)
        due = have;
    if (due > 0) {
        int n = evbuffer_write_atmost(w->q, s->master, (ev_ssize_t)due);
        if (n > 0)
            w->sent += (uint64_t)n;
        else if (n == -1 && errno != EAGAIN && errno != EINTR)
            evbuffer_drain(w->q, evbuffer_get_length(w->q)); /* host gone */
    }
    if (evbuffer_get_length(w->q) == 0)
        return;
    next = w->t0 + sim_wire_ms(s->timing.baud, w->sent + 1) - sim_now_ms();
    sim_wire_arm(w, next > SIM_TICK_MIN_MS ? next : SIM_TICK_MIN_MS);
}

static void sim_wire_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sim_wire_flush(arg);
}

int sim_wire_start(struct sim *s, struct event_base *base, struct err *e)
{
    const struct sim_timing *t = &s->timing;

    if (t->baud == 0 && t->find_ms == 0 && t->select_ms == 0 && t->read_ms == 0)
        return 0;
    if ((s->wire = calloc(1, sizeof(*s->wire))) == NULL ||
        (s->wire->q = evbuffer_new()) == NULL ||
        (s->wire->ev = evtimer_new(base, sim_wire_cb, s)) == NULL)
        return err_set(e, EX_OSERR, "examsim: cannot set up the timing");
    return 0;
}

void sim_wire_stop(struct sim *s)
{
    if (s->wire == NULL)
        return;
    if (s->wire->ev)
        event_free(s->wire->ev);
    if (s->wire->q)
        evbuffer_free(s->wire->q);
    free(s->wire);
    s->wire = NULL;
}

void sim_hold(struct sim *s, int ms, size_t rx_len)
{
    struct sim_wire *w = s->wire;

    if (w == NULL || evbuffer_get_length(w->q) > 0)
        return;
    w->t0 = sim_now_ms() + sim_wire_ms(s->timing.baud, rx_len) + ms;
    w->sent = 0;
    w->held = 1;
}

int sim_write(struct sim *s, const uint8_t *buf, size_t n)
{
    struct sim_wire *w = s->wire;

    if (w == NULL) {
        while (n > 0) {
            ssize_t r = write(s->master, buf, n);
            if (r == -1 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            buf += r;
            n -= (size_t)r;
        }
        return 0;
    }
    if (evbuffer_get_length(w->q) == 0) {
        double now = sim_now_ms();
        /* a hold already past (its answer was never sent) counts not */
        w->t0 = w->held && w->t0 > now ? w->t0 : now;
        w->sent = 0;
    }
    w->held = 0;
    if (evbuffer_add(w->q, buf, n) == -1)
        return -1;
    sim_wire_flush(s);
    return 0;
}
