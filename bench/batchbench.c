/*
 * batchbench.c: the batch figures' generator and timer (bench/batch).
 *
 *   batchbench OUTDIR N BATCH KEYHEX
 *
 * Makes N chained check-in events like a station's (hashed with chain/,
 * untimed, held in memory), then times encoding and compressing all N as
 * one batch with the shared codec (chain/batch.c), and prints
 *
 *   encode_s=S ndjson_bytes=B body_bytes=C
 *
 * It writes, for the baselines and the ingest benchmarks:
 *   OUTDIR/all.ndjson     the batch inflated (what gzip -6 is timed on)
 *   OUTDIR/rows.tsv       the events as COPY text rows of the office's
 *                         event table (what COPY and sqlite3 are timed on)
 *   OUTDIR/b-SEQ.gz(.sig) the events in batches of BATCH, signed with
 *                         KEYHEX, as site B1, station s1
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "batch.h"
#include "hex.h"
#include "record.h"

struct ev {
    struct chain_row r;
    char time[64], ticket[32], payload[320];
    char prev[CHAIN_HASH_HEX + 1], hash[CHAIN_HASH_HEX + 1];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "batchbench: %s\n", what);
    exit(1);
}

static void make(struct ev *v, int64_t n)
{
    static const char *const names[] = {"黄伟", "唐欣怡", "郭伟", "宋晓东",
                                        "李娜", "王芳",   "张磊", "刘洋"};
    int64_t i;

    for (i = 0; i < n; i++) {
        struct ev *e = &v[i];
        int64_t s = 1764547200 + i / 4; /* 2025-12-01, 4 a second */
        struct tm tm;
        time_t t = (time_t)s;
        gmtime_r(&t, &tm);
        snprintf(e->time, sizeof(e->time),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(i % 4) * 250);
        snprintf(e->ticket, sizeof(e->ticket), "26%010" PRId64, i % 100000 + 1);
        snprintf(e->payload, sizeof(e->payload),
                 "{\"result\":\"accepted\",\"via\":\"ticket\",\"name\":\"%s\","
                 "\"seat\":\"%02d\",\"candidate_room\":\"%d\","
                 "\"message_zh\":\"请入座 %02d 号\",\"message_en\":\"OK, seat "
                 "%02d\"}",
                 names[i % 8], (int)(i % 30) + 1, 101 + (int)(i / 30 % 20),
                 (int)(i % 30) + 1, (int)(i % 30) + 1);
        e->r.id = i + 1;
        e->r.time = e->time;
        e->r.tz_offset = 28800;
        e->r.kind = "checkin.accepted";
        e->r.session = "WEB-2026-12A";
        e->r.room = "101";
        e->r.ticket = e->ticket;
        e->r.device = i % 2 ? "door1" : "door2";
        e->r.operator_name = NULL;
        e->r.payload = e->payload;
        memcpy(e->prev, i ? v[i - 1].hash : chain_zero_hash, sizeof(e->prev));
        if (chain_row_hash(&e->r, e->prev, e->hash) == -1)
            die("hash");
    }
}

static void encode(struct ev *v, int64_t first, int64_t n, int64_t seq,
                   unsigned char **body, size_t *len)
{
    struct batch_enc *b;
    struct err e;
    int64_t i;

    b = batch_enc_new("B1", "s1", seq, v[first].prev, 6, &e);
    if (b == NULL)
        die(e.msg);
    for (i = first; i < first + n; i++)
        if (batch_enc_add(b, &v[i].r, v[i].prev, v[i].hash, &e) == -1)
            die(e.msg);
    if (batch_enc_finish(b, body, len, NULL, &e) == -1)
        die(e.msg);
    batch_enc_free(b);
}

static void put_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
        fclose(f) != 0)
        die(path);
}

/* COPY text format: no field here needs escaping but the payload's
 * nothing; NULL is \N. */
static void tsv(const char *dir, struct ev *v, int64_t n, int64_t batch)
{
    char path[4096];
    FILE *f;
    int64_t i;

    snprintf(path, sizeof(path), "%s/rows.tsv", dir);
    if ((f = fopen(path, "w")) == NULL)
        die(path);
    for (i = 0; i < n; i++)
        fprintf(f,
                "B1\ts1\t%" PRId64 "\t%" PRId64 "\t%s\t28800\t%s\t%s\t%s\t%s\t"
                "%s\t\\N\t%s\t%s\t%s\n",
                v[i].r.id, i / batch + 1, v[i].time, v[i].r.kind,
                v[i].r.session, v[i].r.room, v[i].ticket, v[i].r.device,
                v[i].payload, v[i].prev, v[i].hash);
    if (fclose(f) != 0)
        die(path);
}

static void inflate_to(const char *dir, const unsigned char *body, size_t len,
                       size_t *out)
{
    unsigned char buf[1 << 16];
    char path[4096];
    z_stream zs;
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/all.ndjson", dir);
    if ((f = fopen(path, "wb")) == NULL)
        die(path);
    memset(&zs, 0, sizeof(zs));
    inflateInit2(&zs, 31);
    zs.next_in = (Bytef *)(uintptr_t)body;
    zs.avail_in = (uInt)len;
    *out = 0;
    do {
        zs.next_out = buf;
        zs.avail_out = sizeof(buf);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            die("inflate");
        fwrite(buf, 1, sizeof(buf) - zs.avail_out, f);
        *out += sizeof(buf) - zs.avail_out;
    } while (rc != Z_STREAM_END);
    inflateEnd(&zs);
    fclose(f);
}

int main(int argc, char **argv)
{
    unsigned char key[BATCH_KEY_MAX], *body;
    char sig[BATCH_SIG_HEX + 2], name[64];
    int64_t n, batch, i, seq;
    size_t len, ilen;
    long keylen;
    struct err e;
    struct ev *v;
    double t0, t1;

    if (argc != 5)
        die("usage: batchbench OUTDIR N BATCH KEYHEX");
    n = atoll(argv[2]);
    batch = atoll(argv[3]);
    if (n < 1 || batch < 1 ||
        (keylen = batch_key_parse(argv[4], strlen(argv[4]), key, sizeof(key),
                                  &e)) == -1)
        die("bad arguments");
    if ((v = calloc((size_t)n, sizeof(*v))) == NULL)
        die("out of memory");
    make(v, n);
    t0 = now_s();
    encode(v, 0, n, 1, &body, &len);
    t1 = now_s();
    inflate_to(argv[1], body, len, &ilen);
    put_file(argv[1], "all.gz", body, len);
    free(body);
    printf("encode_s=%.3f ndjson_bytes=%zu body_bytes=%zu\n", t1 - t0, ilen,
           len);
    for (i = 0, seq = 1; i < n; i += batch, seq++) {
        int64_t k = n - i < batch ? n - i : batch;
        encode(v, i, k, seq, &body, &len);
        snprintf(name, sizeof(name), "b-%" PRId64 ".gz", seq);
        put_file(argv[1], name, body, len);
        if (batch_sign(key, (size_t)keylen, body, len, sig) == -1)
            die("sign");
        strcat(sig, "\n");
        snprintf(name, sizeof(name), "b-%" PRId64 ".gz.sig", seq);
        put_file(argv[1], name, sig, strlen(sig));
        free(body);
    }
    tsv(argv[1], v, n, batch);
    free(v);
    return 0;
}
