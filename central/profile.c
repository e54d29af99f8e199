/*
 * profile.c: reading rule profiles (profile.h) with libinih, the shipped
 * ones from the binary (central/embed-files).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "number.h"
#include "profile.h"

struct embedded {
    const char *name;
    const char *text;
};
#include "central_profiles.h"

struct parse {
    struct profile p;
    int seen; /* bit per required key */
    char why[200];
};

/* The integer keys: where each goes and its range. */
static const struct ikey {
    const char *sec, *key;
    size_t off;
    int min, max;
} ikeys[] = {
    {"attendance", "min_percent", offsetof(struct profile, attendance_min), 0,
     100},
    {"pass_rate", "min_percent", offsetof(struct profile, pass_min), 0, 100},
    {"pass_rate", "times_in_row", offsetof(struct profile, pass_times), 1, 10},
    {"pass_rate", "target_percent", offsetof(struct profile, pass_target), 0,
     100},
    {"pass_rate", "funding_percent", offsetof(struct profile, funding_tier), 0,
     100},
    {"reports", "missed_max", offsetof(struct profile, missed_max), 1, 100},
};
#define K_DAYS (1 << (sizeof(ikeys) / sizeof(ikeys[0])))
#define K_ALL  ((K_DAYS << 1) - 1)

static int days(const char *v, int out[2])
{
    int a, b, n = 0;

    if (sscanf(v, "%d , %d%n", &a, &b, &n) != 2 || v[n] != '\0' || a < 1 ||
        b <= a || b > 28)
        return -1;
    out[0] = a;
    out[1] = b;
    return 0;
}

static int copy_text(char *dst, size_t n, const char *v)
{
    if (strlen(v) >= n)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int on_key(void *ud, const char *sec, const char *key, const char *val)
{
    struct parse *ps = ud;
    struct profile *p = &ps->p;
    int ok = -2, bit = 0;
    size_t i;

    if (strcmp(sec, "profile") == 0 && strcmp(key, "title_zh") == 0)
        ok = copy_text(p->title_zh, sizeof(p->title_zh), val);
    else if (strcmp(sec, "profile") == 0 && strcmp(key, "title_en") == 0)
        ok = copy_text(p->title_en, sizeof(p->title_en), val);
    else if (strcmp(sec, "reports") == 0 && strcmp(key, "days") == 0) {
        ok = days(val, p->report_days);
        bit = K_DAYS;
    }
    for (i = 0; ok == -2 && i < sizeof(ikeys) / sizeof(ikeys[0]); i++)
        if (strcmp(sec, ikeys[i].sec) == 0 && strcmp(key, ikeys[i].key) == 0) {
            ok = number_parse_int(val, ikeys[i].min, ikeys[i].max,
                                  (int *)((char *)p + ikeys[i].off));
            bit = 1 << i;
        }
    if (ok == -2) {
        snprintf(ps->why, sizeof(ps->why), "unknown key [%.40s] %.40s", sec,
                 key);
        return 0;
    }
    if (ok == -1) {
        snprintf(ps->why, sizeof(ps->why), "[%.40s] %.40s: bad value '%.60s'",
                 sec, key, val);
        return 0;
    }
    ps->seen |= bit;
    return 1;
}

int profile_parse(const char *name, const char *text, struct profile *p,
                  struct err *e)
{
    struct parse ps;
    int line;

    memset(&ps, 0, sizeof(ps));
    if (strlen(name) >= sizeof(ps.p.name))
        return err_set(e, EX_CONFIG, "profile name too long");
    memcpy(ps.p.name, name, strlen(name) + 1);
    line = ini_parse_string(text, on_key, &ps);
    if (line != 0)
        return err_set(e, EX_CONFIG, "%s:%d: %s", name, line,
                       ps.why[0] ? ps.why : "not INI");
    if (ps.seen != K_ALL)
        return err_set(e, EX_CONFIG,
                       "%s: needs [attendance] min_percent, [pass_rate] "
                       "min_percent, times_in_row, target_percent, "
                       "funding_percent, [reports] days, missed_max",
                       name);
    *p = ps.p;
    return 0;
}

size_t profile_count(void)
{
    return sizeof(profiles) / sizeof(profiles[0]);
}

/* "default.ini" is named "default" */
const char *profile_name(size_t i)
{
    static char names[sizeof(profiles) / sizeof(profiles[0])][64];

    if (names[i][0] == '\0')
        snprintf(names[i], sizeof(names[i]), "%.*s",
                 (int)strcspn(profiles[i].name, "."), profiles[i].name);
    return names[i];
}

const char *profile_text(size_t i)
{
    return profiles[i].text;
}

static int profile_file(const char *path, struct profile *p, struct err *e)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;
    const char *base = strrchr(path, '/');
    char name[64];
    int rc;

    if (f == NULL)
        return err_errno(e, EX_NOINPUT, "--profile %s", path);
    if ((buf = malloc(PROFILE_TEXT_MAX + 1)) == NULL) {
        fclose(f);
        return err_set(e, EX_OSERR, "out of memory");
    }
    n = fread(buf, 1, PROFILE_TEXT_MAX + 1, f);
    fclose(f);
    if (n > PROFILE_TEXT_MAX) {
        free(buf);
        return err_set(e, EX_CONFIG, "--profile %s: over %d bytes", path,
                       PROFILE_TEXT_MAX);
    }
    buf[n] = '\0';
    base = base ? base + 1 : path;
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(base, "."), base);
    rc = profile_parse(name, buf, p, e);
    free(buf);
    return rc == -1 ? err_prefix(e, "--profile %s", path) : 0;
}

int profile_pick(const char *spec, struct profile *p, struct err *e)
{
    size_t i, n = strlen(spec);

    if (strchr(spec, '/') != NULL ||
        (n > 4 && strcmp(spec + n - 4, ".ini") == 0))
        return profile_file(spec, p, e);
    for (i = 0; i < profile_count(); i++)
        if (strcmp(profile_name(i), spec) == 0)
            return profile_parse(spec, profile_text(i), p, e);
    return err_set(e, EX_USAGE,
                   "--profile %.64s: no such profile (examcentral profiles "
                   "lists them)",
                   spec);
}
