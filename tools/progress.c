/* Progress line on stderr; see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(cli_progress *p)
{
    if (p->total)
        fprintf(stderr, "\r%s: %llu/%llu (%.0f%%) ", p->what,
                (unsigned long long)p->done, (unsigned long long)p->total,
                100.0 * (double)p->done / (double)p->total);
    else
        fprintf(stderr, "\r%s: %llu ", p->what, (unsigned long long)p->done);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_start(cli_progress *p, const char *what, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->what = what ? what : "working";
    p->total = total;
    const char *env = getenv("BARSPACE_PROGRESS");
    if (env && !strcmp(env, "0"))
        p->on = 0;
    else if (env && !strcmp(env, "1"))
        p->on = 1;
    else
        p->on = isatty(2);
    /* First line after a short while: quick runs stay silent. */
    p->last = now();
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->on)
        return;
    /* Checking the clock costs ~20 ns; only look every 1024 updates. */
    if ((done & 1023) && done != p->total)
        return;
    double t = now();
    if (t - p->last < 0.25)
        return;
    p->last = t;
    draw(p);
}

void cli_progress_done(cli_progress *p)
{
    if (p->on && p->drawn) {
        fprintf(stderr, "\r%*s\r", (int)strlen(p->what) + 40, "");
        fflush(stderr);
    }
    p->drawn = 0;
}
