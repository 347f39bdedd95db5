/* main.c — pferris-tune: finds the worker count at which a program runs fastest, by re-launching
 * it. This file holds main, the tuning loop, the run's state and the small helpers every module
 * uses; tune.h lists the modules.
 *
 * Each trial runs PROGRAM under the preload with the count in PFERRIS_WORKERS, OMP_NUM_THREADS,
 * every --env NAME and every {workers} in its arguments (options.c, trial.c). Reports go to a
 * private temporary directory, one per process of the trial's tree, and all of them count
 * (observe.c).
 *
 * Metrics: wall (one complete run per trial: runs/s) and counter:NAME (NAME per second over a
 * time box of --duration; at the box the tuner reads the processes' live snapshots — see
 * lib/runtime/live.h — and only then stops the process group with SIGTERM, then SIGKILL).
 *
 * Which counts are tried, and how often, is decided round by round by lib/parallel/stats.c (a
 * coarse geometric sweep, refinement around the best, repeats only where they can change the
 * answer); each round runs its trials once per count in alternating direction, so runs of
 * different counts interleave. The answer is the smallest count not significantly below the
 * best.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tune.h"

#define ABORT_FAILURES 2    /* failed trials, with no success yet, after which we stop */
#define TAIL_SHOWN     3    /* failed trials whose stderr is shown */

volatile sig_atomic_t pf_tune_interrupted;

/* The run. Static, because the exit handler and pf_tune_warn reach it without an argument;
 * everything else gets it passed. */
static pf_tune_t tune;

/* ---- small helpers ------------------------------------------------------------------------ */

double pf_tune_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void pf_tune_progress_clear(const pf_tune_t *t)
{
    if (t->progress_on)
        fputs("\r\033[K", stderr);
}

void pf_tune_warn(const char *fmt, ...)
{
    va_list ap;
    pf_tune_progress_clear(&tune);
    fputs("pferris-tune: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *pf_tune_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        pf_tune_warn("out of memory");
        exit(PF_TUNE_EXIT_FAILED);
    }
    return p;
}

char *pf_tune_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        pf_tune_warn("out of memory");
        exit(PF_TUNE_EXIT_FAILED);
    }
    return p;
}

char *pf_tune_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s) {
        pf_tune_warn("out of memory");
        exit(PF_TUNE_EXIT_FAILED);
    }
    return s;
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
        pf_tune_warn("out of memory");
        exit(PF_TUNE_EXIT_FAILED);
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

/* At exit, however the run ends: the running trial's group killed, the temporary directory
 * removed, the tables freed. */
static void cleanup(void)
{
    pf_tune_t *t = &tune;
    if (t->running_pgid > 0)
        kill(-t->running_pgid, SIGKILL);
    pf_trial_kill_descendants();
    if (t->tmpdir[0])
        remove_tree(t->tmpdir);
    t->tmpdir[0] = '\0';
    for (int i = 0; t->counts && i < t->ncounts; i++) {
        free(t->counts[i].samples);
        free(t->counts[i].codes);
        free(t->counts[i].threads);
    }
    free(t->counts);
    free(t->stats);
    free(t->summary);
    free(t->want);
    free(t->opt.envs);
    free(t->opt.prog);
    t->counts = NULL;
    t->stats = NULL;
    t->summary = NULL;
    t->want = NULL;
}

static void on_signal(int sig)
{
    pf_tune_interrupted = sig;
}

/* ---- progress and the counts -------------------------------------------------------------- */

void pf_tune_progress(const pf_tune_t *t, int workers, double frac)
{
    if (!t->progress_on)
        return;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    int width = 20;
    int fill = t->round_total ? (int)(width * (t->round_index + frac) / t->round_total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[Kpferris-tune: round %d [%s] trial %d, %d workers, %.1f s",
            t->round_no, bar, t->trials_done + 1, workers, pf_tune_now() - t->t_start);
    fflush(stderr);
}

static void add_trial(pf_tune_count_t *c, const pf_trial_t *r)
{
    c->runs++;
    grow(&c->codes, &c->captr, c->ntr, sizeof *c->codes);
    int *th = realloc(c->threads, (size_t)c->captr * sizeof *th); /* the same capacity */
    if (!th) {
        pf_tune_warn("out of memory");
        exit(PF_TUNE_EXIT_FAILED);
    }
    c->threads = th;
    c->codes[c->ntr] = r->has_code ? r->code : INT_MIN;
    c->threads[c->ntr] = r->threads;
    c->ntr++;
    if (r->life_s > 0) {
        c->wait_s += r->wait_s;
        c->life_s += r->life_s;
        c->lock_wait_s += r->lock_wait_s;
        if (r->lock_where[0])
            memcpy(c->lock_where, r->lock_where, sizeof c->lock_where);
    }
    if (r->ok) {
        grow(&c->samples, &c->cap, c->n, sizeof *c->samples);
        c->samples[c->n++] = r->value;
    } else {
        c->failed++;
    }
}

int pf_tune_count_threads(const pf_tune_count_t *c)
{
    int threads = -1;
    for (int j = 0; j < c->ntr; j++)
        if (c->threads[j] > threads)
            threads = c->threads[j];
    return threads;
}

/* The counts as lib/parallel/stats.h reads them, into t->stats. */
static void build_counts(pf_tune_t *t)
{
    for (int i = 0; i < t->ncounts; i++) {
        t->stats[i].workers = t->counts[i].workers;
        t->stats[i].samples = t->counts[i].samples;
        t->stats[i].n = t->counts[i].n;
        t->stats[i].failed = t->counts[i].failed;
    }
}

/* The program ignored the knob when every count with a known thread figure saw the same. */
static int knob_ignored(const pf_tune_t *t, int *threads_out)
{
    int first = -2, distinct_counts = 0;
    for (int i = 0; i < t->ncounts; i++) {
        int threads = pf_tune_count_threads(&t->counts[i]);
        if (threads < 0)
            continue;
        distinct_counts++;
        if (first == -2)
            first = threads;
        else if (threads != first)
            return 0;
    }
    *threads_out = first;
    return distinct_counts >= 2;
}

static void report_failure(pf_tune_t *t, int workers, const pf_trial_t *r)
{
    t->total_failures++;
    pf_tune_warn("the trial with %d worker%s %s", workers, workers == 1 ? "" : "s", r->why);
    if (r->tail && r->tail[0] && t->failures_shown < TAIL_SHOWN) {
        t->failures_shown++;
        fprintf(stderr, "  its stderr ended with:\n");
        for (char *line = r->tail, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            fprintf(stderr, "  | %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        }
    }
}

/* ---- the run ------------------------------------------------------------------------------ */

/* The private temporary directory, its trial directory and stderr file, the exit handler that
 * removes them, and the signal handlers. 0, or the exit status after a message. */
static int set_up(pf_tune_t *t)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(t->tmpdir, sizeof t->tmpdir, "%s/pferris-tune.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->tmpdir)) {
        pf_tune_warn("cannot create a temporary directory in %s (%s); set TMPDIR to a writable "
                     "one", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return PF_TUNE_EXIT_FAILED;
    }
    atexit(cleanup);
    snprintf(t->trialdir, sizeof t->trialdir, "%s/trial", t->tmpdir);
    snprintf(t->errpath, sizeof t->errpath, "%s/stderr", t->tmpdir);
    if (mkdir(t->trialdir, 0700) != 0) {
        pf_tune_warn("cannot create %s (%s)", t->trialdir, strerror(errno));
        return PF_TUNE_EXIT_FAILED;
    }
    int contained = pf_trial_contain();
    if (contained < 0)
        pf_tune_warn("cannot become the subreaper of the trials (%s): a process that leaves a "
                     "trial's process group may outlive it", strerror(-contained));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waits return to see the flag */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (t->opt.csv) {
        int rc = pf_output_csv_open(t);
        if (rc < 0) {
            pf_tune_warn("cannot write --csv %s (%s)", t->opt.csv, strerror(-rc));
            return PF_TUNE_EXIT_USAGE;
        }
    }
    return 0;
}

/* One count per worker count of the range, and the schedule's parameters (--repeat caps the
 * trials of a count). */
static void make_counts(pf_tune_t *t, pf_stats_params_t *par)
{
    t->ncounts = t->opt.max - t->opt.min + 1;
    t->counts = pf_tune_xcalloc((size_t)t->ncounts, sizeof *t->counts);
    for (int i = 0; i < t->ncounts; i++)
        t->counts[i].workers = t->opt.min + i;
    pf_stats_defaults(par);
    if (t->opt.repeat > 0) {
        par->max_runs = t->opt.repeat;
        if (par->min_runs > t->opt.repeat)
            par->min_runs = t->opt.repeat;
    }
    t->stats = pf_tune_xcalloc((size_t)t->ncounts, sizeof *t->stats);
    t->summary = pf_tune_xcalloc((size_t)t->ncounts, sizeof *t->summary);
    t->want = pf_tune_xcalloc((size_t)t->ncounts, 1);
}

/* Runs rounds until the schedule is complete, a signal came, or the program looks broken.
 * 1 when it stopped because the first trials all failed. */
static int run_rounds(pf_tune_t *t, const pf_stats_params_t *par)
{
    pf_stats_choice_t ch;
    int successes = 0, aborted = 0;
    for (t->round_no = 1; !pf_tune_interrupted && !aborted; t->round_no++) {
        build_counts(t);
        int k = pf_stats_plan(t->stats, t->ncounts, par, t->summary, &ch, t->want);
        if (k <= 0)
            break;
        t->round_total = k;
        t->round_index = 0;
        /* Alternate the direction round by round: a drift of the machine falls on all. */
        for (int s = 0; s < t->ncounts && !pf_tune_interrupted && !aborted; s++) {
            int i = t->round_no % 2 ? s : t->ncounts - 1 - s;
            if (!t->want[i])
                continue;
            pf_trial_t r;
            pf_trial_run(t, t->counts[i].workers, &r);
            if (pf_tune_interrupted) {
                free(r.tail);
                break;
            }
            t->trials_done++;
            t->round_index++;
            add_trial(&t->counts[i], &r);
            pf_output_csv_row(t, t->round_no, t->counts[i].workers, &r);
            if (r.ok)
                successes++;
            else
                report_failure(t, t->counts[i].workers, &r);
            free(r.tail);
            if (!successes && t->total_failures >= ABORT_FAILURES)
                aborted = 1; /* a broken program: more trials would only repeat this */
        }
    }
    return aborted;
}

/* The warnings after the answer: about the knob, a flat curve, the preload, the failures. */
static void warn_after(const pf_tune_t *t, const pf_stats_choice_t *ch,
                       const pf_stats_params_t *par, int ignored, int threads)
{
    const char *prog = t->opt.prog[0];
    int chosen = t->counts[ch->chosen].workers;
    if (ignored)
        pf_tune_warn("%s ran %d threads at every worker count: it seems to ignore the count. "
                     "Make it read pferris_workers() (PFERRIS_WORKERS) or OMP_NUM_THREADS, pass "
                     "{workers} in its arguments, or name its own variable with --env NAME",
                     prog, threads);
    if (ch->flat)
        pf_tune_warn("throughput is flat: no worker count is more than %.0f%% faster than %d; "
                     "choosing the smallest, %d", 100 * par->flat, chosen, chosen);
    if (!t->any_report)
        pf_tune_warn("no trial left a pferris report: the preload did not load in %s (a setuid "
                     "program, or one that clears LD_PRELOAD?); threads were not observed", prog);
    if (t->total_failures)
        pf_tune_warn("%d of %d trials failed; failed worker counts were not considered",
                     t->total_failures, t->trials_done);
}

/* The choice from every trial, written out and shown; the exit status. */
static int finish(pf_tune_t *t, const pf_stats_params_t *par, int aborted, double elapsed)
{
    const pf_options_t *opt = &t->opt;
    pf_stats_choice_t ch;
    build_counts(t);
    pf_stats_choose(t->stats, t->ncounts, par, t->summary, &ch);
    int threads = -1, ignored = knob_ignored(t, &threads);
    if (opt->json && pf_output_json(t, opt->json, &ch, par, ignored, elapsed) != 0)
        pf_tune_warn("cannot write --json %s", opt->json);
    if (opt->plot && ch.chosen >= 0) {
        int rc = pf_output_plot(t, opt->plot, &ch);
        if (rc < 0)
            pf_tune_warn("cannot write --plot %s (%s)", opt->plot, strerror(-rc));
    }
    if (ch.chosen < 0) {
        if (aborted)
            pf_tune_warn("stopped after %d failed trials and no successful one: %s does not run "
                         "correctly under these settings (see above)", t->trials_done,
                         opt->prog[0]);
        else
            pf_tune_warn("no worker count produced a measurement; see the failures above");
        return PF_TUNE_EXIT_FAILED;
    }
    if (!opt->quiet) {
        pf_output_table(t, &ch);
        pf_output_answer(t, &ch, elapsed);
    } else {
        printf("%d\n", t->counts[ch.chosen].workers);
    }
    fflush(stdout);
    warn_after(t, &ch, par, ignored, threads);
    return PF_TUNE_EXIT_FOUND;
}

int main(int argc, char **argv)
{
    pf_tune_t *t = &tune;
    pf_options_parse(&t->opt, argc, argv);
    pf_options_resolve_program(&t->opt);
    pf_options_resolve_preload(&t->opt);
    int rc = set_up(t);
    if (rc != 0)
        return rc;

    pf_stats_params_t par;
    make_counts(t, &par);
    t->progress_on = !t->opt.quiet && isatty(2);
    t->t_start = pf_tune_now();
    if (!t->opt.quiet)
        pf_output_header(t);

    int aborted = run_rounds(t, &par);
    pf_tune_progress_clear(t);
    double elapsed = pf_tune_now() - t->t_start;
    if (t->csv)
        fclose(t->csv);
    t->csv = NULL;
    if (pf_tune_interrupted) {
        pf_tune_warn("interrupted after %d trials; no answer", t->trials_done);
        return PF_TUNE_EXIT_SIGNALED + pf_tune_interrupted; /* 128 + N, as a shell reports */
    }
    return finish(t, &par, aborted, elapsed);
}
