/*
 * usbcap.h: reading Linux usbmon captures (pcapng, link type 220:
 * DLT_USB_LINUX_MMAPPED, a 64-byte header per packet) for the tests that
 * replay a recorded device: the HID decoder fed the recorded reports at
 * their recorded times (tests/unit/test_drv_hidkbd.c), and umockdev's
 * pcap replay of a capture reduced to what our driver asks for
 * (tests/usb/test_usb_kbdreplay.c).  Only what those captures use is
 * read: a little-endian section, EPBs with the usbmon header.
 *
 * Everything is static inline so a test includes only what it uses.
 * The capture is outside input: every length is checked against the
 * block and the file before use.
 */
#ifndef EXAMSITE_TESTS_USBCAP_H
#define EXAMSITE_TESTS_USBCAP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USBCAP_HDR       64 /* usbmon mmapped header */
#define USBCAP_LINKTYPE  220
#define USBCAP_XFER_INT  1
#define USBCAP_XFER_CTRL 2

/* One usbmon packet: its header fields and the bytes after the header. */
struct usbcap_pkt {
    uint64_t id;  /* URB id: pairs a 'C' with its 'S' */
    char type;    /* 'S' submit, 'C' complete, 'E' error */
    uint8_t xfer; /* 0 iso, 1 interrupt, 2 control, 3 bulk */
    uint8_t ep;   /* endpoint with direction bit */
    uint8_t dev;  /* device address */
    uint16_t bus;
    int has_setup; /* setup[] is valid (flag_setup == 0) */
    uint8_t setup[8];
    int64_t ts_us; /* capture time, microseconds */
    int32_t status;
    uint32_t urb_len;
    const uint8_t *data; /* len_cap bytes after the header */
    uint32_t data_len;
    const uint8_t *rec; /* the whole usbmon record (header + data) */
    uint32_t rec_len;
};

struct usbcap {
    uint8_t *buf;
    size_t len, off;
};

static inline uint32_t usbcap_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t usbcap_u64(const uint8_t *p)
{
    return (uint64_t)usbcap_u32(p) | (uint64_t)usbcap_u32(p + 4) << 32;
}

/* Read the whole file and check its first block is a little-endian
 * section header.  0, or -1 (message on stderr). */
static inline int usbcap_open(struct usbcap *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    memset(c, 0, sizeof(*c));
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 28 ||
        fseek(f, 0, SEEK_SET) != 0 || (c->buf = malloc((size_t)n)) == NULL ||
        fread(c->buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "usbcap: cannot read %s\n", path);
        if (f != NULL)
            fclose(f);
        free(c->buf);
        c->buf = NULL;
        return -1;
    }
    fclose(f);
    c->len = (size_t)n;
    if (usbcap_u32(c->buf) != 0x0A0D0D0A ||
        usbcap_u32(c->buf + 8) != 0x1A2B3C4D) {
        fprintf(stderr, "usbcap: %s is not little-endian pcapng\n", path);
        free(c->buf);
        c->buf = NULL;
        return -1;
    }
    return 0;
}

static inline void usbcap_close(struct usbcap *c)
{
    free(c->buf);
    c->buf = NULL;
}

/* The next usbmon packet: 1, 0 at the end, -1 on a malformed block or an
 * interface of another link type. */
static inline int usbcap_next(struct usbcap *c, struct usbcap_pkt *p)
{
    while (c->len - c->off >= 12) {
        const uint8_t *b = c->buf + c->off;
        uint32_t type = usbcap_u32(b), blen = usbcap_u32(b + 4);
        const uint8_t *r;
        uint32_t cap;

        if (blen < 12 || blen % 4 != 0 || blen > c->len - c->off)
            return -1;
        c->off += blen;
        if (type == 1) { /* interface description */
            if (blen < 20 || (b[8] | b[9] << 8) != USBCAP_LINKTYPE)
                return -1;
            continue;
        }
        if (type != 6) /* not an enhanced packet block */
            continue;
        if (blen < 32 + USBCAP_HDR)
            return -1;
        cap = usbcap_u32(b + 20);
        if (cap < USBCAP_HDR || cap > blen - 32)
            return -1;
        r = b + 28;
        memset(p, 0, sizeof(*p));
        p->id = usbcap_u64(r);
        p->type = (char)r[8];
        p->xfer = r[9];
        p->ep = r[10];
        p->dev = r[11];
        p->bus = (uint16_t)(r[12] | r[13] << 8);
        p->has_setup = r[14] == 0;
        p->ts_us =
            (int64_t)usbcap_u64(r + 16) * 1000000 + (int32_t)usbcap_u32(r + 24);
        p->status = (int32_t)usbcap_u32(r + 28);
        p->urb_len = usbcap_u32(r + 32);
        p->data_len = usbcap_u32(r + 36);
        if (p->data_len > cap - USBCAP_HDR)
            return -1;
        memcpy(p->setup, r + 40, 8);
        p->data = r + USBCAP_HDR;
        p->rec = r;
        p->rec_len = cap;
        return 1;
    }
    return c->off == c->len ? 0 : -1;
}

#endif
