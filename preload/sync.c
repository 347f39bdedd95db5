/* sync.c — the pthread synchronisation calls of the LD_PRELOAD shim: mutexes, rwlocks,
 * condition variables, barriers and semaphores, timed when they block.
 *
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

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include "runtime/thread.h"
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
