/*
 * idtext.h: the 256-byte text block of an ID card (UCS-2LE, space padded)
 * turned into UTF-8 fields, and back (for the simulator and the tests).
 *
 * Three layouts exist, told apart by the UCS-2 character at bytes 248..249
 * (docs/idcard-protocol.md §3): ' ' resident ID card, 'I' foreigner
 * permanent residence card (2017), 'J' Hong Kong/Macau/Taiwan residence
 * permit.  Any other marker (e.g. 'Y', the 2023 foreigner card, whose
 * layout is not public) is refused with a reason, never read as a resident
 * card.
 *
 * Privacy: struct idcard_info holds the ID number in clear.  Drivers never
 * log it; the caller hashes it and then wipes the struct with
 * idcard_info_wipe().
 */
#ifndef EXAMSITE_IDTEXT_H
#define EXAMSITE_IDTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IDTEXT_LEN       256
#define IDTEXT_PHOTO_LEN 1024

enum idcard_type {
    IDCARD_RESIDENT = 0, /* marker ' ' */
    IDCARD_FOREIGNER,    /* marker 'I' */
    IDCARD_HKMOTW,       /* marker 'J' */
};

/*
 * What idtext_decode() found of the validity period (valid_from ..
 * valid_to).  A card whose period is not IDCARD_PERIOD_OK is still read
 * (the chip said so), but its dates cannot be trusted: the caller should
 * not accept it without a person looking at it.  The zero value means
 * "never checked", so a struct not filled by the decoder is never OK.
 */
enum idcard_period {
    IDCARD_PERIOD_UNCHECKED = 0,
    IDCARD_PERIOD_OK,       /* real dates (the end may be 长期), in order */
    IDCARD_PERIOD_BAD_DATE, /* a date that does not exist: 20230230,
                             * 00000000, a year outside 2000..2200 */
    IDCARD_PERIOD_REVERSED, /* valid_from after valid_to */
};

/*
 * The decoded fields, all NUL-terminated UTF-8 with the padding removed.
 * Sizes hold the widest field (3 UTF-8 bytes per UCS-2 unit).  Fields a
 * layout does not have are empty.
 */
struct idcard_info {
    enum idcard_type type;
    char name[96];        /* Chinese name (I: Chinese name, may be empty) */
    char name_en[184];    /* I: English name */
    char gender_code[4];  /* "1" */
    char gender[16];      /* "男" / "女" / "未知" / "未说明" */
    char nation_code[12]; /* resident: "01"; I: nationality "CAN" */
    char nation[40];      /* resident: "汉"; empty for I and J */
    char birth[9];        /* YYYYMMDD */
    char address[216];
    char id_number[56]; /* resident/J: 18 chars; I: PR number */
    char authority[96];
    char valid_from[9];        /* YYYYMMDD */
    char valid_to[16];         /* YYYYMMDD or "长期" */
    enum idcard_period period; /* whether those two make sense */
    char pass_number[56];      /* J: permit (pass) number */
    char issue_count[16];      /* J: times issued */
    char card_version[16];     /* I */
    char office_code[32];      /* I: issuing office */
    size_t photo_bytes;        /* size of the photo block in the frame */
};

/*
 * Decode a text block into *info (which is cleared first).  Returns 0, or
 * -1 with a reason in e (EX_DATAERR): not valid UCS-2, an unsupported card
 * type marker, no name (resident and J cards: the Chinese name; I cards:
 * the English name), or a field that fails its shape check (dates must be
 * 8 digits, the end of validity 8 digits or 长期, the gender one digit).
 * Dates of the right shape that are not real, or a period that ends
 * before it starts, do not fail the read: info->period says so.
 * photo_bytes is left 0.
 */
int idtext_decode(const uint8_t text[IDTEXT_LEN], struct idcard_info *info,
                  struct err *e);

/*
 * Encode *info into a text block, the inverse of idtext_decode (the fields
 * of info->type's layout are used; gender_code and nation_code, not the
 * names).  Returns 0, or -1 with the field that does not fit or is not
 * valid UTF-8 in e.
 */
int idtext_encode(const struct idcard_info *info, uint8_t text[IDTEXT_LEN],
                  struct err *e);

/*
 * Decode the body of a read response (the frame bytes after LEN without
 * CHK: SW1 SW2 SW3, then the block lengths and blocks).  with_fp: 0 for a
 * 30 01 answer (text, photo lengths), 1 for 30 10 (text, photo,
 * fingerprint).  Checks SW3 is 90 and that the lengths add up exactly,
 * then idtext_decode()s the text and sets photo_bytes.  0 or -1 with e.
 */
int idtext_from_response(const uint8_t *body, size_t body_len, int with_fp,
                         struct idcard_info *info, struct err *e);

/* "男" for "1", ...; NULL for an unknown code. */
const char *idtext_gender_name(const char *code);

/* "汉" for "01", ...; NULL for an unknown code. */
const char *idtext_nation_name(const char *code);

/* "resident", "foreigner", "hkmotw". */
const char *idtext_type_name(enum idcard_type t);

/* "ok", "bad_date", "reversed", "unchecked". */
const char *idtext_period_name(enum idcard_period p);

/* 1 if s is YYYYMMDD and a date that exists in 2000..2200 (the range of
 * sitetime_parse_date, which it uses), else 0. */
int idtext_date_valid(const char *s);

/* Overwrite *info with zeros in a way the compiler keeps.  Accepts NULL. */
void idcard_info_wipe(struct idcard_info *info);

#endif
