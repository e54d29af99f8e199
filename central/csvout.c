/*
 * csvout.c: CSV for spreadsheets (csvout.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "csvout.h"

static void add(struct csvout *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void csvout_init(struct csvout *b)
{
    memset(b, 0, sizeof(*b));
    add(b, "\xEF\xBB\xBF", 3);
}

static void cell(struct csvout *b, const char *s)
{
    size_t n = strlen(s), need = 2 * n + 3;
    char *q;

    if (b->col++ > 0)
        add(b, ",", 1);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        add(b, s, n);
        return;
    }
    if ((q = malloc(need)) == NULL) {
        b->oom = 1;
        return;
    }
    add(b, q, csv_write(q, need, s, n));
    free(q);
}

void csvout_text(struct csvout *b, const char *s)
{
    char *q;

    if (s == NULL || strchr("=+-@\t\r", s[0]) == NULL || s[0] == '\0') {
        cell(b, s ? s : "");
        return;
    }
    if ((q = malloc(strlen(s) + 2)) == NULL) {
        b->oom = 1;
        return;
    }
    q[0] = '\'';
    memcpy(q + 1, s, strlen(s) + 1);
    cell(b, q);
    free(q);
}

void csvout_num(struct csvout *b, const json_t *v)
{
    char t[64] = "";

    if (json_is_integer(v))
        snprintf(t, sizeof(t), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(t, sizeof(t), "%.4f", json_real_value(v));
    cell(b, t);
}

void csvout_end(struct csvout *b)
{
    add(b, "\r\n", 2);
    b->col = 0;
}

char *csvout_finish(struct csvout *b)
{
    if (b->oom || b->p == NULL) {
        free(b->p);
        return NULL;
    }
    return b->p;
}
