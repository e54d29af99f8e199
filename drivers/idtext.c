/*
 * idtext.c: ID-card text block layouts, UCS-2LE <-> UTF-8 through iconv,
 * and the gender and nation code tables.  See idtext.h.
 */
#include <errno.h>
#include <iconv.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "idtext.h"
#include "sitetime.h"

#define IDTEXT_MARKER_OFF 248

struct idtext_field {
    const char *label; /* for error messages */
    size_t off, len;   /* bytes in the text block */
    size_t member;     /* offsetof(struct idcard_info, ...) */
    size_t size;       /* sizeof that member */
};

#define F(label, off, len, m)                                                  \
    {                                                                          \
        label, off, len, offsetof(struct idcard_info, m),                      \
            sizeof(((struct idcard_info *)0)->m)                               \
    }

static const struct idtext_field idtext_resident[] = {
    F("name", 0, 30, name),
    F("gender", 30, 2, gender_code),
    F("nation", 32, 4, nation_code),
    F("birth", 36, 16, birth),
    F("address", 52, 70, address),
    F("ID number", 122, 36, id_number),
    F("authority", 158, 30, authority),
    F("valid from", 188, 16, valid_from),
    F("valid to", 204, 16, valid_to),
    {NULL, 0, 0, 0, 0},
};

static const struct idtext_field idtext_foreigner[] = {
    F("English name", 0, 120, name_en),
    F("gender", 120, 2, gender_code),
    F("permanent residence number", 122, 30, id_number),
    F("nationality", 152, 6, nation_code),
    F("name", 158, 30, name),
    F("valid from", 188, 16, valid_from),
    F("valid to", 204, 16, valid_to),
    F("birth", 220, 16, birth),
    F("card version", 236, 4, card_version),
    F("issuing office", 240, 8, office_code),
    {NULL, 0, 0, 0, 0},
};

static const struct idtext_field idtext_hkmotw[] = {
    F("name", 0, 30, name),
    F("gender", 30, 2, gender_code),
    F("birth", 36, 16, birth),
    F("address", 52, 70, address),
    F("ID number", 122, 36, id_number),
    F("authority", 158, 30, authority),
    F("valid from", 188, 16, valid_from),
    F("valid to", 204, 16, valid_to),
    F("pass number", 220, 18, pass_number),
    F("issue count", 238, 4, issue_count),
    {NULL, 0, 0, 0, 0},
};

#undef F

static const char *const idtext_nations[] = {
    NULL,   "汉",       "蒙古",   "回",     "藏",   "维吾尔", "苗",
    "彝",   "壮",       "布依",   "朝鲜",   "满",   "侗",     "瑶",
    "白",   "土家",     "哈尼",   "哈萨克", "傣",   "黎",     "傈僳",
    "佤",   "畲",       "高山",   "拉祜",   "水",   "东乡",   "纳西",
    "景颇", "柯尔克孜", "土",     "达斡尔", "仫佬", "羌",     "布朗",
    "撒拉", "毛南",     "仡佬",   "锡伯",   "阿昌", "普米",   "塔吉克",
    "怒",   "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安",   "裕固",
    "京",   "塔塔尔",   "独龙",   "鄂伦春", "赫哲", "门巴",   "珞巴",
    "基诺",
};

static const struct idtext_field *idtext_layout(enum idcard_type t)
{
    switch (t) {
    case IDCARD_RESIDENT:
        return idtext_resident;
    case IDCARD_FOREIGNER:
        return idtext_foreigner;
    case IDCARD_HKMOTW:
        return idtext_hkmotw;
    }
    return NULL;
}

const char *idtext_type_name(enum idcard_type t)
{
    switch (t) {
    case IDCARD_RESIDENT:
        return "resident";
    case IDCARD_FOREIGNER:
        return "foreigner";
    case IDCARD_HKMOTW:
        return "hkmotw";
    }
    return "unknown";
}

const char *idtext_period_name(enum idcard_period p)
{
    switch (p) {
    case IDCARD_PERIOD_UNCHECKED:
        break;
    case IDCARD_PERIOD_OK:
        return "ok";
    case IDCARD_PERIOD_BAD_DATE:
        return "bad_date";
    case IDCARD_PERIOD_REVERSED:
        return "reversed";
    }
    return "unchecked";
}

const char *idtext_gender_name(const char *code)
{
    if (code[0] == '\0' || code[1] != '\0')
        return NULL;
    switch (code[0]) {
    case '0':
        return "未知";
    case '1':
        return "男";
    case '2':
        return "女";
    case '9':
        return "未说明";
    }
    return NULL;
}

const char *idtext_nation_name(const char *code)
{
    int n;

    if (code[0] < '0' || code[0] > '9' || code[1] < '0' || code[1] > '9' ||
        code[2] != '\0')
        return NULL;
    n = (code[0] - '0') * 10 + (code[1] - '0');
    if (n == 97)
        return "其他";
    if (n == 98)
        return "外国血统中国籍人士";
    if (n >= 1 && n < (int)(sizeof(idtext_nations) / sizeof(idtext_nations[0])))
        return idtext_nations[n];
    return NULL;
}

void idcard_info_wipe(struct idcard_info *info)
{
    if (info == NULL)
        return;
    explicit_bzero(info, sizeof(*info));
}

/* Convert one field; the padding (trailing U+0020 and U+0000) is dropped
 * first.  Control characters inside a field are refused. */
static int idtext_field_decode(iconv_t cd, const uint8_t *text,
                               const struct idtext_field *f,
                               struct idcard_info *info, struct err *e)
{
    char *dst = (char *)info + f->member;
    size_t units = f->len / 2, i;
    char *inp, *outp;
    size_t inleft, outleft;

    while (units > 0) {
        unsigned u = text[f->off + 2 * (units - 1)] |
                     (unsigned)text[f->off + 2 * (units - 1) + 1] << 8;
        if (u != 0x0020 && u != 0x0000)
            break;
        units--;
    }
    for (i = 0; i < units; i++) {
        unsigned u = text[f->off + 2 * i] | (unsigned)text[f->off + 2 * i + 1]
                                                << 8;
        if (u < 0x20 || u == 0x7F)
            return err_set(e, EX_DATAERR,
                           "card text: control character in the %s field",
                           f->label);
    }
    inp = (char *)(uintptr_t)(text + f->off);
    inleft = units * 2;
    outp = dst;
    outleft = f->size - 1;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1)
        return err_set(
            e, EX_DATAERR, "card text: the %s field is not %s", f->label,
            errno == E2BIG ? "of a plausible length" : "valid UCS-2");
    *outp = '\0';
    return 0;
}

static int idtext_all_digits(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int idtext_date_valid(const char *s)
{
    char iso[11];
    int y, m, d;

    if (!idtext_all_digits(s, 8))
        return 0;
    /* The project's one strict date check speaks YYYY-MM-DD. */
    snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    return sitetime_parse_date(iso, &y, &m, &d) == 0;
}

/* The fields have their shape; are they a period?  YYYYMMDD compare as
 * strings; 长期 ends after every date. */
static enum idcard_period idtext_period(const struct idcard_info *info)
{
    int forever = strcmp(info->valid_to, "长期") == 0;

    if (!idtext_date_valid(info->valid_from) ||
        (!forever && !idtext_date_valid(info->valid_to)))
        return IDCARD_PERIOD_BAD_DATE;
    if (!forever && strcmp(info->valid_from, info->valid_to) > 0)
        return IDCARD_PERIOD_REVERSED;
    return IDCARD_PERIOD_OK;
}

/* Shape checks shared by the layouts, then the code names. */
static int idtext_check(struct idcard_info *info, struct err *e)
{
    const char *g;

    /* A blank name is a bad read (or a blank chip), not a person. */
    if (info->type == IDCARD_FOREIGNER ? info->name_en[0] == '\0'
                                       : info->name[0] == '\0')
        return err_set(e, EX_DATAERR, "card text: no name");
    if (info->id_number[0] == '\0')
        return err_set(e, EX_DATAERR, "card text: no ID number");
    if (!idtext_all_digits(info->birth, 8))
        return err_set(e, EX_DATAERR, "card text: birth date is not YYYYMMDD");
    if (!idtext_all_digits(info->valid_from, 8))
        return err_set(e, EX_DATAERR,
                       "card text: validity start is not YYYYMMDD");
    if (!idtext_all_digits(info->valid_to, 8) &&
        strcmp(info->valid_to, "长期") != 0)
        return err_set(e, EX_DATAERR,
                       "card text: validity end is neither YYYYMMDD nor 长期");
    info->period = idtext_period(info);
    if ((g = idtext_gender_name(info->gender_code)) == NULL)
        return err_set(e, EX_DATAERR, "card text: unknown gender code");
    snprintf(info->gender, sizeof(info->gender), "%s", g);
    if (info->type == IDCARD_RESIDENT) {
        const char *n = idtext_nation_name(info->nation_code);
        if (n == NULL)
            return err_set(e, EX_DATAERR, "card text: unknown nation code");
        snprintf(info->nation, sizeof(info->nation), "%s", n);
    }
    return 0;
}

static int idtext_marker(const uint8_t *text, enum idcard_type *t,
                         struct err *e)
{
    unsigned u = text[IDTEXT_MARKER_OFF] | (unsigned)text[IDTEXT_MARKER_OFF + 1]
                                               << 8;

    switch (u) {
    case ' ':
        *t = IDCARD_RESIDENT;
        return 0;
    case 'I':
        *t = IDCARD_FOREIGNER;
        return 0;
    case 'J':
        *t = IDCARD_HKMOTW;
        return 0;
    case 'Y':
        return err_set(e, EX_DATAERR,
                       "card type 'Y' (2023 foreigner permanent residence "
                       "card) is not supported: its layout is not public");
    }
    if (u > 0x20 && u < 0x7F)
        return err_set(e, EX_DATAERR, "unknown card type '%c'", (char)u);
    return err_set(e, EX_DATAERR, "unknown card type marker U+%04X", u);
}

int idtext_decode(const uint8_t text[IDTEXT_LEN], struct idcard_info *info,
                  struct err *e)
{
    const struct idtext_field *f;
    iconv_t cd;
    int rc = -1;

    memset(info, 0, sizeof(*info));
    if (idtext_marker(text, &info->type, e) == -1)
        return -1;
    if ((cd = iconv_open("UTF-8", "UCS-2LE")) == (iconv_t)-1)
        return err_errno(e, EX_SOFTWARE, "iconv UCS-2LE to UTF-8");
    for (f = idtext_layout(info->type); f->label != NULL; f++)
        if (idtext_field_decode(cd, text, f, info, e) == -1)
            goto out;
    rc = idtext_check(info, e);
out:
    iconv_close(cd);
    if (rc == -1)
        idcard_info_wipe(info);
    return rc;
}

static int idtext_field_encode(iconv_t cd, const struct idcard_info *info,
                               const struct idtext_field *f, uint8_t *text,
                               struct err *e)
{
    const char *src = (const char *)info + f->member;
    char *inp = (char *)(uintptr_t)src, *outp = (char *)(text + f->off);
    size_t inleft = strnlen(src, f->size), outleft = f->len;

    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1)
        return err_set(e, EX_DATAERR, "the %s does not fit on a card (%s)",
                       f->label,
                       errno == E2BIG ? "too long" : "not valid UTF-8/UCS-2");
    return 0;
}

int idtext_encode(const struct idcard_info *info, uint8_t text[IDTEXT_LEN],
                  struct err *e)
{
    static const char markers[] = {' ', 'I', 'J'};
    const struct idtext_field *f = idtext_layout(info->type);
    iconv_t cd;
    size_t i;
    int rc = 0;

    if (f == NULL)
        return err_set(e, EX_DATAERR, "unknown card type");
    for (i = 0; i < IDTEXT_LEN; i += 2) {
        text[i] = 0x20;
        text[i + 1] = 0x00;
    }
    if ((cd = iconv_open("UCS-2LE", "UTF-8")) == (iconv_t)-1)
        return err_errno(e, EX_SOFTWARE, "iconv UTF-8 to UCS-2LE");
    for (; f->label != NULL && rc == 0; f++)
        rc = idtext_field_encode(cd, info, f, text, e);
    iconv_close(cd);
    text[IDTEXT_MARKER_OFF] = (uint8_t)markers[info->type];
    text[IDTEXT_MARKER_OFF + 1] = 0;
    return rc;
}

int idtext_from_response(const uint8_t *body, size_t body_len, int with_fp,
                         struct idcard_info *info, struct err *e)
{
    size_t hdr = with_fp ? 9 : 7, textlen, photolen, fplen = 0;

    memset(info, 0, sizeof(*info));
    if (body_len < 3)
        return err_set(e, EX_DATAERR, "response too short");
    if (body[2] != 0x90)
        return err_set(e, EX_DATAERR, "read answered status %02X", body[2]);
    if (body_len < hdr)
        return err_set(e, EX_DATAERR, "read response too short (%zu bytes)",
                       body_len);
    textlen = (size_t)body[3] << 8 | body[4];
    photolen = (size_t)body[5] << 8 | body[6];
    if (with_fp)
        fplen = (size_t)body[7] << 8 | body[8];
    if (textlen != IDTEXT_LEN)
        return err_set(e, EX_DATAERR, "text block of %zu bytes, expected %d",
                       textlen, IDTEXT_LEN);
    if (hdr + textlen + photolen + fplen != body_len)
        return err_set(e, EX_DATAERR,
                       "read response of %zu bytes does not match its "
                       "block lengths (%zu+%zu+%zu)",
                       body_len, textlen, photolen, fplen);
    if (idtext_decode(body + hdr, info, e) == -1)
        return -1;
    info->photo_bytes = photolen;
    return 0;
}
