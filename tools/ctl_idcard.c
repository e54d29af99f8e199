/*
 * ctl_idcard.c: `examctl idcard decode [FILE] [--reveal]`, the technician's
 * look at reader frames (examctl(1), idcard decode).
 *
 * Input is FILE or stdin, read whole (at most CTL_IDCARD_MAX bytes).  If
 * every byte is a hex digit, whitespace, ',' or ':' (with optional "0x"
 * prefixes) the input is hex text, otherwise raw bytes; hex text that does
 * not decode (a lone digit) exits 65.  Raw bytes always decode, so any
 * other input gives exit 0 and a {"frames":[...]} document in which
 * whatever is not a frame is an entry with "error".
 *
 * Direction: frames carry none, so a frame is a "command" when its body
 * is CMD PARA of a known command (LEN 3, or 61 FF nn), else a "response"
 * (idframe_is_command()).  A response with status 90 and a text block is
 * decoded into "card" (30 01, or 30 10 with a fingerprint block); one with
 * 16 data bytes is shown as "sam_id".  The ID number is masked unless
 * --reveal.  Cards are decoded only from frames whose checksum is right.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "hex.h"
#include "idframe.h"
#include "idjson.h"
#include "idreader.h"
#include "idtext.h"

#define CTL_IDCARD_MAX (16 * 1024 * 1024)

static const char ctl_idcard_usage[] =
    "usage: examctl idcard decode [FILE] [--reveal]\n"
    "  Decode ID-card reader frames (hex text or raw bytes, several in a\n"
    "  row) from FILE or stdin; print {\"frames\":[...]} as JSON.  The ID\n"
    "  number is masked unless --reveal.";

static const char ctl_idcard_syn[] = "idcard decode [FILE] [--reveal]";

static int ctl_read_all(FILE *f, unsigned char **out, size_t *outlen)
{
    size_t cap = 65536, n = 0, r;
    unsigned char *buf = malloc(cap);

    if (buf == NULL)
        return -1;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char *nb;
            if (cap >= CTL_IDCARD_MAX) {
                free(buf);
                return -2;
            }
            cap *= 2;
            if ((nb = realloc(buf, cap)) == NULL) {
                free(buf);
                return -1;
            }
            buf = nb;
        }
    }
    if (ferror(f)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static int ctl_is_hex_text(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F') || c == ' ' || c == '\t' || c == '\n' ||
              c == '\r' || c == ',' || c == ':' || c == 'x' || c == 'X'))
            return 0;
    }
    return 1;
}

static void ctl_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char hex[16];

    hex_encode(p, n, hex);
    json_object_set_new(o, key, json_string(hex));
}

static void ctl_decode_response(json_t *o, const struct idframe *f, int reveal)
{
    struct idcard_info info;
    struct err e;
    uint8_t sw3 = f->body[2];

    json_object_set_new(o, "kind", json_string("response"));
    ctl_hex(o, "sw", f->body, 3);
    json_object_set_new(o, "status", json_string(idframe_status_name(sw3)));
    json_object_set_new(o, "checksum_ok", json_boolean(f->checksum_ok));
    if (!f->checksum_ok) {
        json_object_set_new(o, "error", json_string("checksum mismatch"));
        return;
    }
    if (sw3 != IDSW_OK) {
        json_object_set_new(o, "reason", json_string(idframe_status_text(sw3)));
        return;
    }
    if (f->body_len == 3 + 16) {
        char id[48];
        idreader_format_sam_id(f->body + 3, id, sizeof(id));
        json_object_set_new(o, "sam_id", json_string(id));
        return;
    }
    if (f->body_len < 3 + 4 + IDTEXT_LEN)
        return; /* select OK and the like: status only */
    /* 30 01 has two block lengths, 30 10 three; try the exact fit. */
    if (idtext_from_response(f->body, f->body_len, 0, &info, &e) == -1 &&
        idtext_from_response(f->body, f->body_len, 1, &info, &e) == -1) {
        json_object_set_new(o, "error", json_string(e.msg));
        return;
    }
    json_object_set_new(o, "card", idjson_card(&info, reveal));
    idcard_info_wipe(&info);
}

static json_t *ctl_frame_entry(const struct idframe *f, size_t offset,
                               int reveal)
{
    json_t *o = json_object();

    json_object_set_new(o, "offset", json_integer((json_int_t)offset));
    if (idframe_is_command(f)) {
        uint16_t cmd = (uint16_t)(f->body[0] << 8 | f->body[1]);
        json_object_set_new(o, "kind", json_string("command"));
        ctl_hex(o, "cmd", f->body, 2);
        json_object_set_new(o, "name", json_string(idframe_command_name(cmd)));
        json_object_set_new(o, "checksum_ok", json_boolean(f->checksum_ok));
        if (!f->checksum_ok)
            json_object_set_new(o, "error", json_string("checksum mismatch"));
    } else if (f->body_len < 3) {
        json_object_set_new(o, "kind", json_string("unknown"));
        json_object_set_new(o, "checksum_ok", json_boolean(f->checksum_ok));
        json_object_set_new(
            o, "error", json_string("neither a known command nor a response"));
    } else {
        ctl_decode_response(o, f, reveal);
    }
    return o;
}

static json_t *ctl_error_entry(size_t offset, const char *fmt, size_t a,
                               size_t b)
{
    json_t *o = json_object();
    char msg[160];

    snprintf(msg, sizeof(msg), fmt, a, b);
    json_object_set_new(o, "offset", json_integer((json_int_t)offset));
    json_object_set_new(o, "error", json_string(msg));
    return o;
}

/* Walk the bytes; every frame, gap and leftover becomes an entry. */
static json_t *ctl_decode_bytes(const uint8_t *p, size_t n, int reveal)
{
    struct idframe_decoder *d = malloc(sizeof(*d));
    json_t *frames = json_array();
    size_t pos = 0, used;
    struct idframe f;

    if (d == NULL || frames == NULL) {
        free(d);
        json_decref(frames);
        return NULL;
    }
    idframe_decoder_init(d);
    while (pos < n) {
        enum idframe_result r =
            idframe_decoder_feed(d, p + pos, n - pos, &used, &f);
        size_t end = pos + used;

        if (r == IDFRAME_OK || r == IDFRAME_BADSUM) {
            size_t start = end - f.raw_len;
            if (d->skipped > 0)
                json_array_append_new(
                    frames,
                    ctl_error_entry(start - d->skipped,
                                    "%zu bytes that are not a frame skipped",
                                    d->skipped, 0));
            json_array_append_new(frames, ctl_frame_entry(&f, start, reveal));
        } else if (r == IDFRAME_BADLEN) {
            json_array_append_new(
                frames, ctl_error_entry(end - IDFRAME_HDR_LEN,
                                        "frame length %zu out of bounds "
                                        "(3..%zu)",
                                        d->badlen, IDFRAME_MAX_LEN));
        }
        pos = end;
    }
    if (!d->done && d->skipped > 0)
        json_array_append_new(
            frames, ctl_error_entry(n - idframe_decoder_pending(d) - d->skipped,
                                    "%zu bytes that are not a frame skipped",
                                    d->skipped, 0));
    if (idframe_decoder_pending(d) > 0) {
        size_t have = idframe_decoder_pending(d);
        size_t want =
            have >= IDFRAME_HDR_LEN
                ? (size_t)(d->buf[5] << 8 | d->buf[6]) + IDFRAME_HDR_LEN
                : (size_t)IDFRAME_HDR_LEN;
        json_array_append_new(
            frames, ctl_error_entry(n - have,
                                    "truncated frame: %zu bytes, at least "
                                    "%zu expected",
                                    have, want));
    }
    explicit_bzero(d, sizeof(*d));
    free(d);
    return frames;
}

/* argv[0] is "decode". */
static int ctl_idcard_decode(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reveal", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    unsigned char *in = NULL, *bytes = NULL;
    size_t inlen = 0, nbytes;
    json_t *frames, *doc;
    int reveal = 0, ch, rc;
    FILE *f = stdin;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'r')
            reveal = 1;
        else
            return ctl_opt_error(ctl_idcard_syn, ch, argv);
    }
    if (argc - optind > 1)
        return ctl_usagef(ctl_idcard_syn,
                          "idcard decode takes one FILE at most, not %d",
                          argc - optind);
    if (optind < argc)
        path = argv[optind];
    if (path != NULL && strcmp(path, "-") != 0 &&
        (f = fopen(path, "rb")) == NULL)
        return ctl_failf(EX_NOINPUT, "%s: cannot open", path);
    rc = ctl_read_all(f, &in, &inlen);
    if (f != stdin)
        fclose(f);
    if (rc == -2)
        return ctl_failf(EX_DATAERR, "%s: larger than %d bytes",
                         path ? path : "stdin", CTL_IDCARD_MAX);
    if (rc == -1)
        return ctl_failf(EX_IOERR, "%s: read error", path ? path : "stdin");
    if (ctl_is_hex_text(in, inlen)) {
        long n;
        if ((bytes = malloc(inlen / 2 + 1)) == NULL) {
            free(in);
            return ctl_failf(EX_OSERR, "out of memory");
        }
        n = hex_decode((const char *)in, inlen, bytes, inlen / 2 + 1);
        if (n < 0) {
            free(bytes);
            free(in);
            return ctl_failf(EX_DATAERR, "%s: hex text with an odd digit count",
                             path ? path : "stdin");
        }
        nbytes = (size_t)n;
    } else {
        bytes = in;
        in = NULL;
        nbytes = inlen;
    }
    frames = ctl_decode_bytes(bytes, nbytes, reveal);
    explicit_bzero(bytes, nbytes);
    free(bytes);
    free(in);
    if (frames == NULL)
        return ctl_failf(EX_OSERR, "out of memory");
    doc = json_pack("{s:o}", "frames", frames);
    if (doc == NULL || json_dumpf(doc, stdout, JSON_COMPACT) == -1)
        rc = ctl_failf(EX_IOERR, "cannot write the output");
    else
        rc = 0;
    putchar('\n');
    json_decref(doc);
    return rc;
}

int ctl_idcard(struct ctl *c, int argc, char **argv)
{
    (void)c;
    if (ctl_wants_help(argc, argv)) {
        printf("%s\n", ctl_idcard_usage);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(ctl_idcard_syn, "idcard needs 'decode'");
    if (strcmp(argv[1], "decode") != 0)
        return ctl_usagef(ctl_idcard_syn, "unknown idcard subcommand '%s'",
                          argv[1]);
    return ctl_idcard_decode(argc - 1, argv + 1);
}
