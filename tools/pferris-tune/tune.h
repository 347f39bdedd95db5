/* tune.h — what the modules of pferris-tune share: the options, the state of one tuning run,
 * one trial's outcome, and the functions each module offers the others. Internal to
 * tools/pferris-tune/; main.c holds the one pf_tune_t and passes it around.
 *
 *   main.c     the tuning loop, the run's state, and the small helpers every module uses
 *   options.c  usage, argument parsing, PROGRAM and preload resolution, a trial's environment
 *   trial.c    one trial: launch, wait, stop at the time box, classify the exit
 *   observe.c  what a trial's process tree reported: reports and live snapshots
 *   output.c   the table, the JSON result, the CSV rows and the SVG plot
 */
#ifndef PF_TUNE_H
#define PF_TUNE_H

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include "parallel/stats.h"

#define PF_TUNE_EXIT_FOUND    0
#define PF_TUNE_EXIT_USAGE    2
#define PF_TUNE_EXIT_FAILED   3
#define PF_TUNE_EXIT_SIGNALED 128 /* + the signal's number */

enum { PF_TUNE_METRIC_WALL, PF_TUNE_METRIC_COUNTER };

/* The command line, and what options.c resolved from it. */
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
    char prog_path[PATH_MAX];    /* PROGRAM as execve needs it */
    char preload_path[PATH_MAX]; /* the preload, an absolute path when it could be made one */
} pf_options_t;

/* One trial's outcome. */
typedef struct {
    int ok;              /* a measurement was made */
    double value;        /* throughput */
    double seconds;      /* from launch to the end (or the box) */
    int has_code;        /* exit code known (not stopped by us at the box) */
    int code;            /* exit code, or 128 + signal */
    int threads;         /* threads observed in the tree, -1 unknown */
    int reports;         /* reports found */
    double wait_s, life_s; /* thread time blocked on locks, and thread time (0: no figure) */
    double lock_wait_s;  /* of which on the heaviest lock */
    char lock_where[256]; /* that lock: "mutex\tmodule\toffset\tsymbol", or "" */
    char why[512];       /* why it failed */
    char *tail;          /* the program's stderr tail (malloc), failed trials only */
} pf_trial_t;

/* One worker count and every trial of it. */
typedef struct {
    int workers;
    double *samples;
    int n, cap;
    int runs, failed;
    int *codes;          /* per trial: exit code, or INT_MIN when stopped at the box */
    int *threads;        /* per trial */
    int ntr, captr;
    double wait_s, life_s, lock_wait_s; /* summed over the trials with reports */
    char lock_where[256]; /* the heaviest lock of the last trial that had one */
} pf_tune_count_t;

/* The state of one tuning run. Its tables live as long as the run; main.c frees them at exit. */
typedef struct {
    pf_options_t opt;
    pf_tune_count_t *counts;      /* opt.min .. opt.max, ascending */
    int ncounts;
    pf_stats_count_t *stats;      /* the counts as lib/parallel/stats.h reads them */
    pf_stats_summary_t *summary;  /* per count, as the last plan or choice left it */
    unsigned char *want;          /* the round's plan: which counts get a trial */
    char tmpdir[PATH_MAX / 2], trialdir[PATH_MAX], errpath[PATH_MAX];
    pid_t running_pgid;           /* the running trial's process group, else 0 */
    FILE *csv;                    /* --csv, open while the trials run */
    int progress_on;              /* a progress line is drawn on stderr */
    double t_start;
    int round_no, round_total, round_index;
    int trials_done, failures_shown, total_failures;
    int any_report;               /* some trial left a report or a snapshot: the preload loaded */
} pf_tune_t;

/* The signal that asked us to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
extern volatile sig_atomic_t pf_tune_interrupted;

/* main.c: helpers. The x- and format functions print "out of memory" and exit (3) when
 * allocation fails. */
double pf_tune_now(void);
void pf_tune_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *pf_tune_xcalloc(size_t n, size_t size);
char *pf_tune_xstrdup(const char *s);
char *pf_tune_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pf_tune_progress(const pf_tune_t *t, int workers, double frac);
void pf_tune_progress_clear(const pf_tune_t *t);
/* Threads observed for a count (the most seen in any of its trials), -1 unknown. */
int pf_tune_count_threads(const pf_tune_count_t *c);

/* options.c. Parsing and resolving exit with 2, after a message, on a usage error or a PROGRAM
 * or preload that cannot be used; --help and --version print and exit with 0. */
void pf_options_parse(pf_options_t *opt, int argc, char **argv);
void pf_options_resolve_program(pf_options_t *opt);
void pf_options_resolve_preload(pf_options_t *opt);
/* A trial's environment and argument vector for `workers` (NULL-terminated, every string
 * malloc'd). */
char **pf_options_env(const pf_options_t *opt, const char *trialdir, int workers);
char **pf_options_argv(const pf_options_t *opt, int workers);

/* trial.c: runs one trial with `workers` and fills r. */
void pf_trial_run(pf_tune_t *t, int workers, pf_trial_t *r);
/* Makes the tuner the subreaper of everything its trials start (0, or -errno). */
int pf_trial_contain(void);
/* Kills and reaps every process descended from the tuner (what a trial left behind). */
void pf_trial_kill_descendants(void);

/* observe.c: what the trial's process tree reported: reports of processes that ended, and live
 * snapshots of the others. */
typedef struct {
    int pids[256], npids;       /* processes with a report */
    long long count;            /* the metric counter's total */
    int seen;                   /* the counter appeared somewhere */
    int threads, have_threads;  /* threads observed, summed over processes */
    double live_mono;           /* latest snapshot time of a process without a report, or 0 */
    int reports, snapshots;
    double wait_s, life_s;      /* thread time blocked on locks, and thread time, summed */
    double lock_wait_s;         /* the heaviest lock's wait (in any one report) */
    char lock_where[256];       /* that lock, as pf_trial_t has it */
    char others[256];           /* other counter names seen, for the error message */
} pf_observe_tree_t;

/* Reads the reports and snapshots in dir; counter (may be NULL) is the metric's counter. */
void pf_observe_tree(pf_observe_tree_t *tree, const char *dir, const char *counter);

/* output.c. The summaries are t->summary; ch is the choice made from them. pf_output_csv_open
 * (--csv, with its header) and pf_output_plot return 0 or -errno, pf_output_json 0 or -1. */
const char *pf_output_unit(const pf_options_t *opt); /* in a static buffer */
char *pf_output_metric_name(const pf_options_t *opt);
void pf_output_header(const pf_tune_t *t);
int pf_output_csv_open(pf_tune_t *t);
void pf_output_csv_row(pf_tune_t *t, int round, int workers, const pf_trial_t *r);
int pf_output_json(const pf_tune_t *t, const char *path, const pf_stats_choice_t *ch,
                   const pf_stats_params_t *par, int ignored, double elapsed);
int pf_output_plot(const pf_tune_t *t, const char *path, const pf_stats_choice_t *ch);
void pf_output_table(const pf_tune_t *t, const pf_stats_choice_t *ch);
void pf_output_answer(const pf_tune_t *t, const pf_stats_choice_t *ch, double elapsed);

#endif
