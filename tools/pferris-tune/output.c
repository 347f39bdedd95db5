/* output.c — what pferris-tune shows and writes: the header and the table on stdout, the JSON
 * result (--json), one CSV row per trial (--csv) and the SVG plot (--plot). The result's own
 * keys (optimal_workers, best_throughput, ...) are the tuner's, not a pferris report's. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/source.h"
#include "common/svg.h"
#include "report/jstr.h"
#include "tune.h"

const char *pf_output_unit(const pf_options_t *opt)
{
    static char buf[128];
    if (opt->metric == PF_TUNE_METRIC_WALL)
        return "runs/s";
    snprintf(buf, sizeof buf, "%s/s", opt->counter);
    return buf;
}

char *pf_output_metric_name(const pf_options_t *opt)
{
    return opt->metric == PF_TUNE_METRIC_WALL ? pf_tune_xstrdup("wall")
                                              : pf_tune_format("counter:%s", opt->counter);
}

/* A throughput for people: whole numbers from 1000 up, else 4 significant digits. */
static const char *num(double v, char *buf, size_t size)
{
    snprintf(buf, size, fabs(v) >= 1000 ? "%.0f" : "%.4g", v);
    return buf;
}

/* Worker counts with at least one trial. */
static int tested_counts(const pf_tune_t *t)
{
    int tested = 0;
    for (int i = 0; i < t->ncounts; i++)
        tested += t->counts[i].runs > 0;
    return tested;
}

/* ---- stdout ------------------------------------------------------------------------------- */

void pf_output_header(const pf_tune_t *t)
{
    const pf_options_t *opt = &t->opt;
    printf("pferris-tune: %s", opt->prog[0]);
    for (int i = 1; i < opt->nprog; i++)
        printf(" %s", opt->prog[i]);
    char *mn = pf_output_metric_name(opt);
    printf("\n  metric %s (%s), workers %d..%d\n", mn, pf_output_unit(opt), opt->min, opt->max);
    free(mn);
    fflush(stdout);
}

/* The share of thread time the count's trials spent blocked on locks; NAN without reports. */
static double wait_share(const pf_tune_count_t *c)
{
    return c->life_s > 0 ? c->wait_s / c->life_s : NAN;
}

/* "the mutex taken in queue_pop (app.c:88)" from a pf_trial_t lock_where, into out[n]. */
static void lock_text(const char *where, char *out, size_t n)
{
    char kind[32] = "lock", mod[4096] = "", sym[256] = "";
    long long off = -1;
    const char *p = where, *tab;
    char *fields[] = {kind, mod, NULL, sym};
    size_t sizes[] = {sizeof kind, sizeof mod, 0, sizeof sym};
    for (int f = 0; f < 4 && p; f++) {
        tab = strchr(p, '\t');
        size_t len = tab ? (size_t)(tab - p) : strlen(p);
        if (f == 2)
            off = strtoll(p, NULL, 10);
        else if (len < sizes[f] && len)
            memcpy(fields[f], p, len), fields[f][len] = '\0';
        p = tab ? tab + 1 : NULL;
    }
    char line[512];
    if (!sym[0] || !strcmp(sym, "??"))
        snprintf(sym, sizeof sym, "an unnamed function");
    if (mod[0] == '/' && off >= 0 && pf_source_line(mod, (unsigned long long)off, line, sizeof line) == 0)
        snprintf(out, n, "the %s taken in %s (%s)", kind, sym, line);
    else
        snprintf(out, n, "the %s taken in %s", kind, sym);
}

/* One line when throughput stops growing while waiting grows: from the first count whose
 * median is not 5% above the previous count's while its threads wait 5 points more. */
static void wait_stall(const pf_tune_t *t)
{
    const pf_stats_summary_t *sum = t->summary;
    int prev = -1;
    for (int i = 0; i < t->ncounts; i++) {
        const pf_tune_count_t *c = &t->counts[i];
        if (c->n == 0 || !(c->life_s > 0))
            continue;
        if (prev >= 0 && !(sum[i].median > 1.05 * sum[prev].median) &&
            wait_share(c) > wait_share(&t->counts[prev]) + 0.05) {
            if (c->lock_where[0]) {
                char where[1024];
                lock_text(c->lock_where, where, sizeof where);
                printf("from %d workers on, threads wait %.0f%% of their time on %s\n", c->workers,
                       100.0 * c->lock_wait_s / c->life_s, where);
            } else {
                printf("from %d workers on, threads wait %.0f%% of their time on locks\n",
                       c->workers, 100.0 * wait_share(c));
            }
            return;
        }
        prev = i;
    }
}

void pf_output_table(const pf_tune_t *t, const pf_stats_choice_t *ch)
{
    const pf_stats_summary_t *sum = t->summary;
    printf("%8s %7s %12s %9s %8s %8s\n", "workers", "trials", "median", "spread", "threads",
           "waiting");
    for (int i = 0; i < t->ncounts; i++) {
        const pf_tune_count_t *c = &t->counts[i];
        if (c->runs == 0)
            continue;
        char med[32] = "-", spr[32] = "-", thr[16] = "-", wait[16] = "-";
        if (c->n > 0)
            num(sum[i].median, med, sizeof med);
        if (c->n >= 2 && sum[i].median > 0)
            snprintf(spr, sizeof spr, "±%.1f%%", 100.0 * sum[i].spread / sum[i].median);
        int threads = pf_tune_count_threads(c);
        if (threads >= 0)
            snprintf(thr, sizeof thr, "%d", threads);
        if (c->life_s > 0)
            snprintf(wait, sizeof wait, "%.1f%%", 100.0 * wait_share(c));
        const char *mark = i == ch->chosen ? "  <- chosen"
                           : i == ch->best  ? "  (highest median)"
                           : c->failed      ? "  failed"
                                            : "";
        printf("%8d %7d %12s %9s %8s %8s%s\n", c->workers, c->runs, med, spr, thr, wait, mark);
    }
    wait_stall(t);
}

/* The one-line answer under the table. */
void pf_output_answer(const pf_tune_t *t, const pf_stats_choice_t *ch, double elapsed)
{
    char nb[32];
    printf("optimal_workers: %d (%s %s); %d of %d counts tried in %d trials, %.1f s\n",
           t->counts[ch->chosen].workers, num(t->summary[ch->chosen].median, nb, sizeof nb),
           pf_output_unit(&t->opt), tested_counts(t), t->ncounts, t->trials_done, elapsed);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* Opens --csv and writes its header. 0, or -errno. */
int pf_output_csv_open(pf_tune_t *t)
{
    t->csv = fopen(t->opt.csv, "w");
    if (!t->csv)
        return -errno;
    fprintf(t->csv, "trial,round,workers,status,exit_code,throughput,seconds,threads\n");
    return 0;
}

void pf_output_csv_row(pf_tune_t *t, int round, int workers, const pf_trial_t *r)
{
    FILE *f = t->csv;
    if (!f)
        return;
    fprintf(f, "%d,%d,%d,%s,", t->trials_done, round, workers, r->ok ? "ok" : "failed");
    if (r->has_code)
        fprintf(f, "%d", r->code);
    fprintf(f, ",");
    if (r->ok)
        fprintf(f, "%.6g", r->value);
    fprintf(f, ",%.6f,", r->seconds);
    if (r->threads >= 0)
        fprintf(f, "%d", r->threads);
    fprintf(f, "\n");
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void json_num(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, isfinite(v) ? json_real(v) : json_null());
}

/* The results entry of count i. */
static json_t *count_json(const pf_tune_t *t, int i, const pf_stats_choice_t *ch)
{
    const pf_tune_count_t *c = &t->counts[i];
    const pf_stats_summary_t *sum = t->summary;
    json_t *e = json_object();
    json_object_set_new(e, "workers", json_integer(c->workers));
    json_object_set_new(e, "runs", json_integer(c->runs));
    json_object_set_new(e, "failed", json_integer(c->failed));
    json_num(e, "median", sum[i].median);
    json_num(e, "spread", c->n >= 2 ? sum[i].spread : NAN);
    json_num(e, "min", sum[i].min);
    json_num(e, "max", sum[i].max);
    json_t *s = json_array(), *codes = json_array(), *th = json_array();
    for (int j = 0; j < c->n; j++)
        json_array_append_new(s, json_real(c->samples[j]));
    for (int j = 0; j < c->ntr; j++) {
        json_array_append_new(codes, c->codes[j] == INT_MIN ? json_null()
                                                            : json_integer(c->codes[j]));
        json_array_append_new(th, c->threads[j] < 0 ? json_null()
                                                    : json_integer(c->threads[j]));
    }
    json_object_set_new(e, "samples", s);
    json_object_set_new(e, "exit_codes", codes);
    json_object_set_new(e, "threads_observed", th);
    json_object_set_new(e, "eligible", json_boolean(sum[i].eligible));
    json_num(e, "wait_share", wait_share(c));
    if (c->n > 0 && ch->best >= 0 && i != ch->best) {
        json_num(e, "p_within_margin", sum[i].p_within);
        json_num(e, "p_below_best", sum[i].p_below);
    }
    return e;
}

/* What was measured, and how: the metric, the command, the range, the trials. */
static void settings_json(json_t *o, const pf_tune_t *t)
{
    const pf_options_t *opt = &t->opt;
    json_object_set_new(o, "metric",
                        json_string(opt->metric == PF_TUNE_METRIC_WALL ? "wall" : "counter"));
    char *mn = pf_output_metric_name(opt);
    json_object_set_new(o, "metric_spec", json_string(mn));
    free(mn);
    json_object_set_new(o, "unit", json_string(pf_output_unit(opt)));
    json_t *cmd = json_array();
    for (int i = 0; i < opt->nprog; i++)
        json_array_append_new(cmd, pf_jstr(opt->prog[i]));
    json_object_set_new(o, "command", cmd);
    json_object_set_new(o, "min_workers", json_integer(opt->min));
    json_object_set_new(o, "max_workers", json_integer(opt->max));
    json_object_set_new(o, "trials", json_integer(t->trials_done));
}

static json_t *result_json(const pf_tune_t *t, const pf_stats_choice_t *ch,
                           const pf_stats_params_t *par, int ignored, double elapsed)
{
    json_t *o = json_object();
    if (ch->chosen >= 0) {
        json_object_set_new(o, "optimal_workers", json_integer(t->counts[ch->chosen].workers));
        json_num(o, "best_throughput", t->summary[ch->chosen].median);
    } else {
        json_object_set_new(o, "optimal_workers", json_null());
        json_object_set_new(o, "best_throughput", json_null());
    }
    json_object_set_new(o, "tested_workers", json_integer(tested_counts(t)));
    json_t *res = json_array();
    for (int i = 0; i < t->ncounts; i++)
        if (t->counts[i].runs > 0)
            json_array_append_new(res, count_json(t, i, ch));
    json_object_set_new(o, "results", res);
    settings_json(o, t);
    json_num(o, "elapsed", elapsed);
    json_object_set_new(o, "flat", json_boolean(ch->flat));
    json_object_set_new(o, "ignored_workers", json_boolean(ignored));
    if (ch->best >= 0)
        json_object_set_new(o, "fastest_workers", json_integer(t->counts[ch->best].workers));
    json_t *test = json_object();
    json_object_set_new(test, "name",
                        json_string("knee: not shown below the best by more than the margin (one-sided exact Mann-Whitney U, or medians beyond 2 standard errors)"));
    json_num(test, "alpha", par->alpha);
    json_num(test, "tolerance", par->tolerance);
    json_num(test, "margin", par->margin);
    json_object_set_new(o, "test", test);
    return o;
}

/* Writes the result object to path. 0, or -1 when it could not be written. */
int pf_output_json(const pf_tune_t *t, const char *path, const pf_stats_choice_t *ch,
                   const pf_stats_params_t *par, int ignored, double elapsed)
{
    json_t *res = result_json(t, ch, par, ignored, elapsed);
    int rc = json_dump_file(res, path, JSON_INDENT(2)) != 0 ? -1 : 0;
    json_decref(res);
    return rc;
}

/* ---- the plot ----------------------------------------------------------------------------- */

/* The plot's geometry: the page, its margins (left, right, top, bottom), the plot area, and the
 * data ranges mapped onto it. */
typedef struct {
    double W, H, L, R, T, B;
    double pw, ph;        /* plot area */
    double x0, x1;        /* worker axis: min - 0.5 .. max + 0.5 */
    double ytop, ystep;   /* throughput axis: 0 .. ytop in ticks of ystep */
} plot_t;

static double px(const plot_t *g, double w)
{
    return g->L + (w - g->x0) / (g->x1 - g->x0) * g->pw;
}

static double py(const plot_t *g, double v)
{
    return g->T + g->ph - v / g->ytop * g->ph;
}

static void plot_geometry(const pf_tune_t *t, plot_t *g)
{
    const pf_stats_summary_t *sum = t->summary;
    g->W = 760, g->H = 460, g->L = 80, g->R = 30, g->T = 56, g->B = 64;
    g->pw = g->W - g->L - g->R, g->ph = g->H - g->T - g->B;
    double ymax = 0;
    for (int i = 0; i < t->ncounts; i++)
        if (t->counts[i].n > 0)
            ymax = fmax(ymax, fmax(sum[i].max, sum[i].median + sum[i].spread));
    if (!(ymax > 0))
        ymax = 1;
    g->ystep = pf_svg_nice_step(ymax * 1.08, 5);
    g->ytop = ceil(ymax * 1.08 / g->ystep) * g->ystep;
    g->x0 = t->opt.min - 0.5, g->x1 = t->opt.max + 0.5;
}

/* The svg element, the background, the title (the command) and the subtitle (the metric). */
static void plot_heading(FILE *f, const pf_tune_t *t, const plot_t *g)
{
    const pf_options_t *opt = &t->opt;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
               "viewBox=\"0 0 %g %g\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"13\">\n", g->W, g->H, g->W, g->H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%g\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Throughput by "
               "worker count: ", g->L);
    for (int i = 0; i < opt->nprog && i < 4; i++) {
        const char *base = strrchr(opt->prog[0], '/');
        pf_svg_text(f, i == 0 ? (base ? base + 1 : opt->prog[0]) : opt->prog[i]);
        fputc(' ', f);
    }
    if (opt->nprog > 4)
        fputs("...", f);
    fprintf(f, "</text>\n");
    char *mn = pf_output_metric_name(opt);
    fprintf(f, "<text x=\"%g\" y=\"42\" fill=\"#555\">metric ", g->L);
    pf_svg_text(f, mn);
    fprintf(f, " · median of repeated trials, band ±1.4826·MAD, whiskers min–max</text>\n");
    free(mn);
}

static void plot_axes(FILE *f, const pf_tune_t *t, const plot_t *g)
{
    const pf_options_t *opt = &t->opt;
    for (double v = 0; v <= g->ytop + g->ystep / 2; v += g->ystep) {
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                g->L, py(g, v), g->L + g->pw, py(g, v));
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%g</text>\n",
                g->L - 8, py(g, v) + 4, v);
    }
    int xstep = (opt->max - opt->min) > 24 ? (int)ceil((opt->max - opt->min) / 16.0) : 1;
    for (int w = opt->min; w <= opt->max; w += xstep) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#333\"/>\n",
                px(g, w), g->T + g->ph, px(g, w), g->T + g->ph + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" fill=\"#333\">%d</text>\n",
                px(g, w), g->T + g->ph + 20, w);
    }
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n", g->L,
            g->T + g->ph, g->L + g->pw, g->T + g->ph);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n", g->L, g->T,
            g->L, g->T + g->ph);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">workers</text>\n",
            g->L + g->pw / 2, g->H - 18);
    fprintf(f, "<text transform=\"translate(20 %g) rotate(-90)\" text-anchor=\"middle\">"
               "throughput (", g->T + g->ph / 2);
    pf_svg_text(f, pf_output_unit(opt));
    fprintf(f, ")</text>\n");
}

/* The spread band (median ± spread, clipped at 0), and the min-max whiskers. */
static void plot_spread(FILE *f, const pf_tune_t *t, const plot_t *g)
{
    const pf_tune_count_t *c = t->counts;
    const pf_stats_summary_t *sum = t->summary;
    int first = 1;
    fprintf(f, "<path fill=\"#1f77b4\" fill-opacity=\"0.18\" stroke=\"none\" d=\"");
    for (int i = 0; i < t->ncounts; i++)
        if (c[i].n > 0) {
            fprintf(f, "%s%.1f %.1f ", first ? "M" : "L", px(g, c[i].workers),
                    py(g, sum[i].median + sum[i].spread));
            first = 0;
        }
    for (int i = t->ncounts - 1; i >= 0; i--)
        if (c[i].n > 0)
            fprintf(f, "L%.1f %.1f ", px(g, c[i].workers),
                    py(g, fmax(0, sum[i].median - sum[i].spread)));
    fprintf(f, "Z\"/>\n");
    for (int i = 0; i < t->ncounts; i++) {
        if (c[i].n < 2)
            continue;
        double x = px(g, c[i].workers);
        fprintf(f, "<path stroke=\"#1f77b4\" stroke-width=\"1.2\" d=\"M%.1f %.1f V%.1f M%.1f "
                   "%.1f h8 M%.1f %.1f h8\"/>\n", x, py(g, sum[i].min), py(g, sum[i].max),
                x - 4, py(g, sum[i].min), x - 4, py(g, sum[i].max));
    }
}

/* Every sample, the median line and its points; a cross for a count that only failed. */
static void plot_medians(FILE *f, const pf_tune_t *t, const plot_t *g)
{
    const pf_tune_count_t *c = t->counts;
    const pf_stats_summary_t *sum = t->summary;
    for (int i = 0; i < t->ncounts; i++)
        for (int j = 0; j < c[i].n; j++)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#888\" "
                       "fill-opacity=\"0.7\"/>\n", px(g, c[i].workers) + 7,
                    py(g, c[i].samples[j]));
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2.2\" points=\"");
    for (int i = 0; i < t->ncounts; i++)
        if (c[i].n > 0)
            fprintf(f, "%.1f,%.1f ", px(g, c[i].workers), py(g, sum[i].median));
    fprintf(f, "\"/>\n");
    for (int i = 0; i < t->ncounts; i++) {
        if (c[i].n > 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n",
                    px(g, c[i].workers), py(g, sum[i].median));
        else if (c[i].failed > 0)
            fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" fill=\"#d62728\" "
                       "font-size=\"16\">×</text>\n", px(g, c[i].workers), g->T + g->ph - 4);
    }
}

/* The chosen count marked and labelled, and the highest median when it is another. */
static void plot_choice(FILE *f, const pf_tune_t *t, const plot_t *g,
                        const pf_stats_choice_t *ch)
{
    const pf_tune_count_t *c = t->counts;
    const pf_stats_summary_t *sum = t->summary;
    if (ch->chosen >= 0) {
        char nb[32];
        double x = px(g, c[ch->chosen].workers), y = py(g, sum[ch->chosen].median);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#d62728\" "
                   "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n", x, g->T, x,
                g->T + g->ph);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" stroke=\"#d62728\" "
                   "stroke-width=\"2.5\"/>\n", x, y);
        int right = x < g->L + g->pw * 0.7;
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"%s\" fill=\"#d62728\" "
                   "font-weight=\"bold\">chosen: %d workers, %s ", right ? x + 8 : x - 8,
                g->T + 14, right ? "start" : "end", c[ch->chosen].workers,
                num(sum[ch->chosen].median, nb, sizeof nb));
        pf_svg_text(f, pf_output_unit(&t->opt));
        fprintf(f, "%s</text>\n", ch->flat ? " (flat)" : "");
    }
    if (ch->best >= 0 && ch->best != ch->chosen)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\" "
                   "font-size=\"11\">highest median</text>\n", px(g, c[ch->best].workers),
                py(g, sum[ch->best].median) - 10);
}

/* Draws throughput against worker count into path. 0, or -errno. */
int pf_output_plot(const pf_tune_t *t, const char *path, const pf_stats_choice_t *ch)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    plot_t g;
    plot_geometry(t, &g);
    plot_heading(f, t, &g);
    plot_axes(f, t, &g);
    plot_spread(f, t, &g);
    plot_medians(f, t, &g);
    plot_choice(f, t, &g, ch);
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -errno;
}
