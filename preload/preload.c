/* preload.c — the LD_PRELOAD shim: the malloc family, pthread_create, _exit and the exec
 * family, the program's start (main is wrapped), sigaction, signal and setitimer. Each
 * interposer is guard, hook into lib/, real call; the logic lives in lib/.
 *
 * The real functions come from dlsym(RTLD_NEXT), so another allocator preloaded after pferris
 * (or linked into the program) is still the one that allocates. dlsym itself may call calloc
 * before the real one is known; those few early blocks come from a static bootstrap arena and
 * are never given back to the real allocator. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "session/signals.h"
#include "report/report.h"
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
    size_t (*usable)(void *);      /* the malloc owner's malloc_usable_size, or NULL */
    size_t (*usable_next)(void *); /* the next definition: what the program's own call gets */
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    void (*exit_)(int);
    void (*Exit_)(int);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*execveat)(int, const char *, char *const[], char *const[], int);
    int (*setitimer)(__itimer_which_t, const struct itimerval *, struct itimerval *);
} real;

/* ---- the bootstrap arena ------------------------------------------------------------------ */

static _Alignas(64) char boot[1 << 16];
static size_t boot_used;
static int resolving, resolved;

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

/* malloc_usable_size of the object that defines the malloc in use, or NULL when it has none:
 * another allocator's blocks must never go to glibc's (which reads a chunk header that is not
 * there). The first definition after pferris is taken when it lives in malloc's object; else
 * malloc's object is asked itself (a lookup in its handle also searches its dependencies, so
 * the answer must come from that object too). */
static void *owner_usable(void *next)
{
    Dl_info mi, ui;
    void *m = *(void **)&real.malloc;
    if (!m || !dladdr(m, &mi))
        return next;
    if (next && dladdr(next, &ui) && ui.dli_fbase == mi.dli_fbase)
        return next;
    void *h = mi.dli_fname ? dlopen(mi.dli_fname, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    void *u = h ? dlsym(h, "malloc_usable_size") : NULL;
    if (h)
        dlclose(h);
    return u && dladdr(u, &ui) && ui.dli_fbase == mi.dli_fbase ? u : NULL;
}

static void resolve(void)
{
    if (pf_load_acquire(&resolved))
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
    LOAD(fexecve);
    LOAD(execveat);
    LOAD(setitimer);
    LOAD_AS(exit_, "_exit");
    LOAD_AS(Exit_, "_Exit");
    void *next = dlsym(RTLD_NEXT, "malloc_usable_size");
    *(void **)&real.usable_next = next;
    *(void **)&real.usable = owner_usable(next);
    pf_heap_set_sizes(real.usable ? PF_HEAP_SIZES_USABLE : PF_HEAP_SIZES_REQUESTED);
    pf_thread_real_create_set(real.pthread_create);
    pf_store_release(&resolved, 1); /* every field above is visible to whoever sees this */
}

/* Every real function is used only once all are resolved (none is published alone). */
#define READY(fn)                                                                              \
    ((pf_likely(pf_load_acquire(&resolved)) || (resolve(), pf_load_acquire(&resolved))) &&      \
     real.fn != NULL)
#define COUNTING()                                                                             \
    (pf_likely(pf_heap_enabled > 0 || (pf_heap_enabled < 0 && pf_heap_decide())) &&            \
     pf_likely(!pf_in_hook))
/* A block's size for the accounts: usable when the owner tells it, else what was asked for
 * (at free: nothing, see heap.h). */
#define USABLE(p, requested) (real.usable ? real.usable(p) : (size_t)(requested))

/* The real allocator runs with pf_in_hook raised: a signal handler that interrupts it and calls
 * _exit then finds the thread inside the allocator and does not build the report, which would
 * allocate (pf_session_exit). It also keeps an allocator's own nested calls uncounted. */
#define IN_ALLOCATOR(stmt)                                                                     \
    do {                                                                                       \
        pf_in_hook++;                                                                          \
        stmt;                                                                                  \
        pf_in_hook--;                                                                          \
    } while (0)

/* Every call from an interposer into lib/ goes through one of these: whatever pferris does
 * there (the unwinder's probes, a first mapping, a thread's first record), the program's errno
 * comes back as it was. */
static inline void count_alloc(void *p, size_t size)
{
    int saved = errno;
    pf_heap_alloc(p, size, USABLE(p, size));
    errno = saved;
}

static inline size_t count_free(void *p)
{
    int saved = errno;
    size_t usable = USABLE(p, 0);
    pf_heap_free(p, usable);
    errno = saved;
    return usable;
}

static inline void count_unfree(size_t usable)
{
    int saved = errno;
    pf_heap_unfree(usable);
    errno = saved;
}

/* ---- the malloc family -------------------------------------------------------------------- */

PF_EXPORT void *malloc(size_t size)
{
    if (!READY(malloc))
        return boot_alloc(size, 16);
    void *p;
    IN_ALLOCATOR(p = real.malloc(size));
    if (pf_likely(p != NULL) && COUNTING())
        count_alloc(p, size);
    return p;
}

PF_EXPORT void free(void *p)
{
    if (!p || pf_unlikely(boot_owns(p)))
        return;
    if (!READY(free))
        return;
    if (COUNTING())
        count_free(p);
    IN_ALLOCATOR(real.free(p));
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
    void *p;
    IN_ALLOCATOR(p = real.calloc(n, size));
    if (pf_likely(p != NULL) && COUNTING())
        count_alloc(p, n * size);
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
    void *p;
    if (!COUNTING()) {
        IN_ALLOCATOR(p = real.realloc(old, size));
        return p;
    }
    /* The old block counts as freed before the call: once realloc returns, another thread may
     * be handed the same address, and its record must not be the one forgotten. */
    size_t old_usable = old ? count_free(old) : 0;
    IN_ALLOCATOR(p = real.realloc(old, size));
    if (p)
        count_alloc(p, size);
    else if (old && size != 0)
        count_unfree(old_usable); /* failed: the old block is still the program's */
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
    int rc;
    IN_ALLOCATOR(rc = real.posix_memalign(out, align, size));
    if (rc == 0 && COUNTING())
        count_alloc(*out, size);
    return rc;
}

#define ALIGNED(name, params, args, size)                                                      \
    PF_EXPORT void *name params                                                                \
    {                                                                                          \
        if (!READY(name))                                                                      \
            return NULL;                                                                       \
        void *p;                                                                               \
        IN_ALLOCATOR(p = real.name args);                                                      \
        if (p && COUNTING())                                                                   \
            count_alloc(p, size);                                                              \
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
    if (!READY(usable_next))
        return 0;
    size_t n; /* as without pferris, whoever owns p */
    IN_ALLOCATOR(n = real.usable_next(p));
    return n;
}

/* ---- threads ------------------------------------------------------------------------------ */

/* What the new thread needs, in a block the parent allocates and the child frees. Its size
 * shapes the heap (glibc hands the freed chunk to the child's tcache, and mallocbench's page
 * faults doubled when it grew from 16 to 32 bytes), so the common case, no attr, stays at two
 * words; a thread with an attr gets the stack too, marked by the low bit of the pointer. */
typedef struct {
    void *(*fn)(void *);
    void *arg;
} spawn_t;

typedef struct {
    spawn_t s;
    void *stack;      /* the stack the program supplied, or NULL */
    size_t stack_size;
} spawn_attr_t;

static void *trampoline(void *v)
{
    void *stack = NULL;
    size_t stack_size = 0;
    if ((uintptr_t)v & 1) {
        spawn_attr_t *sa = (spawn_attr_t *)((uintptr_t)v - 1);
        stack = sa->stack;
        stack_size = sa->stack_size;
        v = sa;
    } else {
        pthread_attr_t dflt; /* no attr: glibc's default size */
        if (pthread_attr_init(&dflt) == 0) {
            pthread_attr_getstacksize(&dflt, &stack_size);
            pthread_attr_destroy(&dflt);
        }
    }
    spawn_t s = *(spawn_t *)v;
    __libc_free(v);
    /* The record starts now, not at its first event. */
    pf_thread_note_stack(pf_thread(), stack, stack_size);
    pf_sites_thread_start();
    return s.fn(s.arg);
}

PF_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    if (!READY(pthread_create))
        return EAGAIN;
    spawn_t *s = __libc_malloc(attr ? sizeof(spawn_attr_t) : sizeof(spawn_t));
    if (!s)
        return EAGAIN;
    s->fn = fn;
    s->arg = arg;
    void *pass = s;
    if (attr) {
        /* pthread_attr_getstack of an attr with no stack of its own gives NULL - size. */
        spawn_attr_t *sa = (spawn_attr_t *)s;
        sa->stack = NULL;
        sa->stack_size = 0;
        if (pthread_attr_getstack(attr, &sa->stack, &sa->stack_size) == 0 &&
            (uintptr_t)sa->stack + sa->stack_size == 0)
            sa->stack = NULL;
        pass = (void *)((uintptr_t)s | 1);
    }
    int saved = errno;
    pf_timeline_threads_begin();
    errno = saved;
    int rc = real.pthread_create(th, attr, trampoline, pass);
    if (rc != 0)
        __libc_free(s);
    return rc;
}

/* ---- exit and exec ------------------------------------------------------------------------ */

PF_EXPORT void _exit(int code)
{
    pf_session_set_exit(PF_EXIT_CODE, code);
    pf_session_exit();
    if (READY(exit_))
        real.exit_(code);
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

PF_EXPORT void _Exit(int code)
{
    pf_session_set_exit(PF_EXIT_CODE, code);
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

/* ITIMER_PROF delivers SIGPROF, the CPU sampler's signal: a program that starts it owns
 * SIGPROF, and the sampler stands down before the call (lib/runtime/cpu.c). */
PF_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *value, struct itimerval *old)
{
    if (which == ITIMER_PROF && value && !pf_in_hook &&
        (value->it_value.tv_sec || value->it_value.tv_usec))
        pf_cpu_program_wants_sigprof("the program started ITIMER_PROF (setitimer)");
    return READY(setitimer) ? real.setitimer(which, value, old) : (errno = ENOSYS, -1);
}

PF_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    return READY(fexecve) ? real.fexecve(fd, argv, envp) : (errno = ENOSYS, -1);
}

PF_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    pf_session_exec_attempt();
    return READY(execveat) ? real.execveat(dirfd, path, argv, envp, flags) : (errno = ENOSYS, -1);
}

/* The list forms gather their arguments on the stack, as glibc's own do (exec may not
 * allocate: it is async-signal-safe and may follow a vfork), and go the vector way. ENVP, when
 * wanted, is the word after the terminating NULL. */
#define EXEC_LIST(first, want_envp)                                                            \
    size_t argc = 1;                                                                           \
    va_list ap;                                                                                \
    va_start(ap, first);                                                                       \
    while (va_arg(ap, char *) != NULL)                                                         \
        argc++;                                                                                \
    va_end(ap);                                                                                \
    char *argv[argc + 1];                                                                      \
    argv[0] = (char *)(first);                                                                 \
    va_start(ap, first);                                                                       \
    for (size_t i = 1; i <= argc; i++)                                                         \
        argv[i] = va_arg(ap, char *);                                                          \
    char *const *envp = (want_envp) ? va_arg(ap, char *const *) : NULL;                        \
    va_end(ap);                                                                                \
    (void)envp

PF_EXPORT int execl(const char *path, const char *arg, ...)
{
    EXEC_LIST(arg, 0);
    return execv(path, argv);
}

PF_EXPORT int execle(const char *path, const char *arg, ...)
{
    EXEC_LIST(arg, 1);
    return execve(path, argv, envp);
}

PF_EXPORT int execlp(const char *file, const char *arg, ...)
{
    EXEC_LIST(arg, 0);
    return execvp(file, argv);
}

/* ---- how the process starts, and the signals the program sets --------------------------- */

/* main is wrapped so that the session learns exit's status: the wrapper registers an on_exit
 * handler, which runs before the libraries' destructors (the loader's own exit handler was
 * registered just before main), whether the program calls exit or returns from main. The call
 * to main is a tail call, so the wrapper leaves no frame in the program's stacks. */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
    pf_session_main_starts();
    return real_main(argc, argv, envp);
}

PF_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, main_fn init,
                                void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    int (*start)(main_fn, int, char **, main_fn, void (*)(void), void (*)(void), void *);
    *(void **)&start = dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return start(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

/* SIGPROF is the CPU sampler's: a program that sets it (or ITIMER_PROF, below) owns it, and the
 * sampler stands down before the call (lib/runtime/cpu.c); a query while pferris samples sees
 * what the program set. pf_in_hook: pferris's own calls pass straight through. */
PF_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == SIGPROF && !pf_in_hook) {
        if (act)
            pf_cpu_program_wants_sigprof("the program set SIGPROF's disposition (sigaction)");
        else if (pf_cpu_hidden_sigprof(old))
            return 0;
    }
    return pf_signals_sigaction(sig, act, old);
}

PF_EXPORT pf_sighandler_t signal(int sig, pf_sighandler_t handler)
{
    if (sig == SIGPROF && !pf_in_hook)
        pf_cpu_program_wants_sigprof("the program set SIGPROF's disposition (signal)");
    return pf_signals_signal(sig, handler);
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

/* ---- waits: the pthread synchronisation calls ----------------------------------------------
 * Only a call that would block is timed (lib/runtime/waits.c). A mutex's lock word is looked
 * at (below); an rwlock or a semaphore is tried first. A try that acquires returns what the
 * blocking call would have; every other result of the try (EBUSY; also what becomes EDEADLK
 * for an rwlock the caller write-holds, EAGAIN) is followed by the real blocking call, and its
 * result is what the program sees: nothing is synthesised. Condition variables and barriers
 * always wait, so they are always timed.
 *
 * The real functions are resolved in the constructor. Before that, a mutex or rwlock goes
 * through libc's own __pthread_* entry points, which need no dlsym; the others resolve on
 * first use. While pferris itself runs (pf_in_hook) every call passes straight through.
 *
 * pthread_cond_wait and pthread_cond_timedwait have two ABIs in glibc: the default
 * GLIBC_2.3.2 and the old GLIBC_2.2.5 one. Both are defined here with those versions
 * (preload/preload.map), and each forwards to its own version of the real function. */

#include <semaphore.h>
#include <time.h>
#include "runtime/waits.h"

/* libc's own entry points, bound by the dynamic linker (they are never ours), for the calls
 * that come before the constructor. They exist only in the GLIBC_2.2.5 version. */
extern int pf_libc_mutex_lock(pthread_mutex_t *);
extern int pf_libc_rwlock_rdlock(pthread_rwlock_t *);
extern int pf_libc_rwlock_wrlock(pthread_rwlock_t *);
__asm__(".symver pf_libc_mutex_lock, __pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver pf_libc_rwlock_rdlock, __pthread_rwlock_rdlock@GLIBC_2.2.5");
__asm__(".symver pf_libc_rwlock_wrlock, __pthread_rwlock_wrlock@GLIBC_2.2.5");

typedef const struct timespec *abstime_t;

static struct {
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_timedlock)(pthread_mutex_t *, abstime_t);
    int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, abstime_t);
    int (*rwlock_tryrdlock)(pthread_rwlock_t *);
    int (*rwlock_trywrlock)(pthread_rwlock_t *);
    int (*rwlock_rdlock)(pthread_rwlock_t *);
    int (*rwlock_wrlock)(pthread_rwlock_t *);
    int (*rwlock_timedrdlock)(pthread_rwlock_t *, abstime_t);
    int (*rwlock_timedwrlock)(pthread_rwlock_t *, abstime_t);
    int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, abstime_t);
    int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, abstime_t);
    int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, abstime_t);
    int (*cond_wait_old)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait_old)(pthread_cond_t *, pthread_mutex_t *, abstime_t);
    int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, abstime_t);
    int (*barrier_wait)(pthread_barrier_t *);
    int (*sem_trywait)(sem_t *);
    int (*sem_wait)(sem_t *);
    int (*sem_timedwait)(sem_t *, abstime_t);
    int (*sem_clockwait)(sem_t *, clockid_t, abstime_t);
    int ready;
} sync_real;

static __thread int sync_resolving __attribute__((tls_model("initial-exec")));

#define SYNC_LOAD(field, sym) (*(void **)&sync_real.field = dlsym(RTLD_NEXT, sym))
#define SYNC_LOADV(field, sym, ver) (*(void **)&sync_real.field = dlvsym(RTLD_NEXT, sym, ver))

static void sync_resolve(void)
{
    if (pf_load_acquire(&sync_real.ready) || sync_resolving)
        return;
    sync_resolving = 1; /* a lock taken inside dlsym passes through */
    SYNC_LOAD(mutex_lock, "pthread_mutex_lock");
    SYNC_LOAD(mutex_timedlock, "pthread_mutex_timedlock");
    SYNC_LOAD(mutex_clocklock, "pthread_mutex_clocklock");
    SYNC_LOAD(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
    SYNC_LOAD(rwlock_trywrlock, "pthread_rwlock_trywrlock");
    SYNC_LOAD(rwlock_rdlock, "pthread_rwlock_rdlock");
    SYNC_LOAD(rwlock_wrlock, "pthread_rwlock_wrlock");
    SYNC_LOAD(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
    SYNC_LOAD(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
    SYNC_LOAD(rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
    SYNC_LOAD(rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
    SYNC_LOADV(cond_wait, "pthread_cond_wait", "GLIBC_2.3.2");
    SYNC_LOADV(cond_timedwait, "pthread_cond_timedwait", "GLIBC_2.3.2");
    SYNC_LOADV(cond_wait_old, "pthread_cond_wait", "GLIBC_2.2.5");
    SYNC_LOADV(cond_timedwait_old, "pthread_cond_timedwait", "GLIBC_2.2.5");
    SYNC_LOAD(cond_clockwait, "pthread_cond_clockwait");
    SYNC_LOAD(barrier_wait, "pthread_barrier_wait");
    SYNC_LOAD(sem_trywait, "sem_trywait");
    SYNC_LOAD(sem_wait, "sem_wait");
    SYNC_LOAD(sem_timedwait, "sem_timedwait");
    SYNC_LOAD(sem_clockwait, "sem_clockwait");
    /* A libc without versions (not glibc): the default symbol is the only one. */
    if (!sync_real.cond_wait)
        SYNC_LOAD(cond_wait, "pthread_cond_wait");
    if (!sync_real.cond_timedwait)
        SYNC_LOAD(cond_timedwait, "pthread_cond_timedwait");
    sync_resolving = 0;
    pf_store_release(&sync_real.ready, 1);
}

/* The call is timed: the real functions are known and pferris is not running on this thread. */
#define SYNC_TIMED() (pf_likely(pf_load_acquire(&sync_real.ready)) && pf_likely(!pf_in_hook))
/* The real function fn, resolved on first use when the constructor has not yet run. */
#define SYNC_REAL(fn) (pf_likely(sync_real.fn != NULL) ? sync_real.fn : (sync_resolve(), sync_real.fn))

/* Try, and when that did not acquire, the real blocking call, timed. */
#define TRY_THEN_WAIT(kind, lock, try_fn, call)                                                \
    do {                                                                                       \
        int rc_ = sync_real.try_fn(lock);                                                      \
        if (pf_likely(rc_ == 0))                                                               \
            return rc_;                                                                        \
        uint64_t begin_ = pf_waits_begin();                                                    \
        rc_ = call;                                                                            \
        pf_waits_end(lock, kind, begin_, __builtin_return_address(0));                         \
        return rc_;                                                                            \
    } while (0)

/* glibc checks some arguments before it tries the lock, so a free lock with a bad timeout
 * still gets EINVAL: such calls go straight to the real function, untried and untimed.
 * (pthread_mutex_timedlock checks its time only when it would block; the clock forms check the
 * clock first; rwlocks and semaphores check the time first.) */
#define BAD_CLOCK(c) ((c) != CLOCK_REALTIME && (c) != CLOCK_MONOTONIC)
#define BAD_TIME(at) ((at)->tv_nsec < 0 || (at)->tv_nsec >= 1000000000)

/* Always blocks: timed. */
#define WAIT(kind, lock, call)                                                                 \
    do {                                                                                       \
        uint64_t begin_ = pf_waits_begin();                                                    \
        int rc_ = call;                                                                        \
        pf_waits_end(lock, kind, begin_, __builtin_return_address(0));                         \
        return rc_;                                                                            \
    } while (0)

/* A mutex is not tried but looked at: when its lock word is zero it is free, and the real lock
 * is called untimed; when it is held (by another thread), the real lock is timed. The program's
 * call is then always the real pthread_mutex_lock, for two reasons found in glibc 2.36: its
 * lock takes a cheaper path (no atomic instruction) while the process has one thread, which
 * trylock lacks, so trying first would double the cost of an uncontended pair there; and on a
 * robust mutex made unrecoverable, trylock returns ENOTRECOVERABLE but leaves the mutex locked,
 * where lock unlocks it, so a later lock would hang. The look is a plain read: a lock taken in
 * the instant between the look and the call is waited on untimed, and one released in that
 * instant is timed with a wait of almost nothing. A mutex the caller holds itself (a recursive
 * relock, an error-checking EDEADLK) does not block and is not timed. */
#ifdef __GLIBC__
#define MUTEX_HELD(m) (pf_load_relaxed(&(m)->__data.__lock) != 0)
#define MUTEX_MINE(m) (pf_self && pf_load_relaxed(&(m)->__data.__owner) == pf_self->tid)
#else
#define MUTEX_HELD(m) 1
#define MUTEX_MINE(m) 0
#endif

#define MUTEX_WAIT(m, call)                                                                    \
    do {                                                                                       \
        if (pf_likely(!MUTEX_HELD(m)) || MUTEX_MINE(m))                                        \
            return call;                                                                       \
        WAIT(PF_WAIT_MUTEX, m, call);                                                          \
    } while (0)

/* The hottest of them: a free mutex costs one look and a tail call; the rest is out of line so
 * that the free path saves no registers. */
__attribute__((noinline)) static int mutex_lock_held(pthread_mutex_t *m, const void *caller)
{
    if (pf_in_hook || MUTEX_MINE(m))
        return sync_real.mutex_lock(m);
    uint64_t begin = pf_waits_begin();
    int rc = sync_real.mutex_lock(m);
    pf_waits_end(m, PF_WAIT_MUTEX, begin, caller);
    return rc;
}

PF_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    int (*lock)(pthread_mutex_t *) = sync_real.mutex_lock;
    if (pf_unlikely(!lock))
        return pf_libc_mutex_lock(m);
    if (pf_likely(!MUTEX_HELD(m)))
        return lock(m);
    return mutex_lock_held(m, __builtin_return_address(0));
}

PF_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, abstime_t at)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(mutex_timedlock)(m, at);
    MUTEX_WAIT(m, sync_real.mutex_timedlock(m, at));
}

PF_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_CLOCK(clock))
        return SYNC_REAL(mutex_clocklock)(m, clock, at);
    MUTEX_WAIT(m, sync_real.mutex_clocklock(m, clock, at));
}

PF_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (!SYNC_TIMED())
        return sync_real.rwlock_rdlock ? sync_real.rwlock_rdlock(l) : pf_libc_rwlock_rdlock(l);
    TRY_THEN_WAIT(PF_WAIT_RWLOCK, l, rwlock_tryrdlock, sync_real.rwlock_rdlock(l));
}

PF_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (!SYNC_TIMED())
        return sync_real.rwlock_wrlock ? sync_real.rwlock_wrlock(l) : pf_libc_rwlock_wrlock(l);
    TRY_THEN_WAIT(PF_WAIT_RWLOCK, l, rwlock_trywrlock, sync_real.rwlock_wrlock(l));
}

PF_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_TIME(at))
        return SYNC_REAL(rwlock_timedrdlock)(l, at);
    TRY_THEN_WAIT(PF_WAIT_RWLOCK, l, rwlock_tryrdlock, sync_real.rwlock_timedrdlock(l, at));
}

PF_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_TIME(at))
        return SYNC_REAL(rwlock_timedwrlock)(l, at);
    TRY_THEN_WAIT(PF_WAIT_RWLOCK, l, rwlock_trywrlock, sync_real.rwlock_timedwrlock(l, at));
}

PF_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_CLOCK(clock) || BAD_TIME(at))
        return SYNC_REAL(rwlock_clockrdlock)(l, clock, at);
    TRY_THEN_WAIT(PF_WAIT_RWLOCK, l, rwlock_tryrdlock, sync_real.rwlock_clockrdlock(l, clock, at));
}

PF_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_CLOCK(clock) || BAD_TIME(at))
        return SYNC_REAL(rwlock_clockwrlock)(l, clock, at);
    TRY_THEN_WAIT(PF_WAIT_RWLOCK, l, rwlock_trywrlock, sync_real.rwlock_clockwrlock(l, clock, at));
}

/* The two ABIs of pthread_cond_wait and pthread_cond_timedwait (see above). */
PF_EXPORT int pf_preload_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
    __attribute__((symver("pthread_cond_wait@@GLIBC_2.3.2")));
PF_EXPORT int pf_preload_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, abstime_t at)
    __attribute__((symver("pthread_cond_timedwait@@GLIBC_2.3.2")));
PF_EXPORT int pf_preload_cond_wait_old(pthread_cond_t *c, pthread_mutex_t *m)
    __attribute__((symver("pthread_cond_wait@GLIBC_2.2.5")));
PF_EXPORT int pf_preload_cond_timedwait_old(pthread_cond_t *c, pthread_mutex_t *m, abstime_t at)
    __attribute__((symver("pthread_cond_timedwait@GLIBC_2.2.5")));

int pf_preload_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(cond_wait)(c, m);
    WAIT(PF_WAIT_COND, c, sync_real.cond_wait(c, m));
}

int pf_preload_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, abstime_t at)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(cond_timedwait)(c, m, at);
    WAIT(PF_WAIT_COND, c, sync_real.cond_timedwait(c, m, at));
}

int pf_preload_cond_wait_old(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(cond_wait_old)(c, m);
    WAIT(PF_WAIT_COND, c, sync_real.cond_wait_old(c, m));
}

int pf_preload_cond_timedwait_old(pthread_cond_t *c, pthread_mutex_t *m, abstime_t at)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(cond_timedwait_old)(c, m, at);
    WAIT(PF_WAIT_COND, c, sync_real.cond_timedwait_old(c, m, at));
}

PF_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                     abstime_t at)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(cond_clockwait)(c, m, clock, at);
    WAIT(PF_WAIT_COND, c, sync_real.cond_clockwait(c, m, clock, at));
}

PF_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(barrier_wait)(b);
    WAIT(PF_WAIT_BARRIER, b, sync_real.barrier_wait(b));
}

/* sem_trywait reports EAGAIN through errno: the caller's errno is put back before waiting.
 * sem_wait and sem_timedwait are cancellation points even when they do not block (glibc acts
 * on a pending cancellation first), and sem_trywait is not: the try is preceded by the same
 * check. */
#define SEM_TRY_THEN_WAIT(s, call)                                                             \
    do {                                                                                       \
        pthread_testcancel();                                                                  \
        int saved_ = errno;                                                                    \
        if (pf_likely(sync_real.sem_trywait(s) == 0))                                          \
            return 0;                                                                          \
        errno = saved_;                                                                        \
        WAIT(PF_WAIT_SEM, s, call);                                                            \
    } while (0)

PF_EXPORT int sem_wait(sem_t *s)
{
    if (!SYNC_TIMED())
        return SYNC_REAL(sem_wait)(s);
    SEM_TRY_THEN_WAIT(s, sync_real.sem_wait(s));
}

PF_EXPORT int sem_timedwait(sem_t *s, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_TIME(at))
        return SYNC_REAL(sem_timedwait)(s, at);
    SEM_TRY_THEN_WAIT(s, sync_real.sem_timedwait(s, at));
}

PF_EXPORT int sem_clockwait(sem_t *s, clockid_t clock, abstime_t at)
{
    if (!SYNC_TIMED() || BAD_CLOCK(clock) || BAD_TIME(at))
        return SYNC_REAL(sem_clockwait)(s, clock, at);
    SEM_TRY_THEN_WAIT(s, sync_real.sem_clockwait(s, clock, at));
}

__attribute__((constructor(101))) static void preload_sync_init(void)
{
    sync_resolve();
}
