/*
 * sync.c: the station's sync client (sync.h).
 *
 * A round: sync_next() says which batch is due (an unacknowledged one,
 * or the bounds of a new one), the batch is encoded CHUNK events per turn
 * of the loop, fixed (numbered, in the database) before it is first sent,
 * signed and POSTed; on 200 it is acknowledged and the next one follows,
 * until nothing is pending.  On 409 the office's cursor is checked against
 * the chain and adopted (sync_adopt), and the round goes on from there.
 * Anything else ends the round with an error, and a new round follows
 * after a backoff (doubling from BACKOFF_MIN_MS to BACKOFF_MAX_MS, with
 * jitter).  A refusal (the database was restored or altered) ends the
 * round without a retry: it says why, and the next scheduled or asked-for
 * round looks again.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "batch.h"
#include "event.h"
#include "log.h"
#include "sitetime.h"
#include "store.h"
#include "sync.h"
#include "../db/sync.h" /* the station's cursor (this file is sync.h's) */

#define CHUNK           256 /* events encoded per turn of the loop */
#define HTTP_TIMEOUT_S  60  /* one request, at most */
#define REPLY_MAX       65536
#define LOCKED_RETRY_MS 200 /* a write found the database locked */
#define BACKOFF_MIN_MS  2000
#define BACKOFF_MAX_MS  (15 * 60 * 1000)

enum sync_state { ST_IDLE, ST_ENCODING, ST_FIXING, ST_SENDING, ST_ACKING };

static const char *const state_names[] = {"idle", "encoding", "numbering",
                                          "sending", "acknowledging"};

struct sync {
    struct sync_env env;
    enum sync_state state;
    struct event *ev_step;     /* the next step of a round (0 s or retry) */
    struct event *ev_backoff;  /* the next round after a failure */
    struct event *ev_schedule; /* the nightly round */
    struct event *ev_reap;     /* frees a finished connection */
    struct evdns_base *dns;
    SSL_CTX *ssl;
    struct evhttp_connection *conn, *dead;
    SSL *conn_ssl;

    /* the round */
    long round, done_round;
    int round_ok, refused;
    long batches, events;
    char round_error[ERR_MSG_MAX];
    int attempts; /* failed rounds in a row */
    int64_t next_attempt_ms;
    int64_t last_success_ms, last_error_ms;
    char last_error[ERR_MSG_MAX];

    /* the batch in hand */
    struct sync_batch b;
    struct batch_enc *enc;
    int64_t next_id;
    unsigned char *body;
    size_t len;
    struct batch_header h;
    char body_sha[CHAIN_HASH_HEX + 1];
    unsigned char key[BATCH_KEY_MAX];
    size_t keylen;
};

static void step_cb(evutil_socket_t fd, short what, void *arg);
static void start_round(struct sync *s);

static int64_t now_ms(const struct sync *s)
{
    return clock_ms(s->env.clock);
}

static void later(struct event *ev, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    evtimer_add(ev, &tv);
}

static void drop_batch(struct sync *s)
{
    batch_enc_free(s->enc);
    s->enc = NULL;
    free(s->body);
    s->body = NULL;
    s->len = 0;
    OPENSSL_cleanse(s->key, sizeof(s->key));
    s->keylen = 0;
}

/* The round is over: ok, or failed with msg (retried after a backoff
 * unless refused). */
static void end_round(struct sync *s, int ok, int refused, const char *msg)
{
    drop_batch(s);
    s->state = ST_IDLE;
    s->done_round = s->round;
    s->round_ok = ok;
    s->refused = refused;
    snprintf(s->round_error, sizeof(s->round_error), "%s", ok ? "" : msg);
    if (ok) {
        s->attempts = 0;
        s->next_attempt_ms = 0;
        s->last_success_ms = now_ms(s);
        log_info("sync: round %ld: %ld batches, %ld events sent; the office "
                 "is up to date",
                 s->round, s->batches, s->events);
        return;
    }
    s->last_error_ms = now_ms(s);
    snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
    if (refused) {
        s->next_attempt_ms = 0;
        log_warnx("sync refused: %s", msg);
        return;
    }
    {
        uint32_t r = 0;
        int64_t d = BACKOFF_MIN_MS;
        int i;
        for (i = 1; i < s->attempts && d < BACKOFF_MAX_MS; i++)
            d *= 2;
        if (d > BACKOFF_MAX_MS)
            d = BACKOFF_MAX_MS;
        RAND_bytes((unsigned char *)&r, sizeof(r));
        d = d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1)); /* jitter */
        s->attempts++;
        s->next_attempt_ms = now_ms(s) + d;
        later(s->ev_backoff, d);
        log_warnx("sync: %s; next attempt in %.1f s", msg, (double)d / 1000);
    }
}

static void fail_err(struct sync *s, const struct err *e)
{
    end_round(s, 0, e->code == EX_DATAERR, e->msg);
}

/* The next step soon (ms 0: this turn of the loop, after I/O). */
static void step_later(struct sync *s, int64_t ms)
{
    later(s->ev_step, ms);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sync *s = arg;

    (void)fd;
    (void)what;
    if (s->dead != NULL)
        evhttp_connection_free(s->dead);
    s->dead = NULL;
}

static void conn_done(struct sync *s)
{
    s->dead = s->conn;
    s->conn = NULL;
    s->conn_ssl = NULL;
    later(s->ev_reap, 0);
}

/* --- the response ---------------------------------------------------- */

static void on_ack(struct sync *s)
{
    struct err e;

    if (sync_ack(s->env.store, &s->b, &e) == -1) {
        if (e.code == EX_TEMPFAIL) {
            step_later(s, LOCKED_RETRY_MS); /* the ack is kept: retried */
            return;
        }
        fail_err(s, &e);
        return;
    }
    s->batches++;
    s->events += s->b.count;
    log_info("sync: batch %" PRId64 " (events %" PRId64 "-%" PRId64
             ") acknowledged",
             s->b.seq, s->b.first_event, s->b.last_event);
    drop_batch(s);
    s->state = ST_IDLE;
    step_later(s, 0); /* the next batch, if any */
}

static void handle_reply(struct sync *s, int code, json_t *j)
{
    const char *msg = json_string_value(json_object_get(j, "error"));
    char line[ERR_MSG_MAX];
    struct err e;
    int rc;

    if (code == 200 && json_is_true(json_object_get(j, "ok"))) {
        json_int_t seq = json_integer_value(json_object_get(j, "seq"));
        json_int_t last = json_integer_value(json_object_get(j, "last_event"));
        const char *h = json_string_value(json_object_get(j, "chain_hash"));
        if (seq != s->b.seq || last != s->b.last_event || h == NULL ||
            strcmp(h, s->b.last_chain_hash) != 0) {
            end_round(s, 0, 0,
                      "the office acknowledged something other than what was "
                      "sent");
            return;
        }
        s->state = ST_ACKING;
        on_ack(s);
        return;
    }
    if (code == 409 && json_is_integer(json_object_get(j, "seq"))) {
        json_int_t seq = json_integer_value(json_object_get(j, "seq"));
        json_int_t last = json_integer_value(json_object_get(j, "last_event"));
        const char *h = json_string_value(json_object_get(j, "chain_hash"));
        rc = sync_adopt(s->env.store, seq, last, h ? h : "", &e);
        if (rc == 1) {
            log_info("sync: the office holds batch %lld (events up to %lld): "
                     "resuming from there",
                     (long long)seq, (long long)last);
            drop_batch(s);
            s->state = ST_IDLE;
            step_later(s, 0);
            return;
        }
        if (rc == -1) {
            fail_err(s, &e);
            return;
        }
    }
    snprintf(line, sizeof(line),
             "the office refused batch %" PRId64 " (HTTP %d): %s", s->b.seq,
             code, msg ? msg : "no reason given");
    end_round(s, 0, 0, line);
}

static void response_cb(struct evhttp_request *req, void *arg)
{
    struct sync *s = arg;
    char line[ERR_MSG_MAX];
    struct evbuffer *in;
    json_t *j = NULL;
    int code;

    if (req == NULL || (code = evhttp_request_get_response_code(req)) == 0) {
        long v = s->conn_ssl ? SSL_get_verify_result(s->conn_ssl) : X509_V_OK;
        unsigned long oe = ERR_peek_last_error();
        if (v != X509_V_OK)
            snprintf(line, sizeof(line),
                     "the office's certificate is not trusted: %s",
                     X509_verify_cert_error_string(v));
        else if (oe != 0)
            snprintf(line, sizeof(line), "cannot reach the office: TLS: %s",
                     ERR_reason_error_string(oe));
        else
            snprintf(line, sizeof(line),
                     "cannot reach the office at %s (no answer)",
                     s->env.cfg->central.url);
        ERR_clear_error();
        conn_done(s);
        end_round(s, 0, 0, line);
        return;
    }
    in = evhttp_request_get_input_buffer(req);
    if (evbuffer_get_length(in) > 0 && evbuffer_get_length(in) < REPLY_MAX)
        j = json_loadb((const char *)evbuffer_pullup(in, -1),
                       evbuffer_get_length(in), 0, NULL);
    conn_done(s);
    handle_reply(s, code, j);
    json_decref(j);
}

/* --- sending ----------------------------------------------------------- */

static int tls_ctx(struct sync *s, struct err *e)
{
    const char *ca = s->env.cfg->central.ca_file;

    if (s->ssl != NULL)
        return 0;
    if ((s->ssl = SSL_CTX_new(TLS_client_method())) == NULL ||
        !SSL_CTX_set_min_proto_version(s->ssl, TLS1_2_VERSION))
        return err_set(e, EX_SOFTWARE, "TLS: cannot set up");
    SSL_CTX_set_verify(s->ssl, SSL_VERIFY_PEER, NULL);
    if (ca[0] ? SSL_CTX_load_verify_locations(s->ssl, ca, NULL) != 1
              : SSL_CTX_set_default_verify_paths(s->ssl) != 1) {
        SSL_CTX_free(s->ssl);
        s->ssl = NULL;
        return err_set(e, EX_CONFIG, "[central] ca_file %s: cannot load it",
                       ca);
    }
    return 0;
}

static int send_batch(struct sync *s, struct err *e)
{
    char sig[BATCH_SIG_HEX + 1], seq[24], path[CONFIG_STR + 32];
    struct evhttp_uri *uri = evhttp_uri_parse(s->env.cfg->central.url);
    const char *scheme, *host, *base;
    struct bufferevent *bev = NULL;
    struct evhttp_request *req;
    struct evkeyvalq *hd;
    int https, port;

    if (uri == NULL || (scheme = evhttp_uri_get_scheme(uri)) == NULL ||
        (host = evhttp_uri_get_host(uri)) == NULL) {
        evhttp_uri_free(uri);
        return err_set(e, EX_CONFIG, "[central] url %s cannot be parsed",
                       s->env.cfg->central.url);
    }
    https = strcmp(scheme, "https") == 0;
    port = evhttp_uri_get_port(uri);
    if (port < 0)
        port = https ? 443 : 80;
    base = evhttp_uri_get_path(uri);
    snprintf(path, sizeof(path), "%s/v1/batches",
             base && strcmp(base, "/") != 0 ? base : "");
    if (https) {
        SSL *ssl;
        unsigned char ip[16];
        if (tls_ctx(s, e) == -1 || (ssl = SSL_new(s->ssl)) == NULL) {
            evhttp_uri_free(uri);
            return e->code ? -1 : err_set(e, EX_SOFTWARE, "TLS: SSL_new");
        }
        if (inet_pton(AF_INET, host, ip) == 1 ||
            inet_pton(AF_INET6, host, ip) == 1) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
        } else {
            SSL_set_tlsext_host_name(ssl, host);
            SSL_set1_host(ssl, host);
        }
        bev = bufferevent_openssl_socket_new(
            s->env.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (bev == NULL) {
            SSL_free(ssl);
            evhttp_uri_free(uri);
            return err_set(e, EX_OSERR, "TLS: bufferevent");
        }
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        s->conn_ssl = ssl;
    }
    if (s->dns == NULL)
        s->dns = evdns_base_new(s->env.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    s->conn = evhttp_connection_base_bufferevent_new(s->env.base, s->dns, bev,
                                                     host, (ev_uint16_t)port);
    evhttp_uri_free(uri);
    if (s->conn == NULL)
        return err_set(e, EX_OSERR, "cannot set up the connection");
    evhttp_connection_set_timeout(s->conn, HTTP_TIMEOUT_S);
    evhttp_connection_set_max_body_size(s->conn, REPLY_MAX);
    if (batch_sign(s->key, s->keylen, s->body, s->len, sig) == -1 ||
        (req = evhttp_request_new(response_cb, s)) == NULL) {
        conn_done(s);
        return err_set(e, EX_SOFTWARE, "cannot sign or make the request");
    }
    snprintf(seq, sizeof(seq), "%" PRId64, s->b.seq);
    hd = evhttp_request_get_output_headers(req);
    evhttp_add_header(hd, "Content-Type", "application/x-ndjson");
    evhttp_add_header(hd, "Content-Encoding", "gzip");
    evhttp_add_header(hd, "X-Examsite-Site", s->env.site);
    evhttp_add_header(hd, "X-Examsite-Station", s->env.station);
    evhttp_add_header(hd, "X-Examsite-Seq", seq);
    evhttp_add_header(hd, "X-Examsite-Signature", sig);
    evbuffer_add(evhttp_request_get_output_buffer(req), s->body, s->len);
    if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, path) == -1) {
        conn_done(s);
        return err_set(e, EX_UNAVAILABLE, "cannot reach the office at %s",
                       s->env.cfg->central.url);
    }
    s->state = ST_SENDING;
    log_info("sync: sending batch %" PRId64 " (events %" PRId64 "-%" PRId64
             ", %zu bytes)",
             s->b.seq, s->b.first_event, s->b.last_event, s->len);
    return 0;
}

/* --- the steps of a round ----------------------------------------------- */

/* Which batch is due; start encoding it. */
static void plan(struct sync *s)
{
    struct err e;
    long n;
    int rc;

    if ((rc = sync_next(s->env.store, s->env.cfg->central.batch_max_events, 0,
                        &s->b, &e)) == -1) {
        if (e.code == EX_TEMPFAIL) {
            step_later(s, LOCKED_RETRY_MS);
            return;
        }
        fail_err(s, &e);
        return;
    }
    if (rc == 0) {
        end_round(s, 1, 0, NULL);
        return;
    }
    if ((n = batch_key_load(s->env.cfg->central.key_file, s->key,
                            sizeof(s->key), &e)) == -1) {
        end_round(s, 0, 0, e.msg);
        return;
    }
    s->keylen = (size_t)n;
    if ((s->enc = batch_enc_new(s->env.site, s->env.station, s->b.seq,
                                s->b.prev_chain_hash, 6, &e)) == NULL) {
        fail_err(s, &e);
        return;
    }
    s->next_id = s->b.first_event;
    s->state = ST_ENCODING;
    step_later(s, 0);
}

static void encode_some(struct sync *s)
{
    struct err e;

    if (sync_encode(s->env.store, s->enc, &s->next_id, s->b.last_event, CHUNK,
                    &e) == -1) {
        if (e.code == EX_TEMPFAIL) {
            step_later(s, LOCKED_RETRY_MS);
            return;
        }
        fail_err(s, &e);
        return;
    }
    if (s->next_id <= s->b.last_event) {
        step_later(s, 0);
        return;
    }
    if (batch_enc_finish(s->enc, &s->body, &s->len, &s->h, &e) == -1 ||
        sync_sha256(s->body, s->len, s->body_sha) == -1) {
        fail_err(s, &e);
        return;
    }
    batch_enc_free(s->enc);
    s->enc = NULL;
    s->state = ST_FIXING;
    step_later(s, 0);
}

static void fix_and_send(struct sync *s)
{
    struct err e;

    if (sync_fix(s->env.store, &s->b, &s->h, s->body_sha, &e) == -1) {
        if (e.code == EX_TEMPFAIL) {
            step_later(s, LOCKED_RETRY_MS);
            return;
        }
        fail_err(s, &e);
        return;
    }
    if (send_batch(s, &e) == -1)
        end_round(s, 0, 0, e.msg);
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sync *s = arg;

    (void)fd;
    (void)what;
    switch (s->state) {
    case ST_IDLE:
        plan(s);
        break;
    case ST_ENCODING:
        encode_some(s);
        break;
    case ST_FIXING:
        fix_and_send(s);
        break;
    case ST_ACKING:
        on_ack(s);
        break;
    case ST_SENDING:
        break; /* the response will come */
    }
}

static void start_round(struct sync *s)
{
    if (s->state != ST_IDLE || evtimer_pending(s->ev_step, NULL))
        return; /* one is running: it is joined */
    evtimer_del(s->ev_backoff);
    s->round++;
    s->batches = 0;
    s->events = 0;
    s->next_attempt_ms = 0;
    step_later(s, 0);
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_round(arg);
}

static void schedule_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sync *s = arg;

    (void)fd;
    (void)what;
    log_info("sync: the nightly round");
    start_round(s);
    sync_replan(s);
}

static int configured(const struct sync *s)
{
    return s->env.cfg->central.url[0] != '\0';
}

void sync_replan(struct sync *s)
{
    int64_t now = now_ms(s), at;
    char today[11];
    int y, m, d;

    if (s == NULL)
        return;
    evtimer_del(s->ev_schedule);
    if (s->ssl != NULL && s->conn == NULL) { /* [central] ca_file may differ */
        SSL_CTX_free(s->ssl);
        s->ssl = NULL;
    }
    if (!configured(s))
        return;
    clock_today(s->env.clock, today);
    if (sitetime_parse_date(today, &y, &m, &d) == -1)
        return;
    at = (int64_t)sitetime_local(y, m, d, s->env.cfg->central.schedule) * 1000;
    if (at <= now + 1000)
        at =
            (int64_t)sitetime_local(y, m, d + 1, s->env.cfg->central.schedule) *
            1000;
    later(s->ev_schedule, at - now);
}

struct sync *sync_new(const struct sync_env *env, struct err *e)
{
    struct sync *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    s->env = *env;
    if ((s->ev_step = evtimer_new(env->base, step_cb, s)) == NULL ||
        (s->ev_backoff = evtimer_new(env->base, backoff_cb, s)) == NULL ||
        (s->ev_schedule = evtimer_new(env->base, schedule_cb, s)) == NULL ||
        (s->ev_reap = evtimer_new(env->base, reap_cb, s)) == NULL) {
        sync_free(s);
        err_set(e, EX_OSERR, "sync: timers");
        return NULL;
    }
    if (configured(s) &&
        (!batch_id_valid(env->site) || !batch_id_valid(env->station)))
        log_warnx("sync: site '%s' / station '%s' cannot be sent (ids are "
                  "1-64 of A-Z a-z 0-9 . _ -)",
                  env->site, env->station);
    sync_replan(s);
    return s;
}

void sync_free(struct sync *s)
{
    if (s == NULL)
        return;
    if (s->conn != NULL)
        evhttp_connection_free(s->conn);
    if (s->dead != NULL)
        evhttp_connection_free(s->dead);
    if (s->ev_reap)
        event_free(s->ev_reap);
    if (s->ev_schedule)
        event_free(s->ev_schedule);
    if (s->ev_backoff)
        event_free(s->ev_backoff);
    if (s->ev_step)
        event_free(s->ev_step);
    if (s->dns != NULL)
        evdns_base_free(s->dns, 0);
    if (s->ssl != NULL)
        SSL_CTX_free(s->ssl);
    drop_batch(s);
    free(s);
}

long sync_now(struct sync *s, struct err *e)
{
    if (s == NULL)
        return err_set(e, EX_UNAVAILABLE, "the sync client is not running");
    if (!configured(s))
        return err_set(e, EX_CONFIG,
                       "sync is not configured: [central] url is not set");
    if (s->state == ST_IDLE && !evtimer_pending(s->ev_step, NULL))
        start_round(s);
    return s->round;
}

static json_t *time_or_null(int64_t ms)
{
    char t[SITETIME_ISO_MAX];

    if (ms == 0)
        return json_null();
    sitetime_format_utc(ms, t);
    return json_string(t);
}

json_t *sync_status(struct sync *s, struct err *e)
{
    struct sync_cursor c;
    int64_t pending;
    json_t *j;

    if (s == NULL) {
        err_set(e, EX_UNAVAILABLE, "the sync client is not running");
        return NULL;
    }
    if (sync_cursor_get(s->env.store, &c, e) == -1 ||
        (pending = sync_pending(s->env.store, e)) == -1)
        return NULL;
    j = json_pack(
        "{s:b, s:s, s:s, s:i, s:{s:I, s:I, s:s, s:o}, s:I, s:o, s:o, s:o, "
        "s:o, s:i, s:I, s:{s:I, s:b, s:b, s:b, s:I, s:I, s:o}}",
        "configured", configured(s), "url", s->env.cfg->central.url, "state",
        state_names[s->state], "schedule_min", s->env.cfg->central.schedule,
        "cursor", "seq", (json_int_t)c.seq, "last_event",
        (json_int_t)c.last_event, "chain_hash", c.chain_hash, "acked",
        c.acked[0] ? json_string(c.acked) : json_null(), "pending",
        (json_int_t)pending, "last_success", time_or_null(s->last_success_ms),
        "last_error",
        s->last_error[0] ? json_string(s->last_error) : json_null(),
        "last_error_at",
        s->last_error[0] ? time_or_null(s->last_error_ms) : json_null(),
        "next_attempt", time_or_null(s->next_attempt_ms), "attempts",
        s->attempts, "round", (json_int_t)s->round, "last_round", "round",
        (json_int_t)s->done_round, "done",
        s->done_round == s->round && s->state == ST_IDLE &&
            !evtimer_pending(s->ev_step, NULL),
        "ok", s->round_ok, "refused", s->refused, "batches",
        (json_int_t)s->batches, "events", (json_int_t)s->events, "error",
        s->round_error[0] ? json_string(s->round_error) : json_null());
    if (j == NULL)
        err_set(e, EX_SOFTWARE, "sync: status");
    return j;
}

int64_t sync_last_success(const struct sync *s)
{
    return s != NULL ? s->last_success_ms : 0;
}
