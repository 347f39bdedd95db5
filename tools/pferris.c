/* pferris — run a program under the preload and summarise its reports.
 *   pferris run [-o PATTERN] [--] PROGRAM [ARGS...]
 *   pferris report [--json] FILE...
 * The summary is plain text: timers by total, the bottleneck (the timer with the most self
 * time), counters, memory records, heap figures and threads. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pferris.h"

static const char *usage_text =
    "usage: pferris run [-o PATTERN] [--] PROGRAM [ARGS...]\n"
    "       pferris report [--json] FILE...\n"
    "\n"
    "run     runs PROGRAM with libpferris.so preloaded, passes its exit code through, and\n"
    "        prints a summary of every report the run wrote (its children's too).\n"
    "        -o PATTERN  report path (PFERRIS_OUTPUT: %p pid, %e program, %h host, %% a %);\n"
    "                    default pferris.%e.%p.json in the current directory\n"
    "report  prints the summary of report files; --json re-emits them as normalised JSON.\n"
    "        -h, --help  this text;  --version  the version\n";

/* ---- formatting ------------------------------------------------------------------------- */

static const char *fmt_sec(double s, char *buf, size_t n)
{
    if (isnan(s))
        snprintf(buf, n, "-");
    else if (s >= 1)
        snprintf(buf, n, "%.3f s", s);
    else if (s >= 1e-3)
        snprintf(buf, n, "%.3f ms", s * 1e3);
    else if (s >= 1e-6)
        snprintf(buf, n, "%.3f us", s * 1e6);
    else
        snprintf(buf, n, "%.0f ns", s * 1e9);
    return buf;
}

static const char *fmt_bytes(double b, char *buf, size_t n)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = fabs(b);
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, n, u ? "%s%.1f %s" : "%s%.0f %s", b < 0 ? "-" : "", v, unit[u]);
    return buf;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- the summary ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    double value;
} entry_t;

static int by_value_desc(const void *a, const void *b)
{
    double x = ((const entry_t *)a)->value, y = ((const entry_t *)b)->value;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The tree node with the most self time: the seed's "bottleneck". */
static void heaviest_self(json_t *nodes, const char **name, double *self, double *sum)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        double s = num(n, "self");
        if (!isnan(s)) {
            *sum += s;
            if (s > *self) {
                *self = s;
                *name = json_string_value(json_object_get(n, "name"));
            }
        }
        heaviest_self(json_object_get(n, "children"), name, self, sum);
    }
}

static void summary(const char *file, json_t *r)
{
    char a[32], b[32], c[32], d[32], e[32];
    printf("pferris report: %s\n", file);
    json_t *cmd = json_object_get(r, "command");
    if (json_array_size(cmd)) {
        printf("  command    ");
        size_t i;
        json_t *w;
        json_array_foreach(cmd, i, w) printf(" %s", json_string_value(w));
        printf("\n");
    }
    json_t *threads = json_object_get(r, "threads"), *workers = json_object_get(r, "workers");
    printf("  elapsed     %s", fmt_sec(num(r, "total_elapsed"), a, sizeof a));
    if (threads)
        printf("   threads %zu (at most %.0f at once)", json_array_size(threads),
               num(workers, "max_concurrent_threads"));
    if (json_is_integer(json_object_get(workers, "requested")))
        printf("   workers requested %.0f", num(workers, "requested"));
    printf("\n");

    json_t *stats = json_object_get(r, "timing_stats");
    size_t n = json_object_size(stats);
    if (n) {
        const char *bn = NULL;
        double self = 0, sum = 0;
        heaviest_self(json_object_get(r, "timing_tree"), &bn, &self, &sum);
        if (bn && sum > 0)
            printf("  bottleneck  \"%s\": %s of its own time, %.1f%% of all timed time\n", bn,
                   fmt_sec(self, a, sizeof a), 100 * self / sum);
        entry_t *ent = calloc(n, sizeof *ent);
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach(stats, key, v) ent[k++] = (entry_t){key, num(v, "total")};
        qsort(ent, k, sizeof *ent, by_value_desc);
        printf("\n  %-28s %10s %12s %12s %12s %12s\n", "timer", "count", "total", "mean", "min",
               "max");
        for (size_t i = 0; i < k; i++) {
            json_t *s = json_object_get(stats, ent[i].name);
            printf("  %-28s %10.0f %12s %12s %12s %12s\n", ent[i].name, num(s, "count"),
                   fmt_sec(num(s, "total"), a, sizeof a), fmt_sec(num(s, "mean"), b, sizeof b),
                   fmt_sec(num(s, "min"), c, sizeof c), fmt_sec(num(s, "max"), d, sizeof d));
        }
        free(ent);
    }
    json_t *counters = json_object_get(r, "counters");
    if (json_object_size(counters)) {
        printf("\n  %-28s %20s %14s\n", "counter", "value", "per second");
        const char *key;
        json_t *v;
        double el = num(r, "total_elapsed");
        json_object_foreach(counters, key, v)
            printf("  %-28s %20lld %14.1f\n", key, (long long)json_integer_value(v),
                   el > 0 ? (double)json_integer_value(v) / el : NAN);
    }
    json_t *mem = json_object_get(r, "memory_stats");
    if (json_object_size(mem)) {
        printf("\n  %-28s %14s %14s\n", "memory record", "last", "peak");
        const char *key;
        json_t *v;
        json_object_foreach(mem, key, v)
            printf("  %-28s %14s %14s\n", key, fmt_bytes(num(v, "last"), a, sizeof a),
                   fmt_bytes(num(v, "peak"), b, sizeof b));
    }
    json_t *heap = json_object_get(r, "heap");
    if (heap && json_is_true(json_object_get(heap, "enabled"))) {
        printf("\n  heap        %.0f allocations (%s), %.0f frees; peak %s, live at exit %s\n",
               num(heap, "allocations"), fmt_bytes(num(heap, "bytes_allocated"), a, sizeof a),
               num(heap, "frees"), fmt_bytes(num(heap, "peak_bytes"), b, sizeof b),
               fmt_bytes(num(heap, "live_bytes"), c, sizeof c));
    }
    if (json_array_size(threads)) {
        printf("\n  %-16s %8s %10s %10s %10s %10s %12s\n", "thread", "tid", "start", "end",
               "cpu", "allocs", "allocated");
        size_t i, shown = 0;
        json_t *t;
        json_array_foreach(threads, i, t)
        {
            if (shown++ == 32) {
                printf("  ... %zu more threads\n", json_array_size(threads) - 32);
                break;
            }
            printf("  %-16s %8.0f %10s %10s %10s %10.0f %12s\n",
                   json_string_value(json_object_get(t, "name")), num(t, "tid"),
                   fmt_sec(num(t, "start"), a, sizeof a), fmt_sec(num(t, "end"), b, sizeof b),
                   fmt_sec(num(t, "cpu_time"), c, sizeof c), num(t, "allocations"),
                   fmt_bytes(num(t, "bytes_allocated"), e, sizeof e));
        }
    }
    printf("\n");
}

static json_t *load(const char *file)
{
    json_error_t err;
    json_t *r = json_load_file(file, 0, &err);
    if (!r) {
        fprintf(stderr, "pferris: %s is not a readable JSON report: %s (line %d)\n", file,
                err.text, err.line);
        return NULL;
    }
    const char *schema = json_string_value(json_object_get(r, "schema"));
    if (!json_is_object(r) || !schema || strcmp(schema, PFERRIS_SCHEMA) != 0) {
        fprintf(stderr, "pferris: %s is not a %s report (schema: %s)\n", file, PFERRIS_SCHEMA,
                schema ? schema : "none");
        json_decref(r);
        return NULL;
    }
    return r;
}

static int cmd_report(int argc, char **argv)
{
    int as_json = 0, rc = 0, files = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            as_json = 1;
            continue;
        }
        if (argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
            fprintf(stderr, "pferris report: unknown option '%s'\n%s", argv[i], usage_text);
            return 2;
        }
        files++;
        json_t *r = load(argv[i]);
        if (!r) {
            rc = 2;
            continue;
        }
        if (as_json) {
            json_dumpf(r, stdout, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
            printf("\n");
        } else {
            summary(argv[i], r);
        }
        json_decref(r);
    }
    if (!files) {
        fprintf(stderr, "pferris report: name at least one report file\n%s", usage_text);
        return 2;
    }
    return rc;
}

/* ---- run ------------------------------------------------------------------------------ */

static int find_library(char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return -1;
    self[len] = '\0';
    char *dir = dirname(self);
    const char *candidates[] = {"%s/libpferris.so", "%s/../lib/libpferris.so"};
    for (int i = 0; i < 2; i++) {
        snprintf(out, n, candidates[i], dir);
        if (access(out, R_OK) == 0)
            return 0;
    }
    return -1;
}

/* Reports of this run: files matching the pattern (with %p %e %h as *) written since start. */
static int collect(const char *pattern, time_t since, char ***out)
{
    char dir[PATH_MAX], glob[PATH_MAX];
    const char *slash = strrchr(pattern, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - pattern) : 1, slash ? pattern : ".");
    if (slash && slash == pattern)
        snprintf(dir, sizeof dir, "/");
    size_t g = 0;
    for (const char *p = slash ? slash + 1 : pattern; *p && g < sizeof glob - 2; p++) {
        if (*p == '%' && p[1]) {
            p++;
            glob[g++] = *p == '%' ? '%' : '*';
        } else {
            glob[g++] = *p;
        }
    }
    glob[g] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (fnmatch(glob, e->d_name, 0) != 0)
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || st.st_mtime < since)
            continue;
        *out = realloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = strdup(strcmp(dir, ".") ? path : e->d_name);
    }
    closedir(d);
    return n;
}

static int cmd_run(int argc, char **argv)
{
    const char *output = "pferris.%e.%p.json";
    int i = 0;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            output = argv[++i];
            continue;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "pferris run: unknown option '%s'\n%s", argv[i], usage_text);
            return 2;
        }
        break;
    }
    if (i >= argc) {
        fprintf(stderr, "pferris run: name the program to run\n%s", usage_text);
        return 2;
    }
    char lib[PATH_MAX + 32], preload[2 * PATH_MAX];
    if (find_library(lib, sizeof lib) != 0) {
        fprintf(stderr, "pferris run: libpferris.so is not beside this binary nor in ../lib\n");
        return 2;
    }
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    time_t start = time(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("pferris run: fork");
        return 2;
    }
    if (pid == 0) {
        setenv("LD_PRELOAD", preload, 1);
        setenv("PFERRIS_OUTPUT", output, 1);
        setenv("PFERRIS_QUIET", "1", 1);
        execvp(argv[i], &argv[i]);
        fprintf(stderr, "pferris run: cannot run '%s': %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    signal(SIGINT, SIG_IGN); /* the program gets the terminal's ^C; we still summarise */
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char **files = NULL;
    int n = collect(output, start, &files);
    if (!n)
        fprintf(stderr, "pferris run: the program wrote no report (exit code %d)\n", code);
    for (int k = 0; k < n; k++) {
        json_t *r = load(files[k]);
        if (r)
            summary(files[k], r);
        json_decref(r);
        free(files[k]);
    }
    free(files);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pferris %s\n", PFERRIS_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "report"))
        return cmd_report(argc - 2, argv + 2);
    fprintf(stderr, "pferris: unknown command '%s'\n%s", argv[1], usage_text);
    return 2;
}
