/*
 * linecode.c: CR/LF-terminated barcode lines.  See linecode.h.
 */
#include <string.h>

#include "linecode.h"

void linecode_init(struct linecode *l, int gap_ms, linecode_code_fn on_code,
                   linecode_error_fn on_error, void *arg)
{
    memset(l, 0, sizeof(*l));
    l->gap_ms = gap_ms;
    l->on_code = on_code;
    l->on_error = on_error;
    l->arg = arg;
}

void linecode_reset(struct linecode *l)
{
    l->len = 0;
    l->overlong = 0;
    l->bad = 0;
    l->started = 0;
}

int linecode_pending(const struct linecode *l)
{
    return l->started;
}

int64_t linecode_deadline(const struct linecode *l)
{
    return l->started ? l->last_byte_ms + l->gap_ms : -1;
}

void linecode_expire(struct linecode *l, int64_t now_ms)
{
    if (l->started && now_ms >= linecode_deadline(l))
        linecode_flush(l);
}

int linecode_utf8_valid(const char *buf, size_t n)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], cp;
        size_t need, k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

void linecode_flush(struct linecode *l)
{
    char code[LINECODE_MAX_CODE + 1];
    size_t len = l->len;
    const char *why = NULL;

    if (l->overlong)
        len = 0; /* reported when it passed the bound */
    else if (l->bad)
        why = "scanned line with control characters, discarded";
    else if (len > 0 && !linecode_utf8_valid(l->buf, len))
        why = "scanned line is not UTF-8, discarded";
    memcpy(code, l->buf, len);
    code[len] = '\0';
    linecode_reset(l);
    if (why != NULL) {
        if (l->on_error)
            l->on_error(l->arg, why);
    } else if (len > 0 && l->on_code) {
        l->on_code(l->arg, code, len);
    }
}

void linecode_feed(struct linecode *l, const uint8_t *buf, size_t n,
                   int64_t now_ms)
{
    size_t i;

    linecode_expire(l, now_ms);
    for (i = 0; i < n; i++) {
        uint8_t b = buf[i];

        if (b == '\r' || b == '\n') {
            linecode_flush(l);
            continue;
        }
        l->started = 1;
        l->last_byte_ms = now_ms;
        if (l->overlong)
            continue;
        if (b < 0x20 || b == 0x7F) {
            l->bad = 1;
        } else if (l->len == LINECODE_MAX_CODE) {
            /* Said once, now: the rest of this line is dropped unread. */
            l->overlong = 1;
            l->len = 0;
            if (l->on_error)
                l->on_error(l->arg, "scanned line longer than 128 bytes, "
                                    "discarded");
        } else {
            l->buf[l->len++] = (char)b;
        }
    }
}
