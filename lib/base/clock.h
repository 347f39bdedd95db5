/* clock.h — the profiler's time base. Events read a tick counter: the TSC wherever the CPU
 * says it is invariant (CPUID 0x80000007 EDX bit 8), whatever the kernel's clocksource (tsc,
 * kvm-clock, hyperv_clocksource_tsc_page: ~10 ns a read, against ~25 ns for clock_gettime on a
 * guest); ticks become seconds only when a figure is reported, by a TSC-to-CLOCK_MONOTONIC
 * ratio measured over the whole run. Each refinement of that ratio checks the TSC's rate
 * against CLOCK_MONOTONIC; when it drifts by more than 0.1%, or a tick read goes backwards (a
 * thread moved to a CPU whose TSC is behind), the clock falls back to CLOCK_MONOTONIC for the
 * rest of the run, in the same tick units, and the report's `clock` key says so. */
#ifndef PF_CLOCK_H
#define PF_CLOCK_H

#include <stdint.h>
#include <time.h>
#include "base/atomic.h"

/* What ticks are: PF_CLOCK_TSC (TSC cycles), PF_CLOCK_NS (nanoseconds: no invariant TSC),
 * PF_CLOCK_FALLBACK (CLOCK_MONOTONIC scaled to the TSC's ratio, after the TSC failed a check);
 * PF_CLOCK_UNSET before calibration (the first tick read calibrates, so no tick is ever read in
 * the wrong unit). */
enum { PF_CLOCK_UNSET = -1, PF_CLOCK_NS = 0, PF_CLOCK_TSC = 1, PF_CLOCK_FALLBACK = 2 };
extern int pf_clock_tsc PF_HIDDEN;
void pf_clock_init(void) PF_HIDDEN;
/* Ticks when they are not TSC cycles (or before calibration). */
uint64_t pf_clock_ticks_slow(void) PF_HIDDEN;

static inline uint64_t pf_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pf_clock_rdtsc(void)
{
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}

static inline uint64_t pf_clock_ticks(void)
{
#if defined(__x86_64__)
    if (pf_likely(pf_load_relaxed(&pf_clock_tsc) == PF_CLOCK_TSC))
        return pf_clock_rdtsc();
#endif
    return pf_clock_ticks_slow();
}

/* A duration from two tick reads of one thread: end < start means the TSC went backwards
 * across CPUs; the clock then falls back, and the duration counts as 0. */
void pf_clock_backwards(void) PF_HIDDEN;
static inline uint64_t pf_clock_elapsed(uint64_t start, uint64_t end)
{
    if (pf_unlikely(end < start)) {
        pf_clock_backwards();
        return 0;
    }
    return end - start;
}

/* Which source to use, from what the CPU says and the kernel's clocksource (NULL: unknown);
 * *why gets a sentence. Exposed so tests can ask about clocksources this machine lacks. */
int pf_clock_decide(int invariant_tsc, const char *clocksource, const char **why) PF_HIDDEN;

/* The clock as reported: source "tsc" or "monotonic", ticks per ns, the largest drift of the
 * TSC's rate against CLOCK_MONOTONIC seen (ppm; NAN when never compared) and why. */
typedef struct {
    const char *source;
    double ticks_per_ns;
    double drift_ppm;
    char why[160];
} pf_clock_info_t;
void pf_clock_info(pf_clock_info_t *info) PF_HIDDEN;

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
