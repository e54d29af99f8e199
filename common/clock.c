/*
 * clock.c: the injectable wall clock (clock.h).
 */
#include "clock.h"
#include "sitetime.h"

int64_t clock_ms(const struct clock *c)
{
    return c != NULL && c->now_ms != NULL ? c->now_ms(c->arg)
                                          : sitetime_now_ms();
}

time_t clock_s(const struct clock *c)
{
    return (time_t)(clock_ms(c) / 1000);
}

void clock_today(const struct clock *c, char out[11])
{
    sitetime_date(clock_s(c), out);
}
