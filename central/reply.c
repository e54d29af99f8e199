/*
 * reply.c: examcentral's HTTP replies (reply.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "reply.h"

const char *reply_reason(int status)
{
    return status == 200   ? "OK"
           : status == 400 ? "Bad Request"
           : status == 401 ? "Unauthorized"
           : status == 403 ? "Forbidden"
           : status == 404 ? "Not Found"
           : status == 405 ? "Method Not Allowed"
           : status == 409 ? "Conflict"
           : status == 413 ? "Payload Too Large"
           : status == 429 ? "Too Many Requests"
           : status == 503 ? "Service Unavailable"
                           : "Error";
}

void reply_text(struct evhttp_request *req, int status, const char *type,
                const char *text, size_t len, const char *filename)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();
    char disp[128];

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (filename != NULL) {
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
        evhttp_add_header(h, "Content-Disposition", disp);
    }
    if (out != NULL && text != NULL)
        evbuffer_add(out, text, len);
    evhttp_send_reply(req, status, reply_reason(status), out);
    if (out != NULL)
        evbuffer_free(out);
}

void reply_json(struct evhttp_request *req, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    size_t n = text ? strlen(text) : 0;

    if (text != NULL) {
        char *t = realloc(text, n + 2);
        if (t != NULL) {
            text = t;
            text[n++] = '\n';
            text[n] = '\0';
        }
    }
    reply_text(req, status, "application/json", text, n, NULL);
    free(text);
}

void reply_error(struct evhttp_request *req, int status, const char *msg)
{
    json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", msg);

    reply_json(req, status, j);
    json_decref(j);
}
