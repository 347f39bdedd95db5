/* merge.c — `pferris report --merge`: one report of several processes, hosts or ranks. Sums
 * (times, counts, bytes, waiting), maxima (elapsed, peaks, concurrent threads), timer trees
 * merged by path, call sites merged by their frames, locks listed with their pid, and every
 * process's own report under "processes", ordered by rank when present. The result reads back as a report (the fuzz target checks). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pferris.h"
#include "cmd.h"
#include "report/jstr.h"

static void sum_int(json_t *dst, const char *key, json_t *v)
{
    if (!json_is_integer(v))
        return;
    json_t *cur = json_object_get(dst, key);
    json_object_set_new(dst, key, json_integer(pf_json_add_sat(json_integer_value(cur),
                                                               json_integer_value(v))));
}

static void max_int(json_t *dst, const char *key, json_t *v)
{
    if (!json_is_integer(v))
        return;
    json_t *cur = json_object_get(dst, key);
    if (!cur || json_integer_value(v) > json_integer_value(cur))
        json_object_set_new(dst, key, json_integer(json_integer_value(v)));
}

static void sum_real(json_t *dst, const char *key, double v)
{
    if (!isfinite(v))
        return;
    json_object_set_new(dst, key, json_real(pf_json_num0(dst, key) + v));
}

/* ---- timer trees -------------------------------------------------------------------------- */

/* The node of dst named name; NULL when there is none. */
static json_t *tree_child(json_t *dst, const char *name)
{
    size_t j;
    json_t *c;
    json_array_foreach(dst, j, c) if (strcmp(pf_json_str(c, PF_KEY_NAME, ""), name) == 0) return c;
    return NULL;
}

/* Timer trees merged by path: counts and times add, children merge by name. */
static void merge_tree(json_t *dst, json_t *src, int depth)
{
    size_t i;
    json_t *n;
    if (depth > 4096)
        return;
    json_array_foreach(src, i, n)
    {
        const char *name = pf_json_str(n, PF_KEY_NAME, "?");
        json_t *d = tree_child(dst, name);
        if (!d) {
            d = json_pack("{sssIsfsfs[]}", PF_KEY_NAME, name, PF_KEY_COUNT, (json_int_t)0,
                          PF_KEY_TOTAL, 0.0, PF_KEY_SELF, 0.0, PF_KEY_CHILDREN);
            if (!d)
                continue;
            json_array_append_new(dst, d);
        }
        sum_int(d, PF_KEY_COUNT, json_object_get(n, PF_KEY_COUNT));
        sum_real(d, PF_KEY_TOTAL, pf_json_num(n, PF_KEY_TOTAL));
        sum_real(d, PF_KEY_SELF, pf_json_num(n, PF_KEY_SELF));
        merge_tree(json_object_get(d, PF_KEY_CHILDREN), json_object_get(n, PF_KEY_CHILDREN),
                   depth + 1);
    }
}

static int by_total_desc(const void *a, const void *b)
{
    double x = pf_json_num0(*(json_t *const *)a, PF_KEY_TOTAL),
           y = pf_json_num0(*(json_t *const *)b, PF_KEY_TOTAL);
    return x < y ? 1 : x > y ? -1 : 0;
}

static void sort_tree(json_t *arr, int depth)
{
    size_t n = json_array_size(arr);
    if (!n || depth > 4096)
        return;
    json_t **v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, by_total_desc);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++) {
        sort_tree(json_object_get(v[i], PF_KEY_CHILDREN), depth + 1);
        json_array_append_new(arr, v[i]);
    }
    free(v);
}

/* ---- the processes ------------------------------------------------------------------------ */

static int by_rank(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int hx = json_is_integer(json_object_get(x, PF_KEY_RANK)),
        hy = json_is_integer(json_object_get(y, PF_KEY_RANK));
    if (hx != hy)
        return hx ? -1 : 1;
    if (hx && pf_json_num(x, PF_KEY_RANK) != pf_json_num(y, PF_KEY_RANK))
        return pf_json_num(x, PF_KEY_RANK) < pf_json_num(y, PF_KEY_RANK) ? -1 : 1;
    int c = strcmp(pf_json_str(x, PF_KEY_HOSTNAME, ""), pf_json_str(y, PF_KEY_HOSTNAME, ""));
    if (c)
        return c;
    if (pf_json_num0(x, PF_KEY_PID) != pf_json_num0(y, PF_KEY_PID))
        return pf_json_num0(x, PF_KEY_PID) < pf_json_num0(y, PF_KEY_PID) ? -1 : 1;
    return strcmp(pf_json_str(x, PF_KEY_FILE, ""), pf_json_str(y, PF_KEY_FILE, ""));
}

/* Every process, a merged input's processes included, each a copy keeping its file name,
 * ordered by rank. *np of them, to be released; NULL when memory runs out. */
static json_t **all_processes(json_t **reports, const char **files, int n, size_t *np)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += pf_json_process_count(reports[i]);
    json_t **ps = calloc(total ? total : 1, sizeof *ps);
    if (!ps)
        return NULL;
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < pf_json_process_count(reports[i]); j++) {
            json_t *p = json_deep_copy(pf_json_process(reports[i], j));
            if (!p)
                continue;
            if (!json_object_get(p, PF_KEY_FILE))
                json_object_set_new(p, PF_KEY_FILE, pf_jstr(files[i]));
            json_object_del(p, PF_KEY_PROCESSES);
            json_object_del(p, PF_KEY_MERGED);
            ps[k++] = p;
        }
    *np = k;
    qsort(ps, k, sizeof *ps, by_rank);
    return ps;
}

/* ---- the sums ----------------------------------------------------------------------------- */

/* What the processes add up to, built one process at a time. */
typedef struct {
    json_t *timings, *stats, *tree, *mem, *memstats, *counters, *threads, *heap, *hist, *sites,
        *dropped, *workers, *procs, *hosts, *ranks, *locks;
    double elapsed, first, wait_s, life_s, locks_omitted;
    json_t *sample_ns;
    int have_waits;
    const char *first_iso;
    json_t *requested;
    int requested_same, heap_on;
} merge_t;

static void add_timers(merge_t *m, json_t *p)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(p, PF_KEY_TIMINGS), key, v)
        sum_real(m->timings, key, pf_json_numv(v));
    json_object_foreach(json_object_get(p, PF_KEY_TIMING_STATS), key, v)
    {
        json_t *s = json_object_get(m->stats, key);
        if (!s) {
            s = json_pack("{sIsfsfsfsf}", PF_KEY_COUNT, (json_int_t)0, PF_KEY_TOTAL, 0.0,
                          PF_KEY_MIN, pf_json_num0(v, PF_KEY_MIN), PF_KEY_MAX,
                          pf_json_num0(v, PF_KEY_MAX), PF_KEY_MEAN, 0.0);
            json_object_set_new(m->stats, key, s);
        }
        sum_int(s, PF_KEY_COUNT, json_object_get(v, PF_KEY_COUNT));
        sum_real(s, PF_KEY_TOTAL, pf_json_num(v, PF_KEY_TOTAL));
        if (pf_json_num(v, PF_KEY_MIN) < pf_json_num(s, PF_KEY_MIN))
            json_object_set_new(s, PF_KEY_MIN, json_real(pf_json_num(v, PF_KEY_MIN)));
        if (pf_json_num(v, PF_KEY_MAX) > pf_json_num(s, PF_KEY_MAX))
            json_object_set_new(s, PF_KEY_MAX, json_real(pf_json_num(v, PF_KEY_MAX)));
    }
    merge_tree(m->tree, json_object_get(p, PF_KEY_TIMING_TREE), 0);
}

static void add_memory_and_counters(merge_t *m, json_t *p)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(p, PF_KEY_MEMORY_USAGE), key, v) sum_int(m->mem, key, v);
    json_object_foreach(json_object_get(p, PF_KEY_MEMORY_STATS), key, v)
    {
        json_t *s = json_object_get(m->memstats, key);
        if (!s) {
            s = json_pack("{sIsIsI}", PF_KEY_LAST, (json_int_t)0, PF_KEY_PEAK, (json_int_t)0,
                          PF_KEY_PEAK_MAX, (json_int_t)INT64_MIN);
            json_object_set_new(m->memstats, key, s);
        }
        sum_int(s, PF_KEY_LAST, json_object_get(v, PF_KEY_LAST));
        sum_int(s, PF_KEY_PEAK, json_object_get(v, PF_KEY_PEAK));
        max_int(s, PF_KEY_PEAK_MAX, json_object_get(v, PF_KEY_PEAK));
    }
    json_object_foreach(json_object_get(p, PF_KEY_COUNTERS), key, v)
        sum_int(m->counters, key, v);
}

/* Each thread, marked with its process's pid and rank. */
static void add_threads(merge_t *m, json_t *p)
{
    size_t j;
    json_t *v;
    json_array_foreach(json_object_get(p, PF_KEY_THREADS), j, v)
    {
        json_t *t = json_deep_copy(v);
        if (!t)
            continue;
        json_object_set(t, PF_KEY_PID, json_object_get(p, PF_KEY_PID));
        if (json_object_get(p, PF_KEY_RANK))
            json_object_set(t, PF_KEY_RANK, json_object_get(p, PF_KEY_RANK));
        if (!json_is_integer(json_object_get(t, PF_KEY_PID)))
            json_object_del(t, PF_KEY_PID);
        json_array_append_new(m->threads, t);
    }
}

/* Each lock, marked with its process's pid (addresses of two processes are not one lock), and
 * the processes' waiting summed. */
static void add_waits(merge_t *m, json_t *p)
{
    size_t j;
    json_t *v;
    json_array_foreach(json_object_get(p, PF_KEY_LOCKS), j, v)
    {
        json_t *l = json_deep_copy(v);
        if (!l)
            continue;
        if (json_is_integer(json_object_get(p, PF_KEY_PID)))
            json_object_set(l, PF_KEY_PID, json_object_get(p, PF_KEY_PID));
        json_array_append_new(m->locks, l);
    }
    json_t *w = json_object_get(p, PF_KEY_WAITS);
    if (!json_is_object(w))
        return;
    m->have_waits = 1;
    m->wait_s += pf_json_num0(w, PF_KEY_WAIT_SECONDS);
    m->life_s += pf_json_num0(w, PF_KEY_THREAD_SECONDS);
    m->locks_omitted += pf_json_num0(w, PF_KEY_LOCKS_OMITTED);
    if (!m->sample_ns)
        m->sample_ns = json_object_get(w, PF_KEY_SAMPLE_NS);
}

static int by_wait_desc(const void *a, const void *b)
{
    double x = pf_json_num0(*(json_t *const *)a, PF_KEY_WAIT_SECONDS);
    double y = pf_json_num0(*(json_t *const *)b, PF_KEY_WAIT_SECONDS);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The locks heaviest first, and the merged `waits` (NULL when no process had one). */
static json_t *finish_waits(merge_t *m)
{
    size_t n = json_array_size(m->locks);
    json_t **l = calloc(n ? n : 1, sizeof *l);
    if (l) {
        for (size_t i = 0; i < n; i++)
            l[i] = json_incref(json_array_get(m->locks, i));
        qsort(l, n, sizeof *l, by_wait_desc);
        json_array_clear(m->locks);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(m->locks, l[i]);
        free(l);
    }
    if (!m->have_waits)
        return NULL;
    json_t *w = json_object();
    json_object_set_new(w, PF_KEY_WAIT_SECONDS, json_real(m->wait_s));
    json_object_set_new(w, PF_KEY_THREAD_SECONDS, json_real(m->life_s));
    json_object_set_new(w, PF_KEY_SHARE, json_real(m->life_s > 0 ? m->wait_s / m->life_s : 0.0));
    if (json_is_integer(m->sample_ns))
        json_object_set(w, PF_KEY_SAMPLE_NS, m->sample_ns);
    json_object_set_new(w, PF_KEY_LOCKS_OMITTED, json_integer((json_int_t)m->locks_omitted));
    return w;
}

/* The size histogram's buckets, merged by their lower bound. */
static void add_histogram(merge_t *m, json_t *h)
{
    size_t j;
    json_t *v;
    json_array_foreach(json_object_get(h, PF_KEY_SIZE_HISTOGRAM), j, v)
    {
        char bk[64];
        snprintf(bk, sizeof bk, "%lld",
                 (long long)json_integer_value(json_object_get(v, PF_KEY_MIN)));
        json_t *b = json_object_get(m->hist, bk);
        if (!b) {
            b = json_pack("{sOsOsI}", PF_KEY_MIN, json_object_get(v, PF_KEY_MIN), PF_KEY_MAX,
                          json_object_get(v, PF_KEY_MAX), PF_KEY_COUNT, (json_int_t)0);
            if (!b)
                continue;
            json_object_set_new(m->hist, bk, b);
        }
        sum_int(b, PF_KEY_COUNT, json_object_get(v, PF_KEY_COUNT));
    }
}

static void add_sites(merge_t *m, json_t *h)
{
    size_t j;
    json_t *v;
    json_array_foreach(json_object_get(h, PF_KEY_SITES), j, v)
    {
        /* One site across processes: the same frames (symbol, module, offset). */
        json_t *frames = json_object_get(v, PF_KEY_FRAMES);
        char *sk = json_dumps(frames, JSON_COMPACT | JSON_SORT_KEYS);
        if (!sk)
            continue;
        json_t *s = json_object_get(m->sites, sk);
        if (!s) {
            s = json_pack("{sOsfsfsf}", PF_KEY_FRAMES, frames, PF_KEY_ALLOCATIONS, 0.0,
                          PF_KEY_BYTES, 0.0, PF_KEY_LIVE_BYTES, 0.0);
            if (s)
                json_object_set_new(m->sites, sk, s);
        }
        free(sk);
        if (!s)
            continue;
        sum_real(s, PF_KEY_ALLOCATIONS, pf_json_num(v, PF_KEY_ALLOCATIONS));
        sum_real(s, PF_KEY_BYTES, pf_json_num(v, PF_KEY_BYTES));
        sum_real(s, PF_KEY_LIVE_BYTES, pf_json_num(v, PF_KEY_LIVE_BYTES));
    }
}

static void add_heap(merge_t *m, json_t *p)
{
    json_t *h = json_object_get(p, PF_KEY_HEAP);
    if (json_is_true(json_object_get(h, PF_KEY_ENABLED)))
        m->heap_on = 1;
    static const char *const hsum[] = {PF_KEY_ALLOCATIONS,  PF_KEY_FREES,
                                       PF_KEY_BYTES_ALLOCATED, PF_KEY_BYTES_ALLOCATED_USABLE,
                                       PF_KEY_BYTES_FREED,  PF_KEY_LIVE_BYTES,
                                       PF_KEY_PEAK_BYTES,   PF_KEY_PEAK_ERROR_BOUND};
    for (size_t q = 0; q < sizeof hsum / sizeof hsum[0]; q++)
        sum_int(m->heap, hsum[q], json_object_get(h, hsum[q]));
    max_int(m->heap, PF_KEY_PEAK_BYTES_MAX, json_object_get(h, PF_KEY_PEAK_BYTES));
    add_histogram(m, h);
    add_sites(m, h);
}

/* Process i of the sorted processes. */
static void add_process(merge_t *m, json_t *p, size_t i)
{
    if (pf_json_num0(p, PF_KEY_TOTAL_ELAPSED) > m->elapsed)
        m->elapsed = pf_json_num0(p, PF_KEY_TOTAL_ELAPSED);
    double st = pf_json_iso_epoch(pf_json_str(p, PF_KEY_START_TIME, NULL));
    if (st < m->first) {
        m->first = st;
        m->first_iso = pf_json_str(p, PF_KEY_START_TIME, NULL);
    }
    json_object_set_new(m->hosts, pf_json_str(p, PF_KEY_HOSTNAME, "?"), json_true());
    if (json_is_integer(json_object_get(p, PF_KEY_RANK)))
        json_array_append(m->ranks, json_object_get(p, PF_KEY_RANK));
    add_timers(m, p);
    add_memory_and_counters(m, p);
    add_threads(m, p);
    add_heap(m, p);
    add_waits(m, p);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(p, PF_KEY_DROPPED), key, v) sum_int(m->dropped, key, v);
    json_t *w = json_object_get(p, PF_KEY_WORKERS);
    max_int(m->workers, PF_KEY_MAX_CONCURRENT_THREADS,
            json_object_get(w, PF_KEY_MAX_CONCURRENT_THREADS));
    sum_int(m->workers, PF_KEY_THREADS_TOTAL, json_object_get(w, PF_KEY_THREADS_TOTAL));
    sum_int(m->workers, PF_KEY_THREADS_EXITED, json_object_get(w, PF_KEY_THREADS_EXITED));
    json_t *rq = json_object_get(w, PF_KEY_REQUESTED);
    if (i == 0)
        m->requested = rq;
    else if (!json_equal(m->requested, rq) && (m->requested || rq))
        m->requested_same = 0;
    json_array_append(m->procs, p);
}

/* ---- finishing ---------------------------------------------------------------------------- */

/* Sites as an array, heaviest first; reals that hold integers become integers again. */
static json_t *site_array(json_t *sites)
{
    json_t *site_arr = json_array();
    size_t ns = json_object_size(sites), q = 0;
    json_t **sv = calloc(ns ? ns : 1, sizeof *sv);
    const char *key;
    json_t *v;
    json_object_foreach(sites, key, v) if (sv && q < ns) sv[q++] = v;
    for (size_t a = 0; sv && a < q; a++)
        for (size_t b = a + 1; b < q; b++)
            if (pf_json_num0(sv[b], PF_KEY_BYTES) > pf_json_num0(sv[a], PF_KEY_BYTES)) {
                json_t *t = sv[a];
                sv[a] = sv[b];
                sv[b] = t;
            }
    for (size_t a = 0; sv && a < q; a++) {
        static const char *const f[] = {PF_KEY_ALLOCATIONS, PF_KEY_BYTES, PF_KEY_LIVE_BYTES};
        for (int c = 0; c < 3; c++)
            json_object_set_new(sv[a], f[c], pf_json_number(pf_json_num0(sv[a], f[c])));
        json_array_append(site_arr, sv[a]);
    }
    free(sv);
    return site_arr;
}

/* The histogram's buckets as an array, by lower bound. */
static json_t *histogram_array(json_t *hist)
{
    json_t *hist_arr = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(hist, key, v) json_array_append(hist_arr, v);
    size_t nh = json_array_size(hist_arr);
    for (size_t a = 0; a < nh; a++)
        for (size_t b = a + 1; b < nh; b++)
            if (pf_json_num0(json_array_get(hist_arr, b), PF_KEY_MIN) <
                pf_json_num0(json_array_get(hist_arr, a), PF_KEY_MIN)) {
                json_t *x = json_incref(json_array_get(hist_arr, a));
                json_array_set(hist_arr, a, json_array_get(hist_arr, b));
                json_array_set_new(hist_arr, b, x);
            }
    return hist_arr;
}

/* The figures that are known only once every process is in: means, the heap's arrays, the
 * tree's order, and whether all processes requested the same number of workers. */
static void finish(merge_t *m)
{
    json_object_set_new(m->heap, PF_KEY_ENABLED, json_boolean(m->heap_on));
    json_object_set_new(m->heap, PF_KEY_SIZE_HISTOGRAM, histogram_array(m->hist));
    json_object_set_new(m->heap, PF_KEY_SITES, site_array(m->sites));
    json_decref(m->hist);
    json_decref(m->sites);
    const char *key;
    json_t *v;
    json_object_foreach(m->stats, key, v)
    {
        double c = pf_json_num0(v, PF_KEY_COUNT);
        double mean = c > 0 ? pf_json_num0(v, PF_KEY_TOTAL) / c : 0;
        json_object_set_new(v, PF_KEY_MEAN, json_real(mean));
    }
    json_object_foreach(m->memstats, key, v)
    {
        if (pf_json_num(v, PF_KEY_PEAK_MAX) == (double)INT64_MIN)
            json_object_del(v, PF_KEY_PEAK_MAX);
    }
    sort_tree(m->tree, 0);
    json_object_set_new(m->workers, PF_KEY_REQUESTED,
                        m->requested_same && json_is_integer(m->requested)
                            ? json_incref(m->requested)
                            : json_null());
}

/* The merged report itself, in the order of a report's keys. Takes m's references. */
static json_t *document(merge_t *m, json_t **ps, size_t np, const char **files, int n)
{
    json_t *host_list = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(m->hosts, key, v) json_array_append_new(host_list, json_string(key));
    json_t *file_list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(file_list, pf_jstr(files[i]));
    json_t *cmd = np ? json_object_get(ps[0], PF_KEY_COMMAND) : NULL;
    json_t *d = json_object();
    json_object_set_new(d, PF_KEY_SCHEMA, json_string(PFERRIS_SCHEMA));
    json_object_set_new(d, PF_KEY_PFERRIS_VERSION, json_string(PFERRIS_VERSION));
    json_object_set_new(d, PF_KEY_MERGED,
                        json_pack("{sIsoso so}", PF_KEY_PROCESSES, (json_int_t)np, PF_KEY_HOSTS,
                                  host_list, PF_KEY_RANKS, m->ranks, PF_KEY_FILES, file_list));
    json_object_set_new(d, PF_KEY_PID, json_null());
    json_object_set_new(d, PF_KEY_PPID, json_null());
    json_object_set_new(d, PF_KEY_HOSTNAME,
                        json_object_size(m->hosts) == 1
                            ? json_string(json_object_iter_key(json_object_iter(m->hosts)))
                            : json_null());
    json_object_set_new(d, PF_KEY_COMMAND, json_is_array(cmd) ? json_deep_copy(cmd) : json_array());
    json_object_set_new(d, PF_KEY_START_TIME,
                        m->first_iso ? json_string(m->first_iso) : json_null());
    json_object_set_new(d, PF_KEY_TOTAL_ELAPSED, json_real(m->elapsed));
    json_object_set_new(d, PF_KEY_TIMINGS, m->timings);
    json_object_set_new(d, PF_KEY_TIMING_STATS, m->stats);
    json_object_set_new(d, PF_KEY_TIMING_TREE, m->tree);
    json_object_set_new(d, PF_KEY_MEMORY_USAGE, m->mem);
    json_object_set_new(d, PF_KEY_MEMORY_STATS, m->memstats);
    json_object_set_new(d, PF_KEY_COUNTERS, m->counters);
    json_object_set_new(d, PF_KEY_THREADS, m->threads);
    json_object_set_new(d, PF_KEY_HEAP, m->heap);
    json_object_set_new(d, PF_KEY_WORKERS, m->workers);
    json_object_set_new(d, PF_KEY_DROPPED, m->dropped);
    json_t *waits = finish_waits(m);
    json_object_set_new(d, PF_KEY_LOCKS, m->locks);
    if (waits)
        json_object_set_new(d, PF_KEY_WAITS, waits);
    json_object_set_new(d, PF_KEY_PROCESSES, m->procs);
    json_decref(m->hosts);
    return d;
}

json_t *pf_merge_reports(json_t **reports, const char **files, int n)
{
    size_t np = 0;
    json_t **ps = all_processes(reports, files, n, &np);
    if (!ps)
        return NULL;
    merge_t m = {.timings = json_object(),  .stats = json_object(),   .tree = json_array(),
                 .mem = json_object(),      .memstats = json_object(), .counters = json_object(),
                 .threads = json_array(),   .heap = json_object(),    .hist = json_object(),
                 .sites = json_object(),    .dropped = json_object(), .workers = json_object(),
                 .procs = json_array(),     .hosts = json_object(),   .ranks = json_array(),
                 .locks = json_array(),
                 .first = INFINITY,         .requested_same = 1};
    for (size_t i = 0; i < np; i++)
        add_process(&m, ps[i], i);
    finish(&m);
    json_t *d = document(&m, ps, np, files, n);
    for (size_t i = 0; i < np; i++)
        json_decref(ps[i]);
    free(ps);
    return d;
}
