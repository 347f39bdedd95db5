/* clock.c — which clock ticks come from, its calibration, and the checks that keep the TSC
 * honest on virtual machines.
 *
 * The TSC is used wherever CPUID says it is invariant, whatever the kernel's clocksource: on
 * KVM and Hyper-V guests the kernel runs kvm-clock or the Hyper-V page over the same TSC, and
 * falling back to clock_gettime there cost 28 ns a read against 12 ns. What the kernel's
 * choice guarded against (a TSC that changes rate or is not synchronised across CPUs) is
 * checked here instead, over the run:
 *  - the ratio ticks/ns is first taken over a 200 us spin at init, then refined from the init
 *    point to "now" whenever a conversion happens and the baseline has grown by half (and is
 *    longer than 50 ms), and once more when the report is written; each refinement compares
 *    the rate of the newest segment with the rate before it (the spin's, for the first): more
 *    than 0.1% apart, beyond what the reads' own uncertainty explains, the TSC drifts;
 *  - a thread's interval whose end reads lower than its start saw the TSC go backwards;
 * either makes ticks come from CLOCK_MONOTONIC for the rest of the run, scaled to the ratio
 * known so far so that ticks keep one unit, and the report's `clock` says why.
 * Every (ticks, ns) pair is read bracketed by two clock_gettime calls and retried when they
 * are far apart: a preemption between the two reads would otherwise look like drift. */
#include "base/clock.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#define CALIBRATE_NS  200000u   /* the first ratio, from a spin */
#define REFINE_MIN_NS 50000000u /* baselines shorter than this are not refined */
#define DRIFT_MAX     0.001     /* a segment's rate this far from the run's: fall back */
#define PAIR_SLACK_NS 2000u     /* a bracketed pair read over longer than this is retried */
#define COMPARE_MIN_NS 1000000u /* segments shorter than this are not compared */

int pf_clock_tsc PF_HIDDEN = PF_CLOCK_UNSET;

static struct {
    int ready;               /* 0 none, 1 calibrating, 2 ready */
    uint64_t tick0, ns0;     /* the calibration origin, also the process origin */
    double ticks_per_ns;     /* refined as the run goes on */
    uint64_t refined_at_ns;  /* the last refinement point, in both clocks */
    uint64_t refined_tick;
    uint64_t err0, refined_err; /* half-brackets of the origin's and the last point's reads */
    double cal_err;          /* relative uncertainty of the first ratio, from the spin */
    int segments;            /* refinements so far */
    double drift;            /* largest rate difference beyond the reads' uncertainty; NAN
                              * before the first comparison */
    int refining;            /* a try-lock: one refiner at a time */
    int fallen;              /* 0, or 1 once the fallback is being installed */
    uint64_t fb_tick, fb_ns; /* the fallback's origin: tick fb_tick at fb_ns */
    double fb_ratio;
    const char *why;         /* the decision at init */
    char fb_why[96];         /* why the fallback happened */
} clk = {.drift = NAN};

int pf_clock_decide(int invariant_tsc, const char *clocksource, const char **why)
{
    const char *cs = clocksource && *clocksource ? clocksource : "unknown";
    if (!invariant_tsc) {
        *why = "no invariant TSC (CPUID 0x80000007 EDX bit 8): clock_gettime(CLOCK_MONOTONIC)";
        return PF_CLOCK_NS;
    }
    if (strncmp(cs, "tsc", 3) == 0 && (cs[3] == '\0' || cs[3] == '\n'))
        *why = "invariant TSC; kernel clocksource tsc";
    else if (strncmp(cs, "kvm-clock", 9) == 0)
        *why = "invariant TSC; kernel clocksource kvm-clock (a KVM guest): TSC checked "
               "against CLOCK_MONOTONIC over the run";
    else if (strncmp(cs, "hyperv", 6) == 0)
        *why = "invariant TSC; kernel clocksource Hyper-V: TSC checked against "
               "CLOCK_MONOTONIC over the run";
    else
        *why = "invariant TSC; kernel clocksource not tsc: TSC checked against "
               "CLOCK_MONOTONIC over the run";
    return PF_CLOCK_TSC;
}

static int cpu_has_invariant_tsc(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u));
    if (a < 0x80000007u)
        return 0;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u));
    return (d >> 8) & 1;
#else
    return 0;
#endif
}

/* The kernel's clocksource into buf ("" when unreadable); only named in the report's why. */
static void read_clocksource(char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
}

/* A TSC read, the CLOCK_MONOTONIC time it happened at, and how uncertain that time is (half
 * the bracket). 0, or -1 when every try was preempted between the reads. */
static int read_pair(uint64_t *tick, uint64_t *ns, uint64_t *err)
{
    for (int i = 0; i < 8; i++) {
        uint64_t a = pf_clock_mono_ns(), t = pf_clock_rdtsc(), b = pf_clock_mono_ns();
        if (b - a <= PAIR_SLACK_NS) {
            *tick = t;
            *ns = a + (b - a) / 2;
            *err = (b - a) / 2 + 1;
            return 0;
        }
    }
    return -1;
}

void pf_clock_init(void)
{
    int expected = 0;
    if (!pf_cas_acq_rel(&clk.ready, &expected, 1)) {
        while (pf_load_acquire(&clk.ready) != 2)
            ; /* another thread is calibrating: 200 us at most */
        return;
    }
    char cs[32];
    read_clocksource(cs, sizeof cs);
    int src = pf_clock_decide(cpu_has_invariant_tsc(), cs, &clk.why);
    if (src == PF_CLOCK_TSC) {
        uint64_t t1, n1, e1;
        if (read_pair(&clk.tick0, &clk.ns0, &clk.err0) < 0)
            src = PF_CLOCK_NS;
        do
            n1 = pf_clock_mono_ns();
        while (src == PF_CLOCK_TSC && n1 - clk.ns0 < CALIBRATE_NS);
        if (src == PF_CLOCK_TSC && read_pair(&t1, &n1, &e1) == 0 && t1 > clk.tick0) {
            clk.ticks_per_ns = (double)(t1 - clk.tick0) / (double)(n1 - clk.ns0);
            clk.cal_err = (double)(clk.err0 + e1) / (double)(n1 - clk.ns0);
        } else
            src = PF_CLOCK_NS;
        if (src == PF_CLOCK_NS)
            clk.why = "invariant TSC, but calibration against CLOCK_MONOTONIC kept being "
                      "preempted: clock_gettime(CLOCK_MONOTONIC)";
    }
    if (src == PF_CLOCK_NS) {
        clk.ns0 = clk.tick0 = pf_clock_mono_ns();
        clk.ticks_per_ns = 1.0;
    }
    clk.refined_at_ns = clk.ns0;
    clk.refined_tick = clk.tick0;
    clk.refined_err = clk.err0;
    pf_store_relaxed(&pf_clock_tsc, src);
    pf_store_release(&clk.ready, 2);
}

/* From now on, ticks are CLOCK_MONOTONIC scaled to the ratio known so far. The first caller
 * installs it; the others see PF_CLOCK_FALLBACK published with release after its origin.
 * drift_ppm < 0: the TSC went backwards. No floating-point formatting: this may run inside a
 * marker, and printf's may allocate. */
static void fall_back(long drift_ppm)
{
    int expected = 0;
    if (!pf_cas_acq_rel(&clk.fallen, &expected, 1))
        return;
    double r;
    __atomic_load(&clk.ticks_per_ns, &r, __ATOMIC_RELAXED);
    clk.fb_ratio = r;
    clk.fb_ns = pf_clock_mono_ns();
    clk.fb_tick = pf_clock_rdtsc();
    if (drift_ppm < 0)
        snprintf(clk.fb_why, sizeof clk.fb_why, "the TSC went backwards across CPUs");
    else
        snprintf(clk.fb_why, sizeof clk.fb_why,
                 "the TSC's rate drifted %ld ppm from CLOCK_MONOTONIC's (more than 1000)",
                 drift_ppm);
    pf_store_release(&pf_clock_tsc, PF_CLOCK_FALLBACK);
}

void pf_clock_backwards(void)
{
    if (pf_load_relaxed(&pf_clock_tsc) == PF_CLOCK_TSC)
        fall_back(-1);
}

uint64_t pf_clock_ticks_slow(void)
{
    int src = pf_load_acquire(&pf_clock_tsc);
    if (src == PF_CLOCK_UNSET) {
        pf_clock_init();
        src = pf_load_acquire(&pf_clock_tsc);
    }
    if (src == PF_CLOCK_TSC)
        return pf_clock_rdtsc();
    if (src == PF_CLOCK_FALLBACK)
        return clk.fb_tick + (uint64_t)((double)(pf_clock_mono_ns() - clk.fb_ns) * clk.fb_ratio);
    return pf_clock_mono_ns();
}

void pf_clock_restart(void)
{
    /* Keep the calibration and the source; only the origin moves (a fork child, one thread). */
    pf_clock_init();
    uint64_t t = pf_clock_ticks(), ns = pf_clock_mono_ns();
    clk.tick0 = clk.refined_tick = t;
    clk.ns0 = clk.refined_at_ns = ns; /* the old ratio serves until the new one is longer */
    clk.segments = 0;
    clk.refined_err = clk.err0 = 0;
    clk.refining = 0; /* a parent's thread may have held it at fork */
}

/* Refines the ratio and checks the newest segment's rate against the rate before it (the
 * spin's ratio for the first segment), beyond what the reads' own uncertainty explains. One
 * thread at a time (a try-lock: a thread that finds another refining just reads the ratio). */
static void refine(void)
{
    int expected = 0;
    if (!pf_cas_acq_rel(&clk.refining, &expected, 1))
        return;
    uint64_t t, ns, e;
    uint64_t last_ns = pf_load_relaxed(&clk.refined_at_ns), last_t = clk.refined_tick;
    if (read_pair(&t, &ns, &e) < 0 || ns < last_ns + COMPARE_MIN_NS) {
        pf_store_release(&clk.refining, 0);
        return;
    }
    if (t <= last_t) { /* read on another CPU than the last point, and behind it */
        fall_back(-1);
        pf_store_release(&clk.refining, 0);
        return;
    }
    double r_before, u_before;
    if (clk.segments == 0) {
        __atomic_load(&clk.ticks_per_ns, &r_before, __ATOMIC_RELAXED);
        u_before = clk.cal_err;
    } else {
        r_before = (double)(last_t - clk.tick0) / (double)(last_ns - clk.ns0);
        u_before = (double)(clk.err0 + clk.refined_err) / (double)(last_ns - clk.ns0);
    }
    double r_seg = (double)(t - last_t) / (double)(ns - last_ns);
    double u_seg = (double)(clk.refined_err + e) / (double)(ns - last_ns);
    double d = fabs(r_seg / r_before - 1.0) - u_before - u_seg, was;
    d = d > 0 ? d : 0;
    __atomic_load(&clk.drift, &was, __ATOMIC_RELAXED);
    if (!(d <= was))
        __atomic_store(&clk.drift, &d, __ATOMIC_RELAXED);
    if (d > DRIFT_MAX) {
        fall_back((long)(d * 1e6));
        pf_store_release(&clk.refining, 0);
        return;
    }
    double r = (double)(t - clk.tick0) / (double)(ns - clk.ns0);
    clk.segments++;
    clk.refined_tick = t;
    clk.refined_err = e;
    __atomic_store(&clk.ticks_per_ns, &r, __ATOMIC_RELAXED);
    pf_store_relaxed(&clk.refined_at_ns, ns);
    pf_store_release(&clk.refining, 0);
}

static double ratio(void)
{
    if (pf_load_acquire(&clk.ready) != 2)
        pf_clock_init();
    int src = pf_load_acquire(&pf_clock_tsc);
    if (src == PF_CLOCK_NS)
        return 1.0;
    if (src == PF_CLOCK_FALLBACK)
        return clk.fb_ratio;
    uint64_t ns = pf_clock_mono_ns();
    /* Refine when the baseline has grown by half since the last refinement (and > 50 ms). */
    uint64_t last = pf_load_relaxed(&clk.refined_at_ns);
    if (ns - clk.ns0 > REFINE_MIN_NS && (ns - clk.ns0) > 3 * (last - clk.ns0) / 2)
        refine();
    if (pf_load_acquire(&pf_clock_tsc) == PF_CLOCK_FALLBACK)
        return clk.fb_ratio;
    double r;
    __atomic_load(&clk.ticks_per_ns, &r, __ATOMIC_RELAXED);
    return r;
}

void pf_clock_info(pf_clock_info_t *info)
{
    info->ticks_per_ns = ratio();
    if (pf_load_acquire(&pf_clock_tsc) == PF_CLOCK_TSC) {
        refine(); /* the last segment, up to the report, is checked too */
        info->ticks_per_ns = ratio();
    }
    int src = pf_load_acquire(&pf_clock_tsc);
    info->source = src == PF_CLOCK_TSC ? "tsc" : "monotonic";
    double d;
    __atomic_load(&clk.drift, &d, __ATOMIC_RELAXED);
    info->drift_ppm = d * 1e6;
    if (src == PF_CLOCK_FALLBACK)
        snprintf(info->why, sizeof info->why, "fell back to CLOCK_MONOTONIC: %s", clk.fb_why);
    else
        snprintf(info->why, sizeof info->why, "%s", clk.why ? clk.why : "");
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
