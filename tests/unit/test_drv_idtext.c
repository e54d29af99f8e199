/*
 * test_drv_idtext.c: the 256-byte text block: resident, 'I' and 'J'
 * layouts, field offsets against hand-built blocks, the code tables, the
 * refusal of unknown card types and of blank names, the validity period
 * (real dates, order) flagged but not refused, and read-answer length
 * checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "idjson.h"
#include "idtext.h"

/* Put ASCII s as UCS-2LE at off (the rest stays as it was). */
static void put(uint8_t *t, size_t off, const char *s)
{
    while (*s) {
        t[off++] = (uint8_t)*s++;
        t[off++] = 0;
    }
}

static void blank(uint8_t *t)
{
    size_t i;
    for (i = 0; i < IDTEXT_LEN; i += 2) {
        t[i] = 0x20;
        t[i + 1] = 0;
    }
}

/* A resident block built by hand from the offsets in the notes. */
static void resident_block(uint8_t *t)
{
    blank(t);
    /* 张三 = U+5F20 U+4E09 */
    t[0] = 0x20;
    t[1] = 0x5F;
    t[2] = 0x09;
    t[3] = 0x4E;
    put(t, 30, "1");
    put(t, 32, "01");
    put(t, 36, "19491231");
    t[52] = 0x17;
    t[53] = 0x53; /* 北 U+5317 */
    put(t, 54, "1");
    put(t, 122, "11010519491231002X");
    t[158] = 0x6C;
    t[159] = 0x51; /* 公 U+516C */
    put(t, 188, "20150101");
    t[204] = 0x7F;
    t[205] = 0x95; /* 长 U+957F */
    t[206] = 0x1F;
    t[207] = 0x67; /* 期 U+671F */
}

static void test_resident(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    (void)state;
    resident_block(t);
    assert_int_equal(idtext_decode(t, &c, &e), 0);
    assert_int_equal(c.type, IDCARD_RESIDENT);
    assert_string_equal(c.name, "张三");
    assert_string_equal(c.gender_code, "1");
    assert_string_equal(c.gender, "男");
    assert_string_equal(c.nation_code, "01");
    assert_string_equal(c.nation, "汉");
    assert_string_equal(c.birth, "19491231");
    assert_string_equal(c.address, "北1");
    assert_string_equal(c.id_number, "11010519491231002X");
    assert_string_equal(c.authority, "公");
    assert_string_equal(c.valid_from, "20150101");
    assert_string_equal(c.valid_to, "长期");
    assert_int_equal(c.period, IDCARD_PERIOD_OK);
}

/* Put "长期" at off. */
static void put_forever(uint8_t *t, size_t off)
{
    put(t, off, "        ");
    t[off] = 0x7F;
    t[off + 1] = 0x95;
    t[off + 2] = 0x1F;
    t[off + 3] = 0x67;
}

/* The resident block with this period decodes (0) with period p. */
static void check_period(const char *from, const char *to, enum idcard_period p)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    resident_block(t);
    put(t, 188, from);
    if (to == NULL)
        put_forever(t, 204);
    else
        put(t, 204, to);
    if (idtext_decode(t, &c, &e) != 0)
        fail_msg("%s..%s: %s", from, to ? to : "长期", e.msg);
    if (c.period != p)
        fail_msg("%s..%s: period %s, expected %s", from, to ? to : "长期",
                 idtext_period_name(c.period), idtext_period_name(p));
    /* Read all the same: the fields are there for the daemon's review. */
    assert_string_equal(c.id_number, "11010519491231002X");
}

static void test_validity_period(void **state)
{
    (void)state;
    check_period("20150101", NULL, IDCARD_PERIOD_OK);
    check_period("20150101", "20350101", IDCARD_PERIOD_OK);
    check_period("20240229", "20440229", IDCARD_PERIOD_OK); /* leap years */
    check_period("20200315", "20200315", IDCARD_PERIOD_OK); /* one day */
    check_period("20230229", "20430228", IDCARD_PERIOD_BAD_DATE);
    check_period("20150101", "21000229", IDCARD_PERIOD_BAD_DATE); /* 2100 */
    check_period("20230230", NULL, IDCARD_PERIOD_BAD_DATE);
    check_period("20231301", "20331301", IDCARD_PERIOD_BAD_DATE);
    check_period("00000000", "20350101", IDCARD_PERIOD_BAD_DATE);
    check_period("20150101", "99999999", IDCARD_PERIOD_BAD_DATE);
    check_period("20150100", "20350101", IDCARD_PERIOD_BAD_DATE);
    check_period("20350101", "20150101", IDCARD_PERIOD_REVERSED);
    check_period("20200316", "20200315", IDCARD_PERIOD_REVERSED);
    /* The shape is still a decode error: not digits, not 长期. */
    {
        uint8_t t[IDTEXT_LEN];
        struct idcard_info c;
        struct err e;

        resident_block(t);
        put(t, 204, "2035O101");
        assert_int_equal(idtext_decode(t, &c, &e), -1);
        assert_non_null(strstr(e.msg, "validity end"));
    }
    assert_true(idtext_date_valid("20000101"));
    assert_true(idtext_date_valid("22001231"));
    assert_false(idtext_date_valid("19991231"));
    assert_false(idtext_date_valid("2015010"));
    assert_false(idtext_date_valid("201501011"));
    assert_false(idtext_date_valid("2015-1-1"));
    assert_string_equal(idtext_period_name(IDCARD_PERIOD_OK), "ok");
    assert_string_equal(idtext_period_name(IDCARD_PERIOD_BAD_DATE), "bad_date");
    assert_string_equal(idtext_period_name(IDCARD_PERIOD_REVERSED), "reversed");
    assert_string_equal(idtext_period_name(IDCARD_PERIOD_UNCHECKED),
                        "unchecked");
}

static void test_blank_name(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    (void)state;
    resident_block(t);
    put(t, 0, "               "); /* 15 spaces: all padding */
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    assert_non_null(strstr(e.msg, "no name"));
    assert_string_equal(c.id_number, ""); /* wiped */
    memset(t, 0, 30);                     /* NUL padding */
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    /* J cards too. */
    put(t, 248, "J");
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    assert_non_null(strstr(e.msg, "no name"));
}

static void test_roundtrip(void **state)
{
    uint8_t t[IDTEXT_LEN], t2[IDTEXT_LEN];
    struct idcard_info c, d;
    struct err e;

    (void)state;
    resident_block(t);
    assert_int_equal(idtext_decode(t, &c, &e), 0);
    assert_int_equal(idtext_encode(&c, t2, &e), 0);
    assert_memory_equal(t, t2, IDTEXT_LEN);
    assert_int_equal(idtext_decode(t2, &d, &e), 0);
    assert_string_equal(d.name, c.name);
}

static void test_foreigner(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    (void)state;
    blank(t);
    put(t, 0, "SMITH JOHN");
    put(t, 120, "1");
    put(t, 122, "CAN110090010105");
    put(t, 152, "CAN");
    t[158] = 0xF2;
    t[159] = 0x53; /* 史 U+53F2 */
    put(t, 188, "20200101");
    put(t, 204, "20300101");
    put(t, 220, "19900101");
    put(t, 236, "01");
    put(t, 240, "1100");
    put(t, 248, "I");
    assert_int_equal(idtext_decode(t, &c, &e), 0);
    assert_int_equal(c.type, IDCARD_FOREIGNER);
    assert_string_equal(c.name_en, "SMITH JOHN");
    assert_string_equal(c.name, "史");
    assert_string_equal(c.id_number, "CAN110090010105");
    assert_string_equal(c.nation_code, "CAN");
    assert_string_equal(c.birth, "19900101");
    assert_string_equal(c.card_version, "01");
    assert_string_equal(c.office_code, "1100");
    assert_string_equal(c.nation, "");
    assert_int_equal(c.period, IDCARD_PERIOD_OK);
    /* No Chinese name is fine on an I card; no English name is not. */
    put(t, 158, "               ");
    assert_int_equal(idtext_decode(t, &c, &e), 0);
    assert_string_equal(c.name, "");
    put(t, 0, "          ");
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    assert_non_null(strstr(e.msg, "no name"));
}

static void test_hkmotw(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    (void)state;
    resident_block(t);
    put(t, 32, "  "); /* reserved in J */
    put(t, 122, "810000199203030026");
    put(t, 220, "H12345678");
    put(t, 238, "01");
    put(t, 248, "J");
    assert_int_equal(idtext_decode(t, &c, &e), 0);
    assert_int_equal(c.type, IDCARD_HKMOTW);
    assert_string_equal(c.id_number, "810000199203030026");
    assert_string_equal(c.pass_number, "H12345678");
    assert_string_equal(c.issue_count, "01");
    assert_string_equal(c.nation_code, "");
}

static void test_refused_types(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    (void)state;
    resident_block(t);
    put(t, 248, "Y");
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    assert_non_null(strstr(e.msg, "'Y'"));
    assert_string_equal(c.id_number, ""); /* wiped, never half-filled */
    put(t, 248, "Q");
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    assert_non_null(strstr(e.msg, "unknown card type"));
    t[248] = 0;
    t[249] = 0;
    assert_int_equal(idtext_decode(t, &c, &e), -1);
}

static void test_bad_fields(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;

    (void)state;
    resident_block(t);
    put(t, 36, "1949123A");
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    resident_block(t);
    t[0] = 0x01; /* control character in the name */
    t[1] = 0x00;
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    resident_block(t);
    t[0] = 0x00; /* lone surrogate: not UCS-2 */
    t[1] = 0xD8;
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    resident_block(t);
    put(t, 32, "77"); /* no such nation */
    assert_int_equal(idtext_decode(t, &c, &e), -1);
    resident_block(t);
    put(t, 30, "5"); /* no such gender */
    assert_int_equal(idtext_decode(t, &c, &e), -1);
}

static void test_tables(void **state)
{
    (void)state;
    assert_string_equal(idtext_gender_name("2"), "女");
    assert_string_equal(idtext_gender_name("9"), "未说明");
    assert_null(idtext_gender_name("3"));
    assert_string_equal(idtext_nation_name("05"), "维吾尔");
    assert_string_equal(idtext_nation_name("56"), "基诺");
    assert_string_equal(idtext_nation_name("97"), "其他");
    assert_string_equal(idtext_nation_name("98"), "外国血统中国籍人士");
    assert_null(idtext_nation_name("57"));
    assert_null(idtext_nation_name("00"));
    assert_null(idtext_nation_name("1"));
}

static void test_response_lengths(void **state)
{
    uint8_t body[3 + 4 + IDTEXT_LEN + IDTEXT_PHOTO_LEN + 2];
    struct idcard_info c;
    struct err e;

    (void)state;
    memset(body, 0, sizeof(body));
    body[2] = 0x90;
    body[3] = 0x01;
    body[5] = 0x04;
    resident_block(body + 7);
    assert_int_equal(idtext_from_response(body, 1287, 0, &c, &e), 0);
    assert_int_equal(c.photo_bytes, 1024);
    /* One byte short, one byte long, wrong status, wrong text length. */
    assert_int_equal(idtext_from_response(body, 1286, 0, &c, &e), -1);
    assert_int_equal(idtext_from_response(body, 1288, 0, &c, &e), -1);
    body[2] = 0x41;
    assert_int_equal(idtext_from_response(body, 1287, 0, &c, &e), -1);
    body[2] = 0x90;
    body[3] = 0x02;
    assert_int_equal(idtext_from_response(body, 1287, 0, &c, &e), -1);
    assert_int_equal(idtext_from_response(body, 2, 0, &c, &e), -1);
}

static void test_json_mask(void **state)
{
    uint8_t t[IDTEXT_LEN];
    struct idcard_info c;
    struct err e;
    json_t *j;
    char out[32];

    (void)state;
    resident_block(t);
    assert_int_equal(idtext_decode(t, &c, &e), 0);
    j = idjson_card(&c, 0);
    assert_string_equal(json_string_value(json_object_get(j, "id_number")),
                        "110105********002X");
    assert_string_equal(
        json_string_value(json_object_get(j, "validity_period")), "ok");
    json_decref(j);
    c.period = IDCARD_PERIOD_REVERSED;
    j = idjson_card(&c, 0);
    assert_string_equal(
        json_string_value(json_object_get(j, "validity_period")), "reversed");
    json_decref(j);
    j = idjson_card(&c, 1);
    assert_string_equal(json_string_value(json_object_get(j, "id_number")),
                        "11010519491231002X");
    json_decref(j);
    idjson_mask("CAN110090010105", out, sizeof(out));
    assert_string_equal(out, "***********0105");
    /* Found by fuzz_idtext: a damaged number of 18 bytes that are not 18
     * characters must still mask to valid UTF-8 (jansson refuses it
     * otherwise and the card object came out NULL). */
    idjson_mask("CAN\xe0\xa8\xb1"
                "1009001\xc2\xbb"
                "105",
                out, sizeof(out));
    assert_string_equal(out, "***********\xc2\xbb"
                             "105");
    idjson_mask("\xe5\xbc\xa0\xe4\xb8\x89", out, sizeof(out));
    assert_string_equal(out, "\xe5\xbc\xa0\xe4\xb8\x89");
    idcard_info_wipe(&c);
    assert_string_equal(c.id_number, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resident),
        cmocka_unit_test(test_validity_period),
        cmocka_unit_test(test_blank_name),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_foreigner),
        cmocka_unit_test(test_hkmotw),
        cmocka_unit_test(test_refused_types),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_response_lengths),
        cmocka_unit_test(test_json_mask),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
