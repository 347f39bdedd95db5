/* prog_report — a small multi-threaded program for the report tools' tests (it_report*.sh).
 *   prog_report [THREADS [ITERATIONS [EXIT_CODE [fork]]]]   (defaults 3, 200, 0)
 * Each worker thread, named "worker-N", runs ITERATIONS of timer "work" around timer "inner",
 * allocates and frees 1000 bytes per iteration and keeps 4096 bytes, and counts "items".
 * With "fork", the process first forks a child that does the same work (two reports). The
 * program exits with EXIT_CODE. Uses only pferris.h, so it runs the same without pferris. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pferris.h"

static int iterations = 200;
static volatile long sink;

static void *worker(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%d", (int)(long)arg);
    pthread_setname_np(pthread_self(), name);
    void *keep = malloc(4096);
    for (int i = 0; i < iterations; i++) {
        PFERRIS_TIMER_START("work");
        char *p = malloc(1000);
        memset(p, i, 1000);
        PFERRIS_TIMER_START("inner");
        for (int k = 0; k < 2000; k++)
            sink += p[k % 1000];
        PFERRIS_TIMER_STOP("inner");
        free(p);
        PFERRIS_TIMER_STOP("work");
        PFERRIS_COUNT("items", 1);
    }
    return keep; /* freed by main: live while the thread ran */
}

static void run(int threads)
{
    PFERRIS_SCOPE("main");
    pthread_t th[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(long)i);
    for (int i = 0; i < threads; i++) {
        void *keep;
        pthread_join(th[i], &keep);
        free(keep);
    }
    /* A pause so that the heap sampler has seen the run (not a timing assertion). */
    struct timespec d = {0, 30 * 1000000L};
    nanosleep(&d, NULL);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 3;
    iterations = argc > 2 ? atoi(argv[2]) : 200;
    int code = argc > 3 ? atoi(argv[3]) : 0;
    if (threads < 1 || threads > 64)
        threads = 3;
    pid_t child = -1;
    if (argc > 4 && strcmp(argv[4], "fork") == 0)
        child = fork();
    run(threads);
    if (child > 0)
        waitpid(child, NULL, 0);
    printf("done %d\n", threads);
    return code;
}
