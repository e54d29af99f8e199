/*
 * config.h: the INI configuration of a station (docs/examsite.conf.5),
 * read with libinih.  Every error names FILE:LINE.  config_load() fills a
 * struct config completely or not at all, so a reload can parse into a
 * fresh struct and swap only on success.
 */
#ifndef EXAMSITE_CONFIG_H
#define EXAMSITE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CONFIG_DEFAULT_PATH   "/etc/examsite/examsite.conf"
#define CONFIG_DEFAULT_DB     "/var/lib/examsite/site.db"
#define CONFIG_DEFAULT_SOCKET "/run/examsite/examsited.sock"
#define CONFIG_MAX_DEVICES    32
#define CONFIG_STR            256

enum config_devtype { DEVTYPE_IDCARD = 1, DEVTYPE_SCANNER };
enum config_transport { TRANSPORT_USB = 1, TRANSPORT_SERIAL };
enum config_policy { POLICY_ID = 1, POLICY_TICKET, POLICY_ID_TICKET };

struct config_device {
    char name[64];
    enum config_devtype type;
    enum config_transport transport;
    uint16_t vid, pid;     /* transport usb */
    char serial[64];       /* optional USB serial number */
    char path[CONFIG_STR]; /* transport serial: /dev/tty... */
    int baud;
    char room[32];
    int line; /* where its section starts */
};

struct config {
    char file[CONFIG_STR];
    struct {
        char id[64], station[64], database[CONFIG_STR], secret_file[CONFIG_STR],
            timezone[64];
        /* where station and timezone were given, 0 for the defaults */
        int station_line, timezone_line;
    } site;
    struct {
        char socket[CONFIG_STR], kiosk_group[64], operator_group[64],
            admin_group[64];
    } control;
    struct {
        enum config_policy mode;
        int pair_window_seconds;
        int poll_before; /* minutes */
    } policy;
    struct config_device devices[CONFIG_MAX_DEVICES];
    size_t ndevices;
    struct {
        char url[CONFIG_STR], key_file[CONFIG_STR], ca_file[CONFIG_STR];
        int schedule; /* minutes after local midnight */
        int batch_max_events;
    } central;
};

/* Fill c with the built-in defaults (no file). */
void config_defaults(struct config *c);

/* Parse path into c (defaults first).  0, or -1 with "FILE:LINE: reason"
 * in e (code EX_CONFIG, or EX_NOINPUT when the file cannot be opened). */
int config_load(const char *path, struct config *c, struct err *e);

/*
 * Does the configuration's [site] station or timezone contradict the site
 * database's (db_station, db_timezone: the `site` row)?  Only keys the file
 * actually sets are compared (a default says nothing).  Returns 1 and one
 * line in out ("FILE:LINE: [site] station 'a' differs from the database's
 * 'b' ...; the database's is used"), or 0 and out = "" when they agree.
 * out is always NUL-terminated (outlen > 0); nothing is logged.
 */
int config_site_mismatch(const struct config *c, const char *db_station,
                         const char *db_timezone, char *out, size_t outlen);

/* "id", "ticket", "id+ticket". */
const char *config_policy_name(enum config_policy p);

/* The secret file: [site] secret_file, else the database path + ".secret". */
void config_secret_path(const char *database, const char *secret_file,
                        char *out, size_t outlen);

#endif
