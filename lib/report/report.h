/* report.h — the JSON report (schema pferris-report/1). The only module that includes
 * <jansson.h>. It reads figures through the other modules' readers and knows nothing of where
 * the report goes. */
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
} pf_process_info_t;

/* The report of profiler p; with info (the process-wide profiler), also the process,
 * thread, heap and worker sections. NULL on allocation failure. */
json_t *pf_report_build(pferris_profiler_t *p, const pf_process_info_t *info) PF_HIDDEN;

#endif
