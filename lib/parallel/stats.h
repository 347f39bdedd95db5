/* stats.h — robust choice of a worker count from repeated, noisy throughput samples.
 *
 * Shared by pferris-tune (tools/) and pferris_auto_tune_workers (lib/parallel/tune.c): one copy of the
 * statistics. No I/O, no allocation, no global state: every function is a pure function of its
 * arguments, safe from any thread.
 *
 * The rule, the knee (stats.c explains why):
 *  - per count: the median of its throughput samples, and a robust spread (1.4826 x MAD);
 *  - best: the count with the highest median;
 *  - a count is shown below the best when its median is more than `margin` (3%) below the
 *    best's and either a one-sided exact Mann-Whitney U test (level `alpha`, 0.05) finds its
 *    samples below the best's shrunk by the margin, or its median is below that line by more
 *    than two standard errors of the two medians (the noise pooled over all counts);
 *  - a count is eligible when it has min_runs samples (as has the best), no failure, and is
 *    not shown below the best; the answer is the smallest eligible count: the knee. Missing
 *    evidence no longer favours more workers: on a plateau of equal counts the smallest wins;
 *  - throughput is flat when the answer is the smallest count and every median is within
 *    `flat` (5%) of the best.
 *
 * The adaptive schedule (pf_stats_plan) decides, round after round, which counts get one more
 * trial: a coarse geometric grid first, then the untested neighbours of the best and of the
 * answer, then repeats only for the counts that decide the knee: the best (the yardstick),
 * counts below the answer until both tests or the medians alone settle them, the answer while
 * its median misses the margin, and counts above it that may be the best; max_runs at most.
 */
#ifndef PF_STATS_H
#define PF_STATS_H

#include "base/atomic.h"

/* At most this many samples of one count are used (the first ones); more change nothing. */
#define PF_STATS_MAX_SAMPLES 256

/* One worker count and its measurements. Arrays of these are sorted by workers, ascending;
 * neighbours in the array are neighbours for refinement. */
typedef struct {
    int workers;
    const double *samples; /* throughputs, higher is better; n of them */
    int n;
    int failed;            /* trials that gave no measurement: never chosen, never retried */
} pf_stats_count_t;

typedef struct {
    double margin;    /* the answer is shown to be at most this fraction below the best */
    double tolerance; /* unused by the knee rule; kept in the result's parameters */
    double alpha;     /* one-sided significance level of that test */
    double precision; /* relative standard error of the median at which repeating stops */
    double flat;      /* all medians within this of the best: throughput is flat */
    int min_runs;     /* trials a contender gets before its spread is trusted */
    int max_runs;     /* trials of one count, at most */
} pf_stats_params_t;

typedef struct {
    int workers, n, failed;
    double median;    /* NAN when n == 0 */
    double spread;    /* 1.4826 x median absolute deviation, in throughput units; 0 when n < 2 */
    double min, max;  /* of the samples; NAN when n == 0 */
    double rel_se;    /* relative standard error of the median (pooled noise at least) */
    double p_below;   /* p-value of "below the best by more than margin"; 1 for the best */
    double p_within;  /* p-value of "not within margin of the best"; 0 for the best */
    int eligible;     /* may be the answer: enough samples, not shown below the best */
} pf_stats_summary_t;

typedef struct {
    int chosen;       /* index of the answer; -1 when no count was measured */
    int best;         /* index of the highest median; -1 likewise */
    int flat;         /* 1 when no count is better than the smallest */
    int measured;     /* counts with at least one sample and no failure */
} pf_stats_choice_t;

/* margin 0.03, tolerance 0.01, alpha 0.05, precision 0.01, flat 0.05, min_runs 3, max_runs 5. */
void pf_stats_defaults(pf_stats_params_t *p) PF_HIDDEN;

/* Median of v[0 .. n), NAN when n <= 0. v is not changed. */
double pf_stats_median(const double *v, int n) PF_HIDDEN;
/* 1.4826 x the median absolute deviation from the median (a robust standard deviation). */
double pf_stats_spread(const double *v, int n) PF_HIDDEN;

/* One-sided Mann-Whitney U test: the p-value of "x tends to be smaller than scale * y".
 * U counts the pairs with x_i < scale * y_j (ties count one half); p = P(U_null >= U). Exact
 * distribution when nx * ny <= 400, else the normal approximation with continuity correction.
 * Returns 1 when either side is empty. */
double pf_stats_mw_below(const double *x, int nx, const double *y, int ny, double scale) PF_HIDDEN;

/* Summaries of every count into sum[0 .. n) and the choice. params NULL: the defaults.
 * 0, or -EINVAL for a bad argument. */
int pf_stats_choose(const pf_stats_count_t *counts, int n, const pf_stats_params_t *params,
                    pf_stats_summary_t *sum, pf_stats_choice_t *choice) PF_HIDDEN;

/* The next round: want[i] = 1 for each count that should get one more trial; sum and choice
 * are filled as by pf_stats_choose. Returns how many (0: the measurement is complete), or
 * -EINVAL. With nothing measured yet it asks for the coarse grid; when every tried count
 * failed it returns 0. Run a round's trials interleaved (one per count, then the next round),
 * so that a slow drift of the machine falls on every count alike. */
int pf_stats_plan(const pf_stats_count_t *counts, int n, const pf_stats_params_t *params,
                  pf_stats_summary_t *sum, pf_stats_choice_t *choice,
                  unsigned char *want) PF_HIDDEN;

#endif
