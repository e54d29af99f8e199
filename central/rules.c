/*
 * rules.c: the rules of a profile applied (rules.h).  Rates are compared
 * in integers (present * 100 < min * published), so 30 % of 10 is 3 with
 * no rounding question.
 */
#include <stdarg.h>
#include <stdio.h>

#include "rules.h"

static struct verdict *add(struct verdict *out, int *n, const char *code,
                           enum rules_level level)
{
    struct verdict *v = &out[*n];

    v->code = code;
    v->level = level;
    v->zh[0] = v->en[0] = '\0';
    (*n)++;
    return v;
}

static void say(struct verdict *v, const char *zh, const char *en, ...)
    __attribute__((format(printf, 3, 4)));
/* en holds the same conversions as zh, in the same order; both are
 * formatted from the one argument list. */
static void say(struct verdict *v, const char *zh, const char *en, ...)
{
    va_list ap;

    va_start(ap, en);
    vsnprintf(v->zh, sizeof(v->zh), zh, ap);
    va_end(ap);
    va_start(ap, en);
    vsnprintf(v->en, sizeof(v->en), en, ap);
    va_end(ap);
}

static int attendance_low(const struct profile *p, const struct rules_exam *x)
{
    return p->attendance_min > 0 && x->published > 0 &&
           x->present * 100 < (long)p->attendance_min * x->published;
}

static int has_rate(const struct rules_exam *x)
{
    return x->with_result > 0;
}

static int rate_below(const struct rules_exam *x, int percent)
{
    return x->passed * 100 < (long)percent * x->with_result;
}

static long pct(const struct rules_exam *x)
{
    return (x->passed * 1000 / x->with_result + 5) / 10;
}

static void rate_rules(const struct profile *p, const struct rules_exam *x,
                       struct verdict *out, int *n)
{
    if (p->pass_target > 0) {
        if (rate_below(x, p->pass_target))
            say(add(out, n, "pass_rate_below_target", RULES_AMBER),
                "通过率%ld%%，低于考核目标%d%%",
                "pass rate %ld %%, under the evaluation target of %d %%",
                pct(x), p->pass_target);
        else
            say(add(out, n, "pass_rate_target_met", RULES_GREEN),
                "通过率%ld%%，达到考核目标%d%%",
                "pass rate %ld %%, meets the evaluation target of %d %%",
                pct(x), p->pass_target);
    }
    if (p->funding_tier > 0) {
        if (rate_below(x, p->funding_tier))
            say(add(out, n, "funding_tier_missed", RULES_AMBER),
                "通过率%ld%%，未达%d%%经费支持档",
                "pass rate %ld %%, under the %d %% funding tier", pct(x),
                p->funding_tier);
        else
            say(add(out, n, "funding_tier_reached", RULES_GREEN),
                "通过率%ld%%，达到%d%%经费支持档",
                "pass rate %ld %%, reaches the %d %% funding tier", pct(x),
                p->funding_tier);
    }
}

int rules_exam(const struct profile *p, const struct rules_exam *x,
               struct verdict *out)
{
    int n = 0;

    if (attendance_low(p, x))
        say(add(out, &n, "attendance_below_min", RULES_RED),
            "参加考试%ld人，少于公布人数%ld的%d%%：撤销试点条件",
            "%1$ld sat, fewer than %3$d %% of the %2$ld published: withdrawal "
            "condition",
            x->present, x->published, p->attendance_min);
    if (has_rate(x) && p->pass_min > 0 && rate_below(x, p->pass_min))
        say(add(out, &n, "pass_rate_below_min",
                p->pass_times == 1 ? RULES_RED : RULES_AMBER),
            "通过率%ld%%，低于%d%%", "pass rate %ld %%, under %d %%", pct(x),
            p->pass_min);
    if (has_rate(x))
        rate_rules(p, x, out, &n);
    return n;
}

static const char *times_zh(int t)
{
    static const char *const zh[] = {"", "", "两", "三", "四", "五"};

    return t >= 2 && t <= 5 ? zh[t] : "多";
}

static const char *times_en(int t)
{
    static const char *const en[] = {
        "", "once", "twice", "three times", "four times", "five times"};

    return t >= 1 && t <= 5 ? en[t] : "several times";
}

/* The pass-rate minimum over the exams with results: the longest run
 * below it, and the run the latest exam ends. */
static void pass_min_rule(const struct profile *p, const struct rules_exam *xs,
                          size_t n, struct verdict *out, int *nv)
{
    int run = 0, longest = 0;
    size_t i;
    const char *at = NULL;

    for (i = 0; i < n; i++) {
        if (!has_rate(&xs[i]))
            continue;
        run = rate_below(&xs[i], p->pass_min) ? run + 1 : 0;
        if (run > longest) {
            longest = run;
            at = xs[i].date;
        }
    }
    if (longest >= p->pass_times && p->pass_times == 1)
        say(add(out, nv, "pass_rate_below_min", RULES_RED),
            "%s考试通过率低于%d%%：撤销试点条件",
            "exam of %s: pass rate below %d %%: withdrawal condition", at,
            p->pass_min);
    else if (longest >= p->pass_times) {
        struct verdict *v = add(out, nv, "pass_rate_below_min", RULES_RED);
        snprintf(v->zh, sizeof(v->zh),
                 "通过率连续%s次低于%d%%（至%s）：撤销试点条件",
                 times_zh(p->pass_times), p->pass_min, at);
        snprintf(v->en, sizeof(v->en),
                 "pass rate below %d %% %s in a row (to %s): withdrawal "
                 "condition",
                 p->pass_min, times_en(p->pass_times), at);
    } else if (run > 0)
        say(add(out, nv, "pass_rate_low_once", RULES_AMBER),
            "最近通过率低于%d%%，再连续%d次即撤销",
            "the latest pass rate is below %d %%; %d more in a row withdraws",
            p->pass_min, p->pass_times - run);
}

int rules_pilot(const struct profile *p, const struct rules_exam *xs, size_t n,
                int missed, struct verdict *out)
{
    const struct rules_exam *latest = NULL;
    int nv = 0, low = 0;
    size_t i;
    const char *first_low = NULL;

    for (i = 0; i < n; i++) {
        if (attendance_low(p, &xs[i]) && low++ == 0)
            first_low = xs[i].date;
        if (has_rate(&xs[i]))
            latest = &xs[i];
    }
    if (low > 0)
        say(add(out, &nv, "attendance_below_min", RULES_RED),
            "%d次考试参加人数少于公布人数的%d%%（首次%s）：撤销试点条件",
            "%d exam(s) with fewer sitting than %d %% of those published "
            "(first %s): withdrawal condition",
            low, p->attendance_min, first_low);
    if (p->pass_min > 0)
        pass_min_rule(p, xs, n, out, &nv);
    if (latest != NULL)
        rate_rules(p, latest, out, &nv);
    if (missed >= p->missed_max)
        say(add(out, &nv, "reports_missed", RULES_RED),
            "漏报双周报告%d次（%d次即撤销）：撤销试点条件",
            "%d biweekly reports missed (%d withdraw): withdrawal condition",
            missed, p->missed_max);
    else if (missed > 0)
        say(add(out, &nv, "report_missed", RULES_AMBER),
            "漏报双周报告%d次（%d次即撤销）",
            "%d biweekly reports missed (%d withdraw)", missed, p->missed_max);
    return nv;
}

enum rules_level rules_worst(const struct verdict *v, int n)
{
    enum rules_level w = RULES_GREEN;
    int i;

    for (i = 0; i < n; i++)
        if (v[i].level > w)
            w = v[i].level;
    return w;
}

const char *rules_level_name(enum rules_level l)
{
    return l == RULES_RED ? "red" : l == RULES_AMBER ? "amber" : "green";
}
