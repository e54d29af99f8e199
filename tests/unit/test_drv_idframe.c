/*
 * test_drv_idframe.c: the SAM frame encoder and incremental decoder, on
 * the real frames of docs/idcard-protocol.md §5, byte by byte and
 * in random chunkings (each chunk in its own exact-size allocation, so
 * ASan catches a read past the input), plus garbage, bad lengths and a
 * synthetic full 1,295-byte read answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "idframe.h"
#include "idtext.h"

#define MAXF 16

struct got {
    int n;
    enum idframe_result res[MAXF];
    size_t len[MAXF];
    uint8_t raw[MAXF][IDFRAME_MAX_FRAME];
    int badlen;
};

/* Feed p[0..n) in chunks of the sizes chunk() returns. */
static void feed(struct got *g, const uint8_t *p, size_t n,
                 size_t (*chunk)(size_t left))
{
    struct idframe_decoder *d = malloc(sizeof(*d));
    size_t pos = 0;

    memset(g, 0, sizeof(*g));
    idframe_decoder_init(d);
    while (pos < n) {
        size_t c = chunk(n - pos), off = 0;
        uint8_t *copy = malloc(c);

        memcpy(copy, p + pos, c);
        while (off < c) {
            struct idframe f;
            size_t used = 0;
            enum idframe_result r =
                idframe_decoder_feed(d, copy + off, c - off, &used, &f);
            assert_true(used <= c - off);
            off += used;
            if (r == IDFRAME_OK || r == IDFRAME_BADSUM) {
                assert_true(g->n < MAXF);
                g->res[g->n] = r;
                g->len[g->n] = f.raw_len;
                assert_int_equal(f.raw_len, (size_t)f.len + 7);
                assert_int_equal(f.body_len, (size_t)f.len - 1);
                memcpy(g->raw[g->n], f.raw, f.raw_len);
                g->n++;
            } else if (r == IDFRAME_BADLEN) {
                g->badlen++;
            } else {
                assert_int_equal(off, c);
            }
        }
        free(copy);
        pos += c;
    }
    free(d);
}

static size_t chunk_one(size_t left)
{
    (void)left;
    return 1;
}

static size_t chunk_all(size_t left)
{
    return left;
}

static size_t chunk_random(size_t left)
{
    size_t c = (size_t)(rand() % 70) + 1;
    return c < left ? c : left;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    long n = hex_decode(h, strlen(h), out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static const struct {
    const char *hex;
    int command;
} real_frames[] = {
    {"AA AA AA 96 69 00 03 10 FF EC", 1},
    {"AA AA AA 96 69 00 03 11 FF ED", 1},
    {"AA AA AA 96 69 00 03 12 FF EE", 1},
    {"AA AA AA 96 69 00 03 20 01 22", 1},
    {"AA AA AA 96 69 00 03 20 02 21", 1},
    {"AA AA AA 96 69 00 03 30 01 32", 1},
    {"AA AA AA 96 69 00 03 30 10 23", 1},
    {"AA AA AA 96 69 00 03 30 03 30", 1},
    {"AA AA AA 96 69 00 03 30 05 36", 1},
    {"AA AA AA 96 69 00 03 60 00 63", 1},
    {"AA AA AA 96 69 00 03 60 04 67", 1},
    {"AA AA AA 96 69 00 04 00 00 90 94", 0},
    {"AA AA AA 96 69 00 04 00 00 60 64", 0},
    {"AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", 0},
    {"AA AA AA 96 69 00 04 00 00 80 84", 0},
    {"AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C", 0},
    {"AA AA AA 96 69 00 04 00 00 81 85", 0},
    {"AA AA AA 96 69 00 04 00 00 41 45", 0},
    {"AA AA AA 96 69 00 0D DC 00 32 30 31 36 5F 30 33 5F 31 38 DE", 0},
};

static void test_real_frames(void **state)
{
    size_t i, k;
    size_t (*chunks[])(size_t) = {chunk_one, chunk_all, chunk_random};

    (void)state;
    for (i = 0; i < sizeof(real_frames) / sizeof(real_frames[0]); i++) {
        uint8_t b[64];
        size_t n = unhex(real_frames[i].hex, b, sizeof(b));
        for (k = 0; k < 3; k++) {
            struct got g;
            struct idframe f;
            struct idframe_decoder d;
            size_t used;

            feed(&g, b, n, chunks[k]);
            assert_int_equal(g.n, 1);
            assert_int_equal(g.res[0], IDFRAME_OK);
            assert_int_equal(g.len[0], n);
            assert_memory_equal(g.raw[0], b, n);
            idframe_decoder_init(&d);
            assert_int_equal(idframe_decoder_feed(&d, b, n, &used, &f),
                             IDFRAME_OK);
            assert_int_equal(idframe_is_command(&f), real_frames[i].command);
        }
    }
}

static void test_encode_commands(void **state)
{
    static const struct {
        uint16_t cmd;
        const char *hex;
    } cmds[] = {
        {IDCMD_RESET, "AAAAAA9669000310FFEC"},
        {IDCMD_SAM_STATUS, "AAAAAA9669000311FFED"},
        {IDCMD_SAM_ID, "AAAAAA9669000312FFEE"},
        {IDCMD_FIND, "AAAAAA966900032001 22"},
        {IDCMD_SELECT, "AAAAAA966900032002 21"},
        {IDCMD_READ, "AAAAAA966900033001 32"},
        {IDCMD_READ_FP, "AAAAAA966900033010 23"},
        {IDCMD_READ_ADDR, "AAAAAA966900033003 30"},
        {IDCMD_READ_MNG, "AAAAAA966900033005 36"},
        {0x6000, "AAAAAA966900036000 63"},
        {0x6004, "AAAAAA966900036004 67"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        uint8_t want[16], out[16];
        size_t n = unhex(cmds[i].hex, want, sizeof(want));
        assert_int_equal(
            idframe_encode_cmd(cmds[i].cmd, NULL, 0, out, sizeof(out)),
            (long)n);
        assert_memory_equal(out, want, n);
        assert_non_null(idframe_command_name(cmds[i].cmd));
    }
    /* Too small an output buffer is refused, not overrun. */
    {
        uint8_t out[9];
        assert_int_equal(idframe_encode_cmd(IDCMD_FIND, NULL, 0, out, 9), -1);
    }
}

static void test_encode_responses(void **state)
{
    uint8_t out[32], want[32];
    static const uint8_t four[4] = {0};
    size_t n;

    (void)state;
    n = unhex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", want, 32);
    assert_int_equal(idframe_encode_resp(0x9F, four, 4, out, sizeof(out)),
                     (long)n);
    assert_memory_equal(out, want, n);
    n = unhex("AA AA AA 96 69 00 04 00 00 80 84", want, 32);
    assert_int_equal(idframe_encode_resp(0x80, NULL, 0, out, sizeof(out)),
                     (long)n);
    assert_memory_equal(out, want, n);
}

static void test_wrong_checksum_select(void **state)
{
    uint8_t b[16];
    size_t n = unhex("aa aa aa 96 69 00 03 20 01 21", b, sizeof(b));
    struct got g;

    (void)state;
    feed(&g, b, n, chunk_one);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.res[0], IDFRAME_BADSUM);
}

static void test_garbage_resync(void **state)
{
    /* Garbage with false starts of the preamble, a frame, a run of four
     * AA before a real preamble, another frame, trailing noise. */
    const char *hex = "00 13 AA AA 96 55 AA 69 AA AA AA 96 AA "
                      "AA AA AA 96 69 00 04 00 00 80 84 "
                      "FF AA AA AA AA 96 69 00 04 00 00 41 45 "
                      "AA AA 00";
    uint8_t b[128];
    size_t n = unhex(hex, b, sizeof(b)), k;
    size_t (*chunks[])(size_t) = {chunk_one, chunk_all, chunk_random};

    (void)state;
    for (k = 0; k < 3; k++) {
        struct got g;
        feed(&g, b, n, chunks[k]);
        assert_int_equal(g.n, 2);
        assert_int_equal(g.res[0], IDFRAME_OK);
        assert_int_equal(g.raw[0][9], 0x80);
        assert_int_equal(g.res[1], IDFRAME_OK);
        assert_int_equal(g.raw[1][9], 0x41);
    }
}

static void test_skipped_count(void **state)
{
    uint8_t b[32];
    size_t n = unhex("01 02 03 AA AA AA 96 69 00 04 00 00 90 94", b, 32), used;
    struct idframe_decoder d;
    struct idframe f;

    (void)state;
    idframe_decoder_init(&d);
    assert_int_equal(idframe_decoder_feed(&d, b, n, &used, &f), IDFRAME_OK);
    assert_int_equal(used, n);
    assert_int_equal(d.skipped, 3);
    assert_int_equal(f.raw_len, 11);
}

static void test_bad_lengths(void **state)
{
    /* LEN 0xFFFF and LEN 2 are rejected; the good frame after each is
     * still found. */
    const char *hex = "AA AA AA 96 69 FF FF 00 00 90 "
                      "AA AA AA 96 69 00 04 00 00 90 94 "
                      "AA AA AA 96 69 00 02 00 "
                      "AA AA AA 96 69 0A 01 "
                      "AA AA AA 96 69 00 04 00 00 81 85";
    uint8_t b[128];
    size_t n = unhex(hex, b, sizeof(b)), k;
    size_t (*chunks[])(size_t) = {chunk_one, chunk_all, chunk_random};

    (void)state;
    for (k = 0; k < 3; k++) {
        struct got g;
        feed(&g, b, n, chunks[k]);
        assert_int_equal(g.badlen, 3);
        assert_int_equal(g.n, 2);
        assert_int_equal(g.raw[0][9], 0x90);
        assert_int_equal(g.raw[1][9], 0x81);
    }
}

static void test_truncated_then_next(void **state)
{
    /* A frame cut short stays pending; nothing is reported for it. */
    uint8_t b[32], tail[32];
    size_t n = unhex("AA AA AA 96 69 00 08 00 00 9F 00", b, 32);
    struct idframe_decoder d;
    struct idframe f;
    size_t used;

    (void)state;
    idframe_decoder_init(&d);
    assert_int_equal(idframe_decoder_feed(&d, b, n, &used, &f), IDFRAME_MORE);
    assert_int_equal(used, n);
    assert_int_equal(idframe_decoder_pending(&d), n);
    n = unhex("00 00 00 97", tail, 32);
    assert_int_equal(idframe_decoder_feed(&d, tail, n, &used, &f), IDFRAME_OK);
    assert_int_equal(f.raw_len, 15);
    assert_int_equal(idframe_decoder_pending(&d), 0);
}

static size_t build_read_answer(uint8_t *out, size_t cap)
{
    struct idcard_info c;
    uint8_t data[4 + IDTEXT_LEN + IDTEXT_PHOTO_LEN];
    struct err e;

    memset(&c, 0, sizeof(c));
    c.type = IDCARD_RESIDENT;
    strcpy(c.name, "测试甲");
    strcpy(c.gender_code, "1");
    strcpy(c.nation_code, "01");
    strcpy(c.birth, "19491231");
    strcpy(c.address, "北京市东城区测试路1号");
    strcpy(c.id_number, "11010519491231002X");
    strcpy(c.authority, "北京市公安局东城分局");
    strcpy(c.valid_from, "20150101");
    strcpy(c.valid_to, "长期");
    data[0] = 0x01;
    data[1] = 0x00;
    data[2] = 0x04;
    data[3] = 0x00;
    assert_int_equal(idtext_encode(&c, data + 4, &e), 0);
    memset(data + 4 + IDTEXT_LEN, 0, IDTEXT_PHOTO_LEN);
    memcpy(data + 4 + IDTEXT_LEN, "WLf", 4);
    return (size_t)idframe_encode_resp(0x90, data, sizeof(data), out, cap);
}

static void test_full_read_answer(void **state)
{
    uint8_t b[2 * 1400], hdr[16];
    size_t n = build_read_answer(b, sizeof(b)), h, i;

    (void)state;
    assert_int_equal(n, 1295);
    h = unhex("AA AA AA 96 69 05 08 00 00 90 01 00 04 00", hdr, sizeof(hdr));
    assert_memory_equal(b, hdr, h);
    assert_memory_equal(b + 270, "WLf\0", 4);
    /* Two answers back to back, many random chunkings. */
    memcpy(b + n, b, n);
    srand(1295);
    for (i = 0; i < 200; i++) {
        struct got g;
        struct idcard_info info;
        struct err e;

        feed(&g, b, 2 * n, i == 0 ? chunk_one : chunk_random);
        assert_int_equal(g.n, 2);
        assert_int_equal(g.res[0], IDFRAME_OK);
        assert_int_equal(g.res[1], IDFRAME_OK);
        assert_int_equal(g.len[0], 1295);
        assert_int_equal(idtext_from_response(g.raw[1] + 7, 1287, 0, &info, &e),
                         0);
        assert_string_equal(info.name, "测试甲");
        assert_string_equal(info.id_number, "11010519491231002X");
        assert_string_equal(info.valid_to, "长期");
        assert_int_equal(info.photo_bytes, 1024);
    }
    /* One flipped photo byte: the checksum catches it. */
    b[900] ^= 1;
    {
        struct got g;
        feed(&g, b, n, chunk_all);
        assert_int_equal(g.res[0], IDFRAME_BADSUM);
    }
}

static void test_status_table(void **state)
{
    static const uint8_t known[] = {0x90, 0x9F, 0x80, 0x81, 0x41, 0x10,
                                    0x11, 0x21, 0x23, 0x24, 0x31, 0x32,
                                    0x33, 0x40, 0x47, 0x60, 0x66, 0x91};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(known); i++) {
        assert_string_not_equal(idframe_status_name(known[i]), "unknown");
        assert_string_not_equal(idframe_status_text(known[i]),
                                "unknown status");
    }
    assert_string_equal(idframe_status_name(0x90), "ok");
    assert_string_equal(idframe_status_name(0x80), "no_card");
    assert_string_equal(idframe_status_name(0x55), "unknown");
    assert_null(idframe_command_name(0x4242));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_frames),
        cmocka_unit_test(test_encode_commands),
        cmocka_unit_test(test_encode_responses),
        cmocka_unit_test(test_wrong_checksum_select),
        cmocka_unit_test(test_garbage_resync),
        cmocka_unit_test(test_skipped_count),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_truncated_then_next),
        cmocka_unit_test(test_full_read_answer),
        cmocka_unit_test(test_status_table),
    };

    srand(42);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
