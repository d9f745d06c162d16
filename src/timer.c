/* timer.c: clock selection and TSC calibration (see timer.h).
 * Pure C.  pk_timer_init() runs at module import under the GIL; the other
 * functions only read state it wrote, apart from the calibration cache,
 * which is a benign race of equal doubles. */
#include "timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pk_timer_use_tsc = 0;
int pk_timer_counting = 0;
int64_t pk_timer_count = 0;

static int64_t anchor_ticks;
static int64_t anchor_ns;
static double cached_spt; /* 0 until first computed, then fixed */

/* True when /proc/cpuinfo lists both flags that make the TSC a wall clock:
 * constant_tsc (fixed rate across frequency changes) and nonstop_tsc (keeps
 * counting in deep sleep states). */
static int cpu_has_invariant_tsc(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int found = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        found = strstr(line, " constant_tsc") != NULL && strstr(line, " nonstop_tsc") != NULL;
        break; /* the first CPU speaks for all of them */
    }
    fclose(f);
    return found;
}

/* One reading of both clocks at the same instant: the tick count is taken
 * between two monotonic reads and paired with their midpoint, and of a few
 * tries the narrowest bracket wins, so the pair is off by about half of one
 * clock_gettime call (~15 ns here) rather than a whole one. */
static void paired_read(int64_t *ns, int64_t *ticks)
{
    int64_t best = INT64_MAX;
    int i;

    for (i = 0; i < 5; i++) {
        int64_t before = pk_timer_monotonic_ns();
        int64_t t = pk_timer_now();
        int64_t after = pk_timer_monotonic_ns();
        if (after - before < best) {
            best = after - before;
            *ns = before + (after - before) / 2;
            *ticks = t;
        }
    }
}

int pk_timer_init(void)
{
    const char *force = getenv("PROFKIT_CLOCK");

    pk_timer_use_tsc = 0;
    pk_timer_counting = force != NULL && strcmp(force, "counter") == 0;
    if (pk_timer_counting) {
        pk_timer_count = 0;
        return PK_OK;
    }
#if PK_TIMER_HAVE_TSC
    if (force != NULL && strcmp(force, "tsc") == 0)
        pk_timer_use_tsc = 1;
    else if (force == NULL || strcmp(force, "monotonic") != 0)
        pk_timer_use_tsc = cpu_has_invariant_tsc();
#else
    (void)force;
#endif
    paired_read(&anchor_ns, &anchor_ticks);
    cached_spt = 0.0;
    return PK_OK;
}

/* Seconds per tick measured over at least `span_ns` since pk_timer_init()
 * (waiting if the anchor is younger), or a fixed answer when the clock
 * needs no measuring. */
static double measure(int64_t span_ns)
{
    int64_t ns, ticks;

    if (pk_timer_counting)
        return 1e-6;
    if (!pk_timer_use_tsc)
        return 1e-9;
    if (cached_spt > 0.0)
        return cached_spt;
    do {
        paired_read(&ns, &ticks);
    } while (ns - anchor_ns < span_ns);
    if (ticks <= anchor_ticks)
        return 1e-9; /* cannot happen with an invariant TSC; stay sane */
    return (double)(ns - anchor_ns) * 1e-9 / (double)(ticks - anchor_ticks);
}

double pk_timer_seconds_per_tick(void)
{
    /* At least 10 ms since import: the two paired reads are each off by
     * some 15 ns, so the rate is known to within a few parts per million
     * (a program that runs longer gets a longer span and a better rate).
     * It is then fixed for the life of the process, so every report
     * converts ticks the same way.  Only a program that reports within
     * 10 ms of importing profkit waits, and for less than that. */
    if (cached_spt <= 0.0 && pk_timer_use_tsc && !pk_timer_counting)
        cached_spt = measure(10000000);
    return measure(0);
}

double pk_timer_rough_seconds_per_tick(void)
{
    return measure(1000000); /* 1 ms: within about 1e-4 */
}

const char *pk_timer_source(void)
{
    return pk_timer_counting ? "counter" : pk_timer_use_tsc ? "tsc" : "monotonic";
}
