/* pferris — run a program under the preload, and read, plot, compare and merge its reports.
 *   pferris run [-o PATTERN] [-q] [--] PROGRAM [ARGS...]
 *   pferris report [--top N] [--json] FILE...
 *   pferris report --flame heap|time FILE...      folded stacks (flamegraph.pl, speedscope)
 *   pferris report --trace FILE...                Chrome Trace Event JSON (Perfetto)
 *   pferris report --svg FILE                     heap over time and thread lanes
 *   pferris report --diff BEFORE AFTER [--fail-above PCT] [--json]
 *   pferris report --merge FILE...                one report of many processes or ranks
 * Reports are untrusted input: every one goes through lib/reader.c, which checks the type of
 * every known field, and every figure read here tolerates a missing field. Exit codes: 0, 1 when
 * --fail-above is crossed, 2 for a usage error or a bad report; `run` passes the program's. */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pferris.h"
#include "common/locate.h"
#include "common/svg.h"
#include "common/reader.h"

static const char usage_text[] =
    "usage: pferris run [-o PATTERN] [-q] [--] PROGRAM [ARGS...]\n"
    "       pferris report [--top N] [--json] FILE...\n"
    "       pferris report --flame heap|time FILE...   > stacks.folded\n"
    "       pferris report --trace FILE...             > trace.json\n"
    "       pferris report --svg FILE                  > run.svg\n"
    "       pferris report --diff BEFORE AFTER [--fail-above PCT] [--json]\n"
    "       pferris report --merge FILE...             > all.json\n"
    "\n"
    "run      runs PROGRAM with libpferris.so preloaded, passes its exit code through, and\n"
    "         prints on stderr the summary of every report the run wrote (children too).\n"
    "         -o PATTERN  report path (PFERRIS_OUTPUT: %p pid, %e program, %h host, %% a %);\n"
    "                     default pferris.%e.%p.json in the current directory\n"
    "         -q          no summary: only the paths of the reports\n"
    "report   the summary of each report: timers, counters, memory, heap, top call sites,\n"
    "         threads and the bottleneck. --top N lists the N heaviest call sites by bytes and\n"
    "         by live bytes; --json re-emits the reports as normalised JSON.\n"
    "--flame  folded stacks 'frame;frame value': heap bytes by call site (by thread when the\n"
    "         report has no sites), or timer self time in microseconds.\n"
    "--trace  Chrome Trace Event JSON: one X event per timer interval, C events for the heap,\n"
    "         threads and counters, thread names; open in ui.perfetto.dev or chrome://tracing.\n"
    "--svg    one picture: live heap over time above one lane per thread with its timers.\n"
    "--diff   per timer, counter, memory record, heap figure and call site: before, after,\n"
    "         change, ratio, largest growth first; --fail-above PCT exits 1 when a figure\n"
    "         present in both grew by more than PCT percent.\n"
    "--merge  one report of several processes, hosts or ranks: sums, maxima, and every\n"
    "         process's own report under \"processes\" (ordered by rank when present).\n"
    "-h, --help   this text;  --version   the version.  Exit codes: 0; 1 --fail-above\n"
    "         crossed; 2 usage or a bad report; run: the program's.\n";

static FILE *errout; /* stderr; the fuzz target silences it */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pferris: ", errout);
    vfprintf(errout, fmt, ap);
    fputc('\n', errout);
    va_end(ap);
}

/* ---- reading figures (types were checked by the reader; fields may still be missing) ---- */

static double numv(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The figure o[key], or o itself when key is NULL; NAN when it is not a number. */
static double num(const json_t *o, const char *key)
{
    return numv(key ? json_object_get(o, key) : o);
}

static double num0(const json_t *o, const char *key)
{
    double v = num(o, key);
    return isfinite(v) ? v : 0;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

/* A double as an integer without undefined behaviour for any input. */
static long long to_ll(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2e18)
        return INT64_MAX;
    if (v <= -9.2e18)
        return INT64_MIN;
    return llround(v);
}

static json_int_t add_sat(json_int_t a, json_int_t b)
{
    json_int_t r;
    if (__builtin_add_overflow(a, b, &r))
        return a > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* ---- human units (a ring of buffers: several may appear in one printf) ---------------- */

static char *ring(void)
{
    static char bufs[32][48];
    static unsigned k;
    return bufs[k++ % 32];
}

static const char *fmt_sec(double s)
{
    char *b = ring();
    double a = fabs(s);
    if (!isfinite(s))
        snprintf(b, 48, "-");
    else if (a >= 1 || a == 0)
        snprintf(b, 48, "%.3f s", s);
    else if (a >= 1e-3)
        snprintf(b, 48, "%.3f ms", s * 1e3);
    else if (a >= 1e-6)
        snprintf(b, 48, "%.3f us", s * 1e6);
    else
        snprintf(b, 48, "%.0f ns", s * 1e9);
    return b;
}

static const char *fmt_bytes(double v)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    char *b = ring();
    if (!isfinite(v)) {
        snprintf(b, 48, "-");
        return b;
    }
    int u = 0;
    double a = fabs(v);
    while (a >= 1024 && u < 6) {
        a /= 1024;
        u++;
    }
    snprintf(b, 48, u ? "%s%.1f %s" : "%s%.0f %s", v < 0 ? "-" : "", a, unit[u]);
    return b;
}

static const char *fmt_count(double v)
{
    char *b = ring();
    if (!isfinite(v))
        snprintf(b, 48, "-");
    else if (fabs(v) < 1e15 && v == floor(v))
        snprintf(b, 48, "%.0f", v);
    else
        snprintf(b, 48, "%.4g", v);
    return b;
}

static const char *fmt_pct(double p)
{
    char *b = ring();
    if (isnan(p))
        snprintf(b, 48, "-");
    else if (isinf(p))
        snprintf(b, 48, p > 0 ? "new" : "gone");
    else
        snprintf(b, 48, "%+.1f%%", p);
    return b;
}

/* ---- aligned tables ----------------------------------------------------------------------- */

#define TCOLS 10
#define TNAME 72

typedef struct {
    int n;
    const char *head[TCOLS];
    const char *align; /* 'l' or 'r' per column */
    char **cells;
    size_t rows, cap;
} table_t;

static void t_init(table_t *t, const char *align, ...)
{
    memset(t, 0, sizeof *t);
    t->align = align;
    t->n = (int)strlen(align);
    va_list ap;
    va_start(ap, align);
    for (int i = 0; i < t->n; i++)
        t->head[i] = va_arg(ap, const char *);
    va_end(ap);
}

/* A copy of a cell that is safe on a terminal (control bytes shown as '?') and not too wide. */
static char *cell(const char *s)
{
    if (!s)
        s = "";
    size_t len = strnlen(s, 4096), keep = len > TNAME ? TNAME - 3 : len;
    char *c = malloc(keep + 4);
    if (!c)
        return NULL;
    for (size_t i = 0; i < keep; i++)
        c[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    strcpy(c + keep, len > keep ? "..." : "");
    return c;
}

static void t_row(table_t *t, ...)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, cap * (size_t)t->n * sizeof *c);
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, t);
    for (int i = 0; i < t->n; i++)
        t->cells[t->rows * (size_t)t->n + (size_t)i] = cell(va_arg(ap, const char *));
    va_end(ap);
    t->rows++;
}

/* UTF-8 aware width: continuation bytes take no column. */
static int width(const char *s)
{
    int w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void t_print(FILE *out, table_t *t)
{
    int w[TCOLS];
    for (int i = 0; i < t->n; i++)
        w[i] = width(t->head[i]);
    for (size_t r = 0; r < t->rows; r++)
        for (int i = 0; i < t->n; i++) {
            int cw = width(t->cells[r * (size_t)t->n + (size_t)i]);
            if (cw > w[i])
                w[i] = cw;
        }
    for (size_t r = 0; r <= t->rows; r++) {
        fputs("  ", out);
        for (int i = 0; i < t->n; i++) {
            const char *c = r == 0 ? t->head[i] : t->cells[(r - 1) * (size_t)t->n + (size_t)i];
            if (!c)
                c = "";
            int pad = w[i] - width(c);
            if (t->align[i] == 'r')
                fprintf(out, "%*s%s", pad, "", c);
            else if (i == t->n - 1)
                fputs(c, out);
            else
                fprintf(out, "%s%*s", c, pad, "");
            if (i < t->n - 1)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
    for (size_t k = 0; k < t->rows * (size_t)t->n; k++)
        free(t->cells[k]);
    free(t->cells);
    t->cells = NULL;
    t->rows = t->cap = 0;
}

/* ---- sorting helpers ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    double value;
    json_t *v;
} entry_t;

static int by_value_desc(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->value < y->value || (isnan(x->value) && !isnan(y->value)))
        return 1;
    if (x->value > y->value || (!isnan(x->value) && isnan(y->value)))
        return -1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* The entries of an object, sorted by a figure of each value, heaviest first. */
static entry_t *sorted_object(json_t *obj, const char *field, size_t *n)
{
    *n = json_object_size(obj);
    entry_t *e = calloc(*n ? *n : 1, sizeof *e);
    if (!e) {
        *n = 0;
        return NULL;
    }
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (k == *n)
            break;
        e[k++] = (entry_t){key, field ? num(v, field) : numv(v), v};
    }
    *n = k;
    qsort(e, k, sizeof *e, by_value_desc);
    return e;
}

/* ---- call sites ------------------------------------------------------------------------- */

/* One frame as text: the function, else module+offset. Characters that would break the folded
 * format (';' separates frames, newlines separate stacks) are replaced. */
static void frame_text(json_t *f, char *buf, size_t n)
{
    const char *sym = str(f, "symbol", NULL), *mod = str(f, "module", NULL);
    double off = num(f, "offset");
    const char *src = str(f, "source", NULL);
    if (sym && *sym && strcmp(sym, "??") != 0 && src) {
        snprintf(buf, n, "%s (%s)", sym, src);
    } else if (sym && *sym && strcmp(sym, "??") != 0) {
        snprintf(buf, n, "%s", sym);
    } else {
        const char *base = mod ? strrchr(mod, '/') : NULL;
        base = base ? base + 1 : mod;
        if (base && *base && strcmp(base, "??") != 0)
            snprintf(buf, n, "%s+0x%llx", base, (unsigned long long)to_ll(isnan(off) ? 0 : off));
        else
            snprintf(buf, n, "[unknown]");
    }
    for (char *p = buf; *p; p++)
        if (*p == ';' || *p == '\n' || *p == '\r')
            *p = ':';
}

/* ---- source lines ------------------------------------------------------------------------ */

extern char **environ;

/* The link-time address of a module offset: offset + the lowest PT_LOAD address (0 for most
 * shared objects and PIE, 0x400000 for a classic executable). -1 when module is no ELF file. */
static long long link_address(const char *module, unsigned long long offset)
{
    int fd = open(module, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    long long base = -1;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        eh.e_phnum < 256) {
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) !=
                (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_LOAD && (base < 0 || (long long)(ph.p_vaddr & ~0xfffull) < base))
                base = (long long)(ph.p_vaddr & ~0xfffull);
        }
    }
    close(fd);
    return base < 0 ? -1 : base + (long long)offset;
}

/* "file:line" of a frame from addr2line (binutils), when the module has debug information.
 * The module path comes from an untrusted report: it is passed as one argv word, never
 * through a shell. 0 when found. */
static int source_line(const char *module, unsigned long long offset, char *out, size_t n)
{
    long long addr = link_address(module, offset);
    int fds[2];
    if (addr < 0 || pipe(fds) != 0)
        return -1;
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)addr);
    char *argv[] = {"addr2line", "-e", (char *)module, hex, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    size_t len = 0;
    if (rc == 0) {
        ssize_t k;
        while (len < n - 1 && (k = read(fds[0], out + len, n - 1 - len)) > 0)
            len += (size_t)k;
        waitpid(pid, NULL, 0);
    }
    close(fds[0]);
    out[len] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (rc != 0 || !*out || out[0] == '?')
        return -1;
    const char *slash = strrchr(out, '/'); /* the file's name is enough in a table */
    if (slash)
        memmove(out, slash + 1, strlen(slash + 1) + 1);
    char *disc = strstr(out, " (discriminator");
    if (disc)
        *disc = '\0';
    return 0;
}

/* Adds "source" (file:line) to a site's innermost frames, for the tables. */
static void annotate_source(json_t *site, size_t frames)
{
    json_t *fr = json_object_get(site, "frames");
    for (size_t i = 0; i < json_array_size(fr) && i < frames; i++) {
        json_t *f = json_array_get(fr, i);
        const char *mod = str(f, "module", NULL);
        double off = num(f, "offset");
        char line[512];
        if (mod && *mod == '/' && !isnan(off) && !json_object_get(f, "source") &&
            source_line(mod, (unsigned long long)to_ll(off), line, sizeof line) == 0)
            json_object_set_new(f, "source", json_string(line));
    }
}

/* Appends text to a growing string; NULL (and the string freed) when memory runs out. */
static char *append(char *s, size_t *len, size_t *cap, const char *sep, const char *text)
{
    size_t need = *len + strlen(sep) + strlen(text) + 1;
    if (need > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < need)
            c *= 2;
        char *t = realloc(s, c);
        if (!t) {
            free(s);
            return NULL;
        }
        s = t;
        *cap = c;
    }
    *len += (size_t)sprintf(s + *len, "%s%s", *len ? sep : "", text);
    return s;
}

/* A site's frames as text joined by sep: every frame outermost first (the folded-stack order;
 * frames are stored innermost first), or with innermost > 0, that many innermost first (where
 * the allocation happened, for a table). */
static char *site_stack(json_t *site, const char *sep, int innermost)
{
    json_t *frames = json_object_get(site, "frames");
    size_t n = json_array_size(frames), len = 0, cap = 0;
    size_t shown = innermost > 0 && (size_t)innermost < n ? (size_t)innermost : n;
    char *s = NULL;
    for (size_t i = 0; i < shown; i++) {
        char fr[512];
        frame_text(json_array_get(frames, innermost > 0 ? i : n - 1 - i), fr, sizeof fr);
        if (!(s = append(s, &len, &cap, sep, fr)))
            return NULL;
    }
    if (s && innermost > 0 && shown < n)
        s = append(s, &len, &cap, "", " < ...");
    return s ? s : strdup("[no frames]");
}

static void top_sites(FILE *out, json_t *r, size_t top, int by_live_too)
{
    json_t *sites = json_object_get(json_object_get(r, "heap"), "sites");
    size_t n = json_array_size(sites);
    if (!n) {
        fprintf(out, "\n  call sites: none in this report (PFERRIS_SAMPLE=0, or sampling was not "
                     "available)\n");
        return;
    }
    entry_t *e = calloc(n, sizeof *e);
    if (!e)
        return;
    for (int pass = 0; pass < 1 + !!by_live_too; pass++) {
        const char *field = pass ? "live_bytes" : "bytes";
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_array_get(sites, i);
            e[i] = (entry_t){"", num(s, field), s};
        }
        qsort(e, n, sizeof *e, by_value_desc);
        fprintf(out, "\n  heaviest call sites by %s\n", pass ? "live bytes at exit" : "bytes");
        table_t t;
        t_init(&t, "rrrrl", "#", pass ? "live" : "bytes", "allocations", pass ? "bytes" : "live",
               "where (innermost first)");
        for (size_t i = 0; i < n && i < top; i++) {
            if (pass && !(e[i].value > 0))
                break;
            annotate_source(e[i].v, 3);
            char *where = site_stack(e[i].v, " < ", 3);
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i + 1);
            t_row(&t, idx, fmt_bytes(num(e[i].v, pass ? "live_bytes" : "bytes")),
                  fmt_count(round(num(e[i].v, "allocations"))),
                  fmt_bytes(num(e[i].v, pass ? "bytes" : "live_bytes")), where);
            free(where);
        }
        t_print(out, &t);
    }
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
        const char *name = str(n, "name", "?");
        double s = num0(n, "self");
        *sum += s;
        json_t *cur = json_object_get(acc, name);
        json_object_set_new(acc, name, json_real(numv(cur) == numv(cur) && cur ? numv(cur) + s : s));
        self_by_name(json_object_get(n, "children"), acc, sum, depth + 1);
    }
}

static void summary(FILE *out, const char *file, json_t *r, size_t top)
{
    fprintf(out, "pferris report: %s\n", file);
    json_t *procs = json_object_get(r, "processes");
    json_t *cmd = json_object_get(r, "command");
    if (json_array_size(cmd)) {
        fputs("  command     ", out);
        size_t i;
        json_t *w;
        json_array_foreach(cmd, i, w)
        {
            char *c = cell(json_string_value(w));
            fprintf(out, "%s%s", i ? " " : "", c ? c : "");
            free(c);
        }
        fputc('\n', out);
    }
    if (json_is_array(procs)) {
        size_t nh = json_array_size(json_object_get(json_object_get(r, "merged"), "hosts"));
        fprintf(out, "  merged      %zu processes on %zu host%s\n", json_array_size(procs), nh,
                nh == 1 ? "" : "s");
    } else {
        fprintf(out, "  process     pid %s", fmt_count(num(r, "pid")));
        if (json_is_integer(json_object_get(r, "rank")))
            fprintf(out, ", rank %s", fmt_count(num(r, "rank")));
        char *h = cell(str(r, "hostname", NULL));
        if (h && *h)
            fprintf(out, ", host %s", h);
        free(h);
        char *st = cell(str(r, "start_time", NULL));
        if (st && *st)
            fprintf(out, ", started %s", st);
        free(st);
        fputc('\n', out);
    }
    json_t *threads = json_object_get(r, "threads"), *workers = json_object_get(r, "workers");
    fprintf(out, "  elapsed     %s", fmt_sec(num(r, "total_elapsed")));
    if (json_is_array(threads))
        fprintf(out, "; %zu threads, at most %s at once", json_array_size(threads),
                fmt_count(num(workers, "max_concurrent_threads")));
    if (json_is_integer(json_object_get(workers, "requested")))
        fprintf(out, "; %s workers requested", fmt_count(num(workers, "requested")));
    fputc('\n', out);

    /* The seed's "bottleneck identification": where the timed time goes itself. */
    json_t *stats = json_object_get(r, "timing_stats");
    json_t *self = json_object();
    double self_sum = 0;
    self_by_name(json_object_get(r, "timing_tree"), self, &self_sum, 0);
    size_t ns = 0;
    entry_t *se = sorted_object(self, NULL, &ns);
    if (ns && self_sum > 0 && se[0].value > 0) {
        char *bn = cell(se[0].name);
        fprintf(out, "  bottleneck  \"%s\": %.1f%% of all timed time is spent in it (%s of %s)\n",
                bn ? bn : "?", 100 * se[0].value / self_sum, fmt_sec(se[0].value),
                fmt_sec(self_sum));
        free(bn);
    } else if (!json_object_size(stats)) {
        fputs("  bottleneck  no timers: add PFERRIS_SCOPE / PFERRIS_TIMER_START markers to see "
              "where the time goes\n",
              out);
    }
    free(se);

    size_t n;
    entry_t *e = sorted_object(stats, "total", &n);
    if (n) {
        fputc('\n', out);
        table_t t;
        t_init(&t, "lrrrrrrr", "timer", "count", "total", "self", "mean", "min", "max",
               "% self");
        for (size_t i = 0; i < n; i++) {
            json_t *s = e[i].v;
            double sf = numv(json_object_get(self, e[i].name));
            t_row(&t, e[i].name, fmt_count(num(s, "count")), fmt_sec(num(s, "total")),
                  fmt_sec(sf), fmt_sec(num(s, "mean")), fmt_sec(num(s, "min")),
                  fmt_sec(num(s, "max")),
                  self_sum > 0 && isfinite(sf) ? fmt_pct(100 * sf / self_sum) + 1 : "-");
        }
        t_print(out, &t);
    }
    free(e);
    json_decref(self);

    double el = num(r, "total_elapsed");
    e = sorted_object(json_object_get(r, "counters"), NULL, &n);
    if (n) {
        fputc('\n', out);
        table_t t;
        t_init(&t, "lrr", "counter", "value", "per second");
        for (size_t i = 0; i < n; i++) {
            char *ps = ring();
            snprintf(ps, 48, el > 0 ? "%.1f" : "-", e[i].value / el);
            t_row(&t, e[i].name, fmt_count(e[i].value), ps);
        }
        t_print(out, &t);
    }
    free(e);

    e = sorted_object(json_object_get(r, "memory_stats"), "peak", &n);
    if (n) {
        fputc('\n', out);
        table_t t;
        t_init(&t, "lrr", "memory record", "last", "peak");
        for (size_t i = 0; i < n; i++)
            t_row(&t, e[i].name, fmt_bytes(num(e[i].v, "last")), fmt_bytes(num(e[i].v, "peak")));
        t_print(out, &t);
    }
    free(e);

    json_t *heap = json_object_get(r, "heap");
    if (json_is_object(heap) && !json_is_false(json_object_get(heap, "enabled"))) {
        fprintf(out, "\n  heap        %s allocations (%s), %s frees; peak %s, live at exit %s\n",
                fmt_count(num(heap, "allocations")), fmt_bytes(num(heap, "bytes_allocated")),
                fmt_count(num(heap, "frees")), fmt_bytes(num(heap, "peak_bytes")),
                fmt_bytes(num(heap, "live_bytes")));
        top_sites(out, r, top, 1);
    } else if (json_is_object(heap)) {
        fputs("\n  heap        not tracked (PFERRIS_HEAP=0)\n", out);
    }

    size_t nt = json_array_size(threads);
    if (nt) {
        entry_t *te = calloc(nt, sizeof *te);
        for (size_t i = 0; te && i < nt; i++) {
            json_t *th = json_array_get(threads, i);
            te[i] = (entry_t){"", num(th, "cpu_time"), th};
        }
        if (te) {
            qsort(te, nt, sizeof *te, by_value_desc);
            fputc('\n', out);
            table_t t;
            int merged = json_is_array(procs);
            t_init(&t, merged ? "lrrrrrrr" : "lrrrrrr", "thread", merged ? "pid" : "tid",
                   merged ? "tid" : "start", merged ? "start" : "end", merged ? "end" : "cpu",
                   merged ? "cpu" : "allocs", merged ? "allocs" : "allocated", "allocated");
            for (size_t i = 0; i < nt && i < 32; i++) {
                json_t *th = te[i].v;
                if (merged)
                    t_row(&t, str(th, "name", "?"), fmt_count(num(th, "pid")),
                          fmt_count(num(th, "tid")), fmt_sec(num(th, "start")),
                          fmt_sec(num(th, "end")), fmt_sec(num(th, "cpu_time")),
                          fmt_count(num(th, "allocations")),
                          fmt_bytes(num(th, "bytes_allocated")));
                else
                    t_row(&t, str(th, "name", "?"), fmt_count(num(th, "tid")),
                          fmt_sec(num(th, "start")), fmt_sec(num(th, "end")),
                          fmt_sec(num(th, "cpu_time")), fmt_count(num(th, "allocations")),
                          fmt_bytes(num(th, "bytes_allocated")));
            }
            t_print(out, &t);
            if (nt > 32)
                fprintf(out, "  ... and %zu more threads (by CPU time)\n", nt - 32);
            free(te);
        }
    }

    if (json_is_array(procs) && json_array_size(procs)) {
        fputc('\n', out);
        table_t t;
        t_init(&t, "rrlrrrl", "rank", "pid", "host", "elapsed", "heap peak", "timed", "file");
        size_t i;
        json_t *p;
        json_array_foreach(procs, i, p)
        {
            double timed = 0;
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(p, "timings"), k, v) timed += num0(v, NULL);
            (void)k;
            t_row(&t, json_is_integer(json_object_get(p, "rank")) ? fmt_count(num(p, "rank")) : "-",
                  fmt_count(num(p, "pid")), str(p, "hostname", "?"),
                  fmt_sec(num(p, "total_elapsed")),
                  fmt_bytes(num(json_object_get(p, "heap"), "peak_bytes")), fmt_sec(timed),
                  str(p, "file", ""));
        }
        t_print(out, &t);
    }

    json_t *dropped = json_object_get(r, "dropped");
    double dt = num0(dropped, "timer_starts"), dn = num0(dropped, "names"),
           di = num0(json_object_get(json_object_get(r, "timeline"), "dropped"), "intervals");
    if (dt > 0 || dn > 0 || di > 0)
        fprintf(out,
                "\n  note        not everything fit: %s timer starts, %s names, %s timeline "
                "intervals dropped\n",
                fmt_count(dt), fmt_count(dn), fmt_count(di));
    fputc('\n', out);
}

/* ---- the processes of a report (a merged report holds several) ---------------------------- */

static size_t nprocs(json_t *r)
{
    json_t *p = json_object_get(r, "processes");
    return json_is_array(p) ? json_array_size(p) : 1;
}

static json_t *proc(json_t *r, size_t i)
{
    json_t *p = json_object_get(r, "processes");
    return json_is_array(p) ? json_array_get(p, i) : r;
}

static const char *program_name(json_t *r)
{
    const char *a0 = json_string_value(json_array_get(json_object_get(r, "command"), 0));
    if (!a0 || !*a0)
        return "process";
    const char *b = strrchr(a0, '/');
    return b && b[1] ? b + 1 : a0;
}

/* ---- --flame ------------------------------------------------------------------------------ */

typedef struct {
    json_t *acc; /* folded stack -> integer */
} folded_t;

static void fold_add(folded_t *f, const char *stack, long long v)
{
    if (v <= 0 || !stack)
        return;
    json_t *cur = json_object_get(f->acc, stack);
    json_object_set_new(f->acc, stack, json_integer(add_sat(json_integer_value(cur), v)));
}

static void clean_frame(char *s)
{
    for (; *s; s++)
        if (*s == ';' || *s == '\n' || *s == '\r')
            *s = ':';
}

static void fold_tree(folded_t *f, json_t *nodes, char *path, size_t cap, int depth)
{
    size_t i;
    json_t *n;
    if (depth > 4096)
        return;
    json_array_foreach(nodes, i, n)
    {
        size_t len = strlen(path);
        char name[512];
        snprintf(name, sizeof name, "%s", str(n, "name", "?"));
        clean_frame(name);
        snprintf(path + len, cap - len, "%s%s", len ? ";" : "", name);
        fold_add(f, path, to_ll(num0(n, "self") * 1e6));
        fold_tree(f, json_object_get(n, "children"), path, cap, depth + 1);
        path[len] = '\0';
    }
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int flame(FILE *out, json_t *r, const char *file, int heap)
{
    folded_t f = {json_object()};
    size_t np = nprocs(r);
    size_t cap = 1 << 16;
    char *path = malloc(cap);
    if (!path || !f.acc) {
        free(path);
        json_decref(f.acc);
        return 2;
    }
    for (size_t k = 0; k < np; k++) {
        json_t *p = proc(r, k);
        /* A merged report gets one root frame per process, so ranks stay apart. */
        char root[128] = "";
        if (np > 1 || json_is_array(json_object_get(r, "processes"))) {
            if (json_is_integer(json_object_get(p, "rank")))
                snprintf(root, sizeof root, "rank %s", fmt_count(num(p, "rank")));
            else
                snprintf(root, sizeof root, "%s %s", program_name(p), fmt_count(num(p, "pid")));
            clean_frame(root);
        }
        snprintf(path, cap, "%s", root);
        if (!heap) {
            fold_tree(&f, json_object_get(p, "timing_tree"), path, cap, 0);
            continue;
        }
        json_t *h = json_object_get(p, "heap");
        json_t *sites = json_object_get(h, "sites");
        double total = num0(h, "bytes_allocated"), attributed = 0;
        if (json_array_size(sites)) {
            size_t i;
            json_t *s;
            json_array_foreach(sites, i, s)
            {
                char *st = site_stack(s, ";", 0);
                if (!st)
                    continue;
                snprintf(path, cap, "%s%s%s", root, *root ? ";" : "", st);
                long long v = to_ll(num0(s, "bytes"));
                fold_add(&f, path, v);
                attributed += (double)(v > 0 ? v : 0);
                free(st);
            }
            /* Sampled sites estimate; what they leave of the exact total is shown as such. */
            if (total > attributed) {
                snprintf(path, cap, "%s%s[not sampled]", root, *root ? ";" : "");
                fold_add(&f, path, to_ll(total - attributed));
            }
        } else {
            /* No call sites: bytes by thread, which sum exactly to the report's bytes. */
            size_t i;
            json_t *t;
            json_array_foreach(json_object_get(p, "threads"), i, t)
            {
                char name[64];
                snprintf(name, sizeof name, "%s", str(t, "name", "?"));
                clean_frame(name);
                snprintf(path, cap, "%s%s%s;%s (%s)", root, *root ? ";" : "", program_name(p),
                         *name ? name : "thread", fmt_count(num(t, "tid")));
                fold_add(&f, path, to_ll(num0(t, "bytes_allocated")));
            }
        }
    }
    free(path);
    size_t n = json_object_size(f.acc), k = 0;
    if (!n)
        say("%s: no %s to fold (%s)", file, heap ? "heap bytes" : "timer self time",
            heap ? "heap tracking off, or nothing allocated"
                 : "the program used no timer markers");
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach(f.acc, key, v) if (keys && k < n) keys[k++] = key;
    if (keys) {
        qsort(keys, k, sizeof *keys, by_string);
        for (size_t i = 0; i < k; i++)
            fprintf(out, "%s %lld\n", keys[i],
                    (long long)json_integer_value(json_object_get(f.acc, keys[i])));
    }
    free(keys);
    json_decref(f.acc);
    return 0;
}

/* ---- --trace ------------------------------------------------------------------------------ */

/* Seconds since the epoch of an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS(.mmm)Z"; NAN if not. */
static double iso_epoch(const char *s)
{
    int y, mo, d, h, mi;
    double sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
        return NAN;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61))
        return NAN;
    /* Days from civil (Howard Hinnant's algorithm): no time zone files, no locale. */
    long long yy = y - (mo <= 2);
    long long era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400, mp = (mo + 9) % 12;
    long long doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return (double)days * 86400 + h * 3600 + mi * 60 + sec;
}

static json_t *event(const char *ph, const char *name, double pid, double tid, double ts)
{
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(name ? name : "?"));
    json_object_set_new(e, "ph", json_string(ph));
    json_object_set_new(e, "pid", json_integer(to_ll(pid)));
    if (!isnan(tid))
        json_object_set_new(e, "tid", json_integer(to_ll(tid)));
    if (!isnan(ts))
        json_object_set_new(e, "ts", json_real(isfinite(ts) ? ts : 0));
    return e;
}

static void counter_event(json_t *ev, const char *name, double pid, double ts, const char *arg,
                          double value)
{
    json_t *e = event("C", name, pid, NAN, ts);
    json_t *a = json_object();
    json_object_set_new(a, arg, json_integer(to_ll(value)));
    json_object_set_new(e, "args", a);
    json_array_append_new(ev, e);
}

static int trace(FILE *out, json_t **reports, const char **files, int n)
{
    json_t *ev = json_array();
    /* All processes on one time axis: each report's clock starts at its process start. */
    double first = INFINITY;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < nprocs(reports[i]); k++) {
            double s = iso_epoch(str(proc(reports[i], k), "start_time", NULL));
            if (s < first)
                first = s;
            total++;
        }
    json_t *used_pids = json_object();
    size_t seq = 0;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < nprocs(reports[i]); k++, seq++) {
            json_t *p = proc(reports[i], k);
            double start = iso_epoch(str(p, "start_time", NULL));
            double off = isfinite(first) && isfinite(start) ? (start - first) * 1e6 : 0;
            /* Perfetto keys processes by pid: two hosts may reuse one, so keep them apart. */
            double pid = num(p, "pid");
            char pk[32];
            snprintf(pk, sizeof pk, "%lld", to_ll(pid));
            if (!isfinite(pid) || json_object_get(used_pids, pk))
                pid = 10000000.0 + (double)seq;
            snprintf(pk, sizeof pk, "%lld", to_ll(pid));
            json_object_set_new(used_pids, pk, json_true());

            char pname[256];
            if (json_is_integer(json_object_get(p, "rank")))
                snprintf(pname, sizeof pname, "%s rank %s (pid %s)", program_name(p),
                         fmt_count(num(p, "rank")), fmt_count(num(p, "pid")));
            else
                snprintf(pname, sizeof pname, "%s (pid %s%s%s)", program_name(p),
                         fmt_count(num(p, "pid")), total > 1 ? ", " : "",
                         total > 1 ? str(p, "hostname", "") : "");
            json_t *m = event("M", "process_name", pid, NAN, NAN);
            json_object_set_new(m, "args", json_pack("{ss}", "name", pname));
            json_array_append_new(ev, m);
            if (json_is_integer(json_object_get(p, "rank"))) {
                m = event("M", "process_sort_index", pid, NAN, NAN);
                json_object_set_new(m, "args",
                                    json_pack("{sI}", "sort_index",
                                              (json_int_t)to_ll(num(p, "rank"))));
                json_array_append_new(ev, m);
            }
            size_t j;
            json_t *t;
            json_array_foreach(json_object_get(p, "threads"), j, t)
            {
                m = event("M", "thread_name", pid, num(t, "tid"), NAN);
                json_object_set_new(m, "args", json_pack("{ss}", "name", str(t, "name", "?")));
                json_array_append_new(ev, m);
                m = event("M", "thread_sort_index", pid, num(t, "tid"), NAN);
                json_object_set_new(m, "args", json_pack("{sI}", "sort_index", (json_int_t)j));
                json_array_append_new(ev, m);
            }
            json_t *tl = json_object_get(p, "timeline");
            json_array_foreach(json_object_get(tl, "intervals"), j, t)
            {
                double s = num(t, "start"), e = num(t, "end");
                if (!isfinite(s) || !isfinite(e))
                    continue;
                json_t *x = event("X", str(t, "name", "?"), pid, num(t, "tid"), off + s * 1e6);
                json_object_set_new(x, "cat", json_string("timer"));
                json_object_set_new(x, "dur", json_real(e > s ? (e - s) * 1e6 : 0));
                json_array_append_new(ev, x);
            }
            json_array_foreach(json_object_get(tl, "samples"), j, t)
            {
                double ts = off + num0(t, "t") * 1e6;
                counter_event(ev, "heap", pid, ts, "live_bytes", num0(t, "live_bytes"));
                counter_event(ev, "threads", pid, ts, "alive", num0(t, "threads"));
                const char *key;
                json_t *v;
                json_object_foreach(json_object_get(t, "counters"), key, v)
                    counter_event(ev, key, pid, ts, "value", numv(v));
            }
            /* Every counter's final value at the end, and the heap's when nothing was sampled. */
            double end = off + num0(p, "total_elapsed") * 1e6;
            if (!json_array_size(json_object_get(tl, "samples")))
                counter_event(ev, "heap", pid, end, "live_bytes",
                              num0(json_object_get(p, "heap"), "live_bytes"));
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(p, "counters"), key, v)
                counter_event(ev, key, pid, end, "value", numv(v));
        }
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

/* ---- --svg -------------------------------------------------------------------------------- */


static const char *palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
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

static int svg(FILE *out, json_t *r, const char *file)
{
    if (json_is_array(json_object_get(r, "processes"))) {
        say("%s: is a merged report; --svg draws one process (give one of its reports)", file);
        return 2;
    }
    const double W = 1100, L = 190, R = 30, CH = 180;
    json_t *threads = json_object_get(r, "threads");
    json_t *tl = json_object_get(r, "timeline");
    json_t *samples = json_object_get(tl, "samples"), *ivals = json_object_get(tl, "intervals");
    size_t nt = json_array_size(threads);
    if (nt > 200)
        nt = 200; /* a picture of more lanes is not readable; the rest are counted below */
    const double lane = 20, top = 56, lanes_y = top + CH + 50;
    double H = lanes_y + (double)(nt ? nt : 1) * lane + 80;
    double span = num0(r, "total_elapsed");
    size_t i;
    json_t *t;
    json_array_foreach(threads, i, t) if (num0(t, "end") > span) span = num0(t, "end");
    json_array_foreach(samples, i, t) if (num0(t, "t") > span) span = num0(t, "t");
    if (!(span > 0))
        span = 1;
    double pw = W - L - R;
#define XOF(s) (L + pw * ((s) < 0 ? 0 : (s) > span ? 1 : (s) / span))

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fputs("<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">pferris: ", out);
    json_t *cmd = json_object_get(r, "command");
    json_array_foreach(cmd, i, t)
    {
        if (i == 8) {
            fputs(" ...", out);
            break;
        }
        if (i)
            fputc(' ', out);
        pf_svg_text(out, json_string_value(t));
    }
    fprintf(out, "</text>\n<text x=\"10\" y=\"40\" fill=\"#555\">pid %s, elapsed %s, %zu "
                 "threads, heap peak %s, %s allocations</text>\n",
            fmt_count(num(r, "pid")), fmt_sec(num(r, "total_elapsed")),
            json_array_size(threads), fmt_bytes(num(json_object_get(r, "heap"), "peak_bytes")),
            fmt_count(num(json_object_get(r, "heap"), "allocations")));

    /* The heap chart: live bytes over time, as a step line (the value holds until the next). */
    double maxb = 0;
    json_array_foreach(samples, i, t) if (num0(t, "live_bytes") > maxb) maxb =
        num0(t, "live_bytes");
    double ystep = pf_svg_nice_step(maxb, 4), ymax = maxb > 0 ? ceil(maxb / ystep) * ystep : 1;
    fprintf(out, "<text x=\"10\" y=\"%.0f\" font-weight=\"bold\">live heap</text>\n", top + 12);
    fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f7f7f7\" "
                 "stroke=\"#ccc\"/>\n",
            L, top, pw, CH);
    for (double v = 0; maxb > 0 && v <= ymax + ystep / 2; v += ystep) {
        double y = top + CH - CH * v / ymax;
        fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
                     "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
                L, y, L + pw, y, L - 6, y + 4, fmt_bytes(v));
    }
    size_t nsamp = json_array_size(samples);
    if (nsamp) {
        fputs("<path fill=\"#4e79a7\" fill-opacity=\"0.25\" stroke=\"#4e79a7\" "
              "stroke-width=\"1.5\" d=\"",
              out);
        double py = top + CH;
        fprintf(out, "M%.1f,%.1f", L, py);
        json_array_foreach(samples, i, t)
        {
            double x = XOF(num0(t, "t")), y = top + CH - CH * num0(t, "live_bytes") / ymax;
            fprintf(out, " L%.1f,%.1f L%.1f,%.1f", x, py, x, y);
            py = y;
        }
        fprintf(out, " L%.1f,%.1f L%.1f,%.1f Z\"/>\n", L + pw, py, L + pw, top + CH);
    } else {
        fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#888\">no heap "
                     "samples in this report (the timeline was off: PFERRIS_INTERVAL_MS=0)"
                     "</text>\n",
                L + pw / 2, top + CH / 2);
    }
    /* The time axis, under the chart and again under the lanes. */
    double xstep = pf_svg_nice_step(span, 8);
    for (double s = 0; s <= span + xstep / 1000; s += xstep) {
        double x = XOF(s);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                     "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
                x, top + CH, x, lanes_y + (double)nt * lane, x, top + CH + 16, fmt_sec(s));
    }

    /* Thread lanes: the thread's life as a grey bar, its timer intervals on top, nested ones
     * thinner. Intervals narrower than half a pixel are merged with their neighbour of the
     * same name, so a run of a million intervals stays a picture of a few thousand shapes. */
    fprintf(out, "<text x=\"10\" y=\"%.0f\" font-weight=\"bold\">threads and timers</text>\n",
            lanes_y - 12);
    /* Every interval, sorted by thread once: each lane then takes its own run of them. */
    size_t niv = json_array_size(ivals), nall = 0;
    ivl_t *all = calloc(niv ? niv : 1, sizeof *all);
    json_t *e;
    size_t j;
    json_array_foreach(ivals, j, e)
    {
        double s = num(e, "start"), en = num(e, "end"), tid = num(e, "tid");
        if (all && isfinite(s) && isfinite(en) && isfinite(tid))
            all[nall++] = (ivl_t){tid, s, en > s ? en : s, str(e, "name", "?"), 0};
    }
    if (all)
        qsort(all, nall, sizeof *all, by_start);
    json_t *legend = json_object();
    for (size_t k = 0; k < nt; k++) {
        json_t *th = json_array_get(threads, k);
        double y = lanes_y + (double)k * lane;
        double tid = num(th, "tid");
        fputs("<text x=\"10\" y=\"", out);
        fprintf(out, "%.1f\">", y + 14);
        char label[64];
        snprintf(label, sizeof label, "%.20s (%s)", str(th, "name", "?"), fmt_count(tid));
        pf_svg_text(out, label);
        fputs("</text>\n", out);
        double x0 = XOF(num0(th, "start")), x1 = XOF(num0(th, "end"));
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"#e4e4e4\">"
                     "<title>",
                x0, y + 2, x1 - x0 > 1 ? x1 - x0 : 1, lane - 4);
        pf_svg_text(out, label);
        fprintf(out, ": %s to %s, CPU %s</title></rect>\n", fmt_sec(num(th, "start")),
                fmt_sec(num(th, "end")), fmt_sec(num(th, "cpu_time")));
        if (!all)
            continue;
        size_t lo = 0, hi = nall; /* the first interval of this thread */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (all[mid].tid < tid)
                lo = mid + 1;
            else
                hi = mid;
        }
        ivl_t *iv = all + lo;
        size_t m = 0;
        while (lo + m < nall && all[lo + m].tid == tid)
            m++;
        double ends[8];
        int depth = 0;
        struct {
            double x0, x1;
            const char *name;
            size_t count;
            double sum;
        } open[8] = {{0}};
        for (size_t a = 0; a <= m; a++) {
            if (a < m) {
                while (depth > 0 && ends[depth - 1] <= iv[a].start)
                    depth--;
                iv[a].depth = depth < 8 ? depth : 7;
                if (depth < 8)
                    ends[depth++] = iv[a].end;
            }
            /* Flush pending shapes that the next interval does not extend. */
            for (int d = 0; d < 8; d++) {
                int extend = a < m && iv[a].depth == d && open[d].count &&
                             strcmp(open[d].name, iv[a].name) == 0 &&
                             XOF(iv[a].start) <= open[d].x1 + 0.5;
                if (open[d].count && (a == m || (iv[a].depth == d && !extend))) {
                    double h = lane - 4 - 3 * d;
                    if (h < 3)
                        h = 3;
                    unsigned c = name_hash(open[d].name) % 10;
                    fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                                 "fill=\"%s\"><title>",
                            open[d].x0, y + 2 + (lane - 4 - h) / 2,
                            open[d].x1 - open[d].x0 > 0.3 ? open[d].x1 - open[d].x0 : 0.3, h,
                            palette[c]);
                    pf_svg_text(out, open[d].name);
                    if (open[d].count > 1)
                        fprintf(out, ": %zu intervals, %s in all</title></rect>\n",
                                open[d].count, fmt_sec(open[d].sum));
                    else
                        fprintf(out, ": %s</title></rect>\n", fmt_sec(open[d].sum));
                    open[d].count = 0;
                }
                if (a < m && iv[a].depth == d) {
                    if (extend) {
                        double x = XOF(iv[a].end);
                        if (x > open[d].x1)
                            open[d].x1 = x;
                        open[d].count++;
                        open[d].sum += iv[a].end - iv[a].start;
                    } else {
                        open[d].x0 = XOF(iv[a].start);
                        open[d].x1 = XOF(iv[a].end);
                        open[d].name = iv[a].name;
                        open[d].count = 1;
                        open[d].sum = iv[a].end - iv[a].start;
                    }
                }
            }
            if (a < m)
                json_object_set_new(legend, iv[a].name, json_true());
        }
    }
    free(all);
    double ly = lanes_y + (double)nt * lane + 24;
    if (json_array_size(threads) > nt)
        fprintf(out, "<text x=\"10\" y=\"%.0f\" fill=\"#555\">... and %zu more threads</text>\n",
                ly - 6, json_array_size(threads) - nt);
    double lx = L;
    const char *key;
    json_t *v;
    size_t shown = 0;
    json_object_foreach(legend, key, v)
    {
        if (shown++ == 12 || lx > W - 120)
            break;
        fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                     "<text x=\"%.0f\" y=\"%.0f\">",
                lx, ly, palette[name_hash(key) % 10], lx + 16, ly + 11);
        char nm[40];
        snprintf(nm, sizeof nm, "%.30s", key);
        pf_svg_text(out, nm);
        fputs("</text>\n", out);
        lx += 24 + 7.0 * (double)width(nm);
    }
    double dropped = num0(json_object_get(tl, "dropped"), "intervals");
    if (dropped > 0)
        fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#a33\">%s later intervals were not "
                     "recorded (the per-thread timeline buffer was full)</text>\n",
                L, ly + 30, fmt_count(dropped));
    if (!niv)
        fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#888\">no timer intervals (no markers, "
                     "or PFERRIS_TIMELINE=0)</text>\n",
                L, ly + 11);
    json_decref(legend);
    fputs("</svg>\n", out);
#undef XOF
    return 0;
}

/* ---- --diff ------------------------------------------------------------------------------- */

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
    dput(d, "process", "elapsed", U_SEC, after, num0(r, "total_elapsed"));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(r, "timings"), key, v)
        dput(d, "timer", key, U_SEC, after, num0(v, NULL));
    json_object_foreach(json_object_get(r, "counters"), key, v)
        dput(d, "counter", key, U_COUNT, after, num0(v, NULL));
    json_t *ms = json_object_get(r, "memory_stats");
    json_object_foreach(json_object_get(r, "memory_usage"), key, v)
    {
        json_t *s = json_object_get(ms, key);
        dput(d, "memory", key, U_BYTES, after, s ? num0(s, "peak") : num0(v, NULL));
    }
    json_t *h = json_object_get(r, "heap");
    if (json_is_object(h)) {
        static const struct {
            const char *key;
            int unit;
        } hk[] = {{"allocations", U_COUNT}, {"bytes_allocated", U_BYTES},
                  {"peak_bytes", U_BYTES},  {"live_bytes", U_BYTES}};
        for (size_t i = 0; i < sizeof hk / sizeof hk[0]; i++)
            if (json_object_get(h, hk[i].key))
                dput(d, "heap", hk[i].key, hk[i].unit, after, num0(h, hk[i].key));
    }
    size_t i;
    json_array_foreach(json_object_get(h, "sites"), i, v)
    {
        char *st = site_stack(v, ";", 0);
        if (st)
            dput(d, "site", st, U_BYTES, after, num0(v, "bytes"));
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

static const char *fmt_unit(int unit, double v)
{
    return unit == U_SEC ? fmt_sec(v) : unit == U_BYTES ? fmt_bytes(v) : fmt_count(v);
}

static json_t *jnum(double v)
{
    if (!isfinite(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static int diff(FILE *out, json_t *a, json_t *b, const char *fa, const char *fb, int as_json,
                double fail_above)
{
    dtab_t d = {.index = json_object()};
    dcollect(&d, a, 0);
    dcollect(&d, b, 1);
    for (size_t i = 0; i < d.n; i++) {
        drow_t *r = &d.r[i];
        double x = isnan(r->before) ? 0 : r->before, y = isnan(r->after) ? 0 : r->after;
        r->change = y - x;
        if (x != 0)
            r->pct = 100 * (y - x) / fabs(x);
        else
            r->pct = y > 0 ? INFINITY : y < 0 ? -INFINITY : 0;
        if (isnan(r->after) && !isnan(r->before))
            r->pct = -INFINITY; /* gone: at the bottom */
    }
    qsort(d.r, d.n, sizeof *d.r, by_growth);
    size_t crossed = 0;
    for (size_t i = 0; i < d.n; i++) {
        drow_t *r = &d.r[i];
        /* Only a figure present before and after can cross: a new timer is not a regression. */
        if (fail_above >= 0 && isfinite(r->pct) && r->pct > fail_above && !isnan(r->before) &&
            !isnan(r->after))
            crossed++;
    }
    if (as_json) {
        json_t *rows = json_array();
        for (size_t i = 0; i < d.n; i++) {
            drow_t *r = &d.r[i];
            double x = isnan(r->before) ? 0 : r->before;
            json_t *o = json_object();
            json_object_set_new(o, "kind", json_string(r->kind));
            json_object_set_new(o, "name", json_string(r->name ? r->name : "?"));
            json_object_set_new(o, "unit", json_string(r->unit == U_SEC     ? "s"
                                                       : r->unit == U_BYTES ? "bytes"
                                                                            : "count"));
            json_object_set_new(o, "before", jnum(r->before));
            json_object_set_new(o, "after", jnum(r->after));
            json_object_set_new(o, "change", jnum(r->change));
            json_object_set_new(o, "ratio", x != 0 && !isnan(r->after) ? json_real(r->after / x)
                                                                        : json_null());
            json_object_set_new(o, "percent", isfinite(r->pct) ? json_real(r->pct) : json_null());
            json_object_set_new(o, "status", json_string(isnan(r->before) ? "new"
                                                         : isnan(r->after) ? "gone"
                                                                           : "both"));
            json_array_append_new(rows, o);
        }
        json_t *doc = json_pack("{ssssso}", "before", fa, "after", fb, "rows", rows);
        if (fail_above >= 0) {
            json_object_set_new(doc, "fail_above", json_real(fail_above));
            json_object_set_new(doc, "crossed", json_integer((json_int_t)crossed));
        }
        json_dumpf(doc, out, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
        fputc('\n', out);
        json_decref(doc);
    } else {
        fprintf(out, "pferris diff: %s -> %s (largest growth first)\n\n", fa, fb);
        table_t t;
        t_init(&t, "llrrrrr", "kind", "name", "before", "after", "change", "ratio", "change %");
        for (size_t i = 0; i < d.n; i++) {
            drow_t *r = &d.r[i];
            char *ratio = ring();
            double x = isnan(r->before) ? 0 : r->before;
            if (x != 0 && !isnan(r->after))
                snprintf(ratio, 48, "%.3fx", r->after / x);
            else
                snprintf(ratio, 48, "-");
            const char *ch = fmt_unit(r->unit, r->change);
            char *chs = ring();
            snprintf(chs, 48, "%s%s", r->change > 0 ? "+" : "", ch);
            t_row(&t, r->kind, r->name, fmt_unit(r->unit, r->before), fmt_unit(r->unit, r->after),
                  chs, ratio, fmt_pct(r->pct));
        }
        t_print(out, &t);
        fputc('\n', out);
    }
    if (crossed) {
        say("%zu figure%s grew by more than %g%% from %s to %s:", crossed, crossed > 1 ? "s" : "",
            fail_above, fa, fb);
        for (size_t i = 0, k = 0; i < d.n && k < 10; i++) {
            drow_t *r = &d.r[i];
            if (isfinite(r->pct) && r->pct > fail_above && !isnan(r->before) &&
                !isnan(r->after)) {
                char *c = cell(r->name);
                fprintf(errout, "  %s %s: %s -> %s (%s)\n", r->kind, c ? c : "?",
                        fmt_unit(r->unit, r->before), fmt_unit(r->unit, r->after),
                        fmt_pct(r->pct));
                free(c);
                k++;
            }
        }
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.r[i].name);
    free(d.r);
    json_decref(d.index);
    return crossed ? 1 : 0;
}

/* ---- --merge ------------------------------------------------------------------------------ */

static void sum_int(json_t *dst, const char *key, json_t *v)
{
    if (!json_is_integer(v))
        return;
    json_t *cur = json_object_get(dst, key);
    json_object_set_new(dst, key, json_integer(add_sat(json_integer_value(cur),
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
    json_object_set_new(dst, key, json_real(num0(dst, key) + v));
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
        const char *name = str(n, "name", "?");
        json_t *d = NULL, *c;
        size_t j;
        json_array_foreach(dst, j, c) if (strcmp(str(c, "name", ""), name) == 0)
        {
            d = c;
            break;
        }
        if (!d) {
            d = json_pack("{sssIsfsfs[]}", "name", name, "count", (json_int_t)0, "total", 0.0,
                          "self", 0.0, "children");
            if (!d)
                continue;
            json_array_append_new(dst, d);
        }
        sum_int(d, "count", json_object_get(n, "count"));
        sum_real(d, "total", num(n, "total"));
        sum_real(d, "self", num(n, "self"));
        merge_tree(json_object_get(d, "children"), json_object_get(n, "children"), depth + 1);
    }
}

static int by_total_desc(const void *a, const void *b)
{
    double x = num0(*(json_t *const *)a, "total"), y = num0(*(json_t *const *)b, "total");
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
        sort_tree(json_object_get(v[i], "children"), depth + 1);
        json_array_append_new(arr, v[i]);
    }
    free(v);
}

static int by_rank(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int hx = json_is_integer(json_object_get(x, "rank")),
        hy = json_is_integer(json_object_get(y, "rank"));
    if (hx != hy)
        return hx ? -1 : 1;
    if (hx && num(x, "rank") != num(y, "rank"))
        return num(x, "rank") < num(y, "rank") ? -1 : 1;
    int c = strcmp(str(x, "hostname", ""), str(y, "hostname", ""));
    if (c)
        return c;
    if (num0(x, "pid") != num0(y, "pid"))
        return num0(x, "pid") < num0(y, "pid") ? -1 : 1;
    return strcmp(str(x, "file", ""), str(y, "file", ""));
}

static json_t *merge(json_t **reports, const char **files, int n)
{
    /* Every process, a merged input's processes included, each keeping its file name. */
    size_t np = 0;
    for (int i = 0; i < n; i++)
        np += nprocs(reports[i]);
    json_t **ps = calloc(np ? np : 1, sizeof *ps);
    if (!ps)
        return NULL;
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < nprocs(reports[i]); j++) {
            json_t *p = json_deep_copy(proc(reports[i], j));
            if (!p)
                continue;
            if (!json_object_get(p, "file"))
                json_object_set_new(p, "file", json_string(files[i]));
            json_object_del(p, "processes");
            json_object_del(p, "merged");
            ps[k++] = p;
        }
    np = k;
    qsort(ps, np, sizeof *ps, by_rank);

    json_t *m = json_object(), *timings = json_object(), *stats = json_object(),
           *tree = json_array(), *mem = json_object(), *memstats = json_object(),
           *counters = json_object(), *threads = json_array(), *heap = json_object(),
           *hist = json_object(), *sites = json_object(), *dropped = json_object(),
           *workers = json_object(), *procs = json_array(), *hosts = json_object(),
           *ranks = json_array();
    double elapsed = 0, first = INFINITY;
    const char *first_iso = NULL;
    json_t *requested = NULL;
    int requested_same = 1, heap_on = 0;
    for (size_t i = 0; i < np; i++) {
        json_t *p = ps[i];
        const char *key;
        json_t *v;
        if (num0(p, "total_elapsed") > elapsed)
            elapsed = num0(p, "total_elapsed");
        double st = iso_epoch(str(p, "start_time", NULL));
        if (st < first) {
            first = st;
            first_iso = str(p, "start_time", NULL);
        }
        json_object_set_new(hosts, str(p, "hostname", "?"), json_true());
        if (json_is_integer(json_object_get(p, "rank")))
            json_array_append(ranks, json_object_get(p, "rank"));
        json_object_foreach(json_object_get(p, "timings"), key, v)
            sum_real(timings, key, numv(v));
        json_object_foreach(json_object_get(p, "timing_stats"), key, v)
        {
            json_t *s = json_object_get(stats, key);
            if (!s) {
                s = json_pack("{sIsfsfsfsf}", "count", (json_int_t)0, "total", 0.0, "min",
                              num0(v, "min"), "max", num0(v, "max"), "mean", 0.0);
                json_object_set_new(stats, key, s);
            }
            sum_int(s, "count", json_object_get(v, "count"));
            sum_real(s, "total", num(v, "total"));
            if (num(v, "min") < num(s, "min"))
                json_object_set_new(s, "min", json_real(num(v, "min")));
            if (num(v, "max") > num(s, "max"))
                json_object_set_new(s, "max", json_real(num(v, "max")));
        }
        merge_tree(tree, json_object_get(p, "timing_tree"), 0);
        json_object_foreach(json_object_get(p, "memory_usage"), key, v) sum_int(mem, key, v);
        json_object_foreach(json_object_get(p, "memory_stats"), key, v)
        {
            json_t *s = json_object_get(memstats, key);
            if (!s) {
                s = json_pack("{sIsIsI}", "last", (json_int_t)0, "peak", (json_int_t)0,
                              "peak_max", (json_int_t)INT64_MIN);
                json_object_set_new(memstats, key, s);
            }
            sum_int(s, "last", json_object_get(v, "last"));
            sum_int(s, "peak", json_object_get(v, "peak"));
            max_int(s, "peak_max", json_object_get(v, "peak"));
        }
        json_object_foreach(json_object_get(p, "counters"), key, v) sum_int(counters, key, v);
        size_t j;
        json_array_foreach(json_object_get(p, "threads"), j, v)
        {
            json_t *t = json_deep_copy(v);
            if (!t)
                continue;
            json_object_set(t, "pid", json_object_get(p, "pid"));
            if (json_object_get(p, "rank"))
                json_object_set(t, "rank", json_object_get(p, "rank"));
            if (!json_is_integer(json_object_get(t, "pid")))
                json_object_del(t, "pid");
            json_array_append_new(threads, t);
        }
        json_t *h = json_object_get(p, "heap");
        if (json_is_true(json_object_get(h, "enabled")))
            heap_on = 1;
        static const char *const hsum[] = {"allocations", "frees", "bytes_allocated",
                                           "bytes_allocated_usable", "bytes_freed",
                                           "live_bytes", "peak_bytes", "peak_error_bound"};
        for (size_t q = 0; q < sizeof hsum / sizeof hsum[0]; q++)
            sum_int(heap, hsum[q], json_object_get(h, hsum[q]));
        max_int(heap, "peak_bytes_max", json_object_get(h, "peak_bytes"));
        json_array_foreach(json_object_get(h, "size_histogram"), j, v)
        {
            char bk[64];
            snprintf(bk, sizeof bk, "%lld", (long long)json_integer_value(json_object_get(v, "min")));
            json_t *b = json_object_get(hist, bk);
            if (!b) {
                b = json_pack("{sOsOsI}", "min", json_object_get(v, "min"), "max",
                              json_object_get(v, "max"), "count", (json_int_t)0);
                if (!b)
                    continue;
                json_object_set_new(hist, bk, b);
            }
            sum_int(b, "count", json_object_get(v, "count"));
        }
        json_array_foreach(json_object_get(h, "sites"), j, v)
        {
            /* One site across processes: the same frames (symbol, module, offset). */
            char *sk = json_dumps(json_object_get(v, "frames"), JSON_COMPACT | JSON_SORT_KEYS);
            if (!sk)
                continue;
            json_t *s = json_object_get(sites, sk);
            if (!s) {
                s = json_pack("{sOsfsfsf}", "frames", json_object_get(v, "frames"), "allocations",
                              0.0, "bytes", 0.0, "live_bytes", 0.0);
                if (s)
                    json_object_set_new(sites, sk, s);
            }
            free(sk);
            if (!s)
                continue;
            sum_real(s, "allocations", num(v, "allocations"));
            sum_real(s, "bytes", num(v, "bytes"));
            sum_real(s, "live_bytes", num(v, "live_bytes"));
        }
        json_object_foreach(json_object_get(p, "dropped"), key, v) sum_int(dropped, key, v);
        json_t *w = json_object_get(p, "workers");
        max_int(workers, "max_concurrent_threads", json_object_get(w, "max_concurrent_threads"));
        json_t *rq = json_object_get(w, "requested");
        if (i == 0)
            requested = rq;
        else if (!json_equal(requested, rq) && (requested || rq))
            requested_same = 0;
        json_array_append(procs, p);
    }
    /* Sites as an array, heaviest first; reals that hold integers become integers again. */
    json_t *site_arr = json_array();
    {
        size_t ns = json_object_size(sites), q = 0;
        json_t **sv = calloc(ns ? ns : 1, sizeof *sv);
        const char *key;
        json_t *v;
        json_object_foreach(sites, key, v) if (sv && q < ns) sv[q++] = v;
        for (size_t a = 0; sv && a < q; a++)
            for (size_t b = a + 1; b < q; b++)
                if (num0(sv[b], "bytes") > num0(sv[a], "bytes")) {
                    json_t *t = sv[a];
                    sv[a] = sv[b];
                    sv[b] = t;
                }
        for (size_t a = 0; sv && a < q; a++) {
            static const char *const f[] = {"allocations", "bytes", "live_bytes"};
            for (int c = 0; c < 3; c++)
                json_object_set_new(sv[a], f[c], jnum(num0(sv[a], f[c])));
            json_array_append(site_arr, sv[a]);
        }
        free(sv);
    }
    json_t *hist_arr = json_array();
    {
        const char *key;
        json_t *v;
        json_object_foreach(hist, key, v) json_array_append(hist_arr, v);
        size_t nh = json_array_size(hist_arr);
        for (size_t a = 0; a < nh; a++)
            for (size_t b = a + 1; b < nh; b++)
                if (num0(json_array_get(hist_arr, b), "min") <
                    num0(json_array_get(hist_arr, a), "min")) {
                    json_t *x = json_incref(json_array_get(hist_arr, a));
                    json_array_set(hist_arr, a, json_array_get(hist_arr, b));
                    json_array_set_new(hist_arr, b, x);
                }
    }
    json_decref(hist);
    json_decref(sites);
    json_object_set_new(heap, "enabled", json_boolean(heap_on));
    json_object_set_new(heap, "size_histogram", hist_arr);
    json_object_set_new(heap, "sites", site_arr);
    {
        const char *key;
        json_t *v;
        json_object_foreach(stats, key, v)
        {
            double c = num0(v, "count");
            json_object_set_new(v, "mean", json_real(c > 0 ? num0(v, "total") / c : 0));
        }
        json_object_foreach(memstats, key, v) if (num(v, "peak_max") == (double)INT64_MIN)
            json_object_del(v, "peak_max");
    }
    sort_tree(tree, 0);
    json_object_set_new(workers, "requested",
                        requested_same && json_is_integer(requested) ? json_incref(requested)
                                                                     : json_null());

    json_t *host_list = json_array();
    {
        const char *key;
        json_t *v;
        json_object_foreach(hosts, key, v) json_array_append_new(host_list, json_string(key));
    }
    json_t *file_list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(file_list, json_string(files[i]));
    json_t *cmd = np ? json_object_get(ps[0], "command") : NULL;
    json_object_set_new(m, "schema", json_string(PFERRIS_SCHEMA));
    json_object_set_new(m, "pferris_version", json_string(PFERRIS_VERSION));
    json_object_set_new(m, "merged",
                        json_pack("{sIsoso so}", "processes", (json_int_t)np, "hosts", host_list,
                                  "ranks", ranks, "files", file_list));
    json_object_set_new(m, "pid", json_null());
    json_object_set_new(m, "ppid", json_null());
    json_object_set_new(m, "hostname", json_object_size(hosts) == 1
                                           ? json_string(json_object_iter_key(
                                                 json_object_iter(hosts)))
                                           : json_null());
    json_object_set_new(m, "command", json_is_array(cmd) ? json_deep_copy(cmd) : json_array());
    json_object_set_new(m, "start_time", first_iso ? json_string(first_iso) : json_null());
    json_object_set_new(m, "total_elapsed", json_real(elapsed));
    json_object_set_new(m, "timings", timings);
    json_object_set_new(m, "timing_stats", stats);
    json_object_set_new(m, "timing_tree", tree);
    json_object_set_new(m, "memory_usage", mem);
    json_object_set_new(m, "memory_stats", memstats);
    json_object_set_new(m, "counters", counters);
    json_object_set_new(m, "threads", threads);
    json_object_set_new(m, "heap", heap);
    json_object_set_new(m, "workers", workers);
    json_object_set_new(m, "dropped", dropped);
    json_object_set_new(m, "processes", procs);
    json_decref(hosts);
    for (size_t i = 0; i < np; i++)
        json_decref(ps[i]);
    free(ps);
    return m;
}

/* ---- report ------------------------------------------------------------------------------- */

static json_t *load(const char *file)
{
    char err[512];
    json_t *r = pf_reader_load(file, err, sizeof err);
    if (!r)
        say("%s", err);
    return r;
}

static int parse_number(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : NAN;
    if (!s || !*s || *end || errno || !(v >= min && v <= max)) {
        say("%s needs a number from %g to %g, not '%s'", opt, min, max, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    enum { M_TEXT, M_FLAME, M_TRACE, M_SVG, M_DIFF, M_MERGE } mode = M_TEXT;
    const char *mode_opt = NULL;
    int as_json = 0, flame_heap = 1;
    double top = 5, fail_above = -1;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int nf = 0, rc = 0;
    if (!files)
        return 2;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int new_mode = -1;
        if (!strcmp(a, "--")) {
            while (++i < argc)
                files[nf++] = argv[i];
            break;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "--json")) {
            as_json = 1;
        } else if (!strcmp(a, "--top")) {
            if (parse_number("--top", i + 1 < argc ? argv[++i] : NULL, 1, 1e6, &top) < 0)
                goto usage;
        } else if (!strcmp(a, "--fail-above")) {
            if (parse_number("--fail-above", i + 1 < argc ? argv[++i] : NULL, 0, 1e12,
                             &fail_above) < 0)
                goto usage;
        } else if (!strcmp(a, "--flame")) {
            const char *k = i + 1 < argc ? argv[++i] : "";
            if (strcmp(k, "heap") && strcmp(k, "time")) {
                say("--flame takes 'heap' or 'time', not '%s'", k);
                goto usage;
            }
            flame_heap = !strcmp(k, "heap");
            new_mode = M_FLAME;
        } else if (!strcmp(a, "--trace")) {
            new_mode = M_TRACE;
        } else if (!strcmp(a, "--svg")) {
            new_mode = M_SVG;
        } else if (!strcmp(a, "--diff")) {
            new_mode = M_DIFF;
        } else if (!strcmp(a, "--merge")) {
            new_mode = M_MERGE;
        } else if (a[0] == '-' && a[1]) {
            say("report: unknown option '%s'", a);
            goto usage;
        } else {
            files[nf++] = a;
        }
        if (new_mode >= 0) {
            if (mode != M_TEXT) {
                say("report: %s and %s cannot be used together", mode_opt, a);
                goto usage;
            }
            mode = new_mode;
            mode_opt = a;
        }
    }
    if (!nf) {
        say("report: name at least one report file");
        goto usage;
    }
    if (mode == M_DIFF && nf != 2) {
        say("report --diff compares two reports: BEFORE AFTER (%d given)", nf);
        goto usage;
    }
    if (mode == M_SVG && nf != 1) {
        say("report --svg draws one report (%d given)", nf);
        goto usage;
    }
    if (fail_above >= 0 && mode != M_DIFF) {
        say("report: --fail-above goes with --diff");
        goto usage;
    }
    if (as_json && mode != M_TEXT && mode != M_DIFF) {
        say("report: --json goes with the summary or --diff (%s writes its own format)", mode_opt);
        goto usage;
    }

    /* Every file is read before anything is written: a bad one stops the command, so that a
     * partial output is never taken for a whole one. */
    json_t **reports = calloc((size_t)nf, sizeof *reports);
    if (!reports) {
        free(files);
        return 2;
    }
    for (int i = 0; i < nf; i++)
        if (!(reports[i] = load(files[i])))
            rc = 2;
    if (rc == 0) {
        switch (mode) {
        case M_TEXT:
            if (as_json) {
                json_t *doc = nf == 1 ? json_incref(reports[0]) : json_array();
                for (int i = 0; nf > 1 && i < nf; i++)
                    json_array_append(doc, reports[i]);
                json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
                fputc('\n', stdout);
                json_decref(doc);
            } else {
                for (int i = 0; i < nf; i++) {
                    summary(stdout, files[i], reports[i], (size_t)top);
                }
            }
            break;
        case M_FLAME:
            for (int i = 0; i < nf && rc == 0; i++)
                rc = flame(stdout, reports[i], files[i], flame_heap);
            break;
        case M_TRACE: rc = trace(stdout, reports, files, nf); break;
        case M_SVG: rc = svg(stdout, reports[0], files[0]); break;
        case M_DIFF:
            rc = diff(stdout, reports[0], reports[1], files[0], files[1], as_json, fail_above);
            break;
        case M_MERGE: {
            json_t *m = merge(reports, files, nf);
            if (!m || json_dumpf(m, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9)) != 0)
                rc = 2;
            fputc('\n', stdout);
            json_decref(m);
            break;
        }
        }
    }
    for (int i = 0; i < nf; i++)
        json_decref(reports[i]);
    free(reports);
    free(files);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        say("cannot write the output: %s", strerror(errno));
        return 2;
    }
    return rc;
usage:
    fputs(usage_text, errout);
    free(files);
    return 2;
}

/* ---- run ---------------------------------------------------------------------------------- */

typedef struct {
    char *path;
    long long pid, ppid;
    int mine;
} found_t;

/* The reports of this run: files that match the pattern (each %x a wildcard), written since
 * the run began, by a process of the run's tree: the program (its pid), or a process whose
 * parent is in the tree. Orphans are re-parented to us (we are a child subreaper), so their
 * parent is this pid. Reports of other runs in the same directory are left out. */
static int collect(const char *pattern, const struct timespec *since, pid_t root, found_t **out)
{
    char dir[PATH_MAX], glob[PATH_MAX];
    const char *slash = strrchr(pattern, '/');
    if (slash == pattern)
        snprintf(dir, sizeof dir, "/");
    else if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - pattern), pattern);
    else
        snprintf(dir, sizeof dir, ".");
    size_t g = 0;
    for (const char *p = slash ? slash + 1 : pattern; *p && g < sizeof glob - 2; p++) {
        if (*p == '%' && p[1]) {
            p++;
            glob[g++] = *p == '%' ? '%' : '*';
        } else if (*p == '*' || *p == '?' || *p == '[' || *p == '\\') {
            glob[g++] = '\\';
            glob[g++] = *p;
        } else {
            glob[g++] = *p;
        }
    }
    glob[g] = '\0';
    /* The report writer adds ".N" before ".json" when the name is taken. */
    char glob2[PATH_MAX + 8];
    size_t gl = strlen(glob);
    if (gl > 5 && !strcmp(glob + gl - 5, ".json"))
        snprintf(glob2, sizeof glob2, "%.*s.*.json", (int)(gl - 5), glob);
    else
        snprintf(glob2, sizeof glob2, "%s.*", glob);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    found_t *f = NULL;
    while ((e = readdir(d))) {
        if (fnmatch(glob, e->d_name, 0) != 0 && fnmatch(glob2, e->d_name, 0) != 0)
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (st.st_mtim.tv_sec < since->tv_sec ||
            (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec < since->tv_nsec))
            continue;
        char err[512];
        json_t *r = pf_reader_load(path, err, sizeof err);
        if (!r)
            continue;
        found_t *nf = realloc(f, (size_t)(n + 1) * sizeof *f);
        if (!nf) {
            json_decref(r);
            break;
        }
        f = nf;
        f[n] = (found_t){strdup(strcmp(dir, ".") ? path : e->d_name), to_ll(num(r, "pid")),
                         to_ll(num(r, "ppid")), 0};
        json_decref(r);
        n++;
    }
    closedir(d);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            if (f[i].mine)
                continue;
            int mine = f[i].pid == root || f[i].ppid == root || f[i].ppid == (long long)getpid();
            for (int j = 0; j < n && !mine; j++)
                mine = f[j].mine && f[j].pid == f[i].ppid;
            if (mine)
                f[i].mine = changed = 1;
        }
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (f[i].mine)
            f[k++] = f[i];
        else
            free(f[i].path);
    }
    *out = f;
    return k;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const found_t *)a)->path, ((const found_t *)b)->path);
}

static int cmd_run(int argc, char **argv)
{
    const char *output = "pferris.%e.%p.json";
    int quiet = 0, i = 0;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc || !*argv[i + 1]) {
                say("run: -o needs a report path pattern");
                fputs(usage_text, errout);
                return 2;
            }
            output = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "-q")) {
            quiet = 1;
            continue;
        }
        if (argv[i][0] == '-') {
            say("run: unknown option '%s'", argv[i]);
            fputs(usage_text, errout);
            return 2;
        }
        break;
    }
    if (i >= argc) {
        say("run: name the program to run");
        fputs(usage_text, errout);
        return 2;
    }
    char lib[PATH_MAX + 32], preload[2 * PATH_MAX + 64];
    if (pf_locate_preload(lib, sizeof lib) != 0) {
        say("run: libpferris.so is neither beside this binary nor in ../lib; reinstall pferris");
        return 2;
    }
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    /* Orphaned descendants come to us, so that their reports can be told ours (see collect). */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct timespec start;
    clock_gettime(CLOCK_REALTIME, &start);
    start.tv_sec -= 1; /* file times may be a tick coarser than the clock */
    pid_t pid = fork();
    if (pid < 0) {
        say("run: cannot fork: %s", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        setenv("LD_PRELOAD", preload, 1);
        setenv("PFERRIS_OUTPUT", output, 1);
        setenv("PFERRIS_QUIET", "1", 1);
        execvp(argv[i], &argv[i]);
        say("run: cannot run '%s': %s", argv[i], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    /* The program gets the terminal's ^C and ^\; we wait for it and still summarise. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    /* Orphans that already ended were re-parented to us: reap them (their reports are
     * written); ones still running are not waited for. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (strcmp(output, "-") == 0)
        return code;
    found_t *f = NULL;
    int n = collect(output, &start, pid, &f);
    if (n > 1)
        qsort(f, (size_t)n, sizeof *f, by_path);
    if (!n)
        say("run: the program wrote no report matching '%s' (exit code %d%s)", output, code,
            WIFSIGNALED(st) ? ", killed by a signal" : "");
    for (int k = 0; k < n; k++) {
        if (quiet) {
            fprintf(errout, "pferris: report %s\n", f[k].path);
        } else {
            json_t *r = load(f[k].path);
            if (r)
                summary(errout, f[k].path, r, 5);
            json_decref(r);
        }
        free(f[k].path);
    }
    if (n > 1 && !quiet)
        fprintf(errout, "pferris: %d reports; combine them with: pferris report --merge FILES "
                        "> all.json\n",
                n);
    free(f);
    return code;
}

#ifndef PFERRIS_NO_MAIN
int main(int argc, char **argv)
{
    errout = stderr;
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pferris %s (reports %s)\n", PFERRIS_VERSION, PFERRIS_SCHEMA);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "report"))
        return cmd_report(argc - 2, argv + 2);
    say("unknown command '%s'", argv[1]);
    fputs(usage_text, stderr);
    return 2;
}
#endif
