/*
 * idframe.c: SAM frame encoding, the incremental decoder, and the command
 * and status tables.  See idframe.h and docs/idcard-protocol.md.
 */
#include <string.h>

#include "idframe.h"

static const uint8_t idframe_preamble[IDFRAME_PREAMBLE_LEN] = {0xAA, 0xAA, 0xAA,
                                                               0x96, 0x69};

struct idframe_status {
    uint8_t sw3;
    const char *name;
    const char *text;
};

static const struct idframe_status idframe_statuses[] = {
    {0x90, "ok", "success"},
    {0x9F, "card_found", "card found"},
    {0x91, "no_content", "no content in this item"},
    {0x10, "checksum_error", "the reader received a bad checksum"},
    {0x11, "length_error", "the reader received a bad length"},
    {0x21, "command_error", "the reader received an unknown command"},
    {0x23, "unauthorized", "unauthorized operation"},
    {0x24, "unrecognized_error", "unrecognized error"},
    {0x31, "card_auth_failed", "the card failed to authenticate the SAM"},
    {0x32, "sam_auth_failed", "the SAM failed to authenticate the card"},
    {0x33, "verify_failed", "information verification error"},
    {0x40, "unknown_card_type", "unrecognized card type"},
    {0x41, "read_failed", "reading the card failed"},
    {0x47, "random_failed", "getting a random number failed"},
    {0x60, "sam_selftest_failed",
     "SAM self-test failed, it cannot accept commands"},
    {0x66, "sam_not_authorized", "SAM not authorized"},
    {0x80, "no_card", "no card found"},
    {0x81, "select_failed", "selecting the card failed"},
};

struct idframe_command {
    uint16_t cmd;
    const char *name;
};

static const struct idframe_command idframe_commands[] = {
    {IDCMD_RESET, "reset SAM"},
    {IDCMD_SAM_STATUS, "SAM status"},
    {IDCMD_SAM_ID, "read SAM ID"},
    {IDCMD_FIND, "find card"},
    {IDCMD_SELECT, "select card"},
    {IDCMD_READ, "read text and photo"},
    {IDCMD_READ_FP, "read text, photo and fingerprint"},
    {IDCMD_READ_ADDR, "read appended address"},
    {IDCMD_READ_MNG, "read chip management number"},
    {0x6000, "set baud 115200"},
    {0x6001, "set baud 57600"},
    {0x6002, "set baud 38400"},
    {0x6003, "set baud 19200"},
    {0x6004, "set baud 9600"},
    {0x61FF, "set max RF frame size"},
};

void idframe_decoder_init(struct idframe_decoder *d)
{
    d->have = 0;
    d->skipped = 0;
    d->done = 0;
    d->badlen = 0;
}

size_t idframe_decoder_pending(const struct idframe_decoder *d)
{
    return d->done ? 0 : d->have;
}

uint8_t idframe_xor(const uint8_t *p, size_t n)
{
    uint8_t x = 0;

    while (n-- > 0)
        x ^= *p++;
    return x;
}

/*
 * One byte while matching the preamble.  On a mismatch the longest
 * suffix of what was seen that is still a prefix of AA AA AA 96 69 is
 * kept: only runs of AA can be such a suffix.
 */
static void idframe_match_preamble(struct idframe_decoder *d, uint8_t b)
{
    if (b == idframe_preamble[d->have]) {
        d->buf[d->have++] = b;
        return;
    }
    if (b == 0xAA) {
        /* "AA AA AA AA": still three AA; "AA AA AA 96 AA": one AA. */
        size_t keep = d->have == 3 ? 3 : 1;
        d->skipped += d->have + 1 - keep;
        d->have = keep;
        memset(d->buf, 0xAA, keep);
        return;
    }
    d->skipped += d->have + 1;
    d->have = 0;
}

static void idframe_fill(struct idframe_decoder *d, struct idframe *out)
{
    size_t total = d->have;

    out->raw = d->buf;
    out->raw_len = total;
    out->len = (uint16_t)(d->buf[5] << 8 | d->buf[6]);
    out->body = d->buf + IDFRAME_HDR_LEN;
    out->body_len = total - IDFRAME_HDR_LEN - 1;
    out->checksum_ok =
        idframe_xor(d->buf + IDFRAME_PREAMBLE_LEN,
                    total - IDFRAME_PREAMBLE_LEN - 1) == d->buf[total - 1];
}

enum idframe_result idframe_decoder_feed(struct idframe_decoder *d,
                                         const uint8_t *in, size_t n,
                                         size_t *consumed, struct idframe *out)
{
    size_t i = 0;

    if (d->done) {
        /* The previous call returned a frame that lived in buf. */
        d->have = 0;
        d->skipped = 0;
        d->done = 0;
    }
    while (i < n) {
        if (d->have < IDFRAME_PREAMBLE_LEN) {
            idframe_match_preamble(d, in[i++]);
            continue;
        }
        if (d->have < IDFRAME_HDR_LEN) {
            d->buf[d->have++] = in[i++];
            if (d->have == IDFRAME_HDR_LEN) {
                uint16_t len = (uint16_t)(d->buf[5] << 8 | d->buf[6]);
                if (len < IDFRAME_MIN_LEN || len > IDFRAME_MAX_LEN) {
                    d->badlen = len;
                    d->have = 0;
                    *consumed = i;
                    return IDFRAME_BADLEN;
                }
            }
            continue;
        }
        {
            size_t total =
                (size_t)(d->buf[5] << 8 | d->buf[6]) + IDFRAME_HDR_LEN;
            size_t want = total - d->have;
            size_t take = n - i < want ? n - i : want;

            memcpy(d->buf + d->have, in + i, take);
            d->have += take;
            i += take;
            if (d->have == total) {
                idframe_fill(d, out);
                d->done = 1;
                *consumed = i;
                return out->checksum_ok ? IDFRAME_OK : IDFRAME_BADSUM;
            }
        }
    }
    *consumed = i;
    return IDFRAME_MORE;
}

static long idframe_encode(const uint8_t head[3], size_t headlen,
                           const uint8_t *data, size_t dlen, uint8_t *out,
                           size_t cap)
{
    size_t len = headlen + dlen + 1;
    size_t total = len + IDFRAME_HDR_LEN;

    if (len > IDFRAME_MAX_LEN || total > cap || (dlen > 0 && data == NULL))
        return -1;
    memcpy(out, idframe_preamble, IDFRAME_PREAMBLE_LEN);
    out[5] = (uint8_t)(len >> 8);
    out[6] = (uint8_t)len;
    memcpy(out + IDFRAME_HDR_LEN, head, headlen);
    if (dlen > 0)
        memcpy(out + IDFRAME_HDR_LEN + headlen, data, dlen);
    out[total - 1] = idframe_xor(out + IDFRAME_PREAMBLE_LEN,
                                 total - IDFRAME_PREAMBLE_LEN - 1);
    return (long)total;
}

long idframe_encode_cmd(uint16_t cmd, const uint8_t *data, size_t dlen,
                        uint8_t *out, size_t cap)
{
    const uint8_t head[3] = {(uint8_t)(cmd >> 8), (uint8_t)cmd, 0};

    return idframe_encode(head, 2, data, dlen, out, cap);
}

long idframe_encode_resp(uint8_t sw3, const uint8_t *data, size_t dlen,
                         uint8_t *out, size_t cap)
{
    const uint8_t head[3] = {0x00, 0x00, sw3};

    return idframe_encode(head, 3, data, dlen, out, cap);
}

static const struct idframe_status *idframe_find_status(uint8_t sw3)
{
    size_t i;

    for (i = 0; i < sizeof(idframe_statuses) / sizeof(idframe_statuses[0]); i++)
        if (idframe_statuses[i].sw3 == sw3)
            return &idframe_statuses[i];
    return NULL;
}

const char *idframe_status_name(uint8_t sw3)
{
    const struct idframe_status *s = idframe_find_status(sw3);

    return s ? s->name : "unknown";
}

const char *idframe_status_text(uint8_t sw3)
{
    const struct idframe_status *s = idframe_find_status(sw3);

    return s ? s->text : "unknown status";
}

const char *idframe_command_name(uint16_t cmd)
{
    size_t i;

    for (i = 0; i < sizeof(idframe_commands) / sizeof(idframe_commands[0]); i++)
        if (idframe_commands[i].cmd == cmd)
            return idframe_commands[i].name;
    return NULL;
}

int idframe_is_command(const struct idframe *f)
{
    uint16_t cmd;

    if (f->body_len < 2)
        return 0;
    cmd = (uint16_t)(f->body[0] << 8 | f->body[1]);
    if (f->body_len == 2)
        return idframe_command_name(cmd) != NULL;
    return f->body_len == 3 && cmd == 0x61FF;
}
