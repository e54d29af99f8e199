/*
 * test_central_rules.c: the office's rules (central/rules.c) for each
 * shipped profile (central/profiles/), each rule on a constructed history
 * that crosses its threshold and on one that stops just short of it; the
 * biweekly periods (central/period.c) at the 10th, the 25th, month ends
 * (February, leap years) and the year end; the timer's next due instant;
 * and profiles that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "biweekly.h"
#include "period.h"
#include "profile.h"
#include "rules.h"
#include "sitetime.h"

/* Does a verdict with code exist among v[0..n), at that level? */
static int has(const struct verdict *v, int n, const char *code,
               enum rules_level level)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i].code, code) == 0)
            return v[i].level == level ? 1 : -1;
    return 0;
}

static int any_code(const struct verdict *v, int n, const char *code)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i].code, code) == 0)
            return 1;
    return 0;
}

static void load(size_t i, struct profile *p)
{
    struct err e;

    assert_int_equal(profile_parse(profile_name(i), profile_text(i), p, &e), 0);
}

/* an exam of 100 published, present sat, passed of them passing */
static struct rules_exam exam(const char *date, long present, long passed)
{
    struct rules_exam x = {date, 100, present, present, passed};

    return x;
}

static void test_shipped_profiles(void **state)
{
    struct profile p;
    size_t i;
    int have_default = 0;

    (void)state;
    assert_true(profile_count() >= 4);
    for (i = 0; i < profile_count(); i++) {
        load(i, &p);
        have_default |= strcmp(p.name, "default") == 0;
        assert_true(p.title_zh[0] != '\0' && p.title_en[0] != '\0');
        assert_int_equal(p.report_days[0], 10);
        assert_int_equal(p.report_days[1], 25);
        assert_int_equal(p.attendance_min, 30);
        assert_true(p.missed_max == 2 || p.missed_max == 3);
    }
    assert_true(have_default);
    /* the seed colleges' published rules, as the profiles say them */
    assert_int_equal(profile_pick("pass30-twice", &p, NULL), 0);
    assert_int_equal(p.pass_min, 30);
    assert_int_equal(p.pass_times, 2);
    assert_int_equal(profile_pick("pass60-target90", &p, NULL), 0);
    assert_int_equal(p.pass_min, 60);
    assert_int_equal(p.pass_times, 1);
    assert_int_equal(p.pass_target, 90);
    assert_int_equal(p.missed_max, 3);
    assert_int_equal(profile_pick("funding80", &p, NULL), 0);
    assert_int_equal(p.funding_tier, 80);
}

static void test_attendance_each_profile(void **state)
{
    struct verdict v[RULES_MAX];
    struct profile p;
    struct rules_exam x;
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < profile_count(); i++) {
        load(i, &p);
        /* 100 published: one fewer than the minimum crosses it */
        x = exam("2026-12-01", p.attendance_min - 1, 0);
        x.with_result = 0;
        n = rules_exam(&p, &x, v);
        assert_int_equal(has(v, n, "attendance_below_min", RULES_RED), 1);
        assert_non_null(strstr(v[0].zh, "撤销试点条件"));
        assert_non_null(strstr(v[0].en, "withdrawal condition"));
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(has(v, n, "attendance_below_min", RULES_RED), 1);
        assert_int_equal(rules_worst(v, n), RULES_RED);
        /* exactly the minimum does not */
        x.present = p.attendance_min;
        n = rules_exam(&p, &x, v);
        assert_int_equal(any_code(v, n, "attendance_below_min"), 0);
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(any_code(v, n, "attendance_below_min"), 0);
        /* no published count: nothing to compare with */
        x.published = -1;
        x.present = 1;
        n = rules_exam(&p, &x, v);
        assert_int_equal(any_code(v, n, "attendance_below_min"), 0);
    }
}

static void test_pass_min_each_profile(void **state)
{
    static const char *const dates[] = {"2026-09-01", "2026-10-01",
                                        "2026-11-01", "2026-12-01"};
    struct rules_exam xs[4];
    struct verdict v[RULES_MAX];
    struct profile p;
    size_t i;
    int k, n;

    (void)state;
    for (i = 0; i < profile_count(); i++) {
        load(i, &p);
        if (p.pass_min == 0)
            continue;
        /* times_in_row exams below the minimum: withdrawal condition */
        for (k = 0; k < p.pass_times; k++)
            xs[k] = exam(dates[k], 100, p.pass_min - 1);
        n = rules_pilot(&p, xs, (size_t)p.pass_times, 0, v);
        assert_int_equal(has(v, n, "pass_rate_below_min", RULES_RED), 1);
        /* one fewer in a row: not yet (a warning when it is the latest) */
        n = rules_pilot(&p, xs, (size_t)p.pass_times - 1, 0, v);
        assert_int_equal(any_code(v, n, "pass_rate_below_min"), 0);
        if (p.pass_times > 1)
            assert_int_equal(has(v, n, "pass_rate_low_once", RULES_AMBER), 1);
        /* at the minimum is not below it */
        for (k = 0; k < p.pass_times; k++)
            xs[k] = exam(dates[k], 100, p.pass_min);
        n = rules_pilot(&p, xs, (size_t)p.pass_times, 0, v);
        assert_int_equal(any_code(v, n, "pass_rate_below_min"), 0);
        assert_int_equal(any_code(v, n, "pass_rate_low_once"), 0);
        if (p.pass_times == 2) {
            /* low, fine, low: not twice in a row */
            xs[0] = exam(dates[0], 100, p.pass_min - 1);
            xs[1] = exam(dates[1], 100, p.pass_min + 1);
            xs[2] = exam(dates[2], 100, p.pass_min - 1);
            n = rules_pilot(&p, xs, 3, 0, v);
            assert_int_equal(any_code(v, n, "pass_rate_below_min"), 0);
            /* ... and one more low: now twice in a row */
            xs[3] = exam(dates[3], 100, p.pass_min - 1);
            n = rules_pilot(&p, xs, 4, 0, v);
            assert_int_equal(has(v, n, "pass_rate_below_min", RULES_RED), 1);
            assert_non_null(strstr(v[0].en, "twice in a row"));
            assert_non_null(strstr(v[0].zh, "连续两次"));
        }
        /* an exam without results says nothing of the pass rate */
        xs[0] = exam(dates[0], 100, 0);
        xs[0].with_result = 0;
        n = rules_pilot(&p, xs, 1, 0, v);
        assert_int_equal(any_code(v, n, "pass_rate_below_min"), 0);
    }
}

static void test_target_and_funding_each_profile(void **state)
{
    struct verdict v[RULES_MAX];
    struct profile p;
    struct rules_exam x;
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < profile_count(); i++) {
        load(i, &p);
        x = exam("2026-12-01", 100, p.pass_target ? p.pass_target - 1 : 99);
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(has(v, n, "pass_rate_below_target", RULES_AMBER),
                         p.pass_target > 0);
        x.passed = p.pass_target;
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(any_code(v, n, "pass_rate_below_target"), 0);
        assert_int_equal(has(v, n, "pass_rate_target_met", RULES_GREEN),
                         p.pass_target > 0);
        x.passed = p.funding_tier ? p.funding_tier - 1 : 99;
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(has(v, n, "funding_tier_missed", RULES_AMBER),
                         p.funding_tier > 0);
        x.passed = p.funding_tier;
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(has(v, n, "funding_tier_reached", RULES_GREEN),
                         p.funding_tier > 0);
        assert_int_equal(any_code(v, n, "funding_tier_missed"), 0);
    }
}

static void test_missed_reports_each_profile(void **state)
{
    struct verdict v[RULES_MAX];
    struct profile p;
    struct rules_exam x = exam("2026-12-01", 100, 100);
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < profile_count(); i++) {
        load(i, &p);
        n = rules_pilot(&p, &x, 1, p.missed_max, v);
        assert_int_equal(has(v, n, "reports_missed", RULES_RED), 1);
        n = rules_pilot(&p, &x, 1, p.missed_max - 1, v);
        assert_int_equal(any_code(v, n, "reports_missed"), 0);
        assert_int_equal(has(v, n, "report_missed", RULES_AMBER), 1);
        n = rules_pilot(&p, &x, 1, 0, v);
        assert_int_equal(any_code(v, n, "report_missed"), 0);
        assert_int_equal(rules_worst(v, n), RULES_GREEN);
    }
}

static void period_is(const char *date, const char *start, const char *end)
{
    static const int days[2] = {10, 25};
    struct period p;

    assert_int_equal(period_of(days, date, &p), 0);
    assert_string_equal(p.start, start);
    assert_string_equal(p.end, end);
}

static void test_periods(void **state)
{
    static const int days[2] = {10, 25};
    struct period p, n;
    char d[11];

    (void)state;
    /* the 10th and the 25th end their periods; the day after starts one */
    period_is("2026-12-10", "2026-11-26", "2026-12-10");
    period_is("2026-12-11", "2026-12-11", "2026-12-25");
    period_is("2026-12-25", "2026-12-11", "2026-12-25");
    /* the year end: 26 Dec .. 10 Jan */
    period_is("2026-12-26", "2026-12-26", "2027-01-10");
    period_is("2026-12-31", "2026-12-26", "2027-01-10");
    period_is("2027-01-01", "2026-12-26", "2027-01-10");
    period_is("2027-01-10", "2026-12-26", "2027-01-10");
    /* month ends, February, a leap year */
    period_is("2027-01-31", "2027-01-26", "2027-02-10");
    period_is("2027-02-28", "2027-02-26", "2027-03-10");
    period_is("2028-02-29", "2028-02-26", "2028-03-10");
    period_is("2026-11-30", "2026-11-26", "2026-12-10");
    assert_int_equal(period_of(days, "2027-02-29", &p), -1);
    assert_int_equal(period_of(days, "2026-13-01", &p), -1);
    /* the next period, across the year end */
    period_of(days, "2027-01-05", &p);
    assert_int_equal(period_next(days, &p, &n), 0);
    assert_string_equal(n.start, "2027-01-11");
    assert_string_equal(n.end, "2027-01-25");
    period_of(days, "2026-12-20", &p);
    period_next(days, &p, &n);
    assert_string_equal(n.start, "2026-12-26");
    assert_string_equal(n.end, "2027-01-10");
    assert_true(period_is_end(days, "2026-12-10"));
    assert_true(period_is_end(days, "2026-12-25"));
    assert_false(period_is_end(days, "2026-12-11"));
    assert_false(period_is_end(days, "2026-12-31"));
    period_add_days("2028-02-28", 1, d);
    assert_string_equal(d, "2028-02-29");
    period_add_days("2027-02-28", 1, d);
    assert_string_equal(d, "2027-03-01");
    period_add_days("2026-12-31", 1, d);
    assert_string_equal(d, "2027-01-01");
    period_add_days("2027-01-01", -1, d);
    assert_string_equal(d, "2026-12-31");
}

static void test_next_due(void **state)
{
    struct profile p;
    char day[11], hm[6];
    time_t t;

    (void)state;
    assert_int_equal(sitetime_set_zone("Asia/Shanghai", NULL), 0);
    assert_int_equal(profile_pick("default", &p, NULL), 0);
    /* the 10th at noon: due after its midnight */
    t = biweekly_next_due(&p, sitetime_local(2026, 12, 10, 12 * 60));
    sitetime_date(t, day);
    sitetime_hhmm(t, hm);
    assert_string_equal(day, "2026-12-11");
    assert_string_equal(hm, "00:00");
    /* at midnight, before its seconds: still that one */
    t = biweekly_next_due(&p, sitetime_local(2026, 12, 11, 0));
    sitetime_date(t, day);
    assert_string_equal(day, "2026-12-11");
    /* after it: the 25th's, due on the 26th */
    t = biweekly_next_due(&p, sitetime_local(2026, 12, 11, 0) + 6);
    sitetime_date(t, day);
    assert_string_equal(day, "2026-12-26");
    /* after the 26 Dec one: 11 Jan */
    t = biweekly_next_due(&p, sitetime_local(2026, 12, 26, 5));
    sitetime_date(t, day);
    assert_string_equal(day, "2027-01-11");
}

static void refused(const char *text, const char *why)
{
    struct profile p;
    struct err e;

    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(profile_parse("bad", text, &p, &e), -1);
    assert_int_equal(e.code, EX_CONFIG);
    if (strstr(e.msg, why) == NULL)
        fail_msg("'%s' not in '%s'", why, e.msg);
    assert_int_equal((unsigned char)p.name[0], 0x5a); /* untouched */
}

static void test_bad_profiles(void **state)
{
    static const char base[] = "[attendance]\nmin_percent = 30\n[pass_rate]\n"
                               "min_percent = 30\ntimes_in_row = 2\n"
                               "target_percent = 0\nfunding_percent = 0\n"
                               "[reports]\ndays = 10,25\n";
    char text[1024];
    struct profile p;
    struct err e;

    (void)state;
    snprintf(text, sizeof(text), "%smissed_max = 2\n", base);
    assert_int_equal(profile_parse("ok", text, &p, &e), 0);
    refused(base, "needs");
    snprintf(text, sizeof(text), "%smissed_max = 0\n", base);
    refused(text, "bad:10: [reports] missed_max: bad value '0'");
    snprintf(text, sizeof(text), "%smissed_max = 2\nextra = 1\n", base);
    refused(text, "bad:11: unknown key [reports] extra");
    refused("[attendance]\nmin_percent = 130\n", "bad:2: [attendance]");
    refused("[reports]\ndays = 25,10\n", "bad:2: [reports] days");
    refused("[reports]\ndays = 10,30\n", "bad:2: [reports] days");
    assert_int_equal(profile_pick("no-such", &p, &e), -1);
    assert_int_equal(e.code, EX_USAGE);
    assert_int_equal(profile_pick("/nonexistent/x.ini", &p, &e), -1);
    assert_int_equal(e.code, EX_NOINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_profiles),
        cmocka_unit_test(test_attendance_each_profile),
        cmocka_unit_test(test_pass_min_each_profile),
        cmocka_unit_test(test_target_and_funding_each_profile),
        cmocka_unit_test(test_missed_reports_each_profile),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_next_due),
        cmocka_unit_test(test_bad_profiles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
