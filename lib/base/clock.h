/* clock.h — the profiler's time base. Events read a tick counter (the invariant TSC where the
 * CPU has one: ~10 ns, against ~23 ns for clock_gettime); ticks become seconds only when a
 * figure is reported, by a TSC-to-CLOCK_MONOTONIC ratio measured over the whole run. */
#ifndef PF_CLOCK_H
#define PF_CLOCK_H

#include <stdint.h>
#include <time.h>
#include "base/atomic.h"

/* 1 when ticks are TSC cycles, 0 when nanoseconds, -1 before calibration (the first tick read
 * calibrates, so no tick is ever read in the wrong unit). */
extern int pf_clock_tsc PF_HIDDEN;
void pf_clock_init(void) PF_HIDDEN;

static inline uint64_t pf_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pf_clock_ticks(void)
{
    int tsc = pf_load_relaxed(&pf_clock_tsc);
    if (pf_unlikely(tsc < 0)) {
        pf_clock_init();
        tsc = pf_load_relaxed(&pf_clock_tsc);
    }
#if defined(__x86_64__)
    if (pf_likely(tsc)) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
        return ((uint64_t)hi << 32) | lo;
    }
#endif
    return pf_clock_mono_ns();
}

/* Seconds for a tick count (a duration). */
double pf_clock_ticks_to_sec(uint64_t ticks) PF_HIDDEN;
/* The tick count at process start (the preload's init, or first use), and seconds since. */
uint64_t pf_clock_origin(void) PF_HIDDEN;
double pf_clock_now_sec(void) PF_HIDDEN;
/* A new process after fork starts its clock again. */
void pf_clock_restart(void) PF_HIDDEN;
/* This thread's CPU time in seconds, and that of thread tid of this process. */
double pf_clock_thread_cpu_sec(int tid) PF_HIDDEN;

#endif
