/* preload.c — the LD_PRELOAD shim: the malloc family, pthread_create, _exit and exec. Each
 * interposer is guard, hook into lib/, real call; the logic lives in lib/.
 *
 * The real functions come from dlsym(RTLD_NEXT), so another allocator preloaded after pferris
 * (or linked into the program) is still the one that allocates. dlsym itself may call calloc
 * before the real one is known; those few early blocks come from a static bootstrap arena and
 * are never given back to the real allocator. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "runtime/cpu.h"
#include "runtime/heap.h"
#include "session/session.h"
#include "runtime/thread.h"
#include "runtime/timeline.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*usable)(void *);
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    void (*exit_)(int);
    void (*Exit_)(int);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
    sighandler_t (*signal)(int, sighandler_t);
    int (*setitimer)(__itimer_which_t, const struct itimerval *, struct itimerval *);
} real;

/* ---- the bootstrap arena ------------------------------------------------------------------ */

static _Alignas(64) char boot[1 << 16];
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t off = pf_load_relaxed(&boot_used), start;
    do {
        start = (off + 16 + align - 1) & ~(align - 1); /* 16 bytes before: the size */
        if (start + size > sizeof boot)
            return NULL;
    } while (!pf_cas_relaxed(&boot_used, &off, start + size));
    memcpy(boot + start - 16, &size, sizeof size);
    return boot + start; /* zero: the arena is static and never reused */
}

static inline int boot_owns(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - 16, sizeof n);
    return n;
}

/* The POSIX idiom for a dlsym result that is a function (ISO C has no such conversion). */
#define LOAD_AS(field, sym) (*(void **)&real.field = dlsym(RTLD_NEXT, sym))
#define LOAD(name)          LOAD_AS(name, #name)

static void resolve(void)
{
    if (pf_load_acquire(&real.usable))
        return;
    int no = 0;
    if (!pf_cas_acq_rel(&resolving, &no, 1))
        return; /* this thread is inside dlsym: callers fall back to the arena */
    LOAD(malloc);
    LOAD(free);
    LOAD(calloc);
    LOAD(realloc);
    LOAD(posix_memalign);
    LOAD(aligned_alloc);
    LOAD(memalign);
    LOAD(valloc);
    LOAD(pvalloc);
    LOAD(pthread_create);
    LOAD(execve);
    LOAD(execv);
    LOAD(execvp);
    LOAD(execvpe);
    LOAD(sigaction);
    LOAD(signal);
    LOAD(setitimer);
    LOAD_AS(exit_, "_exit");
    LOAD_AS(Exit_, "_Exit");
    void *usable = dlsym(RTLD_NEXT, "malloc_usable_size");
    __atomic_store((void **)&real.usable, &usable, __ATOMIC_RELEASE); /* the "resolved" flag */
    pf_thread_real_create_set(real.pthread_create);
}

#define READY(fn) (pf_likely(real.fn != NULL) || (resolve(), real.fn != NULL))
#define COUNTING()                                                                             \
    (pf_likely(pf_heap_enabled > 0 || (pf_heap_enabled < 0 && pf_heap_decide())) &&            \
     pf_likely(!pf_in_hook))

/* ---- the malloc family -------------------------------------------------------------------- */

PF_EXPORT void *malloc(size_t size)
{
    if (!READY(malloc))
        return boot_alloc(size, 16);
    void *p = real.malloc(size);
    if (pf_likely(p != NULL) && COUNTING())
        pf_heap_alloc(p, size, real.usable(p));
    return p;
}

PF_EXPORT void free(void *p)
{
    if (!p || pf_unlikely(boot_owns(p)))
        return;
    if (!READY(free))
        return;
    if (COUNTING())
        pf_heap_free(p, real.usable(p));
    real.free(p);
}

PF_EXPORT void *calloc(size_t n, size_t size)
{
    if (!READY(calloc)) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        return boot_alloc(total, 16);
    }
    void *p = real.calloc(n, size);
    if (pf_likely(p != NULL) && COUNTING())
        pf_heap_alloc(p, n * size, real.usable(p));
    return p;
}

static void *boot_realloc(void *old, size_t size)
{
    void *p = malloc(size);
    if (p) {
        size_t n = boot_size(old);
        memcpy(p, old, n < size ? n : size);
    }
    return p;
}

PF_EXPORT void *realloc(void *old, size_t size)
{
    if (pf_unlikely(boot_owns(old)))
        return boot_realloc(old, size);
    if (!READY(realloc))
        return old ? NULL : boot_alloc(size, 16);
    if (!COUNTING())
        return real.realloc(old, size);
    /* The old block counts as freed before the call: once realloc returns, another thread may
     * be handed the same address, and its record must not be the one forgotten. */
    size_t old_usable = old ? real.usable(old) : 0;
    if (old)
        pf_heap_free(old, old_usable);
    void *p = real.realloc(old, size);
    if (p)
        pf_heap_alloc(p, size, real.usable(p));
    else if (old && size != 0)
        pf_heap_unfree(old_usable); /* failed: the old block is still the program's */
    return p; /* realloc(p, 0) freed p and returned NULL, as glibc's does */
}

/* glibc's own reallocarray calls realloc through the PLT, that is ours: doing the same here
 * counts each call once. */
PF_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, total);
}

PF_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (!READY(posix_memalign))
        return ENOMEM;
    int rc = real.posix_memalign(out, align, size);
    if (rc == 0 && COUNTING())
        pf_heap_alloc(*out, size, real.usable(*out));
    return rc;
}

#define ALIGNED(name, params, args, size)                                                      \
    PF_EXPORT void *name params                                                                \
    {                                                                                          \
        if (!READY(name))                                                                      \
            return NULL;                                                                       \
        void *p = real.name args;                                                              \
        if (p && COUNTING())                                                                   \
            pf_heap_alloc(p, size, real.usable(p));                                               \
        return p;                                                                              \
    }
ALIGNED(aligned_alloc, (size_t align, size_t size), (align, size), size)
ALIGNED(memalign, (size_t align, size_t size), (align, size), size)
ALIGNED(valloc, (size_t size), (size), size)
ALIGNED(pvalloc, (size_t size), (size), size)

PF_EXPORT size_t malloc_usable_size(void *p)
{
    if (pf_unlikely(boot_owns(p)))
        return boot_size(p);
    if (!READY(usable))
        return 0;
    return real.usable(p);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct {
    void *(*fn)(void *);
    void *arg;
} spawn_t;

static void *trampoline(void *v)
{
    spawn_t s = *(spawn_t *)v;
    __libc_free(v);
    pf_thread(); /* the thread's record starts now, not at its first event */
    return s.fn(s.arg);
}

PF_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    if (!READY(pthread_create))
        return EAGAIN;
    spawn_t *s = __libc_malloc(sizeof *s);
    if (!s)
        return EAGAIN;
    s->fn = fn;
    s->arg = arg;
    pf_timeline_threads_begin();
    int rc = real.pthread_create(th, attr, trampoline, s);
    if (rc != 0)
        __libc_free(s);
    return rc;
}

/* ---- exit and exec ------------------------------------------------------------------------ */

PF_EXPORT void _exit(int code)
{
    pf_session_exit();
    if (READY(exit_))
        real.exit_(code);
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

PF_EXPORT void _Exit(int code)
{
    pf_session_exit();
    if (READY(Exit_))
        real.Exit_(code);
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

PF_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    int rc = READY(execve) ? real.execve(path, argv, envp) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

PF_EXPORT int execv(const char *path, char *const argv[])
{
    pf_session_exec_attempt();
    int rc = READY(execv) ? real.execv(path, argv) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

PF_EXPORT int execvp(const char *file, char *const argv[])
{
    pf_session_exec_attempt();
    int rc = READY(execvp) ? real.execvp(file, argv) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

PF_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    int rc = READY(execvpe) ? real.execvpe(file, argv, envp) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

/* ---- SIGPROF: the program's own (issue 16) ------------------------------------------------
 * The CPU sampler uses SIGPROF; a program that sets SIGPROF or ITIMER_PROF itself owns them,
 * and pferris stands down before the call (lib/runtime/cpu.c). pf_in_hook: pferris's own calls
 * pass straight through. */

PF_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == SIGPROF && !pf_in_hook) {
        if (act)
            pf_cpu_program_wants_sigprof("the program set SIGPROF's disposition (sigaction)");
        else if (pf_cpu_hidden_sigprof(old))
            return 0;
    }
    return READY(sigaction) ? real.sigaction(sig, act, old) : (errno = ENOSYS, -1);
}

PF_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    if (sig == SIGPROF && !pf_in_hook)
        pf_cpu_program_wants_sigprof("the program set SIGPROF's disposition (signal)");
    return READY(signal) ? real.signal(sig, handler) : (errno = ENOSYS, SIG_ERR);
}

PF_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *value, struct itimerval *old)
{
    if (which == ITIMER_PROF && value && !pf_in_hook &&
        (value->it_value.tv_sec || value->it_value.tv_usec))
        pf_cpu_program_wants_sigprof("the program started ITIMER_PROF (setitimer)");
    return READY(setitimer) ? real.setitimer(which, value, old) : (errno = ENOSYS, -1);
}

/* ---- life cycle --------------------------------------------------------------------------- */

__attribute__((constructor(101))) static void preload_init(void)
{
    resolve();
    pf_session_init(1);
}

__attribute__((destructor(101))) static void preload_fini(void)
{
    pf_session_exit();
}
