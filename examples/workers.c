/* workers.c — a multi-threaded worker program instrumented with the header markers only
 * (PFERRIS_SCOPE, PFERRIS_COUNT, PFERRIS_MEMORY, pferris_workers): it builds and runs with or
 * without pferris, and under LD_PRELOAD=libpferris.so its report shows the timer tree
 * worker > item > compute, the items counter, buffer sizes and one thread per worker.
 * The work is fixed (ITEMS items), so its run time falls as workers are added until the CPUs
 * run out: a program for pferris-tune to tune.
 * Usage: workers [ITEMS]   (worker count: PFERRIS_WORKERS, else OMP_NUM_THREADS, else CPUs) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pferris.h"

static long items = 2000;
static long next_item;          /* claimed with an atomic add */
static uint64_t checksum;       /* summed with an atomic add: independent of the worker count */

/* A deterministic, CPU-bound item: fill a buffer whose size varies with the item, hash it. */
static uint64_t process(long item)
{
    size_t size = 4096 + (size_t)(item % 16) * 4096;
    PFERRIS_MEMORY("buffer", size);
    unsigned char *buf = malloc(size);
    if (!buf)
        return 0;
    uint64_t h = 1469598103934665603u;
    {
        PFERRIS_SCOPE("compute");
        for (size_t i = 0; i < size; i++)
            buf[i] = (unsigned char)(i + (size_t)item);
        for (int round = 1; round <= 8; round++)
            for (size_t i = 0; i < size; i++) {
                buf[i] = (unsigned char)(buf[i] * round + i);
                h = (h ^ buf[i]) * 1099511628211u;
            }
    }
    free(buf);
    return h;
}

static void *worker(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    PFERRIS_SCOPE("worker");
    for (;;) {
        long item = __atomic_fetch_add(&next_item, 1, __ATOMIC_RELAXED);
        if (item >= items)
            break;
        PFERRIS_SCOPE("item");
        __atomic_fetch_add(&checksum, process(item), __ATOMIC_RELAXED);
        PFERRIS_COUNT("items", 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (items = atol(argv[1])) <= 0) {
        fprintf(stderr, "usage: %s [ITEMS]   (ITEMS is a positive number)\n", argv[0]);
        return 2;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = pferris_workers(cpus > 0 ? (int)cpus : 1);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (!threads)
        return 1;
    {
        PFERRIS_SCOPE("run");
        int started = 0;
        for (; started < n; started++)
            if (pthread_create(&threads[started], NULL, worker, (void *)(intptr_t)started) != 0)
                break;
        if (started == 0)
            worker(0);
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
    }
    free(threads);
    printf("workers: %d  items: %ld  checksum: %016llx\n", n, items,
           (unsigned long long)checksum);
    return 0;
}
