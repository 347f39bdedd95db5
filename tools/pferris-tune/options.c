/* options.c — pferris-tune's command line: usage, argument parsing, the checks on PROGRAM and
 * the preload, and the environment and arguments each trial's program gets. */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/locate.h"
#include "runtime/live.h"
#include "tune.h"

#define MAX_RANGE 4096 /* worker counts in one run */

extern char **environ;

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
    exit(PF_TUNE_EXIT_USAGE);
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

/* The option ids; options[] lists them in this order, so an id is also its index there. */
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

/* The index in options[] of the option named by word (with "=value" or not), or -1. */
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

/* The variables by which the tuner runs a trial: --env may not set them to the count. */
static int tuner_variable(const char *name)
{
    static const char *const own[] = {"LD_PRELOAD", "PFERRIS_OUTPUT", "PFERRIS_QUIET",
                                      PF_LIVE_ENV};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strcmp(name, own[i]) == 0)
            return 1;
    return 0;
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

static void apply_option(pf_options_t *opt, int k, const char *val)
{
    switch (options[k].id) {
    case O_MIN: opt->min = parse_count("--min", val); opt->min_set = 1; break;
    case O_MAX: opt->max = parse_count("--max", val); opt->max_set = 1; break;
    case O_DURATION: opt->duration = parse_seconds("--duration", val); break;
    case O_TIMEOUT: opt->timeout = parse_seconds("--timeout", val); break;
    case O_REPEAT: {
        char *end;
        long v = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0' || v < 1 || v > PF_STATS_MAX_SAMPLES)
            usage_error("--repeat '%s' is not a number of trials from 1 to %d", val,
                        PF_STATS_MAX_SAMPLES);
        opt->repeat = (int)v;
        break;
    }
    case O_METRIC:
        if (!strcmp(val, "wall")) {
            opt->metric = PF_TUNE_METRIC_WALL;
        } else if (!strncmp(val, "counter:", 8) && val[8]) {
            opt->metric = PF_TUNE_METRIC_COUNTER;
            opt->counter = val + 8;
        } else {
            usage_error("--metric '%s' is not wall or counter:NAME (NAME as given to "
                        "PFERRIS_COUNT)", val);
        }
        break;
    case O_JSON: opt->json = val; break;
    case O_CSV: opt->csv = val; break;
    case O_PLOT: opt->plot = val; break;
    case O_PRELOAD: opt->preload = val; break;
    case O_ENV:
        if (!valid_env_name(val))
            usage_error("--env '%s' is not an environment variable name (letters, digits, _)",
                        val);
        if (tuner_variable(val))
            usage_error("--env %s: the tuner sets %s itself for every trial; --env names a "
                        "variable of the program's that should be the worker count", val, val);
        opt->envs = realloc(opt->envs, (size_t)(opt->nenv + 1) * sizeof *opt->envs);
        if (!opt->envs)
            exit(PF_TUNE_EXIT_FAILED);
        opt->envs[opt->nenv++] = val;
        break;
    case O_SHOW: opt->show_output = 1; break;
    case O_QUIET: opt->quiet = 1; break;
    case O_HELP: usage(stdout); exit(PF_TUNE_EXIT_FOUND);
    case O_VERSION: printf("pferris-tune %s\n", PFERRIS_VERSION); exit(PF_TUNE_EXIT_FOUND);
    }
}

/* --max defaults to the online CPUs (never below --min); the range must be sane. */
static void check_range(pf_options_t *opt)
{
    if (!opt->max_set) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        opt->max = cpus > 0 ? (int)cpus : 1;
        if (opt->max < opt->min)
            opt->max = opt->min;
    }
    if (opt->min > opt->max)
        usage_error("--min %d is larger than --max %d", opt->min, opt->max);
    if (opt->max - opt->min + 1 > MAX_RANGE)
        usage_error("--min %d --max %d is more than %d worker counts; narrow the range",
                    opt->min, opt->max, MAX_RANGE);
}

void pf_options_parse(pf_options_t *opt, int argc, char **argv)
{
    opt->min = 1;
    opt->duration = 1.0;
    opt->metric = PF_TUNE_METRIC_WALL;
    opt->prog = pf_tune_xcalloc((size_t)argc + 1, sizeof *opt->prog);
    int all_program = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (all_program) {
            opt->prog[opt->nprog++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            all_program = 1; /* before PROGRAM or after it: the rest is the program's */
            continue;
        }
        /* Before PROGRAM every dash word must be ours; after it, only our long options are
         * (so the program's own -x and --unknown pass through). */
        int is_opt = a[0] == '-' && a[1] != '\0' && (opt->nprog == 0 || a[1] == '-');
        if (is_opt) {
            const char *val;
            int k = find_option(a, &val);
            if (k < 0 && opt->nprog == 0)
                usage_error("unknown option '%s'", a);
            if (k >= 0) {
                if (options[k].arg && !val) {
                    if (i + 1 >= argc)
                        usage_error("%s needs a value", a);
                    val = argv[++i];
                } else if (!options[k].arg && val) {
                    usage_error("%s takes no value", options[k].name);
                }
                apply_option(opt, k, val);
                continue;
            }
        }
        opt->prog[opt->nprog++] = argv[i];
    }
    opt->prog[opt->nprog] = NULL;
    if (opt->nprog == 0)
        usage_error("no PROGRAM to tune: pferris-tune [options] [--] PROGRAM [ARGS...]");
    check_range(opt);
}

/* ---- the program and the preload ---------------------------------------------------------- */

/* The first executable file `name` in PATH, into out; out is "" when there is none. */
static void search_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    out[0] = '\0';
    while (*path) {
        size_t len = strcspn(path, ":");
        char cand[PATH_MAX];
        struct stat st;
        snprintf(cand, sizeof cand, "%.*s/%s", (int)(len ? len : 1), len ? path : ".", name);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            snprintf(out, size, "%s", cand);
            break;
        }
        path += len + (path[len] == ':');
    }
}

/* Exits (2) when path is a 64-bit ELF without PT_INTERP: a static executable, in which the
 * dynamic loader, which honours LD_PRELOAD, never runs. Anything else (a script, or a file
 * that cannot be read here) is left for execve to judge. */
static void reject_static(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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
            pf_tune_warn("PROGRAM '%s' is statically linked: the pferris preload cannot load "
                         "into it (LD_PRELOAD needs the dynamic loader). Link it dynamically to "
                         "tune it.", path);
            exit(PF_TUNE_EXIT_USAGE);
        }
    }
    if (fd >= 0)
        close(fd);
}

/* PROGRAM as execve needs it, into opt->prog_path: a path, searched in PATH when it has no
 * slash, of an executable file the preload can load into. */
void pf_options_resolve_program(pf_options_t *opt)
{
    const char *name = opt->prog[0];
    struct stat st;
    if (strchr(name, '/')) {
        snprintf(opt->prog_path, sizeof opt->prog_path, "%s", name);
    } else {
        search_path(name, opt->prog_path, sizeof opt->prog_path);
        if (!opt->prog_path[0]) {
            pf_tune_warn("PROGRAM '%s' was not found in PATH; give its path (./%s if it is "
                         "here)", name, name);
            exit(PF_TUNE_EXIT_USAGE);
        }
    }
    if (stat(opt->prog_path, &st) != 0) {
        pf_tune_warn("PROGRAM '%s' does not exist (%s)", opt->prog_path, strerror(errno));
        exit(PF_TUNE_EXIT_USAGE);
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        pf_tune_warn("PROGRAM '%s' is not a file that can be run", opt->prog_path);
        exit(PF_TUNE_EXIT_USAGE);
    }
    if (access(opt->prog_path, X_OK) != 0) {
        pf_tune_warn("PROGRAM '%s' is not executable; chmod +x it, or run it through its "
                     "interpreter", opt->prog_path);
        exit(PF_TUNE_EXIT_USAGE);
    }
    reject_static(opt->prog_path);
}

/* The preload, into opt->preload_path: --preload, else $PFERRIS_PRELOAD, else the one that
 * belongs with this binary. */
void pf_options_resolve_preload(pf_options_t *opt)
{
    const char *p = opt->preload ? opt->preload : getenv("PFERRIS_PRELOAD");
    if (p && *p) {
        snprintf(opt->preload_path, sizeof opt->preload_path, "%s", p);
    } else if (pf_locate_preload(opt->preload_path, sizeof opt->preload_path) != 0) {
        pf_tune_warn("libpferris.so is neither beside this program nor in ../lib; build it with "
                     "make, or pass --preload PATH");
        exit(PF_TUNE_EXIT_USAGE);
    }
    if (access(opt->preload_path, R_OK) != 0) {
        pf_tune_warn("the preload '%s' is missing (%s); build it with make, or pass --preload "
                     "PATH", opt->preload_path, strerror(errno));
        exit(PF_TUNE_EXIT_USAGE);
    }
    /* The program may chdir; a relative path would break. */
    char *abs = realpath(opt->preload_path, NULL);
    if (abs) {
        snprintf(opt->preload_path, sizeof opt->preload_path, "%s", abs);
        free(abs);
    }
}

/* ---- a trial's environment and arguments -------------------------------------------------- */

/* "{workers}" in s replaced by n; a new string. */
static char *subst_workers(const char *s, int n)
{
    static const char key[] = "{workers}";
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    size_t count = 0;
    for (const char *p = s; (p = strstr(p, key)); p += sizeof key - 1)
        count++;
    char *out = pf_tune_xcalloc(strlen(s) + count * strlen(num) + 1, 1), *o = out;
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

char **pf_options_argv(const pf_options_t *opt, int workers)
{
    char **argv = pf_tune_xcalloc((size_t)opt->nprog + 1, sizeof *argv);
    for (int i = 0; i < opt->nprog; i++)
        argv[i] = subst_workers(opt->prog[i], workers);
    return argv;
}

/* The environment entry is one the tuner sets itself. */
static int env_overridden(const pf_options_t *opt, const char *entry)
{
    static const char *ours[] = {"LD_PRELOAD", "PFERRIS_WORKERS", "OMP_NUM_THREADS",
                                 "PFERRIS_OUTPUT", "PFERRIS_QUIET", PF_LIVE_ENV};
    size_t len = strcspn(entry, "=");
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strlen(ours[i]) == len && !strncmp(entry, ours[i], len))
            return 1;
    for (int i = 0; i < opt->nenv; i++)
        if (strlen(opt->envs[i]) == len && !strncmp(entry, opt->envs[i], len))
            return 1;
    return 0;
}

char **pf_options_env(const pf_options_t *opt, const char *trialdir, int workers)
{
    int count = 0;
    while (environ[count])
        count++;
    char **env = pf_tune_xcalloc((size_t)(count + opt->nenv + 16), sizeof *env);
    int k = 0;
    const char *old_preload = getenv("LD_PRELOAD");
    for (int i = 0; i < count; i++)
        if (!env_overridden(opt, environ[i]))
            env[k++] = pf_tune_xstrdup(environ[i]);
    if (old_preload && *old_preload)
        env[k++] = pf_tune_format("LD_PRELOAD=%s:%s", opt->preload_path, old_preload);
    else
        env[k++] = pf_tune_format("LD_PRELOAD=%s", opt->preload_path);
    env[k++] = pf_tune_format("PFERRIS_WORKERS=%d", workers);
    env[k++] = pf_tune_format("OMP_NUM_THREADS=%d", workers);
    for (int i = 0; i < opt->nenv; i++)
        env[k++] = pf_tune_format("%s=%d", opt->envs[i], workers);
    env[k++] = pf_tune_format("PFERRIS_OUTPUT=%s/report.%%p.json", trialdir);
    env[k++] = pf_tune_xstrdup("PFERRIS_QUIET=1");
    if (opt->metric == PF_TUNE_METRIC_COUNTER)
        env[k++] = pf_tune_format("%s=%s", PF_LIVE_ENV, trialdir);
    /* Call-site sampling, CPU sampling and heap accounting cost time the program would not spend without
     * pferris; the tuner needs neither, unless the user asked for them. */
    if (!getenv("PFERRIS_SAMPLE"))
        env[k++] = pf_tune_xstrdup("PFERRIS_SAMPLE=0");
    if (!getenv("PFERRIS_HEAP"))
        env[k++] = pf_tune_xstrdup("PFERRIS_HEAP=0");
    if (!getenv("PFERRIS_CPU_HZ"))
        env[k++] = pf_tune_xstrdup("PFERRIS_CPU_HZ=0");
    env[k] = NULL;
    return env;
}
