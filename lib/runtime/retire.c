/* retire.c — the rows of ended threads, folded into a bounded table as each thread ends, and
 * the consistent picture of every thread the report lists (see retire.h).
 *
 * The table is written only by ending threads, one at a time: the sequence word is odd while
 * one writes (it is taken by a CAS from even to odd, so it is also the writers' lock; a thread
 * end is no hot path). The record's `exited` flag changes under the same sequence, so a reader
 * that copies the table and walks the records between two equal even sequence numbers sees
 * every thread exactly once: in the table if it has ended, in its record if it runs. A record
 * taken over meanwhile needs no sequence: it is `exited` (skipped) until its new thread is
 * ready, and its previous thread's row was already in the table. Readers retry a bounded number
 * of times (a report from a signal handler that interrupted a writer on its own thread must not
 * wait for it) and then take the last copy. Rows are copied word by word with relaxed atomics:
 * a copy torn by a writer is never used, but it must not be a data race either. */
#include "runtime/retire.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/clock.h"
#include "runtime/cpu.h"
#include "runtime/profile.h"

#define READ_TRIES 200

typedef uint64_t __attribute__((may_alias)) word_t;

static struct {
    uint32_t seq;                  /* odd while an ending thread writes the table */
    int installed;
    uint64_t exited;               /* threads folded */
    uint32_t nkept;
    pf_thread_row_t rest;          /* ended threads not kept, summed */
    pf_thread_row_t kept[PF_THREAD_ROWS]; /* a min-heap by weight: kept[0] is the lightest */
} ex;

static void row_store(pf_thread_row_t *dst, const pf_thread_row_t *src)
{
    for (size_t i = 0; i < sizeof *dst / sizeof(word_t); i++)
        pf_store_relaxed(&((word_t *)dst)[i], ((const word_t *)src)[i]);
}

static void row_load(pf_thread_row_t *dst, const pf_thread_row_t *src)
{
    for (size_t i = 0; i < sizeof *dst / sizeof(word_t); i++)
        ((word_t *)dst)[i] = pf_load_relaxed(&((const word_t *)src)[i]);
}

/* The weight that picks the listed threads: CPU time, then allocations, then bytes. */
static int heavier(const pf_thread_row_t *a, const pf_thread_row_t *b)
{
    if (a->cpu_sec != b->cpu_sec)
        return a->cpu_sec > b->cpu_sec;
    if (a->allocs != b->allocs)
        return a->allocs > b->allocs;
    return a->bytes_req > b->bytes_req;
}

static void row_add(pf_thread_row_t *sum, const pf_thread_row_t *r)
{
    if (!sum->threads || r->start < sum->start)
        sum->start = r->start;
    if (r->end > sum->end)
        sum->end = r->end;
    sum->tid = 0;
    sum->running += r->running;
    sum->cpu_sec = (sum->cpu_sec > 0 ? sum->cpu_sec : 0) + (r->cpu_sec > 0 ? r->cpu_sec : 0);
    sum->allocs += r->allocs;
    sum->bytes_req += r->bytes_req;
    sum->frees += r->frees;
    sum->bytes_freed += r->bytes_freed;
    sum->wait_ticks += r->wait_ticks;
    sum->cpu_samples += r->cpu_samples;
    sum->threads += r->threads;
    sum->life_ticks += r->life_ticks;
}

/* The row of the thread that owns t now: the record's figures minus its base. */
static void row_of(pf_thread_t *t, pf_thread_row_t *r, int running, uint64_t end, double cpu)
{
    memset(r, 0, sizeof *r);
    r->tid = pf_load_relaxed(&t->tid);
    r->running = running;
    r->start = pf_load_relaxed(&t->start_ticks);
    r->end = end > r->start ? end : r->start;
    r->cpu_sec = cpu;
    pf_heap_thread_t *h = &t->heap;
    pf_thread_base_t *b = &t->base;
    r->allocs = pf_heap_allocs(h) - pf_load_relaxed(&b->allocs);
    r->bytes_req = pf_load_relaxed(&h->bytes_req) - pf_load_relaxed(&b->bytes_req);
    r->frees = pf_load_relaxed(&h->frees) - pf_load_relaxed(&b->frees);
    r->bytes_freed = pf_load_relaxed(&h->usable_out) - pf_load_relaxed(&b->usable_out);
    r->wait_ticks = pf_load_relaxed(&t->wait.ticks) - pf_load_relaxed(&b->wait_ticks);
    r->cpu_samples = pf_cpu_thread_samples(t);
    r->threads = 1;
    r->life_ticks = r->end - r->start;
}

/* ---- writing: the ending thread --------------------------------------------------------- */

static void write_begin(void)
{
    for (;;) {
        uint32_t s = pf_load_relaxed(&ex.seq);
        if (!(s & 1) && pf_cas_acq_rel(&ex.seq, &s, s + 1))
            return;
        sched_yield();
    }
}

static void write_end(void)
{
    __atomic_fetch_add(&ex.seq, 1, __ATOMIC_RELEASE);
}

static void sift_down(uint32_t i, uint32_t n)
{
    pf_thread_row_t x = ex.kept[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heavier(&ex.kept[c], &ex.kept[c + 1]))
            c++;
        if (!heavier(&x, &ex.kept[c]))
            break;
        row_store(&ex.kept[i], &ex.kept[c]);
        i = c;
    }
    row_store(&ex.kept[i], &x);
}

static void sift_up(uint32_t i)
{
    pf_thread_row_t x = ex.kept[i];
    while (i > 0 && heavier(&ex.kept[(i - 1) / 2], &x)) {
        row_store(&ex.kept[i], &ex.kept[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    row_store(&ex.kept[i], &x);
}

/* Under the sequence: r joins the kept rows, or the rest, or takes the lightest kept row's
 * place (that row goes to the rest). */
static void keep(const pf_thread_row_t *r)
{
    pf_thread_row_t rest = ex.rest;
    uint32_t n = ex.nkept;
    if (n < PF_THREAD_ROWS) {
        row_store(&ex.kept[n], r);
        pf_store_relaxed(&ex.nkept, n + 1);
        sift_up(n);
        return;
    }
    if (heavier(r, &ex.kept[0])) {
        row_add(&rest, &ex.kept[0]);
        row_store(&ex.kept[0], r);
        sift_down(0, n);
    } else {
        row_add(&rest, r);
    }
    row_store(&ex.rest, &rest);
}

/* thread.c's retire hook, on the ending thread. */
static void fold(pf_thread_t *t, uint64_t end)
{
    pf_thread_row_t r;
    row_of(t, &r, 0, end, t->cpu_sec);
    memcpy(r.name, t->name, sizeof r.name);
    write_begin();
    pf_store_relaxed(&t->end_ticks, end);
    pf_store_release(&t->exited, 1);
    keep(&r);
    pf_store_relaxed(&ex.exited, ex.exited + 1);
    write_end();
}

void pf_retire_init(void)
{
    int no = 0;
    if (!pf_cas_acq_rel(&ex.installed, &no, 1))
        return;
    pf_thread_set_reuse_hook(pf_profile_thread_reuse);
    pf_thread_set_retire_hook(fold);
    /* Threads that ended before now (a library's constructor's) were never folded: fold them
     * here. Their records stay theirs (they are not on the retired stack). */
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
        if (!pf_load_acquire(&t->exited))
            continue;
        pf_thread_row_t r;
        row_of(t, &r, 0, pf_load_relaxed(&t->end_ticks), t->cpu_sec);
        memcpy(r.name, t->name, sizeof r.name);
        write_begin();
        keep(&r);
        pf_store_relaxed(&ex.exited, ex.exited + 1);
        write_end();
    }
}

void pf_retire_after_fork(void)
{
    ex.seq = 0;
    ex.exited = 0;
    ex.nkept = 0;
    memset(&ex.rest, 0, sizeof ex.rest);
}

/* ---- reading: the report ------------------------------------------------------------------ */

static size_t rows_bytes(size_t n)
{
    size_t bytes = n * sizeof(pf_thread_row_t);
    return bytes < PF_ARENA_DIRECT ? PF_ARENA_DIRECT : bytes;
}

/* One copy of the table and of the running threads' rows (at most cap rows); the number of
 * rows, with the rest and the count of ended threads in out. */
static size_t copy_all(pf_thread_t *first, size_t cap, pf_thread_rows_t *out)
{
    uint32_t nk = pf_load_relaxed(&ex.nkept);
    size_t n = 0;
    for (uint32_t i = 0; i < nk && n < cap; i++)
        row_load(&out->rows[n++], &ex.kept[i]);
    row_load(&out->rest, &ex.rest);
    out->threads_exited = pf_load_relaxed(&ex.exited);
    int installed = pf_load_acquire(&ex.installed);
    uint64_t now = pf_clock_ticks();
    for (pf_thread_t *t = first; t && n < cap; t = pf_thread_next(t)) {
        int exited = pf_load_acquire(&t->exited);
        if (exited && installed)
            continue; /* its row is in the table */
        pf_thread_row_t *r = &out->rows[n++];
        if (exited) { /* ended with no table (a unit test without pf_retire_init) */
            row_of(t, r, 0, pf_load_relaxed(&t->end_ticks), t->cpu_sec);
            memcpy(r->name, t->name, sizeof r->name);
            out->threads_exited++;
        } else {
            row_of(t, r, 1, now, pf_clock_thread_cpu_sec(pf_load_relaxed(&t->tid)));
        }
    }
    return n;
}

static int by_weight_desc(const void *a, const void *b)
{
    return heavier(a, b) ? -1 : heavier(b, a) ? 1 : 0;
}

static int by_start(const void *a, const void *b)
{
    const pf_thread_row_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : (x->tid > y->tid) - (x->tid < y->tid);
}

int pf_retire_rows(pf_thread_rows_t *out, size_t max)
{
    memset(out, 0, sizeof *out);
    pf_thread_t *first = pf_thread_first(); /* threads attached after this are not listed */
    size_t records = 0;
    for (pf_thread_t *t = first; t; t = pf_thread_next(t))
        records++;
    size_t cap = records + PF_THREAD_ROWS, n = 0;
    out->bytes_ = rows_bytes(cap);
    out->rows = pf_arena_zalloc(out->bytes_);
    if (!out->rows)
        return -ENOMEM;
    for (int tries = 0;; tries++) {
        uint32_t s1 = pf_load_acquire(&ex.seq);
        if ((s1 & 1) && tries < READ_TRIES) {
            sched_yield();
            continue;
        }
        n = copy_all(first, cap, out);
        /* An RMW that adds nothing: acquire-release, so the copy cannot move after it. */
        if (__atomic_fetch_add(&ex.seq, 0, __ATOMIC_ACQ_REL) == s1 || tries >= READ_TRIES)
            break;
    }
    out->life_ticks = out->rest.life_ticks;
    for (size_t i = 0; i < n; i++)
        out->life_ticks += out->rows[i].life_ticks;
    if (n > max) {
        qsort(out->rows, n, sizeof *out->rows, by_weight_desc);
        for (size_t i = max; i < n; i++)
            row_add(&out->rest, &out->rows[i]);
        n = max;
    }
    qsort(out->rows, n, sizeof *out->rows, by_start);
    for (size_t i = 0; i < n; i++)
        if (out->rows[i].running)
            pf_thread_name_of((int)out->rows[i].tid, out->rows[i].name);
    out->n = n;
    out->threads_total = n + out->rest.threads;
    return 0;
}

void pf_retire_rows_free(pf_thread_rows_t *rows)
{
    pf_arena_free(rows->rows, rows->bytes_);
    rows->rows = NULL;
    rows->n = 0;
}
