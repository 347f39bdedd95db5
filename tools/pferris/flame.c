/* flame.c — `pferris report --flame heap|time|cpu`: folded stacks ("frame;frame value", one a
 * line, sorted) for flamegraph.pl or speedscope. Heap bytes by call site (by thread when the
 * report has no sites), timer self time in microseconds, or sampled CPU time in microseconds
 * (cpu.sites: samples / hz). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

typedef struct {
    json_t *acc; /* folded stack -> integer */
    char *path;  /* the stack being built */
    size_t cap;
} folded_t;

static void fold_add(folded_t *f, const char *stack, long long v)
{
    if (v <= 0 || !stack)
        return;
    json_t *cur = json_object_get(f->acc, stack);
    json_object_set_new(f->acc, stack, json_integer(pf_json_add_sat(json_integer_value(cur), v)));
}

/* ';' separates frames and newlines separate stacks: neither may appear in a frame. */
static void clean_frame(char *s)
{
    for (; *s; s++)
        if (*s == ';' || *s == '\n' || *s == '\r')
            *s = ':';
}

static void fold_tree(folded_t *f, json_t *nodes, int depth)
{
    size_t i;
    json_t *n;
    if (depth > 4096)
        return;
    json_array_foreach(nodes, i, n)
    {
        size_t len = strlen(f->path);
        char name[512];
        snprintf(name, sizeof name, "%s", pf_json_str(n, PF_KEY_NAME, "?"));
        clean_frame(name);
        snprintf(f->path + len, f->cap - len, "%s%s", len ? ";" : "", name);
        fold_add(f, f->path, pf_json_to_ll(pf_json_num0(n, PF_KEY_SELF) * 1e6));
        fold_tree(f, json_object_get(n, PF_KEY_CHILDREN), depth + 1);
        f->path[len] = '\0';
    }
}

/* Sampled sites estimate; what they leave of the exact total is shown as such. */
static void fold_sites(folded_t *f, json_t *h, const char *root)
{
    double total = pf_json_num0(h, PF_KEY_BYTES_ALLOCATED), attributed = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(h, PF_KEY_SITES), i, s)
    {
        char *st = pf_site_stack(s, ";", 0);
        if (!st)
            continue;
        snprintf(f->path, f->cap, "%s%s%s", root, *root ? ";" : "", st);
        long long v = pf_json_to_ll(pf_json_num0(s, PF_KEY_BYTES));
        fold_add(f, f->path, v);
        attributed += (double)(v > 0 ? v : 0);
        free(st);
    }
    if (total > attributed) {
        snprintf(f->path, f->cap, "%s%s[not sampled]", root, *root ? ";" : "");
        fold_add(f, f->path, pf_json_to_ll(total - attributed));
    }
}

/* Sampled CPU stacks: each site's seconds, in microseconds. */
static void fold_cpu(folded_t *f, json_t *cpu, const char *root)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(cpu, PF_KEY_SITES), i, s)
    {
        char *st = pf_site_stack(s, ";", 0);
        if (!st)
            continue;
        snprintf(f->path, f->cap, "%s%s%s", root, *root ? ";" : "", st);
        fold_add(f, f->path, pf_json_to_ll(pf_json_num0(s, PF_KEY_SECONDS) * 1e6));
        free(st);
    }
}

/* No call sites: bytes by thread, which sum exactly to the report's bytes. */
static void fold_threads(folded_t *f, json_t *p, const char *root)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(p, PF_KEY_THREADS), i, t)
    {
        char name[64];
        snprintf(name, sizeof name, "%s", pf_json_str(t, PF_KEY_NAME, "?"));
        clean_frame(name);
        if (json_object_get(t, PF_KEY_OTHER_THREADS)) /* the unlisted threads, summed */
            snprintf(f->path, f->cap, "%s%s%s;%s", root, *root ? ";" : "",
                     pf_json_program_name(p), name);
        else
            snprintf(f->path, f->cap, "%s%s%s;%s (%s)", root, *root ? ";" : "",
                     pf_json_program_name(p), *name ? name : "thread",
                     pf_text_count(pf_json_num(t, PF_KEY_TID)));
        fold_add(f, f->path, pf_json_to_ll(pf_json_num0(t, PF_KEY_BYTES_ALLOCATED)));
    }
}

static void fold_process(folded_t *f, json_t *r, json_t *p, size_t np, int kind)
{
    /* A merged report gets one root frame per process, so ranks stay apart. */
    char root[128] = "";
    if (np > 1 || json_is_array(json_object_get(r, PF_KEY_PROCESSES))) {
        if (json_is_integer(json_object_get(p, PF_KEY_RANK)))
            snprintf(root, sizeof root, "rank %s", pf_text_count(pf_json_num(p, PF_KEY_RANK)));
        else
            snprintf(root, sizeof root, "%s %s", pf_json_program_name(p),
                     pf_text_count(pf_json_num(p, PF_KEY_PID)));
        clean_frame(root);
    }
    snprintf(f->path, f->cap, "%s", root);
    if (kind == PF_FLAME_TIME) {
        fold_tree(f, json_object_get(p, PF_KEY_TIMING_TREE), 0);
        return;
    }
    if (kind == PF_FLAME_CPU) {
        fold_cpu(f, json_object_get(p, PF_KEY_CPU), root);
        return;
    }
    json_t *h = json_object_get(p, PF_KEY_HEAP);
    if (json_array_size(json_object_get(h, PF_KEY_SITES)))
        fold_sites(f, h, root);
    else
        fold_threads(f, p, root);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The folded stacks in the order of their text. */
static void print_sorted(FILE *out, json_t *acc)
{
    size_t n = json_object_size(acc), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach(acc, key, v) if (keys && k < n) keys[k++] = key;
    if (keys) {
        qsort(keys, k, sizeof *keys, by_string);
        for (size_t i = 0; i < k; i++)
            fprintf(out, "%s %lld\n", keys[i],
                    (long long)json_integer_value(json_object_get(acc, keys[i])));
    }
    free(keys);
}

int pf_flame_write(FILE *out, FILE *err, json_t *r, const char *file, int kind)
{
    folded_t f = {json_object(), NULL, 1 << 16};
    f.path = malloc(f.cap);
    if (!f.path || !f.acc) {
        free(f.path);
        json_decref(f.acc);
        return 2;
    }
    size_t np = pf_json_process_count(r);
    for (size_t k = 0; k < np; k++)
        fold_process(&f, r, pf_json_process(r, k), np, kind);
    free(f.path);
    static const char *const what[] = {"timer self time", "heap bytes", "sampled CPU time"};
    static const char *const why[] = {
        "the program used no timer markers", "heap tracking off, or nothing allocated",
        "PFERRIS_CPU_HZ=0, pferris stood down for the program's own SIGPROF, or no CPU was used"};
    if (!json_object_size(f.acc))
        pf_text_say(err, "%s: no %s to fold (%s)", file, what[kind], why[kind]);
    print_sorted(out, f.acc);
    json_decref(f.acc);
    return 0;
}
