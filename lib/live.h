/* live.h — live counters: how a time-boxed trial of pferris-tune keeps its measurement.
 *
 * With PFERRIS_LIVE=<dir> in its environment, each process under the preload runs one small
 * sampler thread that every PF_LIVE_PERIOD_MS writes a snapshot of the process-wide counters to
 * <dir>/live.<pid> (a temporary file, then rename: a reader sees a whole snapshot or the one
 * before). The tuner reads the snapshots at the end of the time box and only then stops the
 * program, so a program killed by SIGKILL loses nothing, and no signal handler of the program
 * is installed, replaced or relied on. The same module parses snapshots for the tuner.
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
#include "atomic.h"

#define PF_LIVE_ENV       "PFERRIS_LIVE"
#define PF_LIVE_PREFIX    "live."
#define PF_LIVE_PERIOD_MS 20

/* From the preload's init (and again in each fork child): starts the sampler thread when
 * PFERRIS_LIVE is set, else does nothing. Idempotent per process. */
void pf_live_start(void) PF_HIDDEN;

typedef struct {
    int pid;
    long long seq;
    double t, mono;
    int threads, threads_max;
    int complete;      /* the "end" line was seen */
} pf_live_info_t;

typedef void (*pf_live_counter_cb)(const char *name, long long value, void *arg);

/* Parses one snapshot (text of len bytes; need not be NUL-terminated). cb (may be NULL) gets
 * each counter. 0, or -EINVAL when text is not a snapshot. The reader side: may allocate. */
int pf_live_parse(const char *text, size_t len, pf_live_info_t *info, pf_live_counter_cb cb,
                  void *arg) PF_HIDDEN;

#endif
