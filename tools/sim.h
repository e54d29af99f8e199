/*
 * sim.h: what examsim's parts share.  examsim.c owns the pseudo-terminal,
 * the loop and the stdin command reader; sim_idcard.c and sim_scanner.c
 * each own one simulated device: they get the bytes the host wrote to the
 * pty and the stdin commands, and answer through sim_write().
 */
#ifndef EXAMSITE_SIM_H
#define EXAMSITE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct sim {
    int master; /* pty master: the device's side */
    void *dev;  /* the simulated device's state */
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

/* Write all of buf to the pty master.  0 or -1. */
int sim_write(struct sim *s, const uint8_t *buf, size_t n);

#endif
