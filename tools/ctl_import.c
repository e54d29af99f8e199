/*
 * ctl_import.c: what session and roster imports print, and their exit code.
 * Shared by `session import` and `roster import`.
 */
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "import.h"

static void progress(void *ud, int rows)
{
    (void)ud;
    if (rows >= 10000)
        fprintf(stderr, "\rexamctl: %d rows read...", rows);
}

void ctl_import_opts(struct import_opts *o)
{
    if (isatty(STDERR_FILENO))
        o->progress = progress;
}

static void print_json(const struct import_report *r)
{
    json_t *j = json_object(), *errs = json_array();
    size_t i;

    for (i = 0; i < r->nerrors; i++)
        json_array_append_new(errs,
                              json_pack("{s:i, s:s}", "line", r->errors[i].line,
                                        "reason", r->errors[i].reason));
    json_object_set_new(j, "imported",
                        json_integer(r->committed ? r->imported : 0));
    json_object_set_new(j, "unchanged", json_integer(r->unchanged));
    json_object_set_new(j, "rejected", json_integer(r->rejected));
    json_object_set_new(j, "errors", errs);
    ctl_print_json(j);
    json_decref(j);
}

int ctl_import_finish(struct ctl *c, const char *path, const char *what,
                      const struct import_opts *o,
                      const struct import_report *r)
{
    const char *enc = r->file.encoding == CSV_ENC_GB18030 ? "GB18030" : "UTF-8";
    size_t i;

    if (o->progress && r->rows >= 10000)
        fputc('\n', stderr);
    for (i = 0; i < r->nerrors; i++)
        fprintf(stderr, "examctl: %s:%d: %s\n", path, r->errors[i].line,
                r->errors[i].reason);
    if (c->json)
        print_json(r);
    if (r->rejected > 0 && !o->skip_invalid) {
        fprintf(stderr,
                "examctl: nothing imported: %d of %d rows are bad (fix them, "
                "or use --skip-invalid to import the good ones)\n",
                r->rejected, r->rows);
        return EX_DATAERR;
    }
    if (c->json)
        return 0;
    if (o->dry_run)
        printf("dry run, nothing written: %d %s would be imported, %d already "
               "present, %d rejected (%s, %s)\n",
               r->imported, what, r->unchanged, r->rejected, path, enc);
    else if (r->rows == 0)
        printf("nothing imported: %s has a header but no data rows\n", path);
    else if (r->imported == 0 && r->rejected == 0)
        printf("nothing changed: all %d %s in %s are already present\n",
               r->unchanged, what, path);
    else
        printf("imported %d %s, %d already present, %d rejected (%s, %s)\n",
               r->committed ? r->imported : 0, what, r->unchanged, r->rejected,
               path, enc);
    return 0;
}
