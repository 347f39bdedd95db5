/* diff.c — `pferris report --diff BEFORE AFTER`: per timer, counter, memory record, heap figure
 * and call site, the figure before and after, its change and ratio, largest growth first; as a
 * table or as JSON. With --fail-above PCT, a figure present in both that grew by more than PCT
 * percent makes the exit code 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

enum { U_SEC, U_BYTES, U_COUNT };

typedef struct {
    const char *kind;
    char *name;
    int unit;
    double before, after, change, pct;
} drow_t;

typedef struct {
    drow_t *r;
    size_t n, cap;
    json_t *index; /* "kind\x1fname" -> row number */
} dtab_t;

static void dput(dtab_t *d, const char *kind, const char *name, int unit, int after, double v)
{
    char key[1024];
    snprintf(key, sizeof key, "%s\x1f%s", kind, name);
    json_t *at = json_object_get(d->index, key);
    size_t k;
    if (at) {
        k = (size_t)json_integer_value(at);
    } else {
        if (d->n == d->cap) {
            size_t cap = d->cap ? 2 * d->cap : 64;
            drow_t *r = realloc(d->r, cap * sizeof *r);
            if (!r)
                return;
            d->r = r;
            d->cap = cap;
        }
        k = d->n++;
        d->r[k] = (drow_t){kind, strdup(name), unit, NAN, NAN, 0, 0};
        json_object_set_new(d->index, key, json_integer((json_int_t)k));
    }
    double *slot = after ? &d->r[k].after : &d->r[k].before;
    *slot = isnan(*slot) ? v : *slot + v; /* two sites with one text: one row */
}

static void dcollect(dtab_t *d, json_t *r, int after)
{
    dput(d, "process", "elapsed", U_SEC, after, pf_json_num0(r, PF_KEY_TOTAL_ELAPSED));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(r, PF_KEY_TIMINGS), key, v)
        dput(d, "timer", key, U_SEC, after, pf_json_num0(v, NULL));
    json_object_foreach(json_object_get(r, PF_KEY_COUNTERS), key, v)
        dput(d, "counter", key, U_COUNT, after, pf_json_num0(v, NULL));
    json_t *ms = json_object_get(r, PF_KEY_MEMORY_STATS);
    json_object_foreach(json_object_get(r, PF_KEY_MEMORY_USAGE), key, v)
    {
        json_t *s = json_object_get(ms, key);
        dput(d, "memory", key, U_BYTES, after,
             s ? pf_json_num0(s, PF_KEY_PEAK) : pf_json_num0(v, NULL));
    }
    json_t *h = json_object_get(r, PF_KEY_HEAP);
    if (json_is_object(h)) {
        static const struct {
            const char *key;
            int unit;
        } hk[] = {{PF_KEY_ALLOCATIONS, U_COUNT}, {PF_KEY_BYTES_ALLOCATED, U_BYTES},
                  {PF_KEY_PEAK_BYTES, U_BYTES},  {PF_KEY_LIVE_BYTES, U_BYTES}};
        for (size_t i = 0; i < sizeof hk / sizeof hk[0]; i++)
            if (json_object_get(h, hk[i].key))
                dput(d, "heap", hk[i].key, hk[i].unit, after, pf_json_num0(h, hk[i].key));
    }
    size_t i;
    json_array_foreach(json_object_get(h, PF_KEY_SITES), i, v)
    {
        char *st = pf_site_stack(v, ";", 0);
        if (st)
            dput(d, "site", st, U_BYTES, after, pf_json_num0(v, PF_KEY_BYTES));
        free(st);
    }
}

static int by_growth(const void *a, const void *b)
{
    const drow_t *x = a, *y = b;
    if (x->pct != y->pct)
        return x->pct < y->pct ? 1 : -1;
    double ax = fabs(x->change), ay = fabs(y->change);
    if (ax != ay)
        return ax < ay ? 1 : -1;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->name, y->name);
}

/* Each row's change and percent, and the rows sorted by growth. */
static void compare(dtab_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        drow_t *r = &d->r[i];
        double x = isnan(r->before) ? 0 : r->before, y = isnan(r->after) ? 0 : r->after;
        r->change = y - x;
        if (x != 0)
            r->pct = 100 * (y - x) / fabs(x);
        else
            r->pct = y > 0 ? INFINITY : y < 0 ? -INFINITY : 0;
        if (isnan(r->after) && !isnan(r->before))
            r->pct = -INFINITY; /* gone: at the bottom */
    }
    qsort(d->r, d->n, sizeof *d->r, by_growth);
}

/* Only a figure present before and after can cross: a new timer is not a regression. */
static int crosses(const drow_t *r, double fail_above)
{
    return fail_above >= 0 && isfinite(r->pct) && r->pct > fail_above && !isnan(r->before) &&
           !isnan(r->after);
}

static const char *fmt_unit(int unit, double v)
{
    return unit == U_SEC ? pf_text_sec(v) : unit == U_BYTES ? pf_text_bytes(v) : pf_text_count(v);
}

static json_t *row_json(const drow_t *r)
{
    double x = isnan(r->before) ? 0 : r->before;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(r->kind));
    json_object_set_new(o, "name", json_string(r->name ? r->name : "?"));
    json_object_set_new(o, "unit", json_string(r->unit == U_SEC     ? "s"
                                               : r->unit == U_BYTES ? "bytes"
                                                                    : "count"));
    json_object_set_new(o, "before", pf_json_number(r->before));
    json_object_set_new(o, "after", pf_json_number(r->after));
    json_object_set_new(o, "change", pf_json_number(r->change));
    json_object_set_new(o, "ratio",
                        x != 0 && !isnan(r->after) ? json_real(r->after / x) : json_null());
    json_object_set_new(o, "percent", isfinite(r->pct) ? json_real(r->pct) : json_null());
    json_object_set_new(o, "status", json_string(isnan(r->before)  ? "new"
                                                 : isnan(r->after) ? "gone"
                                                                   : "both"));
    return o;
}

/* The JSON form: its keys are the diff's own, not a report's. */
static void write_json(FILE *out, const dtab_t *d, const char *fa, const char *fb,
                       double fail_above, size_t crossed)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < d->n; i++)
        json_array_append_new(rows, row_json(&d->r[i]));
    json_t *doc = json_pack("{ssssso}", "before", fa, "after", fb, "rows", rows);
    if (fail_above >= 0) {
        json_object_set_new(doc, "fail_above", json_real(fail_above));
        json_object_set_new(doc, "crossed", json_integer((json_int_t)crossed));
    }
    json_dumpf(doc, out, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
    fputc('\n', out);
    json_decref(doc);
}

static void write_table(FILE *out, const dtab_t *d, const char *fa, const char *fb)
{
    fprintf(out, "pferris diff: %s -> %s (largest growth first)\n\n", fa, fb);
    pf_table_t t;
    pf_table_init(&t, "llrrrrr", "kind", "name", "before", "after", "change", "ratio",
                  "change %");
    for (size_t i = 0; i < d->n; i++) {
        const drow_t *r = &d->r[i];
        char *ratio = pf_text_buffer();
        double x = isnan(r->before) ? 0 : r->before;
        if (x != 0 && !isnan(r->after))
            snprintf(ratio, PF_TEXT_SIZE, "%.3fx", r->after / x);
        else
            snprintf(ratio, PF_TEXT_SIZE, "-");
        const char *ch = fmt_unit(r->unit, r->change);
        char *chs = pf_text_buffer();
        snprintf(chs, PF_TEXT_SIZE, "%s%s", r->change > 0 ? "+" : "", ch);
        pf_table_row(&t, r->kind, r->name, fmt_unit(r->unit, r->before),
                     fmt_unit(r->unit, r->after), chs, ratio, pf_text_pct(r->pct));
    }
    pf_table_print(out, &t);
    fputc('\n', out);
}

/* The figures that crossed --fail-above, the first ten of them, on err. */
static void report_crossed(FILE *err, const dtab_t *d, size_t crossed, double fail_above,
                           const char *fa, const char *fb)
{
    pf_text_say(err, "%zu figure%s grew by more than %g%% from %s to %s:", crossed,
                crossed > 1 ? "s" : "", fail_above, fa, fb);
    for (size_t i = 0, k = 0; i < d->n && k < 10; i++) {
        const drow_t *r = &d->r[i];
        if (!crosses(r, fail_above))
            continue;
        char *c = pf_text_cell(r->name);
        fprintf(err, "  %s %s: %s -> %s (%s)\n", r->kind, c ? c : "?",
                fmt_unit(r->unit, r->before), fmt_unit(r->unit, r->after), pf_text_pct(r->pct));
        free(c);
        k++;
    }
}

int pf_diff_write(FILE *out, FILE *err, json_t *a, json_t *b, const char *fa, const char *fb,
                  int as_json, double fail_above)
{
    dtab_t d = {.index = json_object()};
    dcollect(&d, a, 0);
    dcollect(&d, b, 1);
    compare(&d);
    size_t crossed = 0;
    for (size_t i = 0; i < d.n; i++)
        crossed += (size_t)crosses(&d.r[i], fail_above);
    if (as_json)
        write_json(out, &d, fa, fb, fail_above, crossed);
    else
        write_table(out, &d, fa, fb);
    if (crossed)
        report_crossed(err, &d, crossed, fail_above, fa, fb);
    for (size_t i = 0; i < d.n; i++)
        free(d.r[i].name);
    free(d.r);
    json_decref(d.index);
    return crossed ? 1 : 0;
}
