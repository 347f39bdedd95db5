/* clock.c — tick calibration. The ratio ticks/ns is first taken over a 200 us spin at init
 * (good to ~0.05%), then refined from the init point to "now" whenever a conversion happens
 * more than 50 ms later, which brings it to the ppm level for any report worth reading. */
#include "base/clock.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

int pf_clock_tsc PF_HIDDEN = -1;

static struct {
    int ready;               /* 0 none, 1 calibrating, 2 ready */
    uint64_t tick0, ns0;     /* the calibration origin, also the process origin */
    double ticks_per_ns;     /* refined as the run goes on */
    uint64_t refined_at_ns;
} clk;

static int cpu_has_invariant_tsc(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u));
    if (a < 0x80000007u)
        return 0;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u));
    if (!(d & (1u << 8))) /* invariant TSC */
        return 0;
    /* Only trust it when the kernel does too: its clocksource is then the TSC. */
    char buf[32] = {0};
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n >= 3 && strncmp(buf, "tsc", 3) == 0;
#else
    return 0;
#endif
}

void pf_clock_init(void)
{
    int expected = 0;
    if (!pf_cas_acq_rel(&clk.ready, &expected, 1)) {
        while (pf_load_acquire(&clk.ready) != 2)
            ; /* another thread is calibrating: 200 us at most */
        return;
    }
    int tsc = cpu_has_invariant_tsc();
    pf_store_relaxed(&pf_clock_tsc, tsc);
    clk.ns0 = pf_clock_mono_ns();
    clk.tick0 = pf_clock_ticks();
    if (tsc) {
        uint64_t ns;
        do
            ns = pf_clock_mono_ns();
        while (ns - clk.ns0 < 200000);
        clk.ticks_per_ns = (double)(pf_clock_ticks() - clk.tick0) / (double)(ns - clk.ns0);
    } else {
        clk.ticks_per_ns = 1.0;
    }
    clk.refined_at_ns = clk.ns0;
    pf_store_release(&clk.ready, 2);
}

void pf_clock_restart(void)
{
    /* Keep the calibration; only the origin moves (called in a fork child, single-threaded). */
    pf_clock_init();
    uint64_t t = pf_clock_ticks(), ns = pf_clock_mono_ns();
    double r = clk.ticks_per_ns;
    clk.tick0 = t;
    clk.ns0 = ns; /* the baseline restarts; the old ratio serves until the new one is longer */
    clk.ticks_per_ns = r;
    clk.refined_at_ns = ns;
}

static double ratio(void)
{
    if (pf_load_acquire(&clk.ready) != 2)
        pf_clock_init();
    if (!pf_clock_tsc)
        return 1.0;
    uint64_t ns = pf_clock_mono_ns();
    /* Refine when the baseline has grown by half since the last refinement (and > 50 ms). */
    uint64_t last = pf_load_relaxed(&clk.refined_at_ns);
    if (ns - clk.ns0 > 50000000u && (ns - clk.ns0) > 3 * (last - clk.ns0) / 2) {
        uint64_t t = pf_clock_ticks();
        double r = (double)(t - clk.tick0) / (double)(ns - clk.ns0);
        /* Racing refiners store nearly equal ratios; either is right. */
        __atomic_store(&clk.ticks_per_ns, &r, __ATOMIC_RELAXED);
        pf_store_relaxed(&clk.refined_at_ns, ns);
    }
    double r;
    __atomic_load(&clk.ticks_per_ns, &r, __ATOMIC_RELAXED);
    return r;
}

double pf_clock_ticks_to_sec(uint64_t ticks)
{
    return (double)ticks / ratio() * 1e-9;
}

uint64_t pf_clock_origin(void)
{
    if (pf_load_acquire(&clk.ready) != 2)
        pf_clock_init();
    return clk.tick0;
}

double pf_clock_now_sec(void)
{
    uint64_t origin = pf_clock_origin();
    return pf_clock_ticks_to_sec(pf_clock_ticks() - origin);
}

double pf_clock_thread_cpu_sec(int tid)
{
    /* The kernel's per-thread CPU clock id, as glibc's pthread_getcpuclockid builds it. */
    clockid_t id = tid ? (clockid_t)((~(unsigned)tid << 3) | 6) : CLOCK_THREAD_CPUTIME_ID;
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return -1.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
