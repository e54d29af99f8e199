/*
 * batch.h: the batch codec, shared by the station (examsited, examctl)
 * and the office (examcentral).  docs/batch-format.md is the format byte
 * for byte; this is its one implementation.
 *
 * A batch is one gzip member of NDJSON: line 1 the header
 * {"batch":{...}}, then one line per event exactly as it was hashed (the
 * payload as its stored text, in a JSON string), each ended by LF.  The
 * request carrying it is signed with HMAC-SHA256 over the compressed
 * bytes, with the station's own key.
 *
 * Encoding streams: events go in one at a time (the station feeds them a
 * few hundred per turn of its loop), the header is written when the batch
 * is finished, since it names the last hash and the payload's SHA-256.
 * The same events with the same header give the same bytes, always.
 *
 * Decoding streams too: the body inflates through a fixed buffer, with
 * limits on compressed size, inflated size and ratio, and every line is
 * parsed and checked as it arrives (lengths, kinds, times, hashes, the
 * chain from line to line), then handed to the caller's sink.  Whatever
 * the input, memory stays within the limits below.
 *
 * Needs common/, zlib, OpenSSL and jansson; no SQLite, no event loop.
 */
#ifndef EXAMSITE_CHAIN_BATCH_H
#define EXAMSITE_CHAIN_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "record.h"

#define BATCH_VERSION     1
#define BATCH_ID_MAX      64  /* site and station ids, bytes */
#define BATCH_FIELD_MAX   256 /* session, room, ticket, device, operator */
#define BATCH_KIND_MAX    48
#define BATCH_PAYLOAD_MAX 8192    /* as the station's event log */
#define BATCH_LINE_MAX    65536   /* one inflated line, without its LF */
#define BATCH_EVENTS_MAX  1000000 /* events in one batch */
#define BATCH_SIG_HEX     64
#define BATCH_KEY_MIN     16 /* bytes of a station key, at least */
#define BATCH_KEY_MAX     64

struct batch_header {
    int version;
    char site[BATCH_ID_MAX + 1], station[BATCH_ID_MAX + 1];
    int64_t seq;                              /* 1, 2, 3, ... per station */
    int64_t first_event;                      /* id of the first event line */
    int64_t last_event;                       /* id of the last */
    int64_t count;                            /* last_event - first_event + 1 */
    char prev_chain_hash[CHAIN_HASH_HEX + 1]; /* prev_hash of first_event */
    char last_chain_hash[CHAIN_HASH_HEX + 1]; /* hash of last_event */
    char payload_sha256[CHAIN_HASH_HEX + 1];  /* of the inflated lines 2.. */
};

/* Is s a site or station id: 1..64 of [A-Za-z0-9._-]? */
int batch_id_valid(const char *s);

/* --- encoding ---------------------------------------------------------- */

struct batch_enc;

/* A new batch for site/station, numbered seq, continuing from
 * prev_chain_hash (the hash of the event before the first).  level is
 * zlib's (6 is what batches use).  NULL with e on failure. */
struct batch_enc *batch_enc_new(const char *site, const char *station,
                                int64_t seq, const char *prev_chain_hash,
                                int level, struct err *e);

/* Add the next event: its fields, prev_hash and hash as stored.  The
 * events must be consecutive and chained (prev_hash = the hash before);
 * anything else is refused (EX_DATAERR) and the batch is spoilt. */
int batch_enc_add(struct batch_enc *b, const struct chain_row *r,
                  const char *prev_hash, const char *hash, struct err *e);

/* Events added so far. */
int64_t batch_enc_count(const struct batch_enc *b);

/*
 * Finish: *body (malloc'd, caller frees) and *len are the compressed
 * batch, h (when not NULL) its header.  At least one event is needed.
 * The encoder is spent afterwards (free it).
 */
int batch_enc_finish(struct batch_enc *b, unsigned char **body, size_t *len,
                     struct batch_header *h, struct err *e);

void batch_enc_free(struct batch_enc *b); /* accepts NULL */

/* --- the signature ----------------------------------------------------- */

/* hex(HMAC-SHA256(key, body)) into out.  0 or -1. */
int batch_sign(const unsigned char *key, size_t keylen, const void *body,
               size_t len, char out[BATCH_SIG_HEX + 1]);

/* 1 when sig_hex is the signature of body under key (compared in constant
 * time), 0 when not (or not 64 hex digits). */
int batch_sig_ok(const unsigned char *key, size_t keylen, const void *body,
                 size_t len, const char *sig_hex);

/* A key as one hex line (a station's key_file): BATCH_KEY_MIN..MAX bytes.
 * Returns the byte count, or -1 with e. */
long batch_key_parse(const char *text, size_t textlen, unsigned char *key,
                     size_t cap, struct err *e);

/* Load a key file (one hex line); refuses a file that group or others may
 * read.  Returns the byte count, or -1 with e. */
long batch_key_load(const char *path, unsigned char *key, size_t cap,
                    struct err *e);

/* --- decoding ---------------------------------------------------------- */

struct batch_limits {
    size_t max_body;     /* compressed bytes */
    size_t max_inflated; /* inflated bytes */
    unsigned max_ratio;  /* inflated / compressed, checked from 64 KiB on */
};

/* The defaults: 64 MiB compressed, 1 GiB inflated, ratio 100 (inflated
 * bytes over the compressed bytes read so far). */
void batch_limits_default(struct batch_limits *l);

enum batch_status {
    BATCH_OK = 0,
    BATCH_MALFORMED, /* 400: not gzip, not the format, a check failed */
    BATCH_TOO_LARGE, /* 413: past a limit */
    BATCH_REFUSED,   /* the sink said no: its e says why */
};

/*
 * What decoding reports, in order: the header once (after line 1, before
 * any event), then each event after it was checked (its hash recomputed,
 * its prev_hash the line before's hash, the first one's the header's
 * prev_chain_hash, ids consecutive from first_event).  The header's
 * claims about the whole (count, last_event, last_chain_hash,
 * payload_sha256) are checked at the end: a sink that stores must do so
 * in a transaction it commits only when batch_decode returns BATCH_OK.
 * Each callback returns 0 to go on, -1 to refuse with e filled.  Either
 * may be NULL.
 */
struct batch_sink {
    int (*header)(void *arg, const struct batch_header *h, struct err *e);
    int (*event)(void *arg, const struct chain_row *r, const char *prev_hash,
                 const char *hash, struct err *e);
    void *arg;
};

/*
 * Decode and verify body.  want_site, want_station and want_seq (each
 * NULL / -1 to skip) are what the request's headers said: the header line
 * must agree.  h (when not NULL) gets the header.  Returns BATCH_OK, or
 * the status with e saying why in one line (with the line number in
 * e->line where there is one).
 */
enum batch_status batch_decode(const void *body, size_t len,
                               const struct batch_limits *lim,
                               const char *want_site, const char *want_station,
                               int64_t want_seq, const struct batch_sink *sink,
                               struct batch_header *h, struct err *e);

/*
 * Does h continue a chain whose last acknowledged event is last_event
 * with hash chain_hash (0 and 64 zeros before the first batch)?  1 yes,
 * 0 no (with why filled, one line).
 */
int batch_continues(const struct batch_header *h, int64_t last_event,
                    const char *chain_hash, char *why, size_t whylen);

#endif
