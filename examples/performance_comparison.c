/* performance_comparison.c — the seed's Example 4, "Performance Comparison", in C: four
 * parallel operations over 10 000 items (two maps, two filters), each under its own profiler,
 * with the profiled time, throughput and result count of each. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "pferris.h"

#define N 10000

/* Simple prime check for testing. */
static int is_prime(const void *item, void *ctx)
{
    (void)ctx;
    long n = *(const long *)item;
    if (n < 2)
        return 0;
    for (long i = 2; i <= (long)sqrt((double)n); i++)
        if (n % i == 0)
            return 0;
    return 1;
}

static int square(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long x = *(const long *)in;
    *(long *)out = x * x;
    return 0;
}

static int cube(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long x = *(const long *)in;
    *(long *)out = x * x * x;
    return 0;
}

static int is_even(const void *item, void *ctx)
{
    (void)ctx;
    return *(const long *)item % 2 == 0;
}

/* An operation writes its results to out and returns how many, or -1. */
static long map_square(const long *d, size_t n, long *out)
{
    return pferris_parallel_map(square, NULL, d, n, sizeof *d, out, sizeof *out) ? -1 : (long)n;
}

static long map_cube(const long *d, size_t n, long *out)
{
    return pferris_parallel_map(cube, NULL, d, n, sizeof *d, out, sizeof *out) ? -1 : (long)n;
}

static long filter_even(const long *d, size_t n, long *out)
{
    size_t kept;
    return pferris_parallel_filter(is_even, NULL, d, n, sizeof *d, out, &kept) ? -1 : (long)kept;
}

static long filter_prime(const long *d, size_t n, long *out)
{
    size_t kept;
    return pferris_parallel_filter(is_prime, NULL, d, n, sizeof *d, out, &kept) ? -1 : (long)kept;
}

typedef struct {
    double profiled_time, wall_time, throughput;
    long result_count;
} comparison_t;

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the seed used time.time(); this clock does not jump */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Compare different parallel operations. */
static int compare_parallel_operations(comparison_t results[4])
{
    /* Test data */
    static long data[N], result[N];
    for (long i = 0; i < N; i++)
        data[i] = i;

    /* Different operations to compare */
    static const struct {
        const char *name;
        long (*operation)(const long *, size_t, long *);
    } operations[] = {
        {"map_square", map_square},
        {"map_cube", map_cube},
        {"filter_even", filter_even},
        {"filter_prime", filter_prime},
    };

    for (int k = 0; k < 4; k++) {
        const char *name = operations[k].name;
        pferris_profiler_t *profiler = pferris_profiler_new();

        /* Profile the operation */
        double start_time = wall_seconds();
        pferris_start(profiler);

        long count = operations[k].operation(data, N, result);

        double elapsed = pferris_stop(profiler);
        double total_time = wall_seconds() - start_time;
        pferris_profiler_free(profiler);
        if (count < 0)
            return -1;

        results[k] = (comparison_t){elapsed, total_time, N / total_time, count};

        printf("%s:\n", name);
        printf("  Time: %.3fs\n", elapsed);
        printf("  Throughput: %.0f items/sec\n", results[k].throughput);
        printf("  Results: %ld items\n", count);
    }
    return 0;
}

int main(void)
{
    /* Run comparison */
    comparison_t comparison_results[4];
    return compare_parallel_operations(comparison_results) == 0 ? 0 : 1;
}
