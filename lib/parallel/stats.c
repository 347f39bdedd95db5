/* stats.c — the robust choice of a worker count and the adaptive schedule of trials.
 *
 * Why these statistics:
 *  - Medians, not means: one trial slowed by another process on a 2-core machine must not move
 *    the answer. The spread is 1.4826 x MAD, which estimates the standard deviation of normal
 *    noise but ignores the outliers that noisy machines produce.
 *  - The test is a one-sided exact Mann-Whitney U test: it assumes no distribution (throughput
 *    noise is skewed: a run is slowed, rarely sped up) and is exact at the 3 to 5 samples a
 *    count gets.
 *  - The answer is the knee: the smallest count not shown to be more than 3% below the best.
 *    The earlier rule, "the smallest count *shown* within 3% of the best" (non-inferiority),
 *    treated missing evidence as a reason for more workers: on a plateau of equal counts the
 *    best median is the luckiest of many, proving a count within 3% of it takes more samples
 *    than a count gets, and the noise picked among equals (3, 4, 8 on a 2-CPU machine whose
 *    answer is 2). Here a count needs evidence against it to lose.
 *  - Lack of data must not win either: a count is eligible only with min_runs samples, and the
 *    schedule spends trials on exactly the counts that decide the knee.
 *  - "Shown below" needs the median outside the margin and one of two witnesses: the rank
 *    test (robust to how noise is shaped, but one slowed trial of the best's can hide a 30%
 *    gap at 5 samples) or the medians' gap beyond two standard errors of pooled noise (robust
 *    to outliers in the best, but blind to how the noise is shaped). Counts below the answer
 *    with only one witness get more trials until both agree, the medians alone are far
 *    apart, or max_runs.
 *  - Noise is pooled over all counts (every sample's deviation from its count's median): a
 *    spread from three samples is no estimate.
 *  - Flat throughput is the knee at the smallest count with no median more than 5% above it.
 */
#include "parallel/stats.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define MW_EXACT_MAX 400   /* nx * ny up to which the exact distribution is computed */
#define MW_POLY      1024  /* > nx * ny + nx + 1 for every exact case */
#define PRIOR_NOISE  0.05  /* relative noise assumed before any count has two samples */
#define NOISE_FLOOR  0.002 /* below this a spread is measurement granularity, not precision */
#define Z_CONTENTION 2.0   /* standard errors within which a count may still reach the best */
#define OUTLIER      0.4   /* a single trial may be this much slower than the truth */
#define GRID_RATIO   1.5   /* geometric step of the first sweep */
#define GRID_ALL     7     /* ranges this small are swept whole */

void pf_stats_defaults(pf_stats_params_t *p)
{
    p->margin = 0.03;
    p->tolerance = 0.01;
    p->alpha = 0.05;
    p->precision = 0.01;
    p->flat = 0.05;
    p->min_runs = 3;
    p->max_runs = 5;
}

/* The finite samples of v, sorted ascending, into out (PF_STATS_MAX_SAMPLES). Insertion sort:
 * n is small, and qsort may allocate, which inside the preload would count in the heap. */
static int sorted_copy(const double *v, int n, double *out)
{
    int k = 0;
    if (n > PF_STATS_MAX_SAMPLES)
        n = PF_STATS_MAX_SAMPLES;
    for (int i = 0; i < n; i++) {
        double x = v[i];
        if (!isfinite(x))
            continue;
        int j = k++;
        while (j > 0 && out[j - 1] > x) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = x;
    }
    return k;
}

static double median_sorted(const double *s, int n)
{
    if (n <= 0)
        return NAN;
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

double pf_stats_median(const double *v, int n)
{
    double s[PF_STATS_MAX_SAMPLES];
    if (!v || n <= 0)
        return NAN;
    return median_sorted(s, sorted_copy(v, n, s));
}

double pf_stats_spread(const double *v, int n)
{
    double s[PF_STATS_MAX_SAMPLES], d[PF_STATS_MAX_SAMPLES];
    if (!v || n <= 0)
        return NAN;
    int k = sorted_copy(v, n, s);
    if (k < 2)
        return k == 1 ? 0.0 : NAN;
    double m = median_sorted(s, k);
    for (int i = 0; i < k; i++)
        d[i] = fabs(s[i] - m);
    double t[PF_STATS_MAX_SAMPLES];
    return 1.4826 * median_sorted(t, sorted_copy(d, k, t));
}

/* P(U >= u) under the null for sizes m, n: the coefficients of the Gaussian binomial
 * [m+n choose m]_q count the arrangements with each U. Built as the product over i of
 * (1 - q^(n+i)) / (1 - q^i); each division is exact, done as a running sum. */
static double mw_exact_tail(int m, int n, double u)
{
    double f[MW_POLY];
    int deg = 0;
    memset(f, 0, sizeof f);
    f[0] = 1.0;
    for (int i = 1; i <= m; i++) {
        int k = n + i;
        for (int d = deg + k; d >= k; d--)
            f[d] -= f[d - k];
        deg += k;
        for (int d = i; d <= deg; d++)
            f[d] += f[d - i];
        for (int d = deg - i + 1; d <= deg; d++)
            f[d] = 0.0; /* exactly zero in exact arithmetic */
        deg -= i;
    }
    double total = 0, tail = 0;
    int from = (int)floor(u); /* a half from ties is rounded down: the conservative side */
    for (int d = 0; d <= deg; d++) {
        total += f[d];
        if (d >= from)
            tail += f[d];
    }
    return total > 0 ? tail / total : 1.0;
}

double pf_stats_mw_below(const double *x, int nx, const double *y, int ny, double scale)
{
    double xs[PF_STATS_MAX_SAMPLES], ys[PF_STATS_MAX_SAMPLES];
    if (!x || !y || nx <= 0 || ny <= 0)
        return 1.0;
    int m = sorted_copy(x, nx, xs), n = sorted_copy(y, ny, ys);
    if (m == 0 || n == 0)
        return 1.0;
    double u = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double yj = scale * ys[j];
            u += xs[i] < yj ? 1.0 : xs[i] == yj ? 0.5 : 0.0;
        }
    if (m * n <= MW_EXACT_MAX)
        return mw_exact_tail(m, n, u);
    double mean = 0.5 * m * n, sd = sqrt((double)m * n * (m + n + 1) / 12.0);
    double z = (u - 0.5 - mean) / sd;
    return 0.5 * erfc(z / sqrt(2.0));
}

static int measured(const pf_stats_count_t *c)
{
    return c->n > 0 && c->failed == 0 && c->samples;
}

static void params_fix(const pf_stats_params_t *in, pf_stats_params_t *p)
{
    if (in)
        *p = *in;
    else
        pf_stats_defaults(p);
    if (p->max_runs < 1)
        p->max_runs = 1;
    if (p->min_runs > p->max_runs)
        p->min_runs = p->max_runs;
    if (p->min_runs < 1)
        p->min_runs = 1;
}

/* The relative noise pooled over all counts: 1.4826 x the median of every sample's relative
 * deviation from its count's median. A count's own spread from three samples is no estimate
 * (two of them are often close by chance); the deviations of all counts are. The median
 * sample of an odd count deviates by zero by construction and is left out. */
static double pooled_of(const pf_stats_summary_t *sum, int n, const pf_stats_count_t *counts)
{
    double dev[PF_STATS_MAX_SAMPLES];
    int k = 0;
    for (int i = 0; i < n; i++) {
        const pf_stats_summary_t *s = &sum[i];
        if (!measured(&counts[i]) || s->n < 2 || !(s->median > 0))
            continue;
        for (int j = 0; j < s->n && j < PF_STATS_MAX_SAMPLES && k < PF_STATS_MAX_SAMPLES; j++) {
            double d = fabs(counts[i].samples[j] - s->median) / s->median;
            if (isfinite(d) && d > 0)
                dev[k++] = d;
        }
    }
    return k ? fmax(1.4826 * pf_stats_median(dev, k), NOISE_FLOOR) : PRIOR_NOISE;
}

/* Relative noise of a count: its own robust spread, never less than the pooled noise. */
static double rel_noise(const pf_stats_summary_t *s, double pooled)
{
    double own = s->median > 0 ? s->spread / s->median : 1.0;
    double r = fmax(own, pooled);
    return fmax(r, NOISE_FLOOR);
}

/* How far below the margin a median must lie to be no accident of the noise of the two. */
static double z_gap(const pf_stats_summary_t *s, const pf_stats_summary_t *bs)
{
    return Z_CONTENTION * bs->median * hypot(s->rel_se, bs->rel_se);
}

/* Is count s shown to lie below the best by more than the margin? Its median must be
 * outside the margin, and either the rank test or the medians' own uncertainty (Z_CONTENTION
 * standard errors) must say that this is no accident. Both parts guard the plateau: the best
 * of many equal counts is the luckiest, so a median a little outside the margin of it, or a
 * rank test that one slowed trial tipped, alone do not reject a count. */
static int shown_below(const pf_stats_summary_t *s, const pf_stats_summary_t *bs,
                       const pf_stats_params_t *p)
{
    double gap = (1.0 - p->margin) * bs->median - s->median;
    if (!(gap > 0))
        return 0;
    return s->p_below <= p->alpha || gap > z_gap(s, bs);
}

int pf_stats_choose(const pf_stats_count_t *counts, int n, const pf_stats_params_t *params,
                    pf_stats_summary_t *sum, pf_stats_choice_t *choice)
{
    pf_stats_params_t p;
    if (!counts || n <= 0 || !sum || !choice)
        return -EINVAL;
    params_fix(params, &p);
    choice->chosen = choice->best = -1;
    choice->flat = 0;
    choice->measured = 0;

    int first = -1;
    for (int i = 0; i < n; i++) {
        pf_stats_summary_t *s = &sum[i];
        const pf_stats_count_t *c = &counts[i];
        memset(s, 0, sizeof *s);
        s->workers = c->workers;
        s->n = c->samples && c->n > 0 ? c->n : 0;
        s->failed = c->failed;
        s->median = pf_stats_median(c->samples, s->n);
        s->spread = s->n >= 2 ? pf_stats_spread(c->samples, s->n) : 0.0;
        s->min = s->max = NAN;
        for (int j = 0; j < s->n && j < PF_STATS_MAX_SAMPLES; j++) {
            double x = c->samples[j];
            if (isfinite(x) && !(x >= s->min))
                s->min = x;
            if (isfinite(x) && !(x <= s->max))
                s->max = x;
        }
        s->p_below = 1.0;
        s->p_within = 1.0;
        if (!measured(c) || !isfinite(s->median))
            continue;
        choice->measured++;
        if (first < 0)
            first = i;
        if (choice->best < 0 || s->median > sum[choice->best].median)
            choice->best = i;
    }
    if (choice->best < 0)
        return 0;

    const pf_stats_count_t *bc = &counts[choice->best];
    const pf_stats_summary_t *bs = &sum[choice->best];
    double pooled = pooled_of(sum, n, counts);
    int flat = 1;
    for (int i = 0; i < n; i++)
        if (measured(&counts[i]) && isfinite(sum[i].median))
            sum[i].rel_se = 1.2533 * rel_noise(&sum[i], pooled) / sqrt((double)sum[i].n);
    for (int i = 0; i < n; i++) {
        pf_stats_summary_t *s = &sum[i];
        if (!measured(&counts[i]) || !isfinite(s->median))
            continue;
        if (i == choice->best) {
            s->eligible = 1;
            s->p_within = 0.0;
        } else {
            /* The knee: a count is as good as the best unless its samples are shown to lie
             * below the best's shrunk by the margin. Too few samples decide nothing either
             * way: such a count is undecided, and the schedule gives it trials. */
            s->p_below = pf_stats_mw_below(counts[i].samples, s->n, bc->samples, bs->n,
                                           1.0 - p.margin);
            s->p_within = pf_stats_mw_below(bc->samples, bs->n, counts[i].samples, s->n,
                                            1.0 / (1.0 - p.margin));
            s->eligible = s->n >= p.min_runs && bs->n >= p.min_runs &&
                          !shown_below(s, bs, &p);
        }
        if (s->eligible && choice->chosen < 0)
            choice->chosen = i;
        if (s->median < (1.0 - p.flat) * bs->median)
            flat = 0;
    }
    /* Flat: the answer is the smallest count and no median stands out by more than `flat`. */
    choice->flat = flat && choice->measured >= 2 && choice->chosen == first;
    return 0;
}

/* The first sweep: every count of a small range, else a geometric grid from the smallest to the
 * largest (denser where relative steps are large), always with both ends. */
static int plan_grid(const pf_stats_count_t *c, int n, unsigned char *want)
{
    int k = 0;
    if (n <= GRID_ALL) {
        for (int i = 0; i < n; i++)
            want[i] = 1;
        return n;
    }
    double lo = c[0].workers > 0 ? c[0].workers : 1, hi = c[n - 1].workers;
    for (double v = lo; v < hi * GRID_RATIO; v *= GRID_RATIO) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (fabs(c[i].workers - v) < fabs(c[best].workers - v))
                best = i;
        want[best] = 1;
    }
    want[0] = want[n - 1] = 1;
    for (int i = 0; i < n; i++)
        k += want[i];
    return k;
}

static int untried(const pf_stats_count_t *c)
{
    return (c->n <= 0 || !c->samples) && c->failed == 0;
}

/* What a count of one or two trials could be at most, were one of them slowed by OUTLIER
 * (of two, the other not: the median of two is their mean). */
static double slowed_best_case(const pf_stats_summary_t *s)
{
    return s->n == 1 ? s->median / (1.0 - OUTLIER) : s->max / (1.0 - OUTLIER / 2);
}

int pf_stats_plan(const pf_stats_count_t *counts, int n, const pf_stats_params_t *params,
                  pf_stats_summary_t *sum, pf_stats_choice_t *choice, unsigned char *want)
{
    pf_stats_params_t p;
    if (!counts || n <= 0 || !sum || !choice || !want)
        return -EINVAL;
    params_fix(params, &p);
    memset(want, 0, (size_t)n);
    int rc = pf_stats_choose(counts, n, &p, sum, choice);
    if (rc < 0)
        return rc;
    if (choice->measured == 0) {
        for (int i = 0; i < n; i++)
            if (!untried(&counts[i]))
                return 0; /* trials were made and all failed: more would fail too */
        return plan_grid(counts, n, want);
    }

    int b = choice->best, c = choice->chosen;
    /* Refine: the answer and the best need measured neighbours to be known as such. */
    int around[3] = {b - 1, b + 1, c - 1};
    for (int k = 0; k < 3; k++)
        if (around[k] >= 0 && around[k] < n && untried(&counts[around[k]]))
            want[around[k]] = 1;

    /* Repeat: only the counts that decide the knee, only until they are decided. */
    const pf_stats_summary_t *bs = &sum[b];
    double pooled = pooled_of(sum, n, counts);
    for (int i = 0; i < n; i++) {
        const pf_stats_summary_t *s = &sum[i];
        if (!measured(&counts[i]) || s->n >= p.max_runs)
            continue;
        if (i == b) {
            /* The yardstick of every test: a robust median, then a precise one. */
            want[i] |= s->n < p.min_runs || s->rel_se > p.precision;
            continue;
        }
        if (i < c) {
            /* Below the answer: not yet tested (too few samples), or rejected. A rejection
             * that most of its trials being slowed explains is looked at again. A count whose
             * trials would still lie below the margin had one been slowed by OUTLIER, and by
             * three times the noise besides (the slots model's counts far left of K), needs no
             * more than it has. */
            double gap = (1.0 - p.margin) * bs->median - s->median;
            int settled = gap > 2 * z_gap(s, bs) || (s->p_below <= p.alpha && gap > z_gap(s, bs));
            int far = s->n <= 2 && slowed_best_case(s) * (1.0 + 3 * pooled) <
                                       (1.0 - p.margin) * bs->median;
            want[i] |= (s->n < p.min_runs && !far) || !settled;
            if (s->n >= 2 && s->max >= (1.0 - 2 * p.margin) * bs->median &&
                s->max - s->median > fmax(0.1, 4 * pooled) * s->median)
                want[i] = 1;
            continue;
        }
        if (i == c) {
            /* The answer while its median misses the margin stands only for lack of
             * evidence: more trials decide it either way. */
            want[i] |= s->median < (1.0 - p.margin) * bs->median;
            continue;
        }
        /* Above the answer: only a count that may be the best matters (a new yardstick). */
        double reach = s->median * (1.0 + Z_CONTENTION * hypot(s->rel_se, bs->rel_se));
        if (s->n <= 2)
            reach = fmax(reach, slowed_best_case(s));
        if (reach >= bs->median)
            want[i] |= s->n < p.min_runs;
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        k += want[i];
    return k;
}
