/* locks.c — the pthread synchronisation calls keep their exact results under the preload,
 * which tries each lock before it blocks: error-checking, recursive, robust and
 * priority-inheritance mutexes, timed and clock waits that time out, rwlocks, semaphores (and
 * errno, and cancellation), barriers, pthread_cond_clockwait, and the old GLIBC_2.2.5 ABI of pthread_cond_wait
 * and pthread_cond_timedwait. Prints one line per check; the output must not change. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void say(const char *what, int rc)
{
    printf("%-34s %s\n", what, rc == 0 ? "0" : strerrorname_np(rc) ? strerrorname_np(rc) : "?");
}

static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += ms * 1000000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

static pthread_mutex_t robust;
static void *die_holding(void *arg)
{
    say("robust: owner locks", pthread_mutex_lock(&robust));
    return arg; /* ends without unlocking */
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t gate;
static void *holder(void *arg)
{
    pthread_mutex_lock(&held);
    pthread_rwlock_wrlock(&rw);
    sem_post(&gate);
    struct timespec ts = {0, 300 * 1000000};
    nanosleep(&ts, NULL);
    pthread_rwlock_unlock(&rw);
    pthread_mutex_unlock(&held);
    return arg;
}

/* A thread with a cancellation pending is cancelled by sem_wait even when the semaphore is
 * available (a cancellation point "shall occur" there). */
static sem_t open_sem;
static void *cancel_at_sem(void *arg)
{
    pthread_cancel(pthread_self()); /* deferred: pending until a cancellation point */
    sem_wait(&open_sem);
    return arg; /* not reached when sem_wait acts on the cancellation */
}

/* A thread cancelled while blocked in pthread_cond_wait unwinds through the interposer, holding
 * the mutex again, and its cleanup handler runs. */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cond = PTHREAD_COND_INITIALIZER;
static int cleaned;
static void unlock_on_cancel(void *m)
{
    cleaned = 1;
    pthread_mutex_unlock(m);
}
static void *cancel_in_cond_wait(void *arg)
{
    pthread_mutex_lock(&cancel_lock);
    pthread_cleanup_push(unlock_on_cancel, &cancel_lock);
    for (;;)
        pthread_cond_wait(&cancel_cond, &cancel_lock);
    pthread_cleanup_pop(1);
    return arg;
}

static pthread_barrier_t barrier;
static int serial;
static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;
static void *at_barrier(void *arg)
{
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
        pthread_mutex_lock(&serial_lock);
        serial++;
        pthread_mutex_unlock(&serial_lock);
    }
    return arg;
}

/* The old condition variable ABI, as a binary linked against glibc 2.2.5 would call it. */
extern int old_cond_init(pthread_cond_t *, const pthread_condattr_t *);
extern int old_cond_signal(pthread_cond_t *);
extern int old_cond_wait(pthread_cond_t *, pthread_mutex_t *);
extern int old_cond_timedwait(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
extern int old_cond_destroy(pthread_cond_t *);
__asm__(".symver old_cond_init, pthread_cond_init@GLIBC_2.2.5");
__asm__(".symver old_cond_signal, pthread_cond_signal@GLIBC_2.2.5");
__asm__(".symver old_cond_wait, pthread_cond_wait@GLIBC_2.2.5");
__asm__(".symver old_cond_timedwait, pthread_cond_timedwait@GLIBC_2.2.5");
__asm__(".symver old_cond_destroy, pthread_cond_destroy@GLIBC_2.2.5");

static pthread_cond_t old_cond;
static pthread_mutex_t old_lock = PTHREAD_MUTEX_INITIALIZER;
static int old_ready;
static void *old_signaller(void *arg)
{
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&old_lock);
    old_ready = 1;
    old_cond_signal(&old_cond);
    pthread_mutex_unlock(&old_lock);
    return arg;
}

int main(void)
{
    pthread_mutexattr_t a;
    pthread_mutex_t m;

    /* Error-checking: a relock by the owner is EDEADLK, an unlock by a non-owner EPERM. */
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    say("errorcheck: lock", pthread_mutex_lock(&m));
    say("errorcheck: relock", pthread_mutex_lock(&m));
    struct timespec ts = in_ms(CLOCK_REALTIME, 20);
    say("errorcheck: timedlock by owner", pthread_mutex_timedlock(&m, &ts));
    say("errorcheck: unlock", pthread_mutex_unlock(&m));
    say("errorcheck: unlock again", pthread_mutex_unlock(&m));
    pthread_mutex_destroy(&m);

    /* Recursive: three locks need three unlocks. */
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m, &a);
    for (int i = 0; i < 3; i++)
        say("recursive: lock", pthread_mutex_lock(&m));
    for (int i = 0; i < 3; i++)
        say("recursive: unlock", pthread_mutex_unlock(&m));
    say("recursive: unlock once more", pthread_mutex_unlock(&m));
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);

    /* Robust: the owner's death shows as EOWNERDEAD to the next locker; left inconsistent,
     * the mutex becomes unusable (ENOTRECOVERABLE). */
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &a);
    pthread_t th;
    pthread_create(&th, NULL, die_holding, NULL);
    pthread_join(th, NULL);
    say("robust: lock after owner died", pthread_mutex_lock(&robust));
    say("robust: unlock, not consistent", pthread_mutex_unlock(&robust));
    say("robust: lock again", pthread_mutex_lock(&robust));
    pthread_mutex_destroy(&robust);
    pthread_mutex_init(&robust, &a);
    pthread_create(&th, NULL, die_holding, NULL);
    pthread_join(th, NULL);
    ts = in_ms(CLOCK_REALTIME, 20);
    say("robust: timedlock after owner died", pthread_mutex_timedlock(&robust, &ts));
    say("robust: consistent", pthread_mutex_consistent(&robust));
    say("robust: unlock", pthread_mutex_unlock(&robust));
    say("robust: lock", pthread_mutex_lock(&robust));
    say("robust: unlock", pthread_mutex_unlock(&robust));
    pthread_mutexattr_destroy(&a);

    /* Priority inheritance, error-checking. */
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    say("pi: lock", pthread_mutex_lock(&m));
    say("pi: relock", pthread_mutex_lock(&m));
    say("pi: unlock", pthread_mutex_unlock(&m));
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);

    /* Timed and clock forms that time out on a lock another thread holds. */
    sem_init(&gate, 0, 0);
    pthread_create(&th, NULL, holder, NULL);
    sem_wait(&gate);
    ts = in_ms(CLOCK_REALTIME, 30);
    say("mutex: timedlock, held elsewhere", pthread_mutex_timedlock(&held, &ts));
    ts = in_ms(CLOCK_MONOTONIC, 30);
    say("mutex: clocklock, held elsewhere", pthread_mutex_clocklock(&held, CLOCK_MONOTONIC, &ts));
    ts = in_ms(CLOCK_REALTIME, 30);
    say("rwlock: timedrdlock, written", pthread_rwlock_timedrdlock(&rw, &ts));
    ts = in_ms(CLOCK_MONOTONIC, 30);
    say("rwlock: clockwrlock, written", pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &ts));
    say("mutex: lock, waits for holder", pthread_mutex_lock(&held));
    say("mutex: unlock", pthread_mutex_unlock(&held));
    pthread_join(th, NULL);
    say("rwlock: wrlock", pthread_rwlock_wrlock(&rw));
    say("rwlock: wrlock by the writer", pthread_rwlock_wrlock(&rw));
    say("rwlock: unlock", pthread_rwlock_unlock(&rw));
    say("rwlock: rdlock", pthread_rwlock_rdlock(&rw));
    say("rwlock: rdlock again", pthread_rwlock_rdlock(&rw));
    ts = in_ms(CLOCK_REALTIME, 20);
    say("rwlock: timedwrlock, read", pthread_rwlock_timedwrlock(&rw, &ts));

    /* Condition variables that time out, and one that is signalled. */
    pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&cm);
    ts = in_ms(CLOCK_REALTIME, 20);
    say("cond: timedwait", pthread_cond_timedwait(&cv, &cm, &ts));
    ts = in_ms(CLOCK_MONOTONIC, 20);
    say("cond: clockwait monotonic", pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, &ts));
    ts = in_ms(CLOCK_REALTIME, 20);
    say("cond: clockwait realtime", pthread_cond_clockwait(&cv, &cm, CLOCK_REALTIME, &ts));
    say("cond: clockwait bad clock", pthread_cond_clockwait(&cv, &cm, CLOCK_PROCESS_CPUTIME_ID, &ts));
    say("cond: mutex still held (relock)", pthread_mutex_trylock(&cm));
    pthread_mutex_unlock(&cm);

    /* The old ABI, signalled, then timing out. */
    old_cond_init(&old_cond, NULL);
    pthread_create(&th, NULL, old_signaller, NULL);
    pthread_mutex_lock(&old_lock);
    int rc = 0;
    while (!old_ready && rc == 0)
        rc = old_cond_wait(&old_cond, &old_lock);
    say("old cond: wait, signalled", rc);
    ts = in_ms(CLOCK_REALTIME, 20);
    say("old cond: timedwait", old_cond_timedwait(&old_cond, &old_lock, &ts));
    pthread_mutex_unlock(&old_lock);
    pthread_join(th, NULL);
    say("old cond: destroy", old_cond_destroy(&old_cond));

    /* Semaphores: results through errno, and errno left alone on success. */
    sem_t s;
    sem_init(&s, 0, 1);
    errno = 1234;
    rc = sem_wait(&s);
    printf("%-34s %d errno %d\n", "sem: wait, available", rc, errno);
    ts = in_ms(CLOCK_REALTIME, 20);
    errno = 0;
    rc = sem_timedwait(&s, &ts);
    printf("%-34s %d %s\n", "sem: timedwait, empty", rc, strerrorname_np(errno));
    ts = in_ms(CLOCK_MONOTONIC, 20);
    errno = 0;
    rc = sem_clockwait(&s, CLOCK_MONOTONIC, &ts);
    printf("%-34s %d %s\n", "sem: clockwait, empty", rc, strerrorname_np(errno));
    ts.tv_nsec = 2000000000;
    errno = 0;
    rc = sem_timedwait(&s, &ts);
    printf("%-34s %d %s\n", "sem: timedwait, bad time", rc, strerrorname_np(errno));
    sem_post(&s);
    errno = 77;
    rc = sem_timedwait(&s, &ts);
    printf("%-34s %d errno %d\n", "sem: timedwait, available", rc, errno);
    sem_post(&s);
    errno = 0;
    rc = sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &ts);
    printf("%-34s %d %s\n", "sem: clockwait, bad clock", rc, strerrorname_np(errno));
    sem_destroy(&s);

    /* Bad timeouts on free locks: glibc checks some before it tries the lock. */
    pthread_mutex_t fm = PTHREAD_MUTEX_INITIALIZER;
    pthread_rwlock_t frw = PTHREAD_RWLOCK_INITIALIZER;
    struct timespec bad = {0, -1};
    say("free mutex: timedlock, bad time", pthread_mutex_timedlock(&fm, &bad));
    pthread_mutex_unlock(&fm);
    ts = in_ms(CLOCK_MONOTONIC, 20);
    say("free mutex: clocklock, bad clock", pthread_mutex_clocklock(&fm, CLOCK_PROCESS_CPUTIME_ID, &ts));
    say("free rwlock: timedrdlock, bad time", pthread_rwlock_timedrdlock(&frw, &bad));
    say("free rwlock: timedwrlock, bad time", pthread_rwlock_timedwrlock(&frw, &bad));
    say("free rwlock: clockrdlock, bad clock", pthread_rwlock_clockrdlock(&frw, CLOCK_PROCESS_CPUTIME_ID, &ts));

    sem_init(&open_sem, 0, 1);
    void *ret;
    pthread_create(&th, NULL, cancel_at_sem, NULL);
    pthread_join(th, &ret);
    printf("%-34s %s\n", "sem: wait with a cancel pending", ret == PTHREAD_CANCELED ? "cancelled" : "returned");
    printf("%-34s %d\n", "sem: value after it", (sem_getvalue(&open_sem, &rc), rc));

    pthread_create(&th, NULL, cancel_in_cond_wait, NULL);
    ts = (struct timespec){0, 30 * 1000000};
    nanosleep(&ts, NULL);
    pthread_cancel(th);
    pthread_join(th, &ret);
    printf("%-34s %s, cleanup %d\n", "cond: cancelled while waiting", ret == PTHREAD_CANCELED ? "cancelled" : "returned", cleaned);
    say("cond: mutex free after it", pthread_mutex_trylock(&cancel_lock));
    pthread_mutex_unlock(&cancel_lock);

    /* A barrier: exactly one serial thread. */
    pthread_barrier_init(&barrier, NULL, 4);
    pthread_t bt[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&bt[i], NULL, at_barrier, NULL);
    at_barrier(NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(bt[i], NULL);
    printf("%-34s %d\n", "barrier: serial threads", serial);
    pthread_barrier_destroy(&barrier);
    return 0;
}
