/* auto_tuning.c — the seed's Example 2, "Auto-Tuning Workers", in C: tune the worker count for
 * a CPU-bound task on sample data, apply it, then parallel_map a larger data set with it.
 * Usage: auto_tuning [TEST_DURATION]   (seconds per worker count; the seed's 2.0 by default) */
#include <stdio.h>
#include <stdlib.h>
#include "pferris.h"

/* CPU-intensive task for benchmarking. */
static int cpu_intensive_task(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long n = *(const long *)in, s = 0;
    for (long i = 0; i < n * 100; i++) {
        s += i * i;
        __asm__ volatile("" : "+r"(s)); /* keep the loop a loop */
    }
    *(long *)out = s;
    return 0;
}

int main(int argc, char **argv)
{
    double test_duration = argc > 1 ? atof(argv[1]) : 2.0;

    /* Generate sample data for tuning */
    long sample_data[100];
    for (long i = 0; i < 100; i++)
        sample_data[i] = 50 + i;

    /* Auto-tune worker count */
    printf("Auto-tuning worker count...\n");
    fflush(stdout);
    pferris_tune_result_t tuning_result;
    int rc = pferris_auto_tune_workers(cpu_intensive_task, NULL, sample_data, 100,
                                       sizeof sample_data[0], sizeof(long), 1, 8,
                                       test_duration, &tuning_result);
    if (rc < 0) {
        fprintf(stderr, "auto_tune_workers failed: %d\n", rc);
        return 1;
    }

    printf("Optimal workers: %d\n", tuning_result.optimal_workers);
    printf("Best throughput: %.2f items/sec\n", tuning_result.best_throughput);
    printf("Tested configurations: %d\n", tuning_result.tested_workers);
    for (int i = 0; i < tuning_result.tested_workers; i++)
        printf("  %d workers: %.2f items/sec\n", tuning_result.results[i].workers,
               tuning_result.results[i].throughput);

    /* Apply the optimized setting */
    pferris_set_worker_count(tuning_result.optimal_workers);

    /* Run with optimized settings */
    static long large_dataset[1000], results[1000];
    for (long i = 0; i < 1000; i++)
        large_dataset[i] = i;
    rc = pferris_parallel_map(cpu_intensive_task, NULL, large_dataset, 1000,
                              sizeof large_dataset[0], results, sizeof results[0]);
    if (rc < 0) {
        fprintf(stderr, "parallel_map failed: %d\n", rc);
        return 1;
    }
    printf("Processed %d items with %d workers\n", 1000, tuning_result.optimal_workers);

    pferris_tune_result_free(&tuning_result);
    return 0;
}
