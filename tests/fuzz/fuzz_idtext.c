/*
 * fuzz_idtext.c: libFuzzer target for the 256-byte text block decoder
 * (all three layouts, iconv, shape checks) and the JSON card object.  A
 * block that decodes must encode back without error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "idjson.h"
#include "idtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t text[IDTEXT_LEN], again[IDTEXT_LEN];
    struct idcard_info info;
    json_t *j;

    if (size < IDTEXT_LEN)
        return 0;
    memcpy(text, data, IDTEXT_LEN);
    if (idtext_decode(text, &info, NULL) == 0) {
        j = idjson_card(&info, 0);
        if (j == NULL)
            abort();
        json_decref(j);
        if (idtext_encode(&info, again, NULL) != 0)
            abort();
    }
    idcard_info_wipe(&info);
    return 0;
}
