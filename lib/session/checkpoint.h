/* checkpoint.h — PFERRIS_CHECKPOINT: the report rewritten in place every so many seconds while
 * the program runs, so that a process killed by SIGKILL or the OOM killer still leaves a whole
 * report no older than the period. */
#ifndef PF_CHECKPOINT_H
#define PF_CHECKPOINT_H

#include <stddef.h>
#include "base/atomic.h"

#define PF_CHECKPOINT_DEFAULT 10 /* seconds; docs/profiling.md has the measured cost */

/* From the session's init, after the timeline started: reads PFERRIS_CHECKPOINT and installs
 * the timeline's tick hook. */
void pf_checkpoint_start(void) PF_HIDDEN;
/* The final report over the last checkpoint, by temporary and rename. Returns 0 when this
 * process wrote no checkpoint (the caller writes the report as usual), else 1 with *rc 0 or
 * -errno and the path in used. */
int pf_checkpoint_final(int *rc, char *used, size_t size) PF_HIDDEN;
/* The path the checkpoints of this process replace, or NULL before the first one. */
const char *pf_checkpoint_path(void) PF_HIDDEN;

#endif
