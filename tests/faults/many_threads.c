/* many_threads.c — starts N short threads, BATCH at a time, each timing a marker, counting one
 * and doing some malloc/free; prints how much the resident set grew from after a warm-up to the
 * end, in KiB. Under pferris that growth must not follow N: the records of exited threads are
 * reused (issue 10, item 13). Usage: many_threads N [BATCH [nomarkers]]; with "nomarkers" the
 * threads only allocate. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pferris.h"

#define WARMUP 1000

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static int markers = 1;

static void *worker(void *arg)
{
    if (!markers) {
        free(malloc(64 + (size_t)(uintptr_t)arg % 512));
        return NULL;
    }
    PFERRIS_TIMER_START("many_threads.work");
    char *p = malloc(64 + (size_t)(uintptr_t)arg % 512);
    if (p) {
        memset(p, 1, 64);
        free(p);
    }
    PFERRIS_COUNT("many_threads.threads", 1);
    PFERRIS_TIMER_STOP("many_threads.work");
    return NULL;
}

static int run(long n, int batch)
{
    pthread_t th[64];
    for (long done = 0; done < n;) {
        int k = 0;
        for (; k < batch && done + k < n; k++)
            if (pthread_create(&th[k], NULL, worker, (void *)(uintptr_t)(done + k)) != 0)
                return -1;
        for (int i = 0; i < k; i++)
            pthread_join(th[i], NULL);
        done += k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int batch = argc > 2 ? atoi(argv[2]) : 4;
    markers = !(argc > 3 && strcmp(argv[3], "nomarkers") == 0);
    if (n < WARMUP || batch < 1 || batch > 64)
        return 2;
    if (run(WARMUP, batch) != 0) /* the first threads' glibc and pferris set-up is not counted */
        return 3;
    long before = rss_kib();
    if (run(n - WARMUP, batch) != 0)
        return 3;
    printf("%ld\n", rss_kib() - before);
    return 0;
}
