/*
 * commands.c: examcentral's one-shot commands (commands.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "biweekly.h"
#include "commands.h"
#include "cstore.h"
#include "log.h"
#include "office.h"
#include "report.h"
#include "results.h"
#include "sitetime.h"

static int date_arg(const char *s, const char *what)
{
    int y, m, d;

    if (s == NULL || strlen(s) != 10 || sitetime_parse_date(s, &y, &m, &d)) {
        log_warnx("%s needs YYYY-MM-DD", what);
        return -1;
    }
    return 0;
}

/* JSON or CSV of j on standard output. */
static int print(json_t *j, int csv, char *(*to_csv)(const json_t *))
{
    char *text;

    if (!csv) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        return 0;
    }
    if ((text = to_csv(j)) == NULL) {
        log_warnx("out of memory");
        return EX_OSERR;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}

struct report_opts {
    const char *date, *period;
    int csv, list, generate;
};

static int report_args(int argc, char **argv, struct report_opts *o)
{
    static const struct option opts[] = {
        {"date", required_argument, NULL, 'd'},
        {"period", required_argument, NULL, 'p'},
        {"csv", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    memset(o, 0, sizeof(*o));
    optind = 0; /* a fresh scan: main's stopped at the command */
    while ((ch = getopt_long(argc, argv, "d:p:cj", opts, NULL)) != -1) {
        if (ch == 'd')
            o->date = optarg;
        else if (ch == 'p')
            o->period = optarg;
        else if (ch == 'c')
            o->csv = 1;
        else if (ch == 'j')
            o->csv = 0;
        else
            return -1;
    }
    return optind;
}

static int report_biweekly(struct cstore *st, const struct profile *p,
                           const char *verb, struct report_opts *o)
{
    char today[11], *text = NULL;
    struct period per;
    struct err e;
    json_t *j;
    int rc;

    sitetime_today(today);
    if (verb != NULL && strcmp(verb, "list") == 0) {
        if ((j = biweekly_list(st, p, today, &e)) == NULL)
            goto fail;
        rc = print(j, 0, NULL);
        json_decref(j);
        return rc;
    }
    if (date_arg(o->period, "report biweekly --period") == -1)
        return EX_USAGE;
    period_of(p->report_days, o->period, &per);
    if (verb != NULL && strcmp(verb, "generate") == 0) {
        if (strcmp(per.end, today) >= 0) {
            log_warnx("the period %s .. %s is not over yet", per.start,
                      per.end);
            return EX_DATAERR;
        }
        if (biweekly_generate(st, p, &per, "command", today, &e) == -1)
            goto fail;
        printf("biweekly report %s .. %s generated\n", per.start, per.end);
        return 0;
    }
    if (verb != NULL) {
        log_warnx("report biweekly: list, generate or --period");
        return EX_USAGE;
    }
    if ((rc = biweekly_get(st, per.end, &text, &e)) == -1)
        goto fail;
    if (rc == 0 || (j = json_loads(text, 0, NULL)) == NULL) {
        free(text);
        log_warnx("no biweekly report kept for %s .. %s (report biweekly "
                  "generate --period %s)",
                  per.start, per.end, per.end);
        return EX_DATAERR;
    }
    free(text);
    rc = print(j, o->csv, biweekly_csv);
    json_decref(j);
    return rc;
fail:
    log_warnx("%s", e.msg);
    return e.code ? e.code : EX_SOFTWARE;
}

int cmd_report(struct cstore *st, const struct profile *p, int argc,
               char **argv)
{
    struct office off = {st, p};
    struct report_opts o;
    const char *what = argc > 1 ? argv[1] : "";
    struct err e;
    json_t *j;
    int at, rc;

    if ((at = report_args(argc - 1, argv + 1, &o)) == -1)
        return EX_USAGE;
    if (strcmp(what, "biweekly") == 0)
        return report_biweekly(st, p, at < argc - 1 ? argv[1 + at] : NULL, &o);
    if (at < argc - 1) {
        log_warnx("report %s: unexpected '%s'", what, argv[1 + at]);
        return EX_USAGE;
    }
    if (strcmp(what, "attendance") == 0) {
        if (date_arg(o.date, "report attendance --date") == -1)
            return EX_USAGE;
        if ((j = report_attendance(st, p, o.date, &e)) == NULL)
            goto fail;
        rc = print(j, o.csv, report_attendance_csv);
        json_decref(j);
        return rc;
    }
    if (strcmp(what, "exams") == 0 || strcmp(what, "pilots") == 0) {
        if ((j = report_overview(st, p, office_missed, &off, &e)) == NULL)
            goto fail;
        rc = print(json_object_get(j, what), o.csv,
                   what[0] == 'e' ? report_exams_csv : report_pilots_csv);
        json_decref(j);
        return rc;
    }
    log_warnx("report: attendance, exams, pilots or biweekly");
    return EX_USAGE;
fail:
    log_warnx("%s", e.msg);
    return e.code ? e.code : EX_SOFTWARE;
}

int cmd_results(struct cstore *st, int argc, char **argv)
{
    static const struct option opts[] = {
        {"session", required_argument, NULL, 'S'},
        {"encoding", required_argument, NULL, 'E'},
        {"dry-run", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    struct results_opts o = {NULL, NULL, NULL, 0};
    struct results_summary sum;
    struct err e;
    int ch;

    if (argc < 2 || strcmp(argv[1], "import") != 0) {
        log_warnx("results import FILE [--session ID] [--dry-run]");
        return EX_USAGE;
    }
    argc--;
    argv++;
    optind = 0; /* a fresh scan: main's stopped at the command */
    while ((ch = getopt_long(argc, argv, "S:E:n", opts, NULL)) != -1) {
        if (ch == 'S')
            o.session = optarg;
        else if (ch == 'E')
            o.encoding = optarg;
        else if (ch == 'n')
            o.dry_run = 1;
        else
            return EX_USAGE;
    }
    if (optind != argc - 1) {
        log_warnx("results import FILE [--session ID] [--dry-run]");
        return EX_USAGE;
    }
    o.path = argv[optind];
    if (results_import(st, &o, stderr, &sum, &e) == -1) {
        log_warnx("%s", e.msg);
        return e.code ? e.code : EX_SOFTWARE;
    }
    printf("%s: %d results (%d passed) for %d exams, %s: %s\n", o.path,
           sum.rows, sum.passed, sum.exams, sum.encoding,
           o.dry_run ? "checked, nothing stored (--dry-run)" : "stored");
    return 0;
}

int cmd_profiles(int argc, char **argv)
{
    struct profile p;
    struct err e;
    size_t i;

    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--show") != 0 &&
                     profile_pick(argv[1], &p, &e) == -1)) {
        log_warnx("%s", argc == 2 ? e.msg : "profiles [NAME]");
        return EX_USAGE;
    }
    if (argc == 2) {
        for (i = 0; i < profile_count(); i++)
            if (strcmp(profile_name(i), argv[1]) == 0)
                fputs(profile_text(i), stdout);
        return 0;
    }
    for (i = 0; i < profile_count(); i++) {
        if (profile_parse(profile_name(i), profile_text(i), &p, &e) == -1) {
            log_warnx("%s", e.msg);
            return EX_SOFTWARE;
        }
        printf("%-18s %s\n%-18s %s\n", p.name, p.title_zh, "", p.title_en);
    }
    return 0;
}

int cmd_passwd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"users", required_argument, NULL, 'u'},
        {"iterations", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    const char *users = NULL;
    int ch, iterations = AUTH_ITERATIONS;
    struct err e;

    optind = 0; /* a fresh scan: main's stopped at the command */
    while ((ch = getopt_long(argc, argv, "u:I:", opts, NULL)) != -1) {
        if (ch == 'u')
            users = optarg;
        else if (ch == 'I')
            iterations = atoi(optarg);
        else
            return EX_USAGE;
    }
    if (users == NULL || optind != argc - 1) {
        log_warnx("passwd --users FILE NAME (the password on standard input)");
        return EX_USAGE;
    }
    if (users_passwd(users, argv[optind], stdin, iterations, &e) == -1) {
        log_warnx("%s", e.msg);
        return e.code ? e.code : EX_SOFTWARE;
    }
    printf("%s: password of %s set\n", users, argv[optind]);
    return 0;
}
