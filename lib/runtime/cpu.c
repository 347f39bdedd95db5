/* cpu.c — sampling each thread's stack by its CPU time (see cpu.h for the scheme). */
#define UNW_LOCAL_ONLY
#include "runtime/cpu.h"

#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "base/arena.h"
#include "base/warn.h"
#include "runtime/pyframes.h"

#define SLOTS      (2 * PF_CPU_MAX_STACKS)
#define POOL       (1u << 20) /* frames kept, over every stack */
#define XSTR(x)    STR(x)
#define STR(x)     #x

enum { OFF, ACTIVE, STOPPED, STOOD_DOWN };

typedef struct {
    uint64_t hash;
    uint32_t depth, first; /* frames are pool[first .. first + depth) */
    uint64_t samples;
} stack_t_;

/* Per thread, created when the thread is armed (never in the handler). */
typedef struct {
    timer_t timer;
    int armed;
    uint64_t samples;
} tcpu_t;

static struct {
    int state;
    int hz, depth;
    const char *why;
    const char *mechanism;
    struct sigaction orig;   /* SIGPROF's disposition before pferris */
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    int (*step)(unw_cursor_t *);
    int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
    stack_t_ stacks[PF_CPU_MAX_STACKS];
    uint32_t nstacks;
    uint32_t slots[SLOTS];
    void **pool;
    uint32_t pool_used;
    uint64_t samples, dropped;
    int pid;
} cpu_state = {.state = OFF, .why = "PFERRIS_CPU_HZ=0", .nstacks = 1};

/* ---- the handler: async-signal-safe, no malloc, no lock of ours ---------------------- */

static uint32_t intern(void **frames, uint32_t depth)
{
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < depth; i++)
        h = (h ^ (uintptr_t)frames[i]) * 1099511628211ull;
    h ^= depth;
    uint32_t mine = 0;
    for (uint32_t i = 0; i < SLOTS; i++) {
        uint32_t *slot = &cpu_state.slots[(h + i) & (SLOTS - 1)];
        uint32_t v = pf_load_acquire(slot);
        if (v == 0) {
            if (!mine) {
                uint32_t first = pf_fetch_add_relaxed(&cpu_state.pool_used, depth);
                if (first + depth > POOL || first + depth < first)
                    return 0;
                mine = pf_fetch_add_relaxed(&cpu_state.nstacks, 1);
                if (mine >= PF_CPU_MAX_STACKS)
                    return 0;
                memcpy(&cpu_state.pool[first], frames, depth * sizeof *frames);
                cpu_state.stacks[mine] = (stack_t_){.hash = h, .depth = depth, .first = first};
            }
            /* Release: a reader that sees the slot sees the stack's frames. */
            if (pf_cas_acq_rel(slot, &v, mine + 1))
                return mine;
        }
        stack_t_ *s = &cpu_state.stacks[v - 1];
        if (s->hash == h && s->depth == depth &&
            memcmp(&cpu_state.pool[s->first], frames, depth * sizeof *frames) == 0) {
            if (mine) /* lost a race for the same stack: ours stays unused */
                cpu_state.stacks[mine].depth = 0;
            return v - 1;
        }
    }
    return 0;
}

/* frames[0] is the interrupted instruction + 1, so that every frame is named the way a return
 * address is (the symbol lookup looks at address - 1). */
static uint32_t unwind(ucontext_t *uc, void **frames)
{
    uint32_t n = 0;
    frames[n++] = (void *)(uc->uc_mcontext.gregs[REG_RIP] + 1);
    /* pferris's own code may be inside libunwind already (a sampled allocation): the
     * instruction alone then. */
    if (!cpu_state.init_local2 || pf_in_hook)
        return n;
    /* Marked as pferris's own while libunwind runs: the locks it takes pass the interposers
     * straight through (a wait recorded there would unwind into the same lock). */
    pf_in_hook++;
    unw_cursor_t c;
    if (cpu_state.init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) >= 0) {
        while (n < (uint32_t)cpu_state.depth && cpu_state.step(&c) > 0) {
            unw_word_t ip = 0;
            if (cpu_state.get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
                break;
            frames[n++] = (void *)ip;
        }
    }
    pf_in_hook--;
    return n;
}

static void stand_down(const char *why, int restore);
static int handler_replaced(void);

static void on_sigprof(int sig, siginfo_t *si, void *ctx)
{
    int saved = errno;
    if (si->si_code != SI_TIMER || si->si_value.sival_ptr != (void *)&cpu_state) {
        /* Not one of ours (kill -PROF, or the program's ITIMER_PROF before its own handler is
         * in place): the program gets what it would have got without pferris. */
        stand_down("a SIGPROF pferris did not send arrived", 1);
        /* Again here: stand_down does nothing in a vfork child, which shares our memory. */
        pf_in_hook++;
        sigaction(SIGPROF, &cpu_state.orig, NULL);
        pf_in_hook--;
        syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
        errno = saved;
        return;
    }
    pf_thread_t *t = pf_self;
    tcpu_t *tc = t ? t->cpu : NULL;
    if (pf_load_relaxed(&cpu_state.state) != ACTIVE || !tc) {
        errno = saved;
        return;
    }
    uint64_t weight = 1 + (uint64_t)(si->si_overrun > 0 ? si->si_overrun : 0);
    void *frames[PF_CPU_MAX_DEPTH], *merged[PF_CPU_MAX_DEPTH];
    uint32_t n = unwind(ctx, frames);
    void **stack = frames;
    /* Not when the unwind was skipped: pferris's own code was interrupted. */
    if (n > 1 && pf_pyframes_active()) {
        n = pf_pyframes_merge(frames, n, merged, (uint32_t)cpu_state.depth);
        stack = merged;
    }
    uint32_t id = intern(stack, n);
    if (id == 0)
        pf_fetch_add_relaxed(&cpu_state.dropped, weight);
    pf_fetch_add_relaxed(&cpu_state.stacks[id].samples, weight);
    pf_fetch_add_relaxed(&cpu_state.samples, weight);
    pf_owner_add(&tc->samples, weight);
    errno = saved;
}

/* ---- timers ----------------------------------------------------------------------------- */

static void arm(pf_thread_t *t)
{
    if (pf_load_acquire(&cpu_state.state) != ACTIVE)
        return;
    if (handler_replaced()) {
        stand_down("the program replaced SIGPROF's handler by a call pferris did not see", 0);
        return;
    }
    tcpu_t *tc = t->cpu;
    if (!tc && !(tc = t->cpu = pf_arena_zalloc(sizeof *tc)))
        return;
    if (tc->armed)
        return;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGPROF;
    ev.sigev_value.sival_ptr = &cpu_state;
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &tc->timer) != 0)
        return;
    long ns = 1000000000L / cpu_state.hz;
    struct itimerspec its = {{ns / 1000000000L, ns % 1000000000L}, {ns / 1000000000L, ns % 1000000000L}};
    if (timer_settime(tc->timer, 0, &its, NULL) != 0) {
        timer_delete(tc->timer);
        return;
    }
    pf_store_release(&tc->armed, 1);
    /* Stood down meanwhile: the walk over threads may have missed this one. */
    if (pf_load_acquire(&cpu_state.state) == STOOD_DOWN && pf_exchange_acq_rel(&tc->armed, 0))
        timer_delete(tc->timer);
}

static void disarm(pf_thread_t *t)
{
    tcpu_t *tc = t->cpu;
    if (tc && pf_exchange_acq_rel(&tc->armed, 0))
        timer_delete(tc->timer);
}

static void thread_start(pf_thread_t *t)
{
    int saved = errno;
    tcpu_t *tc = t->cpu;
    if (tc) /* a taken-over record: its count was its previous thread's (folded by retire.c) */
        pf_store_relaxed(&tc->samples, 0);
    arm(t);
    errno = saved;
}

static void thread_end(pf_thread_t *t)
{
    disarm(t);
}

/* restore: SIGPROF's disposition is still ours and goes back to what it was before pferris. */
int pf_cpu_sampling(void)
{
    int st = pf_load_acquire(&cpu_state.state);
    return st == ACTIVE || st == STOPPED;
}

static void stand_down(const char *why, int restore)
{
    int st = pf_load_acquire(&cpu_state.state);
    if (st == OFF || st == STOOD_DOWN || (int)getpid() != cpu_state.pid)
        return;
    if (!pf_cas_acq_rel(&cpu_state.state, &st, STOOD_DOWN))
        return;
    cpu_state.why = why;
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t))
        disarm(t);
    /* Only our own handler goes back: one the program installed by a call no interposer saw
     * stays. */
    if (!restore || handler_replaced())
        return;
    pf_in_hook++; /* our own sigaction interposer passes this one through */
    sigaction(SIGPROF, &cpu_state.orig, NULL);
    pf_in_hook--;
}

/* ---- set-up ----------------------------------------------------------------------------- */

/* A program built with -pg calls mcount and starts gprof's profil() before main through glibc's
 * internal sigaction and setitimer, which no interposer sees: its dynamic string table names
 * mcount. The first object dl_iterate_phdr reports is the program. */
static int gprof_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    int *found = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
            continue;
        const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        const char *strtab = NULL;
        size_t strsz = 0;
        for (; d->d_tag != DT_NULL; d++) {
            if (d->d_tag == DT_STRTAB)
                strtab = (const char *)d->d_un.d_ptr; /* relocated by the loader */
            else if (d->d_tag == DT_STRSZ)
                strsz = d->d_un.d_val;
        }
        if ((uintptr_t)strtab < info->dlpi_addr && strtab)
            strtab += info->dlpi_addr;
        for (size_t k = 0; strtab && k + 7 <= strsz; k++)
            if ((k == 0 || strtab[k - 1] == '\0' || strtab[k - 1] == '_') &&
                memcmp(strtab + k, "mcount", 7) == 0)
                *found = 1;
    }
    return 1; /* the program only */
}

/* SIGPROF's handler is not ours any more: changed by a call no interposer saw. */
static int handler_replaced(void)
{
    struct sigaction now;
    pf_in_hook++;
    int rc = sigaction(SIGPROF, NULL, &now);
    pf_in_hook--;
    return rc == 0 && (!(now.sa_flags & SA_SIGINFO) || now.sa_sigaction != on_sigprof);
}


static void load_unwinder(void)
{
    /* Privately (RTLD_LOCAL), as sites.c does: libunwind must not replace the program's
     * exception unwinder. Loaded here, never in the handler. */
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    *(void **)&cpu_state.init_local2 = dlsym(h, XSTR(unw_init_local2));
    *(void **)&cpu_state.step = dlsym(h, XSTR(unw_step));
    *(void **)&cpu_state.get_reg = dlsym(h, XSTR(unw_get_reg));
    if (!cpu_state.init_local2 || !cpu_state.step || !cpu_state.get_reg) {
        cpu_state.init_local2 = NULL;
        return;
    }
    /* One unwind now, in a normal context, so that libunwind's one-time set-up (its caches, its
     * first look at the loaded objects) is not done in the handler. */
    ucontext_t uc;
    unw_cursor_t c;
    if (getcontext(&uc) == 0 && cpu_state.init_local2(&c, (unw_context_t *)&uc, 0) == 0)
        for (int i = 0; i < 8 && cpu_state.step(&c) > 0; i++)
            ;
}

void pf_cpu_init(int hz, int depth)
{
    cpu_state.hz = hz;
    cpu_state.depth = depth < 1 ? 1 : depth > PF_CPU_MAX_DEPTH ? PF_CPU_MAX_DEPTH : depth;
    cpu_state.pid = (int)getpid();
    if (hz <= 0)
        return;
    /* SIGPROF belongs to the program when it (or its parent, across exec) set it up. */
    struct itimerval prof;
    pf_in_hook++;
    int have_orig = sigaction(SIGPROF, NULL, &cpu_state.orig) == 0;
    pf_in_hook--;
    if (!have_orig) {
        cpu_state.why = "SIGPROF's disposition could not be read";
        return;
    }
    if (cpu_state.orig.sa_handler != SIG_DFL) {
        cpu_state.why = "the program had a SIGPROF disposition of its own at start";
        return;
    }
    if (getitimer(ITIMER_PROF, &prof) == 0 &&
        (prof.it_value.tv_sec || prof.it_value.tv_usec)) {
        cpu_state.why = "ITIMER_PROF was running at start";
        return;
    }
    int gprof = 0;
    dl_iterate_phdr(gprof_cb, &gprof);
    if (gprof) {
        cpu_state.why = "the program is built for gprof (-pg), which uses SIGPROF";
        return;
    }
    cpu_state.pool = pf_arena_zalloc(POOL * sizeof *cpu_state.pool);
    if (!cpu_state.pool) {
        cpu_state.why = "out of memory";
        return;
    }
    load_unwinder();
    cpu_state.mechanism = cpu_state.init_local2
                      ? "timer_create(CLOCK_THREAD_CPUTIME_ID) per thread, SIGPROF, libunwind"
                      : "timer_create(CLOCK_THREAD_CPUTIME_ID) per thread, SIGPROF, "
                        "interrupted instruction only (libunwind.so.8 not loaded)";
    if (!cpu_state.init_local2)
        pf_warn("CPU stacks are one frame deep: libunwind.so.8 could not be loaded "
                "(apt-get install libunwind8)");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    pf_in_hook++;
    int rc = sigaction(SIGPROF, &sa, NULL);
    pf_in_hook--;
    if (rc != 0) {
        cpu_state.why = "SIGPROF's handler could not be installed";
        return;
    }
    cpu_state.why = NULL;
    pf_store_release(&cpu_state.state, ACTIVE);
    pf_thread_set_sampler_hooks(thread_start, thread_end);
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t))
        if (t == pf_self)
            arm(t);
}

void pf_cpu_program_wants_sigprof(const char *why)
{
    int saved = errno;
    stand_down(why, 1);
    errno = saved;
}

int pf_cpu_hidden_sigprof(struct sigaction *old)
{
    int st = pf_load_acquire(&cpu_state.state);
    if (!old || (st != ACTIVE && st != STOPPED))
        return 0;
    *old = cpu_state.orig;
    return 1;
}

void pf_cpu_stop(void)
{
    int st = ACTIVE;
    pf_cas_acq_rel(&cpu_state.state, &st, STOPPED);
}

void pf_cpu_exec_begin(void)
{
    pf_thread_t *t = pf_self;
    if (t && (int)getpid() == cpu_state.pid)
        disarm(t);
}

void pf_cpu_exec_failed(void)
{
    int saved = errno;
    pf_thread_t *t = pf_self;
    if (t && (int)getpid() == cpu_state.pid)
        arm(t);
    errno = saved;
}

void pf_cpu_after_fork(void)
{
    cpu_state.pid = (int)getpid();
    int st = pf_load_acquire(&cpu_state.state);
    if (st == OFF)
        return;
    for (uint32_t i = 0; i < PF_CPU_MAX_STACKS; i++)
        cpu_state.stacks[i].samples = 0;
    cpu_state.samples = cpu_state.dropped = 0;
    pf_thread_t *t = pf_self;
    if (t && t->cpu) {
        tcpu_t *tc = t->cpu;
        tc->samples = 0;
        tc->armed = 0; /* the parent's timer is the parent's */
    }
    if (st == ACTIVE && t)
        arm(t);
}

/* ---- readers ---------------------------------------------------------------------------- */

static int by_samples_desc(const void *a, const void *b)
{
    uint64_t x = ((const pf_cpu_view_t *)a)->samples, y = ((const pf_cpu_view_t *)b)->samples;
    return x < y ? 1 : x > y ? -1 : 0;
}

size_t pf_cpu_collect(pf_cpu_view_t *out)
{
    uint32_t n = pf_load_relaxed(&cpu_state.nstacks);
    if (n > PF_CPU_MAX_STACKS)
        n = PF_CPU_MAX_STACKS;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t samples = pf_load_relaxed(&cpu_state.stacks[i].samples);
        if (!samples)
            continue;
        /* A stack with samples was published through its slot before its first count. */
        out[k++] = (pf_cpu_view_t){
            .id = i,
            .depth = i ? cpu_state.stacks[i].depth : 0,
            .frames = i ? (void *const *)&cpu_state.pool[cpu_state.stacks[i].first] : NULL,
            .samples = samples,
        };
    }
    qsort(out, k, sizeof *out, by_samples_desc);
    return k;
}

uint64_t pf_cpu_thread_samples(const pf_thread_t *t)
{
    const tcpu_t *tc = pf_load_acquire((tcpu_t *const *)&t->cpu);
    return tc ? pf_load_relaxed(&tc->samples) : 0;
}

void pf_cpu_info(pf_cpu_info_t *out)
{
    int st = pf_load_acquire(&cpu_state.state);
    if ((st == ACTIVE || st == STOPPED) && (int)getpid() == cpu_state.pid && handler_replaced()) {
        cpu_state.state = ACTIVE;
        stand_down("the program replaced SIGPROF's handler by a call pferris did not see", 0);
        st = pf_load_acquire(&cpu_state.state);
    }
    out->hz = cpu_state.hz;
    out->active = st == ACTIVE || st == STOPPED;
    out->mechanism = cpu_state.mechanism;
    out->inactive_why = out->active ? NULL : cpu_state.why;
    out->samples = pf_load_relaxed(&cpu_state.samples);
    out->dropped = pf_load_relaxed(&cpu_state.dropped);
}
