/*
 * reply.h: examcentral's HTTP replies (evhttp): JSON, a JSON error, and
 * a text document (HTML, CSV) with its type.
 */
#ifndef EXAMSITE_CENTRAL_REPLY_H
#define EXAMSITE_CENTRAL_REPLY_H

#include <stddef.h>

#include <event2/http.h>
#include <jansson.h>

const char *reply_reason(int status);
void reply_json(struct evhttp_request *req, int status, json_t *j);
void reply_error(struct evhttp_request *req, int status, const char *msg);
/* text (len bytes) with Content-Type type; with filename, as a download
 * (Content-Disposition: attachment). */
void reply_text(struct evhttp_request *req, int status, const char *type,
                const char *text, size_t len, const char *filename);

#endif
