/*
 * fuzz_batch.c: libFuzzer target for the batch decoder (chain/batch.c),
 * the parser examcentral runs on every upload.  The first byte chooses
 * what the rest is: odd, NDJSON text that is gzip-compressed here first
 * (so the fuzzer reaches the line and header parsers); even, the body as
 * sent (gzip framing, trailers, bombs).  Whatever the input: no crash, no
 * leak, and a batch that decodes has the events its header claims.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    int64_t events, last;
};

static int on_event(void *arg, const struct chain_row *r, const char *prev,
                    const char *hash, struct err *e)
{
    struct tally *t = arg;

    (void)prev;
    (void)hash;
    (void)e;
    t->events++;
    t->last = r->id;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct batch_sink sink = {NULL, on_event, NULL};
    struct batch_limits lim;
    struct batch_header h;
    struct tally t = {0, 0};
    unsigned char *body = NULL;
    const unsigned char *in;
    size_t len;
    struct err e;

    if (size < 1)
        return 0;
    sink.arg = &t;
    batch_limits_default(&lim);
    lim.max_inflated = 8u << 20; /* keep each run short */
    if (data[0] & 1) {
        z_stream zs;
        size_t cap = compressBound((uLong)size) + 64;
        memset(&zs, 0, sizeof(zs));
        if ((body = malloc(cap)) == NULL ||
            deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            abort();
        zs.next_in = (Bytef *)(uintptr_t)(data + 1);
        zs.avail_in = (uInt)(size - 1);
        zs.next_out = body;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            abort();
        len = cap - zs.avail_out;
        deflateEnd(&zs);
        in = body;
    } else {
        in = data + 1;
        len = size - 1;
    }
    if (batch_decode(in, len, &lim, NULL, NULL, -1, &sink, &h, &e) ==
            BATCH_OK &&
        (t.events != h.count || t.last != h.last_event))
        abort();
    free(body);
    return 0;
}
