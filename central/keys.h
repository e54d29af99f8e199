/*
 * keys.h: the stations' keys (examcentral --keys FILE): one
 * "SITE/STATION hexkey" per line, '#' comments and blank lines allowed.
 * Each station has its own key, so one stolen box is revoked alone (its
 * line removed, examcentral sent SIGHUP).
 */
#ifndef EXAMSITE_CENTRAL_KEYS_H
#define EXAMSITE_CENTRAL_KEYS_H

#include <stddef.h>

#include "batch.h"
#include "err.h"

struct keys;

/* Load path (refused when group or others may read it).  NULL with e,
 * naming FILE:LINE for a bad line. */
struct keys *keys_load(const char *path, struct err *e);
void keys_free(struct keys *k); /* wipes the keys; accepts NULL */

/* The key of site/station: its length, 0 when unknown. */
size_t keys_find(const struct keys *k, const char *site, const char *station,
                 const unsigned char **key);

size_t keys_count(const struct keys *k);

#endif
