/* rng.h — the samplers' random draws: xorshift64* per thread (the state is the caller's, never
 * shared), and exponential intervals, so that samples form a Poisson process over bytes (heap
 * call sites) or over waiting time (lock waits). */
#ifndef PF_RNG_H
#define PF_RNG_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Uniform in [0, 1); *state must not be 0. */
static inline double pf_rng_uniform(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

/* -log(x) for x in (0, 1], within 1e-12 of libm's log (tests/check_rng.c): the exponent comes
 * from the bits, and the log of the mantissa m, taken in [sqrt(1/2), sqrt(2)), from the odd
 * series 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172, to t^15. Inline, without libm: at a
 * sample, after the hundreds of kilobytes the program allocated since the last, libm's code and
 * PLT entries are cold; with log1p and expm1 a sample's draw took 281 TSC ticks on mallocbench,
 * inline 110 (docs/benchmarks.md, session 5). */
static inline double pf_neg_log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)(bits >> 52) - 1023; /* x is positive and normal: no sign bit, no subnormal */
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double t = (m - 1) / (m + 1), t2 = t * t;
    double series = 1. / 13 + t2 * (1. / 15); /* 1 + t^2/3 + ... + t^14/15, by Horner's rule */
    series = 1. / 11 + t2 * series;
    series = 1. / 9 + t2 * series;
    series = 1. / 7 + t2 * series;
    series = 1. / 5 + t2 * series;
    series = 1. / 3 + t2 * series;
    series = 1 + t2 * series;
    return -((double)e * 0.69314718055994530942 + 2 * t * series);
}

/* 1 - exp(-x) for x >= 0, the chance that a block of x mean intervals is sampled: the Taylor
 * series below 1/8 (the error is below x^9 / 9!, 1e-12 of the result), libm's expm1 above. */
static inline double pf_one_minus_exp_neg(double x)
{
    if (x >= 0.125)
        return -expm1(-x);
    double sum = 1. / 5040 - x * (1. / 40320); /* x - x^2/2! + ... - x^8/8!, by Horner's rule */
    sum = 1. / 720 - x * sum;
    sum = 1. / 120 - x * sum;
    sum = 1. / 24 - x * sum;
    sum = 1. / 6 - x * sum;
    sum = 1. / 2 - x * sum;
    return x * (1 - x * sum);
}

/* An exponential draw of the given mean, rounded up to at least 1 and capped at 4e18. */
static inline int64_t pf_rng_exponential(uint64_t *state, double mean)
{
    double v = pf_neg_log(1 - pf_rng_uniform(state)) * mean; /* u in [0, 1): 1 - u in (0, 1] */
    return v > 4e18 ? (int64_t)4e18 : (int64_t)v + 1;
}

#endif
