/* basic_profiling.c — the seed's Example 1, "Basic Profiling", in C: a profiler around data
 * preparation and a parallel_map of items that each sleep 10 ms (I/O) and then compute.
 * Build: make examples; run: build/examples/basic_profiling */
#include <jansson.h>
#include <stdio.h>
#include <time.h>
#include "pferris.h"

/* Simulate some CPU-intensive work. */
static int simulate_work(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long item = *(const long *)in;
    struct timespec io = {0, 10 * 1000 * 1000};
    nanosleep(&io, NULL); /* simulate I/O */
    long s = 0;
    for (long i = 0; i < item * 10; i++) { /* CPU work */
        s += i * i;
        __asm__ volatile("" : "+r"(s)); /* keep the loop a loop */
    }
    *(long *)out = s;
    return 0;
}

static double timing(json_t *report, const char *name)
{
    return json_number_value(json_object_get(json_object_get(report, "timings"), name));
}

int main(void)
{
    /* Create and start profiler */
    pferris_profiler_t *profiler = pferris_profiler_new();
    pferris_start(profiler);

    /* Profile data preparation */
    pferris_start_timer(profiler, "data_preparation");
    long data[100];
    for (long i = 0; i < 100; i++)
        data[i] = i;
    pferris_stop_timer(profiler, "data_preparation");

    /* Profile parallel processing */
    long results[100];
    pferris_start_timer(profiler, "parallel_processing");
    int rc = pferris_parallel_map(simulate_work, NULL, data, 100, sizeof data[0], results,
                                  sizeof results[0]);
    pferris_stop_timer(profiler, "parallel_processing");
    if (rc < 0) {
        fprintf(stderr, "parallel_map failed: %d\n", rc);
        return 1;
    }

    /* Get comprehensive report */
    double total_time = pferris_stop(profiler);
    json_t *report = pferris_get_report(profiler);

    printf("Total execution time: %.2fs\n", total_time);
    printf("Data preparation: %.4fs\n", timing(report, "data_preparation"));
    printf("Parallel processing: %.2fs\n", timing(report, "parallel_processing"));

    json_decref(report);
    pferris_profiler_free(profiler);
    return 0;
}
