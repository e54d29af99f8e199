/*
 * config.c: the station's INI file through Debian's libinih, with range
 * checks, duplicate keys and sections refused, every error at its line.
 *
 * Debian 12's libinih (55) is built with INI_CALL_HANDLER_ON_NEW_SECTION
 * and INI_HANDLER_LINENO off, so its handler hears neither of a section
 * header (only of the keys after one) nor of a line number.  What it does
 * offer, as run-time switches, is a heap line buffer that grows
 * (ini_use_stack, ini_allow_realloc, ini_max_line), so lines of any length
 * are read whole.  We read the file ourselves through ini_parse_stream's
 * reader and learn the rest from the order of calls: inih asks for a line,
 * parses it, calls the handler at most once for it, then asks for the
 * next.  So the reader knows the physical line inih is on, and a line that
 * looks like "[name]" and got no handler call is a section header (inih's
 * own verdict: an indented "[x]" after a key is a continuation of that
 * key's value and does reach the handler).  The handler checks that inih
 * names the same section.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "number.h"
#include "sitetime.h"

#define CONFIG_LINE_MAX 4096 /* bytes per line, newline included */
#define INIH_NAME_MAX   49   /* inih keeps this much of a section name */
#define MAX_SECTIONS    (CONFIG_MAX_DEVICES + 8)
#define MAX_KEYS        (MAX_SECTIONS * 8)

enum config_sec {
    SEC_NONE,
    SEC_BAD,
    SEC_SITE,
    SEC_CONTROL,
    SEC_POLICY,
    SEC_CENTRAL,
    SEC_DEVICE
};

struct config_parse {
    struct config *c;
    struct config_device *dev; /* the [device NAME] being read, or NULL */
    char msg[ERR_MSG_MAX];     /* first error's reason */
    int msg_line;              /* and its line */
    int fatal;                 /* stop reading (NUL byte, line too long) */
    FILE *f;
    /* the physical line inih is reading */
    char *line;
    size_t cap, len, pos;
    int lineno;
    int calls;        /* handler calls for it */
    int done;         /* line_done() has seen it */
    int indented;     /* it starts with white space */
    int is_header;    /* it looks like "[name]" */
    char header[128]; /* name, as inih takes it (untrimmed) */
    /* the section open now */
    enum config_sec kind;
    char section[128];  /* untrimmed, as inih has it */
    int secidx;         /* index in sections[] */
    char prev_name[64]; /* the section's last key, for continuations */
    int prev_line;
    struct {
        char name[128];
        int line;
    } sections[MAX_SECTIONS];
    int nsections;
    struct {
        int sec;
        char name[32];
        int line;
    } keys[MAX_KEYS];
    int nkeys;
};

static int config_section(struct config_parse *p, const char *raw);

static int bad(struct config_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the first error and its line; 0 for inih (an error at this line). */
static int bad(struct config_parse *p, const char *fmt, ...)
{
    va_list ap;

    if (p->msg[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
        va_end(ap);
        p->msg_line = p->lineno;
    }
    return 0;
}

/* What inih will make of the line just read, as far as sections go. */
static void line_start(struct config_parse *p)
{
    const char *s = p->line, *q;
    int was_space = 0;
    size_t n;

    p->calls = 0;
    p->done = 0;
    p->is_header = 0;
    if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    p->indented = *s == ' ' || *s == '\t';
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '[')
        return;
    /* inih's find_chars_or_comment(start + 1, "]"): the name ends at the
     * first ']', and an inline comment (" ;") before it is an error */
    for (q = s + 1; *q && *q != ']' && !(was_space && *q == ';'); q++)
        was_space = isspace((unsigned char)*q);
    if (*q != ']')
        return; /* inih reports it as a syntax error */
    n = (size_t)(q - (s + 1));
    if (n >= sizeof(p->header))
        n = sizeof(p->header) - 1;
    memcpy(p->header, s + 1, n);
    p->header[n] = '\0';
    p->is_header = 1;
}

/* The line is parsed: if it was a section header, open the section. */
static void line_done(struct config_parse *p)
{
    if (p->done || p->lineno == 0)
        return;
    p->done = 1;
    if (p->is_header && p->calls == 0)
        config_section(p, p->header);
}

/*
 * inih's reader: the file one physical line at a time, handed over in as
 * many pieces as inih's buffer needs (it grows it and asks again while a
 * piece ends without a newline).
 */
static char *config_reader(char *buf, int size, void *stream)
{
    struct config_parse *p = stream;
    ssize_t r;
    size_t n;

    if (p->pos == p->len) {
        /* a last line without newline, asked for more: that was all */
        if (p->len > 0 && p->line[p->len - 1] != '\n')
            return NULL;
        line_done(p);
        if (p->fatal)
            return NULL;
        if ((r = getline(&p->line, &p->cap, p->f)) <= 0)
            return NULL;
        p->len = (size_t)r;
        p->pos = 0;
        p->lineno++;
        if (memchr(p->line, '\0', p->len) != NULL) {
            p->fatal = 1;
            bad(p, "a NUL byte: this is not a text file");
            return NULL;
        }
        if (p->len > CONFIG_LINE_MAX) {
            p->fatal = 1;
            bad(p, "line is longer than %d bytes", CONFIG_LINE_MAX);
            return NULL;
        }
        line_start(p);
    }
    n = p->len - p->pos;
    if (size <= 1)
        return NULL;
    if (n > (size_t)size - 1)
        n = (size_t)size - 1;
    memcpy(buf, p->line + p->pos, n);
    buf[n] = '\0';
    p->pos += n;
    return buf;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);

    if (n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

static int parse_usbid(const char *v, uint16_t *vid, uint16_t *pid)
{
    unsigned a, b;
    int n = 0;

    if (sscanf(v, "%4x:%4x%n", &a, &b, &n) != 2 || v[n] != '\0' ||
        strlen(v) != 9)
        return -1;
    *vid = (uint16_t)a;
    *pid = (uint16_t)b;
    return 0;
}

#define STR(field)                                                             \
    (copy_str(field, sizeof(field), value)                                     \
         ? bad(p, "%s.%s: value too long", section, name)                      \
         : 1)

static int site_key(struct config_parse *p, const char *section,
                    const char *name, const char *value)
{
    struct config *c = p->c;

    if (strcmp(name, "id") == 0)
        return STR(c->site.id);
    if (strcmp(name, "station") == 0) {
        c->site.station_line = p->lineno;
        return STR(c->site.station);
    }
    if (strcmp(name, "database") == 0)
        return STR(c->site.database);
    if (strcmp(name, "secret_file") == 0)
        return STR(c->site.secret_file);
    if (strcmp(name, "timezone") == 0) {
        if (sitetime_zone_valid(value, NULL) == -1)
            return bad(p, "unknown time zone '%s'", value);
        c->site.timezone_line = p->lineno;
        return STR(c->site.timezone);
    }
    return bad(p, "unknown key '%s' in [%s]", name, section);
}

static int control_key(struct config_parse *p, const char *section,
                       const char *name, const char *value)
{
    struct config *c = p->c;

    if (strcmp(name, "socket") == 0)
        return STR(c->control.socket);
    if (strcmp(name, "kiosk_group") == 0)
        return STR(c->control.kiosk_group);
    if (strcmp(name, "operator_group") == 0)
        return STR(c->control.operator_group);
    if (strcmp(name, "admin_group") == 0)
        return STR(c->control.admin_group);
    return bad(p, "unknown key '%s' in [%s]", name, section);
}

static int policy_key(struct config_parse *p, const char *section,
                      const char *name, const char *value)
{
    struct config *c = p->c;

    if (strcmp(name, "mode") == 0) {
        if (strcmp(value, "id") == 0)
            c->policy.mode = POLICY_ID;
        else if (strcmp(value, "ticket") == 0)
            c->policy.mode = POLICY_TICKET;
        else if (strcmp(value, "id+ticket") == 0)
            c->policy.mode = POLICY_ID_TICKET;
        else
            return bad(p, "mode must be id, ticket or id+ticket, not '%s'",
                       value);
        return 1;
    }
    if (strcmp(name, "pair_window_seconds") == 0)
        return number_parse_int(value, 1, 600, &c->policy.pair_window_seconds)
                   ? bad(p, "pair_window_seconds must be 1..600, not '%s'",
                         value)
                   : 1;
    if (strcmp(name, "poll_before") == 0)
        return number_parse_int(value, 0, 720, &c->policy.poll_before)
                   ? bad(p, "poll_before must be 0..720 minutes, not '%s'",
                         value)
                   : 1;
    return bad(p, "unknown key '%s' in [%s]", name, section);
}

static int central_key(struct config_parse *p, const char *section,
                       const char *name, const char *value)
{
    struct config *c = p->c;
    int m;

    if (strcmp(name, "url") == 0) {
        if (strncmp(value, "https://", 8) != 0 &&
            strncmp(value, "http://", 7) != 0)
            return bad(p,
                       "url must start with https:// (or http:// for tests), "
                       "not '%s'",
                       value);
        return STR(c->central.url);
    }
    if (strcmp(name, "key_file") == 0)
        return STR(c->central.key_file);
    if (strcmp(name, "ca_file") == 0)
        return STR(c->central.ca_file);
    if (strcmp(name, "schedule") == 0) {
        if ((m = sitetime_parse_hhmm(value)) == -1)
            return bad(p, "schedule must be HH:MM, not '%s'", value);
        c->central.schedule = m;
        return 1;
    }
    if (strcmp(name, "batch_max_events") == 0)
        return number_parse_int(value, 1, 1000000, &c->central.batch_max_events)
                   ? bad(p, "batch_max_events must be 1..1000000, not '%s'",
                         value)
                   : 1;
    return bad(p, "unknown key '%s' in [%s]", name, section);
}

static int device_key(struct config_parse *p, const char *section,
                      const char *name, const char *value)
{
    struct config_device *d = p->dev;

    if (strcmp(name, "type") == 0) {
        if (strcmp(value, "idcard") == 0)
            d->type = DEVTYPE_IDCARD;
        else if (strcmp(value, "scanner") == 0)
            d->type = DEVTYPE_SCANNER;
        else
            return bad(p, "type must be idcard or scanner, not '%s'", value);
        return 1;
    }
    if (strcmp(name, "transport") == 0) {
        if (strcmp(value, "usb") == 0)
            d->transport = TRANSPORT_USB;
        else if (strcmp(value, "serial") == 0)
            d->transport = TRANSPORT_SERIAL;
        else
            return bad(p, "transport must be usb or serial, not '%s'", value);
        return 1;
    }
    if (strcmp(name, "usb") == 0)
        return parse_usbid(value, &d->vid, &d->pid)
                   ? bad(p,
                         "usb must be VID:PID in hex (e.g. 0400:c35a), not "
                         "'%s'",
                         value)
                   : 1;
    if (strcmp(name, "serial") == 0)
        return STR(d->serial);
    if (strcmp(name, "path") == 0)
        return STR(d->path);
    if (strcmp(name, "baud") == 0) {
        static const int ok[] = {9600, 19200, 38400, 57600, 115200};
        size_t i;
        int b;
        if (number_parse_int(value, 1, 4000000, &b) == 0)
            for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                if (ok[i] == b) {
                    d->baud = b;
                    return 1;
                }
        return bad(p,
                   "baud must be 9600, 19200, 38400, 57600 or 115200, not '%s'",
                   value);
    }
    if (strcmp(name, "room") == 0)
        return STR(d->room);
    return bad(p, "unknown key '%s' in [%s]", name, section);
}

static int valid_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* s without the white space around it, into out. */
static void trimmed(const char *s, char *out, size_t cap)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* A "[raw]" header at line p->lineno: open the section or say why not. */
static int config_section(struct config_parse *p, const char *raw)
{
    struct config *c = p->c;
    char name[128];
    const char *devname;
    int i;

    p->dev = NULL;
    p->kind = SEC_BAD;
    p->prev_name[0] = '\0';
    snprintf(p->section, sizeof(p->section), "%s", raw);
    trimmed(raw, name, sizeof(name));
    for (i = 0; i < p->nsections && strncmp(name, "device ", 7) != 0; i++)
        if (strcmp(p->sections[i].name, name) == 0) {
            return bad(p, "section [%s] appears twice (also on line %d)", name,
                       p->sections[i].line);
        }
    if (strcmp(name, "site") == 0)
        p->kind = SEC_SITE;
    else if (strcmp(name, "control") == 0)
        p->kind = SEC_CONTROL;
    else if (strcmp(name, "policy") == 0)
        p->kind = SEC_POLICY;
    else if (strcmp(name, "central") == 0)
        p->kind = SEC_CENTRAL;
    else if (strncmp(name, "device ", 7) != 0)
        return bad(p, "unknown section [%s]", name);
    if (p->kind == SEC_BAD) {
        devname = name + 7;
        while (*devname == ' ')
            devname++;
        if (!valid_name(devname) ||
            strlen(devname) >= sizeof(c->devices[0].name))
            return bad(p, "bad device name '%s'", devname);
        for (i = 0; i < (int)c->ndevices; i++)
            if (strcmp(c->devices[i].name, devname) == 0)
                return bad(p, "device '%s' is defined twice (also on line %d)",
                           devname, c->devices[i].line);
        if (c->ndevices == CONFIG_MAX_DEVICES)
            return bad(p, "too many devices (at most %d)", CONFIG_MAX_DEVICES);
        p->dev = &c->devices[c->ndevices++];
        memset(p->dev, 0, sizeof(*p->dev));
        memcpy(p->dev->name, devname, strlen(devname) + 1); /* checked */
        p->dev->baud = 115200;
        p->dev->line = p->lineno;
        p->kind = SEC_DEVICE;
    }
    if (p->nsections == MAX_SECTIONS) {
        p->kind = SEC_BAD;
        return bad(p, "too many sections");
    }
    p->secidx = p->nsections++;
    memcpy(p->sections[p->secidx].name, name, strlen(name) + 1);
    p->sections[p->secidx].line = p->lineno;
    return 1;
}

/* A key seen twice in one section is an error, not last-wins. */
static int key_once(struct config_parse *p, const char *secname,
                    const char *name)
{
    int i;

    for (i = 0; i < p->nkeys; i++)
        if (p->keys[i].sec == p->secidx && strcmp(p->keys[i].name, name) == 0)
            return bad(p, "'%s' is given twice in [%s] (also on line %d)", name,
                       secname, p->keys[i].line);
    if (p->nkeys < MAX_KEYS && strlen(name) < sizeof(p->keys[0].name)) {
        p->keys[p->nkeys].sec = p->secidx;
        memcpy(p->keys[p->nkeys].name, name, strlen(name) + 1);
        p->keys[p->nkeys++].line = p->lineno;
    }
    return 1;
}

static int config_handler(void *user, const char *section, const char *name,
                          const char *value)
{
    struct config_parse *p = user;
    const char *secname;

    p->calls++;
    if (name == NULL) /* a new section: not in Debian's build, seen above */
        return 1;
    if (p->indented && p->prev_name[0] != '\0')
        /* inih (like Python's configparser) reads an indented line after a
         * key as more of that key's value; ours are one line */
        return bad(p,
                   "an indented line continues the value of '%s' (line "
                   "%d): values are one line; start keys and [sections] "
                   "at the beginning of the line",
                   p->prev_name, p->prev_line);
    snprintf(p->prev_name, sizeof(p->prev_name), "%s", name);
    p->prev_line = p->lineno;
    if (strncmp(section, p->section, INIH_NAME_MAX) != 0)
        return bad(p, "syntax error (section [%s] not understood)", section);
    switch (p->kind) {
    case SEC_NONE:
        return bad(p,
                   "'%s' comes before any [section]: the file starts with "
                   "[site]",
                   name);
    case SEC_BAD: /* its header line was reported */
        return 0;
    default:
        break;
    }
    secname = p->sections[p->secidx].name;
    if (!key_once(p, secname, name))
        return 0;
    switch (p->kind) {
    case SEC_SITE:
        return site_key(p, secname, name, value);
    case SEC_CONTROL:
        return control_key(p, secname, name, value);
    case SEC_POLICY:
        return policy_key(p, secname, name, value);
    case SEC_CENTRAL:
        return central_key(p, secname, name, value);
    default:
        return device_key(p, secname, name, value);
    }
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->site.database, sizeof(c->site.database), "%s",
             CONFIG_DEFAULT_DB);
    snprintf(c->site.timezone, sizeof(c->site.timezone), "%s",
             SITETIME_DEFAULT_ZONE);
    if (gethostname(c->site.station, sizeof(c->site.station) - 1) == -1)
        snprintf(c->site.station, sizeof(c->site.station), "station");
    snprintf(c->control.socket, sizeof(c->control.socket), "%s",
             CONFIG_DEFAULT_SOCKET);
    snprintf(c->control.kiosk_group, sizeof(c->control.kiosk_group),
             "examsite-kiosk");
    snprintf(c->control.operator_group, sizeof(c->control.operator_group),
             "examsite-operator");
    snprintf(c->control.admin_group, sizeof(c->control.admin_group),
             "examsite-admin");
    c->policy.mode = POLICY_ID;
    c->policy.pair_window_seconds = 60;
    c->policy.poll_before = 60;
    c->central.schedule = 22 * 60;
    c->central.batch_max_events = 10000;
}

static int config_check_devices(struct config *c, struct err *e)
{
    size_t i;

    for (i = 0; i < c->ndevices; i++) {
        struct config_device *d = &c->devices[i];
        const char *why = NULL;
        if (d->type == 0)
            why = "needs type = idcard or scanner";
        else if (d->transport == 0)
            why = "needs transport = usb or serial";
        else if (d->transport == TRANSPORT_USB && d->vid == 0 && d->pid == 0)
            why = "needs usb = VID:PID";
        else if (d->transport == TRANSPORT_SERIAL && d->path[0] == '\0')
            why = "needs path = /dev/tty...";
        else if (d->room[0] == '\0')
            why = "needs room = the exam room it serves";
        if (why != NULL) {
            err_set(e, EX_CONFIG, "%s:%d: device '%s' %s", c->file, d->line,
                    d->name, why);
            e->line = d->line;
            return -1;
        }
    }
    return 0;
}

/* Debian's libinih takes its options at run time: set every one we rely
 * on, whatever another user of the library in this process chose. */
static void inih_options(void)
{
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_initial_alloc = 256;
    ini_max_line = 2 * CONFIG_LINE_MAX;
    ini_allow_multiline = true;
    ini_allow_bom = true;
    ini_allow_inline_comments = true;
    ini_allow_no_value = false;
    ini_stop_on_first_error = false;
}

static int site_section_line(const struct config_parse *p)
{
    int i;

    for (i = 0; i < p->nsections; i++)
        if (strcmp(p->sections[i].name, "site") == 0)
            return p->sections[i].line;
    return 0;
}

int config_load(const char *path, struct config *out, struct err *e)
{
    struct config_parse *p;
    struct config *c;
    struct err dropped;
    int rc, line;

    if (e == NULL) /* the device check sets e->line */
        e = &dropped;
    if ((c = malloc(sizeof(*c))) == NULL ||
        (p = calloc(1, sizeof(*p))) == NULL) {
        free(c);
        return err_errno(e, EX_OSERR, "config");
    }
    config_defaults(c);
    snprintf(c->file, sizeof(c->file), "%s", path);
    p->c = c;
    if ((p->f = fopen(path, "r")) == NULL) {
        rc = err_errno(e, EX_NOINPUT, "%s", path);
        goto out;
    }
    inih_options();
    rc = ini_parse_stream(config_reader, p, config_handler, p);
    line_done(p); /* the last line */
    if (rc >= 0 && ferror(p->f)) {
        rc = err_errno(e, EX_IOERR, "%s: read", path);
        goto out;
    }
    if (rc < 0) {
        rc = err_set(e, EX_OSERR, "%s: out of memory", path);
        goto out;
    }
    if (rc != 0 || p->msg[0] != '\0') {
        /* the first error in the file: ours, or inih's syntax error */
        if (p->msg[0] != '\0' && (rc == 0 || p->msg_line <= rc))
            rc = p->msg_line;
        else
            snprintf(p->msg, sizeof(p->msg), "%s",
                     "syntax error (expected [section] or key = value)");
        err_set(e, EX_CONFIG, "%s:%d: %s", path, rc, p->msg);
        if (e != NULL)
            e->line = rc;
        rc = -1;
        goto out;
    }
    if ((rc = config_check_devices(c, e)) == -1)
        goto out;
    if ((line = site_section_line(p)) == 0) {
        rc = err_set(e, EX_CONFIG,
                     "%s: there is no [site] section: [site] id is required",
                     path);
        goto out;
    }
    if (c->site.id[0] == '\0') {
        rc = err_set(e, EX_CONFIG, "%s:%d: [site] id is required", path, line);
        if (e != NULL)
            e->line = line;
        goto out;
    }
    *out = *c;
    rc = 0;
out:
    if (p->f != NULL)
        fclose(p->f);
    free(p->line);
    free(p);
    free(c);
    return rc;
}

int config_site_mismatch(const struct config *c, const char *db_station,
                         const char *db_timezone, char *out, size_t outlen)
{
    size_t n = 0;

    if (outlen == 0)
        return 0;
    out[0] = '\0';
    if (c->site.station_line > 0 && db_station != NULL &&
        strcmp(c->site.station, db_station) != 0)
        n += (size_t)snprintf(out, outlen,
                              "%s:%d: [site] station '%s' differs from the "
                              "database's '%s'",
                              c->file, c->site.station_line, c->site.station,
                              db_station);
    if (n < outlen && c->site.timezone_line > 0 && db_timezone != NULL &&
        strcmp(c->site.timezone, db_timezone) != 0)
        n += (size_t)snprintf(out + n, outlen - n,
                              n ? "; %s:%d: timezone '%s' differs from "
                                  "the database's '%s'"
                                : "%s:%d: [site] timezone '%s' differs "
                                  "from the database's '%s'",
                              c->file, c->site.timezone_line, c->site.timezone,
                              db_timezone);
    if (n > 0 && n < outlen)
        snprintf(out + n, outlen - n,
                 " (the database's is used: correct the configuration)");
    return out[0] != '\0';
}

const char *config_policy_name(enum config_policy p)
{
    switch (p) {
    case POLICY_ID:
        return "id";
    case POLICY_TICKET:
        return "ticket";
    case POLICY_ID_TICKET:
        return "id+ticket";
    }
    return "?";
}

void config_secret_path(const char *database, const char *secret_file,
                        char *out, size_t outlen)
{
    if (secret_file != NULL && secret_file[0] != '\0')
        snprintf(out, outlen, "%s", secret_file);
    else
        snprintf(out, outlen, "%s.secret", database);
}
