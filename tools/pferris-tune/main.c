/* pferris-tune.c — finds the worker count at which a program runs fastest, by re-launching it.
 *
 * Each trial runs PROGRAM under the preload with the count in PFERRIS_WORKERS, OMP_NUM_THREADS,
 * every --env NAME and every {workers} in its arguments, in its own process group, stdin from
 * /dev/null, stdout to /dev/null (or ours with --show-output), stderr to a file whose tail is
 * shown when the trial fails. Reports go to a private temporary directory, one per process of
 * the trial's tree, and all of them count.
 *
 * Metrics: wall (one complete run per trial: runs/s) and counter:NAME (NAME per second over a
 * time box of --duration; at the box the tuner reads the processes' live snapshots — see
 * lib/live.h — and only then stops the process group with SIGTERM, then SIGKILL).
 *
 * Which counts are tried, and how often, is decided round by round by lib/stats.c (a coarse
 * geometric sweep, refinement around the best, repeats only where they can change the answer);
 * each round runs its trials once per count in alternating direction, so runs of different
 * counts interleave. The answer is the smallest count not significantly below the best.
 */
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/snapshot.h"
#include "parallel/stats.h"
#include "common/locate.h"
#include "common/svg.h"

#define EXIT_FOUND    0
#define EXIT_USAGE    2
#define EXIT_FAILED   3
#define EXIT_SIGNALED 130

#define MAX_RANGE      4096 /* worker counts in one run */
#define GRACE_SEC      1.0  /* between SIGTERM and SIGKILL at the time box */
#define ABORT_FAILURES 2    /* failed trials, with no success yet, after which we stop */
#define TAIL_LINES     6    /* lines of a failed trial's stderr shown */
#define TAIL_SHOWN     3    /* failed trials whose stderr is shown */

extern char **environ;

enum { METRIC_WALL, METRIC_COUNTER };

typedef struct {
    int min, max, min_set, max_set;
    double duration, timeout;
    int repeat;
    int metric;
    const char *counter;
    const char *json, *csv, *plot, *preload;
    const char **envs;
    int nenv;
    int show_output, quiet;
    char **prog; /* PROGRAM and its arguments, NULL-terminated */
    int nprog;
} opts_t;

/* One trial's outcome. */
typedef struct {
    int ok;              /* a measurement was made */
    double value;        /* throughput */
    double seconds;      /* from launch to the end (or the box) */
    int has_code;        /* exit code known (not stopped by us at the box) */
    int code;            /* exit code, or 128 + signal */
    int threads;         /* threads observed in the tree, -1 unknown */
    int reports;         /* reports found */
    char why[512];       /* why it failed */
    char *tail;          /* the program's stderr tail (malloc), failed trials only */
} trial_t;

typedef struct {
    int workers;
    double *samples;
    int n, cap;
    int runs, failed;
    int *codes;          /* per trial: exit code, or INT_MIN when stopped at the box */
    int *threads;        /* per trial */
    int ntr, captr;
} count_t;

static opts_t O;
static count_t *C;
static int NC;
static char tmpdir[PATH_MAX / 2], trialdir[PATH_MAX], errpath[PATH_MAX];
static char prog_path[PATH_MAX];
static volatile sig_atomic_t interrupted;
static pid_t running_pgid;
static int progress_on;
static double t_start;
static int trials_done, failures_shown, any_report, total_failures;
static FILE *csv_f;
static pf_stats_count_t *G_counts;
static pf_stats_summary_t *G_sum;
static unsigned char *G_want;

/* ---- small helpers ------------------------------------------------------------------------ */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress_clear(void)
{
    if (progress_on)
        fputs("\r\033[K", stderr);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    va_list ap;
    progress_clear();
    fputs("pferris-tune: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        warn("out of memory");
        exit(EXIT_FAILED);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        warn("out of memory");
        exit(EXIT_FAILED);
    }
    return p;
}

/* Grows *arr (elements of size) so that index `need` fits. */
static void grow(void *arrp, int *cap, int need, size_t size)
{
    void **arr = arrp;
    if (need < *cap)
        return;
    int nc = *cap ? *cap * 2 : 8;
    while (nc <= need)
        nc *= 2;
    void *p = realloc(*arr, (size_t)nc * size);
    if (!p) {
        warn("out of memory");
        exit(EXIT_FAILED);
    }
    *arr = p;
    *cap = nc;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (unlink(path) != 0 && errno == EISDIR)
            remove_tree(path);
    }
    closedir(d);
    rmdir(dir);
}

static void cleanup(void)
{
    if (running_pgid > 0)
        kill(-running_pgid, SIGKILL);
    if (tmpdir[0])
        remove_tree(tmpdir);
    tmpdir[0] = '\0';
    for (int i = 0; C && i < NC; i++) {
        free(C[i].samples);
        free(C[i].codes);
        free(C[i].threads);
    }
    free(C);
    free(G_counts);
    free(G_sum);
    free(G_want);
    free(O.envs);
    free(O.prog);
    C = NULL;
    G_counts = NULL;
    G_sum = NULL;
    G_want = NULL;
}

static void on_signal(int sig)
{
    interrupted = sig;
}

/* ---- usage and options -------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"usage: pferris-tune [options] [--] PROGRAM [ARGS...]\n"
"       pferris-tune PROGRAM [ARGS...] [--min N] [--max N] ...\n"
"\n"
"Finds the worker count at which PROGRAM runs fastest. Each trial re-launches PROGRAM under\n"
"the pferris preload with PFERRIS_WORKERS=N and OMP_NUM_THREADS=N (and each --env NAME=N),\n"
"and with every {workers} in ARGS replaced by N. Without '--', the tuner's long options may\n"
"also follow PROGRAM; after '--' every word is PROGRAM's.\n"
"\n"
"options:\n"
"  --min N            smallest worker count to try (1)\n"
"  --max N            largest worker count to try (online CPUs)\n"
"  --metric M         wall: one complete run per trial, throughput in runs/s (default)\n"
"                     counter:NAME: the program's PFERRIS_COUNT(NAME, n) per second over a\n"
"                     time box of --duration seconds\n"
"  --duration S       time box of one counter trial, in seconds (1.0)\n"
"  --repeat R         at most R trials of one worker count (5); the schedule stops\n"
"                     repeating a count earlier when its spread is small\n"
"  --timeout S        a wall trial running longer is killed and counted as failed\n"
"                     (default: 600 s until one trial succeeded, then 10 x the slowest\n"
"                     successful trial, at least 30 s)\n"
"  --env NAME         also set NAME=N in each trial (repeatable)\n"
"  --json FILE        write the result object (optimal_workers, results, ...) to FILE\n"
"  --csv FILE         write one row per trial to FILE\n"
"  --plot FILE.svg    draw throughput against worker count, spread and choice marked\n"
"  --preload PATH     the preload to use (default: $PFERRIS_PRELOAD, else libpferris.so\n"
"                     beside this program or in ../lib)\n"
"  --show-output      let the program's stdout and stderr through\n"
"  --quiet            print only the chosen worker count; no table, no progress\n"
"  --help, --version\n"
"\n"
"exit status: 0 a count was found, 2 usage or bad program, 3 the program failed or\n"
"produced no measurement.\n");
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("pferris-tune: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(pferris-tune --help shows the options)\n", stderr);
    exit(EXIT_USAGE);
}

static int parse_count(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno)
        usage_error("%s '%s' is not a whole number of workers", opt, s);
    if (v < 1)
        usage_error("%s %s: worker counts start at 1", opt, s);
    if (v > 1 << 20)
        usage_error("%s %s is too large a worker count", opt, s);
    return (int)v;
}

static double parse_seconds(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !isfinite(v))
        usage_error("%s '%s' is not a number of seconds", opt, s);
    if (v <= 0)
        usage_error("%s %s: the time must be more than 0 seconds", opt, s);
    return v;
}

enum { O_MIN, O_MAX, O_DURATION, O_REPEAT, O_METRIC, O_TIMEOUT, O_JSON, O_CSV, O_PLOT, O_ENV,
       O_PRELOAD, O_SHOW, O_QUIET, O_HELP, O_VERSION };

static const struct {
    const char *name;
    int arg, id;
} options[] = {
    {"--min", 1, O_MIN},         {"--max", 1, O_MAX},         {"--duration", 1, O_DURATION},
    {"--repeat", 1, O_REPEAT},   {"--metric", 1, O_METRIC},   {"--timeout", 1, O_TIMEOUT},
    {"--json", 1, O_JSON},       {"--csv", 1, O_CSV},         {"--plot", 1, O_PLOT},
    {"--env", 1, O_ENV},         {"--preload", 1, O_PRELOAD}, {"--show-output", 0, O_SHOW},
    {"--quiet", 0, O_QUIET},     {"--help", 0, O_HELP},       {"--version", 0, O_VERSION},
};

/* The option named by word (with "=value" or not), or -1. */
static int find_option(const char *word, const char **inline_val)
{
    size_t len = strcspn(word, "=");
    *inline_val = word[len] == '=' ? word + len + 1 : NULL;
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strlen(options[i].name) == len && !strncmp(word, options[i].name, len))
            return (int)i;
    if (!strcmp(word, "-h"))
        return O_HELP;
    if (!strcmp(word, "-V"))
        return O_VERSION;
    if (!strcmp(word, "-q"))
        return O_QUIET;
    return -1;
}

static int valid_env_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static void apply_option(int k, const char *val)
{
    switch (options[k].id) {
    case O_MIN: O.min = parse_count("--min", val); O.min_set = 1; break;
    case O_MAX: O.max = parse_count("--max", val); O.max_set = 1; break;
    case O_DURATION: O.duration = parse_seconds("--duration", val); break;
    case O_TIMEOUT: O.timeout = parse_seconds("--timeout", val); break;
    case O_REPEAT: {
        char *end;
        long v = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0' || v < 1 || v > PF_STATS_MAX_SAMPLES)
            usage_error("--repeat '%s' is not a number of trials from 1 to %d", val,
                        PF_STATS_MAX_SAMPLES);
        O.repeat = (int)v;
        break;
    }
    case O_METRIC:
        if (!strcmp(val, "wall")) {
            O.metric = METRIC_WALL;
        } else if (!strncmp(val, "counter:", 8) && val[8]) {
            O.metric = METRIC_COUNTER;
            O.counter = val + 8;
        } else {
            usage_error("--metric '%s' is not wall or counter:NAME (NAME as given to "
                        "PFERRIS_COUNT)", val);
        }
        break;
    case O_JSON: O.json = val; break;
    case O_CSV: O.csv = val; break;
    case O_PLOT: O.plot = val; break;
    case O_PRELOAD: O.preload = val; break;
    case O_ENV:
        if (!valid_env_name(val))
            usage_error("--env '%s' is not an environment variable name (letters, digits, _)",
                        val);
        O.envs = realloc(O.envs, (size_t)(O.nenv + 1) * sizeof *O.envs);
        if (!O.envs)
            exit(EXIT_FAILED);
        O.envs[O.nenv++] = val;
        break;
    case O_SHOW: O.show_output = 1; break;
    case O_QUIET: O.quiet = 1; break;
    case O_HELP: usage(stdout); exit(EXIT_FOUND);
    case O_VERSION: printf("pferris-tune %s\n", PFERRIS_VERSION); exit(EXIT_FOUND);
    }
}

static void parse_args(int argc, char **argv)
{
    O.min = 1;
    O.duration = 1.0;
    O.metric = METRIC_WALL;
    O.prog = xcalloc((size_t)argc + 1, sizeof *O.prog);
    int all_program = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (all_program) {
            O.prog[O.nprog++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            all_program = 1; /* before PROGRAM or after it: the rest is the program's */
            continue;
        }
        /* Before PROGRAM every dash word must be ours; after it, only our long options are
         * (so the program's own -x and --unknown pass through). */
        int is_opt = a[0] == '-' && a[1] != '\0' && (O.nprog == 0 || a[1] == '-');
        if (is_opt) {
            const char *val;
            int k = find_option(a, &val);
            if (k < 0 && O.nprog == 0)
                usage_error("unknown option '%s'", a);
            if (k >= 0) {
                if (options[k].arg && !val) {
                    if (i + 1 >= argc)
                        usage_error("%s needs a value", a);
                    val = argv[++i];
                } else if (!options[k].arg && val) {
                    usage_error("%s takes no value", options[k].name);
                }
                apply_option(k, val);
                continue;
            }
        }
        O.prog[O.nprog++] = argv[i];
    }
    O.prog[O.nprog] = NULL;
    if (O.nprog == 0)
        usage_error("no PROGRAM to tune: pferris-tune [options] [--] PROGRAM [ARGS...]");
    if (!O.max_set) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        O.max = cpus > 0 ? (int)cpus : 1;
        if (O.max < O.min)
            O.max = O.min;
    }
    if (O.min > O.max)
        usage_error("--min %d is larger than --max %d", O.min, O.max);
    if (O.max - O.min + 1 > MAX_RANGE)
        usage_error("--min %d --max %d is more than %d worker counts; narrow the range", O.min,
                    O.max, MAX_RANGE);
}

/* ---- the program and the preload ---------------------------------------------------------- */

/* PROGRAM as execve needs it: a path, searched in PATH when it has no slash. 0, or exits. */
static void resolve_program(void)
{
    const char *name = O.prog[0];
    struct stat st;
    if (strchr(name, '/')) {
        snprintf(prog_path, sizeof prog_path, "%s", name);
    } else {
        const char *path = getenv("PATH");
        if (!path || !*path)
            path = "/usr/local/bin:/usr/bin:/bin";
        prog_path[0] = '\0';
        while (*path) {
            size_t len = strcspn(path, ":");
            char cand[PATH_MAX];
            snprintf(cand, sizeof cand, "%.*s/%s", (int)(len ? len : 1), len ? path : ".", name);
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                snprintf(prog_path, sizeof prog_path, "%s", cand);
                break;
            }
            path += len + (path[len] == ':');
        }
        if (!prog_path[0]) {
            warn("PROGRAM '%s' was not found in PATH; give its path (./%s if it is here)", name,
                 name);
            exit(EXIT_USAGE);
        }
    }
    if (stat(prog_path, &st) != 0) {
        warn("PROGRAM '%s' does not exist (%s)", prog_path, strerror(errno));
        exit(EXIT_USAGE);
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        warn("PROGRAM '%s' is not a file that can be run", prog_path);
        exit(EXIT_USAGE);
    }
    if (access(prog_path, X_OK) != 0) {
        warn("PROGRAM '%s' is not executable; chmod +x it, or run it through its interpreter",
             prog_path);
        exit(EXIT_USAGE);
    }
    /* A static ELF has no PT_INTERP: the dynamic loader, which honours LD_PRELOAD, never runs. */
    int fd = open(prog_path, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    if (fd >= 0 && read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh &&
        !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64) {
        int interp = 0;
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) !=
                (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP)
                interp = 1;
        }
        if (!interp) {
            close(fd);
            warn("PROGRAM '%s' is statically linked: the pferris preload cannot load into it "
                 "(LD_PRELOAD needs the dynamic loader). Link it dynamically to tune it.",
                 prog_path);
            exit(EXIT_USAGE);
        }
    }
    if (fd >= 0)
        close(fd);
}

static char preload_path[PATH_MAX];

static void resolve_preload(void)
{
    const char *p = O.preload ? O.preload : getenv("PFERRIS_PRELOAD");
    if (p && *p) {
        snprintf(preload_path, sizeof preload_path, "%s", p);
    } else if (pf_locate_preload(preload_path, sizeof preload_path) != 0) {
        warn("libpferris.so is neither beside this program nor in ../lib; build it with make, "
             "or pass --preload PATH");
        exit(EXIT_USAGE);
    }
    if (access(preload_path, R_OK) != 0) {
        warn("the preload '%s' is missing (%s); build it with make, or pass --preload PATH",
             preload_path, strerror(errno));
        exit(EXIT_USAGE);
    }
    char *abs = realpath(preload_path, NULL); /* the program may chdir; a relative path breaks */
    if (abs) {
        snprintf(preload_path, sizeof preload_path, "%s", abs);
        free(abs);
    }
}

/* ---- one trial ---------------------------------------------------------------------------- */

/* "{workers}" in s replaced by n; a new string. */
static char *subst_workers(const char *s, int n)
{
    static const char key[] = "{workers}";
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    size_t count = 0;
    for (const char *p = s; (p = strstr(p, key)); p += sizeof key - 1)
        count++;
    char *out = xcalloc(strlen(s) + count * strlen(num) + 1, 1), *o = out;
    for (const char *p = s;;) {
        const char *q = strstr(p, key);
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        strcpy(o, num);
        o += strlen(num);
        p = q + sizeof key - 1;
    }
    return out;
}

static int env_overridden(const char *entry)
{
    static const char *ours[] = {"LD_PRELOAD", "PFERRIS_WORKERS", "OMP_NUM_THREADS",
                                 "PFERRIS_OUTPUT", "PFERRIS_QUIET", PF_LIVE_ENV};
    size_t len = strcspn(entry, "=");
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strlen(ours[i]) == len && !strncmp(entry, ours[i], len))
            return 1;
    for (int i = 0; i < O.nenv; i++)
        if (strlen(O.envs[i]) == len && !strncmp(entry, O.envs[i], len))
            return 1;
    return 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s) {
        warn("out of memory");
        exit(EXIT_FAILED);
    }
    return s;
}

static char **build_env(int n)
{
    int count = 0;
    while (environ[count])
        count++;
    char **env = xcalloc((size_t)(count + O.nenv + 16), sizeof *env);
    int k = 0;
    const char *old_preload = getenv("LD_PRELOAD");
    for (int i = 0; i < count; i++)
        if (!env_overridden(environ[i]))
            env[k++] = xstrdup(environ[i]);
    if (old_preload && *old_preload)
        env[k++] = fmt("LD_PRELOAD=%s:%s", preload_path, old_preload);
    else
        env[k++] = fmt("LD_PRELOAD=%s", preload_path);
    env[k++] = fmt("PFERRIS_WORKERS=%d", n);
    env[k++] = fmt("OMP_NUM_THREADS=%d", n);
    for (int i = 0; i < O.nenv; i++)
        env[k++] = fmt("%s=%d", O.envs[i], n);
    env[k++] = fmt("PFERRIS_OUTPUT=%s/report.%%p.json", trialdir);
    env[k++] = xstrdup("PFERRIS_QUIET=1");
    if (O.metric == METRIC_COUNTER)
        env[k++] = fmt("%s=%s", PF_LIVE_ENV, trialdir);
    /* Call-site sampling and heap accounting cost time the program would not spend without
     * pferris; the tuner needs neither, unless the user asked for them. */
    if (!getenv("PFERRIS_SAMPLE"))
        env[k++] = xstrdup("PFERRIS_SAMPLE=0");
    if (!getenv("PFERRIS_HEAP"))
        env[k++] = xstrdup("PFERRIS_HEAP=0");
    env[k] = NULL;
    return env;
}

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* What the trial's process tree reported: reports of processes that ended, and live snapshots
 * of the others. */
typedef struct {
    int pids[256], npids;       /* processes with a report */
    long long count;            /* the metric counter's total */
    int seen;                   /* the counter appeared somewhere */
    int threads, have_threads;  /* threads observed, summed over processes */
    double live_mono;           /* latest snapshot time of a process without a report, or 0 */
    int reports, snapshots;
    char others[256];           /* other counter names seen, for the error message */
} tree_t;

static void note_other(tree_t *t, const char *name)
{
    if (strstr(t->others, name) || strlen(t->others) + strlen(name) + 3 >= sizeof t->others)
        return;
    if (t->others[0])
        strcat(t->others, ", ");
    strcat(t->others, name);
}

typedef struct {
    tree_t *t;
    long long v;
    int seen;
} live_acc_t;

static void live_counter(const char *name, long long value, void *arg)
{
    live_acc_t *a = arg;
    if (O.counter && !strcmp(name, O.counter)) {
        a->v += value;
        a->seen = 1;
    } else {
        note_other(a->t, name);
    }
}

static int has_pid(const tree_t *t, int pid)
{
    for (int i = 0; i < t->npids; i++)
        if (t->pids[i] == pid)
            return 1;
    return 0;
}

static void read_report(tree_t *t, const char *path)
{
    json_error_t err;
    json_t *r = json_load_file(path, 0, &err);
    if (!r)
        return; /* still being written, or not a report */
    t->reports++;
    json_t *pid = json_object_get(r, "pid");
    if (json_is_integer(pid) && t->npids < (int)(sizeof t->pids / sizeof t->pids[0]))
        t->pids[t->npids++] = (int)json_integer_value(pid);
    json_t *counters = json_object_get(r, "counters");
    const char *key;
    json_t *val;
    json_object_foreach(counters, key, val)
    {
        if (O.counter && !strcmp(key, O.counter) && json_is_integer(val)) {
            t->count += json_integer_value(val);
            t->seen = 1;
        } else {
            note_other(t, key);
        }
    }
    json_t *mc = json_object_get(json_object_get(r, "workers"), "max_concurrent_threads");
    json_t *th = json_object_get(r, "threads");
    if (json_is_integer(mc)) {
        t->threads += (int)json_integer_value(mc);
        t->have_threads = 1;
    } else if (json_is_array(th)) {
        t->threads += (int)json_array_size(th);
        t->have_threads = 1;
    }
    json_decref(r);
}

static void read_tree(tree_t *t)
{
    memset(t, 0, sizeof *t);
    DIR *d = opendir(trialdir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    /* Reports first: a process with a report has ended, and its report is final. */
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "report.", 7)) {
            if (snprintf(path, sizeof path, "%s/%s", trialdir, e->d_name) < (int)sizeof path)
                read_report(t, path);
        }
    rewinddir(d);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, PF_LIVE_PREFIX, strlen(PF_LIVE_PREFIX)))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", trialdir, e->d_name) >= (int)sizeof path)
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        pf_snapshot_t info;
        live_acc_t acc = {t, 0, 0};
        if (n <= 0 || pf_snapshot_parse(buf, (size_t)n, &info, live_counter, &acc) != 0 ||
            !info.complete || has_pid(t, info.pid))
            continue;
        t->snapshots++;
        t->count += acc.v;
        t->seen |= acc.seen;
        t->threads += info.threads_max;
        t->have_threads = 1;
        if (info.mono > t->live_mono)
            t->live_mono = info.mono;
    }
    closedir(d);
}

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) {
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
    closedir(d);
}

/* The last lines of the trial's stderr, as one string. */
static char *stderr_tail(void)
{
    int fd = open(errpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        off_t from = st.st_size > 4096 ? st.st_size - 4096 : 0;
        size_t len = (size_t)(st.st_size - from);
        buf = xcalloc(len + 1, 1);
        ssize_t n = pread(fd, buf, len, from);
        buf[n > 0 ? n : 0] = '\0';
        /* Keep the last TAIL_LINES lines. */
        size_t l = strlen(buf);
        while (l > 0 && buf[l - 1] == '\n')
            buf[--l] = '\0';
        int lines = 0;
        char *start = buf;
        for (char *p = buf + l; p > buf; p--)
            if (p[-1] == '\n' && ++lines == TAIL_LINES) {
                start = p;
                break;
            }
        memmove(buf, start, strlen(start) + 1);
    }
    close(fd);
    return buf;
}

static void copy_stderr_out(void)
{
    int fd = open(errpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[8192];
    ssize_t n;
    progress_clear();
    fflush(stderr);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(2, buf, (size_t)n) < 0)
            break;
    close(fd);
}

static double trial_timeout(void)
{
    if (O.timeout > 0)
        return O.timeout;
    double slowest = 0;
    int ok = 0;
    for (int i = 0; i < NC; i++)
        for (int j = 0; j < C[i].n; j++) {
            ok = 1;
            /* samples are runs/s: the slowest run is the smallest throughput */
            if (C[i].samples[j] > 0 && 1.0 / C[i].samples[j] > slowest)
                slowest = 1.0 / C[i].samples[j];
        }
    return ok ? fmax(30.0, 10.0 * slowest) : 600.0;
}

static void progress(int workers, double frac);

#ifdef SYS_pidfd_open
static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
#else
static int pidfd_open_(pid_t pid)
{
    (void)pid;
    errno = ENOSYS;
    return -1;
}
#endif

/* Waits until the child exits or `until` (monotonic seconds) passes. 1 exited, 0 time. */
static int wait_exit(pid_t pid, int pidfd, double until, int workers, double t0, double span)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
            return 1;
        double now = now_sec();
        if (now >= until || interrupted)
            return 0;
        double step = until - now;
        if (progress_on) {
            progress(workers, span > 0 ? (now - t0) / span : 0);
            if (step > 0.1)
                step = 0.1;
        }
        if (pidfd >= 0) {
            struct pollfd p = {pidfd, POLLIN, 0};
            int ms = (int)ceil(step * 1000);
            poll(&p, 1, ms > 0 ? ms : 1);
        } else {
            /* No pidfd (old kernel): sleep briefly; a run's end is seen within 1 ms. */
            struct timespec d = {0, 1000000L};
            nanosleep(&d, NULL);
        }
    }
}

static void describe_status(int status, trial_t *r)
{
    if (WIFEXITED(status)) {
        r->code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->code = 128 + WTERMSIG(status);
    }
    r->has_code = 1;
}

static int run_trial(int workers, trial_t *r)
{
    memset(r, 0, sizeof *r);
    r->threads = -1;
    clear_dir(trialdir);
    char **env = build_env(workers);
    char **argv = xcalloc((size_t)O.nprog + 1, sizeof *argv);
    for (int i = 0; i < O.nprog; i++)
        argv[i] = subst_workers(O.prog[i], workers);
    int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int pipefd[2];
    if (errfd < 0 || nullfd < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        warn("cannot set up a trial in %s (%s)", tmpdir, strerror(errno));
        exit(EXIT_FAILED);
    }
    fflush(stdout);
    fflush(stderr);
    double t0 = now_sec();
    pid_t pid = fork();
    if (pid < 0) {
        warn("cannot start a trial: fork failed (%s)", strerror(errno));
        exit(EXIT_FAILED);
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until execve. Its own group, so the whole tree
         * can be stopped at once; default dispositions for what we caught. */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        dup2(nullfd, 0);
        if (!O.show_output)
            dup2(nullfd, 1);
        dup2(errfd, 2);
        execve(prog_path, argv, env);
        int e = errno;
        if (write(pipefd[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: whichever runs first, the group exists before a kill */
    running_pgid = pid;
    close(pipefd[1]);
    close(errfd);
    close(nullfd);
    int exec_err = 0;
    ssize_t got;
    while ((got = read(pipefd[0], &exec_err, sizeof exec_err)) < 0 && errno == EINTR) {
    }
    close(pipefd[0]);
    int pidfd = pidfd_open_(pid);

    int boxed = O.metric == METRIC_COUNTER;
    double limit = boxed ? O.duration : trial_timeout();
    int exited = got > 0 ? 1 : wait_exit(pid, pidfd, t0 + limit, workers, t0, limit);
    double t_end = now_sec();
    tree_t box;
    memset(&box, 0, sizeof box);
    int stopped = 0;
    if (!exited) {
        if (boxed && !interrupted)
            read_tree(&box); /* the measurement, before anything is stopped */
        stopped = 1;
        kill(-pid, SIGTERM);
        if (!wait_exit(pid, pidfd, now_sec() + GRACE_SEC, workers, 0, 0))
            kill(-pid, SIGKILL);
    }
    /* The child is a zombie now (waited with WNOWAIT): its pid, and so the group id, cannot be
     * reused until it is reaped, so killing the group cannot hit another process. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    kill(-pid, SIGKILL); /* what the program left running in its group */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    running_pgid = 0;
    if (pidfd >= 0)
        close(pidfd);
    r->seconds = t_end - t0;

    tree_t end;
    read_tree(&end);
    r->reports = end.reports;
    if (end.reports || end.snapshots || box.snapshots)
        any_report = 1; /* the preload loaded */
    if (end.have_threads)
        r->threads = end.threads;
    else if (box.have_threads)
        r->threads = box.threads;

    if (O.show_output)
        copy_stderr_out();
    free_strv(env);
    free_strv(argv);

    if (interrupted) {
        snprintf(r->why, sizeof r->why, "interrupted");
        return 0;
    }
    if (got > 0) {
        snprintf(r->why, sizeof r->why, "could not be started: %s", strerror(exec_err));
        r->code = 127;
        r->has_code = 1;
        return 0;
    }
    if (!stopped)
        describe_status(status, r);
    if (stopped && !boxed) {
        snprintf(r->why, sizeof r->why, "timed out after %.3g s (raise --timeout if it needs "
                 "longer)", limit);
        r->tail = stderr_tail();
        return 0;
    }
    if (r->has_code && r->code != 0) {
        if (r->code > 128 && WIFSIGNALED(status))
            snprintf(r->why, sizeof r->why, "was killed by signal %d (%s)", r->code - 128,
                     strsignal(r->code - 128));
        else
            snprintf(r->why, sizeof r->why, "exited with code %d", r->code);
        r->tail = stderr_tail();
        return 0;
    }
    if (!boxed) {
        r->ok = 1;
        r->value = 1.0 / r->seconds;
        return 0;
    }
    /* Counter metric: at the box from the snapshots, or at its own end from the reports. */
    const tree_t *m = stopped ? &box : &end;
    if (!m->seen) {
        if (m->reports == 0 && m->snapshots == 0)
            snprintf(r->why, sizeof r->why, "left no report and no live counters: the preload "
                     "did not load, or the program was stopped before it started");
        else
            snprintf(r->why, sizeof r->why, "never reported counter '%s' (PFERRIS_COUNT(\"%s\", "
                     "n)); counters it reported: %s", O.counter, O.counter,
                     m->others[0] ? m->others : "none");
        return 0;
    }
    double elapsed = stopped && m->live_mono > 0 ? m->live_mono - t0 : r->seconds;
    if (!(elapsed > 0))
        elapsed = r->seconds;
    r->ok = 1;
    r->value = (double)m->count / elapsed;
    return 0;
}

/* ---- progress, rounds and the result ------------------------------------------------------ */

static int round_no, round_total, round_index;

static void progress(int workers, double frac)
{
    if (!progress_on)
        return;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    int width = 20, fill = round_total ? (int)(width * (round_index + frac) / round_total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[Kpferris-tune: round %d [%s] trial %d, %d workers, %.1f s", round_no,
            bar, trials_done + 1, workers, now_sec() - t_start);
    fflush(stderr);
}

static void add_trial(count_t *c, const trial_t *r)
{
    c->runs++;
    grow(&c->codes, &c->captr, c->ntr, sizeof *c->codes);
    int *th = realloc(c->threads, (size_t)c->captr * sizeof *th); /* the same capacity */
    if (!th) {
        warn("out of memory");
        exit(EXIT_FAILED);
    }
    c->threads = th;
    c->codes[c->ntr] = r->has_code ? r->code : INT_MIN;
    c->threads[c->ntr] = r->threads;
    c->ntr++;
    if (r->ok) {
        grow(&c->samples, &c->cap, c->n, sizeof *c->samples);
        c->samples[c->n++] = r->value;
    } else {
        c->failed++;
    }
}

static void report_failure(int workers, const trial_t *r)
{
    total_failures++;
    warn("the trial with %d worker%s %s", workers, workers == 1 ? "" : "s", r->why);
    if (r->tail && r->tail[0] && failures_shown < TAIL_SHOWN) {
        failures_shown++;
        fprintf(stderr, "  its stderr ended with:\n");
        for (char *line = r->tail, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            fprintf(stderr, "  | %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        }
    }
}

static void csv_row(int round, int workers, const trial_t *r)
{
    if (!csv_f)
        return;
    fprintf(csv_f, "%d,%d,%d,%s,", trials_done, round, workers, r->ok ? "ok" : "failed");
    if (r->has_code)
        fprintf(csv_f, "%d", r->code);
    fprintf(csv_f, ",");
    if (r->ok)
        fprintf(csv_f, "%.6g", r->value);
    fprintf(csv_f, ",%.6f,", r->seconds);
    if (r->threads >= 0)
        fprintf(csv_f, "%d", r->threads);
    fprintf(csv_f, "\n");
}

static void build_counts(pf_stats_count_t *sc)
{
    for (int i = 0; i < NC; i++) {
        sc[i].workers = C[i].workers;
        sc[i].samples = C[i].samples;
        sc[i].n = C[i].n;
        sc[i].failed = C[i].failed;
    }
}

static const char *unit(void)
{
    static char buf[128];
    if (O.metric == METRIC_WALL)
        return "runs/s";
    snprintf(buf, sizeof buf, "%s/s", O.counter);
    return buf;
}

static char *metric_name(void)
{
    return O.metric == METRIC_WALL ? xstrdup("wall") : fmt("counter:%s", O.counter);
}

/* Threads observed per count (the most seen in any of its trials), -1 unknown. */
static int count_threads(const count_t *c)
{
    int t = -1;
    for (int j = 0; j < c->ntr; j++)
        if (c->threads[j] > t)
            t = c->threads[j];
    return t;
}

/* The program ignored the knob when every count with a known thread figure saw the same. */
static int knob_ignored(int *threads_out)
{
    int first = -2, distinct_counts = 0;
    for (int i = 0; i < NC; i++) {
        int t = count_threads(&C[i]);
        if (t < 0)
            continue;
        distinct_counts++;
        if (first == -2)
            first = t;
        else if (t != first)
            return 0;
    }
    *threads_out = first;
    return distinct_counts >= 2;
}

static void json_num(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, isfinite(v) ? json_real(v) : json_null());
}

static json_t *result_json(const pf_stats_summary_t *sum, const pf_stats_choice_t *ch,
                           const pf_stats_params_t *par, int ignored, double elapsed)
{
    json_t *o = json_object();
    int tested = 0;
    for (int i = 0; i < NC; i++)
        tested += C[i].runs > 0;
    if (ch->chosen >= 0) {
        json_object_set_new(o, "optimal_workers", json_integer(C[ch->chosen].workers));
        json_num(o, "best_throughput", sum[ch->chosen].median);
    } else {
        json_object_set_new(o, "optimal_workers", json_null());
        json_object_set_new(o, "best_throughput", json_null());
    }
    json_object_set_new(o, "tested_workers", json_integer(tested));
    json_t *res = json_array();
    for (int i = 0; i < NC; i++) {
        const count_t *c = &C[i];
        if (c->runs == 0)
            continue;
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
        if (c->n > 0 && ch->best >= 0 && i != ch->best) {
            json_num(e, "p_within_margin", sum[i].p_within);
            json_num(e, "p_below_best", sum[i].p_below);
        }
        json_array_append_new(res, e);
    }
    json_object_set_new(o, "results", res);
    json_object_set_new(o, "metric", json_string(O.metric == METRIC_WALL ? "wall" : "counter"));
    char *mn = metric_name();
    json_object_set_new(o, "metric_spec", json_string(mn));
    free(mn);
    json_object_set_new(o, "unit", json_string(unit()));
    json_t *cmd = json_array();
    for (int i = 0; i < O.nprog; i++)
        json_array_append_new(cmd, json_string(O.prog[i]));
    json_object_set_new(o, "command", cmd);
    json_object_set_new(o, "min_workers", json_integer(O.min));
    json_object_set_new(o, "max_workers", json_integer(O.max));
    json_object_set_new(o, "trials", json_integer(trials_done));
    json_num(o, "elapsed", elapsed);
    json_object_set_new(o, "flat", json_boolean(ch->flat));
    json_object_set_new(o, "ignored_workers", json_boolean(ignored));
    if (ch->best >= 0)
        json_object_set_new(o, "fastest_workers", json_integer(C[ch->best].workers));
    json_t *test = json_object();
    json_object_set_new(test, "name",
                        json_string("one-sided exact Mann-Whitney U, non-inferiority"));
    json_num(test, "alpha", par->alpha);
    json_num(test, "tolerance", par->tolerance);
    json_num(test, "margin", par->margin);
    json_object_set_new(o, "test", test);
    return o;
}

/* A throughput for people: whole numbers from 1000 up, else 4 significant digits. */
static const char *num(double v, char *buf, size_t size)
{
    snprintf(buf, size, fabs(v) >= 1000 ? "%.0f" : "%.4g", v);
    return buf;
}

/* ---- the plot ----------------------------------------------------------------------------- */



static int write_plot(const char *path, const pf_stats_summary_t *sum,
                      const pf_stats_choice_t *ch)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const double W = 760, H = 460, L = 80, R = 30, T = 56, B = 64;
    double pw = W - L - R, ph = H - T - B;
    double ymax = 0;
    for (int i = 0; i < NC; i++)
        if (C[i].n > 0)
            ymax = fmax(ymax, fmax(sum[i].max, sum[i].median + sum[i].spread));
    if (!(ymax > 0))
        ymax = 1;
    double ystep = pf_svg_nice_step(ymax * 1.08, 5);
    double ytop = ceil(ymax * 1.08 / ystep) * ystep;
    double x0 = O.min - 0.5, x1 = O.max + 0.5;
#define PX(w) (L + ((w) - x0) / (x1 - x0) * pw)
#define PY(v) (T + ph - (v) / ytop * ph)

    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
               "viewBox=\"0 0 %g %g\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"13\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%g\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Throughput by "
               "worker count: ", L);
    for (int i = 0; i < O.nprog && i < 4; i++) {
        pf_svg_text(f, i == 0 ? (strrchr(O.prog[0], '/') ? strrchr(O.prog[0], '/') + 1 : O.prog[0])
                           : O.prog[i]);
        fputc(' ', f);
    }
    if (O.nprog > 4)
        fputs("...", f);
    fprintf(f, "</text>\n");
    char *mn = metric_name();
    fprintf(f, "<text x=\"%g\" y=\"42\" fill=\"#555\">metric ", L);
    pf_svg_text(f, mn);
    fprintf(f, " · median of repeated trials, band ±1.4826·MAD, whiskers min–max</text>\n");
    free(mn);

    /* Grid and axes. */
    for (double v = 0; v <= ytop + ystep / 2; v += ystep) {
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", L,
                PY(v), L + pw, PY(v));
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%g</text>\n",
                L - 8, PY(v) + 4, v);
    }
    int xstep = (O.max - O.min) > 24 ? (int)ceil((O.max - O.min) / 16.0) : 1;
    for (int w = O.min; w <= O.max; w += xstep) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#333\"/>\n", PX(w),
                T + ph, PX(w), T + ph + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" fill=\"#333\">%d</text>\n",
                PX(w), T + ph + 20, w);
    }
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n", L, T + ph,
            L + pw, T + ph);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n", L, T, L,
            T + ph);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">workers</text>\n", L + pw / 2,
            H - 18);
    fprintf(f, "<text transform=\"translate(20 %g) rotate(-90)\" text-anchor=\"middle\">"
               "throughput (", T + ph / 2);
    pf_svg_text(f, unit());
    fprintf(f, ")</text>\n");

    /* The spread band, then the median line, whiskers and samples. */
    int first = 1;
    fprintf(f, "<path fill=\"#1f77b4\" fill-opacity=\"0.18\" stroke=\"none\" d=\"");
    for (int i = 0; i < NC; i++)
        if (C[i].n > 0) {
            fprintf(f, "%s%.1f %.1f ", first ? "M" : "L", PX(C[i].workers),
                    PY(sum[i].median + sum[i].spread));
            first = 0;
        }
    for (int i = NC - 1; i >= 0; i--)
        if (C[i].n > 0)
            fprintf(f, "L%.1f %.1f ", PX(C[i].workers),
                    PY(fmax(0, sum[i].median - sum[i].spread)));
    fprintf(f, "Z\"/>\n");
    for (int i = 0; i < NC; i++) {
        if (C[i].n < 2)
            continue;
        double x = PX(C[i].workers);
        fprintf(f, "<path stroke=\"#1f77b4\" stroke-width=\"1.2\" d=\"M%.1f %.1f V%.1f M%.1f "
                   "%.1f h8 M%.1f %.1f h8\"/>\n", x, PY(sum[i].min), PY(sum[i].max), x - 4,
                PY(sum[i].min), x - 4, PY(sum[i].max));
    }
    for (int i = 0; i < NC; i++)
        for (int j = 0; j < C[i].n; j++)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#888\" "
                       "fill-opacity=\"0.7\"/>\n", PX(C[i].workers) + 7, PY(C[i].samples[j]));
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2.2\" points=\"");
    for (int i = 0; i < NC; i++)
        if (C[i].n > 0)
            fprintf(f, "%.1f,%.1f ", PX(C[i].workers), PY(sum[i].median));
    fprintf(f, "\"/>\n");
    for (int i = 0; i < NC; i++) {
        if (C[i].n > 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n",
                    PX(C[i].workers), PY(sum[i].median));
        else if (C[i].failed > 0)
            fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" fill=\"#d62728\" "
                       "font-size=\"16\">×</text>\n", PX(C[i].workers), T + ph - 4);
    }

    /* The choice. */
    if (ch->chosen >= 0) {
        char nb[32];
        double x = PX(C[ch->chosen].workers), y = PY(sum[ch->chosen].median);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#d62728\" "
                   "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n", x, T, x, T + ph);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" stroke=\"#d62728\" "
                   "stroke-width=\"2.5\"/>\n", x, y);
        int right = x < L + pw * 0.7;
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"%s\" fill=\"#d62728\" "
                   "font-weight=\"bold\">chosen: %d workers, %s ", right ? x + 8 : x - 8,
                T + 14, right ? "start" : "end", C[ch->chosen].workers,
                num(sum[ch->chosen].median, nb, sizeof nb));
        pf_svg_text(f, unit());
        fprintf(f, "%s</text>\n", ch->flat ? " (flat)" : "");
    }
    if (ch->best >= 0 && ch->best != ch->chosen)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\" "
                   "font-size=\"11\">highest median</text>\n", PX(C[ch->best].workers),
                PY(sum[ch->best].median) - 10);
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
    return fclose(f) == 0 ? 0 : -errno;
}

/* ---- main --------------------------------------------------------------------------------- */

static void print_table(const pf_stats_summary_t *sum, const pf_stats_choice_t *ch)
{
    printf("%8s %7s %12s %9s %8s\n", "workers", "trials", "median", "spread", "threads");
    for (int i = 0; i < NC; i++) {
        const count_t *c = &C[i];
        if (c->runs == 0)
            continue;
        char med[32] = "-", spr[32] = "-", thr[16] = "-";
        if (c->n > 0)
            num(sum[i].median, med, sizeof med);
        if (c->n >= 2 && sum[i].median > 0)
            snprintf(spr, sizeof spr, "±%.1f%%", 100.0 * sum[i].spread / sum[i].median);
        int t = count_threads(c);
        if (t >= 0)
            snprintf(thr, sizeof thr, "%d", t);
        const char *mark = i == ch->chosen ? "  <- chosen"
                           : i == ch->best  ? "  (highest median)"
                           : c->failed      ? "  failed"
                                            : "";
        printf("%8d %7d %12s %9s %8s%s\n", c->workers, c->runs, med, spr, thr, mark);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    resolve_program();
    resolve_preload();

    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/pferris-tune.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpdir)) {
        warn("cannot create a temporary directory in %s (%s); set TMPDIR to a writable one",
             tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return EXIT_FAILED;
    }
    atexit(cleanup);
    snprintf(trialdir, sizeof trialdir, "%s/trial", tmpdir);
    snprintf(errpath, sizeof errpath, "%s/stderr", tmpdir);
    if (mkdir(trialdir, 0700) != 0) {
        warn("cannot create %s (%s)", trialdir, strerror(errno));
        return EXIT_FAILED;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waits return to see the flag */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (O.csv) {
        csv_f = fopen(O.csv, "w");
        if (!csv_f) {
            warn("cannot write --csv %s (%s)", O.csv, strerror(errno));
            return EXIT_USAGE;
        }
        fprintf(csv_f, "trial,round,workers,status,exit_code,throughput,seconds,threads\n");
    }

    NC = O.max - O.min + 1;
    C = xcalloc((size_t)NC, sizeof *C);
    for (int i = 0; i < NC; i++)
        C[i].workers = O.min + i;
    pf_stats_params_t par;
    pf_stats_defaults(&par);
    if (O.repeat > 0) {
        par.max_runs = O.repeat;
        if (par.min_runs > O.repeat)
            par.min_runs = O.repeat;
    }
    /* In globals, freed by cleanup() at exit: the tables live as long as the run. */
    pf_stats_count_t *sc = G_counts = xcalloc((size_t)NC, sizeof *sc);
    pf_stats_summary_t *sum = G_sum = xcalloc((size_t)NC, sizeof *sum);
    pf_stats_choice_t ch;
    unsigned char *want = G_want = xcalloc((size_t)NC, 1);
    progress_on = !O.quiet && isatty(2);
    t_start = now_sec();

    if (!O.quiet) {
        printf("pferris-tune: %s", O.prog[0]);
        for (int i = 1; i < O.nprog; i++)
            printf(" %s", O.prog[i]);
        char *mn = metric_name();
        printf("\n  metric %s (%s), workers %d..%d\n", mn, unit(), O.min, O.max);
        free(mn);
        fflush(stdout);
    }

    int successes = 0, aborted = 0;
    for (round_no = 1; !interrupted && !aborted; round_no++) {
        build_counts(sc);
        int k = pf_stats_plan(sc, NC, &par, sum, &ch, want);
        if (k <= 0)
            break;
        round_total = k;
        round_index = 0;
        /* Alternate the direction round by round: a drift of the machine falls on all. */
        for (int s = 0; s < NC && !interrupted && !aborted; s++) {
            int i = round_no % 2 ? s : NC - 1 - s;
            if (!want[i])
                continue;
            trial_t r;
            run_trial(C[i].workers, &r);
            if (interrupted) {
                free(r.tail);
                break;
            }
            trials_done++;
            round_index++;
            add_trial(&C[i], &r);
            csv_row(round_no, C[i].workers, &r);
            if (r.ok)
                successes++;
            else
                report_failure(C[i].workers, &r);
            free(r.tail);
            if (!successes && total_failures >= ABORT_FAILURES)
                aborted = 1; /* a broken program: more trials would only repeat this */
        }
    }
    progress_clear();
    double elapsed = now_sec() - t_start;
    if (csv_f)
        fclose(csv_f);
    if (interrupted) {
        warn("interrupted after %d trials; no answer", trials_done);
        return EXIT_SIGNALED;
    }

    build_counts(sc);
    pf_stats_choose(sc, NC, &par, sum, &ch);
    int threads = -1, ignored = knob_ignored(&threads);
    json_t *res = result_json(sum, &ch, &par, ignored, elapsed);
    if (O.json && json_dump_file(res, O.json, JSON_INDENT(2)) != 0)
        warn("cannot write --json %s", O.json);
    json_decref(res);
    if (O.plot && ch.chosen >= 0) {
        int rc = write_plot(O.plot, sum, &ch);
        if (rc < 0)
            warn("cannot write --plot %s (%s)", O.plot, strerror(-rc));
    }

    if (ch.chosen < 0) {
        if (aborted)
            warn("stopped after %d failed trials and no successful one: %s does not run "
                 "correctly under these settings (see above)", trials_done, O.prog[0]);
        else
            warn("no worker count produced a measurement; see the failures above");
        return EXIT_FAILED;
    }
    if (!O.quiet) {
        print_table(sum, &ch);
        int tested = 0;
        for (int i = 0; i < NC; i++)
            tested += C[i].runs > 0;
        char nb[32];
        printf("optimal_workers: %d (%s %s); %d of %d counts tried in %d trials, %.1f s\n",
               C[ch.chosen].workers, num(sum[ch.chosen].median, nb, sizeof nb), unit(), tested,
               NC, trials_done, elapsed);
    } else {
        printf("%d\n", C[ch.chosen].workers);
    }
    fflush(stdout);
    if (ignored)
        warn("%s ran %d threads at every worker count: it seems to ignore the count. Make it "
             "read pferris_workers() (PFERRIS_WORKERS) or OMP_NUM_THREADS, pass {workers} in "
             "its arguments, or name its own variable with --env NAME",
             O.prog[0], threads);
    if (ch.flat)
        warn("throughput is flat: no worker count is more than %.0f%% faster than %d; choosing "
             "the smallest, %d", 100 * par.flat, C[ch.chosen].workers, C[ch.chosen].workers);
    if (!any_report)
        warn("no trial left a pferris report: the preload did not load in %s (a setuid "
             "program, or one that clears LD_PRELOAD?); threads were not observed", O.prog[0]);
    if (total_failures)
        warn("%d of %d trials failed; failed worker counts were not considered",
             total_failures, trials_done);
    return EXIT_FOUND;
}
