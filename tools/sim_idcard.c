/*
 * sim_idcard.c: examsim's ID-card reader.  It answers the SAM protocol
 * (docs/idcard-protocol.md) from card JSON files:
 *
 *   place CARD.json    a card lies on the reader (replaces any other)
 *   remove             the card is taken away
 *   fault KIND         inject one fault (they queue; each is used once):
 *     no-card          the next find-card (20 01) answers 80
 *     sam-fail         the next SAM status (11 FF) answers 60
 *     removed-mid-read the next read (30 01) answers 41 and the card is
 *                      gone (as if lifted during the read)
 *     bad-checksum     the next read answer has a wrong checksum
 *     truncated        the next read answer stops half way
 *     garbage          the next read answer comes after stray bytes
 *                      (including a false start of a preamble)
 *     no-answer        the next read command gets no answer at all
 *   fault clear        drop the queued faults
 *   status             answers "ok present=0|1 faults=LIST|none", so a
 *                      test can see a fault was used up
 *
 * With a timing model (--timing, sim_wire.c) each answer is decided when
 * its command arrives and reaches the host after the command's latency
 * and its wire time.
 *
 * The transmission faults hit the read because its 1,295-byte answer is
 * where a damaged frame could become a half-read card.  A command with a
 * bad checksum is answered with status 10, an unknown one with 21.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "idframe.h"
#include "idjson.h"
#include "idtext.h"
#include "sim.h"

enum sim_fault {
    FAULT_NO_CARD = 1 << 0,
    FAULT_SAM_FAIL = 1 << 1,
    FAULT_REMOVED_MID_READ = 1 << 2,
    FAULT_BAD_CHECKSUM = 1 << 3,
    FAULT_TRUNCATED = 1 << 4,
    FAULT_GARBAGE = 1 << 5,
    FAULT_NO_ANSWER = 1 << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} sim_faults[] = {
    {"no-card", FAULT_NO_CARD},
    {"sam-fail", FAULT_SAM_FAIL},
    {"removed-mid-read", FAULT_REMOVED_MID_READ},
    {"bad-checksum", FAULT_BAD_CHECKSUM},
    {"truncated", FAULT_TRUNCATED},
    {"garbage", FAULT_GARBAGE},
    {"no-answer", FAULT_NO_ANSWER},
};

#define SIM_READ_DATA (4 + IDTEXT_LEN + IDTEXT_PHOTO_LEN)

struct sim_reader {
    struct idframe_decoder dec;
    unsigned faults;
    int present;
    uint8_t text[IDTEXT_LEN];
};

static void *sim_idcard_create(struct err *e)
{
    struct sim_reader *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        err_errno(e, EX_OSERR, "examsim");
        return NULL;
    }
    idframe_decoder_init(&r->dec);
    return r;
}

static void sim_idcard_destroy(void *dev)
{
    free(dev);
}

static int sim_take(struct sim_reader *r, unsigned bit)
{
    if (!(r->faults & bit))
        return 0;
    r->faults &= ~bit;
    return 1;
}

/* Send one answer, applying the transmission faults to read answers. */
static void sim_answer(struct sim *s, uint8_t sw3, const uint8_t *data,
                       size_t dlen, int is_read)
{
    struct sim_reader *r = s->dev;
    static const uint8_t garbage[] = {0x00, 0x13, 0xAA, 0xAA,
                                      0x96, 0x55, 0xAA, 0x69};
    uint8_t frame[IDFRAME_HDR_LEN + 4 + SIM_READ_DATA];
    long n = idframe_encode_resp(sw3, data, dlen, frame, sizeof(frame));

    if (n < 0)
        return;
    if (is_read && sim_take(r, FAULT_NO_ANSWER))
        return;
    if (is_read && sim_take(r, FAULT_GARBAGE))
        sim_write(s, garbage, sizeof(garbage));
    if (is_read && sim_take(r, FAULT_BAD_CHECKSUM))
        frame[n - 1] ^= 0x5A;
    if (is_read && sim_take(r, FAULT_TRUNCATED))
        n /= 2;
    sim_write(s, frame, (size_t)n);
}

static void sim_read(struct sim *s)
{
    struct sim_reader *r = s->dev;
    uint8_t data[SIM_READ_DATA];

    if (r->present && sim_take(r, FAULT_REMOVED_MID_READ)) {
        r->present = 0;
        explicit_bzero(r->text, sizeof(r->text));
        sim_answer(s, IDSW_READ_FAIL, NULL, 0, 0);
        return;
    }
    if (!r->present) {
        sim_answer(s, IDSW_READ_FAIL, NULL, 0, 0);
        return;
    }
    data[0] = 0x01; /* text 0x0100 bytes, photo 0x0400 bytes */
    data[1] = 0x00;
    data[2] = 0x04;
    data[3] = 0x00;
    memcpy(data + 4, r->text, IDTEXT_LEN);
    memset(data + 4 + IDTEXT_LEN, 0, IDTEXT_PHOTO_LEN);
    memcpy(data + 4 + IDTEXT_LEN, "WLf", 4);
    sim_answer(s, IDSW_OK, data, sizeof(data), 1);
}

static void sim_command_frame(struct sim *s, const struct idframe *f)
{
    struct sim_reader *r = s->dev;
    static const uint8_t sam_id[16] = {0x05, 0x00, 0x01, 0x00, 0x4E, 0x9E,
                                       0x33, 0x01, 0x4E, 0x61, 0xBC, 0x00,
                                       0xD2, 0x02, 0x96, 0x49};
    static const uint8_t zeros[8] = {0};
    uint16_t cmd;

    if (f->body_len < 2) {
        sim_answer(s, 0x11, NULL, 0, 0);
        return;
    }
    cmd = (uint16_t)(f->body[0] << 8 | f->body[1]);
    switch (cmd) {
    case IDCMD_RESET:
        sim_answer(s, IDSW_OK, NULL, 0, 0);
        break;
    case IDCMD_SAM_STATUS:
        sim_answer(s, sim_take(r, FAULT_SAM_FAIL) ? IDSW_SAM_SELFTEST : IDSW_OK,
                   NULL, 0, 0);
        break;
    case IDCMD_SAM_ID:
        sim_answer(s, IDSW_OK, sam_id, sizeof(sam_id), 0);
        break;
    case IDCMD_FIND:
        if (r->present && !sim_take(r, FAULT_NO_CARD))
            sim_answer(s, IDSW_FOUND, zeros, 4, 0);
        else
            sim_answer(s, IDSW_NO_CARD, NULL, 0, 0);
        break;
    case IDCMD_SELECT:
        if (r->present)
            sim_answer(s, IDSW_OK, zeros, 8, 0);
        else
            sim_answer(s, IDSW_SELECT_FAIL, NULL, 0, 0);
        break;
    case IDCMD_READ:
        sim_read(s);
        break;
    default:
        sim_answer(s, IDSW_BAD_COMMAND, NULL, 0, 0);
        break;
    }
}

/* The reader's own time to answer cmd (--latency); the others answer in
 * no more than their wire time. */
static int sim_latency(const struct sim *s, const struct idframe *f)
{
    uint16_t cmd =
        f->body_len >= 2 ? (uint16_t)(f->body[0] << 8 | f->body[1]) : 0;

    switch (cmd) {
    case IDCMD_FIND:
        return s->timing.find_ms;
    case IDCMD_SELECT:
        return s->timing.select_ms;
    case IDCMD_READ:
        return s->timing.read_ms;
    default:
        return 0;
    }
}

static void sim_idcard_input(struct sim *s, const uint8_t *buf, size_t n)
{
    struct sim_reader *r = s->dev;
    struct idframe f;
    size_t used;

    while (n > 0) {
        enum idframe_result res =
            idframe_decoder_feed(&r->dec, buf, n, &used, &f);
        buf += used;
        n -= used;
        /* The answer is decided now, from the card as it lies when the
         * command arrives (a find looks for the card at its start), and
         * sent when the latency has passed. */
        if (res == IDFRAME_OK) {
            sim_hold(s, sim_latency(s, &f), f.raw_len);
            sim_command_frame(s, &f);
        } else if (res == IDFRAME_BADSUM) {
            sim_hold(s, 0, f.raw_len);
            sim_answer(s, IDSW_BAD_CHECKSUM, NULL, 0, 0);
        }
    }
}

static int sim_place(struct sim_reader *r, const char *path, struct err *e)
{
    struct idcard_info info;
    json_error_t je;
    json_t *j;
    int rc;

    if ((j = json_load_file(path, 0, &je)) == NULL)
        return err_set(e, EX_DATAERR, "%s:%d: %s", path, je.line, je.text);
    rc = idjson_card_from_json(j, &info, e);
    json_decref(j);
    if (rc == 0)
        rc = idtext_encode(&info, r->text, e);
    idcard_info_wipe(&info);
    if (rc == -1)
        return err_prefix(e, "%s", path);
    r->present = 1;
    return 0;
}

static int sim_idcard_command(struct sim *s, const char *word, const char *rest,
                              struct err *e)
{
    struct sim_reader *r = s->dev;
    size_t i;

    if (strcmp(word, "place") == 0) {
        if (*rest == '\0')
            return err_set(e, EX_USAGE, "usage: place CARD.json");
        return sim_place(r, rest, e);
    }
    if (strcmp(word, "remove") == 0) {
        r->present = 0;
        explicit_bzero(r->text, sizeof(r->text));
        return 0;
    }
    if (strcmp(word, "status") == 0) {
        printf("ok present=%d faults=", r->present);
        if (r->faults == 0)
            printf("none");
        for (i = 0; i < sizeof(sim_faults) / sizeof(sim_faults[0]); i++)
            if (r->faults & sim_faults[i].bit)
                printf("%s%s", sim_faults[i].name,
                       r->faults & ~((sim_faults[i].bit << 1) - 1) ? "," : "");
        printf("\n");
        return 1; /* answered here */
    }
    if (strcmp(word, "fault") == 0) {
        if (strcmp(rest, "clear") == 0) {
            r->faults = 0;
            return 0;
        }
        for (i = 0; i < sizeof(sim_faults) / sizeof(sim_faults[0]); i++) {
            if (strcmp(rest, sim_faults[i].name) == 0) {
                r->faults |= sim_faults[i].bit;
                return 0;
            }
        }
        return err_set(e, EX_USAGE, "unknown fault \"%s\"", rest);
    }
    return err_set(e, EX_USAGE, "unknown command \"%s\"", word);
}

const struct sim_device sim_idcard = {
    .name = "idcard",
    .create = sim_idcard_create,
    .destroy = sim_idcard_destroy,
    .input = sim_idcard_input,
    .command = sim_idcard_command,
};
