/* memory_tracking.c — the seed's Example 3, "Memory Usage Tracking", in C: a MemoryTracker
 * records the process's resident set size (what psutil's memory_info().rss gave the seed, read
 * here from /proc/self/statm) in MB at each stage of building, processing and freeing a large
 * array, and prints the profiler's memory usage. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "pferris.h"

typedef struct {
    pferris_profiler_t *profiler;
    long page_size;
} memory_tracker_t;

static double rss_mb(const memory_tracker_t *t)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)t->page_size / 1024 / 1024;
}

static double record_memory(memory_tracker_t *t, const char *label)
{
    double memory_mb = rss_mb(t);
    pferris_record_memory(t->profiler, label, (long long)memory_mb);
    return memory_mb;
}

int main(void)
{
    /* Example usage */
    pferris_profiler_t *profiler = pferris_profiler_new();
    memory_tracker_t tracker = {profiler, sysconf(_SC_PAGESIZE)};

    pferris_start(profiler);

    /* Track memory at different stages */
    record_memory(&tracker, "startup");

    /* Create large data structure */
    enum { N = 1000000 };
    long *large_list = malloc(N * sizeof *large_list);
    for (long i = 0; i < N; i++)
        large_list[i] = i * i;
    record_memory(&tracker, "after_data_creation");

    /* Process data */
    long *results = malloc(N * sizeof *results);
    size_t nresults = 0;
    for (long i = 0; i < N; i++)
        if (large_list[i] % 2 == 0)
            results[nresults++] = large_list[i] * 2;
    record_memory(&tracker, "after_processing");

    /* Clean up */
    free(large_list);
    record_memory(&tracker, "after_cleanup");

    /* Get memory report */
    json_t *memory_usage = pferris_get_memory_usage(profiler);
    printf("Memory usage throughout execution:\n");
    const char *stage;
    json_t *memory_mb;
    json_object_foreach(memory_usage, stage, memory_mb)
        printf("  %s: %lld MB\n", stage, (long long)json_integer_value(memory_mb));

    json_decref(memory_usage);
    free(results);
    pferris_stop(profiler);
    pferris_profiler_free(profiler);
    return nresults == N / 2 ? 0 : 1;
}
