/* bottleneck.c — the seed's "Bottleneck Identification" pattern in C: time each stage of a
 * pipeline with PFERRIS_TIMER (the seed's `with profiler.timer(...)`), then name the stage
 * with the largest timing. By construction the sequential preprocessing stage (150 ms of
 * waiting) is the slowest: loading waits 30 ms, the parallel stage at most 64 ms even on one
 * worker, postprocessing 10 ms. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>
#include "pferris.h"

#define N 64

static void wait_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void load_data(long *data)
{
    wait_ms(30); /* a read from slow storage */
    for (long i = 0; i < N; i++)
        data[i] = i + 1;
}

static void preprocess(const long *data, long *out)
{
    wait_ms(150); /* one long sequential step: the bottleneck */
    for (long i = 0; i < N; i++)
        out[i] = data[i] * 3;
}

static int complex_function(const void *in, void *out, void *ctx)
{
    (void)ctx;
    wait_ms(1);
    *(long *)out = *(const long *)in + 1;
    return 0;
}

static long postprocess(const long *results)
{
    wait_ms(10);
    long s = 0;
    for (long i = 0; i < N; i++)
        s += results[i];
    return s;
}

int main(void)
{
    pferris_profiler_t *profiler = pferris_profiler_new();
    pferris_start(profiler);
    long data[N], preprocessed[N], results[N], final_results = 0;

    /* Profile different components */
    PFERRIS_TIMER(profiler, "data_loading")
        load_data(data);

    PFERRIS_TIMER(profiler, "preprocessing")
        preprocess(data, preprocessed);

    PFERRIS_TIMER(profiler, "parallel_processing")
        pferris_parallel_map(complex_function, NULL, preprocessed, N, sizeof preprocessed[0],
                             results, sizeof results[0]);

    PFERRIS_TIMER(profiler, "postprocessing")
        final_results = postprocess(results);

    /* Analyze bottlenecks */
    json_t *timings = pferris_get_timings(profiler);
    const char *name, *bottleneck = NULL;
    double worst = -1;
    json_t *t;
    json_object_foreach(timings, name, t) {
        printf("  %s: %.4fs\n", name, json_number_value(t));
        if (json_number_value(t) > worst) {
            worst = json_number_value(t);
            bottleneck = name;
        }
    }
    if (bottleneck)
        printf("Bottleneck: %s (%.2fs)\n", bottleneck, worst);

    json_decref(timings);
    pferris_stop(profiler);
    pferris_profiler_free(profiler);
    return final_results == N * (N + 1) / 2 * 3 + N ? 0 : 1;
}
