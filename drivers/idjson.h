/*
 * idjson.h: struct idcard_info <-> JSON (jansson), shared by
 * `examctl idcard decode`, `examctl device listen` and examsim's card
 * files.  The ID number is masked unless the caller asks otherwise.
 */
#ifndef EXAMSITE_IDJSON_H
#define EXAMSITE_IDJSON_H

#include <jansson.h>

#include "err.h"
#include "idtext.h"

/*
 * The card object of docs/examctl.1 (idcard decode): name, gender, nation,
 * birth, address, id_number, authority, valid_from, valid_to, photo_bytes,
 * plus "type" ("resident", "foreigner", "hkmotw"), "validity_period" ("ok",
 * "bad_date", "reversed": idtext_period_name()) and the fields only I / J
 * cards have (name_en, nationality, pass_number, ...).  id_number is masked
 * (first 6 and last 4 kept for 18 characters, else all but the last 4)
 * unless reveal.  New reference, or NULL on allocation failure.
 */
json_t *idjson_card(const struct idcard_info *info, int reveal);

/* Mask an ID number as idjson_card() does; out holds strlen(id) + 1.
 * An 18-character number keeps its first 6 and last 4; anything else
 * keeps its last 4 characters (UTF-8 code points). */
void idjson_mask(const char *id, char *out, size_t outlen);

/*
 * Fill *info from a card file object: name, gender_code, nation_code,
 * birth, address, id_number, authority, valid_from, valid_to and the
 * optional "type" ("I" or "J", or absent for a resident card) with the
 * fields of that layout (name_en, nationality, card_version, office_code;
 * pass_number, issue_count).  0, or -1 with e (EX_DATAERR) naming the
 * missing or oversized field.
 */
int idjson_card_from_json(const json_t *obj, struct idcard_info *info,
                          struct err *e);

#endif
