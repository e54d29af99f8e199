/*
 * commands.h: examcentral's commands that run once and exit (report,
 * results, profiles, passwd), beside the server (examcentral.c).
 * docs/examcentral.8, COMMANDS.  Each returns the exit status.
 */
#ifndef EXAMSITE_CENTRAL_COMMANDS_H
#define EXAMSITE_CENTRAL_COMMANDS_H

#include "profile.h"

struct cstore;

int cmd_report(struct cstore *st, const struct profile *p, int argc,
               char **argv);
int cmd_results(struct cstore *st, int argc, char **argv);
int cmd_profiles(int argc, char **argv);
int cmd_passwd(int argc, char **argv);

#endif
