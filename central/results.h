/*
 * results.h: importing the evaluation organisation's results file into
 * the office's store (docs/office.md, "Results").
 *
 * CSV (common/csvread: UTF-8 with or without BOM, or GB18030), a header
 * row with Chinese or English names: ticket / 准考证号 (required), score /
 * result / 成绩 and pass / 是否通过 (at least one; pass decides, or a
 * score that is a word such as 合格 / 不合格), session / 场次 (optional:
 * --session gives it for the whole file).  Each result is linked to the
 * candidate's check-in through the stored events: the ticket checked in
 * (checkin.accepted or checkin.manual) in that session.  A result for a
 * ticket recorded absent, or never checked in, is an error naming the
 * ticket.
 *
 * All or nothing: every bad line is named ("FILE:LINE: why"), and the
 * results are stored in one transaction only when no line is bad.
 */
#ifndef EXAMSITE_CENTRAL_RESULTS_H
#define EXAMSITE_CENTRAL_RESULTS_H

#include <stdio.h>

#include "err.h"

struct cstore;

#define RESULTS_MAX_ROWS   100000
#define RESULTS_TICKET_MAX 32
#define RESULTS_SCORE_MAX  16
#define RESULTS_SHOW_MAX   100 /* bad lines printed; the rest counted */

struct results_opts {
    const char *path;
    const char *session;  /* or NULL */
    const char *encoding; /* "auto", "utf-8", "gb18030"; NULL is auto */
    int dry_run;
};

struct results_summary {
    int rows, exams, bad, passed;
    char encoding[16];
};

/* Import; bad lines go to errs.  0, or -1 with e (EX_DATAERR: bad
 * lines, nothing stored). */
int results_import(struct cstore *st, const struct results_opts *o, FILE *errs,
                   struct results_summary *sum, struct err *e);

#endif
