/* rng.h — the samplers' random draws: xorshift64* per thread (the state is the caller's, never
 * shared), and exponential intervals, so that samples form a Poisson process over bytes (heap
 * call sites) or over waiting time (lock waits). */
#ifndef PF_RNG_H
#define PF_RNG_H

#include <math.h>
#include <stdint.h>

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

/* An exponential draw of the given mean, rounded up to at least 1 and capped at 4e18. */
static inline int64_t pf_rng_exponential(uint64_t *state, double mean)
{
    double v = -log1p(-pf_rng_uniform(state)) * mean; /* u in [0, 1): -log(1 - u) is finite */
    return v > 4e18 ? (int64_t)4e18 : (int64_t)v + 1;
}

#endif
