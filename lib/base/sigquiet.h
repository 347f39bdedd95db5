/* sigquiet.h — pferris's own writes never raise a signal in the program. */
#ifndef PF_SIGQUIET_H
#define PF_SIGQUIET_H

#include <signal.h>
#include "base/atomic.h"

/* A write to a pipe whose reader is gone raises SIGPIPE, one past the file size limit SIGXFSZ,
 * both thread-directed, and both kill by default. Between hold and release they are blocked in
 * the calling thread; one that became pending meanwhile (pferris's write raised it) is taken
 * back at release, while one that was pending before stays the program's. */
typedef struct {
    sigset_t old, before;
} pf_sigquiet_t;

void pf_sigquiet_hold(pf_sigquiet_t *q) PF_HIDDEN;
void pf_sigquiet_release(pf_sigquiet_t *q) PF_HIDDEN;

#endif
