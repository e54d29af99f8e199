/*
 * office.h: what the office's HTTP side shares: the store, the rule
 * profile, and the parsed query of a request (validated: only the
 * parameters a resource takes, each of a bounded, checked shape).
 */
#ifndef EXAMSITE_CENTRAL_OFFICE_H
#define EXAMSITE_CENTRAL_OFFICE_H

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "profile.h"

struct cstore;

struct office {
    struct cstore *store;
    const struct profile *profile;
};

struct office_query {
    const char *site, *session, *date, *period, *format; /* or NULL */
    struct evkeyvalq kv;
};

/* Parse query into q allowing only the names in allowed (a string of
 * letters: s site, e session, d date, p period, f format).  0, or -1 with
 * why (static text).  office_query_free() after either. */
int office_query_parse(const char *query, const char *allowed,
                       struct office_query *q, const char **why);
void office_query_free(struct office_query *q);

/* The reports API (GET /v1/reports/...): 1 handled, 0 not one. */
int office_api(struct office *o, struct evhttp_request *req, const char *path,
               const char *query);

/* The page (GET /, /exam, /biweekly, /office.css): 1 handled, 0 not. */
int office_page(struct office *o, struct evhttp_request *req, const char *path,
                const char *query);

/* Biweekly reports missed since a date, for report_pilots (arg: the
 * office). */
int office_missed(void *arg, const char *since);

#endif
