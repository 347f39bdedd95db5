/* prog_markers — uses only pferris.h (no link flag). Its output is the same with and without
 * pferris; under the preload the report holds:
 *   counters: items = 3 * 1000, batches = 3;  memory_usage: buffer = 65536 (peak 131072);
 *   timings: job (3 intervals) containing step (3000 intervals); workers: PFERRIS_WORKERS. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "pferris.h"

static long work(long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += i % 7;
    return s;
}

static pthread_barrier_t all_started; /* every worker runs at once: max concurrency is known */

static void *worker(void *arg)
{
    long *sum = arg;
    pthread_barrier_wait(&all_started);
    PFERRIS_SCOPE("job");
    for (int i = 0; i < 1000; i++) {
        PFERRIS_TIMER_START("step");
        *sum += work(200);
        PFERRIS_TIMER_STOP("step");
        PFERRIS_COUNT("items", 1);
    }
    PFERRIS_COUNT("batches", 1);
    return NULL;
}

int main(void)
{
    int n = pferris_workers(3);
    if (n > 16)
        n = 16;
    pthread_t th[16];
    long sums[16] = {0};
    PFERRIS_MEMORY("buffer", 131072);
    pthread_barrier_init(&all_started, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, worker, &sums[i]);
    long total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += sums[i];
    }
    PFERRIS_MEMORY("buffer", 65536);
    printf("workers=%d total=%ld\n", n, total);
    return 0;
}
