/*
 * idjson.c: card objects for the tools.  See idjson.h.
 */
#include <stdio.h>
#include <string.h>

#include "idjson.h"
#include "idnumber.h"

/* Length of the UTF-8 sequence that starts with byte c (1 for junk). */
static size_t idjson_cplen(unsigned char c)
{
    if (c >= 0xF0)
        return 4;
    if (c >= 0xE0)
        return 3;
    if (c >= 0xC0)
        return 2;
    return 1;
}

void idjson_mask(const char *id, char *out, size_t outlen)
{
    size_t n = strlen(id), cps = 0, i, k, o = 0;

    if (outlen == 0)
        return;
    for (i = 0; i < n && (unsigned char)id[i] < 0x80; i++)
        ;
    if (n == IDNUMBER_LEN && i == n && outlen > IDNUMBER_LEN) {
        idnumber_mask(id, out); /* 18 ASCII characters */
        return;
    }
    /* Other shapes (PR numbers, damaged cards): keep the last four
     * characters, counted as UTF-8 code points so the result stays
     * valid UTF-8. */
    for (i = 0; i < n; i += idjson_cplen((unsigned char)id[i]))
        cps++;
    for (i = 0, k = 0; i < n && o + 1 < outlen; k++) {
        size_t l = idjson_cplen((unsigned char)id[i]);
        if (l > n - i)
            l = n - i;
        if (k + 4 < cps) {
            out[o++] = '*';
        } else {
            if (o + l + 1 > outlen)
                break;
            memcpy(out + o, id + i, l);
            o += l;
        }
        i += l;
    }
    out[o] = '\0';
}

static int idjson_set(json_t *o, const char *key, const char *val)
{
    return json_object_set_new(o, key, json_string(val));
}

json_t *idjson_card(const struct idcard_info *c, int reveal)
{
    json_t *o = json_object();
    char masked[sizeof(c->id_number)];
    int bad = 0;

    if (o == NULL)
        return NULL;
    if (reveal)
        snprintf(masked, sizeof(masked), "%s", c->id_number);
    else
        idjson_mask(c->id_number, masked, sizeof(masked));
    bad |= idjson_set(o, "type", idtext_type_name(c->type));
    bad |= idjson_set(o, "name", c->name);
    bad |= idjson_set(o, "gender", c->gender);
    if (c->type == IDCARD_RESIDENT)
        bad |= idjson_set(o, "nation", c->nation);
    bad |= idjson_set(o, "birth", c->birth);
    if (c->type != IDCARD_FOREIGNER)
        bad |= idjson_set(o, "address", c->address);
    bad |= idjson_set(o, "id_number", masked);
    if (c->type != IDCARD_FOREIGNER)
        bad |= idjson_set(o, "authority", c->authority);
    bad |= idjson_set(o, "valid_from", c->valid_from);
    bad |= idjson_set(o, "valid_to", c->valid_to);
    bad |= idjson_set(o, "validity_period", idtext_period_name(c->period));
    if (c->type == IDCARD_FOREIGNER) {
        bad |= idjson_set(o, "name_en", c->name_en);
        bad |= idjson_set(o, "nationality", c->nation_code);
        bad |= idjson_set(o, "card_version", c->card_version);
        bad |= idjson_set(o, "office_code", c->office_code);
    }
    if (c->type == IDCARD_HKMOTW) {
        bad |= idjson_set(o, "pass_number", c->pass_number);
        bad |= idjson_set(o, "issue_count", c->issue_count);
    }
    bad |= json_object_set_new(o, "photo_bytes",
                               json_integer((json_int_t)c->photo_bytes));
    explicit_bzero(masked, sizeof(masked));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int idjson_get(const json_t *obj, const char *key, char *dst,
                      size_t size, int required, struct err *e)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        if (required)
            return err_set(e, EX_DATAERR, "card: no \"%s\"", key);
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return err_set(e, EX_DATAERR, "card: \"%s\" is not a string", key);
    if (json_string_length(v) >= size)
        return err_set(e, EX_DATAERR, "card: \"%s\" is too long", key);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int idjson_card_from_json(const json_t *o, struct idcard_info *c, struct err *e)
{
    char type[4];
    int common;

    memset(c, 0, sizeof(*c));
    if (!json_is_object(o))
        return err_set(e, EX_DATAERR, "card: not a JSON object");
    if (idjson_get(o, "type", type, sizeof(type), 0, e) == -1)
        return -1;
    if (type[0] == '\0' || strcmp(type, " ") == 0)
        c->type = IDCARD_RESIDENT;
    else if (strcmp(type, "I") == 0)
        c->type = IDCARD_FOREIGNER;
    else if (strcmp(type, "J") == 0)
        c->type = IDCARD_HKMOTW;
    else
        return err_set(e, EX_DATAERR, "card: unknown type \"%s\"", type);
    common =
        idjson_get(o, "name", c->name, sizeof(c->name),
                   c->type != IDCARD_FOREIGNER, e) |
        idjson_get(o, "gender_code", c->gender_code, sizeof(c->gender_code), 1,
                   e) |
        idjson_get(o, "birth", c->birth, sizeof(c->birth), 1, e) |
        idjson_get(o, "id_number", c->id_number, sizeof(c->id_number), 1, e) |
        idjson_get(o, "valid_from", c->valid_from, sizeof(c->valid_from), 1,
                   e) |
        idjson_get(o, "valid_to", c->valid_to, sizeof(c->valid_to), 1, e);
    if (common)
        return -1;
    switch (c->type) {
    case IDCARD_RESIDENT:
        return idjson_get(o, "nation_code", c->nation_code,
                          sizeof(c->nation_code), 1, e) |
               idjson_get(o, "address", c->address, sizeof(c->address), 1, e) |
               idjson_get(o, "authority", c->authority, sizeof(c->authority), 1,
                          e);
    case IDCARD_FOREIGNER:
        return idjson_get(o, "name_en", c->name_en, sizeof(c->name_en), 1, e) |
               idjson_get(o, "nationality", c->nation_code,
                          sizeof(c->nation_code), 1, e) |
               idjson_get(o, "card_version", c->card_version,
                          sizeof(c->card_version), 0, e) |
               idjson_get(o, "office_code", c->office_code,
                          sizeof(c->office_code), 0, e);
    case IDCARD_HKMOTW:
        return idjson_get(o, "address", c->address, sizeof(c->address), 1, e) |
               idjson_get(o, "authority", c->authority, sizeof(c->authority), 1,
                          e) |
               idjson_get(o, "pass_number", c->pass_number,
                          sizeof(c->pass_number), 0, e) |
               idjson_get(o, "issue_count", c->issue_count,
                          sizeof(c->issue_count), 0, e);
    }
    return -1;
}
