/*
 * csvread.h: reading an outside CSV file (rosters, session lists) into
 * rows of UTF-8 fields, with the physical line each row starts on.
 *
 * Encodings: UTF-8 with or without BOM, or GB18030, detected (a file that
 * is not valid UTF-8 is taken as GB18030) or forced; converted with iconv.
 * Parsing is libcsv in strict mode (RFC 4180 quoting, LF or CRLF, embedded
 * commas and newlines in quotes).  Blank lines are skipped, and so are
 * rows whose every field is empty (the ",,,,," lines Excel leaves where a
 * row was cleared).  The whole file is bounded (CSVREAD_MAX_BYTES) and so
 * is each field.
 */
#ifndef EXAMSITE_CSVREAD_H
#define EXAMSITE_CSVREAD_H

#include <stddef.h>

#include "err.h"

#define CSVREAD_MAX_BYTES  (256u * 1024 * 1024)
#define CSVREAD_MAX_FIELDS 64
#define CSVREAD_MAX_FIELD  1024

enum csv_encoding { CSV_ENC_AUTO = 0, CSV_ENC_UTF8, CSV_ENC_GB18030 };

/*
 * Called once per record that has a non-empty field, header included.
 * fields[i] are NUL-terminated,
 * trimmed of surrounding white space, owned by the reader and valid only
 * during the call.  line is where the record starts.  Return 0 to go on,
 * -1 to stop (csvread_file then returns -1 with the callback's reason
 * prefixed by "FILE:LINE: ").
 */
typedef int (*csvread_row_fn)(void *ud, int line, char **fields, size_t nfields,
                              struct err *e);

struct csvread_info {
    enum csv_encoding encoding; /* what was used */
    int had_bom;
    size_t bytes;    /* size of the file */
    int lines;       /* physical lines */
    char sha256[65]; /* of the file as read, hex */
};

/* Parse "auto", "utf-8"/"utf8", "gb18030".  0 or -1. */
int csvread_encoding(const char *name, enum csv_encoding *out);

/*
 * Read path and call fn for each record.  Errors (e->code EX_NOINPUT,
 * EX_DATAERR, EX_IOERR) carry e->line when tied to a line.  A row with too
 * many fields or an over-long field is a data error at its line.
 */
int csvread_file(const char *path, enum csv_encoding enc, csvread_row_fn fn,
                 void *ud, struct csvread_info *info, struct err *e);

/* The same over bytes already in memory; path only names them in messages. */
int csvread_buffer(const char *path, const char *buf, size_t len,
                   enum csv_encoding enc, csvread_row_fn fn, void *ud,
                   struct csvread_info *info, struct err *e);

/*
 * Column lookup: names[] are the accepted header spellings of one column
 * (English and Chinese), compared case-insensitively after trimming.
 * Returns the index in header, or -1.
 */
int csvread_column(char **header, size_t n, const char *const *names);

/* Is buf valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF)?  Returns
 * 1, or 0 and the 1-based line of the first bad byte in *bad_line. */
int csvread_utf8_valid(const char *buf, size_t len, int *bad_line);

#endif
