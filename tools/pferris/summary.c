/* summary.c — the text summary of a report (`pferris report`, and what `pferris run` prints):
 * the process, the bottleneck, timers, where the CPU time goes (sampled stacks), counters,
 * memory, heap, the heaviest call sites with their source lines (from addr2line), the heaviest
 * locks, threads, and a merged report's processes. The CPU and waits sections are in
 * summary_cpu.c and summary_waits.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "common/source.h"

/* Adds PF_KEY_SOURCE (file:line, the file's name only) to a site's innermost frames, for the
 * tables. */
void pf_summary_annotate(json_t *site, size_t frames)
{
    json_t *fr = json_object_get(site, PF_KEY_FRAMES);
    pf_site_source_t q[8];
    json_t *of[8];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(fr) && i < frames && n < 8; i++) {
        json_t *f = json_array_get(fr, i);
        const char *mod = pf_json_str(f, PF_KEY_MODULE, NULL);
        double off = pf_json_num(f, PF_KEY_OFFSET);
        /* A Python frame has its file and line already (pf_site_frame_text shows them). */
        if (mod && *mod == '/' && !isnan(off) && !pf_site_is_python(f) &&
            !json_object_get(f, PF_KEY_SOURCE)) {
            q[n] = (pf_site_source_t){.module = mod,
                                      .offset = (unsigned long long)pf_json_to_ll(off)};
            of[n++] = f;
        }
    }
    pf_site_sources(q, n);
    for (size_t i = 0; i < n; i++) {
        if (!q[i].file[0])
            continue;
        const char *slash = strrchr(q[i].file, '/');
        char line[600];
        snprintf(line, sizeof line, q[i].line > 0 ? "%s:%ld" : "%s", slash ? slash + 1 : q[i].file,
                 q[i].line);
        json_object_set_new(of[i], PF_KEY_SOURCE, json_string(line));
    }
}

/* ---- the heaviest call sites (--top) ------------------------------------------------------- */

/* One table: the top sites by bytes, or (by_live) by live bytes at exit. e has n entries. */
static void top_sites_table(FILE *out, json_t *sites, pf_entry_t *e, size_t n, size_t top,
                            int by_live)
{
    const char *field = by_live ? PF_KEY_LIVE_BYTES : PF_KEY_BYTES;
    const char *other = by_live ? PF_KEY_BYTES : PF_KEY_LIVE_BYTES;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(sites, i);
        e[i] = (pf_entry_t){"", pf_json_num(s, field), s};
    }
    qsort(e, n, sizeof *e, pf_json_by_value_desc);
    if (by_live && !(e[0].value > 0)) {
        fprintf(out, "\n  call sites holding memory at exit: none (every sampled block was freed)\n");
        return;
    }
    fprintf(out, "\n  heaviest call sites by %s\n", by_live ? "live bytes at exit" : "bytes");
    pf_table_t t;
    pf_table_init(&t, "rrrrl", "#", by_live ? "live" : "bytes", "allocations",
                  by_live ? "bytes" : "live", "where (innermost first)");
    for (size_t i = 0; i < n && i < top; i++) {
        if (by_live && !(e[i].value > 0))
            break;
        pf_summary_annotate(e[i].v, 3);
        char *where = pf_site_stack(e[i].v, " < ", 3);
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i + 1);
        pf_table_row(&t, idx, pf_text_bytes(pf_json_num(e[i].v, field)),
                     pf_text_count(round(pf_json_num(e[i].v, PF_KEY_ALLOCATIONS))),
                     pf_text_bytes(pf_json_num(e[i].v, other)), where);
        free(where);
    }
    pf_table_print(out, &t);
}

static void top_sites(FILE *out, json_t *r, size_t top)
{
    json_t *sites = json_object_get(json_object_get(r, PF_KEY_HEAP), PF_KEY_SITES);
    size_t n = json_array_size(sites);
    if (!n) {
        fprintf(out, "\n  call sites: none in this report (PFERRIS_SAMPLE=0, or sampling was not "
                     "available)\n");
        return;
    }
    pf_entry_t *e = calloc(n, sizeof *e);
    if (!e)
        return;
    top_sites_table(out, sites, e, n, top, 0);
    top_sites_table(out, sites, e, n, top, 1);
    free(e);
}

/* ---- the text summary ------------------------------------------------------------------- */

/* Self time by name over the whole tree (a name may sit at several paths), and the sum. */
static void self_by_name(json_t *nodes, json_t *acc, double *sum, int depth)
{
    size_t i;
    json_t *n;
    if (depth > 4096)
        return;
    json_array_foreach(nodes, i, n)
    {
        const char *name = pf_json_str(n, PF_KEY_NAME, "?");
        double s = pf_json_num0(n, PF_KEY_SELF);
        *sum += s;
        json_t *cur = json_object_get(acc, name);
        double was = pf_json_numv(cur);
        json_object_set_new(acc, name, json_real(was == was && cur ? was + s : s));
        self_by_name(json_object_get(n, PF_KEY_CHILDREN), acc, sum, depth + 1);
    }
}

static void print_command(FILE *out, json_t *r)
{
    json_t *cmd = json_object_get(r, PF_KEY_COMMAND);
    if (!json_array_size(cmd))
        return;
    fputs("  command     ", out);
    size_t i;
    json_t *w;
    json_array_foreach(cmd, i, w)
    {
        char *c = pf_text_cell(json_string_value(w));
        fprintf(out, "%s%s", i ? " " : "", c ? c : "");
        free(c);
    }
    fputc('\n', out);
}

/* The process line (or the merged report's count), and the elapsed time with its threads. */
static void print_process(FILE *out, json_t *r)
{
    json_t *procs = json_object_get(r, PF_KEY_PROCESSES);
    if (json_is_array(procs)) {
        json_t *hosts = json_object_get(json_object_get(r, PF_KEY_MERGED), PF_KEY_HOSTS);
        size_t nh = json_array_size(hosts);
        fprintf(out, "  merged      %zu processes on %zu host%s\n", json_array_size(procs), nh,
                nh == 1 ? "" : "s");
    } else {
        fprintf(out, "  process     pid %s", pf_text_count(pf_json_num(r, PF_KEY_PID)));
        if (json_is_integer(json_object_get(r, PF_KEY_RANK)))
            fprintf(out, ", rank %s", pf_text_count(pf_json_num(r, PF_KEY_RANK)));
        char *h = pf_text_cell(pf_json_str(r, PF_KEY_HOSTNAME, NULL));
        if (h && *h)
            fprintf(out, ", host %s", h);
        free(h);
        char *st = pf_text_cell(pf_json_str(r, PF_KEY_START_TIME, NULL));
        if (st && *st)
            fprintf(out, ", started %s", st);
        free(st);
        fputc('\n', out);
    }
    json_t *threads = json_object_get(r, PF_KEY_THREADS);
    json_t *workers = json_object_get(r, PF_KEY_WORKERS);
    fprintf(out, "  elapsed     %s", pf_text_sec(pf_json_num(r, PF_KEY_TOTAL_ELAPSED)));
    if (json_is_array(threads))
        fprintf(out, "; %s threads, at most %s at once",
                pf_text_count((double)pf_json_threads_total(r)),
                pf_text_count(pf_json_num(workers, PF_KEY_MAX_CONCURRENT_THREADS)));
    if (json_is_integer(json_object_get(workers, PF_KEY_REQUESTED)))
        fprintf(out, "; %s workers requested",
                pf_text_count(pf_json_num(workers, PF_KEY_REQUESTED)));
    fputc('\n', out);
}

/* How the process ended (the report's "exit"), right under the process line. */
static void print_exit(FILE *out, json_t *r)
{
    json_t *e = json_object_get(r, PF_KEY_EXIT);
    const char *how = pf_json_str(e, PF_KEY_HOW, NULL);
    if (!how)
        return;
    const char *name = pf_json_str(e, PF_KEY_SIGNAL_NAME, "signal");
    double sig = pf_json_num(e, PF_KEY_SIGNAL);
    if (strcmp(how, PF_EXIT_HOW_EXIT) == 0 && json_is_integer(json_object_get(e, PF_KEY_CODE)))
        fprintf(out, "  ended       exit code %s\n", pf_text_count(pf_json_num(e, PF_KEY_CODE)));
    else if (strcmp(how, PF_EXIT_HOW_EXIT) == 0)
        fprintf(out, "  ended       exit\n");
    else if (strcmp(how, PF_EXIT_HOW_SIGNAL) == 0)
        fprintf(out, "  ended       killed by %s (%s)\n", name, pf_text_count(sig));
    else if (strcmp(how, PF_EXIT_HOW_CRASH) == 0) {
        json_t *f = json_array_get(json_object_get(e, PF_KEY_FRAMES), 0);
        fprintf(out, "  ended       crashed: %s (%s)", name, pf_text_count(sig));
        if (f)
            fprintf(out, " in %s (%s+0x%llx)", pf_json_str(f, PF_KEY_SYMBOL, "??"),
                    pf_json_str(f, PF_KEY_MODULE, "??"),
                    (unsigned long long)pf_json_num(f, PF_KEY_OFFSET));
        fprintf(out, "; a best-effort report: the figures of the crash moment\n");
    } else if (strcmp(how, PF_EXIT_HOW_CHECKPOINT) == 0)
        fprintf(out, "  ended       unknown: the last checkpoint, never replaced (killed by "
                     "SIGKILL or the OOM killer, or still running)\n");
    else
        fprintf(out, "  ended       %s\n", how);
}

/* The seed's "bottleneck identification": where the timed time goes itself. self holds the
 * self time by name, self_sum their sum. */
static void print_bottleneck(FILE *out, json_t *r, json_t *self, double self_sum, int waits)
{
    size_t ns = 0;
    pf_entry_t *se = pf_json_sorted_object(self, NULL, &ns);
    if (ns && self_sum > 0 && se[0].value > 0) {
        char *bn = pf_text_cell(se[0].name);
        fprintf(out, "  bottleneck  \"%s\": %.1f%% of all timed time is spent in it (%s of %s)\n",
                bn ? bn : "?", 100 * se[0].value / self_sum, pf_text_sec(se[0].value),
                pf_text_sec(self_sum));
        free(bn);
    } else if (!waits && !json_object_size(json_object_get(r, PF_KEY_TIMING_STATS))) {
        double share = 0, sec = 0;
        char *hot = pf_summary_cpu_hottest(r, &share, &sec);
        char *bn = hot ? pf_text_cell(hot) : NULL;
        if (bn)
            fprintf(out, "  bottleneck  %s: %.1f%% of the sampled CPU time is spent in it (%s)\n",
                    bn, share, pf_text_sec(sec));
        else
            fputs("  bottleneck  no timers and no CPU samples: add PFERRIS_SCOPE / "
                  "PFERRIS_TIMER_START markers to see where the time goes\n",
                  out);
        free(bn);
        free(hot);
    }
    free(se);
}

static void print_timers(FILE *out, json_t *r, json_t *self, double self_sum)
{
    size_t n;
    pf_entry_t *e =
        pf_json_sorted_object(json_object_get(r, PF_KEY_TIMING_STATS), PF_KEY_TOTAL, &n);
    if (n) {
        fputc('\n', out);
        pf_table_t t;
        pf_table_init(&t, "lrrrrrrr", "timer", "count", "total", "self", "mean", "min", "max",
                      "% self");
        for (size_t i = 0; i < n; i++) {
            json_t *s = e[i].v;
            double sf = pf_json_numv(json_object_get(self, e[i].name));
            pf_table_row(&t, e[i].name, pf_text_count(pf_json_num(s, PF_KEY_COUNT)),
                         pf_text_sec(pf_json_num(s, PF_KEY_TOTAL)), pf_text_sec(sf),
                         pf_text_sec(pf_json_num(s, PF_KEY_MEAN)),
                         pf_text_sec(pf_json_num(s, PF_KEY_MIN)),
                         pf_text_sec(pf_json_num(s, PF_KEY_MAX)),
                         self_sum > 0 && isfinite(sf) ? pf_text_pct(100 * sf / self_sum) + 1
                                                      : "-");
        }
        pf_table_print(out, &t);
    }
    free(e);
}

static void print_counters_and_memory(FILE *out, json_t *r)
{
    double el = pf_json_num(r, PF_KEY_TOTAL_ELAPSED);
    size_t n;
    pf_entry_t *e = pf_json_sorted_object(json_object_get(r, PF_KEY_COUNTERS), NULL, &n);
    if (n) {
        fputc('\n', out);
        pf_table_t t;
        pf_table_init(&t, "lrr", "counter", "value", "per second");
        for (size_t i = 0; i < n; i++) {
            char *ps = pf_text_buffer();
            snprintf(ps, PF_TEXT_SIZE, el > 0 ? "%.1f" : "-", e[i].value / el);
            pf_table_row(&t, e[i].name, pf_text_count(e[i].value), ps);
        }
        pf_table_print(out, &t);
    }
    free(e);

    e = pf_json_sorted_object(json_object_get(r, PF_KEY_MEMORY_STATS), PF_KEY_PEAK, &n);
    if (n) {
        fputc('\n', out);
        pf_table_t t;
        pf_table_init(&t, "lrr", "memory record", "last", "peak");
        for (size_t i = 0; i < n; i++)
            pf_table_row(&t, e[i].name, pf_text_bytes(pf_json_num(e[i].v, PF_KEY_LAST)),
                         pf_text_bytes(pf_json_num(e[i].v, PF_KEY_PEAK)));
        pf_table_print(out, &t);
    }
    free(e);
}

static void print_heap(FILE *out, json_t *r, size_t top)
{
    json_t *heap = json_object_get(r, PF_KEY_HEAP);
    if (json_is_object(heap) && !json_is_false(json_object_get(heap, PF_KEY_ENABLED))) {
        fprintf(out, "\n  heap        %s allocations (%s), %s frees; peak %s, live at exit %s\n",
                pf_text_count(pf_json_num(heap, PF_KEY_ALLOCATIONS)),
                pf_text_bytes(pf_json_num(heap, PF_KEY_BYTES_ALLOCATED)),
                pf_text_count(pf_json_num(heap, PF_KEY_FREES)),
                pf_text_bytes(pf_json_num(heap, PF_KEY_PEAK_BYTES)),
                pf_text_bytes(pf_json_num(heap, PF_KEY_LIVE_BYTES)));
        top_sites(out, r, top);
    } else if (json_is_object(heap)) {
        fputs("\n  heap        not tracked (PFERRIS_HEAP=0)\n", out);
    }
}

/* One thread's row; a merged report's threads carry their process's pid. */
static void thread_row(pf_table_t *t, json_t *th, int merged)
{
    const char *name = pf_json_str(th, PF_KEY_NAME, "?");
    int rest = json_object_get(th, PF_KEY_OTHER_THREADS) != NULL; /* no one thread: no tid */
    const char *tid = rest ? "-" : pf_text_count(pf_json_num(th, PF_KEY_TID));
    const char *start = pf_text_sec(pf_json_num(th, PF_KEY_START));
    const char *end = pf_text_sec(pf_json_num(th, PF_KEY_END));
    const char *cpu = pf_text_sec(pf_json_num(th, PF_KEY_CPU_TIME));
    const char *wait = pf_text_sec(pf_json_num(th, PF_KEY_WAIT_SECONDS)); /* "-" when absent */
    const char *allocs = pf_text_count(pf_json_num(th, PF_KEY_ALLOCATIONS));
    const char *bytes = pf_text_bytes(pf_json_num(th, PF_KEY_BYTES_ALLOCATED));
    if (merged)
        pf_table_row(t, name, pf_text_count(pf_json_num(th, PF_KEY_PID)), tid, start, end, cpu,
                     wait, allocs, bytes);
    else
        pf_table_row(t, name, tid, start, end, cpu, wait, allocs, bytes);
}

/* The 32 threads with the most CPU time, then the report's row for the threads it does not
 * list (other_threads), if any: it stands for many threads, so it is never ranked with them. */
static void print_threads(FILE *out, json_t *r)
{
    json_t *threads = json_object_get(r, PF_KEY_THREADS);
    size_t all = json_array_size(threads), nt = 0;
    if (!all)
        return;
    pf_entry_t *te = calloc(all, sizeof *te);
    if (!te)
        return;
    json_t *rest = NULL;
    for (size_t i = 0; i < all; i++) {
        json_t *th = json_array_get(threads, i);
        if (json_object_get(th, PF_KEY_OTHER_THREADS) && !rest)
            rest = th;
        else
            te[nt++] = (pf_entry_t){"", pf_json_num(th, PF_KEY_CPU_TIME), th};
    }
    qsort(te, nt, sizeof *te, pf_json_by_value_desc);
    fputc('\n', out);
    pf_table_t t;
    int merged = json_is_array(json_object_get(r, PF_KEY_PROCESSES));
    pf_table_init(&t, merged ? "lrrrrrrrr" : "lrrrrrrr", "thread", merged ? "pid" : "tid",
                  merged ? "tid" : "start", merged ? "start" : "end", merged ? "end" : "cpu",
                  merged ? "cpu" : "waiting", merged ? "waiting" : "allocs",
                  merged ? "allocs" : "allocated", "allocated");
    for (size_t i = 0; i < nt && i < 32; i++)
        thread_row(&t, te[i].v, merged);
    if (rest)
        thread_row(&t, rest, merged);
    pf_table_print(out, &t);
    if (nt > 32)
        fprintf(out, "  ... and %zu more threads listed (by CPU time)%s\n", nt - 32,
                rest ? "; the last row sums the threads the report does not list" : "");
    free(te);
}

/* A merged report's processes, one row each. */
static void print_processes(FILE *out, json_t *r)
{
    json_t *procs = json_object_get(r, PF_KEY_PROCESSES);
    if (!json_is_array(procs) || !json_array_size(procs))
        return;
    fputc('\n', out);
    pf_table_t t;
    pf_table_init(&t, "rrlrrrl", "rank", "pid", "host", "elapsed", "heap peak", "timed", "file");
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p)
    {
        double timed = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p, PF_KEY_TIMINGS), k, v)
            timed += pf_json_num0(v, NULL);
        (void)k;
        int ranked = json_is_integer(json_object_get(p, PF_KEY_RANK));
        pf_table_row(&t, ranked ? pf_text_count(pf_json_num(p, PF_KEY_RANK)) : "-",
                     pf_text_count(pf_json_num(p, PF_KEY_PID)),
                     pf_json_str(p, PF_KEY_HOSTNAME, "?"),
                     pf_text_sec(pf_json_num(p, PF_KEY_TOTAL_ELAPSED)),
                     pf_text_bytes(pf_json_num(json_object_get(p, PF_KEY_HEAP), PF_KEY_PEAK_BYTES)),
                     pf_text_sec(timed), pf_json_str(p, PF_KEY_FILE, ""));
    }
    pf_table_print(out, &t);
}

static void print_dropped(FILE *out, json_t *r)
{
    json_t *dropped = json_object_get(r, PF_KEY_DROPPED);
    json_t *tl_dropped = json_object_get(json_object_get(r, PF_KEY_TIMELINE), PF_KEY_DROPPED);
    double dt = pf_json_num0(dropped, PF_KEY_TIMER_STARTS);
    double dn = pf_json_num0(dropped, PF_KEY_NAMES);
    double di = pf_json_num0(tl_dropped, PF_KEY_INTERVALS);
    if (dt > 0 || dn > 0 || di > 0)
        fprintf(out,
                "\n  note        not everything fit: %s timer starts, %s names, %s timeline "
                "intervals dropped\n",
                pf_text_count(dt), pf_text_count(dn), pf_text_count(di));
}

void pf_summary_print(FILE *out, const char *file, json_t *r, size_t top)
{
    fprintf(out, "pferris report: %s\n", file);
    print_command(out, r);
    print_process(out, r);
    print_exit(out, r);
    json_t *self = json_object();
    double self_sum = 0;
    self_by_name(json_object_get(r, PF_KEY_TIMING_TREE), self, &self_sum, 0);
    print_bottleneck(out, r, self, self_sum, pf_summary_wait_bottleneck(out, r));
    print_timers(out, r, self, self_sum);
    json_decref(self);
    pf_summary_cpu(out, r, top);
    print_counters_and_memory(out, r);
    print_heap(out, r, top);
    pf_summary_waits(out, r, top);
    print_threads(out, r);
    print_processes(out, r);
    print_dropped(out, r);
    fputc('\n', out);
}
