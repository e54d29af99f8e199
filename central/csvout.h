/*
 * csvout.h: CSV for spreadsheets, as the office's reports are opened in
 * Excel: UTF-8 with a BOM (so Excel takes it as UTF-8), CRLF, RFC 4180
 * quoting by libcsv, and text cells that Excel would read as a formula
 * (leading =, +, -, @, tab or CR) neutralised with a leading apostrophe.
 */
#ifndef EXAMSITE_CENTRAL_CSVOUT_H
#define EXAMSITE_CENTRAL_CSVOUT_H

#include <stddef.h>

#include <jansson.h>

struct csvout {
    char *p;
    size_t len, cap;
    int oom, col;
};

/* Start a document: the BOM. */
void csvout_init(struct csvout *b);
/* A text cell (NULL is empty). */
void csvout_text(struct csvout *b, const char *s);
/* A number cell from JSON (integer, real with 4 decimals, else empty). */
void csvout_num(struct csvout *b, const json_t *v);
/* End the row. */
void csvout_end(struct csvout *b);
/* The text (caller frees), or NULL when memory ran out. */
char *csvout_finish(struct csvout *b);

#endif
