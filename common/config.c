/*
 * config.c: the station's INI file through libinih, with range checks.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "sitetime.h"

struct config_parse {
    struct config *c;
    struct config_device *dev; /* the [device NAME] being read, or NULL */
    char msg[ERR_MSG_MAX];     /* first error's reason */
    int msg_line;              /* and its line */
    FILE *f;
    int lineno; /* line inih is looking at */
};

static int config_section(struct config_parse *p, const char *section);

/*
 * inih's reader, counting lines and seeing section headers itself: the
 * libinih of Debian 12 is built without INI_CALL_HANDLER_ON_NEW_SECTION, so
 * the handler never hears of a section until its first key (and never of an
 * empty one, or of the second of two sections with the same name).
 */
static char *config_reader(char *buf, int size, void *stream)
{
    struct config_parse *p = stream;
    char *r = fgets(buf, size, p->f), *s, *end, name[128];
    size_t n;

    if (r == NULL)
        return NULL;
    p->lineno++;
    s = buf;
    if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '[' && (end = strchr(s + 1, ']')) != NULL) {
        n = (size_t)(end - (s + 1));
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, s + 1, n);
        name[n] = '\0';
        config_section(p, name);
    }
    return r;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);

    if (n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = (int)n;
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

static int bad(struct config_parse *p, const char *fmt, const char *a,
               const char *b)
{
    if (p->msg[0] == '\0') {
        snprintf(p->msg, sizeof(p->msg), fmt, a, b);
        p->msg_line = p->lineno;
    }
    return 0; /* inih: 0 = error at this line */
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
    if (strcmp(name, "station") == 0)
        return STR(c->site.station);
    if (strcmp(name, "database") == 0)
        return STR(c->site.database);
    if (strcmp(name, "secret_file") == 0)
        return STR(c->site.secret_file);
    if (strcmp(name, "timezone") == 0) {
        if (sitetime_zone_valid(value, NULL) == -1)
            return bad(p, "unknown time zone '%s'%s", value, "");
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
            return bad(p, "mode must be id, ticket or id+ticket, not '%s'%s",
                       value, "");
        return 1;
    }
    if (strcmp(name, "pair_window_seconds") == 0)
        return parse_int(value, 1, 600, &c->policy.pair_window_seconds)
                   ? bad(p, "pair_window_seconds must be 1..600, not '%s'%s",
                         value, "")
                   : 1;
    if (strcmp(name, "poll_before") == 0)
        return parse_int(value, 0, 720, &c->policy.poll_before)
                   ? bad(p, "poll_before must be 0..720 minutes, not '%s'%s",
                         value, "")
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
                       "not '%s'%s",
                       value, "");
        return STR(c->central.url);
    }
    if (strcmp(name, "key_file") == 0)
        return STR(c->central.key_file);
    if (strcmp(name, "ca_file") == 0)
        return STR(c->central.ca_file);
    if (strcmp(name, "schedule") == 0) {
        if ((m = sitetime_parse_hhmm(value)) == -1)
            return bad(p, "schedule must be HH:MM, not '%s'%s", value, "");
        c->central.schedule = m;
        return 1;
    }
    if (strcmp(name, "batch_max_events") == 0)
        return parse_int(value, 1, 1000000, &c->central.batch_max_events)
                   ? bad(p, "batch_max_events must be 1..1000000, not '%s'%s",
                         value, "")
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
            return bad(p, "type must be idcard or scanner, not '%s'%s", value,
                       "");
        return 1;
    }
    if (strcmp(name, "transport") == 0) {
        if (strcmp(value, "usb") == 0)
            d->transport = TRANSPORT_USB;
        else if (strcmp(value, "serial") == 0)
            d->transport = TRANSPORT_SERIAL;
        else
            return bad(p, "transport must be usb or serial, not '%s'%s", value,
                       "");
        return 1;
    }
    if (strcmp(name, "usb") == 0)
        return parse_usbid(value, &d->vid, &d->pid)
                   ? bad(p,
                         "usb must be VID:PID in hex (e.g. 0400:c35a), not "
                         "'%s'%s",
                         value, "")
                   : 1;
    if (strcmp(name, "serial") == 0)
        return STR(d->serial);
    if (strcmp(name, "path") == 0)
        return STR(d->path);
    if (strcmp(name, "baud") == 0) {
        static const int ok[] = {9600, 19200, 38400, 57600, 115200};
        size_t i;
        int b;
        if (parse_int(value, 1, 4000000, &b) == 0)
            for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                if (ok[i] == b) {
                    d->baud = b;
                    return 1;
                }
        return bad(
            p, "baud must be 9600, 19200, 38400, 57600 or 115200, not '%s'%s",
            value, "");
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

static int config_section(struct config_parse *p, const char *section)
{
    struct config *c = p->c;
    const char *devname;
    size_t i;

    p->dev = NULL;
    if (strcmp(section, "site") == 0 || strcmp(section, "control") == 0 ||
        strcmp(section, "policy") == 0 || strcmp(section, "central") == 0)
        return 1;
    if (strncmp(section, "device ", 7) != 0)
        return bad(p, "unknown section [%s]%s", section, "");
    devname = section + 7;
    if (!valid_name(devname) || strlen(devname) >= sizeof(c->devices[0].name))
        return bad(p, "bad device name '%s'%s", devname, "");
    for (i = 0; i < c->ndevices; i++)
        if (strcmp(c->devices[i].name, devname) == 0)
            return bad(p, "device '%s' is defined twice%s", devname, "");
    if (c->ndevices == CONFIG_MAX_DEVICES)
        return bad(p, "too many devices (at most %s)%s", "32", "");
    p->dev = &c->devices[c->ndevices++];
    memset(p->dev, 0, sizeof(*p->dev));
    memcpy(p->dev->name, devname, strlen(devname) + 1); /* length checked */
    p->dev->baud = 115200;
    p->dev->line = p->lineno;
    return 1;
}

static int config_handler(void *user, const char *section, const char *name,
                          const char *value)
{
    struct config_parse *p = user;

    if (name == NULL) /* sections are seen by config_reader */
        return 1;
    if (strcmp(section, "site") == 0)
        return site_key(p, section, name, value);
    if (strcmp(section, "control") == 0)
        return control_key(p, section, name, value);
    if (strcmp(section, "policy") == 0)
        return policy_key(p, section, name, value);
    if (strcmp(section, "central") == 0)
        return central_key(p, section, name, value);
    if (p->dev != NULL)
        return device_key(p, section, name, value);
    /* an unknown or refused section: its header line was reported */
    return p->msg[0] ? 0 : bad(p, "unknown section [%s]%s", section, "");
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

int config_load(const char *path, struct config *out, struct err *e)
{
    struct config_parse p;
    struct config *c;
    struct err dropped;
    FILE *f;
    int rc;

    if (e == NULL) /* the device check sets e->line */
        e = &dropped;
    if ((c = malloc(sizeof(*c))) == NULL)
        return err_errno(e, EX_OSERR, "config");
    config_defaults(c);
    snprintf(c->file, sizeof(c->file), "%s", path);
    memset(&p, 0, sizeof(p));
    p.c = c;
    if ((f = fopen(path, "r")) == NULL) {
        free(c);
        return err_errno(e, EX_NOINPUT, "%s", path);
    }
    p.f = f;
    rc = ini_parse_stream(config_reader, &p, config_handler, &p);
    fclose(f);
    if (rc != 0 || p.msg[0] != '\0') {
        /* the first error in the file: a refused value or a syntax error */
        if (p.msg[0] != '\0' && (rc == 0 || p.msg_line <= rc))
            rc = p.msg_line;
        else
            snprintf(p.msg, sizeof(p.msg), "%s",
                     "syntax error (expected [section] or key = value)");
        err_set(e, EX_CONFIG, "%s:%d: %s", path, rc, p.msg);
        if (e != NULL)
            e->line = rc;
        free(c);
        return -1;
    }
    if (config_check_devices(c, e) == -1) {
        free(c);
        return -1;
    }
    if (c->site.id[0] == '\0') {
        free(c);
        return err_set(e, EX_CONFIG, "%s: [site] id is required", path);
    }
    *out = *c;
    free(c);
    return 0;
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
