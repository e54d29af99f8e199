/*
 * test_csvread.c: common/csvread.c on real files: RFC 4180 quoting, the
 * line a record starts on, BOM, CRLF, blank lines and Excel's rows of only
 * commas, GB18030 (bytes made with
 * iconv here), and every refusal with its line.
 */
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "csvread.h"
#include "testutil.h"

#define MAXROWS 16
#define MAXF    8

struct rows {
    int n;
    int line[MAXROWS];
    size_t nf[MAXROWS];
    char f[MAXROWS][MAXF][128];
    int stop_at; /* fail the callback on this row index + 1 */
};

static int collect(void *ud, int line, char **fields, size_t nfields,
                   struct err *e)
{
    struct rows *r = ud;
    size_t i;

    if (r->n == MAXROWS)
        return err_set(e, EX_SOFTWARE, "too many rows for the test");
    r->line[r->n] = line;
    r->nf[r->n] = nfields;
    for (i = 0; i < nfields && i < MAXF; i++)
        snprintf(r->f[r->n][i], sizeof(r->f[0][0]), "%s", fields[i]);
    r->n++;
    if (r->stop_at == r->n)
        return err_set(e, EX_DATAERR, "stopped by the callback");
    return 0;
}

static int setup(void **state)
{
    return tfile_setup(state, "in.csv");
}

static int teardown(void **state)
{
    return tfile_teardown(state);
}

/* Write data to the fixture file and read it with enc. */
static int run(struct tfile *x, const void *data, size_t len,
               enum csv_encoding enc, struct rows *r, struct csvread_info *info,
               struct err *e)
{
    assert_int_equal(write_bytes(x->path, data, len), 0);
    memset(r, 0, sizeof(*r));
    err_clear(e);
    return csvread_file(x->path, enc, collect, r, info, e);
}

static void test_quotes_commas_newlines(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    static const char csv[] =
        "a,b,c\n"                                   /* line 1 */
        "\"x, y\",\"say \"\"hi\"\"\",plain\n"       /* line 2 */
        "\"two\nlines\",\"three\nmore\nlines\",z\n" /* lines 3-6 */
        "after,the,multiline\n";                    /* line 7 */

    assert_int_equal(run(x, csv, (size_t)-1, CSV_ENC_AUTO, &r, NULL, &e), 0);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.line[0], 1);
    assert_int_equal(r.line[1], 2);
    assert_string_equal(r.f[1][0], "x, y");
    assert_string_equal(r.f[1][1], "say \"hi\"");
    assert_string_equal(r.f[1][2], "plain");
    /* a record spanning lines is reported at the line it starts on */
    assert_int_equal(r.line[2], 3);
    assert_string_equal(r.f[2][0], "two\nlines");
    assert_string_equal(r.f[2][1], "three\nmore\nlines");
    /* and the next record's line counts the embedded newlines */
    assert_int_equal(r.line[3], 7);
    assert_string_equal(r.f[3][2], "multiline");
}

static void test_bom_crlf_blank_trailing(void **state)
{
    struct tfile *x = *state;
    struct csvread_info info;
    struct rows r;
    struct err e;
    static const char csv[] = "\xEF\xBB\xBFticket,name\r\n" /* 1 */
                              "\r\n"                        /* 2 blank */
                              "  \r\n"          /* 3 blank (spaces) */
                              "T1,  王伟  \r\n" /* 4 */
                              "\n"              /* 5 */
                              "T2,\"李 娜\"";   /* 6, no newline at the end */

    assert_int_equal(run(x, csv, (size_t)-1, CSV_ENC_AUTO, &r, &info, &e), 0);
    assert_int_equal(info.had_bom, 1);
    assert_int_equal(info.encoding, CSV_ENC_UTF8);
    assert_int_equal(info.bytes, sizeof(csv) - 1);
    assert_int_equal(strlen(info.sha256), 64);
    assert_int_equal(r.n, 3);
    /* the BOM is not part of the first header name */
    assert_string_equal(r.f[0][0], "ticket");
    assert_int_equal(r.line[1], 4);
    /* fields are trimmed; no \r left over from CRLF */
    assert_string_equal(r.f[1][1], "王伟");
    assert_int_equal(r.line[2], 6);
    assert_string_equal(r.f[2][0], "T2");
    assert_string_equal(r.f[2][1], "李 娜");
    assert_int_equal(r.nf[2], 2);
}

/* Excel saves a row whose cells were cleared as ",,,,,": skipped like a
 * blank line, before the header and among the rows, without shifting the
 * line numbers; a row with one non-empty field is still a row. */
static void test_comma_only_rows(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    static const char csv[] = ",,,\r\n"                   /* 1 skipped */
                              "ticket,name,room,seat\r\n" /* 2 header */
                              "T1,王伟,101,1\r\n"         /* 3 */
                              ",,,\r\n"                   /* 4 skipped */
                              " , ,\t,\r\n"               /* 5 skipped */
                              "\"\",\"\",,\r\n"           /* 6 skipped */
                              ",,,9\r\n"                  /* 7 a row */
                              ",,,,,,,,\r\n"              /* 8 skipped */
                              ",,,";                      /* 9 skipped */

    assert_int_equal(run(x, csv, (size_t)-1, CSV_ENC_AUTO, &r, NULL, &e), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.line[0], 2);
    assert_string_equal(r.f[0][0], "ticket");
    assert_int_equal(r.line[1], 3);
    assert_string_equal(r.f[1][1], "王伟");
    assert_int_equal(r.line[2], 7);
    assert_int_equal(r.nf[2], 4);
    assert_string_equal(r.f[2][3], "9");
}

/* UTF-8 text → GB18030 bytes, with iconv, as an office's Excel would save. */
static size_t to_gb18030(const char *utf8, char *out, size_t cap)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    char *in = (char *)utf8, *op = out;
    size_t inleft = strlen(utf8), outleft = cap;

    assert_true(cd != (iconv_t)-1);
    assert_true(iconv(cd, &in, &inleft, &op, &outleft) != (size_t)-1);
    iconv_close(cd);
    return cap - outleft;
}

static void test_gb18030_detected(void **state)
{
    struct tfile *x = *state;
    struct csvread_info info;
    struct rows r;
    struct err e;
    char gb[512];
    size_t n = to_gb18030("准考证号,姓名\n260001,张伟\n260002,欧阳秀英\n", gb,
                          sizeof(gb));

    /* the bytes really are not UTF-8, or this test proves nothing */
    assert_int_equal(csvread_utf8_valid(gb, n, NULL), 0);
    assert_int_equal(run(x, gb, n, CSV_ENC_AUTO, &r, &info, &e), 0);
    assert_int_equal(info.encoding, CSV_ENC_GB18030);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.f[0][0], "准考证号");
    assert_string_equal(r.f[1][1], "张伟");
    assert_string_equal(r.f[2][1], "欧阳秀英");
    assert_int_equal(r.line[2], 3);

    /* forced gb18030 reads the same */
    assert_int_equal(run(x, gb, n, CSV_ENC_GB18030, &r, &info, &e), 0);
    assert_string_equal(r.f[2][1], "欧阳秀英");
}

static void test_invalid_utf8_forced(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    char gb[512], buf[600];
    size_t n = to_gb18030("张伟", gb, sizeof(gb));

    /* GB18030 bytes on line 3 of a file forced to be UTF-8 */
    snprintf(buf, sizeof(buf), "a,b\nT1,ok\nT2,%.*s\n", (int)n, gb);
    assert_int_equal(run(x, buf, strlen(buf), CSV_ENC_UTF8, &r, NULL, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: not valid UTF-8"));
    assert_non_null(strstr(e.msg, x->path));
    assert_int_equal(r.n, 0); /* nothing reached the callback */

    /* overlong encodings and surrogates are not UTF-8 either */
    assert_int_equal(csvread_utf8_valid("\xC0\xAF", 2, NULL), 0);
    assert_int_equal(csvread_utf8_valid("\xED\xA0\x80", 3, NULL), 0);
    assert_int_equal(csvread_utf8_valid("\xF4\x90\x80\x80", 4, NULL), 0);
    assert_int_equal(csvread_utf8_valid("ok\n\xE4\xB8", 5, NULL),
                     0); /* truncated */
    {
        int bad = 0;
        assert_int_equal(csvread_utf8_valid("a\nb\n\xFF", 5, &bad), 0);
        assert_int_equal(bad, 3);
        assert_int_equal(csvread_utf8_valid("中文\n", strlen("中文\n"), &bad),
                         1);
    }
}

static void test_neither_encoding(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    /* 0x81 0x20 is not a GB18030 sequence either */
    static const char csv[] = "a,b\nT1,x\n\x81\x20,y\n";

    assert_int_equal(run(x, csv, sizeof(csv) - 1, CSV_ENC_AUTO, &r, NULL, &e),
                     -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: neither valid UTF-8 nor valid GB18030"));
}

static void test_unterminated_quote(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    static const char csv[] = "a,b\nT1,x\nT2,\"open\nnever closed\n";

    assert_int_equal(run(x, csv, (size_t)-1, CSV_ENC_AUTO, &r, NULL, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3); /* where the record starts */
    assert_non_null(strstr(e.msg, ":3: malformed CSV"));
    assert_non_null(strstr(e.msg, "unterminated"));
    assert_int_equal(r.n, 2); /* the rows before it were delivered */
}

static void test_stray_quote(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    static const char csv[] = "a,b\nT1,x\nT2,ab\"c\"d\n";

    assert_int_equal(run(x, csv, (size_t)-1, CSV_ENC_AUTO, &r, NULL, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: malformed CSV"));
}

static void test_too_many_fields(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    char buf[1024];
    size_t n;
    int i;

    n = (size_t)snprintf(buf, sizeof(buf), "a,b\nT1,x\n");
    for (i = 0; i < CSVREAD_MAX_FIELDS + 1; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, i ? ",%d" : "%d", i);
    buf[n++] = '\n';
    assert_int_equal(run(x, buf, n, CSV_ENC_AUTO, &r, NULL, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: too many columns"));

    /* exactly the maximum is fine */
    n = (size_t)snprintf(buf, sizeof(buf), "h\n");
    for (i = 0; i < CSVREAD_MAX_FIELDS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, i ? ",%d" : "%d", i);
    buf[n++] = '\n';
    assert_int_equal(run(x, buf, n, CSV_ENC_AUTO, &r, NULL, &e), 0);
    assert_int_equal(r.nf[1], CSVREAD_MAX_FIELDS);
}

static void test_field_too_long(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    char *buf = malloc(2 * CSVREAD_MAX_FIELD + 64);
    size_t n;

    assert_non_null(buf);
    n = (size_t)sprintf(buf, "a,b\nT1,");
    memset(buf + n, 'y', CSVREAD_MAX_FIELD); /* the maximum: fine */
    n += CSVREAD_MAX_FIELD;
    n += (size_t)sprintf(buf + n, "\nT2,");
    memset(buf + n, 'z', CSVREAD_MAX_FIELD + 1);
    n += CSVREAD_MAX_FIELD + 1;
    buf[n++] = '\n';
    assert_int_equal(run(x, buf, n, CSV_ENC_AUTO, &r, NULL, &e), -1);
    free(buf);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: a field is longer than"));
    assert_int_equal(r.n, 2);
}

static void test_nul_byte(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    static const char csv[] = "a,b\nT1,x\0y\n";

    assert_int_equal(run(x, csv, sizeof(csv) - 1, CSV_ENC_AUTO, &r, NULL, &e),
                     -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_non_null(strstr(e.msg, "NUL"));
    assert_int_equal(r.n, 0);
}

static void test_missing_file_and_directory(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;

    memset(&r, 0, sizeof(r));
    assert_int_equal(csvread_file("/nonexistent/examsite.csv", CSV_ENC_AUTO,
                                  collect, &r, NULL, &e),
                     -1);
    assert_int_equal(e.code, EX_NOINPUT);
    assert_int_equal(
        csvread_file(x->t->path, CSV_ENC_AUTO, collect, &r, NULL, &e), -1);
    assert_int_equal(e.code, EX_NOINPUT);
    assert_non_null(strstr(e.msg, "not a regular file"));
}

static void test_callback_error_prefixed(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;
    static const char csv[] = "a\n1\n\"2\n2\"\n3\n";

    assert_int_equal(write_bytes(x->path, csv, (size_t)-1), 0);
    memset(&r, 0, sizeof(r));
    r.stop_at = 3; /* the record starting on line 3 */
    assert_int_equal(csvread_file(x->path, CSV_ENC_AUTO, collect, &r, NULL, &e),
                     -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: stopped by the callback"));
    assert_int_equal(r.n, 3); /* and nothing after it */
}

static void test_empty_file(void **state)
{
    struct tfile *x = *state;
    struct rows r;
    struct err e;

    assert_int_equal(run(x, "", 0, CSV_ENC_AUTO, &r, NULL, &e), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(
        run(x, "\n\r\n  \n", (size_t)-1, CSV_ENC_AUTO, &r, NULL, &e), 0);
    assert_int_equal(r.n, 0);
}

static void test_encoding_names(void **state)
{
    enum csv_encoding enc;

    (void)state;
    assert_int_equal(csvread_encoding("auto", &enc), 0);
    assert_int_equal(enc, CSV_ENC_AUTO);
    assert_int_equal(csvread_encoding("UTF-8", &enc), 0);
    assert_int_equal(enc, CSV_ENC_UTF8);
    assert_int_equal(csvread_encoding("utf8", &enc), 0);
    assert_int_equal(enc, CSV_ENC_UTF8);
    assert_int_equal(csvread_encoding("GB18030", &enc), 0);
    assert_int_equal(enc, CSV_ENC_GB18030);
    assert_int_equal(csvread_encoding("latin1", &enc), -1);
    assert_int_equal(csvread_encoding("", &enc), -1);
}

static void test_column_lookup(void **state)
{
    struct tfile *x = *state;
    static const char *const ticket[] = {"ticket", "准考证号", NULL};
    static const char *const name[] = {"name", "姓名", NULL};
    static const char *const seat[] = {"seat", "座位号", NULL};
    struct rows r;
    struct err e;
    char *hdr[MAXF];
    size_t i;

    /* header names are trimmed by the reader, matched case-insensitively */
    assert_int_equal(run(x, " Seat , 姓名 ,TICKET,extra\n", (size_t)-1,
                         CSV_ENC_AUTO, &r, NULL, &e),
                     0);
    for (i = 0; i < r.nf[0]; i++)
        hdr[i] = r.f[0][i];
    assert_int_equal(csvread_column(hdr, r.nf[0], ticket), 2);
    assert_int_equal(csvread_column(hdr, r.nf[0], name), 1);
    assert_int_equal(csvread_column(hdr, r.nf[0], seat), 0);

    assert_int_equal(
        run(x, "准考证号,座位号\n", (size_t)-1, CSV_ENC_AUTO, &r, NULL, &e), 0);
    for (i = 0; i < r.nf[0]; i++)
        hdr[i] = r.f[0][i];
    assert_int_equal(csvread_column(hdr, r.nf[0], ticket), 0);
    assert_int_equal(csvread_column(hdr, r.nf[0], seat), 1);
    assert_int_equal(csvread_column(hdr, r.nf[0], name), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quotes_commas_newlines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_comma_only_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom_crlf_blank_trailing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gb18030_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_forced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_neither_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stray_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_and_directory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_callback_error_prefixed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test(test_encoding_names),
        cmocka_unit_test_setup_teardown(test_column_lookup, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
