/*
 * ctl_sync.c: examctl sync now | status | export DIR.
 *
 * `now` asks examsited for a round (the sync.now op) and follows it with
 * sync.status until that round is over, then says what was sent.  `status`
 * is the daemon's view, or without a daemon what the database says.
 * `export` writes the pending batches as files for a site with no network
 * (docs/batch-format.md): numbered as a send would number them, so a
 * later sync of the same batch is acknowledged as already stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "batch.h"
#include "ctl.h"
#include "event.h"
#include "number.h"
#include "site.h"
#include "store.h"
#include "sync.h"

static const char synopsis[] =
    "sync now [--timeout SEC] | sync status | sync export DIR";

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int sync_now_cmd(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    json_t *req = NULL, *reply = NULL, *last;
    long long timeout = 600;
    long waited = 0, round;
    int ch, fd, rc = 0;
    struct err e;

    while ((ch = getopt_long(argc, argv, ":t:", opts, NULL)) != -1) {
        if (ch != 't')
            return ctl_opt_error(synopsis, ch, argv);
        if (number_parse(optarg, 1, 86400, &timeout) == -1)
            return ctl_usagef(synopsis, "--timeout must be 1-86400 seconds");
    }
    if ((fd = ctl_connect(c, &e)) == -1)
        return ctl_fail(&e);
    req = json_pack("{s:s}", "op", "sync.now");
    if (ctl_exchange(fd, req, &reply, &e) == -1) {
        rc = ctl_fail(&e);
        goto out;
    }
    round = (long)json_integer_value(json_object_get(reply, "round"));
    json_decref(req);
    req = json_pack("{s:s}", "op", "sync.status");
    /* ops answer at once; the round is followed by asking how it goes */
    for (;;) {
        json_decref(reply);
        reply = NULL;
        if (ctl_exchange(fd, req, &reply, &e) == -1) {
            rc = ctl_fail(&e);
            goto out;
        }
        last = json_object_get(reply, "last_round");
        if (json_integer_value(json_object_get(last, "round")) >= round &&
            json_is_true(json_object_get(last, "done")))
            break;
        if (waited >= timeout * 1000) {
            rc = ctl_failf(EX_TEMPFAIL,
                           "sync: still running after %lld s (see 'examctl "
                           "sync status')",
                           timeout);
            goto out;
        }
        nap_ms(100);
        waited += 100;
    }
    if (c->json)
        ctl_print_json(reply);
    if (json_is_true(json_object_get(last, "ok"))) {
        json_t *cur = json_object_get(reply, "cursor");
        if (!c->json)
            printf(
                "sent %lld batches, %lld events; the office holds events "
                "up to %lld (batch %lld)\n",
                (long long)json_integer_value(json_object_get(last, "batches")),
                (long long)json_integer_value(json_object_get(last, "events")),
                (long long)json_integer_value(
                    json_object_get(cur, "last_event")),
                (long long)json_integer_value(json_object_get(cur, "seq")));
    } else {
        const char *msg = json_string_value(json_object_get(last, "error"));
        rc = ctl_failf(json_is_true(json_object_get(last, "refused"))
                           ? EX_DATAERR
                           : EX_UNAVAILABLE,
                       "sync: %s", msg ? msg : "failed");
    }
out:
    json_decref(req);
    json_decref(reply);
    close(fd);
    return rc;
}

/* A time of the status in the site's zone, as the other commands show
 * times; as given when it is not a UTC time. */
static void print_time(const char *label, const char *utc, const char *none)
{
    char local[32];

    if (utc == NULL)
        printf("%s%s\n", label, none);
    else if (ctl_site_time(utc, "%Y-%m-%d %H:%M:%S", local, sizeof(local)) == 0)
        printf("%s%s\n", label, local);
    else
        printf("%s%s\n", label, utc);
}

/* The last error, with when: an error before the last success is over,
 * and an invigilator reading the status should not think it is not. */
static void print_error(const json_t *j)
{
    const char *msg = json_string_value(json_object_get(j, "last_error"));
    const char *at = json_string_value(json_object_get(j, "last_error_at"));
    const char *ok = json_string_value(json_object_get(j, "last_success"));
    char local[32];

    if (msg == NULL) {
        printf("last error:   none\n");
        return;
    }
    if (at == NULL ||
        ctl_site_time(at, "%Y-%m-%d %H:%M:%S", local, sizeof(local)) == -1) {
        printf("last error:   %s\n", msg);
        return;
    }
    /* the same format, so the strings compare as the times do */
    printf("last error:   %s (%s%s)\n", msg, local,
           ok != NULL && strcmp(ok, at) > 0 ? ", before the last success" : "");
}

static void print_status(const json_t *j)
{
    const json_t *cur = json_object_get(j, "cursor");
    const char *t;

    printf("office:       %s\n",
           json_string_value(json_object_get(j, "url"))
               ? json_string_value(json_object_get(j, "url"))
               : "(not configured)");
    printf("cursor:       batch %lld, event %lld, hash %s\n",
           (long long)json_integer_value(json_object_get(cur, "seq")),
           (long long)json_integer_value(json_object_get(cur, "last_event")),
           json_string_value(json_object_get(cur, "chain_hash")));
    printf("pending:      %lld events\n",
           (long long)json_integer_value(json_object_get(j, "pending")));
    print_time("last success: ",
               json_string_value(json_object_get(j, "last_success")), "never");
    print_error(j);
    print_time(
        "next attempt: ", json_string_value(json_object_get(j, "next_attempt")),
        "at the schedule");
    t = json_string_value(json_object_get(j, "state"));
    if (t != NULL)
        printf("state:        %s\n", t);
}

static int sync_status_cmd(struct ctl *c)
{
    json_t *req = json_pack("{s:s}", "op", "sync.status"), *reply = NULL;
    struct sync_cursor cur;
    struct store *st;
    int64_t pending;
    struct err e;
    int rc = 0;

    if (ctl_request(c, req, &reply, &e) == 0) {
        json_decref(req);
        json_object_del(reply, "ok");
        if (c->json)
            ctl_print_json(reply);
        else if (ctl_daemon_zone(c, &e) == -1)
            rc = ctl_fail(&e);
        else
            print_status(reply);
        json_decref(reply);
        return rc;
    }
    json_decref(req);
    if (e.code != EX_UNAVAILABLE)
        return ctl_fail(&e);
    /* no daemon: what the database says */
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (sync_cursor_get(st, &cur, &e) == -1 ||
        (pending = sync_pending(st, &e)) == -1) {
        store_close(st);
        return ctl_fail(&e);
    }
    store_close(st);
    reply = json_pack("{s:s?, s:{s:I, s:I, s:s, s:s?}, s:I, s:s?, s:n, s:n, "
                      "s:s}",
                      "url", c->have_config ? c->cfg.central.url : NULL,
                      "cursor", "seq", (json_int_t)cur.seq, "last_event",
                      (json_int_t)cur.last_event, "chain_hash", cur.chain_hash,
                      "acked", cur.acked[0] ? cur.acked : NULL, "pending",
                      (json_int_t)pending, "last_success",
                      cur.acked[0] ? cur.acked : NULL, "last_error",
                      "next_attempt", "state", "examsited not running");
    if (c->json)
        ctl_print_json(reply);
    else
        print_status(reply);
    json_decref(reply);
    return 0;
}

static int write_file(const char *path, const void *buf, size_t len,
                      struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const char *p = buf;
    ssize_t w;

    if (fd == -1)
        return err_errno(e, EX_CANTCREAT, "%s", path);
    while (len > 0) {
        if ((w = write(fd, p, len)) <= 0) {
            close(fd);
            return err_errno(e, EX_IOERR, "%s", path);
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) == -1 || close(fd) == -1)
        return err_errno(e, EX_IOERR, "%s", path);
    return 0;
}

/* Encode batch b whole, fix (number) it, write DIR/SITE-STATION-SEQ.*. */
static int export_one(struct store *st, const struct site *site,
                      struct sync_batch *b, const unsigned char *key,
                      size_t keylen, const char *dir, json_t *files,
                      struct err *e)
{
    char path[4096], sig[BATCH_SIG_HEX + 2], sha[CHAIN_HASH_HEX + 1];
    struct batch_header h;
    struct batch_enc *enc;
    unsigned char *body = NULL;
    int64_t next = b->first_event;
    size_t len;
    int rc = -1;

    if ((enc = batch_enc_new(site->id, site->station, b->seq,
                             b->prev_chain_hash, 6, e)) == NULL)
        return -1;
    if (sync_encode(st, enc, &next, b->last_event, 0, e) == -1 ||
        batch_enc_finish(enc, &body, &len, &h, e) == -1 ||
        sync_sha256(body, len, sha) == -1 ||
        sync_fix(st, b, &h, sha, e) == -1 ||
        batch_sign(key, keylen, body, len, sig) == -1)
        goto out;
    snprintf(path, sizeof(path), "%s/%s-%s-%" PRId64 ".ndjson.gz", dir,
             site->id, site->station, b->seq);
    if (write_file(path, body, len, e) == -1)
        goto out;
    json_array_append_new(files, json_string(path));
    strcat(sig, "\n");
    snprintf(path + strlen(path), sizeof(path) - strlen(path), ".sig");
    if (write_file(path, sig, strlen(sig), e) == -1)
        goto out;
    rc = 0;
out:
    batch_enc_free(enc);
    free(body);
    return rc;
}

static int sync_export_cmd(struct ctl *c, const char *dir)
{
    unsigned char key[BATCH_KEY_MAX];
    json_t *files = json_array();
    int64_t after = 0, events = 0;
    struct sync_batch b;
    struct store *st = NULL;
    struct site site;
    struct err e;
    long keylen;
    int rc = 0, max;

    if (!c->have_config || c->cfg.central.key_file[0] == '\0') {
        json_decref(files);
        return ctl_failf(EX_CONFIG, "sync export signs with [central] "
                                    "key_file: give --config FILE");
    }
    if ((keylen = batch_key_load(c->cfg.central.key_file, key, sizeof(key),
                                 &e)) == -1) {
        json_decref(files);
        return ctl_fail(&e);
    }
    max = c->cfg.central.batch_max_events > 0 ? c->cfg.central.batch_max_events
                                              : 10000;
    if (ctl_open_store_rw(c, &st, &e) == -1 ||
        (rc = site_get(st, &site, &e)) != 1) {
        if (rc == 0)
            err_set(&e, EX_NOINPUT, "the database has no site");
        rc = ctl_fail(&e);
        goto out;
    }
    rc = 0;
    for (;;) {
        int n = sync_next(st, max, after, &b, &e);
        if (n == -1) {
            rc = ctl_fail(&e);
            break;
        }
        if (n == 0)
            break;
        if (export_one(st, &site, &b, key, (size_t)keylen, dir, files, &e) ==
            -1) {
            rc = ctl_fail(&e);
            break;
        }
        after = b.seq;
        events += b.count;
        if (!c->json)
            printf("%s\n", json_string_value(json_array_get(
                               files, json_array_size(files) - 1)));
    }
    if (rc == 0 && c->json) {
        json_t *j = json_pack("{s:O, s:I, s:I}", "files", files, "batches",
                              (json_int_t)json_array_size(files), "events",
                              (json_int_t)events);
        ctl_print_json(j);
        json_decref(j);
    } else if (rc == 0 && json_array_size(files) == 0) {
        printf("nothing to export: the office has every event\n");
    }
out:
    OPENSSL_cleanse(key, sizeof(key));
    store_close(st);
    json_decref(files);
    return rc;
}

int ctl_sync(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        printf("usage: examctl %s\n", synopsis);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(synopsis, "sync needs now, status or export");
    if (strcmp(argv[1], "now") == 0)
        return sync_now_cmd(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0 && argc == 2)
        return sync_status_cmd(c);
    if (strcmp(argv[1], "export") == 0 && argc == 3)
        return sync_export_cmd(c, argv[2]);
    return ctl_usagef(synopsis, "unknown or incomplete sync command");
}
