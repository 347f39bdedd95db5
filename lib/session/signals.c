/* signals.c — the report of a process that a signal ends (see signals.h).
 *
 * Terminating signal: the handler writes the ordinary report (exit "signal"), then restores the
 * default action and raises the signal again on the same thread, unblocked, so the process dies
 * of it exactly as it would have. The report is built with jansson and malloc: when the signal
 * interrupted this thread inside the allocator or pferris (pf_in_hook), it is put off until the
 * thread has left them (defer, below; at most a second, then no report). A writer that still
 * waits on a lock is cut off by a watchdog timer (timer_create, delivering the same signal to
 * this thread) after TERM_BOUND_S seconds, and the second delivery (handlers run with
 * SA_NODEFER), like a second Ctrl-C, dies at once.
 *
 * Crash: the handler runs with SA_RESETHAND | SA_NODEFER, so a second fault, or the watchdog
 * after CRASH_BOUND_S seconds, meets the default action. The report is written by hand
 * (crash.c). A fault by the hardware returns to the faulting instruction,
 * which faults again under the default action (the core then shows the real fault); a signal
 * sent by kill or abort is raised again. */
#include "session/signals.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/warn.h"
#include "report/keys.h"
#include "report/report.h"
#include "runtime/cpu.h"
#include "runtime/heap.h"
#include "runtime/thread.h"
#include "session/checkpoint.h"
#include "session/crash.h"
#include "session/publish.h"
#include "session/session.h"

#define NSIGS         65
#define TERM_BOUND_S  5
#define CRASH_BOUND_S 2

enum { KIND_NONE, KIND_TERM, KIND_CRASH };

static const int term_sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,   SIGUSR1, SIGUSR2,
                                SIGALRM, SIGPIPE, SIGXCPU, SIGVTALRM, SIGPROF};
static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static struct {
    sigaction_fn real;
    int kind[NSIGS];              /* KIND_*: a signal pferris handles while its action is default */
    int ours[NSIGS];              /* pferris's handler is in the kernel; the program sees prog[] */
    struct sigaction prog[NSIGS]; /* what the program set (or found), while ours[] */
    int dying;                    /* the signal being handled; 0 before */
    int (*backtrace)(void **, int);
} sig_state;

static int resolve(void)
{
    if (pf_likely(pf_load_acquire(&sig_state.real) != NULL))
        return 1;
    sigaction_fn f;
    *(void **)&f = dlsym(RTLD_NEXT, "sigaction");
    pf_store_release(&sig_state.real, f);
    return f != NULL;
}

static int is_default(const struct sigaction *a)
{
    return a->sa_handler == SIG_DFL;
}

static void on_term(int sig, siginfo_t *si, void *uc);
static void on_crash(int sig, siginfo_t *si, void *uc);

static int install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    if (sig_state.kind[sig] == KIND_CRASH) {
        sa.sa_sigaction = on_crash;
        sa.sa_flags |= SA_RESETHAND | SA_ONSTACK;
    } else {
        sa.sa_sigaction = on_term;
    }
    pf_store_release(&sig_state.ours[sig], 1);
    int rc = sig_state.real(sig, &sa, NULL);
    if (rc != 0)
        pf_store_release(&sig_state.ours[sig], 0);
    return rc;
}

/* A program built with ASan or TSan handles its crashes itself (and reports them better). */
static int sanitized(void)
{
    return dlsym(RTLD_DEFAULT, "__asan_init") || dlsym(RTLD_DEFAULT, "__tsan_init") ||
           dlsym(RTLD_DEFAULT, "__msan_init");
}

void pf_signals_start(void)
{
    int saved = errno;
    if (!resolve())
        goto out;
    int crashes = !sanitized();
    if (crashes) {
        void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
        if (h)
            *(void **)&sig_state.backtrace = dlsym(h, "unw_backtrace");
    }
    for (size_t i = 0; i < sizeof term_sigs / sizeof *term_sigs; i++)
        sig_state.kind[term_sigs[i]] = KIND_TERM;
    for (size_t i = 0; crashes && i < sizeof crash_sigs / sizeof *crash_sigs; i++)
        sig_state.kind[crash_sigs[i]] = KIND_CRASH;
    for (int sig = 1; sig < NSIGS; sig++) {
        struct sigaction old;
        if (sig_state.kind[sig] == KIND_NONE || sig_state.real(sig, NULL, &old) != 0 || !is_default(&old))
            continue; /* the program's, from a constructor or inherited (SIG_IGN) */
        sig_state.prog[sig] = old;
        install(sig);
    }
out:
    errno = saved;
}

/* ---- handlers on an alternate stack ------------------------------------------------------ */

/* Signals whose handler runs on an alternate stack and had SIGPROF added to its mask by pferris
 * (the program did not ask for it): the program reads back its own mask. */
static uint64_t prof_masked[(NSIGS + 63) / 64];

static int prof_masked_has(int sig)
{
    return sig > 0 && sig < NSIGS && (pf_load_relaxed(&prof_masked[sig / 64]) >> (sig % 64) & 1);
}

static void prof_masked_set(int sig, int on)
{
    uint64_t bit = 1ull << (sig % 64);
    if (on)
        __atomic_fetch_or(&prof_masked[sig / 64], bit, __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&prof_masked[sig / 64], ~bit, __ATOMIC_RELAXED);
}

/* A handler that runs on an alternate stack gets SIGPROF in its mask while pferris samples the
 * CPU: a tick that landed in it would be pushed on the same stack, which a program sizes for
 * one signal frame (6 KiB overflowed: tests/it_fault_altstack_sigprof.sh). The sample waits
 * until the handler returns. */
static const struct sigaction *guard_altstack(int sig, const struct sigaction *act,
                                              struct sigaction *copy, int *added)
{
    *added = 0;
    if (!act || sig == SIGPROF || !(act->sa_flags & SA_ONSTACK) || is_default(act) ||
        (!(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_IGN) ||
        sigismember(&act->sa_mask, SIGPROF) || !pf_cpu_sampling())
        return act;
    *copy = *act;
    sigaddset(&copy->sa_mask, SIGPROF);
    *added = 1;
    return copy;
}

static int set_disposition(int sig, const struct sigaction *act, struct sigaction *old);

void pf_signals_guard_installed(void)
{
    if (!resolve() || !pf_cpu_sampling())
        return;
    int saved = errno;
    for (int sig = 1; sig < NSIGS; sig++) {
        struct sigaction now, copy;
        int added;
        if (sig == SIGKILL || sig == SIGSTOP || pf_load_acquire(&sig_state.ours[sig]) ||
            sig_state.real(sig, NULL, &now) != 0)
            continue;
        const struct sigaction *set = guard_altstack(sig, &now, &copy, &added);
        if (added && sig_state.real(sig, set, NULL) == 0)
            prof_masked_set(sig, 1);
    }
    errno = saved;
}

int pf_signals_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    struct sigaction copy;
    int added, had = prof_masked_has(sig);
    int rc = set_disposition(sig, guard_altstack(sig, act, &copy, &added), old);
    if (rc == 0 && old && had)
        sigdelset(&old->sa_mask, SIGPROF);
    if (rc == 0 && act && sig > 0 && sig < NSIGS)
        prof_masked_set(sig, added);
    return rc;
}

static int set_disposition(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!resolve()) {
        errno = ENOSYS;
        return -1;
    }
    if (sig <= 0 || sig >= NSIGS || pf_load_acquire(&sig_state.kind[sig]) == KIND_NONE)
        return sig_state.real(sig, act, old);
    if (!pf_load_acquire(&sig_state.ours[sig])) {
        /* The program's disposition is in the kernel; its return to the default is pferris's. */
        int rc = sig_state.real(sig, act, old);
        if (rc == 0 && act && is_default(act) && !pf_load_acquire(&sig_state.dying)) {
            sig_state.prog[sig] = *act;
            install(sig);
        }
        return rc;
    }
    struct sigaction view = sig_state.prog[sig];
    if (act && !is_default(act)) {
        pf_store_release(&sig_state.ours[sig], 0);
        int rc = sig_state.real(sig, act, NULL);
        if (rc != 0) {
            pf_store_release(&sig_state.ours[sig], 1);
            return rc;
        }
    } else if (act) {
        sig_state.prog[sig] = *act; /* the default again, with the program's flags and mask */
    }
    if (old)
        *old = view;
    return 0;
}

pf_sighandler_t pf_signals_signal(int sig, pf_sighandler_t handler)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    if (sig > 0 && sig < NSIGS)
        sigaddset(&sa.sa_mask, sig);
    sa.sa_flags = SA_RESTART;
    if (pf_signals_sigaction(sig, &sa, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* ---- dying -------------------------------------------------------------------------------- */

/* A timer that delivers sig to this thread; 0 or -1. */
static int thread_timer(int sig, int *id)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = sig;
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    return (int)syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, id);
}

/* Delivers sig to this thread after seconds, whatever it is doing then. */
static void watchdog(int sig, int seconds)
{
    int id;
    if (thread_timer(sig, &id) != 0)
        return;
    struct itimerspec it = {{0, 0}, {seconds, 0}};
    syscall(SYS_timer_settime, id, 0, &it, NULL);
}

/* The default action of sig, now, on this thread. */
static void die(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sig_state.real(sig, &dfl, NULL);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* A terminating signal that lands while this thread is inside the allocator or pferris
 * (pf_in_hook) is put off: the report would allocate there. The same signal comes back to this
 * thread every DEFER_NS by a timer, until the thread has left (a malloc takes microseconds), and
 * for at most DEFER_MAX tries; after that the process dies without a report, as before. The
 * program runs on for that millisecond, as if the signal had come a little later. */
#define DEFER_NS  1000000L
#define DEFER_MAX 1000

static __thread struct {
    int tries;
    int timer; /* the timer's id + 1; 0 before the first deferral */
    int sig;
} deferred;

static int defer(int sig)
{
    if (deferred.tries >= DEFER_MAX)
        return 0;
    if (deferred.timer && deferred.sig != sig) {
        syscall(SYS_timer_delete, deferred.timer - 1);
        deferred.timer = 0;
    }
    if (!deferred.timer) {
        int id;
        if (thread_timer(sig, &id) != 0)
            return 0;
        deferred.timer = id + 1;
        deferred.sig = sig;
    }
    struct itimerspec it = {{0, 0}, {0, DEFER_NS}};
    if (syscall(SYS_timer_settime, deferred.timer - 1, 0, &it, NULL) != 0)
        return 0;
    deferred.tries++;
    return 1;
}

static void on_term(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (pf_in_hook && !pf_load_acquire(&sig_state.dying)) {
        int saved = errno;
        int put_off = defer(sig);
        errno = saved;
        if (put_off)
            return;
    }
    if (deferred.timer) {
        syscall(SYS_timer_delete, deferred.timer - 1);
        deferred.timer = 0;
    }
    int first = 0;
    if (!pf_cas_acq_rel(&sig_state.dying, &first, sig)) {
        die(first); /* a second signal, or the watchdog: as the first would have */
        return;
    }
    watchdog(sig, TERM_BOUND_S);
    pf_session_set_exit(PF_EXIT_SIGNAL, sig);
    pf_session_exit();
    die(sig);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    int first = 0;
    if (!pf_cas_acq_rel(&sig_state.dying, &first, sig)) {
        /* A fault while a report is written: die as the first signal would have. */
        die(sig_state.kind[first] == KIND_TERM ? first : sig);
        errno = saved;
        return;
    }
    watchdog(sig, CRASH_BOUND_S);
    pf_publish_remove();
    if (pf_session_claim()) {
        static char used[PATH_MAX + 96];
        char name[32];
        const char *n = pf_report_signal_name(sig, name, sizeof name);
        if (pf_crash_write(sig, si, uc, sig_state.backtrace, used, sizeof used) == 0 &&
            !pf_config.quiet)
            pf_warn("%s: a best-effort report written to %s", n ? n : "crash", used);
    }
    /* A fault of the hardware faults again on return, now with the default action. */
    int hw = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && si &&
             si->si_code > 0;
    if (!hw)
        die(sig);
    errno = saved;
}
