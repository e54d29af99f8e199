/*
 * hex.c: hex text to bytes and back.
 */
#include <ctype.h>

#include "hex.h"

void hex_encode(const void *buf, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = buf;
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long hex_decode(const char *text, size_t textlen, unsigned char *out,
                size_t cap)
{
    size_t i = 0, n = 0;
    int hi = -1, v;

    while (i < textlen) {
        unsigned char c = (unsigned char)text[i];
        if (isspace(c) || c == ',' || c == ':') {
            if (hi != -1)
                return -1; /* a lone digit before a separator */
            i++;
            continue;
        }
        if (hi == -1 && c == '0' && i + 1 < textlen &&
            (text[i + 1] == 'x' || text[i + 1] == 'X')) {
            i += 2;
            continue;
        }
        if ((v = hex_digit(c)) == -1)
            return -1;
        if (hi == -1) {
            hi = v;
        } else {
            if (n >= cap)
                return -1;
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
        i++;
    }
    return hi == -1 ? (long)n : -1;
}
