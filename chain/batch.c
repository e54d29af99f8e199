/*
 * batch.c: encoding, signing, decoding and verifying batches
 * (docs/batch-format.md).
 *
 * The encoder compresses the event lines as they come into a raw deflate
 * stream, and at the end puts in front of them the header line,
 * compressed on its own and ended with a sync flush (which leaves the
 * deflate stream byte-aligned, not final): the two deflate streams joined
 * are one valid deflate stream, as zlib's examples/gzjoin.c does it, and
 * the gzip trailer's CRC-32 is the two CRCs combined (crc32_combine).  So
 * the header can name the last hash and the payload's SHA-256 without the
 * events being held uncompressed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "batch.h"
#include "hex.h"

#define ENC_RESERVE 4096 /* room kept in front for the header's bytes */

int batch_id_valid(const char *s)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0 || n > BATCH_ID_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------------- */
/* encoding */

struct batch_enc {
    char site[BATCH_ID_MAX + 1], station[BATCH_ID_MAX + 1];
    int64_t seq, first, next_id, count;
    char prev_chain[CHAIN_HASH_HEX + 1], last[CHAIN_HASH_HEX + 1];
    int level, spoilt;
    z_stream zs;
    int zinit;
    uLong crc;      /* of the event lines */
    uint64_t inlen; /* their bytes */
    EVP_MD_CTX *sha;
    unsigned char *buf; /* ENC_RESERVE, then the compressed lines */
    size_t len, cap;
    json_t *obj; /* one event line's object, its values updated in place */
    char line[BATCH_LINE_MAX + 2];
};

struct batch_enc *batch_enc_new(const char *site, const char *station,
                                int64_t seq, const char *prev_chain_hash,
                                int level, struct err *e)
{
    struct batch_enc *b;

    if (!batch_id_valid(site) || !batch_id_valid(station) || seq < 1 ||
        !chain_hash_valid(prev_chain_hash)) {
        err_set(e, EX_SOFTWARE, "batch: bad site, station, seq or hash");
        return NULL;
    }
    if ((b = calloc(1, sizeof(*b))) == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    memcpy(b->site, site, strlen(site) + 1);
    memcpy(b->station, station, strlen(station) + 1);
    b->seq = seq;
    memcpy(b->prev_chain, prev_chain_hash, sizeof(b->prev_chain));
    memcpy(b->last, prev_chain_hash, sizeof(b->last));
    b->level = level;
    b->crc = crc32(0L, Z_NULL, 0);
    b->cap = ENC_RESERVE + 65536;
    if ((b->buf = malloc(b->cap)) == NULL ||
        (b->sha = EVP_MD_CTX_new()) == NULL ||
        !EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL) ||
        deflateInit2(&b->zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
        batch_enc_free(b);
        err_set(e, EX_OSERR, "batch: out of memory");
        return NULL;
    }
    b->zinit = 1;
    b->len = ENC_RESERVE;
    return b;
}

void batch_enc_free(struct batch_enc *b)
{
    if (b == NULL)
        return;
    if (b->zinit)
        deflateEnd(&b->zs);
    json_decref(b->obj);
    EVP_MD_CTX_free(b->sha);
    free(b->buf);
    free(b);
}

/* Set key of o to the string s (or null), reusing the value in place. */
static int set_text(json_t *o, const char *key, const char *s)
{
    json_t *v = json_object_get(o, key);

    if (s == NULL)
        return json_is_null(v) ? 0 : json_object_set_new(o, key, json_null());
    if (json_is_string(v))
        return json_string_set(v, s);
    return json_object_set_new(o, key, json_string(s));
}

/* The event's line as a JSON object (borrowed; valid until the next
 * call).  The keys are set once, in the format's order. */
static json_t *enc_line(struct batch_enc *b, const struct chain_row *r,
                        const char *prev_hash, const char *hash)
{
    json_t *o = b->obj;

    if (o == NULL &&
        (o = b->obj = json_pack("{s:I, s:s, s:I, s:s, s:n, s:n, s:n, s:n, "
                                "s:n, s:s, s:s, s:s}",
                                "id", (json_int_t)0, "time", "", "tz_offset",
                                (json_int_t)0, "kind", "", "session", "room",
                                "ticket", "device", "operator", "payload", "",
                                "prev_hash", "", "hash", "")) == NULL)
        return NULL;
    json_integer_set(json_object_get(o, "id"), (json_int_t)r->id);
    json_integer_set(json_object_get(o, "tz_offset"), (json_int_t)r->tz_offset);
    if (r->time == NULL || r->kind == NULL ||
        set_text(o, "time", r->time) == -1 ||
        set_text(o, "kind", r->kind) == -1 ||
        set_text(o, "session", r->session) == -1 ||
        set_text(o, "room", r->room) == -1 ||
        set_text(o, "ticket", r->ticket) == -1 ||
        set_text(o, "device", r->device) == -1 ||
        set_text(o, "operator", r->operator_name) == -1 ||
        set_text(o, "payload", r->payload ? r->payload : "{}") == -1 ||
        set_text(o, "prev_hash", prev_hash) == -1 ||
        set_text(o, "hash", hash) == -1)
        return NULL;
    return o;
}

int64_t batch_enc_count(const struct batch_enc *b)
{
    return b->count;
}

/* Deflate n bytes of in into b->buf with flush. */
static int enc_deflate(struct batch_enc *b, const void *in, size_t n, int flush)
{
    int rc;

    b->zs.next_in = (Bytef *)(uintptr_t)in;
    b->zs.avail_in = (uInt)n;
    for (;;) {
        if (b->cap - b->len < 16384) {
            size_t cap = b->cap * 2;
            unsigned char *p = realloc(b->buf, cap);
            if (p == NULL)
                return -1;
            b->buf = p;
            b->cap = cap;
        }
        b->zs.next_out = b->buf + b->len;
        b->zs.avail_out =
            (uInt)(b->cap - b->len > UINT_MAX ? UINT_MAX : b->cap - b->len);
        rc = deflate(&b->zs, flush);
        b->len = (size_t)(b->zs.next_out - b->buf);
        if (rc == Z_STREAM_ERROR)
            return -1;
        if (flush == Z_FINISH ? rc == Z_STREAM_END
                              : b->zs.avail_in == 0 && b->zs.avail_out > 0)
            return 0;
    }
}

int batch_enc_add(struct batch_enc *b, const struct chain_row *r,
                  const char *prev_hash, const char *hash, struct err *e)
{
    json_t *j;
    size_t n;

    if (b->spoilt)
        return err_set(e, EX_SOFTWARE, "batch: spoilt by an earlier error");
    if (b->count >= BATCH_EVENTS_MAX)
        return err_set(e, EX_SOFTWARE, "batch: more than %d events",
                       BATCH_EVENTS_MAX);
    if (b->count > 0 && r->id != b->next_id) {
        b->spoilt = 1;
        return err_set(e, EX_DATAERR,
                       "event %" PRId64 " follows event %" PRId64
                       ": the log has a gap",
                       r->id, b->next_id - 1);
    }
    if (!chain_hash_valid(hash) || prev_hash == NULL ||
        strcmp(prev_hash, b->last) != 0) {
        b->spoilt = 1;
        return err_set(e, EX_DATAERR,
                       "event %" PRId64 " does not continue the chain (its "
                       "prev_hash is not the hash before it)",
                       r->id);
    }
    if ((j = enc_line(b, r, prev_hash, hash)) == NULL) {
        b->spoilt = 1;
        return err_set(e, EX_DATAERR,
                       "event %" PRId64 ": a field is not UTF-8 text", r->id);
    }
    n = json_dumpb(j, b->line, BATCH_LINE_MAX + 1, JSON_COMPACT);
    if (n == 0 || n > BATCH_LINE_MAX) {
        b->spoilt = 1;
        return err_set(e, EX_DATAERR,
                       "event %" PRId64 " is over %d bytes as a line", r->id,
                       BATCH_LINE_MAX);
    }
    b->line[n++] = '\n';
    b->crc = crc32(b->crc, (const Bytef *)b->line, (uInt)n);
    b->inlen += n;
    if (!EVP_DigestUpdate(b->sha, b->line, n) ||
        enc_deflate(b, b->line, n, Z_NO_FLUSH) == -1) {
        b->spoilt = 1;
        return err_set(e, EX_OSERR, "batch: compression failed");
    }
    if (b->count == 0)
        b->first = r->id;
    b->next_id = r->id + 1;
    b->count++;
    memcpy(b->last, hash, sizeof(b->last));
    return 0;
}

static void le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* The header line, gzip-wrapped by zlib, ended with a sync flush (not
 * finished) into out; its length or -1. */
static long header_deflate(struct batch_enc *b, const char *line, size_t n,
                           unsigned char *out, size_t cap)
{
    z_stream hz;
    int rc;

    memset(&hz, 0, sizeof(hz));
    if (deflateInit2(&hz, b->level, Z_DEFLATED, 16 + 15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    hz.next_in = (Bytef *)(uintptr_t)line;
    hz.avail_in = (uInt)n;
    hz.next_out = out;
    hz.avail_out = (uInt)cap;
    rc = deflate(&hz, Z_SYNC_FLUSH);
    n = cap - hz.avail_out;
    if (rc != Z_OK || hz.avail_in != 0 || hz.avail_out == 0) {
        deflateEnd(&hz);
        return -1;
    }
    deflateEnd(&hz); /* its trailer is never written: ours follows */
    return (long)n;
}

int batch_enc_finish(struct batch_enc *b, unsigned char **body, size_t *len,
                     struct batch_header *h, struct err *e)
{
    unsigned char digest[EVP_MAX_MD_SIZE], hbytes[ENC_RESERVE];
    char sha[CHAIN_HASH_HEX + 1], hline[1024];
    unsigned int dlen = 0;
    size_t hn, elen;
    long hz;
    json_t *j;
    uLong crc;

    *body = NULL;
    *len = 0;
    if (b->spoilt || b->count == 0)
        return err_set(e, EX_SOFTWARE, "batch: %s",
                       b->spoilt ? "spoilt" : "no events");
    if (!EVP_DigestFinal_ex(b->sha, digest, &dlen) || dlen != 32 ||
        enc_deflate(b, "", 0, Z_FINISH) == -1)
        return err_set(e, EX_OSERR, "batch: compression failed");
    hex_encode(digest, 32, sha);
    j = json_pack("{s:{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s}}",
                  "batch", "v", BATCH_VERSION, "site", b->site, "station",
                  b->station, "seq", (json_int_t)b->seq, "first_event",
                  (json_int_t)b->first, "last_event",
                  (json_int_t)(b->next_id - 1), "count", (json_int_t)b->count,
                  "prev_chain_hash", b->prev_chain, "last_chain_hash", b->last,
                  "payload_sha256", sha);
    hn = j ? json_dumpb(j, hline, sizeof(hline) - 1, JSON_COMPACT) : 0;
    json_decref(j);
    if (hn == 0 || hn >= sizeof(hline) - 1)
        return err_set(e, EX_SOFTWARE, "batch: header line");
    hline[hn++] = '\n';
    if ((hz = header_deflate(b, hline, hn, hbytes, sizeof(hbytes))) == -1)
        return err_set(e, EX_OSERR, "batch: compression failed");
    /* header member start || event stream || CRC-32 || ISIZE */
    crc = crc32_combine(
        crc32(crc32(0L, Z_NULL, 0), (const Bytef *)hline, (uInt)hn), b->crc,
        (z_off_t)b->inlen);
    elen = b->len - ENC_RESERVE;
    if (b->cap - b->len < 8) {
        unsigned char *p = realloc(b->buf, b->len + 8);
        if (p == NULL)
            return err_set(e, EX_OSERR, "out of memory");
        b->buf = p;
        b->cap = b->len + 8;
    }
    memmove(b->buf + hz, b->buf + ENC_RESERVE, elen);
    memcpy(b->buf, hbytes, (size_t)hz);
    le32(b->buf + hz + elen, (uint32_t)crc);
    le32(b->buf + hz + elen + 4, (uint32_t)(b->inlen + hn));
    *len = (size_t)hz + elen + 8;
    *body = b->buf;
    b->buf = NULL;
    b->spoilt = 1; /* spent */
    if (h != NULL) {
        memset(h, 0, sizeof(*h));
        h->version = BATCH_VERSION;
        memcpy(h->site, b->site, sizeof(h->site));
        memcpy(h->station, b->station, sizeof(h->station));
        h->seq = b->seq;
        h->first_event = b->first;
        h->last_event = b->next_id - 1;
        h->count = b->count;
        memcpy(h->prev_chain_hash, b->prev_chain, sizeof(h->prev_chain_hash));
        memcpy(h->last_chain_hash, b->last, sizeof(h->last_chain_hash));
        memcpy(h->payload_sha256, sha, sizeof(h->payload_sha256));
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* the signature and keys */

int batch_sign(const unsigned char *key, size_t keylen, const void *body,
               size_t len, char out[BATCH_SIG_HEX + 1])
{
    unsigned char mac[32];
    size_t n = 0;

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, body, len,
                  mac, sizeof(mac), &n) == NULL ||
        n != sizeof(mac))
        return -1;
    hex_encode(mac, sizeof(mac), out);
    return 0;
}

int batch_sig_ok(const unsigned char *key, size_t keylen, const void *body,
                 size_t len, const char *sig_hex)
{
    char want[BATCH_SIG_HEX + 1];

    if (sig_hex == NULL || !chain_hash_valid(sig_hex) ||
        batch_sign(key, keylen, body, len, want) == -1)
        return 0;
    return CRYPTO_memcmp(want, sig_hex, BATCH_SIG_HEX) == 0;
}

long batch_key_parse(const char *text, size_t textlen, unsigned char *key,
                     size_t cap, struct err *e)
{
    long n = hex_decode(text, textlen, key, cap);

    if (n < BATCH_KEY_MIN)
        return err_set(e, EX_DATAERR,
                       "a key must be %d to %d bytes as hex digits",
                       BATCH_KEY_MIN, BATCH_KEY_MAX);
    return n;
}

long batch_key_load(const char *path, unsigned char *key, size_t cap,
                    struct err *e)
{
    char buf[512];
    struct stat sb;
    ssize_t n;
    long got;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return err_errno(e, EX_NOINPUT, "key file %s", path);
    if (fstat(fd, &sb) == -1 || (sb.st_mode & 077) != 0) {
        close(fd);
        return err_set(e, EX_CONFIG,
                       "key file %s must be mode 0600 (chmod 600 it)", path);
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0)
        return err_errno(e, EX_IOERR, "key file %s", path);
    got = batch_key_parse(buf, (size_t)n, key, cap, e);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (got == -1)
        return err_prefix(e, "key file %s", path);
    return got;
}

/* ---------------------------------------------------------------------- */
/* decoding */

void batch_limits_default(struct batch_limits *l)
{
    l->max_body = 64u << 20;
    l->max_inflated = (size_t)1 << 30;
    l->max_ratio = 100;
}

struct dec {
    const struct batch_limits *lim;
    const struct batch_sink *sink;
    const char *want_site, *want_station;
    int64_t want_seq;
    struct batch_header h;
    int have_header;
    int64_t lineno, next_id, events;
    char prev[CHAIN_HASH_HEX + 1];
    unsigned char prev_raw[CHAIN_HASH_BYTES]; /* prev as bytes */
    EVP_MD_CTX *sha;
    char *line;
    size_t llen;
    struct err *e;
};

static enum batch_status bad(struct dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum batch_status bad(struct dec *d, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->lineno > 0)
        err_set(d->e, EX_DATAERR, "line %" PRId64 ": %s", d->lineno, msg);
    else
        err_set(d->e, EX_DATAERR, "%s", msg);
    if (d->e != NULL)
        d->e->line = (int)(d->lineno > INT_MAX ? INT_MAX : d->lineno);
    return BATCH_MALFORMED;
}

/* An object with exactly these n keys (duplicates were refused by the
 * parser).  NULL when it is, else the first key that should not be. */
static const char *unknown_key(json_t *o, const char *const *keys, size_t n)
{
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach(o, k, v)
    {
        for (i = 0; i < n; i++)
            if (strcmp(k, keys[i]) == 0)
                break;
        if (i == n)
            return k;
    }
    (void)v;
    return json_object_size(o) == n ? NULL : "";
}

static int get_int(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static const char *get_hash(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    return chain_hash_valid(s) ? s : NULL;
}

static enum batch_status dec_header(struct dec *d, const char *line, size_t n)
{
    static const char *const top[] = {"batch"};
    static const char *const keys[] = {"v",
                                       "site",
                                       "station",
                                       "seq",
                                       "first_event",
                                       "last_event",
                                       "count",
                                       "prev_chain_hash",
                                       "last_chain_hash",
                                       "payload_sha256"};
    struct batch_header *h = &d->h;
    json_error_t jerr;
    json_t *j, *b, *v;
    const char *s, *k;
    int64_t ver = 0;
    enum batch_status st = BATCH_MALFORMED;

    if ((j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
        return bad(d, "the header is not JSON: %s", jerr.text);
    if (!json_is_object(j) || unknown_key(j, top, 1) != NULL ||
        !json_is_object(b = json_object_get(j, "batch"))) {
        bad(d, "the header must be {\"batch\":{...}}");
        goto out;
    }
    if ((k = unknown_key(b, keys, sizeof(keys) / sizeof(keys[0]))) != NULL) {
        if (k[0])
            bad(d, "the header has an unknown key '%.40s'", k);
        else
            bad(d, "the header lacks a key (v, site, station, seq, "
                   "first_event, last_event, count, prev_chain_hash, "
                   "last_chain_hash, payload_sha256)");
        goto out;
    }
    if (get_int(b, "v", &ver) == -1 || ver != BATCH_VERSION) {
        bad(d, "the header's v must be %d", BATCH_VERSION);
        goto out;
    }
    h->version = (int)ver;
#define ID(name)                                                               \
    v = json_object_get(b, #name);                                             \
    s = json_is_string(v) ? json_string_value(v) : NULL;                       \
    if (!batch_id_valid(s)) {                                                  \
        bad(d, "the header's " #name " must be 1-%d of A-Z a-z 0-9 . _ -",     \
            BATCH_ID_MAX);                                                     \
        goto out;                                                              \
    }                                                                          \
    memcpy(h->name, s, strlen(s) + 1);
    ID(site)
    ID(station)
#undef ID
    if (get_int(b, "seq", &h->seq) == -1 || h->seq < 1 ||
        get_int(b, "first_event", &h->first_event) == -1 ||
        h->first_event < 1 || get_int(b, "last_event", &h->last_event) == -1 ||
        h->last_event < h->first_event ||
        get_int(b, "count", &h->count) == -1 ||
        h->count != h->last_event - h->first_event + 1) {
        bad(d, "the header's seq, first_event, last_event and count must be "
               "positive integers with count = last_event - first_event + 1");
        goto out;
    }
    if (h->count > BATCH_EVENTS_MAX) {
        bad(d, "the batch has %" PRId64 " events, at most %d", h->count,
            BATCH_EVENTS_MAX);
        goto out;
    }
#define HASH(name)                                                             \
    if ((s = get_hash(b, #name)) == NULL) {                                    \
        bad(d, "the header's " #name " must be 64 lower-case hex digits");     \
        goto out;                                                              \
    }                                                                          \
    memcpy(h->name, s, CHAIN_HASH_HEX + 1);
    HASH(prev_chain_hash)
    HASH(last_chain_hash)
    HASH(payload_sha256)
#undef HASH
    if (d->want_site && strcmp(d->want_site, h->site) != 0) {
        bad(d, "the header says site %s, the request's X-Examsite-Site %.64s",
            h->site, d->want_site);
        goto out;
    }
    if (d->want_station && strcmp(d->want_station, h->station) != 0) {
        bad(d,
            "the header says station %s, the request's X-Examsite-Station "
            "%.64s",
            h->station, d->want_station);
        goto out;
    }
    if (d->want_seq >= 0 && d->want_seq != h->seq) {
        bad(d,
            "the header says seq %" PRId64 ", the request's X-Examsite-Seq "
            "%" PRId64,
            h->seq, d->want_seq);
        goto out;
    }
    d->have_header = 1;
    d->next_id = h->first_event;
    memcpy(d->prev, h->prev_chain_hash, sizeof(d->prev));
    hex_decode(d->prev, CHAIN_HASH_HEX, d->prev_raw, sizeof(d->prev_raw));
    st = BATCH_OK;
    if (d->sink && d->sink->header &&
        d->sink->header(d->sink->arg, h, d->e) == -1)
        st = BATCH_REFUSED;
out:
    json_decref(j);
    return st;
}

/* "2026-12-05T01:00:00.000Z": a real UTC time with milliseconds. */
static int time_valid(const char *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    int y, mo, dd, hh, mi, ss, i;

    if (strlen(t) != sizeof(shape) - 1)
        return 0;
    for (i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != shape[i])
            return 0;
#define N2(p) ((t[p] - '0') * 10 + (t[(p) + 1] - '0'))
    y = N2(0) * 100 + N2(2);
    mo = N2(5);
    dd = N2(8);
    hh = N2(11);
    mi = N2(14);
    ss = N2(17);
#undef N2
    if (y < 2000 || y > 2199 || mo < 1 || mo > 12 || dd < 1 ||
        dd > mdays[mo - 1] || hh > 23 || mi > 59 || ss > 59)
        return 0;
    if (mo == 2 && dd == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 0;
    return 1;
}

/* checkin.accepted, roster.imported: [a-z]+ then one or more .[a-z_]+ */
static int kind_valid(const char *k)
{
    size_t n = strlen(k), i;
    int dots = 0;

    if (n == 0 || n > BATCH_KIND_MAX || k[0] == '.' || k[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        if (k[i] == '.') {
            if (k[i + 1] == '.')
                return 0;
            dots++;
        } else if (!((k[i] >= 'a' && k[i] <= 'z') ||
                     (k[i] == '_' && dots > 0))) {
            return 0;
        }
    }
    return dots > 0;
}

/* A text field: a string of at most max bytes with no control character
 * (*out NULL for JSON null when nullable).  0 or -1. */
static int get_text(json_t *o, const char *key, size_t max, int nullable,
                    const char **out)
{
    json_t *v = json_object_get(o, key);
    const char *s;
    size_t n, i;

    *out = NULL;
    if (json_is_null(v))
        return nullable ? 0 : -1;
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    n = json_string_length(v);
    if (n > max || strlen(s) != n)
        return -1;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -1;
    *out = s;
    return 0;
}

static enum batch_status dec_event(struct dec *d, const char *line, size_t n)
{
    static const char *const keys[] = {
        "id",     "time",   "tz_offset", "kind",    "session",   "room",
        "ticket", "device", "operator",  "payload", "prev_hash", "hash"};
    static const char *const texts[] = {"session", "room", "ticket", "device",
                                        "operator"};
    const char **slots[5];
    struct chain_row r;
    json_error_t jerr;
    char want[CHAIN_HASH_HEX + 1];
    unsigned char raw[CHAIN_HASH_BYTES];
    const char *k, *prev, *hash;
    int64_t off = 0;
    json_t *j, *p;
    size_t i;
    enum batch_status st = BATCH_MALFORMED;

    if (d->events >= d->h.count)
        return bad(d, "more event lines than the header's count %" PRId64,
                   d->h.count);
    if ((j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
        return bad(d, "not JSON: %s", jerr.text);
    memset(&r, 0, sizeof(r));
    if (!json_is_object(j)) {
        bad(d, "an event must be a JSON object");
        goto out;
    }
    if ((k = unknown_key(j, keys, sizeof(keys) / sizeof(keys[0]))) != NULL) {
        if (k[0])
            bad(d, "unknown key '%.40s'", k);
        else
            bad(d, "an event has the keys id, time, tz_offset, kind, "
                   "session, room, ticket, device, operator, payload, "
                   "prev_hash, hash");
        goto out;
    }
    if (get_int(j, "id", &r.id) == -1 || r.id != d->next_id) {
        bad(d, "id must be %" PRId64 " (events are consecutive)", d->next_id);
        goto out;
    }
    if (get_text(j, "time", 32, 0, &r.time) == -1 || !time_valid(r.time)) {
        bad(d,
            "event %" PRId64 ": time must be UTC as 2026-12-05T01:00:00.000Z",
            r.id);
        goto out;
    }
    if (get_int(j, "tz_offset", &off) == -1 || off < -64800 || off > 64800) {
        bad(d, "event %" PRId64 ": tz_offset must be seconds within ±18 h",
            r.id);
        goto out;
    }
    r.tz_offset = (long)off;
    if (get_text(j, "kind", BATCH_KIND_MAX, 0, &r.kind) == -1 ||
        !kind_valid(r.kind)) {
        bad(d, "event %" PRId64 ": kind must be like checkin.accepted", r.id);
        goto out;
    }
    slots[0] = &r.session;
    slots[1] = &r.room;
    slots[2] = &r.ticket;
    slots[3] = &r.device;
    slots[4] = &r.operator_name;
    for (i = 0; i < 5; i++)
        if (get_text(j, texts[i], BATCH_FIELD_MAX, 1, slots[i]) == -1) {
            bad(d,
                "event %" PRId64 ": %s must be null or text of at most %d "
                "bytes without control characters",
                r.id, texts[i], BATCH_FIELD_MAX);
            goto out;
        }
    p = json_object_get(j, "payload");
    if (!json_is_string(p) || json_string_length(p) > BATCH_PAYLOAD_MAX ||
        strlen(json_string_value(p)) != json_string_length(p)) {
        bad(d,
            "event %" PRId64 ": payload must be JSON text of at most %d "
            "bytes, in a string",
            r.id, BATCH_PAYLOAD_MAX);
        goto out;
    }
    r.payload = json_string_value(p);
    {
        json_t *pj = json_loadb(r.payload, json_string_length(p),
                                JSON_REJECT_DUPLICATES, NULL);
        int ok = json_is_object(pj);
        json_decref(pj);
        if (!ok) {
            bad(d, "event %" PRId64 ": payload is not a JSON object", r.id);
            goto out;
        }
    }
    if ((prev = get_hash(j, "prev_hash")) == NULL ||
        (hash = get_hash(j, "hash")) == NULL) {
        bad(d,
            "event %" PRId64 ": prev_hash and hash must be 64 lower-case "
            "hex digits",
            r.id);
        goto out;
    }
    if (strcmp(prev, d->prev) != 0) {
        bad(d,
            "event %" PRId64 ": prev_hash is not the hash of the event "
            "before it: the chain is broken",
            r.id);
        goto out;
    }
    /* prev is d->prev, whose bytes are at hand */
    if (chain_row_digest_after(&r, d->prev_raw, raw) == -1 ||
        (hex_encode(raw, sizeof(raw), want), strcmp(want, hash) != 0)) {
        bad(d,
            "event %" PRId64 ": its hash does not match its contents "
            "(altered)",
            r.id);
        goto out;
    }
    st = BATCH_OK;
    if (d->sink && d->sink->event &&
        d->sink->event(d->sink->arg, &r, prev, hash, d->e) == -1) {
        st = BATCH_REFUSED;
        goto out;
    }
    memcpy(d->prev, hash, sizeof(d->prev));
    memcpy(d->prev_raw, raw, sizeof(d->prev_raw));
    d->next_id++;
    d->events++;
out:
    json_decref(j);
    return st;
}

static enum batch_status dec_line(struct dec *d, const char *line, size_t n)
{
    size_t i;

    d->lineno++;
    if (n == 0)
        return bad(d, "an empty line");
    for (i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            return bad(d, "a control character (0x%02x) outside a string",
                       (unsigned char)line[i]);
    if (!d->have_header)
        return dec_header(d, line, n);
    if (!EVP_DigestUpdate(d->sha, line, n) ||
        !EVP_DigestUpdate(d->sha, "\n", 1))
        return err_set(d->e, EX_OSERR, "sha256"), BATCH_MALFORMED;
    return dec_event(d, line, n);
}

/* Split inflated bytes into lines. */
static enum batch_status dec_feed(struct dec *d, const unsigned char *p,
                                  size_t n)
{
    enum batch_status st;

    while (n > 0) {
        const unsigned char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;

        if (d->llen + take > BATCH_LINE_MAX) {
            d->lineno++;
            return bad(d, "over %d bytes (the limit of one line)",
                       BATCH_LINE_MAX);
        }
        memcpy(d->line + d->llen, p, take);
        d->llen += take;
        if (nl == NULL)
            return BATCH_OK;
        if ((st = dec_line(d, d->line, d->llen)) != BATCH_OK)
            return st;
        d->llen = 0;
        p += take + 1;
        n -= take + 1;
    }
    return BATCH_OK;
}

static enum batch_status too_large(struct dec *d, const char *what,
                                   size_t limit)
{
    err_set(d->e, EX_DATAERR, "the batch is too large: %s (limit %zu bytes)",
            what, limit);
    return BATCH_TOO_LARGE;
}

static enum batch_status dec_finish(struct dec *d)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    char sha[CHAIN_HASH_HEX + 1];
    unsigned int dlen = 0;

    d->lineno = 0;
    if (d->llen != 0)
        return bad(d, "the last line does not end with LF");
    if (!d->have_header)
        return bad(d, "no header line");
    if (d->events != d->h.count)
        return bad(d,
                   "%" PRId64 " event lines, the header's count says %" PRId64,
                   d->events, d->h.count);
    if (strcmp(d->prev, d->h.last_chain_hash) != 0)
        return bad(d, "the last event's hash is not the header's "
                      "last_chain_hash");
    if (!EVP_DigestFinal_ex(d->sha, digest, &dlen) || dlen != 32)
        return err_set(d->e, EX_OSERR, "sha256"), BATCH_MALFORMED;
    hex_encode(digest, 32, sha);
    if (strcmp(sha, d->h.payload_sha256) != 0)
        return bad(d, "the events' SHA-256 is not the header's "
                      "payload_sha256");
    return BATCH_OK;
}

enum batch_status batch_decode(const void *body, size_t len,
                               const struct batch_limits *lim,
                               const char *want_site, const char *want_station,
                               int64_t want_seq, const struct batch_sink *sink,
                               struct batch_header *h, struct err *e)
{
    unsigned char out[65536];
    enum batch_status st = BATCH_OK;
    struct batch_limits deflim;
    uint64_t inflated = 0;
    struct dec d;
    z_stream zs;
    int rc;

    err_clear(e);
    if (lim == NULL) {
        batch_limits_default(&deflim);
        lim = &deflim;
    }
    memset(&d, 0, sizeof(d));
    d.lim = lim;
    d.sink = sink;
    d.want_site = want_site;
    d.want_station = want_station;
    d.want_seq = want_seq;
    d.e = e;
    if (len > lim->max_body)
        return too_large(&d, "compressed body", lim->max_body);
    if (len > UINT_MAX)
        return too_large(&d, "compressed body", UINT_MAX);
    memset(&zs, 0, sizeof(zs));
    if ((d.line = malloc(BATCH_LINE_MAX + 1)) == NULL ||
        (d.sha = EVP_MD_CTX_new()) == NULL ||
        !EVP_DigestInit_ex(d.sha, EVP_sha256(), NULL) ||
        inflateInit2(&zs, 16 + 15) != Z_OK) { /* gzip only */
        free(d.line);
        EVP_MD_CTX_free(d.sha);
        err_set(e, EX_OSERR, "out of memory");
        return BATCH_MALFORMED;
    }
    zs.next_in = (Bytef *)(uintptr_t)body;
    zs.avail_in = (uInt)len;
    for (;;) {
        size_t n;

        zs.next_out = out;
        zs.avail_out = sizeof(out);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            st = bad(&d, "not a valid gzip stream (%s)",
                     rc == Z_BUF_ERROR ? "truncated"
                     : zs.msg          ? zs.msg
                                       : "error");
            break;
        }
        n = sizeof(out) - zs.avail_out;
        inflated += n;
        if (inflated > lim->max_inflated) {
            st = too_large(&d, "inflated", lim->max_inflated);
            break;
        }
        if (inflated >= sizeof(out) &&
            inflated / (zs.total_in ? zs.total_in : 1) > lim->max_ratio) {
            err_set(e, EX_DATAERR,
                    "the batch is too large: it inflates more than %u times "
                    "its compressed size",
                    lim->max_ratio);
            st = BATCH_TOO_LARGE;
            break;
        }
        if ((st = dec_feed(&d, out, n)) != BATCH_OK)
            break;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in != 0) {
                d.lineno = 0;
                st = bad(&d, "bytes after the end of the gzip stream");
            } else {
                st = dec_finish(&d);
            }
            break;
        }
        if (n == 0 && zs.avail_in == 0) {
            d.lineno = 0;
            st = bad(&d, "not a valid gzip stream (truncated)");
            break;
        }
    }
    inflateEnd(&zs);
    free(d.line);
    EVP_MD_CTX_free(d.sha);
    if (h != NULL)
        *h = d.h;
    return st;
}

int batch_continues(const struct batch_header *h, int64_t last_event,
                    const char *chain_hash, char *why, size_t whylen)
{
    if (h->first_event != last_event + 1) {
        snprintf(why, whylen,
                 "batch %" PRId64 " starts at event %" PRId64
                 ", the office holds events up to %" PRId64,
                 h->seq, h->first_event, last_event);
        return 0;
    }
    if (strcmp(h->prev_chain_hash, chain_hash) != 0) {
        snprintf(why, whylen,
                 "batch %" PRId64 " does not continue the chain the office "
                 "holds: event %" PRId64 " has hash %.12s… there, the batch "
                 "says %.12s…",
                 h->seq, last_event, chain_hash, h->prev_chain_hash);
        return 0;
    }
    return 1;
}
