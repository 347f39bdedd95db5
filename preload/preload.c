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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
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
    pf_heap_alloc(p, size, real.usable(p));
    errno = saved;
}

static inline size_t count_free(void *p)
{
    int saved = errno;
    size_t usable = real.usable(p);
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
    if (!READY(usable))
        return 0;
    size_t n;
    IN_ALLOCATOR(n = real.usable(p));
    return n;
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
    pf_thread_note_stack(pf_thread()); /* the record starts now, not at its first event */
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
    int saved = errno;
    pf_timeline_threads_begin();
    errno = saved;
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
    return READY(execve) ? real.execve(path, argv, envp) : (errno = ENOSYS, -1);
}

PF_EXPORT int execv(const char *path, char *const argv[])
{
    pf_session_exec_attempt();
    return READY(execv) ? real.execv(path, argv) : (errno = ENOSYS, -1);
}

PF_EXPORT int execvp(const char *file, char *const argv[])
{
    pf_session_exec_attempt();
    return READY(execvp) ? real.execvp(file, argv) : (errno = ENOSYS, -1);
}

PF_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    return READY(execvpe) ? real.execvpe(file, argv, envp) : (errno = ENOSYS, -1);
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
