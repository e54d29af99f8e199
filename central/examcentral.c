/*
 * examcentral: the office's receiving end.  One libevent loop serving
 * HTTP or HTTPS (libevent_openssl):
 *
 *   POST /v1/batches                              a station's batch (ingest.c)
 *   GET  /v1/sites/SITE/stations/STATION/cursor   where a station stands
 *   GET  /healthz
 *   GET  /v1/reports/...                          the reports (api.c)
 *   GET  /, /exam, /biweekly                      the office's page (web.c)
 *
 * the station endpoints under the stations' HMAC keys, the reports and
 * the page under HTTP Basic against --users (auth.c); one timer making
 * the biweekly reports as their periods end (biweekly.c); and the
 * commands (commands.c).  docs/examcentral.8.
 */
#include <arpa/inet.h>
#include <sys/queue.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "batch.h"
#include "biweekly.h"
#include "commands.h"
#include "cstore.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "number.h"
#include "office.h"
#include "reply.h"
#include "sitetime.h"

static const char usage_text[] =
    "usage: examcentral --listen HOST:PORT --store sqlite:PATH|postgresql://… "
    "--keys FILE\n"
    "                   [--tls-cert FILE --tls-key FILE] [--max-body BYTES]\n"
    "                   [--max-inflated BYTES] [--max-ratio N] [--debug]\n"
    "                   [--users FILE] [--profile NAME|FILE] [--timezone "
    "ZONE]\n"
    "       examcentral --store STORE [--profile P] [--timezone Z] COMMAND\n"
    "commands:\n"
    "  report attendance --date YYYY-MM-DD [--csv|--json]\n"
    "  report exams [--csv|--json]\n"
    "  report pilots [--csv|--json]\n"
    "  report biweekly --period YYYY-MM-DD [--csv|--json]\n"
    "  report biweekly list\n"
    "  report biweekly generate --period YYYY-MM-DD\n"
    "  results import FILE [--session ID] [--encoding auto|utf-8|gb18030] "
    "[--dry-run]\n"
    "       examcentral profiles [NAME]\n"
    "       examcentral passwd --users FILE [--iterations N] NAME  "
    "(password on stdin)\n";

struct central {
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *ssl;
    struct cstore *store;
    struct keys *keys;
    const char *keys_path;
    struct batch_limits lim;
    struct event *ev_term, *ev_int, *ev_hup, *ev_biweekly;
    struct users *users;
    const char *users_path;
    struct profile profile;
    struct office office;
    int biweekly_soon; /* the timer moved up for a stored batch */
};

/* After a stored batch: seconds for a burst of batches to settle before
 * the biweekly reports it may complete are made. */
#define BIWEEKLY_SETTLE_SEC 5

static const char *hdr(struct evhttp_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

/* A stored batch may hold exams of periods already over (a new office,
 * a station late with its sync): make their reports soon.  The one timer
 * is moved up, not a second one added; biweekly_cb sets it back to the
 * next due instant. */
static void biweekly_soon(struct central *c)
{
    struct timeval tv = {BIWEEKLY_SETTLE_SEC, 0};

    if (c->ev_biweekly == NULL || c->biweekly_soon)
        return;
    c->biweekly_soon = 1;
    evtimer_add(c->ev_biweekly, &tv);
}

static void post_batch(struct central *c, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct ingest_request rq;
    size_t len = evbuffer_get_length(in);
    json_t *reply = NULL;
    const char *err;
    int status;

    memset(&rq, 0, sizeof(rq));
    rq.site = hdr(req, "X-Examsite-Site");
    rq.station = hdr(req, "X-Examsite-Station");
    rq.seq = hdr(req, "X-Examsite-Seq");
    rq.signature = hdr(req, "X-Examsite-Signature");
    rq.content_encoding = hdr(req, "Content-Encoding");
    rq.len = len;
    rq.body = len ? evbuffer_pullup(in, -1) : (const unsigned char *)"";
    status = ingest_batch(c->store, c->keys, &c->lim, &rq, &reply);
    err = json_string_value(json_object_get(reply, "error"));
    if (status == 200)
        log_info(
            "batch %.64s/%.64s %.20s: %s (%zu bytes)", rq.site ? rq.site : "?",
            rq.station ? rq.station : "?", rq.seq ? rq.seq : "?",
            json_is_true(json_object_get(reply, "stored")) ? "stored"
                                                           : "already stored",
            len);
    else
        log_warnx("batch %.64s/%.64s %.20s refused (%d): %s",
                  rq.site ? rq.site : "?", rq.station ? rq.station : "?",
                  rq.seq ? rq.seq : "?", status, err ? err : "?");
    if (status == 200 && json_is_true(json_object_get(reply, "stored")))
        biweekly_soon(c);
    reply_json(req, status, reply);
    json_decref(reply);
}

/* /v1/sites/SITE/stations/STATION/cursor */
static int cursor_path(const char *path, char *site, char *station)
{
    char s[BATCH_ID_MAX + 2], t[BATCH_ID_MAX + 2];
    int n = 0;

    if (sscanf(path, "/v1/sites/%65[^/]/stations/%65[^/]/cursor%n", s, t, &n) !=
            2 ||
        path[n] != '\0' || !batch_id_valid(s) || !batch_id_valid(t))
        return -1;
    memcpy(site, s, strlen(s) + 1);
    memcpy(station, t, strlen(t) + 1);
    return 0;
}

/* The reports and the page: a user of --users, by HTTP Basic. */
static int office_user(struct central *c, struct evhttp_request *req)
{
    const char *who = NULL;

    if (c->users == NULL) {
        reply_error(req, 403,
                    "the page and the reports are off: examcentral runs "
                    "without --users");
        return 0;
    }
    switch (
        users_check(c->users, hdr(req, "Authorization"), time(NULL), &who)) {
    case AUTH_OK:
        return 1;
    case AUTH_THROTTLED:
        log_warnx("refused a request for the page or a report unchecked: "
                  "too many wrong passwords in the last minute");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                          "2");
        reply_error(req, 429, "too many wrong passwords: try again shortly");
        return 0;
    case AUTH_DENIED:
        break;
    }
    if (hdr(req, "Authorization") != NULL)
        log_warnx("refused a request for the page or a report: wrong user "
                  "or password");
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "WWW-Authenticate",
                      "Basic realm=\"examcentral\", charset=\"UTF-8\"");
    reply_error(req, 401, "log in as an office user");
    return 0;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct central *c = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char site[BATCH_ID_MAX + 1], station[BATCH_ID_MAX + 1];
    json_t *reply = NULL;
    int status;

    if (path == NULL) {
        reply_error(req, 400, "bad request line");
        return;
    }
    if (strcmp(path, "/v1/batches") == 0) {
        if (cmd != EVHTTP_REQ_POST)
            reply_error(req, 405, "POST a batch here");
        else
            post_batch(c, req);
        return;
    }
    if (cmd != EVHTTP_REQ_GET) {
        reply_error(req, 405, "only GET here");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        reply = json_pack("{s:b, s:s}", "ok", 1, "store", c->store->ops->name);
        reply_json(req, 200, reply);
    } else if (cursor_path(path, site, station) == 0) {
        status = ingest_cursor(c->store, c->keys, site, station, &reply);
        reply_json(req, status, reply);
    } else if (strcmp(path, "/office.css") == 0) {
        /* the stylesheet holds nothing of the office's */
        office_page(&c->office, req, path, NULL);
    } else if (strncmp(path, "/v1/", 4) != 0 && strcmp(path, "/") != 0 &&
               strcmp(path, "/exam") != 0 && strcmp(path, "/biweekly") != 0) {
        reply_error(req, 404, "no such resource");
    } else if (!office_user(c, req)) {
        ;
    } else if (!office_api(&c->office, req, path, evhttp_uri_get_query(uri)) &&
               !office_page(&c->office, req, path, evhttp_uri_get_query(uri))) {
        reply_error(req, 404, "no such resource");
    }
    json_decref(reply);
}

static struct bufferevent *tls_bev_cb(struct event_base *base, void *arg)
{
    struct central *c = arg;
    SSL *ssl = SSL_new(c->ssl);

    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static int tls_setup(struct central *c, const char *cert, const char *key,
                     struct err *e)
{
    if ((c->ssl = SSL_CTX_new(TLS_server_method())) == NULL ||
        !SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION))
        return err_set(e, EX_SOFTWARE, "TLS: cannot set up");
    if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1)
        return err_set(e, EX_CONFIG, "--tls-cert %s: %s", cert,
                       ERR_reason_error_string(ERR_get_error()));
    if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c->ssl) != 1)
        return err_set(e, EX_CONFIG, "--tls-key %s: %s", key,
                       ERR_reason_error_string(ERR_get_error()));
    evhttp_set_bevcb(c->http, tls_bev_cb, c);
    return 0;
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct central *c = arg;

    (void)what;
    log_info("signal %d: stopping", (int)sig);
    event_base_loopexit(c->base, NULL);
}

/* SIGHUP: the keys file again; the new one replaces the old only if it
 * loads. */
static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct central *c = arg;
    struct keys *k;
    struct err e;

    (void)sig;
    (void)what;
    if ((k = keys_load(c->keys_path, &e)) == NULL) {
        log_warnx("reload refused, keeping the keys: %s", e.msg);
        return;
    }
    keys_free(c->keys);
    c->keys = k;
    log_info("keys reloaded: %zu stations", keys_count(k));
    if (c->users_path != NULL) {
        struct users *u = users_load(c->users_path, &e);
        if (u == NULL) {
            log_warnx("reload refused, keeping the users: %s", e.msg);
            return;
        }
        users_free(c->users);
        c->users = u;
        log_info("users reloaded: %zu", users_count(u));
    }
}

/* Make the biweekly reports due, then sleep until the next is. */
static void biweekly_cb(evutil_socket_t fd, short what, void *arg)
{
    struct central *c = arg;
    char today[11];
    struct timeval tv = {0, 0};
    struct err e;
    time_t now = time(NULL), next;
    int n;

    (void)fd;
    (void)what;
    c->biweekly_soon = 0;
    sitetime_today(today);
    if ((n = biweekly_catch_up(c->store, &c->profile, today, &e)) == -1)
        log_warnx("biweekly report: %s (retrying in an hour)", e.msg);
    else if (n > 0)
        log_info("biweekly: %d report%s generated", n, n == 1 ? "" : "s");
    next = n == -1 ? now + 3600 : biweekly_next_due(&c->profile, now);
    tv.tv_sec = next > now ? next - now : 1;
    evtimer_add(c->ev_biweekly, &tv);
    log_debug("biweekly: next at %lld", (long long)next);
}

/* Out of file descriptors (a flood of connections held open, each
 * until the 60 s timeout): the listening socket stays readable, and
 * accepting again at once would spin the loop that serves the open
 * connections.  Stop accepting for a second instead; said once a pause. */
#define ACCEPT_PAUSE_MS 1000

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evconnlistener_enable(arg);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();

    (void)arg;
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
        log_warnx("accept: %s", evutil_socket_error_to_string(err));
        return;
    }
    log_warnx("accept: %s: not accepting for %d ms",
              evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS);
    if (evconnlistener_disable(l) == 0 &&
        event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT,
                        accept_resume_cb, l, &tv) == -1)
        evconnlistener_enable(l);
}

static int listen_on(struct central *c, const char *spec, int tls,
                     struct err *e)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    struct evhttp_bound_socket *bs;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    long long port;
    int len;

    if (colon == NULL || colon == spec ||
        (len = (int)(colon - spec)) >= (int)sizeof(host))
        return err_set(e, EX_USAGE, "--listen must be HOST:PORT");
    if (number_parse(colon + 1, 0, 65535, &port) == -1)
        return err_set(e, EX_USAGE, "--listen: bad port '%s'", colon + 1);
    if (spec[0] == '[' && colon[-1] == ']')
        snprintf(host, sizeof(host), "%.*s", len - 2, spec + 1);
    else
        snprintf(host, sizeof(host), "%.*s", len, spec);
    if ((bs = evhttp_bind_socket_with_handle(c->http, host,
                                             (ev_uint16_t)port)) == NULL)
        return err_errno(e, EX_UNAVAILABLE, "cannot listen on %s", spec);
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bs),
                                accept_error_cb);
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                    &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6
                         ? ((struct sockaddr_in6 *)&ss)->sin6_port
                         : ((struct sockaddr_in *)&ss)->sin_port);
    log_info("listening on %s://%s:%lld", tls ? "https" : "http", host, port);
    return 0;
}

static size_t parse_size(const char *s, const char *what)
{
    long long v;

    if (number_parse(s, 1, LLONG_MAX, &v) == -1) {
        log_warnx("%s must be a positive number", what);
        exit(EX_USAGE);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'k'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"max-body", required_argument, NULL, 'b'},
        {"max-inflated", required_argument, NULL, 'i'},
        {"max-ratio", required_argument, NULL, 'r'},
        {"users", required_argument, NULL, 'u'},
        {"profile", required_argument, NULL, 'P'},
        {"timezone", required_argument, NULL, 'z'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = NULL, *store = NULL, *cert = NULL, *key = NULL;
    const char *profile = "default", *zone = SITETIME_DEFAULT_ZONE;
    static struct central c;
    int ch, rc = 0, debug = 0;
    struct err e;

    batch_limits_default(&c.lim);
    while ((ch = getopt_long(argc, argv, "+l:s:k:C:K:b:i:r:u:P:z:dh", opts,
                             NULL)) != -1) {
        switch (ch) {
        case 'l':
            listen = optarg;
            break;
        case 's':
            store = optarg;
            break;
        case 'k':
            c.keys_path = optarg;
            break;
        case 'C':
            cert = optarg;
            break;
        case 'K':
            key = optarg;
            break;
        case 'b':
            c.lim.max_body = parse_size(optarg, "--max-body");
            break;
        case 'i':
            c.lim.max_inflated = parse_size(optarg, "--max-inflated");
            break;
        case 'r':
            c.lim.max_ratio = (unsigned)parse_size(optarg, "--max-ratio");
            break;
        case 'u':
            c.users_path = optarg;
            break;
        case 'P':
            profile = optarg;
            break;
        case 'z':
            zone = optarg;
            break;
        case 'd':
            debug = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return EX_USAGE;
        }
    }
    log_init("examcentral", 1, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    if (optind < argc && strcmp(argv[optind], "profiles") == 0)
        return cmd_profiles(argc - optind, argv + optind);
    if (optind < argc && strcmp(argv[optind], "passwd") == 0)
        return cmd_passwd(argc - optind, argv + optind);
    if (store == NULL) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    if (sitetime_set_zone(zone, &e) == -1 ||
        profile_pick(profile, &c.profile, &e) == -1) {
        log_warnx("%s", e.msg);
        return e.code ? e.code : EX_USAGE;
    }
    if (optind < argc) {
        if (strcmp(argv[optind], "report") != 0 &&
            strcmp(argv[optind], "results") != 0) {
            fputs(usage_text, stderr);
            return EX_USAGE;
        }
        if ((c.store = cstore_open(store, &e)) == NULL) {
            log_warnx("%s", e.msg);
            return e.code;
        }
        rc = argv[optind][1] == 'e' && argv[optind][2] == 'p'
                 ? cmd_report(c.store, &c.profile, argc - optind, argv + optind)
                 : cmd_results(c.store, argc - optind, argv + optind);
        cstore_close(c.store);
        return rc;
    }
    if (listen == NULL || c.keys_path == NULL || (!cert != !key)) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((c.keys = keys_load(c.keys_path, &e)) == NULL ||
        (c.users_path != NULL &&
         (c.users = users_load(c.users_path, &e)) == NULL) ||
        (c.store = cstore_open(store, &e)) == NULL) {
        log_warnx("%s", e.msg);
        rc = e.code ? e.code : EX_SOFTWARE;
        goto out;
    }
    if ((c.base = event_base_new()) == NULL ||
        (c.http = evhttp_new(c.base)) == NULL) {
        log_warnx("cannot set up the event loop");
        rc = EX_OSERR;
        goto out;
    }
    evhttp_set_allowed_methods(c.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    /* libevent answers 413 itself past the compressed-size limit */
    evhttp_set_max_body_size(c.http, (ev_ssize_t)c.lim.max_body);
    evhttp_set_max_headers_size(c.http, 16384);
    evhttp_set_timeout(c.http, 60);
    evhttp_set_gencb(c.http, request_cb, &c);
    if ((cert && tls_setup(&c, cert, key, &e) == -1) ||
        listen_on(&c, listen, cert != NULL, &e) == -1) {
        log_warnx("%s", e.msg);
        rc = e.code ? e.code : EX_SOFTWARE;
        goto out;
    }
    c.ev_term = evsignal_new(c.base, SIGTERM, stop_cb, &c);
    c.ev_int = evsignal_new(c.base, SIGINT, stop_cb, &c);
    c.ev_hup = evsignal_new(c.base, SIGHUP, hup_cb, &c);
    if (!c.ev_term || !c.ev_int || !c.ev_hup || evsignal_add(c.ev_term, NULL) ||
        evsignal_add(c.ev_int, NULL) || evsignal_add(c.ev_hup, NULL)) {
        log_warnx("signals");
        rc = EX_OSERR;
        goto out;
    }
    c.office.store = c.store;
    c.office.profile = &c.profile;
    if ((c.ev_biweekly = evtimer_new(c.base, biweekly_cb, &c)) == NULL) {
        log_warnx("timer");
        rc = EX_OSERR;
        goto out;
    }
    biweekly_cb(-1, 0, &c); /* catch up on what fell due while down */
    if (c.users == NULL)
        log_info("no --users: serving the station API only, not the page "
                 "or the reports");
    log_info("ready: store %s, %zu stations, %zu office users, profile %s",
             c.store->ops->name, keys_count(c.keys),
             c.users ? users_count(c.users) : (size_t)0, c.profile.name);
    event_base_dispatch(c.base);
out:
    if (c.ev_biweekly)
        event_free(c.ev_biweekly);
    if (c.ev_hup)
        event_free(c.ev_hup);
    if (c.ev_int)
        event_free(c.ev_int);
    if (c.ev_term)
        event_free(c.ev_term);
    if (c.http)
        evhttp_free(c.http);
    if (c.ssl)
        SSL_CTX_free(c.ssl);
    if (c.base)
        event_base_free(c.base);
    cstore_close(c.store);
    keys_free(c.keys);
    users_free(c.users);
    return rc;
}
