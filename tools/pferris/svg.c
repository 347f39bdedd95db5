/* svg.c — `pferris report --svg`: one picture of one process. The live heap over time above
 * one lane per thread, with the thread's timer intervals on its lane. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/svg.h"
#include "cmd.h"

static const char *palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

/* The layout, in pixels: the plot spans left .. left + plot_w; time 0 .. span is mapped on it. */
enum { MAX_LANES = 200, MAX_DEPTH = 8 };
static const double width_px = 1100, left = 190, right = 30, chart_h = 180, chart_top = 56,
                    lane_h = 20;

typedef struct {
    FILE *out;
    double span, plot_w, lanes_y, height;
    size_t lanes;
} svg_t;

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The x of time s, clamped to the plot. */
static double x_of(const svg_t *g, double s)
{
    return left + g->plot_w * (s < 0 ? 0 : s > g->span ? 1 : s / g->span);
}

typedef struct {
    double tid, start, end;
    const char *name;
    int depth;
} ivl_t;

/* By thread, then start, the enclosing interval before the ones it holds. */
static int by_start(const void *a, const void *b)
{
    const ivl_t *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end; /* the enclosing one first */
}

/* The time span of the picture: the run, or the last thread or sample if later; 1 s if none. */
static double time_span(json_t *r, json_t *threads, json_t *samples)
{
    double span = pf_json_num0(r, PF_KEY_TOTAL_ELAPSED);
    size_t i;
    json_t *t;
    json_array_foreach(threads, i, t) if (pf_json_num0(t, PF_KEY_END) > span) span =
        pf_json_num0(t, PF_KEY_END);
    json_array_foreach(samples, i, t) if (pf_json_num0(t, PF_KEY_T) > span) span =
        pf_json_num0(t, PF_KEY_T);
    return span > 0 ? span : 1;
}

static void draw_title(const svg_t *g, json_t *r)
{
    FILE *out = g->out;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            width_px, g->height, width_px, g->height);
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fputs("<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">pferris: ", out);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, PF_KEY_COMMAND), i, t)
    {
        if (i == 8) {
            fputs(" ...", out);
            break;
        }
        if (i)
            fputc(' ', out);
        pf_svg_text(out, json_string_value(t));
    }
    json_t *heap = json_object_get(r, PF_KEY_HEAP);
    fprintf(out, "</text>\n<text x=\"10\" y=\"40\" fill=\"#555\">pid %s, elapsed %s, %s "
                 "threads, heap peak %s, %s allocations</text>\n",
            pf_text_count(pf_json_num(r, PF_KEY_PID)),
            pf_text_sec(pf_json_num(r, PF_KEY_TOTAL_ELAPSED)),
            pf_text_count((double)pf_json_threads_total(r)),
            pf_text_bytes(pf_json_num(heap, PF_KEY_PEAK_BYTES)),
            pf_text_count(pf_json_num(heap, PF_KEY_ALLOCATIONS)));
}

/* The heap chart: live bytes over time, as a step line (the value holds until the next). */
static void draw_heap(const svg_t *g, json_t *samples)
{
    FILE *out = g->out;
    const double bottom = chart_top + chart_h;
    double maxb = 0;
    size_t i;
    json_t *t;
    json_array_foreach(samples, i, t) if (pf_json_num0(t, PF_KEY_LIVE_BYTES) > maxb) maxb =
        pf_json_num0(t, PF_KEY_LIVE_BYTES);
    double ystep = pf_svg_nice_step(maxb, 4), ymax = maxb > 0 ? ceil(maxb / ystep) * ystep : 1;
    fprintf(out, "<text x=\"10\" y=\"%.0f\" font-weight=\"bold\">live heap</text>\n",
            chart_top + 12);
    fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f7f7f7\" "
                 "stroke=\"#ccc\"/>\n",
            left, chart_top, g->plot_w, chart_h);
    for (double v = 0; maxb > 0 && v <= ymax + ystep / 2; v += ystep) {
        double y = bottom - chart_h * v / ymax;
        fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
                     "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
                left, y, left + g->plot_w, y, left - 6, y + 4, pf_text_bytes(v));
    }
    if (!json_array_size(samples)) {
        fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#888\">no heap "
                     "samples in this report (the timeline was off: PFERRIS_INTERVAL_MS=0)"
                     "</text>\n",
                left + g->plot_w / 2, chart_top + chart_h / 2);
        return;
    }
    fputs("<path fill=\"#4e79a7\" fill-opacity=\"0.25\" stroke=\"#4e79a7\" "
          "stroke-width=\"1.5\" d=\"",
          out);
    double py = bottom;
    fprintf(out, "M%.1f,%.1f", left, py);
    json_array_foreach(samples, i, t)
    {
        double x = x_of(g, pf_json_num0(t, PF_KEY_T));
        double y = bottom - chart_h * pf_json_num0(t, PF_KEY_LIVE_BYTES) / ymax;
        fprintf(out, " L%.1f,%.1f L%.1f,%.1f", x, py, x, y);
        py = y;
    }
    fprintf(out, " L%.1f,%.1f L%.1f,%.1f Z\"/>\n", left + g->plot_w, py, left + g->plot_w,
            bottom);
}

/* The time axis, under the chart, with grid lines down through the lanes. */
static void draw_time_axis(const svg_t *g)
{
    const double bottom = chart_top + chart_h;
    double xstep = pf_svg_nice_step(g->span, 8);
    for (double s = 0; s <= g->span + xstep / 1000; s += xstep) {
        double x = x_of(g, s);
        fprintf(g->out,
                "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
                x, bottom, x, g->lanes_y + (double)g->lanes * lane_h, x, bottom + 16,
                pf_text_sec(s));
    }
}

/* Every interval with a finite start, end and thread, sorted by thread: each lane then takes
 * its own run of them. NULL when memory runs out. */
static ivl_t *sorted_intervals(json_t *ivals, size_t *n)
{
    ivl_t *all = calloc(json_array_size(ivals) ? json_array_size(ivals) : 1, sizeof *all);
    *n = 0;
    if (!all)
        return NULL;
    size_t j;
    json_t *e;
    json_array_foreach(ivals, j, e)
    {
        double s = pf_json_num(e, PF_KEY_START), en = pf_json_num(e, PF_KEY_END),
               tid = pf_json_num(e, PF_KEY_TID);
        if (isfinite(s) && isfinite(en) && isfinite(tid))
            all[(*n)++] = (ivl_t){tid, s, en > s ? en : s, pf_json_str(e, PF_KEY_NAME, "?"), 0};
    }
    qsort(all, *n, sizeof *all, by_start);
    return all;
}

/* The thread's name and its life as a grey bar. */
static void draw_lane_thread(const svg_t *g, json_t *th, double y)
{
    FILE *out = g->out;
    fputs("<text x=\"10\" y=\"", out);
    fprintf(out, "%.1f\">", y + 14);
    char label[64];
    snprintf(label, sizeof label, "%.20s (%s)", pf_json_str(th, PF_KEY_NAME, "?"),
             pf_text_count(pf_json_num(th, PF_KEY_TID)));
    pf_svg_text(out, label);
    fputs("</text>\n", out);
    double x0 = x_of(g, pf_json_num0(th, PF_KEY_START)), x1 = x_of(g, pf_json_num0(th, PF_KEY_END));
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"#e4e4e4\">"
                 "<title>",
            x0, y + 2, x1 - x0 > 1 ? x1 - x0 : 1, lane_h - 4);
    pf_svg_text(out, label);
    fprintf(out, ": %s to %s, CPU %s</title></rect>\n",
            pf_text_sec(pf_json_num(th, PF_KEY_START)), pf_text_sec(pf_json_num(th, PF_KEY_END)),
            pf_text_sec(pf_json_num(th, PF_KEY_CPU_TIME)));
}

/* A shape being drawn at one depth: a run of intervals of one name that touch. */
typedef struct {
    double x0, x1;
    const char *name;
    size_t count;
    double sum;
} shape_t;

static void draw_shape(const svg_t *g, const shape_t *sh, double y, int d)
{
    double h = lane_h - 4 - 3 * d;
    if (h < 3)
        h = 3;
    unsigned c = name_hash(sh->name) % 10;
    fprintf(g->out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                    "fill=\"%s\"><title>",
            sh->x0, y + 2 + (lane_h - 4 - h) / 2, sh->x1 - sh->x0 > 0.3 ? sh->x1 - sh->x0 : 0.3,
            h, palette[c]);
    pf_svg_text(g->out, sh->name);
    if (sh->count > 1)
        fprintf(g->out, ": %zu intervals, %s in all</title></rect>\n", sh->count,
                pf_text_sec(sh->sum));
    else
        fprintf(g->out, ": %s</title></rect>\n", pf_text_sec(sh->sum));
}

/* One interval iv at depth d: it extends the open shape there, or the open shape is drawn
 * and iv opens the next one. iv NULL draws what is open (the lane's end). */
static void add_interval(const svg_t *g, shape_t *open, int d, const ivl_t *iv, double y)
{
    int extend = iv && open[d].count && strcmp(open[d].name, iv->name) == 0 &&
                 x_of(g, iv->start) <= open[d].x1 + 0.5;
    if (open[d].count && !extend) {
        draw_shape(g, &open[d], y, d);
        open[d].count = 0;
    }
    if (!iv)
        return;
    if (extend) {
        double x = x_of(g, iv->end);
        if (x > open[d].x1)
            open[d].x1 = x;
        open[d].count++;
        open[d].sum += iv->end - iv->start;
    } else {
        open[d] = (shape_t){x_of(g, iv->start), x_of(g, iv->end), iv->name, 1,
                            iv->end - iv->start};
    }
}

/* A lane's m intervals (sorted by start) on top of its bar, nested ones thinner. Intervals
 * narrower than half a pixel are merged with their neighbour of the same name, so a run of a
 * million intervals stays a picture of a few thousand shapes. Names drawn go into legend. */
static void draw_lane_intervals(const svg_t *g, ivl_t *iv, size_t m, double y, json_t *legend)
{
    double ends[MAX_DEPTH];
    int depth = 0;
    shape_t open[MAX_DEPTH] = {{0}};
    for (size_t a = 0; a < m; a++) {
        while (depth > 0 && ends[depth - 1] <= iv[a].start)
            depth--;
        iv[a].depth = depth < MAX_DEPTH ? depth : MAX_DEPTH - 1;
        if (depth < MAX_DEPTH)
            ends[depth++] = iv[a].end;
        add_interval(g, open, iv[a].depth, &iv[a], y);
        json_object_set_new(legend, iv[a].name, json_true());
    }
    for (int d = 0; d < MAX_DEPTH; d++)
        add_interval(g, open, d, NULL, y);
}

/* One lane per thread (at most g->lanes), with its intervals out of all (n, sorted by thread). */
static void draw_lanes(const svg_t *g, json_t *threads, ivl_t *all, size_t n, json_t *legend)
{
    for (size_t k = 0; k < g->lanes; k++) {
        json_t *th = json_array_get(threads, k);
        double y = g->lanes_y + (double)k * lane_h;
        double tid = pf_json_num(th, PF_KEY_TID);
        draw_lane_thread(g, th, y);
        if (!all)
            continue;
        size_t lo = 0, hi = n; /* the first interval of this thread */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (all[mid].tid < tid)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t m = 0;
        while (lo + m < n && all[lo + m].tid == tid)
            m++;
        draw_lane_intervals(g, all + lo, m, y, legend);
    }
}

/* Under the lanes: the threads left out, the legend of interval names, and what is missing. */
static void draw_footer(const svg_t *g, json_t *r, json_t *legend)
{
    FILE *out = g->out;
    json_t *threads = json_object_get(r, PF_KEY_THREADS);
    json_t *tl = json_object_get(r, PF_KEY_TIMELINE);
    double ly = g->lanes_y + (double)g->lanes * lane_h + 24;
    long long total = pf_json_threads_total(r); /* unlisted threads too (other_threads) */
    if (json_array_size(threads) > g->lanes && total > (long long)g->lanes)
        fprintf(out, "<text x=\"10\" y=\"%.0f\" fill=\"#555\">... and %lld more threads</text>\n",
                ly - 6, total - (long long)g->lanes);
    double lx = left;
    const char *key;
    json_t *v;
    size_t shown = 0;
    json_object_foreach(legend, key, v)
    {
        if (shown++ == 12 || lx > width_px - 120)
            break;
        fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                     "<text x=\"%.0f\" y=\"%.0f\">",
                lx, ly, palette[name_hash(key) % 10], lx + 16, ly + 11);
        char nm[40];
        snprintf(nm, sizeof nm, "%.30s", key);
        pf_svg_text(out, nm);
        fputs("</text>\n", out);
        lx += 24 + 7.0 * (double)pf_text_width(nm);
    }
    double dropped = pf_json_num0(json_object_get(tl, PF_KEY_DROPPED), PF_KEY_INTERVALS);
    if (dropped > 0)
        fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#a33\">%s later intervals were not "
                     "recorded (the per-thread timeline buffer was full)</text>\n",
                left, ly + 30, pf_text_count(dropped));
    if (!json_array_size(json_object_get(tl, PF_KEY_INTERVALS)))
        fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#888\">no timer intervals (no markers, "
                     "or PFERRIS_TIMELINE=0)</text>\n",
                left, ly + 11);
}

int pf_svg_write(FILE *out, FILE *err, json_t *r, const char *file)
{
    if (json_is_array(json_object_get(r, PF_KEY_PROCESSES))) {
        pf_text_say(err, "%s: is a merged report; --svg draws one process (give one of its "
                         "reports)",
                    file);
        return 2;
    }
    json_t *threads = json_object_get(r, PF_KEY_THREADS);
    json_t *tl = json_object_get(r, PF_KEY_TIMELINE);
    json_t *samples = json_object_get(tl, PF_KEY_SAMPLES);
    svg_t g = {.out = out, .plot_w = width_px - left - right};
    g.lanes = json_array_size(threads);
    if (g.lanes > MAX_LANES)
        g.lanes = MAX_LANES; /* a picture of more lanes is not readable; the rest are counted */
    g.lanes_y = chart_top + chart_h + 50;
    g.height = g.lanes_y + (double)(g.lanes ? g.lanes : 1) * lane_h + 80;
    g.span = time_span(r, threads, samples);

    draw_title(&g, r);
    draw_heap(&g, samples);
    draw_time_axis(&g);
    fprintf(out, "<text x=\"10\" y=\"%.0f\" font-weight=\"bold\">threads and timers</text>\n",
            g.lanes_y - 12);
    size_t n;
    ivl_t *all = sorted_intervals(json_object_get(tl, PF_KEY_INTERVALS), &n);
    json_t *legend = json_object();
    draw_lanes(&g, threads, all, n, legend);
    free(all);
    draw_footer(&g, r, legend);
    json_decref(legend);
    fputs("</svg>\n", out);
    return 0;
}
