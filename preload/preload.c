/* preload.c — the LD_PRELOAD shim: the malloc family, pthread_create and the program's start
 * (main is wrapped); the pthread synchronisation calls are in sync.c, the process's end, exec
 * and the signal calls in process.c. Each interposer is guard, hook into lib/, real call; the
 * logic lives in lib/.
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
#include "base/ownheap.h"
#include "real.h"
#include "runtime/cpu.h"
#include "runtime/heap.h"
#include "session/session.h"
#include "report/report.h"
#include "runtime/thread.h"
#include "runtime/timeline.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

pf_real_t pf_real PF_HIDDEN;

/* ---- the bootstrap arena ------------------------------------------------------------------ */

static _Alignas(64) char boot[1 << 16];
static size_t boot_used;
static int resolving;
int pf_real_resolved PF_HIDDEN;

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
    return (uintptr_t)p - (uintptr_t)boot < sizeof boot;
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - 16, sizeof n);
    return n;
}

/* The POSIX idiom for a dlsym result that is a function (ISO C has no such conversion). */
#define LOAD_AS(field, sym) (*(void **)&pf_real.field = dlsym(RTLD_NEXT, sym))
#define LOAD(name)          LOAD_AS(name, #name)

/* malloc_usable_size of the object that defines the malloc in use, or NULL when it has none:
 * another allocator's blocks must never go to glibc's (which reads a chunk header that is not
 * there). The first definition after pferris is taken when it lives in malloc's object; else
 * malloc's object is asked itself (a lookup in its handle also searches its dependencies, so
 * the answer must come from that object too). */
static void *owner_usable(void *next)
{
    Dl_info mi, ui;
    void *m = *(void **)&pf_real.malloc;
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

static int usable_from_chunk; /* chunk_usable serves: see prefer_chunk_usable */

/* The real malloc and free, published once every field of pf_real is (NULL before): the one
 * test on their interposers' common path, and the pointer they call. */
static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
} hot;

/* A block's usable size read from glibc's chunk header, the word before it (size | flags): an
 * mmapped chunk (flag 2) spends 16 bytes of it on headers, any other 8 (it also owns the next
 * chunk's first word). glibc's malloc_usable_size gives the same figure but first reads the
 * next chunk's header too, to see that the block is in use: a second cache line on every
 * allocation and free, for a check the program's own live blocks always pass. */
static inline size_t chunk_usable(void *p)
{
    size_t head = ((const size_t *)p)[-1];
    return (head & ~(size_t)7) - 8 - ((head & 2) << 2); /* mmapped: 16, without a branch */
}

/* chunk_usable in place of the owner's malloc_usable_size when malloc is libc.so.6's own and
 * the two agree on blocks of every kind (tcache, bins, top, mmapped): else, as before. */
static void prefer_chunk_usable(void)
{
    Dl_info ui;
    if (!pf_real.usable || !dladdr(*(void **)&pf_real.usable, &ui) || !ui.dli_fname ||
        !strstr(ui.dli_fname, "/libc.so."))
        return;
    /* Small blocks go back where they came from; the mmapped one is over 32 MiB, the largest
     * whose free would raise glibc's dynamic mmap and trim thresholds for the program. */
    static const size_t sizes[] = {0, 1, 24, 25, 100, 1000, 5000, (size_t)40 << 20};
    int agree = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes && agree; i++) {
        void *p = pf_real.malloc(sizes[i]);
        agree = p && chunk_usable(p) == pf_real.usable(p);
        pf_real.free(p);
    }
    usable_from_chunk = agree;
}

void pf_real_resolve(void)
{
    if (pf_load_acquire(&pf_real_resolved))
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
    *(void **)&pf_real.usable_next = next;
    *(void **)&pf_real.usable = owner_usable(next);
    prefer_chunk_usable();
    pf_heap_set_sizes(pf_real.usable ? PF_HEAP_SIZES_USABLE : PF_HEAP_SIZES_REQUESTED);
    pf_thread_real_create_set(pf_real.pthread_create);
    pf_store_release(&pf_real_resolved, 1); /* every field above is visible to whoever sees this */
    pf_store_release(&hot.malloc, pf_real.malloc);
    pf_store_release(&hot.free, pf_real.free);
}

#define READY(fn) PF_REAL_READY(fn)
#define COUNTING()                                                                             \
    (pf_likely(pf_heap_enabled > 0 || (pf_heap_enabled < 0 && pf_heap_decide())) &&            \
     pf_likely(!pf_in_hook))
/* A block's size for the accounts: usable when the owner tells it, else what was asked for
 * (at free: nothing, see heap.h). glibc's is read from the chunk header in place (set by
 * prefer_chunk_usable); another allocator's function may touch errno, which is kept. */
static inline size_t usable_of(void *p, size_t requested)
{
    if (pf_likely(usable_from_chunk))
        return chunk_usable(p);
    if (!pf_real.usable)
        return requested;
    int saved = errno;
    size_t n = pf_real.usable(p);
    errno = saved;
    return n;
}

/* The real allocator runs with pf_in_hook raised: a signal handler that interrupts it and calls
 * _exit then finds the thread inside the allocator and does not build the report, which would
 * allocate (pf_session_exit). It also keeps an allocator's own nested calls uncounted. */
#define IN_ALLOCATOR(stmt)                                                                     \
    do {                                                                                       \
        pf_in_hook++;                                                                          \
        stmt;                                                                                  \
        pf_in_hook--;                                                                          \
    } while (0)

/* Every call from an interposer into lib/ goes through one of these. Their inline paths only
 * add to the thread's own counters; whatever could touch the program's errno (a thread's first
 * record, a flush, a sample's unwind, a forgotten block) keeps it in lib/ itself. */
static inline __attribute__((always_inline)) void *count_alloc(void *p, size_t size)
{
    return pf_heap_alloc(p, size, usable_of(p, size));
}

static inline __attribute__((always_inline)) size_t count_free(void *p)
{
    size_t usable = usable_of(p, 0);
    pf_heap_free(p, usable);
    return usable;
}

static inline void count_unfree(size_t usable)
{
    int saved = errno;
    pf_heap_unfree(usable);
    errno = saved;
}

/* The counting paths, out of line: the wrappers' common path then needs no stack frame beyond
 * the register that keeps p across the real call (inlined, their prologue saved six registers
 * on every call, counting or not: 44 instructions a free with heap tracking off, where a plain
 * forwarding shim takes 10). And they end in heap.h's one tail call for rare work, so they
 * save no registers themselves. */
static __attribute__((noinline)) void *malloc_counted_any(void *p, size_t size)
{
    return count_alloc(p, size);
}

static __attribute__((noinline)) void *malloc_counted(void *p, size_t size)
{
    if (pf_unlikely(!usable_from_chunk))
        return malloc_counted_any(p, size);
    return pf_heap_alloc(p, size, chunk_usable(p));
}

static __attribute__((noinline)) void free_count_any(void *p)
{
    count_free(p);
}

static __attribute__((noinline)) void free_count(void *p)
{
    if (pf_unlikely(!usable_from_chunk)) {
        free_count_any(p);
        return;
    }
    pf_heap_free(p, chunk_usable(p));
}

/* ---- the malloc family -------------------------------------------------------------------- */

/* A block asked for while pferris runs (pf_in_hook: libunwind's thread-local block that the
 * loader allocates at a thread's first unwind, jansson's report tree, an allocator's own nested
 * call): from pferris's own heap, so it never moves the program's blocks (ownheap.h); from the
 * real allocator, uncounted, when that heap cannot serve it. */
static void *own_alloc(size_t size)
{
    void *p = pf_ownheap_alloc(size);
    if (!p)
        IN_ALLOCATOR(p = pf_real.malloc(size));
    return p;
}

/* Before resolution, and while pferris runs on this thread. */
static __attribute__((noinline)) void *malloc_cold(size_t size)
{
    if (!READY(malloc))
        return boot_alloc(size, 16);
    if (pf_in_hook)
        return own_alloc(size);
    void *p;
    IN_ALLOCATOR(p = pf_real.malloc(size));
    if (pf_likely(p != NULL) && COUNTING())
        return malloc_counted(p, size);
    return p;
}

/* The common path sets pf_in_hook to 1 and back to 0 around the real call (IN_ALLOCATOR), as it
 * was 0: an increment would read it again after the call. */
PF_EXPORT void *malloc(size_t size)
{
    void *(*real)(size_t) = pf_load_acquire(&hot.malloc);
    if (pf_unlikely(!real) || pf_unlikely(pf_in_hook))
        return malloc_cold(size);
    pf_in_hook = 1;
    void *p = real(size);
    pf_in_hook = 0;
    if (pf_likely(p != NULL) && pf_likely(COUNTING()))
        return malloc_counted(p, size);
    return p;
}

static __attribute__((noinline)) void free_cold(void *p)
{
    if (boot_owns(p))
        return;
    if (pf_ownheap_owns(p)) {
        pf_ownheap_free(p);
        return;
    }
    if (!READY(free))
        return;
    if (COUNTING())
        free_count(p);
    IN_ALLOCATOR(pf_real.free(p));
}

PF_EXPORT void free(void *p)
{
    if (!p)
        return;
    void (*real)(void *) = pf_load_acquire(&hot.free);
    if (pf_unlikely(!real) || pf_unlikely(pf_ownheap_owns(p) | boot_owns(p)) ||
        pf_unlikely(pf_in_hook)) {
        free_cold(p);
        return;
    }
    if (pf_likely(COUNTING())) {
        free_count(p);
        real = pf_load_relaxed(&hot.free); /* loaded again: no register kept across the call */
    }
    pf_in_hook = 1;
    real(p);
    pf_in_hook = 0;
}

PF_EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (!READY(calloc) || pf_unlikely(pf_in_hook)) {
        if (__builtin_mul_overflow(n, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        if (!READY(calloc))
            return boot_alloc(total, 16);
        void *own = pf_ownheap_alloc(total); /* pferris runs: see own_alloc */
        if (own)
            return memset(own, 0, total);
    }
    void *p;
    IN_ALLOCATOR(p = pf_real.calloc(n, size));
    if (pf_likely(p != NULL) && COUNTING())
        count_alloc(p, n * size);
    return p;
}

/* A block of the boot arena or of pferris's own heap, moved into a new block of size bytes
 * (from wherever malloc now serves this thread); the old one is freed as free would. */
static void *move_realloc(void *old, size_t n, size_t size)
{
    void *p = malloc(size);
    if (p) {
        memcpy(p, old, n < size ? n : size);
        free(old);
    }
    return p;
}

PF_EXPORT void *realloc(void *old, size_t size)
{
    if (pf_unlikely(boot_owns(old)))
        return move_realloc(old, boot_size(old), size);
    if (pf_unlikely(pf_ownheap_owns(old)))
        return move_realloc(old, pf_ownheap_usable(old), size);
    if (!READY(realloc))
        return old ? NULL : boot_alloc(size, 16);
    if (!old && pf_unlikely(pf_in_hook))
        return own_alloc(size);
    void *p;
    if (!COUNTING()) {
        IN_ALLOCATOR(p = pf_real.realloc(old, size));
        return p;
    }
    /* The old block counts as freed before the call: once realloc returns, another thread may
     * be handed the same address, and its record must not be the one forgotten. */
    size_t old_usable = old ? count_free(old) : 0;
    IN_ALLOCATOR(p = pf_real.realloc(old, size));
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
    IN_ALLOCATOR(rc = pf_real.posix_memalign(out, align, size));
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
        IN_ALLOCATOR(p = pf_real.name args);                                                      \
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
    if (pf_unlikely(pf_ownheap_owns(p)))
        return pf_ownheap_usable(p);
    if (!READY(usable_next))
        return 0;
    size_t n; /* as without pferris, whoever owns p */
    IN_ALLOCATOR(n = pf_real.usable_next(p));
    return n;
}

/* ---- threads ------------------------------------------------------------------------------ */

/* What the new thread needs, in a block the parent allocates and the child frees: from
 * pferris's own heap, because a glibc block freed in the child goes to the child's tcache and
 * becomes the program's first small block there, moving its heap (mallocbench's page faults
 * went from 8,700 to 6,200, or to 9,500 when libunwind's thread-local block took it first).
 * A thread with an attr gets the stack too, marked by the low bit of the pointer. */
typedef struct {
    void *(*fn)(void *);
    void *arg;
} spawn_t;

typedef struct {
    spawn_t s;
    void *stack;      /* the stack the program supplied, or NULL */
    size_t stack_size;
} spawn_attr_t;

/* The new thread's start, up to the program's function: its block given back, its record made
 * and its stack noted. Out of line, so that the trampoline below has no local whose address
 * escapes and can hand over to the program's function by a tail call: no frame of pferris
 * stays at the bottom of the thread's stack, in its CPU and call-site stacks. */
static __attribute__((noinline)) spawn_t spawn_begin(void *v)
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
    if (pf_ownheap_owns(v))
        pf_ownheap_free(v);
    else
        __libc_free(v);
    /* The record starts now, not at its first event. */
    pf_thread_note_stack(pf_thread(), stack, stack_size);
    return s;
}

static void *trampoline(void *v)
{
    spawn_t s = spawn_begin(v);
    return s.fn(s.arg);
}

PF_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    if (!READY(pthread_create))
        return EAGAIN;
    size_t size = attr ? sizeof(spawn_attr_t) : sizeof(spawn_t);
    spawn_t *s = pf_ownheap_alloc(size);
    if (!s && !(s = __libc_malloc(size)))
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
    int rc = pf_real.pthread_create(th, attr, trampoline, pass);
    if (rc != 0 && pf_ownheap_owns(s))
        pf_ownheap_free(s);
    else if (rc != 0)
        __libc_free(s);
    return rc;
}

/* ---- how the process starts ------------------------------------------------------------- */

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

/* ---- life cycle --------------------------------------------------------------------------- */

__attribute__((constructor(101))) static void preload_init(void)
{
    pf_real_resolve();
    pf_session_init(1);
}

__attribute__((destructor(101))) static void preload_fini(void)
{
    pf_session_exit();
}
