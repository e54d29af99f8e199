/*
 * exams.h: the office's model of every exam (a session at a site),
 * rebuilt from the stored events and results each time it is asked for,
 * so no report can drift from the record.  Merged across a site's
 * stations: a candidate seen by two stations counts once.
 *
 * The model is a JSON object keyed "SITE\x1fSESSION" (EXAMS_SEP), each
 *   {"site","session","certificate","level","date","published" (integer
 *    or absent),"organisation" (when the session names one),
 *    "rooms": {ROOM: {"present":{T:true},"absent":{T:true},
 *                     "late":{T:true},"denied":N,"incidents":{KIND:N}}},
 *    "present":{T:true}, "absent":{T:true}  (the session's, all rooms),
 *    "incident_list":[{"room","ticket","kind","seat","note"}],
 *    "results":{T:true|false}              (passed, once imported)}
 * A session with no check-in, absence or incident has no rooms.
 */
#ifndef EXAMSITE_CENTRAL_EXAMS_H
#define EXAMSITE_CENTRAL_EXAMS_H

#include <jansson.h>

#include "err.h"

struct cstore;

#define EXAMS_SEP "\x1f"

/* The model (caller frees), or NULL with e. */
json_t *exams_load(struct cstore *st, struct err *e);

/* The keys of o, sorted (borrowed strings; caller frees the array). */
const char **exams_sorted_keys(json_t *o, size_t *n);

/* o[name], created as an empty object when missing (borrowed). */
json_t *exams_obj(json_t *o, const char *name);

/* Tickets in absent and never in present. */
json_int_t exams_absent_count(json_t *absent, json_t *present);

/* An incident kind's name in Chinese: V1..V9 违纪, C1..C9 作弊, late
 * 迟到, ...; the kind itself when unknown. */
const char *exams_incident_zh(const char *kind);

#endif
