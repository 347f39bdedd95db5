/* cpu.h — where the CPU time goes, with no code change: every thread's user stack sampled at a
 * steady rate of that thread's CPU time (PFERRIS_CPU_HZ, default 100 per CPU second).
 *
 * Mechanism: each thread gets a POSIX timer on its own CPU-time clock
 * (timer_create(CLOCK_THREAD_CPUTIME_ID) with SIGEV_THREAD_ID), delivering SIGPROF to that
 * thread. A thread's CPU clock advances only while it runs, so a sleeping or waiting thread is
 * never interrupted (no EINTR), and no helper thread is needed (a single-threaded program stays
 * single-threaded). The handler (SA_RESTART) unwinds the interrupted stack with libunwind from
 * the signal's context, folds it into a shared table of stacks with CAS only, and returns; it
 * allocates nothing and takes no lock of pferris's (docs/profiling.md says what libunwind may do
 * on a cache miss). Names are found at report time.
 *
 * The program owns SIGPROF: when it sets a SIGPROF disposition or ITIMER_PROF itself (or had one
 * when pferris started), pferris stands down — deletes its timers, puts SIGPROF's disposition
 * back — and the report says so. */
#ifndef PF_CPU_H
#define PF_CPU_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "base/atomic.h"
#include "runtime/thread.h"

#define PF_CPU_MAX_STACKS 8192 /* stack 0 is "[other]": where samples go once the table is full */
#define PF_CPU_MAX_HZ     1000
#define PF_CPU_MAX_DEPTH  128 /* as PF_MAX_DEPTH: PFERRIS_STACK_DEPTH is at most this */

/* From the session's init: samples per CPU second of each thread (0 off) and the stack depth.
 * Loads libunwind, installs the handler and arms the calling thread; every thread attached
 * later is armed as it starts. Warns once and stays off when it cannot. */
void pf_cpu_init(int hz, int depth) PF_HIDDEN;

/* The program is about to set a SIGPROF disposition or ITIMER_PROF (why names the call, for
 * the report): pferris stands down first, so the program's call finds SIGPROF as it was before
 * pferris. Safe to call at any time, any number of times. */
void pf_cpu_program_wants_sigprof(const char *why) PF_HIDDEN;
/* sigaction(SIGPROF, NULL, old) by the program while pferris samples: fills *old with the
 * disposition the program set last (pferris's handler stays hidden) and returns 1; 0 when the
 * real call should answer. */
int pf_cpu_hidden_sigprof(struct sigaction *old) PF_HIDDEN;

/* The report is being taken at exit: samples stop counting (timers stay, the handler returns). */
void pf_cpu_stop(void) PF_HIDDEN;
/* Whether pferris's timers may send SIGPROF now (started, not stood down). */
int pf_cpu_sampling(void) PF_HIDDEN;
/* Around exec: the calling thread's timer is deleted (no SIGPROF of ours may reach the new
 * image), and re-created if exec fails. */
void pf_cpu_exec_begin(void) PF_HIDDEN;
void pf_cpu_exec_failed(void) PF_HIDDEN;
/* In a fork child (one thread): counts start at zero and the thread gets a timer of its own
 * (timers are not inherited). */
void pf_cpu_after_fork(void) PF_HIDDEN;

/* One stack's samples summed over every thread, for the report. */
typedef struct {
    uint32_t id, depth;
    void *const *frames; /* innermost first; frames[0] is the interrupted instruction + 1 */
    uint64_t samples;
} pf_cpu_view_t;
/* Fills out[0 .. return) with every stack that has samples, most first; out must have room
 * for PF_CPU_MAX_STACKS. */
size_t pf_cpu_collect(pf_cpu_view_t *out) PF_HIDDEN;
/* Samples taken on thread t. */
uint64_t pf_cpu_thread_samples(const pf_thread_t *t) PF_HIDDEN;

typedef struct {
    int hz;                /* PFERRIS_CPU_HZ */
    int active;            /* sampling runs now */
    const char *mechanism; /* how samples are taken */
    const char *inactive_why; /* off, or why pferris stood down */
    uint64_t samples;      /* every sample taken (overruns counted) */
    uint64_t dropped;      /* samples whose stack could not be kept (counted in "[other]") */
} pf_cpu_info_t;
void pf_cpu_info(pf_cpu_info_t *out) PF_HIDDEN;

#endif
