/*
 * number.h: the one way a decimal integer is read from text (an option,
 * a configuration value, a CSV field, a line of a file): all of the text,
 * digits with an optional leading '-', inside stated bounds.
 */
#ifndef EXAMSITE_NUMBER_H
#define EXAMSITE_NUMBER_H

/* s as an integer in [lo, hi] into *out: 0, or -1 (empty, not a number,
 * anything after it, leading space or '+', out of range) with *out
 * untouched. */
int number_parse(const char *s, long long lo, long long hi, long long *out);

/* The same into an int. */
int number_parse_int(const char *s, int lo, int hi, int *out);

#endif
