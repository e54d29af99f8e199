/*
 * fuzz_csvread.c: libFuzzer target for the roster/session file reader:
 * encoding detection and GB18030 conversion (iconv), libcsv in strict mode,
 * line numbers, field and record bounds.  The first byte picks the forced
 * encoding (auto, utf-8, gb18030); every field handed out must be a
 * NUL-terminated string within the field bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int row(void *ud, int line, char **f, size_t n, struct err *e)
{
    size_t *rows = ud, i;

    (void)e;
    if (line < 1 || n > CSVREAD_MAX_FIELDS)
        abort();
    for (i = 0; i < n; i++)
        if (strlen(f[i]) > CSVREAD_MAX_FIELD)
            abort();
    (*rows)++;
    return *rows > 100000 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum csv_encoding enc[] = {CSV_ENC_AUTO, CSV_ENC_UTF8,
                                            CSV_ENC_GB18030};
    struct csvread_info info;
    struct err e;
    size_t rows = 0;

    if (size < 1)
        return 0;
    err_clear(&e);
    if (csvread_buffer("fuzz.csv", (const char *)data + 1, size - 1,
                       enc[data[0] % 3], row, &rows, &info, &e) == -1 &&
        e.msg[0] == '\0')
        abort(); /* a failure always says why */
    return 0;
}
