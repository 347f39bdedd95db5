/* report.h — the JSON report (schema pferris-report/1), built with jansson from what the runtime
 * layer recorded, read through the runtime modules' readers. The report layer knows nothing of
 * where the report goes (the session writes it). Key names are in report/keys.h. */
#ifndef PF_REPORT_H
#define PF_REPORT_H

#include <jansson.h>
#include "base/atomic.h"
#include "pferris.h"

typedef struct {
    const char *const *argv;    /* the command line, or NULL */
    const char *start_time;     /* ISO 8601 UTC, or NULL */
    int workers_requested;      /* PFERRIS_WORKERS, 0 when unset */
    int heap_enabled;
    int rank;                   /* the MPI or Slurm rank, -1 when none */
    const char *rank_source;    /* the launcher's variable it came from */
    int exit_how;               /* PF_EXIT_*: how the process ended, as far as it is known */
    int exit_value;             /* the exit code (PF_EXIT_CODE) or the signal (PF_EXIT_SIGNAL) */
} pf_process_info_t;

/* The report's "exit" key. A crash report is written without jansson (lib/session/signals.c). */
enum {
    PF_EXIT_NONE = 0,       /* no key (a report asked for by the API while the process runs) */
    PF_EXIT_EXIT,           /* {"how": "exit"}: the code is not known */
    PF_EXIT_CODE,           /* {"how": "exit", "code": N} */
    PF_EXIT_SIGNAL,         /* {"how": "signal", "signal": N, "signal_name": "SIGTERM"} */
    PF_EXIT_CHECKPOINT,     /* {"how": "checkpoint"}: written while the process ran */
};

/* The report of profiler p; with info (the process-wide profiler), also the process,
 * thread, heap and worker sections. NULL on allocation failure. */
json_t *pf_report_build(pferris_profiler_t *p, const pf_process_info_t *info) PF_HIDDEN;
/* One section of profiler p's report (PF_KEY_TIMINGS, PF_KEY_MEMORY_USAGE, PF_KEY_COUNTERS): a new
 * reference, or NULL for no p or no memory. */
json_t *pf_report_section(pferris_profiler_t *p, const char *key) PF_HIDDEN;
/* "SIGTERM" for 15, into buf; NULL when the signal has no name. No allocation. */
const char *pf_report_signal_name(int sig, char *buf, size_t size) PF_HIDDEN;
/* Adds the timeline section (lib/report/timeline_json.c) to the process report r. */
void pf_report_timeline(json_t *r) PF_HIDDEN;

#endif
