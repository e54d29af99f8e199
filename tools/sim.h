/*
 * sim.h: what examsim's parts share.  examsim.c owns the pseudo-terminal,
 * the loop, the options and the stdin command reader; sim_wire.c owns the
 * timing of what the device sends (command latency, baud-rate wire time);
 * sim_idcard.c and sim_scanner.c each own one simulated device: they get
 * the bytes the host wrote to the pty and the stdin commands, and answer
 * through sim_write().
 */
#ifndef EXAMSITE_SIM_H
#define EXAMSITE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "err.h"

/*
 * `--timing real`: a serial reader as docs/hardware.md ("Reader timing")
 * describes it.  The baud rate and the frame sizes are the protocol's;
 * the three latencies are assumptions stated there.
 */
#define SIM_REAL_BAUD      115200
#define SIM_REAL_FIND_MS   20
#define SIM_REAL_SELECT_MS 20
#define SIM_REAL_READ_MS   400
#define SIM_LATENCY_MAX_MS 10000

struct sim_timing {
    long baud; /* wire time at 10 bits a byte; 0: none */
    int find_ms, select_ms, read_ms;
};

struct sim_wire;

struct sim {
    int master; /* pty master: the device's side */
    void *dev;  /* the simulated device's state */
    struct sim_timing timing;
    struct sim_wire *wire; /* paced output; NULL when timing is none */
};

struct sim_device {
    const char *name; /* "idcard", "scanner" */
    void *(*create)(struct err *e);
    void (*destroy)(void *dev);
    /* Bytes the host wrote. */
    void (*input)(struct sim *s, const uint8_t *buf, size_t n);
    /* One stdin command word and the rest of its line: 0 ok, 1 ok and
     * the device printed its own "ok ..." line, -1 with e. */
    int (*command)(struct sim *s, const char *word, const char *rest,
                   struct err *e);
};

extern const struct sim_device sim_idcard;
extern const struct sim_device sim_scanner;

/* Start pacing s's output on base when s->timing asks for any (a no-op
 * otherwise).  0, or -1 with e. */
int sim_wire_start(struct sim *s, struct event_base *base, struct err *e);

/* Stop pacing; unsent bytes are dropped.  Accepts s->wire NULL. */
void sim_wire_stop(struct sim *s);

/*
 * A command of rx_len bytes has just arrived whole: its answer (the next
 * sim_write) starts no sooner than the command's own wire time plus ms
 * from now.  With output still queued the answer follows it instead (the
 * reader answers one command at a time).
 */
void sim_hold(struct sim *s, int ms, size_t rx_len);

/* Write all of buf to the pty master: at once without timing, else
 * queued and sent at the baud rate.  0 or -1. */
int sim_write(struct sim *s, const uint8_t *buf, size_t n);

#endif
