/*
 * test_config.c: common/config.c: every key of examsite.conf(5) parsed into
 * struct config, and every refusal as "FILE:LINE: reason" at the right line:
 * long lines, indentation, duplicate keys and sections, a missing [site];
 * and config_site_mismatch().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "testutil.h"

static int setup(void **state)
{
    return tfile_setup(state, "examsite.conf");
}

static int teardown(void **state)
{
    return tfile_teardown(state);
}

static const char full[] =
    "; a station's configuration\n"                 /*  1 */
    "[site]\n"                                      /*  2 */
    "id = HZVC-01\n"                                /*  3 */
    "station = door-101\n"                          /*  4 */
    "database = /var/lib/examsite/site.db\n"        /*  5 */
    "secret_file = /var/lib/examsite/site.secret\n" /*  6 */
    "timezone = Asia/Urumqi\n"                      /*  7 */
    "\n"                                            /*  8 */
    "[control]\n"                                   /*  9 */
    "socket = /run/examsite/ctl.sock\n"             /* 10 */
    "kiosk_group = kiosk\n"                         /* 11 */
    "operator_group = invig\n"                      /* 12 */
    "admin_group = office\n"                        /* 13 */
    "\n"                                            /* 14 */
    "[policy]\n"                                    /* 15 */
    "mode = id+ticket\n"                            /* 16 */
    "pair_window_seconds = 45\n"                    /* 17 */
    "poll_before = 90\n"                            /* 18 */
    "\n"                                            /* 19 */
    "[device reader1]\n"                            /* 20 */
    "type = idcard\n"                               /* 21 */
    "transport = usb\n"                             /* 22 */
    "usb = 0400:C35A\n"                             /* 23 */
    "serial = SN0042\n"                             /* 24 */
    "room = 101\n"                                  /* 25 */
    "\n"                                            /* 26 */
    "[device scan1]\n"                              /* 27 */
    "type = scanner\n"                              /* 28 */
    "transport = serial\n"                          /* 29 */
    "path = /dev/ttyACM0\n"                         /* 30 */
    "baud = 9600\n"                                 /* 31 */
    "room = 102\n"                                  /* 32 */
    "\n"                                            /* 33 */
    "[central]\n"                                   /* 34 */
    "url = https://jwc.example.edu.cn/examsite\n"   /* 35 */
    "key_file = /etc/examsite/central.key\n"        /* 36 */
    "ca_file = /etc/examsite/ca.pem\n"              /* 37 */
    "schedule = 23:30\n"                            /* 38 */
    "batch_max_events = 5000\n";                    /* 39 */

static void test_full_valid(void **state)
{
    struct tfile *x = *state;
    struct config c;
    struct err e;

    assert_int_equal(write_bytes(x->path, full, (size_t)-1), 0);
    err_clear(&e);
    if (config_load(x->path, &c, &e) != 0)
        fail_msg("config_load: %s", e.msg);
    assert_string_equal(c.file, x->path);
    assert_string_equal(c.site.id, "HZVC-01");
    assert_string_equal(c.site.station, "door-101");
    assert_string_equal(c.site.database, "/var/lib/examsite/site.db");
    assert_string_equal(c.site.secret_file, "/var/lib/examsite/site.secret");
    assert_string_equal(c.site.timezone, "Asia/Urumqi");
    assert_string_equal(c.control.socket, "/run/examsite/ctl.sock");
    assert_string_equal(c.control.kiosk_group, "kiosk");
    assert_string_equal(c.control.operator_group, "invig");
    assert_string_equal(c.control.admin_group, "office");
    assert_int_equal(c.policy.mode, POLICY_ID_TICKET);
    assert_string_equal(config_policy_name(c.policy.mode), "id+ticket");
    assert_int_equal(c.policy.pair_window_seconds, 45);
    assert_int_equal(c.policy.poll_before, 90);

    assert_int_equal(c.ndevices, 2);
    assert_string_equal(c.devices[0].name, "reader1");
    assert_int_equal(c.devices[0].type, DEVTYPE_IDCARD);
    assert_int_equal(c.devices[0].transport, TRANSPORT_USB);
    assert_int_equal(c.devices[0].vid, 0x0400);
    assert_int_equal(c.devices[0].pid, 0xc35a);
    assert_string_equal(c.devices[0].serial, "SN0042");
    assert_string_equal(c.devices[0].room, "101");
    assert_int_equal(c.devices[0].line, 20);
    assert_string_equal(c.devices[1].name, "scan1");
    assert_int_equal(c.devices[1].type, DEVTYPE_SCANNER);
    assert_int_equal(c.devices[1].transport, TRANSPORT_SERIAL);
    assert_string_equal(c.devices[1].path, "/dev/ttyACM0");
    assert_int_equal(c.devices[1].baud, 9600);
    assert_string_equal(c.devices[1].room, "102");
    assert_int_equal(c.devices[1].line, 27);

    assert_string_equal(c.central.url, "https://jwc.example.edu.cn/examsite");
    assert_string_equal(c.central.key_file, "/etc/examsite/central.key");
    assert_string_equal(c.central.ca_file, "/etc/examsite/ca.pem");
    assert_int_equal(c.central.schedule, 23 * 60 + 30);
    assert_int_equal(c.central.batch_max_events, 5000);
}

static void test_defaults(void **state)
{
    struct tfile *x = *state;
    struct config c;
    struct err e;

    assert_int_equal(write_bytes(x->path, "[site]\nid = S1\n", (size_t)-1), 0);
    assert_int_equal(config_load(x->path, &c, &e), 0);
    assert_string_equal(c.site.database, CONFIG_DEFAULT_DB);
    assert_string_equal(c.site.timezone, "Asia/Shanghai");
    assert_true(c.site.station[0] != '\0');
    assert_string_equal(c.control.socket, CONFIG_DEFAULT_SOCKET);
    assert_int_equal(c.policy.mode, POLICY_ID);
    assert_int_equal(c.policy.poll_before, 60);
    assert_int_equal(c.ndevices, 0);
    /* a serial device's baud defaults to 115200 */
    assert_int_equal(
        write_bytes(x->path,
                    "[site]\nid = S1\n[device d]\ntype = idcard\n"
                    "transport = serial\npath = /dev/ttyUSB0\nroom = 1\n",
                    (size_t)-1),
        0);
    assert_int_equal(config_load(x->path, &c, &e), 0);
    assert_int_equal(c.devices[0].baud, 115200);
}

struct bad_case {
    const char *what;
    const char *text;
    int line;
    const char *reason;
};

static const struct bad_case bad_cases[] = {
    {"unknown key", "[site]\nid = S1\ncolour = blue\n", 3,
     "unknown key 'colour' in [site]"},
    {"unknown section", "[site]\nid = S1\n\n[sitee]\nid = x\n", 4,
     "unknown section [sitee]"},
    {"empty unknown section", "[site]\nid = S1\n[nothing]\n", 3,
     "unknown section [nothing]"},
    {"bad mode", "[site]\nid = S1\n[policy]\nmode = face\n", 4,
     "mode must be id, ticket or id+ticket"},
    {"pair_window 0", "[site]\nid = S1\n[policy]\npair_window_seconds = 0\n", 4,
     "pair_window_seconds must be 1..600"},
    {"pair_window 601",
     "[site]\nid = S1\n[policy]\n\npair_window_seconds = 601\n", 5,
     "pair_window_seconds must be 1..600"},
    {"pair_window text",
     "[site]\nid = S1\n[policy]\npair_window_seconds = 10s\n", 4,
     "pair_window_seconds must be 1..600"},
    {"poll_before", "[site]\nid = S1\n[policy]\npoll_before = -1\n", 4,
     "poll_before must be 0..720"},
    {"bad usb id",
     "[site]\nid = S1\n[device r]\ntype = idcard\ntransport = usb\nusb = "
     "400:c35a\nroom = 1\n",
     6, "usb must be VID:PID"},
    {"bad usb id hex", "[site]\nid = S1\n[device r]\nusb = 04g0:c35a\n", 4,
     "usb must be VID:PID"},
    {"bad baud",
     "[site]\nid = S1\n[device r]\ntype = idcard\ntransport = serial\npath = "
     "/dev/ttyS0\nbaud = 115201\nroom = 1\n",
     7, "baud must be"},
    {"bad type", "[site]\nid = S1\n[device r]\ntype = camera\n", 4,
     "type must be idcard or scanner"},
    {"bad transport",
     "[site]\nid = S1\n[device r]\ntype = idcard\ntransport = bluetooth\n", 5,
     "transport must be usb or serial"},
    {"device without room",
     "[site]\nid = S1\n\n[device r]\ntype = idcard\ntransport = usb\nusb = "
     "0400:c35a\n",
     4, "device 'r' needs room"},
    {"device without usb",
     "[site]\nid = S1\n[device r]\ntype = idcard\ntransport = usb\nroom = 1\n",
     3, "needs usb = VID:PID"},
    {"device without path",
     "[site]\nid = S1\n[device r]\ntype = idcard\ntransport = serial\nroom = "
     "1\n",
     3, "needs path"},
    {"device without type",
     "[site]\nid = S1\n[device r]\ntransport = serial\npath=/dev/ttyS0\nroom = "
     "1\n",
     3, "needs type"},
    {"duplicate device",
     "[site]\nid = S1\n[device r]\ntype = idcard\ntransport = usb\nusb = "
     "0400:c35a\nroom = 1\n[device r]\ntype = scanner\n",
     8, "device 'r' is defined twice"},
    {"bad device name", "[site]\nid = S1\n[device a/b]\ntype = idcard\n", 3,
     "bad device name"},
    {"bad timezone", "[site]\nid = S1\ntimezone = Mars/Olympus\n", 3,
     "unknown time zone 'Mars/Olympus'"},
    {"timezone escape", "[site]\nid = S1\ntimezone = ../../etc/passwd\n", 3,
     "unknown time zone"},
    {"syntax error", "[site]\nid = S1\nthis line has no equals sign\n", 3,
     "syntax error"},
    {"unclosed section", "[site]\nid = S1\n[policy\nmode = id\n", 3,
     "syntax error"},
    {"bad url", "[site]\nid = S1\n[central]\nurl = ftp://x\n", 4,
     "url must start with https://"},
    {"bad schedule", "[site]\nid = S1\n[central]\nschedule = 25:00\n", 4,
     "schedule must be HH:MM"},
    {"batch_max_events", "[site]\nid = S1\n[central]\nbatch_max_events = 0\n",
     4, "batch_max_events must be 1..1000000"},
    {"the first error wins", "[site]\nid = S1\nfoo = 1\nbar = 2\n", 3,
     "unknown key 'foo'"},
    {"syntax error before a bad value",
     "[site]\nid = S1\nnonsense\n[policy]\nmode = x\n", 3, "syntax error"},
    {"bad value before a syntax error",
     "[site]\nid = S1\n[policy]\nmode = x\nnonsense\n", 4, "mode must be"},
    {"key given twice", "[site]\nid = S1\nstation = a\nid = S2\n", 4,
     "'id' is given twice in [site] (also on line 2)"},
    {"key given twice in a device",
     "[site]\nid = S1\n[device r]\ntype = idcard\nroom = 1\ntype = "
     "scanner\n",
     6, "'type' is given twice in [device r] (also on line 4)"},
    {"section given twice", "[site]\nid = S1\n[policy]\n[site]\n", 4,
     "section [site] appears twice (also on line 1)"},
    {"device given twice names the first",
     "[site]\nid = S1\n[device r]\n[device r]\n", 4,
     "device 'r' is defined twice (also on line 3)"},
    {"indented section after a key",
     "[site]\nid = S1\n  [device r]\ntype = idcard\n", 3,
     "an indented line continues the value of 'id' (line 2)"},
    {"indented key after a key", "[site]\nid = S1\n\tstation = a\n", 3,
     "values are one line"},
    {"key before any section", "id = S1\n[site]\nid = S1\n", 1,
     "'id' comes before any [section]: the file starts with [site]"},
    {"site without id", "; x\n[site]\nstation = a\n[policy]\nmode = id\n", 2,
     "[site] id is required"},
};

static void test_errors(void **state)
{
    struct tfile *x = *state;
    struct config c;
    struct err e;
    char want[400];
    size_t i;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *b = &bad_cases[i];
        assert_int_equal(write_bytes(x->path, b->text, (size_t)-1), 0);
        memset(&c, 0x5a, sizeof(c));
        err_clear(&e);
        if (config_load(x->path, &c, &e) != -1)
            fail_msg("%s: accepted", b->what);
        if (e.code != EX_CONFIG)
            fail_msg("%s: code %d, not EX_CONFIG", b->what, e.code);
        snprintf(want, sizeof(want), "%s:%d: ", x->path, b->line);
        if (strncmp(e.msg, want, strlen(want)) != 0 || e.line != b->line)
            fail_msg("%s: want line %d, got [%s] (line %d)", b->what, b->line,
                     e.msg, e.line);
        if (strstr(e.msg, b->reason) == NULL)
            fail_msg("%s: want [%s] in [%s]", b->what, b->reason, e.msg);
        /* a failed load leaves the caller's struct alone */
        assert_int_equal(((unsigned char *)&c)[0], 0x5a);
    }
}

/* Lines longer than inih's default 200 bytes are read whole and count as
 * one line each (they were read in pieces, each a "line"). */
static void test_long_lines(void **state)
{
    struct tfile *x = *state;
    char text[12000], want[600];
    struct config c;
    struct err e;
    int n;

    n = snprintf(text, sizeof(text),
                 "# %0300d\n[site]\nid = S1\n; %0900d\n"
                 "database = /var/lib/%0200d\n[device d]\ntype = idcard\n"
                 "transport = serial\npath = /dev/ttyS0\nroom = 1\n",
                 0, 0, 0);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    assert_int_equal(write_bytes(x->path, text, (size_t)-1), 0);
    err_clear(&e);
    if (config_load(x->path, &c, &e) != 0)
        fail_msg("long comments: %s", e.msg);
    assert_int_equal(strlen(c.site.database), strlen("/var/lib/") + 200);
    assert_int_equal(c.ndevices, 1);
    assert_int_equal(c.devices[0].line, 6);

    /* an error after long lines is at its own line */
    snprintf(text, sizeof(text),
             "# %0300d\n[site]\n; %0500d\nid = S1\n"
             "colour = red\n",
             0, 0);
    assert_int_equal(write_bytes(x->path, text, (size_t)-1), 0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    snprintf(want, sizeof(want), "%s:5: unknown key 'colour'", x->path);
    assert_non_null(strstr(e.msg, want));
    assert_int_equal(e.line, 5);

    /* a value too long for its field is refused, not cut */
    snprintf(text, sizeof(text), "[site]\nid = S1\ndatabase = /%0300d\n", 0);
    assert_int_equal(write_bytes(x->path, text, (size_t)-1), 0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, "value too long"));

    /* past 4096 bytes a line is refused at its number */
    n = snprintf(text, sizeof(text), "[site]\nid = S1\n# %05000d\n", 0);
    assert_int_equal(write_bytes(x->path, text, (size_t)-1), 0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    assert_int_equal(e.code, EX_CONFIG);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, "line is longer than 4096 bytes"));
}

/* What is accepted: CRLF, a BOM, spaces inside brackets, an indented key
 * right under its header (inih reads it as a key), inline comments, long
 * device names. */
static void test_accepted_forms(void **state)
{
    struct tfile *x = *state;
    static const char text[] =
        "\xEF\xBB\xBF[site]\r\n"                                       /* 1 */
        "id = S1 ; the site\r\n"                                       /* 2 */
        "\r\n"                                                         /* 3 */
        "[ device abcdefghij-abcdefghij-abcdefghij-abcdefghij-x ]\r\n" /* 4 */
        "   type = scanner\r\n"                                        /* 5 */
        "transport = serial\r\n"                                       /* 6 */
        "  ; an indented comment\r\n"                                  /* 7 */
        "path = /dev/ttyACM0\r\n"                                      /* 8 */
        "room = 7\r\n"                                                 /* 9 */
        "[policy]\r\n"                                                 /* 10 */
        "mode = ticket";                                               /* 11 */
    struct config c;
    struct err e;

    assert_int_equal(write_bytes(x->path, text, (size_t)-1), 0);
    err_clear(&e);
    if (config_load(x->path, &c, &e) != 0)
        fail_msg("config_load: %s", e.msg);
    assert_string_equal(c.site.id, "S1");
    assert_int_equal(c.ndevices, 1);
    assert_string_equal(c.devices[0].name,
                        "abcdefghij-abcdefghij-abcdefghij-abcdefghij-x");
    assert_int_equal(c.devices[0].type, DEVTYPE_SCANNER);
    assert_string_equal(c.devices[0].path, "/dev/ttyACM0");
    assert_string_equal(c.devices[0].room, "7");
    assert_int_equal(c.devices[0].line, 4);
    assert_int_equal(c.policy.mode, POLICY_TICKET);
}

static void test_no_site_section(void **state)
{
    static const char nul[] = "[site]\nid = S1\nstation = a\0b\n";
    struct tfile *x = *state;
    struct config c;
    struct err e;

    assert_int_equal(write_bytes(x->path, nul, sizeof(nul) - 1), 0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, "a NUL byte"));

    assert_int_equal(write_bytes(x->path, "[policy]\nmode = id\n", (size_t)-1),
                     0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    assert_int_equal(e.code, EX_CONFIG);
    assert_non_null(strstr(e.msg, "there is no [site] section"));
    assert_int_equal(write_bytes(x->path, "", 0), 0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    assert_non_null(strstr(e.msg, "there is no [site] section"));
}

static void test_site_mismatch(void **state)
{
    struct tfile *x = *state;
    struct config c;
    struct err e;
    char out[600], want[600];

    /* defaults say nothing about the database */
    assert_int_equal(write_bytes(x->path, "[site]\nid = S1\n", (size_t)-1), 0);
    assert_int_equal(config_load(x->path, &c, &e), 0);
    assert_int_equal(
        config_site_mismatch(&c, "elsewhere", "Europe/Paris", out, sizeof(out)),
        0);
    assert_string_equal(out, "");

    assert_int_equal(write_bytes(x->path,
                                 "[site]\nid = S1\nstation = door-1\n"
                                 "timezone = Asia/Urumqi\n",
                                 (size_t)-1),
                     0);
    assert_int_equal(config_load(x->path, &c, &e), 0);
    assert_int_equal(
        config_site_mismatch(&c, "door-1", "Asia/Urumqi", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(
        config_site_mismatch(&c, "door-2", "Asia/Urumqi", out, sizeof(out)), 1);
    snprintf(want, sizeof(want),
             "%s:3: [site] station 'door-1' differs from the database's "
             "'door-2'",
             x->path);
    assert_non_null(strstr(out, want));
    assert_null(strstr(out, "timezone"));
    assert_non_null(strstr(out, "the database's is used"));
    assert_int_equal(
        config_site_mismatch(&c, "door-1", "Asia/Shanghai", out, sizeof(out)),
        1);
    snprintf(want, sizeof(want),
             "%s:4: [site] timezone 'Asia/Urumqi' differs from the "
             "database's 'Asia/Shanghai'",
             x->path);
    assert_non_null(strstr(out, want));
    assert_int_equal(
        config_site_mismatch(&c, "door-2", "Asia/Shanghai", out, sizeof(out)),
        1);
    assert_non_null(strstr(out, "station 'door-1'"));
    assert_non_null(strstr(out, "timezone 'Asia/Urumqi'"));
    assert_null(strchr(out, '\n'));
    /* a short buffer is cut, still terminated */
    assert_int_equal(
        config_site_mismatch(&c, "door-2", "Asia/Shanghai", out, 10), 1);
    assert_int_equal(strlen(out), 9);
}

static void test_missing_site_id_and_file(void **state)
{
    struct tfile *x = *state;
    struct config c;
    struct err e;

    assert_int_equal(write_bytes(x->path, "[policy]\nmode = id\n", (size_t)-1),
                     0);
    assert_int_equal(config_load(x->path, &c, &e), -1);
    assert_int_equal(e.code, EX_CONFIG);
    assert_non_null(strstr(e.msg, "[site] id is required"));
    assert_int_equal(config_load("/nonexistent/examsite.conf", &c, &e), -1);
    assert_int_equal(e.code, EX_NOINPUT);
}

static void test_secret_path(void **state)
{
    char out[256];

    (void)state;
    config_secret_path("/var/lib/examsite/site.db", NULL, out, sizeof(out));
    assert_string_equal(out, "/var/lib/examsite/site.db.secret");
    config_secret_path("/var/lib/examsite/site.db", "", out, sizeof(out));
    assert_string_equal(out, "/var/lib/examsite/site.db.secret");
    config_secret_path("/var/lib/examsite/site.db", "/etc/examsite/k", out,
                       sizeof(out));
    assert_string_equal(out, "/etc/examsite/k");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_site_id_and_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepted_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_site_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_site_mismatch, setup, teardown),
        cmocka_unit_test(test_secret_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
