/* speedscope.c — `pferris report --speedscope`: the speedscope file format
 * (https://www.speedscope.app/file-format-schema.json). One evented profile per thread, from the
 * timeline's timer intervals (open and close events, balanced and in time order), and sampled
 * profiles of heap bytes by call site (allocated, and live at exit), all over one shared frames
 * array. Times are seconds since the process started, as in the report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pferris.h"
#include "cmd.h"

#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"

typedef struct {
    json_t *frames; /* the shared frames */
    json_t *ids;    /* frame key -> index */
} frames_t;

/* The index of a frame, added on first use. */
static json_int_t frame_index(frames_t *fr, const char *name, const char *file)
{
    char key[1100];
    snprintf(key, sizeof key, "%s\n%s", name, file ? file : "");
    json_t *id = json_object_get(fr->ids, key);
    if (id)
        return json_integer_value(id);
    json_int_t i = (json_int_t)json_array_size(fr->frames);
    json_t *f = json_pack("{ss}", "name", name);
    if (file && *file)
        json_object_set_new(f, "file", json_string(file));
    json_array_append_new(fr->frames, f);
    json_object_set_new_nocheck(fr->ids, key, json_integer(i));
    return i;
}

/* "rank 3: " or "prog 4711: " before a profile's name in a merged report, else "". */
static void process_prefix(json_t *p, int merged, char *buf, size_t n)
{
    if (!merged)
        snprintf(buf, n, "%s", "");
    else if (json_is_integer(json_object_get(p, PF_KEY_RANK)))
        snprintf(buf, n, "rank %s: ", pf_text_count(pf_json_num(p, PF_KEY_RANK)));
    else
        snprintf(buf, n, "%s %s: ", pf_json_program_name(p),
                 pf_text_count(pf_json_num(p, PF_KEY_PID)));
}

/* ---- evented profiles: timer intervals per thread -------------------------------------- */

typedef struct {
    double tid, start, end;
    json_int_t frame;
} ival_t;

/* By thread, then in opening order: earlier first; of two that open together, the longer (the
 * enclosing one) first. */
static int by_start(const void *a, const void *b)
{
    const ival_t *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    return 0;
}

static void event(json_t *ev, const char *type, json_int_t frame, double at)
{
    json_array_append_new(ev, json_pack("{sssIsf}", "type", type, "frame", frame, "at", at));
}

/* Events of one thread's intervals (sorted by_start), properly nested: before an interval
 * opens, every open one that has ended closes (innermost first). Intervals that overlap
 * without nesting (timers stopped out of order) are cut at the end of the interval that
 * encloses their start. */
static json_t *thread_events(ival_t *iv, size_t n, double *first, double *last)
{
    json_t *ev = json_array();
    ival_t **open = calloc(n ? n : 1, sizeof *open);
    size_t depth = 0;
    if (!ev || !open) {
        free(open);
        json_decref(ev);
        return NULL;
    }
    for (size_t i = 0; i <= n; i++) {
        while (depth && (i == n || open[depth - 1]->end <= iv[i].start)) {
            depth--;
            event(ev, "C", open[depth]->frame, open[depth]->end);
        }
        if (i == n)
            break;
        if (depth && iv[i].end > open[depth - 1]->end)
            iv[i].end = open[depth - 1]->end;
        event(ev, "O", iv[i].frame, iv[i].start);
        open[depth++] = &iv[i];
    }
    free(open);
    if (n) {
        *first = iv[0].start;
        *last = iv[0].end;
        for (size_t i = 1; i < n; i++)
            if (iv[i].end > *last)
                *last = iv[i].end;
    }
    return ev;
}

/* The thread's name: "worker-1 (tid 4712)". */
static void thread_name(json_t *p, double tid, char *buf, size_t n)
{
    const char *name = "thread";
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(p, PF_KEY_THREADS), i, t)
        if (pf_json_num(t, PF_KEY_TID) == tid)
            name = pf_json_str(t, PF_KEY_NAME, name);
    snprintf(buf, n, "%s (tid %s)", name, pf_text_count(tid));
}

/* The thread's life, when the report has it, widens the profile's range. */
static void thread_range(json_t *p, double tid, double *first, double *last)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(p, PF_KEY_THREADS), i, t)
    {
        if (pf_json_num(t, PF_KEY_TID) != tid)
            continue;
        double s = pf_json_num(t, PF_KEY_START), e = pf_json_num(t, PF_KEY_END);
        if (isfinite(s) && s < *first)
            *first = s;
        if (isfinite(e) && e > *last)
            *last = e;
    }
}

/* One evented profile per thread that has intervals, threads in tid order. */
static void evented_profiles(json_t *profiles, frames_t *fr, json_t *p, int merged)
{
    json_t *ivals = json_object_get(json_object_get(p, PF_KEY_TIMELINE), PF_KEY_INTERVALS);
    size_t n = 0, i;
    json_t *x;
    ival_t *iv = calloc(json_array_size(ivals) + 1, sizeof *iv);
    if (!iv)
        return;
    json_array_foreach(ivals, i, x)
    {
        double s = pf_json_num(x, PF_KEY_START), e = pf_json_num(x, PF_KEY_END);
        if (isfinite(s) && isfinite(e) && e >= s)
            iv[n++] = (ival_t){pf_json_num0(x, PF_KEY_TID), s, e,
                               frame_index(fr, pf_json_str(x, PF_KEY_NAME, "?"), NULL)};
    }
    qsort(iv, n, sizeof *iv, by_start);
    char prefix[128];
    process_prefix(p, merged, prefix, sizeof prefix);
    for (size_t at = 0, end; at < n; at = end) {
        for (end = at + 1; end < n && iv[end].tid == iv[at].tid; end++)
            ;
        double tid = iv[at].tid, first = INFINITY, last = -INFINITY;
        json_t *ev = thread_events(iv + at, end - at, &first, &last);
        if (!ev)
            continue;
        thread_range(p, tid, &first, &last);
        char name[400], tname[200];
        thread_name(p, tid, tname, sizeof tname);
        snprintf(name, sizeof name, "%s%s", prefix, tname);
        json_array_append_new(profiles,
                              json_pack("{sssssssfsfso}", "type", "evented", "name", name, "unit",
                                        "seconds", "startValue", first, "endValue", last,
                                        "events", ev));
    }
    free(iv);
}

/* ---- sampled profiles: heap bytes by call site ------------------------------------------ */

/* A site's stack as frame indices, outermost first (speedscope's order). */
static json_t *site_stack(frames_t *fr, json_t *site)
{
    json_t *frames = json_object_get(site, PF_KEY_FRAMES), *st = json_array();
    for (size_t i = json_array_size(frames); i-- > 0;) {
        json_t *f = json_array_get(frames, i);
        char text[512];
        pf_site_frame_text(f, text, sizeof text);
        const char *mod = pf_json_str(f, PF_KEY_MODULE, NULL);
        json_array_append_new(st, json_integer(frame_index(fr, text, mod)));
    }
    return st;
}

/* One sampled profile of a site figure (bytes, or live bytes at exit) in bytes. */
static void sampled_profile(json_t *profiles, frames_t *fr, json_t *p, int merged,
                            const char *field, const char *what)
{
    json_t *sites = json_object_get(json_object_get(p, PF_KEY_HEAP), PF_KEY_SITES);
    json_t *samples = json_array(), *weights = json_array();
    double total = 0;
    size_t i;
    json_t *s;
    json_array_foreach(sites, i, s)
    {
        long long w = pf_json_to_ll(pf_json_num0(s, field));
        if (w <= 0)
            continue;
        json_array_append_new(samples, site_stack(fr, s));
        json_array_append_new(weights, json_integer(w));
        total += (double)w;
    }
    if (!json_array_size(samples)) {
        json_decref(samples);
        json_decref(weights);
        return;
    }
    char name[256], prefix[128];
    process_prefix(p, merged, prefix, sizeof prefix);
    snprintf(name, sizeof name, "%sheap: %s by call site", prefix, what);
    json_array_append_new(profiles,
                          json_pack("{sssssssisIsoso}", "type", "sampled", "name", name, "unit",
                                    "bytes", "startValue", 0, "endValue",
                                    (json_int_t)pf_json_to_ll(total), "samples", samples,
                                    "weights", weights));
}

int pf_speedscope_write(FILE *out, FILE *err, json_t *r, const char *file)
{
    frames_t fr = {json_array(), json_object()};
    json_t *profiles = json_array();
    int merged = json_is_array(json_object_get(r, PF_KEY_PROCESSES));
    for (size_t k = 0; k < pf_json_process_count(r); k++)
        evented_profiles(profiles, &fr, pf_json_process(r, k), merged);
    for (size_t k = 0; k < pf_json_process_count(r); k++) {
        json_t *p = pf_json_process(r, k);
        sampled_profile(profiles, &fr, p, merged, PF_KEY_BYTES, "bytes allocated");
        sampled_profile(profiles, &fr, p, merged, PF_KEY_LIVE_BYTES, "bytes live at exit");
    }
    if (!json_array_size(profiles))
        pf_text_say(err, "%s: nothing to show (no timer intervals in the timeline, no call sites)",
                    file);
    char name[300];
    snprintf(name, sizeof name, "%s (%s)", merged ? "merged" : pf_json_program_name(r), file);
    json_t *doc = json_pack("{sss{so}sosssiss}", "$schema", SCHEMA_URL, "shared", "frames",
                            fr.frames, "profiles", profiles, "name", name, "activeProfileIndex", 0,
                            "exporter", "pferris " PFERRIS_VERSION);
    json_decref(fr.ids);
    int rc = doc && json_dumpf(doc, out, JSON_COMPACT) == 0 ? 0 : 2;
    fputc('\n', out);
    json_decref(doc);
    return rc;
}
