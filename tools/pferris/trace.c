/* trace.c — `pferris report --trace`: Chrome Trace Event JSON (ui.perfetto.dev,
 * chrome://tracing). One X event per timer interval and per long wait on a lock, C events for
 * the heap, threads and counters, M events for process and thread names. The event keys ("ph", "ts", ...) are the
 * trace format's, not the report's. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "pferris.h"
#include "cmd.h"

static json_t *event(const char *ph, const char *name, double pid, double tid, double ts)
{
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(name ? name : "?"));
    json_object_set_new(e, "ph", json_string(ph));
    json_object_set_new(e, "pid", json_integer(pf_json_to_ll(pid)));
    if (!isnan(tid))
        json_object_set_new(e, "tid", json_integer(pf_json_to_ll(tid)));
    if (!isnan(ts))
        json_object_set_new(e, "ts", json_real(isfinite(ts) ? ts : 0));
    return e;
}

static void counter_event(json_t *ev, const char *name, double pid, double ts, const char *arg,
                          double value)
{
    json_t *e = event("C", name, pid, NAN, ts);
    json_t *a = json_object();
    json_object_set_new(a, arg, json_integer(pf_json_to_ll(value)));
    json_object_set_new(e, "args", a);
    json_array_append_new(ev, e);
}

/* An M event: metadata with one argument, a string (s) or else an integer (i). */
static void meta_event(json_t *ev, const char *name, double pid, double tid, const char *arg,
                       const char *s, json_int_t i)
{
    json_t *m = event("M", name, pid, tid, NAN);
    json_object_set_new(m, "args", s ? json_pack("{ss}", arg, s) : json_pack("{sI}", arg, i));
    json_array_append_new(ev, m);
}

/* Perfetto keys processes by pid: two hosts may reuse one, so keep them apart. used holds the
 * pids given so far; seq numbers the processes. */
static double trace_pid(json_t *p, json_t *used, size_t seq)
{
    double pid = pf_json_num(p, PF_KEY_PID);
    char pk[32];
    snprintf(pk, sizeof pk, "%lld", pf_json_to_ll(pid));
    if (!isfinite(pid) || json_object_get(used, pk))
        pid = 10000000.0 + (double)seq;
    snprintf(pk, sizeof pk, "%lld", pf_json_to_ll(pid));
    json_object_set_new(used, pk, json_true());
    return pid;
}

/* The process's name and order, and its threads' names and order. total is the number of
 * processes in the trace: with more than one, the host is named too. */
static void process_meta(json_t *ev, json_t *p, double pid, size_t total)
{
    char pname[256];
    const char *pid_text = pf_text_count(pf_json_num(p, PF_KEY_PID));
    int ranked = json_is_integer(json_object_get(p, PF_KEY_RANK));
    if (ranked)
        snprintf(pname, sizeof pname, "%s rank %s (pid %s)", pf_json_program_name(p),
                 pf_text_count(pf_json_num(p, PF_KEY_RANK)), pid_text);
    else
        snprintf(pname, sizeof pname, "%s (pid %s%s%s)", pf_json_program_name(p), pid_text,
                 total > 1 ? ", " : "", total > 1 ? pf_json_str(p, PF_KEY_HOSTNAME, "") : "");
    meta_event(ev, "process_name", pid, NAN, "name", pname, 0);
    if (ranked)
        meta_event(ev, "process_sort_index", pid, NAN, "sort_index", NULL,
                   (json_int_t)pf_json_to_ll(pf_json_num(p, PF_KEY_RANK)));
    size_t j;
    json_t *t;
    json_array_foreach(json_object_get(p, PF_KEY_THREADS), j, t)
    {
        if (json_object_get(t, PF_KEY_OTHER_THREADS))
            continue; /* the row that sums unlisted threads: no thread of the trace */
        double tid = pf_json_num(t, PF_KEY_TID);
        meta_event(ev, "thread_name", pid, tid, "name", pf_json_str(t, PF_KEY_NAME, "?"), 0);
        meta_event(ev, "thread_sort_index", pid, tid, "sort_index", NULL, (json_int_t)j);
    }
}

/* The timeline: intervals, and samples of the heap, threads and counters; then every
 * counter's final value at the end, and the heap's when nothing was sampled. off is the
 * process's start on the trace's clock, in microseconds. */
static void process_events(json_t *ev, json_t *p, double pid, double off)
{
    json_t *tl = json_object_get(p, PF_KEY_TIMELINE);
    size_t j;
    json_t *t;
    json_array_foreach(json_object_get(tl, PF_KEY_INTERVALS), j, t)
    {
        double s = pf_json_num(t, PF_KEY_START), e = pf_json_num(t, PF_KEY_END);
        if (!isfinite(s) || !isfinite(e))
            continue;
        const char *name = pf_json_str(t, PF_KEY_NAME, "?");
        json_t *x = event("X", name, pid, pf_json_num(t, PF_KEY_TID), off + s * 1e6);
        /* Waits on locks (lib/runtime/waits.h) are intervals named "wait: KIND". */
        json_object_set_new(x, "cat", json_string(strncmp(name, "wait: ", 6) ? "timer" : "wait"));
        json_object_set_new(x, "dur", json_real(e > s ? (e - s) * 1e6 : 0));
        json_array_append_new(ev, x);
    }
    const char *key;
    json_t *v;
    json_array_foreach(json_object_get(tl, PF_KEY_SAMPLES), j, t)
    {
        double ts = off + pf_json_num0(t, PF_KEY_T) * 1e6;
        counter_event(ev, "heap", pid, ts, "live_bytes", pf_json_num0(t, PF_KEY_LIVE_BYTES));
        counter_event(ev, "threads", pid, ts, "alive", pf_json_num0(t, PF_KEY_THREADS));
        json_object_foreach(json_object_get(t, PF_KEY_COUNTERS), key, v)
            counter_event(ev, key, pid, ts, "value", pf_json_numv(v));
    }
    double end = off + pf_json_num0(p, PF_KEY_TOTAL_ELAPSED) * 1e6;
    if (!json_array_size(json_object_get(tl, PF_KEY_SAMPLES)))
        counter_event(ev, "heap", pid, end, "live_bytes",
                      pf_json_num0(json_object_get(p, PF_KEY_HEAP), PF_KEY_LIVE_BYTES));
    json_object_foreach(json_object_get(p, PF_KEY_COUNTERS), key, v)
        counter_event(ev, key, pid, end, "value", pf_json_numv(v));
}

int pf_trace_write(FILE *out, json_t **reports, const char **files, int n)
{
    json_t *ev = json_array();
    /* All processes on one time axis: each report's clock starts at its process start. */
    double first = INFINITY;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < pf_json_process_count(reports[i]); k++) {
            json_t *p = pf_json_process(reports[i], k);
            double s = pf_json_iso_epoch(pf_json_str(p, PF_KEY_START_TIME, NULL));
            if (s < first)
                first = s;
            total++;
        }
    json_t *used_pids = json_object();
    size_t seq = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < pf_json_process_count(reports[i]); k++, seq++) {
            json_t *p = pf_json_process(reports[i], k);
            double start = pf_json_iso_epoch(pf_json_str(p, PF_KEY_START_TIME, NULL));
            double off = isfinite(first) && isfinite(start) ? (start - first) * 1e6 : 0;
            double pid = trace_pid(p, used_pids, seq);
            process_meta(ev, p, pid, total);
            process_events(ev, p, pid, off);
        }
    json_decref(used_pids);
    json_t *files_j = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(files_j, json_string(files[i]));
    json_t *doc = json_pack("{so s{ssso} ss}", "traceEvents", ev, "otherData", "pferris_version",
                            PFERRIS_VERSION, "reports", files_j, "displayTimeUnit", "ms");
    int rc = doc && json_dumpf(doc, out, JSON_COMPACT) == 0 ? 0 : 2;
    fputc('\n', out);
    json_decref(doc);
    return rc;
}
