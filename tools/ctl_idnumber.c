/*
 * ctl_idnumber.c: `examctl idnumber check NUMBER`.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "idnumber.h"

static const char idnumber_usage[] = "idnumber check NUMBER";

int ctl_idnumber(struct ctl *c, int argc, char **argv)
{
    char canon[IDNUMBER_LEN + 1];
    const char *why = NULL;

    (void)c;
    if (ctl_wants_help(argc, argv)) {
        printf("usage: examctl %s\n\n"
               "Check an 18-character resident ID number: the GB 11643 check\n"
               "digit (ISO 7064 MOD 11-2, X in either case) and a real birth\n"
               "date.  Exit 0 valid, 1 invalid (the reason on stderr).\n",
               idnumber_usage);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(idnumber_usage, "idnumber needs 'check'");
    if (strcmp(argv[1], "check") != 0)
        return ctl_usagef(idnumber_usage, "unknown idnumber subcommand '%s'",
                          argv[1]);
    if (argc == 2)
        return ctl_usagef(idnumber_usage, "idnumber check needs the NUMBER");
    if (argc > 3)
        return ctl_usagef(idnumber_usage,
                          "idnumber check takes one NUMBER, not %d", argc - 2);
    if (argv[2][0] == '-')
        return ctl_usagef(idnumber_usage, "unknown option '%s'", argv[2]);
    if (idnumber_canonical(argv[2], canon) == -1) {
        fprintf(stderr, "examctl: invalid: must be 18 characters\n");
        return 1;
    }
    if (idnumber_check(canon, &why) == -1) {
        fprintf(stderr, "examctl: invalid: %s\n", why);
        return 1;
    }
    puts("valid");
    return 0;
}
