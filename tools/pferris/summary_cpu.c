/* summary_cpu.c — the summary's "where the CPU time goes": functions by self and total share
 * of the sampled CPU time, the heaviest stacks, and the hottest function for the bottleneck line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

/* Adds v to acc[name]. */
static void add_to(json_t *acc, const char *name, double v)
{
    double was = pf_json_numv(json_object_get(acc, name));
    json_object_set_new(acc, name, json_real(isfinite(was) ? was + v : v));
}

/* Samples by function: self (the innermost frame) and total (anywhere in the stack, once per
 * stack however often it recurs). */
static void cpu_by_function(json_t *sites, json_t *self, json_t *total)
{
    size_t i;
    json_t *s;
    json_array_foreach(sites, i, s)
    {
        double n = pf_json_num0(s, PF_KEY_SAMPLES);
        json_t *frames = json_object_get(s, PF_KEY_FRAMES), *seen = json_object();
        size_t k;
        json_t *f;
        json_array_foreach(frames, k, f)
        {
            char name[512];
            pf_site_frame_text(f, name, sizeof name);
            if (k == 0)
                add_to(self, name, n);
            if (!json_object_get(seen, name)) {
                json_object_set_new(seen, name, json_true());
                add_to(total, name, n);
            }
        }
        json_decref(seen);
    }
}

/* The function with the most self samples, or NULL; *share its share of every sample. */
char *pf_summary_cpu_hottest(json_t *r, double *share, double *sec)
{
    json_t *cpu = json_object_get(r, PF_KEY_CPU);
    double all = pf_json_num0(cpu, PF_KEY_SAMPLES);
    json_t *self = json_object(), *total = json_object();
    cpu_by_function(json_object_get(cpu, PF_KEY_SITES), self, total);
    size_t n;
    pf_entry_t *e = pf_json_sorted_object(self, NULL, &n);
    char *name = NULL;
    if (n && all > 0 && e[0].value > 0) {
        name = strdup(e[0].name);
        *share = 100 * e[0].value / all;
        *sec = pf_json_num0(cpu, PF_KEY_SECONDS) * e[0].value / all;
    }
    free(e);
    json_decref(self);
    json_decref(total);
    return name;
}

/* The heaviest stacks as shown (four frames, innermost first): stacks that differ only in
 * frames or addresses the table does not show are one row. */
static void print_cpu_stacks(FILE *out, json_t *sites, double all, double seconds, size_t top)
{
    json_t *shown = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(sites, i, s)
    {
        if (i < 4 * top)
            pf_summary_annotate(s, 1);
        char *where = pf_site_stack(s, " < ", 4);
        if (where)
            add_to(shown, where, pf_json_num0(s, PF_KEY_SAMPLES));
        free(where);
    }
    size_t n;
    pf_entry_t *e = pf_json_sorted_object(shown, NULL, &n);
    fputs("\n  heaviest CPU stacks\n", out);
    pf_table_t t;
    pf_table_init(&t, "rrrl", "#", "cpu", "%", "stack (innermost first)");
    for (i = 0; i < n && i < top; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i + 1);
        pf_table_row(&t, idx, pf_text_sec(seconds * e[i].value / all),
                     pf_text_pct(100 * e[i].value / all) + 1, e[i].name);
    }
    pf_table_print(out, &t);
    free(e);
    json_decref(shown);
}

void pf_summary_cpu(FILE *out, json_t *r, size_t top)
{
    json_t *cpu = json_object_get(r, PF_KEY_CPU);
    if (!json_is_object(cpu))
        return;
    const char *why = pf_json_str(cpu, PF_KEY_INACTIVE_REASON, NULL);
    double all = pf_json_num0(cpu, PF_KEY_SAMPLES);
    if (why) {
        char *w = pf_text_cell(why);
        if (strncmp(why, "PFERRIS_CPU_HZ=0", 16) == 0)
            fprintf(out, "\n  cpu         not sampled (%s)\n", w ? w : "");
        else
            fprintf(out, "\n  cpu         not sampled: pferris stood down (%s)\n", w ? w : "");
        free(w);
        return;
    }
    if (!(all > 0))
        return;
    fprintf(out, "\n  cpu         %s samples at %s Hz of each thread's CPU time: %s of CPU\n",
            pf_text_count(all), pf_text_count(pf_json_num(cpu, PF_KEY_HZ)),
            pf_text_sec(pf_json_num(cpu, PF_KEY_SECONDS)));
    json_t *self = json_object(), *total = json_object();
    json_t *sites = json_object_get(cpu, PF_KEY_SITES);
    cpu_by_function(sites, self, total);
    size_t ns, nt;
    pf_entry_t *es = pf_json_sorted_object(self, NULL, &ns);
    pf_entry_t *et = pf_json_sorted_object(total, NULL, &nt);
    fputs("\n  where the CPU time goes: functions by self time (the innermost frame)\n", out);
    pf_table_t t;
    pf_table_init(&t, "rrrl", "self", "% self", "% total", "function");
    for (size_t i = 0; i < ns && i < top * 2; i++) {
        double tot = pf_json_num0(total, es[i].name);
        pf_table_row(&t, pf_text_sec(pf_json_num0(cpu, PF_KEY_SECONDS) * es[i].value / all),
                     pf_text_pct(100 * es[i].value / all) + 1, pf_text_pct(100 * tot / all) + 1,
                     es[i].name);
    }
    pf_table_print(out, &t);
    fputs("\n  functions by total time (self and what they call)\n", out);
    pf_table_init(&t, "rrl", "total", "% total", "function");
    for (size_t i = 0; i < nt && i < top * 2; i++)
        pf_table_row(&t, pf_text_sec(pf_json_num0(cpu, PF_KEY_SECONDS) * et[i].value / all),
                     pf_text_pct(100 * et[i].value / all) + 1, et[i].name);
    pf_table_print(out, &t);
    print_cpu_stacks(out, sites, all, pf_json_num0(cpu, PF_KEY_SECONDS), top);
    if (pf_json_num0(cpu, PF_KEY_DROPPED) > 0)
        fprintf(out, "  %s samples lost their stack (the table of stacks was full): shown as [other]\n",
                pf_text_count(pf_json_num0(cpu, PF_KEY_DROPPED)));
    free(es);
    free(et);
    json_decref(self);
    json_decref(total);
}

