/* timer.h: the engine's clock.
 *
 * pk_timer_now() returns ticks of a monotonic clock.  On x86-64 CPUs that
 * report an invariant TSC (constant_tsc and nonstop_tsc in /proc/cpuinfo)
 * a tick is one TSC cycle, read with rdtsc (a few nanoseconds); elsewhere,
 * or when PROFKIT_CLOCK=monotonic is set, a tick is one nanosecond of
 * clock_gettime(CLOCK_MONOTONIC).  Ticks become seconds only at report
 * time, through pk_timer_seconds_per_tick().
 *
 * Pure C, no Python.h.  Thread-safe: the clock choice is made once by
 * pk_timer_init() before any tracing starts and never changes afterwards. */
#ifndef PROFKIT_TIMER_H
#define PROFKIT_TIMER_H

#include <stdint.h>
#include <time.h>

#include "common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define PK_TIMER_HAVE_TSC 1
#else
#define PK_TIMER_HAVE_TSC 0
#endif

/* Nonzero when the TSC is the clock; set by pk_timer_init(). */
extern PK_HIDDEN int pk_timer_use_tsc;

/* PROFKIT_CLOCK=counter (tests only): every read returns the previous
 * value plus one, and a tick is a microsecond, so the engine's own timing
 * paths can be compared exactly with cProfile run on a one-tick fake timer.
 * Not thread-safe: single-threaded tests only. */
extern PK_HIDDEN int pk_timer_counting;
extern PK_HIDDEN int64_t pk_timer_count;

/* Chooses the clock (honouring PROFKIT_CLOCK=tsc|monotonic) and records the
 * calibration anchor.  Call once, before any tracing.  Returns PK_OK. */
int pk_timer_init(void);

/* Nanoseconds of CLOCK_MONOTONIC. */
PK_INLINE int64_t pk_timer_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Current time in ticks.  Safe from any thread, with or without the GIL. */
PK_INLINE int64_t pk_timer_now(void)
{
#if PK_TIMER_HAVE_TSC
    if (PK_LIKELY(pk_timer_use_tsc))
        return (int64_t)__rdtsc();
#endif
    if (PK_UNLIKELY(pk_timer_counting))
        return ++pk_timer_count;
    return pk_timer_monotonic_ns();
}

/* pk_timer_now() for code specialised on the clock: `tsc` must be a
 * compile-time constant, 1 only where pk_timer_use_tsc is known to be set.
 * The TSC variant is a bare rdtsc, with no call on any path, so a caller
 * that makes no other call can stay a leaf function. */
PK_INLINE int64_t pk_timer_now_as(const int tsc)
{
#if PK_TIMER_HAVE_TSC
    if (tsc)
        return (int64_t)__rdtsc();
#else
    (void)tsc;
#endif
    return pk_timer_now();
}

/* Seconds per tick.  For the TSC this is measured once, against
 * CLOCK_MONOTONIC, between pk_timer_init() and the first call (which waits
 * until that span is at least 10 ms: error of a few parts per million),
 * then fixed, so every conversion in the process agrees. */
double pk_timer_seconds_per_tick(void);

/* The same, without waiting for the 10 ms calibration span (at most 1 ms
 * after pk_timer_init()); good to about 1e-4, for thresholds, never for
 * reported times. */
double pk_timer_rough_seconds_per_tick(void);

/* "tsc", "monotonic" or "counter". */
const char *pk_timer_source(void);

#endif /* PROFKIT_TIMER_H */
