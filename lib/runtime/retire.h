/* retire.h — what is kept of threads that have ended, so that a million short threads hold
 * bounded memory: each ending thread folds its row (tid, name, times, its own figures) into a
 * fixed table of the heaviest PF_THREAD_ROWS ended threads plus one aggregate of the others,
 * and its record goes to a later thread (thread.h). The totals of the report are sums over the
 * records, which every owner goes on adding to, so they stay exact through the reuse.
 *
 * Heaviest means most CPU time, then most allocations, then most bytes allocated. The report
 * lists at most PF_THREAD_ROWS threads, ended or running, picked by the same measure, and one
 * row that sums the rest (pf_retire_rows). docs/internals.md tells the scheme and its races. */
#ifndef PF_RETIRE_H
#define PF_RETIRE_H

#include <stddef.h>
#include <stdint.h>
#include "runtime/thread.h"

#define PF_THREAD_ROWS 1000

/* One thread's row, or the sum of several (threads > 1). All fields are 8 bytes wide: a row is
 * copied word by word with relaxed atomics while an ending thread may write the table. */
typedef struct {
    int64_t tid;               /* 0 in a sum */
    int64_t running;           /* threads of the row still running */
    char name[16];
    uint64_t start, end;       /* ticks; a sum's earliest start and latest end */
    double cpu_sec;            /* -1 when unknown */
    uint64_t allocs, bytes_req, frees, bytes_freed, wait_ticks, cpu_samples;
    uint64_t threads;          /* how many threads the row stands for */
    uint64_t life_ticks;       /* their lifetimes, summed */
} pf_thread_row_t;

/* From the session's init: ended threads are folded and their records reused from now on. */
void pf_retire_init(void) PF_HIDDEN;

typedef struct {
    pf_thread_row_t *rows;     /* the listed threads, oldest first */
    size_t n;
    pf_thread_row_t rest;      /* every other thread, summed; rest.threads 0 when none */
    uint64_t threads_total;    /* threads recorded: listed + rest */
    uint64_t threads_exited;
    uint64_t life_ticks;       /* every thread's lifetime, summed */
    size_t bytes_;             /* the mapping of rows */
} pf_thread_rows_t;

/* A consistent picture of every thread recorded, at most max rows (the heaviest) and the rest
 * summed; names of running threads are read from the kernel. 0, or -ENOMEM (nothing listed,
 * no counts). Give it back with pf_retire_rows_free. */
int pf_retire_rows(pf_thread_rows_t *out, size_t max) PF_HIDDEN;
void pf_retire_rows_free(pf_thread_rows_t *rows) PF_HIDDEN;
/* In a fork child: the parent's ended threads are the parent's. */
void pf_retire_after_fork(void) PF_HIDDEN;

#endif
