/* timeline_json.c — the report's "timeline" section, from what lib/runtime/timeline.c recorded:
 * the markers' intervals per thread and the samples of live heap, threads and counters. */
#include "report/report.h"

#include <string.h>
#include "base/arena.h"
#include "base/clock.h"
#include "base/name.h"
#include "report/jstr.h"
#include "report/keys.h"
#include "runtime/heap.h"
#include "runtime/thread.h"
#include "runtime/timeline.h"

static double since_origin(uint64_t ticks, uint64_t origin)
{
    return ticks > origin ? pf_clock_ticks_to_sec(ticks - origin) : 0.0;
}

typedef struct {
    json_t *arr;
    uint64_t origin;
} intervals_t;

static void interval_json(int tid, uint32_t name, uint64_t start, uint64_t end, void *arg)
{
    intervals_t *iv = arg;
    const char *text = pf_name_str(name);
    json_t *o = json_object();
    json_object_set_new(o, PF_KEY_TID, json_integer(tid));
    json_object_set_new(o, PF_KEY_NAME, pf_jstr(text));
    json_object_set_new(o, PF_KEY_START, json_real(since_origin(start, iv->origin)));
    json_object_set_new(o, PF_KEY_END, json_real(since_origin(end, iv->origin)));
    json_array_append_new(iv->arr, o);
}

static json_t *sample_json(const pf_timeline_sample_t *v, const pf_timeline_info_t *info,
                           uint32_t nc, uint64_t origin)
{
    json_t *o = json_object();
    json_object_set_new(o, PF_KEY_T, json_real(since_origin(v->ticks, origin)));
    json_object_set_new(o, PF_KEY_LIVE_BYTES, json_integer(v->live));
    json_object_set_new(o, PF_KEY_THREADS, json_integer(v->threads));
    if (nc) {
        json_t *c = json_object();
        for (uint32_t k = 0; k < nc; k++) {
            const char *name = pf_name_str(info->counter_id[k]);
            if (name)
                pf_jstr_set(c, name, json_integer(v->c[k]));
        }
        json_object_set_new(o, PF_KEY_COUNTERS, c);
    }
    return o;
}

/* The samples, ending with one of this moment (last) so that the curves reach the end of the
 * run. Samples the sampler took while the report was being built come after the report's own
 * moment: left out, so that time only moves forward. */
static json_t *samples_json(const pf_timeline_info_t *info, const pf_timeline_sample_t *last,
                            uint64_t origin, uint32_t *halvings)
{
    json_t *samples = json_array();
    size_t size = PF_TIMELINE_SAMPLES * sizeof(pf_timeline_sample_t);
    pf_timeline_sample_t *copy = info->sampling ? pf_arena_zalloc(size) : NULL;
    if (!copy)
        return samples;
    uint32_t n = pf_timeline_samples(copy, halvings);
    for (uint32_t i = 0; i < n && copy[i].ticks <= last->ticks; i++)
        json_array_append_new(samples, sample_json(&copy[i], info, info->ncounters, origin));
    /* The last one's counters are left out: the report's "counters" are their values at the end. */
    json_array_append_new(samples, sample_json(last, info, 0, origin));
    pf_arena_free(copy, size);
    return samples;
}

void pf_report_timeline(json_t *r)
{
    uint64_t origin = pf_clock_origin();
    pf_timeline_info_t info;
    pf_timeline_info(&info);
    /* The sample of this moment is taken first: listing the intervals takes a while. */
    pf_timeline_sample_t last;
    memset(&last, 0, sizeof last);
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    last.ticks = pf_clock_ticks();
    last.live = h.live;
    last.threads = pf_thread_live();

    json_t *tl = json_object();
    json_object_set_new(tl, PF_KEY_ENABLED, json_boolean(info.enabled));
    json_object_set_new(tl, PF_KEY_INTERVAL_MS, json_integer(info.interval_ms));
    intervals_t iv = {json_array(), origin};
    uint64_t dropped = pf_timeline_intervals(interval_json, &iv);
    json_object_set_new(tl, PF_KEY_INTERVALS, iv.arr);
    uint32_t halvings = 0;
    json_t *samples = samples_json(&info, &last, origin, &halvings);
    json_object_set_new(tl, PF_KEY_SAMPLE_PERIOD_MS,
                        json_integer(info.interval_ms << (halvings < 40 ? halvings : 40)));
    json_object_set_new(tl, PF_KEY_SAMPLES, samples);
    json_t *d = json_object();
    json_object_set_new(d, PF_KEY_INTERVALS, json_integer((json_int_t)dropped));
    json_object_set_new(d, PF_KEY_SAMPLE_HALVINGS, json_integer(halvings));
    json_object_set_new(tl, PF_KEY_DROPPED, d);
    json_object_set_new(r, PF_KEY_TIMELINE, tl);
}
