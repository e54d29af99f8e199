/*
 * csvread.c: file → UTF-8 text → libcsv records with line numbers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>
#include <openssl/evp.h>

#include "hex.h"
#include "csvread.h"

struct csvread_state {
    csvread_row_fn fn;
    void *ud;
    struct err *e;
    const char *path;
    /* The current record's fields, NUL-terminated, one after another in a
     * buffer allocated once (a record is at most MAX_FIELDS fields of at
     * most MAX_FIELD bytes): no allocation per field. */
    char *rowbuf;
    size_t rowlen;
    size_t off[CSVREAD_MAX_FIELDS];
    size_t nfields;
    int too_many, too_long;
    int line;      /* physical line being fed */
    int row_start; /* line the current record started on, 0 between */
    int stopped;
};

int csvread_encoding(const char *name, enum csv_encoding *out)
{
    if (strcasecmp(name, "auto") == 0)
        *out = CSV_ENC_AUTO;
    else if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0)
        *out = CSV_ENC_UTF8;
    else if (strcasecmp(name, "gb18030") == 0)
        *out = CSV_ENC_GB18030;
    else
        return -1;
    return 0;
}

int csvread_utf8_valid(const char *buf, size_t len, int *bad_line)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    int line = 1;

    while (i < len) {
        unsigned c = s[i];
        size_t n, k;
        unsigned cp;
        if (c < 0x80) {
            if (c == '\n')
                line++;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        for (k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += n + 1;
    }
    return 1;
bad:
    if (bad_line != NULL)
        *bad_line = line;
    return 0;
}

static int read_whole(const char *path, char **out, size_t *outlen,
                      struct err *e)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    ssize_t r;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return err_errno(e, EX_NOINPUT, "%s", path);
    if (fstat(fd, &st) == -1) {
        close(fd);
        return err_errno(e, EX_IOERR, "%s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, EX_NOINPUT, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > CSVREAD_MAX_BYTES) {
        close(fd);
        return err_set(e, EX_DATAERR,
                       "%s: file too large (%lld bytes, at most %u)", path,
                       (long long)st.st_size, CSVREAD_MAX_BYTES);
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return err_errno(e, EX_OSERR, "%s", path);
    }
    while (got < (size_t)st.st_size) {
        r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return err_errno(e, EX_IOERR, "%s: read", path);
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *outlen = got;
    return 0;
}

/* GB18030 → UTF-8.  On an invalid sequence the error names its line. */
static int from_gb18030(const char *path, const char *in, size_t inlen,
                        char **out, size_t *outlen, struct err *e)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    size_t cap = inlen * 2 + 16, left_in = inlen, left_out = cap;
    char *buf, *ip = (char *)in, *op;
    const char *p;
    int line = 1;

    if (cd == (iconv_t)-1)
        return err_errno(e, EX_SOFTWARE, "iconv GB18030");
    if ((buf = malloc(cap + 1)) == NULL) {
        iconv_close(cd);
        return err_errno(e, EX_OSERR, "iconv");
    }
    op = buf;
    if (iconv(cd, &ip, &left_in, &op, &left_out) == (size_t)-1) {
        for (p = in; p < ip; p++)
            if (*p == '\n')
                line++;
        free(buf);
        iconv_close(cd);
        err_set(e, EX_DATAERR, "%s:%d: neither valid UTF-8 nor valid GB18030",
                path, line);
        e->line = line;
        return -1;
    }
    iconv_close(cd);
    *op = '\0';
    *out = buf;
    *outlen = (size_t)(op - buf);
    return 0;
}

static void trim(char **s)
{
    char *p = *s;
    size_t n;

    while (isspace((unsigned char)*p))
        p++;
    n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    *s = p;
}

#define CSVREAD_ROWBUF (CSVREAD_MAX_FIELDS * (CSVREAD_MAX_FIELD + 1))

static void on_field(void *data, size_t len, void *ud)
{
    struct csvread_state *st = ud;

    if (st->stopped)
        return;
    if (st->nfields == CSVREAD_MAX_FIELDS) {
        st->too_many = 1;
        return;
    }
    if (len > CSVREAD_MAX_FIELD) {
        st->too_long = 1;
        len = 0;
    }
    st->off[st->nfields++] = st->rowlen;
    if (len)
        memcpy(st->rowbuf + st->rowlen, data, len);
    st->rowlen += len;
    st->rowbuf[st->rowlen++] = '\0';
}

static void free_fields(struct csvread_state *st)
{
    st->nfields = 0;
    st->rowlen = 0;
    st->too_many = st->too_long = 0;
}

static void on_row(int c, void *ud)
{
    struct csvread_state *st = ud;
    char *view[CSVREAD_MAX_FIELDS];
    size_t i;
    int line = st->row_start ? st->row_start : st->line, empty;

    (void)c;
    st->row_start = 0;
    if (st->stopped) {
        free_fields(st);
        return;
    }
    if (st->too_many || st->too_long) {
        err_set(st->e, EX_DATAERR,
                st->too_many ? "%s:%d: too many columns (at most %d)"
                             : "%s:%d: a field is longer than %d bytes",
                st->path, line,
                st->too_many ? CSVREAD_MAX_FIELDS : CSVREAD_MAX_FIELD);
        st->e->line = line;
        st->stopped = 1;
        free_fields(st);
        return;
    }
    for (i = 0, empty = 1; i < st->nfields; i++) {
        view[i] = st->rowbuf + st->off[i];
        trim(&view[i]);
        if (*view[i] != '\0')
            empty = 0;
    }
    if (empty) { /* ",,,,,": what Excel leaves of a cleared row */
        free_fields(st);
        return;
    }
    if (st->fn(st->ud, line, view, st->nfields, st->e) == -1) {
        err_prefix(st->e, "%s:%d", st->path, line);
        st->e->line = line;
        st->stopped = 1;
    }
    free_fields(st);
}

static int blank_line(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!isspace((unsigned char)p[i]))
            return 0;
    return 1;
}

static int feed(const char *path, const char *text, size_t len,
                struct csvread_state *st, struct err *e)
{
    struct csv_parser p;
    const char *line = text, *end = text + len, *nl;
    size_t n;

    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return err_set(e, EX_OSERR, "csv_init failed");
    st->line = 0;
    while (line < end && !st->stopped) {
        nl = memchr(line, '\n', (size_t)(end - line));
        n = nl ? (size_t)(nl - line) + 1 : (size_t)(end - line);
        st->line++;
        if (st->row_start == 0 && !blank_line(line, n))
            st->row_start = st->line;
        if (csv_parse(&p, line, n, on_field, on_row, st) != n) {
            st->stopped = 1;
            err_set(e, EX_DATAERR, "%s:%d: malformed CSV (%s)", path,
                    st->row_start ? st->row_start : st->line,
                    csv_strerror(csv_error(&p)));
            e->line = st->row_start ? st->row_start : st->line;
            free_fields(st);
            csv_free(&p);
            return -1;
        }
        line += n;
    }
    if (!st->stopped && csv_fini(&p, on_field, on_row, st) != 0) {
        err_set(e, EX_DATAERR,
                "%s:%d: malformed CSV (unterminated quoted field)", path,
                st->row_start ? st->row_start : st->line);
        e->line = st->row_start ? st->row_start : st->line;
        free_fields(st);
        csv_free(&p);
        return -1;
    }
    free_fields(st);
    csv_free(&p);
    return st->stopped ? -1 : 0;
}

int csvread_buffer(const char *path, const char *raw, size_t rawlen,
                   enum csv_encoding enc, csvread_row_fn fn, void *ud,
                   struct csvread_info *info, struct err *e)
{
    struct csvread_state st;
    char *conv = NULL;
    const char *text;
    size_t len;
    int bad_line = 0, rc, i;
    struct csvread_info dummy;
    struct err dropped;

    if (e == NULL) /* the reader sets e->line, and fn gets e: never NULL */
        e = &dropped;
    if (info == NULL)
        info = &dummy;
    memset(info, 0, sizeof(*info));
    info->bytes = rawlen;
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (EVP_Digest(raw, rawlen, md, &mdlen, EVP_sha256(), NULL))
            hex_encode(md, mdlen, info->sha256);
    }
    if (memchr(raw, '\0', rawlen) != NULL) {
        return err_set(e, EX_DATAERR,
                       "%s: contains NUL bytes; not a CSV text file", path);
    }
    text = raw;
    len = rawlen;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        info->had_bom = 1;
        text += 3;
        len -= 3;
        if (enc == CSV_ENC_AUTO)
            enc = CSV_ENC_UTF8;
    }
    if (enc == CSV_ENC_AUTO)
        enc = csvread_utf8_valid(text, len, NULL) ? CSV_ENC_UTF8
                                                  : CSV_ENC_GB18030;
    info->encoding = enc;
    if (enc == CSV_ENC_UTF8) {
        if (!csvread_utf8_valid(text, len, &bad_line)) {
            err_set(e, EX_DATAERR,
                    "%s:%d: not valid UTF-8 (try --encoding gb18030)", path,
                    bad_line);
            e->line = bad_line;
            return -1;
        }
    } else {
        if (from_gb18030(path, text, len, &conv, &len, e) == -1) {
            return -1;
        }
        text = conv;
    }
    for (i = 0; (size_t)i < len; i++)
        if (text[i] == '\n')
            info->lines++;
    memset(&st, 0, sizeof(st));
    st.fn = fn;
    st.ud = ud;
    st.e = e;
    st.path = path;
    if ((st.rowbuf = malloc(CSVREAD_ROWBUF)) == NULL) {
        free(conv);
        return err_errno(e, EX_OSERR, "%s", path);
    }
    rc = feed(path, text, len, &st, e);
    free(st.rowbuf);
    free(conv);
    return rc;
}

int csvread_file(const char *path, enum csv_encoding enc, csvread_row_fn fn,
                 void *ud, struct csvread_info *info, struct err *e)
{
    char *raw = NULL;
    size_t rawlen = 0;
    int rc;

    if (info != NULL)
        memset(info, 0, sizeof(*info));
    if (read_whole(path, &raw, &rawlen, e) == -1)
        return -1;
    rc = csvread_buffer(path, raw, rawlen, enc, fn, ud, info, e);
    free(raw);
    return rc;
}

int csvread_column(char **header, size_t n, const char *const *names)
{
    size_t i;
    const char *const *nm;

    for (i = 0; i < n; i++)
        for (nm = names; *nm != NULL; nm++)
            if (strcasecmp(header[i], *nm) == 0)
                return (int)i;
    return -1;
}
