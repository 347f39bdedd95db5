/* api.c — the Profiler API's report getters (pferris_get_report, _timings, _memory_usage,
 * _counters): the seed's get_report() and friends, over the report layer. */
#include "pferris.h"
#include "report/keys.h"
#include "report/report.h"
#include "session/session.h"

PF_EXPORT json_t *pferris_get_report(pferris_profiler_t *p)
{
    if (!p)
        return NULL;
    if (p != pferris_default())
        return pf_report_build(p, NULL);
    pf_process_info_t info = pf_session_process_info();
    return pf_report_build(p, &info);
}

PF_EXPORT json_t *pferris_get_timings(pferris_profiler_t *p)
{
    return pf_report_section(p, PF_KEY_TIMINGS);
}

PF_EXPORT json_t *pferris_get_memory_usage(pferris_profiler_t *p)
{
    return pf_report_section(p, PF_KEY_MEMORY_USAGE);
}

PF_EXPORT json_t *pferris_get_counters(pferris_profiler_t *p)
{
    return pf_report_section(p, PF_KEY_COUNTERS);
}
