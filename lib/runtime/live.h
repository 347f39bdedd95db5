/* live.h — live counters: how a time-boxed trial of pferris-tune keeps its measurement.
 *
 * With PFERRIS_LIVE=<dir> in its environment, each process under the preload runs one small
 * sampler thread that every PF_LIVE_PERIOD_MS writes a snapshot of the process-wide counters to
 * <dir>/live.<pid> (a temporary file, then rename: a reader sees a whole snapshot or the one
 * before). The tuner reads the snapshots at the end of the time box and only then stops the
 * program, so a program killed by SIGKILL loses nothing, and no signal handler of the program
 * is installed, replaced or relied on. The tools parse snapshots (tools/common/snapshot.c);
 * this header is the format both sides share.
 *
 * Snapshot format (text, one item a line):
 *     pferris-live 1
 *     pid <pid>
 *     seq <n>                  snapshots written so far by this process
 *     t <seconds>              since the process start (the report's clock)
 *     mono <seconds>           CLOCK_MONOTONIC: comparable across the processes of a trial
 *     threads <alive> <max>    program threads alive now, and the most alive at once
 *     c <value> <name>         one per counter; '\' and newline in names escaped as \\ and \n
 *     end
 */
#ifndef PF_LIVE_H
#define PF_LIVE_H

#include <stddef.h>
#include "base/atomic.h"

#define PF_LIVE_ENV       "PFERRIS_LIVE"
#define PF_LIVE_PREFIX    "live."
#define PF_LIVE_PERIOD_MS 20

/* From the preload's init (and again in each fork child): starts the sampler thread when
 * PFERRIS_LIVE is set, else does nothing. Idempotent per process. */
void pf_live_start(void) PF_HIDDEN;

#endif
