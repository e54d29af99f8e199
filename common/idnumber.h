/*
 * idnumber.h: resident ID numbers (GB 11643-1999): validation, masking and
 * the keyed hash that is the only form in which a number is ever stored.
 */
#ifndef EXAMSITE_IDNUMBER_H
#define EXAMSITE_IDNUMBER_H

#include <stddef.h>

#define IDNUMBER_LEN        18
#define IDNUMBER_HASH_LEN   32 /* HMAC-SHA256 */
#define IDNUMBER_HASH_HEX   64 /* the same in hex */
#define IDNUMBER_SECRET_LEN 32 /* bytes of site secret */

/*
 * Check an 18-character ID number: digits, a final digit or X (either
 * case), the ISO 7064 MOD 11-2 check digit and a real birth date (not in
 * the future, not before 1800: the standard's own examples are born in
 * 1880).  Returns 0 when valid; -1 with a short
 * reason (a static string) in *reason otherwise.
 */
int idnumber_check(const char *s, const char **reason);

/* Copy s to out (IDNUMBER_LEN + 1) in canonical form: trimmed, 'x' → 'X'.
 * Returns -1 if s is not 18 characters. */
int idnumber_canonical(const char *s, char out[IDNUMBER_LEN + 1]);

/* "110105********002X": first 6 and last 4 characters kept.  out holds
 * IDNUMBER_LEN + 1 bytes.  Input of another length is masked whole. */
void idnumber_mask(const char *s, char out[IDNUMBER_LEN + 1]);

/*
 * Mask, in place, everything in s shaped like an ID number (17 digits and
 * a digit or X, not part of a longer number): first 6 and last 4 kept.
 * Returns 1 when something was masked.  Every log line, and every ticket
 * or note that comes from outside, goes through it.
 */
int idnumber_redact(char *s);

/* Keyed hash: hex(HMAC-SHA256(secret, canonical number)).  Returns 0, or
 * -1 if the number is not canonicalisable. */
int idnumber_hash(const unsigned char *secret, size_t secret_len, const char *s,
                  char out[IDNUMBER_HASH_HEX + 1]);

/*
 * The same keyed hash for many numbers (a roster import, the daemon): the
 * HMAC is keyed once and reused.  idhasher_new returns NULL on failure.
 */
struct idhasher;
struct idhasher *idhasher_new(const unsigned char *secret, size_t secret_len);
int idhasher_hash(struct idhasher *h, const char *s,
                  char out[IDNUMBER_HASH_HEX + 1]);
/* The same, the 32 raw bytes (what the roster stores). */
int idhasher_hash_raw(struct idhasher *h, const char *s,
                      unsigned char out[IDNUMBER_HASH_LEN]);
void idhasher_free(struct idhasher *h);

#endif
