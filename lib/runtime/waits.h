/* waits.h — where threads wait: time blocked in the pthread synchronisation calls, per thread
 * and per lock, with the call site of the waits.
 *
 * The preload's interposers call pf_waits_end only when the call would block (a mutex held by
 * another thread, an rwlock or semaphore whose try failed) or always blocks (condition
 * variables, barriers), so an uncontended lock costs a few instructions. Each
 * thread adds its own blocked ticks (owner-only); each lock has an entry in a fixed table found
 * by address (lock-free, insert-only, bounded: what does not fit is counted in `dropped`).
 *
 * Call sites are sampled by wait time: each thread counts down an exponential number of
 * nanoseconds of mean PF_WAIT_SAMPLE_NS, and the wait that crosses zero is unwound (sites.c's
 * unwinder and site table), so every sample stands for PF_WAIT_SAMPLE_NS of waiting and the
 * cost is bounded by the waiting itself. The first contended wait seen on a lock is unwound
 * too, so that every lock has a call site; without the unwinder, the lock's first caller is
 * its call site (one frame). */
#ifndef PF_WAITS_H
#define PF_WAITS_H

#include <stdint.h>
#include "base/atomic.h"
#include "base/clock.h"
#include "runtime/thread.h"

#define PF_MAX_LOCKS      4096 /* locks with an entry; later ones are counted in dropped */
#define PF_LOCK_SITES     4    /* call sites remembered per lock */
#define PF_WAIT_SAMPLE_NS 1000000.0
#define PF_WAIT_TRACE_NS  100000.0 /* waits this long or longer go on the timeline */

typedef enum { PF_WAIT_MUTEX, PF_WAIT_RWLOCK, PF_WAIT_COND, PF_WAIT_BARRIER, PF_WAIT_SEM } pf_wait_kind_t;

/* The tick count at which a wait began: read before the blocking call. */
static inline uint64_t pf_waits_begin(void)
{
    return pf_clock_ticks();
}

/* After a blocking call on the lock at addr that began at begin: the calling thread waited.
 * caller is the return address of the interposed call: the lock's call site when no stack is
 * unwound (the unwinder is loaded only with call-site sampling on, PFERRIS_SAMPLE > 0). */
void pf_waits_end(const void *addr, pf_wait_kind_t kind, uint64_t begin, const void *caller) PF_HIDDEN;

/* Where waits of PF_WAIT_TRACE_NS or more go, as intervals named "wait: mutex" (and so on), on
 * the waiting thread; the timeline installs its recorder here. NULL: nowhere. */
typedef void (*pf_waits_interval_fn)(uint32_t name, uint64_t start_ticks, uint64_t end_ticks);
extern pf_waits_interval_fn pf_waits_interval_sink PF_HIDDEN;

/* One lock's figures, for the report. */
typedef struct {
    const void *addr;
    pf_wait_kind_t kind;
    uint64_t contended;       /* calls that blocked */
    uint64_t wait_ticks, max_ticks;
    uint32_t threads;         /* distinct waiting threads (estimated past a few dozen) */
    uint32_t site;            /* the heaviest call site (sites.c id), 0 when none */
    const void *caller;       /* the first caller seen: the call site when site is 0 */
    uint64_t site_samples;    /* wait samples taken at that site */
    uint64_t samples;         /* wait samples taken on this lock */
} pf_lock_view_t;

/* Fills out[0 .. return) with every lock that was waited on, heaviest by wait first; out must
 * have room for PF_MAX_LOCKS. */
size_t pf_waits_collect(pf_lock_view_t *out) PF_HIDDEN;
/* Locks that found no room in the table. */
uint64_t pf_waits_dropped(void) PF_HIDDEN;
const char *pf_waits_kind_name(pf_wait_kind_t kind) PF_HIDDEN;
/* In a fork child: the child's locks start empty. */
void pf_waits_after_fork(void) PF_HIDDEN;

#endif
