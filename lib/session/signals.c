/* signals.c — the report of a process that a signal ends (see signals.h).
 *
 * Terminating signal: the handler writes the ordinary report (exit "signal"), then restores the
 * default action and raises the signal again on the same thread, unblocked, so the process dies
 * of it exactly as it would have. The report is built with jansson and malloc: when the signal
 * interrupted this thread inside the allocator or pferris (pf_in_hook), it is put off until the
 * thread has left them (defer, below; at most a second, then no report). A writer that still waits on a lock is cut off by a
 * watchdog timer (timer_create, delivering the same signal to this thread) after TERM_BOUND_S
 * seconds, and the second delivery (handlers run with SA_NODEFER), like a second Ctrl-C, dies
 * at once.
 *
 * Crash: the handler runs with SA_RESETHAND | SA_NODEFER, so a second fault, or the watchdog
 * after CRASH_BOUND_S seconds, meets the default action. The report is written by hand into a
 * static buffer and write(2): no malloc, no stdio, no lock of ours; only dladdr (the loader's
 * recursive lock) names the frames. A fault by the hardware returns to the faulting instruction,
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
#include "session/publish.h"
#include "session/session.h"

#define NSIGS         65
#define TERM_BOUND_S  5
#define CRASH_BOUND_S 2
#define CRASH_FRAMES  64

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

/* ---- the crash report, by hand ------------------------------------------------------------ */

static struct {
    char buf[1 << 16];
    size_t n;
} crash_buf;

static void put(const char *s, size_t n)
{
    if (n > sizeof crash_buf.buf - crash_buf.n)
        n = sizeof crash_buf.buf - crash_buf.n;
    memcpy(crash_buf.buf + crash_buf.n, s, n);
    crash_buf.n += n;
}

static void put_s(const char *s)
{
    put(s, strlen(s));
}

static void put_u(unsigned long long v)
{
    char t[24];
    int i = sizeof t;
    do
        t[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(t + i, sizeof t - (size_t)i);
}

static void put_i(long long v)
{
    if (v < 0) {
        put_s("-");
        put_u(0ull - (unsigned long long)v);
    } else {
        put_u((unsigned long long)v);
    }
}

/* A JSON string, at most max bytes of s; null for NULL. */
static void put_q(const char *s, size_t max)
{
    if (!s) {
        put_s("null");
        return;
    }
    static const char hex[] = "0123456789abcdef";
    put_s("\"");
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(e, 6);
        } else {
            put((const char *)&c, 1);
        }
    }
    put_s("\"");
}

static void put_key(const char *key)
{
    put_q(key, 64);
    put_s(": ");
}

/* Seconds with microseconds, without printf's floating point. */
static void put_sec(double s)
{
    if (!(s >= 0) || s > 1e12)
        s = 0;
    unsigned long long us = (unsigned long long)(s * 1e6);
    put_u(us / 1000000);
    char f[7];
    for (int i = 5; i >= 0; i--, us /= 10)
        f[i] = (char)('0' + us % 10);
    f[6] = '.';
    put(f + 6, 1);
    put(f, 6);
}

static uintptr_t context_pc(void *uc)
{
#if defined(__x86_64__)
    return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static void put_frames(void *uc)
{
    void *frames[CRASH_FRAMES + 8];
    int n = sig_state.backtrace ? sig_state.backtrace(frames, CRASH_FRAMES + 8) : 0, start = 0;
    uintptr_t pc = uc ? context_pc(uc) : 0;
    /* The handler's own frames and the signal trampoline come first: start at the faulting pc. */
    for (int i = 0; i < n; i++)
        if ((uintptr_t)frames[i] == pc) {
            start = i;
            break;
        }
    if (n == 0 && pc) {
        frames[0] = (void *)pc;
        n = 1;
    }
    put_s("[");
    for (int i = start; i < n && i - start < CRASH_FRAMES; i++) {
        uintptr_t a = (uintptr_t)frames[i];
        Dl_info info;
        int known = dladdr((void *)(i > start ? a - 1 : a), &info) && info.dli_fname;
        put_s(i > start ? ",\n   {" : "\n   {");
        put_key(PF_KEY_SYMBOL);
        put_q(known ? info.dli_sname : NULL, 256);
        put_s(", ");
        put_key(PF_KEY_MODULE);
        put_q(known ? info.dli_fname : NULL, 512);
        put_s(", ");
        put_key(PF_KEY_OFFSET);
        if (known)
            put_u((unsigned long long)(a - (uintptr_t)info.dli_fbase));
        else
            put_u((unsigned long long)a);
        put_s("}");
    }
    put_s("]");
}

static void build_crash(int sig, siginfo_t *si, void *uc)
{
    char name[32], host[256] = {0};
    crash_buf.n = 0;
    put_s("{\n ");
    put_key(PF_KEY_SCHEMA);
    put_q(PFERRIS_SCHEMA, 64);
    put_s(",\n ");
    put_key(PF_KEY_PFERRIS_VERSION);
    put_q(PFERRIS_VERSION, 64);
    put_s(",\n ");
    put_key(PF_KEY_PID);
    put_i(getpid());
    put_s(",\n ");
    put_key(PF_KEY_PPID);
    put_i(getppid());
    put_s(",\n ");
    gethostname(host, sizeof host - 1);
    put_key(PF_KEY_HOSTNAME);
    put_q(host, sizeof host);
    put_s(",\n ");
    put_key(PF_KEY_COMMAND);
    put_s("[");
    const char *const *argv = pf_session_argv();
    for (size_t i = 0; argv && argv[i] && crash_buf.n < sizeof crash_buf.buf / 4; i++) {
        put_s(i ? ", " : "");
        put_q(argv[i], 4096);
    }
    put_s("],\n ");
    put_key(PF_KEY_START_TIME);
    put_q(pf_session_start_time()[0] ? pf_session_start_time() : NULL, 96);
    put_s(",\n ");
    put_key(PF_KEY_TOTAL_ELAPSED);
    put_sec(pf_clock_now_sec());
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    put_s(",\n ");
    put_key(PF_KEY_HEAP);
    put_s("{");
    put_key(PF_KEY_ENABLED);
    put_s(pf_load_relaxed(&pf_heap_enabled) > 0 ? "true" : "false");
    static const char *const keys[] = {PF_KEY_ALLOCATIONS, PF_KEY_FREES, PF_KEY_BYTES_ALLOCATED,
                                       PF_KEY_BYTES_FREED, PF_KEY_PEAK_BYTES, PF_KEY_LIVE_BYTES};
    long long vals[] = {(long long)h.allocs,      (long long)h.frees, (long long)h.bytes_req,
                        (long long)h.bytes_freed, (long long)h.peak,  (long long)h.live};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        put_s(", ");
        put_key(keys[i]);
        put_i(vals[i]);
    }
    put_s("},\n ");
    put_key(PF_KEY_EXIT);
    put_s("{");
    put_key(PF_KEY_HOW);
    put_q(PF_EXIT_HOW_CRASH, 16);
    put_s(", ");
    put_key(PF_KEY_SIGNAL);
    put_i(sig);
    put_s(", ");
    put_key(PF_KEY_SIGNAL_NAME);
    put_q(pf_report_signal_name(sig, name, sizeof name), 32);
    put_s(", ");
    put_key(PF_KEY_CRASHED_TID);
    put_i((long long)syscall(SYS_gettid));
    if (si && si->si_code > 0 && sig != SIGABRT && sig != SIGSYS) {
        put_s(", ");
        put_key(PF_KEY_ADDRESS);
        put_u((unsigned long long)(uintptr_t)si->si_addr);
    }
    put_s(",\n  ");
    put_key(PF_KEY_FRAMES);
    put_frames(uc);
    put_s("}\n}\n");
}

static int write_all(int fd)
{
    for (size_t off = 0; off < crash_buf.n;) {
        ssize_t w = write(fd, crash_buf.buf + off, crash_buf.n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* Over the last checkpoint by rename, else a new file as the exclusive open makes it. */
static int write_crash(char *used, size_t size)
{
    static char path[PATH_MAX + 96], tmp[PATH_MAX + 128];
    const char *ck = pf_checkpoint_path();
    if (ck) {
        snprintf(path, sizeof path, "%s", ck);
        snprintf(tmp, sizeof tmp, "%s.%d.crash", path, (int)getpid());
        unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        int rc = write_all(fd);
        close(fd);
        if (rc == 0)
            rc = rename(tmp, path);
        snprintf(used, size, "%s", path);
        return rc;
    }
    if (pf_session_report_path(path, sizeof path) != 0)
        return -1;
    if (strcmp(path, "-") == 0) {
        snprintf(used, size, "stderr");
        return write_all(2);
    }
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    size_t len = strlen(path);
    int has_ext = len > 5 && strcmp(path + len - 5, ".json") == 0;
    snprintf(used, size, "%s", path);
    int fd = open(used, flags, 0644);
    for (int i = 1; fd < 0 && errno == EEXIST && i < 1000; i++) {
        if (has_ext)
            snprintf(used, size, "%.*s.%d.json", (int)(len - 5), path, i);
        else
            snprintf(used, size, "%s.%d", path, i);
        fd = open(used, flags, 0644);
    }
    if (fd < 0)
        return -1;
    int rc = write_all(fd);
    close(fd);
    return rc;
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
        build_crash(sig, si, uc);
        char name[32];
        const char *n = pf_report_signal_name(sig, name, sizeof name);
        if (write_crash(used, sizeof used) == 0)
            pf_warn("%s: a best-effort report written to %s", n ? n : "crash", used);
    }
    /* A fault of the hardware faults again on return, now with the default action. */
    int hw = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && si &&
             si->si_code > 0;
    if (!hw)
        die(sig);
    errno = saved;
}
