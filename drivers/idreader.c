/*
 * idreader.c: the reader state machine (SAM check, find/select/read
 * polling, removal detection, retries and timeouts).  See idreader.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idframe.h"
#include "idreader.h"
#include "log.h"

enum idreader_state {
    RS_DOWN = 0, /* no transport */
    RS_IDLE,     /* nothing in flight */
    RS_SAM_STATUS,
    RS_SAM_ID,
    RS_FIND,
    RS_SELECT,
    RS_READ,
    RS_PROBE_SELECT, /* presence check of a card already handled */
};

enum idreader_card {
    CARD_NONE = 0, /* no card known */
    CARD_PRESENT,  /* read and reported; waiting for removal */
    CARD_FAILED,   /* read failed; waiting for removal */
};

struct idreader {
    struct event_base *base;
    const struct idreader_ops *ops;
    void *ops_arg;
    struct idreader_callbacks cb;
    void *cb_arg;
    struct event *ev_timeout; /* armed only while a command is in flight */
    struct event *ev_poll;    /* armed only while idle and polling */
    enum idreader_state state;
    enum idreader_card card;
    int polling;
    int sam_ok;
    int tries;    /* sends of the command in flight */
    int silent;   /* "not answering" already reported */
    uint16_t cmd; /* command in flight */
    char sam_id[48];
    struct idframe_decoder dec;
};

static void idreader_next(struct idreader *r);

static void idreader_error(struct idreader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void idreader_error(struct idreader *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->cb.error)
        r->cb.error(r->cb_arg, msg);
}

static void idreader_arm(struct event *ev, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(ev, &tv);
}

/* (Re)send the command in flight and arm its timeout. */
static void idreader_transmit(struct idreader *r)
{
    uint8_t frame[16];
    long n = idframe_encode_cmd(r->cmd, NULL, 0, frame, sizeof(frame));

    r->tries++;
    /* Anything half received belongs to an earlier exchange. */
    idframe_decoder_init(&r->dec);
    log_hexdump("idreader tx", frame, (size_t)n);
    if (r->ops->send(r->ops_arg, frame, (size_t)n) == -1)
        log_debug("idreader: send failed, waiting for the timeout");
    idreader_arm(r->ev_timeout, r->cmd == IDCMD_READ ? IDREADER_READ_TIMEOUT_MS
                                                     : IDREADER_TIMEOUT_MS);
}

static void idreader_command(struct idreader *r, enum idreader_state st,
                             uint16_t cmd)
{
    r->state = st;
    r->cmd = cmd;
    r->tries = 0;
    idreader_transmit(r);
}

/* The exchange is over: go idle, then decide what comes next. */
static void idreader_idle(struct idreader *r)
{
    evtimer_del(r->ev_timeout);
    r->state = RS_IDLE;
}

static void idreader_read_failed(struct idreader *r, const char *why)
{
    idreader_idle(r);
    r->card = CARD_FAILED;
    idreader_error(r,
                   "card read failed: %s; remove the card and lay it "
                   "on the reader again",
                   why);
}

static void idreader_card_gone(struct idreader *r)
{
    enum idreader_card was = r->card;

    idreader_idle(r);
    r->card = CARD_NONE;
    if (was == CARD_PRESENT && r->cb.removed)
        r->cb.removed(r->cb_arg);
}

static void idreader_on_read(struct idreader *r, const struct idframe *f)
{
    struct idcard_info info;
    struct err e;

    if (idtext_from_response(f->body, f->body_len, 0, &info, &e) == -1) {
        idreader_read_failed(r, e.msg);
        return;
    }
    idreader_idle(r);
    r->card = CARD_PRESENT;
    if (r->cb.card)
        r->cb.card(r->cb_arg, &info);
    idcard_info_wipe(&info);
    /* the frame itself (its text block) is as private as the card */
    explicit_bzero(r->dec.buf, sizeof(r->dec.buf));
}

static void idreader_on_sam_id(struct idreader *r, const struct idframe *f)
{
    idreader_idle(r);
    r->sam_id[0] = '\0';
    if (f->body_len == 3 + 16 && f->body[2] == IDSW_OK)
        idreader_format_sam_id(f->body + 3, r->sam_id, sizeof(r->sam_id));
    if (r->cb.ready)
        r->cb.ready(r->cb_arg, r->sam_id);
}

/* A well-formed answer to the command in flight. */
static void idreader_on_frame(struct idreader *r, const struct idframe *f)
{
    uint8_t sw;

    if (r->state == RS_IDLE || r->state == RS_DOWN) {
        log_debug("idreader: unsolicited frame ignored");
        return;
    }
    if (f->body_len < 3 || idframe_is_command(f)) {
        log_debug("idreader: ignoring a frame that is not a response");
        return;
    }
    sw = f->body[2];
    r->silent = 0;
    if ((sw == IDSW_BAD_CHECKSUM || sw == 0x11) &&
        r->tries <= IDREADER_RETRIES) {
        idreader_transmit(r); /* the reader got our frame garbled */
        return;
    }
    switch (r->state) {
    case RS_SAM_STATUS:
        if (sw != IDSW_OK) {
            idreader_idle(r);
            r->sam_ok = 0;
            idreader_error(r, "SAM status %02X: %s", sw,
                           idframe_status_text(sw));
            break;
        }
        r->sam_ok = 1;
        idreader_command(r, RS_SAM_ID, IDCMD_SAM_ID);
        break;
    case RS_SAM_ID:
        idreader_on_sam_id(r, f);
        break;
    case RS_FIND:
        if (sw == IDSW_FOUND) {
            if (r->card == CARD_NONE)
                idreader_command(r, RS_SELECT, IDCMD_SELECT);
            else
                idreader_idle(r); /* the same card is still there */
        } else if (r->card != CARD_NONE && sw == IDSW_NO_CARD) {
            idreader_command(r, RS_PROBE_SELECT, IDCMD_SELECT);
        } else {
            idreader_idle(r);
        }
        break;
    case RS_PROBE_SELECT:
        if (sw == IDSW_OK)
            idreader_idle(r);
        else
            idreader_card_gone(r);
        break;
    case RS_SELECT:
        if (sw == IDSW_OK)
            idreader_command(r, RS_READ, IDCMD_READ);
        else
            idreader_idle(r); /* the card left between find and select */
        break;
    case RS_READ:
        if (sw != IDSW_OK) {
            char why[96];
            snprintf(why, sizeof(why), "status %02X, %s", sw,
                     idframe_status_text(sw));
            idreader_read_failed(r, why);
        } else {
            idreader_on_read(r, f);
        }
        break;
    default:
        return;
    }
    idreader_next(r);
}

void idreader_input(struct idreader *r, const uint8_t *buf, size_t n)
{
    size_t used;
    struct idframe f;

    while (n > 0 && r->state != RS_DOWN) {
        enum idframe_result res =
            idframe_decoder_feed(&r->dec, buf, n, &used, &f);
        buf += used;
        n -= used;
        switch (res) {
        case IDFRAME_MORE:
            break;
        case IDFRAME_OK:
            /* Headers only: the text block after byte 10 may hold an
             * ID number and must never reach a log. */
            log_hexdump("idreader rx header", f.raw,
                        f.raw_len < 10 ? f.raw_len : 10);
            if (r->dec.skipped > 0)
                log_debug("idreader: %zu bytes before the frame skipped",
                          r->dec.skipped);
            idreader_on_frame(r, &f);
            break;
        case IDFRAME_BADSUM:
            log_debug("idreader: frame with a bad checksum");
            if (r->state != RS_IDLE && r->tries <= IDREADER_RETRIES)
                idreader_transmit(r);
            break;
        case IDFRAME_BADLEN:
            log_debug("idreader: frame length %u out of bounds", r->dec.badlen);
            break;
        }
    }
}

static void idreader_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct idreader *r = arg;

    (void)fd;
    (void)what;
    if (r->tries <= IDREADER_RETRIES) {
        idreader_transmit(r);
        return;
    }
    if (r->state == RS_READ) {
        idreader_read_failed(r, "the reader stopped answering mid-read");
    } else if (r->state == RS_SAM_ID) {
        /* Some modules have no ID to give; the SAM itself is fine. */
        idreader_idle(r);
        r->sam_id[0] = '\0';
        if (r->cb.ready)
            r->cb.ready(r->cb_arg, r->sam_id);
    } else {
        if (r->state == RS_SAM_STATUS)
            r->sam_ok = 0;
        idreader_idle(r);
        if (!r->silent)
            idreader_error(r, "the reader does not answer (command %04X)",
                           r->cmd);
        r->silent = 1;
    }
    idreader_next(r);
}

/* Idle: start the next exchange now (SAM first) or arm the poll timer. */
static void idreader_next(struct idreader *r)
{
    if (r->state != RS_IDLE)
        return;
    if (r->polling && !evtimer_pending(r->ev_poll, NULL))
        idreader_arm(r->ev_poll, IDREADER_POLL_MS);
}

static void idreader_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct idreader *r = arg;

    (void)fd;
    (void)what;
    if (r->state != RS_IDLE || !r->polling)
        return;
    if (!r->sam_ok)
        idreader_command(r, RS_SAM_STATUS, IDCMD_SAM_STATUS);
    else
        idreader_command(r, RS_FIND, IDCMD_FIND);
}

struct idreader *idreader_new(struct event_base *base,
                              const struct idreader_ops *ops, void *ops_arg,
                              const struct idreader_callbacks *cb, void *cb_arg,
                              struct err *e)
{
    struct idreader *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        err_errno(e, EX_OSERR, "idreader");
        return NULL;
    }
    r->base = base;
    r->ops = ops;
    r->ops_arg = ops_arg;
    r->cb = *cb;
    r->cb_arg = cb_arg;
    r->ev_timeout = evtimer_new(base, idreader_timeout_cb, r);
    r->ev_poll = evtimer_new(base, idreader_poll_cb, r);
    if (r->ev_timeout == NULL || r->ev_poll == NULL) {
        err_set(e, EX_OSERR, "idreader: cannot create timers");
        idreader_free(r);
        return NULL;
    }
    idframe_decoder_init(&r->dec);
    return r;
}

void idreader_free(struct idreader *r)
{
    if (r == NULL)
        return;
    if (r->ev_poll)
        event_free(r->ev_poll);
    if (r->ev_timeout)
        event_free(r->ev_timeout);
    explicit_bzero(&r->dec, sizeof(r->dec));
    free(r);
}

void idreader_attach(struct idreader *r)
{
    r->card = CARD_NONE;
    r->sam_ok = 0;
    r->silent = 0;
    r->sam_id[0] = '\0';
    idframe_decoder_init(&r->dec);
    idreader_command(r, RS_SAM_STATUS, IDCMD_SAM_STATUS);
}

void idreader_detach(struct idreader *r)
{
    evtimer_del(r->ev_timeout);
    evtimer_del(r->ev_poll);
    r->state = RS_DOWN;
    r->card = CARD_NONE;
    r->sam_ok = 0;
    /* The buffer may hold half a text block. */
    explicit_bzero(&r->dec, sizeof(r->dec));
    idframe_decoder_init(&r->dec);
}

void idreader_set_polling(struct idreader *r, int on)
{
    r->polling = on != 0;
    if (!r->polling) {
        evtimer_del(r->ev_poll);
        if (r->card != CARD_NONE)
            r->card = CARD_NONE;
        return;
    }
    idreader_next(r);
}

int idreader_polling(const struct idreader *r)
{
    return r->polling;
}

int idreader_sam_ok(const struct idreader *r)
{
    return r->sam_ok;
}

const char *idreader_sam_id(const struct idreader *r)
{
    return r->sam_id;
}

static uint32_t idreader_le(const uint8_t *p, int n)
{
    uint32_t v = 0;

    while (n-- > 0)
        v = v << 8 | p[n];
    return v;
}

void idreader_format_sam_id(const uint8_t id[16], char *out, size_t outlen)
{
    snprintf(out, outlen, "%02u.%02u-%08u-%010u-%010u",
             (unsigned)idreader_le(id, 2), (unsigned)idreader_le(id + 2, 2),
             (unsigned)idreader_le(id + 4, 4), (unsigned)idreader_le(id + 8, 4),
             (unsigned)idreader_le(id + 12, 4));
}
