/*
 * record.h: the canonical bytes of an event and its hash, the one
 * definition shared by the station (db/event.c) and the office
 * (central/): a chain verified at one end verifies at the other.
 * docs/event-chain.md says the same byte for byte.
 *
 *   hash = SHA-256( prev_hash as 32 raw bytes || canonical bytes )
 *
 * The canonical bytes are id, time, tz_offset, kind, session, room,
 * ticket, device, operator, payload, in that order, each a 4-byte
 * big-endian length and its UTF-8 bytes (NULL: FF FF FF FF and no bytes);
 * numbers are decimal text.  Needs only common/ and OpenSSL.
 */
#ifndef EXAMSITE_CHAIN_RECORD_H
#define EXAMSITE_CHAIN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_HEX   64
#define CHAIN_HASH_BYTES 32

/* The ten hashed fields of one event, borrowed. */
struct chain_row {
    int64_t id;
    const char *time;
    long tz_offset;
    const char *kind, *session, *room, *ticket, *device, *operator_name;
    const char *payload;
};

/* 64 zeros: the prev_hash of event 1. */
extern const char chain_zero_hash[CHAIN_HASH_HEX + 1];

/*
 * hash of r chained after prev_hex (64 hex digits) into out, as 64
 * lower-case hex digits and a NUL.  0, or -1 when prev_hex is not 64 hex
 * digits or OpenSSL fails.
 */
int chain_row_hash(const struct chain_row *r, const char *prev_hex,
                   char out[CHAIN_HASH_HEX + 1]);

/* The same hash as raw bytes, after prev as raw bytes: for a reader
 * verifying a chain line by line, which holds the hash before as bytes
 * already (chain/batch.c).  0 or -1. */
int chain_row_digest_after(const struct chain_row *r,
                           const unsigned char prev[CHAIN_HASH_BYTES],
                           unsigned char out[CHAIN_HASH_BYTES]);

/* Exactly 64 lower-case hex digits and a NUL? */
int chain_hash_valid(const char *h);

/* Feed the canonical bytes of r to an EVP digest context (OpenSSL's
 * EVP_MD_CTX, passed as void to keep this header free of OpenSSL): for
 * callers hashing something other than the chain.  0 or -1. */
int chain_row_digest(void *evp_md_ctx, const struct chain_row *r);

#endif
