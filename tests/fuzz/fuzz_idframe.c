/*
 * fuzz_idframe.c: libFuzzer target for the frame decoder.  The first byte
 * picks a chunk size so every chunking is explored; each chunk is copied
 * into an exact-size allocation so a read past the input is caught.
 * Every decoded response also goes through idtext_from_response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idframe.h"
#include "idtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct idframe_decoder d;
    size_t step, pos;

    if (size < 1)
        return 0;
    step = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    idframe_decoder_init(&d);
    for (pos = 0; pos < size; pos += step) {
        size_t n = size - pos < step ? size - pos : step, off = 0;
        uint8_t *chunk = malloc(n);

        memcpy(chunk, data + pos, n);
        while (off < n) {
            struct idframe f;
            size_t used;
            enum idframe_result r =
                idframe_decoder_feed(&d, chunk + off, n - off, &used, &f);
            if (used > n - off)
                abort();
            off += used;
            if (r == IDFRAME_OK || r == IDFRAME_BADSUM) {
                struct idcard_info info;
                if (f.raw_len != (size_t)f.len + 7)
                    abort();
                (void)idframe_is_command(&f);
                idtext_from_response(f.body, f.body_len, 0, &info, NULL);
                idtext_from_response(f.body, f.body_len, 1, &info, NULL);
            } else if (r == IDFRAME_MORE && off != n) {
                abort();
            }
        }
        free(chunk);
    }
    return 0;
}
