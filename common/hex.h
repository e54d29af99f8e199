/*
 * hex.h: lower-case hex encoding and tolerant hex decoding (spaces, newlines,
 * commas and "0x" prefixes between bytes are skipped).
 */
#ifndef EXAMSITE_HEX_H
#define EXAMSITE_HEX_H

#include <stddef.h>

/* Writes 2*len hex digits and a NUL to out. */
void hex_encode(const void *buf, size_t len, char *out);

/* Decode text into out (capacity cap).  Returns the byte count, or -1 on a
 * non-hex character, an odd digit count, or more than cap bytes. */
long hex_decode(const char *text, size_t textlen, unsigned char *out,
                size_t cap);

#endif
