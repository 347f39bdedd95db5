/* thread.c — attaching threads, their list, their end, the reuse of ended threads' records,
 * and fork. */
#include "runtime/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/arena.h"

__thread pf_thread_t *pf_self PF_HIDDEN __attribute__((tls_model("initial-exec")));
__thread int pf_in_hook PF_HIDDEN __attribute__((tls_model("initial-exec")));

static pf_thread_t *head;
static int live, max_live;
static pthread_key_t end_key;
static int key_state; /* 0 none, 1 creating, 2 ready */
static pf_thread_start_fn sampler_start;
static pf_thread_end_fn sampler_end;

static void key_destructor(void *v)
{
    pf_thread_end(v);
}

static void ensure_key(void)
{
    int expected = 0;
    if (pf_load_acquire(&key_state) == 2)
        return;
    if (pf_cas_acq_rel(&key_state, &expected, 1)) {
        if (pthread_key_create(&end_key, key_destructor) == 0)
            pf_store_release(&key_state, 2);
        else
            pf_store_release(&key_state, 0);
        return;
    }
    while (pf_load_acquire(&key_state) == 1)
        ;
}

static void count_live(int delta)
{
    int n = pf_add_fetch_relaxed(&live, delta);
    int m = pf_load_relaxed(&max_live);
    while (n > m && !pf_cas_relaxed(&max_live, &m, n))
        ;
}

/* ---- retired records: ended threads' records, handed to later threads ------------------
 *
 * A Treiber stack pushed by ending threads. Only one thread at a time takes from it (the one that
 * holds `taking`, its tid), so a take never races another take and needs no ABA tag: pushes
 * change only the head and their own node. Others wait for it a little (a take is a few
 * syscalls), then allocate a fresh record rather than wait longer: a holder interrupted by a
 * signal whose handler starts a thread must not stall that thread for long. A record
 * is taken only once its previous thread is gone for good, which its end alone does not say: key
 * destructors of the program that run after pferris's may still count events into it. */

#define TAKE_TRIES 16 /* retired records looked at per attach, newest first */
#define TAKE_WAITS 64 /* yields while another thread takes, before allocating instead */

static pf_thread_t *retired;
static int taking;
static uint64_t reused;
static pf_thread_retire_fn retire_hook;
static pf_thread_reuse_fn reuse_hook;

static void retire_push(pf_thread_t *t)
{
    pf_thread_t *h = pf_load_relaxed(&retired);
    do
        pf_store_relaxed(&t->free_next, h);
    while (!__atomic_compare_exchange_n(&retired, &h, t, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* The thread that had tid has run its last instruction: the kernel no longer knows it (or the
 * tid is ours, so it was given again). A tid given again to a running thread keeps the record
 * retired a while longer, which costs memory, not correctness. */
static int tid_gone(int tid, int me)
{
    return tid == me || (syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH);
}

static pf_thread_t *retire_take(int me)
{
    for (int waits = 0;; waits++) {
        int idle = 0;
        if (!pf_load_relaxed(&retired))
            return NULL;
        if (pf_cas_acq_rel(&taking, &idle, me))
            break;
        if (idle == me || waits == TAKE_WAITS) /* me: a handler that interrupted our take */
            return NULL;
        sched_yield();
    }
    pf_thread_t *prev = NULL, *got = pf_load_acquire(&retired);
    for (int k = 0; got && !tid_gone(pf_load_relaxed(&got->tid), me); k++) {
        prev = got;
        got = k + 1 < TAKE_TRIES ? pf_load_relaxed(&got->free_next) : NULL;
    }
    if (got) {
        pf_thread_t *next = pf_load_relaxed(&got->free_next), *head_ = got;
        if (!prev && !pf_cas_acq_rel(&retired, &head_, next)) {
            /* Pushed over meanwhile: got is deeper now, under the new head. */
            for (prev = head_; pf_load_relaxed(&prev->free_next) != got;)
                prev = pf_load_relaxed(&prev->free_next);
        }
        if (prev)
            pf_store_relaxed(&prev->free_next, next);
    }
    pf_store_release(&taking, 0);
    return got;
}

void pf_thread_set_retire_hook(pf_thread_retire_fn fn)
{
    pf_store_release(&retire_hook, fn);
}

void pf_thread_set_reuse_hook(pf_thread_reuse_fn fn)
{
    pf_store_release(&reuse_hook, fn);
}

uint64_t pf_thread_reused(void)
{
    return pf_load_relaxed(&reused);
}

/* The taking thread makes t its own. Its figures go on from where the previous owner's ended;
 * the base says where. t stays `exited` for readers until it is ready. */
static void takeover(pf_thread_t *t, int tid)
{
    /* Relaxed stores: a reader that saw the previous thread alive may still be reading; it
     * retries (retire.c), but its reads must not race. */
    pf_thread_base_t *b = &t->base;
    pf_store_relaxed(&b->allocs, pf_heap_allocs(&t->heap));
    pf_store_relaxed(&b->frees, pf_load_relaxed(&t->heap.frees));
    pf_store_relaxed(&b->bytes_req, pf_load_relaxed(&t->heap.bytes_req));
    pf_store_relaxed(&b->usable_out, pf_load_relaxed(&t->heap.usable_out));
    pf_store_relaxed(&b->wait_ticks, pf_load_relaxed(&t->wait.ticks));
    pf_store_relaxed(&t->tid, tid);
    pf_store_relaxed(&t->start_ticks, pf_clock_ticks());
    pf_store_relaxed(&t->end_ticks, 0);
    t->cpu_sec = 0;
    memset(t->name, 0, sizeof t->name);
    pf_store_relaxed(&t->stack_lo, 0);
    pf_store_relaxed(&t->stack_hi, 0);
    pf_store_relaxed(&t->alt_known, 0); /* a new thread has no alternate stack of its own yet */
    pf_fetch_add_relaxed(&reused, 1);
}

static pf_thread_t *pf_thread_attach_impl(void)
{
    int saved = errno;
    pf_clock_init(); /* before the first tick is read: ticks are TSC or ns from here on */
    int tid = (int)syscall(SYS_gettid);
    pf_thread_t *t = pf_load_acquire(&retire_hook) ? retire_take(tid) : NULL;
    int fresh = !t;
    if (t) {
        takeover(t, tid);
    } else if ((t = pf_arena_zalloc(sizeof *t))) {
        t->tid = tid;
        t->start_ticks = pf_clock_ticks();
    } else {
        errno = saved;
        return NULL;
    }
    /* Published before pthread_setspecific, which may allocate and so re-enter the hooks. */
    pf_self = t;
    if (fresh) {
        t->next = pf_load_relaxed(&head);
        while (!__atomic_compare_exchange_n(&head, &t->next, t, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            ;
    } else {
        pf_thread_reuse_fn reuse = pf_load_acquire(&reuse_hook);
        if (reuse)
            reuse(t);
    }
    count_live(1);
    ensure_key();
    if (pf_load_acquire(&key_state) == 2)
        pthread_setspecific(end_key, t);
    pf_thread_start_fn start = pf_load_acquire(&sampler_start);
    if (start)
        start(t);
    if (!fresh)
        pf_store_release(&t->exited, 0); /* listed as alive: every field above is written */
    errno = saved;
    return t;
}

/* Reached from every hook (pf_thread, a thread's first event) with the program's errno live:
 * kept, whatever the first mapping of a record does to it. */
pf_thread_t *pf_thread_attach(void)
{
    int saved = errno;
    pf_thread_t *t = pf_thread_attach_impl();
    errno = saved;
    return t;
}

static void internal_stop_all(void);
static void internal_after_fork(void);

static pf_thread_end_fn end_hook;

void pf_thread_set_sampler_hooks(pf_thread_start_fn start, pf_thread_end_fn end)
{
    pf_store_release(&sampler_end, end);
    pf_store_release(&sampler_start, start);
}

void pf_thread_set_end_hook(pf_thread_end_fn fn)
{
    pf_store_release(&end_hook, fn);
}

void pf_thread_end(pf_thread_t *t)
{
    if (!t || pf_load_relaxed(&t->exited))
        return;
    int saved = errno;
    char name[16] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    memcpy(t->name, name, sizeof name);
    t->cpu_sec = pf_clock_thread_cpu_sec(0);
    pf_thread_end_fn stop = pf_load_acquire(&sampler_end);
    if (stop)
        stop(t);
    pf_thread_end_fn hook = pf_load_acquire(&end_hook);
    if (hook)
        hook(t);
    pf_thread_retire_fn retire = pf_load_acquire(&retire_hook);
    if (retire) {
        retire(t, pf_clock_ticks());
    } else {
        pf_store_relaxed(&t->end_ticks, pf_clock_ticks());
        pf_store_release(&t->exited, 1);
    }
    count_live(-1);
    if (retire)
        retire_push(t);
    /* No program thread is left (this one is in its last steps): pferris's threads go first,
     * or the process would live on with them. */
    if (pf_load_relaxed(&live) == 0)
        internal_stop_all();
    errno = saved;
}

void pf_thread_note_stack(pf_thread_t *t, void *addr, size_t size)
{
    if (!t || !size)
        return;
    /* From what pthread_create was given, not pthread_getattr_np: that allocates, and a
     * thread's first allocation shapes its arena (mallocbench's page faults doubled). A stack
     * the program supplied starts at addr. glibc maps its own stacks with the guard at the
     * bottom and the thread descriptor at the top, so the usable low end lies less than
     * sizeof(struct pthread) above pthread_self() - size; 16 KiB of margin makes the estimate
     * err towards less room, never more. */
    uintptr_t lo = addr ? (uintptr_t)addr : (uintptr_t)pthread_self() - size + 16384;
    uintptr_t hi = addr ? (uintptr_t)addr + size : (uintptr_t)pthread_self();
    pf_store_relaxed(&t->stack_hi, hi);
    pf_store_relaxed(&t->stack_lo, lo);
}

void pf_thread_note_main_stack(pf_thread_t *t)
{
    /* Without it, a sample on the main thread asked the kernel for the alternate signal stack
     * each time (sites.c: its stack was unknown). 1 MiB off the low end: the kernel keeps that
     * gap to the mapping below, and the C library's figure may reach into it. */
    if (!t || getpid() != (pid_t)syscall(SYS_gettid))
        return;
    int saved = errno;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr && size > (2u << 20))
            pf_thread_note_stack(t, (char *)addr + (1u << 20), size - (1u << 20));
        pthread_attr_destroy(&attr);
    }
    errno = saved;
}

pf_thread_t *pf_thread_first(void)
{
    return pf_load_acquire(&head);
}

pf_thread_t *pf_thread_next(pf_thread_t *t)
{
    return pf_load_acquire(&t->next);
}

/* At least PF_ARENA_DIRECT bytes, so the array is a mapping of its own that can be given back. */
static size_t array_bytes(size_t n)
{
    size_t bytes = n * sizeof(pf_thread_t *);
    return bytes < PF_ARENA_DIRECT ? PF_ARENA_DIRECT : bytes;
}

pf_thread_t **pf_thread_array(size_t *n)
{
    /* Threads attached while we count are newer than the head we start from: not listed. */
    pf_thread_t *first = pf_thread_first();
    size_t count = 0;
    for (pf_thread_t *t = first; t; t = pf_thread_next(t))
        count++;
    *n = 0;
    pf_thread_t **a = count ? pf_arena_zalloc(array_bytes(count)) : NULL;
    if (!a)
        return NULL;
    size_t i = count;
    for (pf_thread_t *t = first; t && i > 0; t = pf_thread_next(t))
        a[--i] = t;
    *n = count;
    return a;
}

void pf_thread_array_free(pf_thread_t **array, size_t n)
{
    if (array)
        pf_arena_free(array, array_bytes(n));
}

int pf_thread_live(void)
{
    return pf_load_relaxed(&live);
}

int pf_thread_max_concurrent(void)
{
    return pf_load_relaxed(&max_live);
}

void pf_thread_after_fork(void)
{
    internal_after_fork();
    pf_thread_t *t = pf_self;
    head = NULL;
    retired = NULL;
    taking = 0;
    live = max_live = 0;
    if (!t) {
        pf_thread_attach();
        return;
    }
    t->tid = (int)syscall(SYS_gettid);
    t->exited = 0;
    t->end_ticks = 0;
    t->cpu_sec = 0;
    t->start_ticks = pf_clock_ticks();
    memset(&t->heap, 0, sizeof t->heap);
    memset(&t->base, 0, sizeof t->base);
    t->wait.ticks = 0;
    t->next = NULL;
    head = t;
    count_live(1);
}

void pf_thread_name_of(int tid, char *buf)
{
    char path[64];
    buf[0] = '\0';
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, 15);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    if (buf[n - 1] == '\n')
        buf[n - 1] = '\0';
}

static pf_pthread_create_fn real_create;

void pf_thread_real_create_set(pf_pthread_create_fn fn)
{
    pf_store_release(&real_create, fn);
}

int pf_thread_real_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg)
{
    pf_pthread_create_fn f = pf_load_acquire(&real_create);
    return f ? f(th, attr, fn, arg) : pthread_create(th, attr, fn, arg);
}

/* ---- pferris's own threads ---------------------------------------------------------------
 *
 * glibc ends the process when the last thread that pthread_create started ends (a main thread
 * that called pthread_exit included), and pferris's threads are such threads. So they are
 * joinable, and the program thread whose end leaves no program thread (pf_thread_end) stops
 * and joins them before it goes on to end: the process then ends as it would without pferris,
 * on the program's thread (its exit handlers and the report run there), and no signal stays
 * pending on a process whose only threads block everything. */

#define MAX_INTERNAL 4

static struct {
    void *(*fn)(void *);
    void *arg;
    char name[16];
    pthread_t th;
    int state; /* 0 free, 1 starting, 2 running (th is set), 3 joined */
} internal[MAX_INTERNAL];
static uint32_t stop_word; /* 1: pferris's threads are to end; a futex */

static void *internal_main(void *v)
{
    int slot = (int)(intptr_t)v;
    pf_in_hook = 1; /* never a program thread: its allocations and events are not counted */
    if (internal[slot].name[0])
        prctl(PR_SET_NAME, internal[slot].name, 0, 0, 0);
    return internal[slot].fn(internal[slot].arg);
}

int pf_thread_internal_sleep(long long ms)
{
    struct timespec d = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += d.tv_sec;
    end.tv_nsec += d.tv_nsec;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    while (!pf_load_acquire(&stop_word)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = (long long)(end.tv_sec - now.tv_sec) * 1000000000LL +
                         (end.tv_nsec - now.tv_nsec);
        if (left <= 0)
            return 0;
        struct timespec rel = {(time_t)(left / 1000000000LL), (long)(left % 1000000000LL)};
        syscall(SYS_futex, &stop_word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
    }
    return 1;
}

static void internal_stop_all(void)
{
    pf_store_release(&stop_word, 1);
    syscall(SYS_futex, &stop_word, FUTEX_WAKE_PRIVATE, MAX_INTERNAL, NULL, NULL, 0);
    for (int i = 0; i < MAX_INTERNAL; i++) {
        int running = 2;
        if (pf_cas_acq_rel(&internal[i].state, &running, 3))
            pthread_join(internal[i].th, NULL);
    }
}

static void internal_after_fork(void)
{
    /* None of them survived the fork; their starters start them again as needed. */
    memset(internal, 0, sizeof internal);
    stop_word = 0;
}

int pf_thread_spawn(void *(*fn)(void *), void *arg, size_t stack, int internal_thread,
                    const char *name)
{
    int slot = -1;
    if (internal_thread) {
        for (int i = 0; i < MAX_INTERNAL && slot < 0; i++) {
            int free_ = 0;
            if (pf_cas_acq_rel(&internal[i].state, &free_, 1))
                slot = i;
        }
        if (slot < 0)
            return EAGAIN;
        internal[slot].fn = fn;
        internal[slot].arg = arg;
        /* The kernel keeps 15 bytes of a thread's name: longer ones are cut here, not refused. */
        snprintf(internal[slot].name, sizeof internal[slot].name, "%s", name ? name : "");
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (!internal_thread)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack)
        pthread_attr_setstacksize(&attr, stack);
    pthread_t th;
    int rc;
    if (internal_thread) {
        /* pferris's own: what the C library allocates for the thread (its TLS vector) comes
         * from pferris's heap, uncounted, not from the program's (it was counted as an
         * allocation of the program's, under pferris's stack). */
        pf_in_hook++;
        rc = pf_thread_real_create(&th, &attr, internal_main, (void *)(intptr_t)slot);
        pf_in_hook--;
    } else {
        rc = pthread_create(&th, &attr, fn, arg);
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (internal_thread) {
        if (rc == 0) {
            internal[slot].th = th;
            pf_store_release(&internal[slot].state, 2);
        } else {
            pf_store_release(&internal[slot].state, 0);
        }
    }
    return rc;
}
