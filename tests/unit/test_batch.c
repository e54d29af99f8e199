/*
 * test_batch.c: chain/: the canonical hash (the worked example of
 * docs/event-chain.md, computed independently), and the batch codec:
 * encode then decode, the same bytes every time, the signature, and
 * every refusal of the decoder (altered, broken chain, headers that
 * disagree, not gzip, trailing bytes, a non-JSON line, a line over the
 * limit, a gzip bomb within bounded memory).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "batch.h"
#include "record.h"

#define NEV 5

struct chain {
    struct chain_row r[NEV];
    char times[NEV][40], payloads[NEV][64];
    char prev[NEV][CHAIN_HASH_HEX + 1], hash[NEV][CHAIN_HASH_HEX + 1];
};

/* Events first..first+NEV-1 chained after prev. */
static void make_chain(struct chain *c, int64_t first, const char *prev)
{
    int i;

    for (i = 0; i < NEV; i++) {
        struct chain_row *r = &c->r[i];
        memset(r, 0, sizeof(*r));
        r->id = first + i;
        snprintf(c->times[i], sizeof(c->times[i]), "2026-12-05T01:00:%02d.000Z",
                 i % 60);
        r->time = c->times[i];
        r->tz_offset = 28800;
        r->kind = "checkin.accepted";
        r->session = "WEB-2026-12A";
        r->room = "101";
        r->ticket = i % 2 ? "260000000001" : NULL;
        snprintf(c->payloads[i], sizeof(c->payloads[i]),
                 "{\"seat\":\"%02d\",\"name\":\"张三\"}", i + 1);
        r->payload = c->payloads[i];
        memcpy(c->prev[i], i ? c->hash[i - 1] : prev, CHAIN_HASH_HEX + 1);
        assert_int_equal(chain_row_hash(r, c->prev[i], c->hash[i]), 0);
    }
}

static void encode(const struct chain *c, int64_t seq, unsigned char **body,
                   size_t *len, struct batch_header *h)
{
    struct batch_enc *b;
    struct err e;
    int i;

    b = batch_enc_new("S1", "st1", seq, c->prev[0], 6, &e);
    assert_non_null(b);
    for (i = 0; i < NEV; i++)
        assert_int_equal(batch_enc_add(b, &c->r[i], c->prev[i], c->hash[i], &e),
                         0);
    assert_int_equal(batch_enc_finish(b, body, len, h, &e), 0);
    batch_enc_free(b);
}

/* gzip of text, as anyone's tool would write it. */
static unsigned char *gz(const void *text, size_t n, size_t *out)
{
    z_stream zs;
    size_t cap = n + n / 100 + 1024;
    unsigned char *buf = malloc(cap);

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(
        deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)n;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out = cap - zs.avail_out;
    deflateEnd(&zs);
    return buf;
}

static unsigned char *inflate_all(const unsigned char *body, size_t len,
                                  size_t *out)
{
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    z_stream zs;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 31), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)body;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap - 1;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    *out = cap - 1 - zs.avail_out;
    buf[*out] = '\0';
    inflateEnd(&zs);
    return buf;
}

struct count {
    int headers, events;
    int64_t last_id;
};

static int on_header(void *arg, const struct batch_header *h, struct err *e)
{
    struct count *c = arg;

    (void)h;
    (void)e;
    c->headers++;
    return 0;
}

static int on_event(void *arg, const struct chain_row *r, const char *prev,
                    const char *hash, struct err *e)
{
    struct count *c = arg;

    (void)prev;
    (void)hash;
    (void)e;
    c->events++;
    c->last_id = r->id;
    return 0;
}

static enum batch_status decode(const void *body, size_t len, int64_t seq,
                                struct count *c, struct err *e)
{
    struct batch_sink sink = {on_header, on_event, c};

    memset(c, 0, sizeof(*c));
    return batch_decode(body, len, NULL, "S1", "st1", seq, &sink, NULL, e);
}

static void test_worked_example(void **state)
{
    struct chain_row r = {1,
                          "2026-12-05T01:00:00.000Z",
                          28800,
                          "checkin.accepted",
                          "WEB-2026-12A",
                          "101",
                          "260000000001",
                          NULL,
                          NULL,
                          "{\"seat\":\"01\"}"};
    char h[CHAIN_HASH_HEX + 1];

    (void)state;
    assert_int_equal(chain_row_hash(&r, chain_zero_hash, h), 0);
    assert_string_equal(
        h, "de11ad93be68c5306c99c52ce2654747722df41d952870b3e2c4fb2989de3392");
    assert_true(chain_hash_valid(h));
    /* the same hash as bytes, after the raw prev (a decoder's way) */
    {
        unsigned char zero[CHAIN_HASH_BYTES] = {0}, raw[CHAIN_HASH_BYTES];
        assert_int_equal(chain_row_digest_after(&r, zero, raw), 0);
        assert_int_equal(raw[0], 0xde);
        assert_int_equal(raw[1], 0x11);
        assert_int_equal(raw[31], 0x92);
    }
    h[3] = 'A';
    assert_false(chain_hash_valid(h));
    h[3] = 'g';
    assert_false(chain_hash_valid(h));
    h[3] = '/';
    assert_false(chain_hash_valid(h));
    h[3] = '1';
    assert_true(chain_hash_valid(h));
    h[63] = '\0'; /* 63 digits */
    assert_false(chain_hash_valid(h));
    assert_false(chain_hash_valid(""));
    assert_false(chain_hash_valid(NULL));
    assert_false(
        chain_hash_valid("de11ad93be68c5306c99c52ce2654747722df41d952870b3"
                         "e2c4fb2989de33920"));
    assert_int_equal(chain_row_hash(&r, "xyz", h), -1);
}

/* docs/batch-format.md, Worked example: these exact two lines. */
static void test_doc_example(void **state)
{
    static const char want[] =
        "{\"batch\":{\"v\":1,\"site\":\"S1\",\"station\":\"st1\",\"seq\":1,"
        "\"first_event\":1,\"last_event\":1,\"count\":1,\"prev_chain_hash\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"last_chain_hash\":"
        "\"de11ad93be68c5306c99c52ce2654747722df41d952870b3e2c4fb2989de3392\","
        "\"payload_sha256\":"
        "\"f4d01fafd134702462d7e6045b0908e4ff553222156fa19f5631c0061f152983\"}}"
        "\n"
        "{\"id\":1,\"time\":\"2026-12-05T01:00:00.000Z\",\"tz_offset\":28800,"
        "\"kind\":\"checkin.accepted\",\"session\":\"WEB-2026-12A\",\"room\":"
        "\"101\",\"ticket\":\"260000000001\",\"device\":null,\"operator\":null,"
        "\"payload\":\"{\\\"seat\\\":\\\"01\\\"}\",\"prev_hash\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"hash\":"
        "\"de11ad93be68c5306c99c52ce2654747722df41d952870b3e2c4fb2989de3392\"}"
        "\n";
    struct chain_row r = {1,
                          "2026-12-05T01:00:00.000Z",
                          28800,
                          "checkin.accepted",
                          "WEB-2026-12A",
                          "101",
                          "260000000001",
                          NULL,
                          NULL,
                          "{\"seat\":\"01\"}"};
    const char *h =
        "de11ad93be68c5306c99c52ce2654747722df41d952870b3e2c4fb2989de3392";
    struct batch_enc *b;
    unsigned char *body, *text;
    size_t len, tlen;
    struct err e;

    (void)state;
    b = batch_enc_new("S1", "st1", 1, chain_zero_hash, 6, &e);
    assert_non_null(b);
    assert_int_equal(batch_enc_add(b, &r, chain_zero_hash, h, &e), 0);
    assert_int_equal(batch_enc_finish(b, &body, &len, NULL, &e), 0);
    batch_enc_free(b);
    text = inflate_all(body, len, &tlen);
    assert_string_equal((char *)text, want);
    free(text);
    free(body);
}

static void test_roundtrip(void **state)
{
    struct chain c;
    unsigned char *body, *body2, *text;
    size_t len, len2, tlen;
    struct batch_header h, got;
    struct count n;
    struct err e;

    (void)state;
    make_chain(&c, 11, chain_zero_hash);
    encode(&c, 3, &body, &len, &h);
    assert_int_equal(h.first_event, 11);
    assert_int_equal(h.last_event, 15);
    assert_int_equal(h.count, NEV);
    assert_string_equal(h.last_chain_hash, c.hash[NEV - 1]);
    /* once numbered, the same bytes every time */
    encode(&c, 3, &body2, &len2, NULL);
    assert_int_equal(len, len2);
    assert_memory_equal(body, body2, len);
    /* one gzip member anyone inflates: header line, then NEV lines */
    text = inflate_all(body, len, &tlen);
    assert_int_equal(
        strncmp((char *)text, "{\"batch\":{\"v\":1,\"site\":\"S1\"", 27), 0);
    {
        int lines = 0;
        for (size_t i = 0; i < tlen; i++)
            lines += text[i] == '\n';
        assert_int_equal(lines, NEV + 1);
    }
    /* payload is the stored text, in a string */
    assert_non_null(
        strstr((char *)text, "\"payload\":\"{\\\"seat\\\":\\\"01\\\","));
    assert_int_equal(batch_decode(body, len, NULL, "S1", "st1", 3,
                                  &(struct batch_sink){on_header, on_event, &n},
                                  &got, &e),
                     BATCH_OK);
    assert_int_equal(decode(body, len, 3, &n, &e), BATCH_OK);
    assert_int_equal(n.headers, 1);
    assert_int_equal(n.events, NEV);
    assert_int_equal(n.last_id, 15);
    assert_string_equal(got.payload_sha256, h.payload_sha256);
    /* the request's headers must agree */
    assert_int_equal(decode(body, len, 4, &n, &e), BATCH_MALFORMED);
    assert_non_null(strstr(e.msg, "X-Examsite-Seq"));
    assert_int_equal(
        batch_decode(body, len, NULL, "S2", NULL, -1, NULL, NULL, &e),
        BATCH_MALFORMED);
    /* continuing */
    {
        char why[256];
        assert_int_equal(batch_continues(&h, 10, c.prev[0], why, sizeof(why)),
                         1);
        assert_int_equal(batch_continues(&h, 9, c.prev[0], why, sizeof(why)),
                         0);
        assert_int_equal(batch_continues(&h, 10, c.hash[0], why, sizeof(why)),
                         0);
    }
    free(text);
    free(body);
    free(body2);
}

static void test_signature(void **state)
{
    unsigned char key[32], key2[32];
    char sig[BATCH_SIG_HEX + 1];
    struct err e;

    (void)state;
    memset(key, 7, sizeof(key));
    memset(key2, 8, sizeof(key2));
    assert_int_equal(batch_sign(key, sizeof(key), "abc", 3, sig), 0);
    assert_true(batch_sig_ok(key, sizeof(key), "abc", 3, sig));
    assert_false(batch_sig_ok(key2, sizeof(key2), "abc", 3, sig));
    assert_false(batch_sig_ok(key, sizeof(key), "abd", 3, sig));
    assert_false(batch_sig_ok(key, sizeof(key), "abc", 3, "00"));
    assert_false(batch_sig_ok(key, sizeof(key), "abc", 3, NULL));
    assert_int_equal(batch_key_parse("0011", 4, key, sizeof(key), &e), -1);
    assert_int_equal(batch_key_parse("000102030405060708090a0b0c0d0e0f\n", 33,
                                     key, sizeof(key), &e),
                     16);
}

/* Re-encode the inflated text with one substitution, as an attacker or a
 * broken encoder would. */
static enum batch_status decode_text(const char *text, struct err *e)
{
    unsigned char *body;
    struct count n;
    size_t len;
    enum batch_status st;

    body = gz(text, strlen(text), &len);
    st = decode(body, len, -1, &n, e);
    free(body);
    return st;
}

static char *subst(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    char *out;

    assert_non_null(p);
    out = malloc(strlen(s) + strlen(to) + 1);
    memcpy(out, s, (size_t)(p - s));
    strcpy(out + (p - s), to);
    strcat(out, p + strlen(from));
    return out;
}

static void test_refusals(void **state)
{
    struct chain c;
    unsigned char *body, *text;
    size_t len, tlen;
    struct count n;
    struct err e;
    char *bad;

    (void)state;
    make_chain(&c, 1, chain_zero_hash);
    encode(&c, 1, &body, &len, NULL);
    text = inflate_all(body, len, &tlen);

    /* the text re-gzipped by another tool is still the batch */
    assert_int_equal(decode_text((char *)text, &e), BATCH_OK);

    /* a payload altered, hash kept */
    bad = subst((char *)text, "\\\"seat\\\":\\\"02\\\"",
                "\\\"seat\\\":\\\"09\\\"");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    assert_non_null(strstr(e.msg, "altered"));
    free(bad);
    /* a line removed: the chain is broken */
    {
        char *l2 = strchr(strchr((char *)text, '\n') + 1, '\n') + 1;
        char *l3 = strchr(l2, '\n') + 1;
        bad = malloc(tlen + 1);
        memcpy(bad, text, (size_t)(l2 - (char *)text));
        strcpy(bad + (l2 - (char *)text), l3);
        assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
        assert_non_null(strstr(e.msg, "consecutive"));
        free(bad);
    }
    /* not JSON */
    bad = subst((char *)text, "{\"id\":3,", "{\"id\":3,,");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    assert_non_null(strstr(e.msg, "line 4: not JSON"));
    assert_int_equal(e.line, 4);
    free(bad);
    /* an unknown key; a bad time; a bad kind; CRLF */
    bad = subst((char *)text, "{\"id\":2,", "{\"x\":1,\"id\":2,");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    free(bad);
    bad = subst((char *)text, "2026-12-05T01:00:01.000Z",
                "2026-02-30T01:00:01.000Z");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    assert_non_null(strstr(e.msg, "time"));
    free(bad);
    bad = subst((char *)text, "checkin.accepted", "Checkin");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    free(bad);
    bad = subst((char *)text, "}\n", "}\r\n");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    free(bad);
    /* the header's count */
    bad = subst((char *)text, "\"count\":5", "\"count\":6");
    assert_int_equal(decode_text(bad, &e), BATCH_MALFORMED);
    free(bad);
    /* no LF at the end */
    text[tlen - 1] = '\0';
    assert_int_equal(decode_text((char *)text, &e), BATCH_MALFORMED);
    assert_non_null(strstr(e.msg, "LF"));

    /* a byte of the compressed body flipped: gzip's CRC or the data */
    body[len / 2] ^= 0x10;
    assert_int_not_equal(decode(body, len, -1, &n, &e), BATCH_OK);
    body[len / 2] ^= 0x10;
    /* truncated, trailing bytes, not gzip at all */
    assert_int_equal(decode(body, len - 3, -1, &n, &e), BATCH_MALFORMED);
    {
        unsigned char *more = malloc(len + 4);
        memcpy(more, body, len);
        memcpy(more + len, "junk", 4);
        assert_int_equal(decode(more, len + 4, -1, &n, &e), BATCH_MALFORMED);
        free(more);
    }
    assert_int_equal(decode("hello", 5, -1, &n, &e), BATCH_MALFORMED);
    assert_int_equal(decode("", 0, -1, &n, &e), BATCH_MALFORMED);
    free(text);
    free(body);
}

/* Every event the decoder hands over, as text, to compare two decodings. */
struct rows {
    char text[16384];
    size_t len;
};

static const char *or_null(const char *s)
{
    return s ? s : "(null)";
}

static int on_row(void *arg, const struct chain_row *r, const char *prev,
                  const char *hash, struct err *e)
{
    struct rows *w = arg;
    int n;

    (void)e;
    n = snprintf(w->text + w->len, sizeof(w->text) - w->len,
                 "%" PRId64 "|%s|%ld|%s|%s|%s|%s|%s|%s|%s|%s|%s\n", r->id,
                 r->time, r->tz_offset, r->kind, or_null(r->session),
                 or_null(r->room), or_null(r->ticket), or_null(r->device),
                 or_null(r->operator_name), r->payload, prev, hash);
    assert_true(n > 0 && (size_t)n < sizeof(w->text) - w->len);
    w->len += (size_t)n;
    return 0;
}

/* The header's payload_sha256 made that of text's event lines again
 * (in place), as a station writing them so would have. */
static void reseal(char *text)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0, i;
    char *lines = strchr(text, '\n') + 1;
    char *at = strstr(text, "\"payload_sha256\":\"") + 18;

    assert_true(EVP_Digest(lines, strlen(lines), d, &dl, EVP_sha256(), NULL));
    for (i = 0; i < 32; i++) {
        char two[3];
        snprintf(two, sizeof(two), "%02x", d[i]);
        memcpy(at + 2 * i, two, 2);
    }
}

static enum batch_status decode_rows(char *text, struct rows *w, struct err *e)
{
    struct batch_sink sink = {NULL, on_row, w};
    unsigned char *body;
    size_t len;
    enum batch_status st;

    memset(w, 0, sizeof(*w));
    reseal(text);
    body = gz(text, strlen(text), &len);
    st = batch_decode(body, len, NULL, "S1", "st1", -1, &sink, NULL, e);
    free(body);
    return st;
}

/* The encoder's own lines and any other form of the same JSON give the
 * same events, byte for byte, and refuse the same things. */
static void test_line_forms(void **state)
{
    static const char *const forms[][2] = {
        /* spacing */
        {"{\"id\":2,\"time\"", "{ \"id\": 2, \"time\""},
        /* another key order */
        {"\"session\":\"WEB-2026-12A\",\"room\":\"1\\\\01\"",
         "\"room\":\"1\\\\01\",\"session\":\"WEB-2026-12A\""},
        /* escapes the encoder does not write */
        {"\"kind\":\"checkin.accepted\"",
         "\"kind\":\"checkin\\u002eaccepted\""},
        {"{\\\"seat\\\"", "{\\u0022seat\\\""},
        {"\\\"q\\\\\\\\\\\"", "\\\"q\\u005c\\\\\\\""},
    };
    static const char *const refused[][3] = {
        {"{\"id\":2,", "{\"id\":02,", "line 3: not JSON"},
        {"\"time\":\"2026", "\"time\":\"\xff\x32\x30\x32\x36",
         "line 2: not JSON"},
        {"\"room\":\"1\\\\01\"", "\"room\":\"1\\x01\"", "line 2: not JSON"},
        {"\"room\":\"1\\\\01\"", "\"room\":\"1\\\"01\"", "altered"},
        {"\"tz_offset\":28800", "\"tz_offset\":-0", "altered"},
    };
    struct chain c;
    struct rows want, got;
    unsigned char *body, *text;
    size_t len, tlen, i;
    struct err e;
    char *alt;
    int k;

    (void)state;
    make_chain(&c, 1, chain_zero_hash);
    /* text with a quote and a backslash, in a field and in the payload */
    for (k = 0; k < NEV; k++) {
        c.r[k].room = "1\\01";
        snprintf(c.payloads[k], sizeof(c.payloads[k]),
                 "{\"seat\":\"%02d\",\"q\\\\\":\"a\\\"b\"}", k + 1);
        c.r[k].device = k == 2 ? "door \"2\"" : NULL;
        memcpy(c.prev[k], k ? c.hash[k - 1] : chain_zero_hash,
               CHAIN_HASH_HEX + 1);
        assert_int_equal(chain_row_hash(&c.r[k], c.prev[k], c.hash[k]), 0);
    }
    encode(&c, 1, &body, &len, NULL);
    text = inflate_all(body, len, &tlen);
    assert_int_equal(decode_rows((char *)text, &want, &e), BATCH_OK);
    assert_non_null(strstr(want.text, "|door \"2\"|"));
    assert_non_null(
        strstr(want.text, "{\"seat\":\"03\",\"q\\\\\":\"a\\\"b\"}"));
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        alt = subst((char *)text, forms[i][0], forms[i][1]);
        if (decode_rows(alt, &got, &e) != BATCH_OK)
            fail_msg("form %zu: %s", i, e.msg);
        assert_string_equal(got.text, want.text);
        free(alt);
    }
    /* what jansson refuses stays refused: a leading zero, bad UTF-8, an
     * unknown escape; a value read otherwise does not hash */
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        alt = subst((char *)text, refused[i][0], refused[i][1]);
        assert_int_equal(decode_rows(alt, &got, &e), BATCH_MALFORMED);
        if (strstr(e.msg, refused[i][2]) == NULL)
            fail_msg("refusal %zu: %s", i, e.msg);
        free(alt);
    }
    free(text);
    free(body);
}

static void test_limits(void **state)
{
    struct batch_limits lim;
    unsigned char *zeros, *body;
    size_t len, n = 64u << 20;
    struct err e;
    char *line;

    (void)state;
    /* a line over the limit, in a valid gzip stream */
    line = malloc(BATCH_LINE_MAX + 10);
    {
        uint32_t x = 1; /* letters that do not compress far */
        for (size_t i = 0; i < BATCH_LINE_MAX + 8; i++) {
            x = x * 1103515245u + 12345u;
            line[i] = (char)('a' + (x >> 16) % 26);
        }
    }
    line[BATCH_LINE_MAX + 8] = '\n';
    line[BATCH_LINE_MAX + 9] = '\0';
    body = gz(line, BATCH_LINE_MAX + 9, &len);
    assert_int_equal(
        batch_decode(body, len, NULL, NULL, NULL, -1, NULL, NULL, &e),
        BATCH_MALFORMED);
    assert_non_null(strstr(e.msg, "line 1: over"));
    free(body);
    free(line);
    /* a bomb: 64 MiB of zeros in ~64 KiB; refused by the ratio early */
    zeros = calloc(1, n);
    body = gz(zeros, n, &len);
    free(zeros);
    assert_true(len < n / 500);
    assert_int_equal(
        batch_decode(body, len, NULL, NULL, NULL, -1, NULL, NULL, &e),
        BATCH_TOO_LARGE);
    /* and by the inflated size, with the ratio out of the way */
    batch_limits_default(&lim);
    lim.max_ratio = 1u << 30;
    lim.max_inflated = 32768;
    assert_int_equal(
        batch_decode(body, len, &lim, NULL, NULL, -1, NULL, NULL, &e),
        BATCH_TOO_LARGE);
    /* and by the compressed size */
    lim.max_body = 100;
    assert_int_equal(
        batch_decode(body, len, &lim, NULL, NULL, -1, NULL, NULL, &e),
        BATCH_TOO_LARGE);
    free(body);
}

static void test_encoder_refuses(void **state)
{
    struct batch_enc *b;
    unsigned char *body;
    struct chain c;
    struct err e;
    size_t len;

    (void)state;
    make_chain(&c, 1, chain_zero_hash);
    b = batch_enc_new("S1", "st1", 1, chain_zero_hash, 6, &e);
    assert_int_equal(batch_enc_finish(b, &body, &len, NULL, &e), -1);
    assert_int_equal(batch_enc_add(b, &c.r[1], c.prev[1], c.hash[1], &e), -1);
    batch_enc_free(b);
    assert_null(batch_enc_new("S 1", "st1", 1, chain_zero_hash, 6, &e));
    assert_false(batch_id_valid(""));
    assert_true(batch_id_valid("S1.a_b-c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_doc_example),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_line_forms),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_encoder_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
