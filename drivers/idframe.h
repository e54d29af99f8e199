/*
 * idframe.h: the framing of the resident ID-card reader's SAM protocol
 * (GA 467; see docs/idcard-protocol.md): the frame encoder, an
 * incremental decoder, and the tables of commands and status codes.
 *
 *   command : AA AA AA 96 69 | LEN_H LEN_L | CMD PARA [DATA] | CHK
 *   response: AA AA AA 96 69 | LEN_H LEN_L | SW1 SW2 SW3 [DATA] | CHK
 *
 * LEN is big-endian and counts every byte after itself, CHK included, so a
 * frame is LEN + 7 bytes.  CHK is the XOR of LEN_H up to the byte before
 * CHK.  Nothing here allocates, logs or knows about transports.
 */
#ifndef EXAMSITE_IDFRAME_H
#define EXAMSITE_IDFRAME_H

#include <stddef.h>
#include <stdint.h>

#define IDFRAME_PREAMBLE_LEN 5
#define IDFRAME_HDR_LEN      7 /* preamble + LEN */
#define IDFRAME_MIN_LEN      3 /* CMD PARA CHK */
/* Largest LEN accepted: a 30 10 read with a 1,024-byte fingerprint block
 * is 0x090A; anything beyond this is a corrupt length, not a frame. */
#define IDFRAME_MAX_LEN   0x0A00
#define IDFRAME_MAX_FRAME (IDFRAME_MAX_LEN + IDFRAME_HDR_LEN)

/* Commands (CMD, PARA) the host sends. */
#define IDCMD_RESET      0x10FF
#define IDCMD_SAM_STATUS 0x11FF
#define IDCMD_SAM_ID     0x12FF
#define IDCMD_FIND       0x2001
#define IDCMD_SELECT     0x2002
#define IDCMD_READ       0x3001
#define IDCMD_READ_FP    0x3010
#define IDCMD_READ_ADDR  0x3003
#define IDCMD_READ_MNG   0x3005

/* SW3 status values a reader answers. */
#define IDSW_OK           0x90
#define IDSW_FOUND        0x9F
#define IDSW_NO_CONTENT   0x91
#define IDSW_NO_CARD      0x80
#define IDSW_SELECT_FAIL  0x81
#define IDSW_READ_FAIL    0x41
#define IDSW_BAD_CHECKSUM 0x10
#define IDSW_BAD_COMMAND  0x21
#define IDSW_SAM_SELFTEST 0x60

/* A decoded frame.  All pointers point into the decoder's buffer (or the
 * caller's) and stay valid until the next idframe_decoder_feed(). */
struct idframe {
    const uint8_t *raw;  /* the whole frame, preamble first */
    size_t raw_len;      /* LEN + 7 */
    uint16_t len;        /* the LEN field */
    const uint8_t *body; /* bytes after LEN, CHK excluded */
    size_t body_len;     /* LEN - 1 */
    int checksum_ok;
};

enum idframe_result {
    IDFRAME_MORE = 0, /* all input consumed, no frame complete yet */
    IDFRAME_OK,       /* *out holds a frame with a good checksum */
    IDFRAME_BADSUM,   /* *out holds a whole frame whose CHK is wrong */
    IDFRAME_BADLEN,   /* LEN out of bounds; decoder resynchronised */
};

/* Incremental decoder: bytes may arrive in any chunking.  Bytes before a
 * preamble are skipped (counted in `skipped`).  Keep one per byte stream. */
struct idframe_decoder {
    size_t have;     /* bytes of the current frame in buf */
    size_t skipped;  /* garbage bytes dropped since the last frame */
    int done;        /* buf holds a returned frame; reset on feed */
    uint16_t badlen; /* the LEN rejected by the last IDFRAME_BADLEN */
    uint8_t buf[IDFRAME_MAX_FRAME];
};

/* Reset d to "looking for a preamble", dropping any partial frame. */
void idframe_decoder_init(struct idframe_decoder *d);

/* Bytes of an unfinished frame held by d (0 between frames). */
size_t idframe_decoder_pending(const struct idframe_decoder *d);

/*
 * Feed up to n bytes of in.  Stops at the end of the first complete frame
 * (or bad length) and stores in *consumed how many bytes of in it used, so
 * the caller loops until everything is consumed.  Never reads in[n] or
 * beyond.  On IDFRAME_OK and IDFRAME_BADSUM *out describes the frame;
 * `skipped` tells how many garbage bytes preceded it.  On IDFRAME_BADLEN
 * the preamble and LEN are dropped and the search starts again.
 */
enum idframe_result idframe_decoder_feed(struct idframe_decoder *d,
                                         const uint8_t *in, size_t n,
                                         size_t *consumed, struct idframe *out);

/* XOR of n bytes. */
uint8_t idframe_xor(const uint8_t *p, size_t n);

/*
 * Encode a command frame: CMD = cmd >> 8, PARA = cmd & 0xFF, then dlen
 * bytes of data.  Returns the frame length, or -1 if it does not fit in
 * cap or exceeds IDFRAME_MAX_LEN.
 */
long idframe_encode_cmd(uint16_t cmd, const uint8_t *data, size_t dlen,
                        uint8_t *out, size_t cap);

/* Encode a response frame: SW 00 00 sw3, then dlen bytes of data.  Same
 * return as idframe_encode_cmd.  Used by the simulator and the tests. */
long idframe_encode_resp(uint8_t sw3, const uint8_t *data, size_t dlen,
                         uint8_t *out, size_t cap);

/* Short token for a status byte ("ok", "no_card", ...; "unknown"). */
const char *idframe_status_name(uint8_t sw3);

/* A sentence saying what the status means, for error events. */
const char *idframe_status_text(uint8_t sw3);

/* Name of a known command ("find card", ...), or NULL if unknown.  The
 * set-baud (60 00..60 04) and max-RF-frame (61 FF) commands are known. */
const char *idframe_command_name(uint16_t cmd);

/*
 * Direction heuristic (frames carry no direction bit): a frame is a
 * command when its body is CMD PARA of a known command with no data
 * (LEN 3), or is 61 FF nn (LEN 4).  Everything else is a response.
 * Returns 1 for a command, 0 for a response.
 */
int idframe_is_command(const struct idframe *f);

#endif
