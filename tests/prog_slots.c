/* prog_slots.c — a service with K slots, whose best worker count is K by construction.
 *
 * N workers (pferris_workers(1), or -w) process items; an item holds one of K slots for the
 * service time. With N <= K, N items are served at once: throughput N / service. With N > K
 * the slots are full and every extra competitor makes each service slower (thrashing: a
 * request takes service * (1 + penalty * (N - K))): throughput K / (service * (1 + penalty *
 * (N - K))), falling. So the peak is at N = K, K/(K-1) above N = K-1 and 1 + penalty above
 * N = K+1, whatever the machine's core count: the time is spent sleeping, not computing.
 *
 * Usage: prog_slots [-k K] [-n ITEMS] [-s MS] [-p PENALTY] [-w N] [-e VAR] [-f N]
 *                   [-c N] [-H] [-T] [-E]
 *   -k slots (6)   -n items of fixed work, 0 = run until stopped (600)   -s service ms (2)
 *   -p penalty per extra worker (0.15)   -w worker count (else pferris_workers(1))
 *   -e read the worker count from environment variable VAR only (unset: 1 worker)
 *   -f always use N workers (a program that ignores the knob)
 *   -c crash (SIGSEGV) when the worker count is >= N      -H hang (never finish, no work)
 *   -T ignore SIGTERM (the tuner must escalate)   -E exit 1 with a message on stderr
 * Counts PFERRIS_COUNT("items", 1) per item; prints "items I workers N" at the end. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pferris.h"

static int slots = 6, workers;
static long items = 600;
static double service_ms = 2.0, penalty = 0.15;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static int busy;
static long next_item, done;

static int claim(void)
{
    pthread_mutex_lock(&mu);
    int ok = items == 0 || next_item < items;
    if (ok)
        next_item++;
    pthread_mutex_unlock(&mu);
    return ok;
}

static void serve(void)
{
    pthread_mutex_lock(&mu);
    while (busy >= slots)
        pthread_cond_wait(&freed, &mu);
    busy++;
    pthread_mutex_unlock(&mu);

    int extra = workers > slots ? workers - slots : 0;
    double ms = service_ms * (1.0 + penalty * extra);
    struct timespec d = {(time_t)(ms / 1000), (long)((ms - 1000.0 * (long)(ms / 1000)) * 1e6)};
    while (nanosleep(&d, &d) != 0) {
    }

    pthread_mutex_lock(&mu);
    busy--;
    done++;
    pthread_cond_signal(&freed);
    pthread_mutex_unlock(&mu);
}

static void *worker(void *arg)
{
    (void)arg;
    while (claim()) {
        serve();
        PFERRIS_COUNT("items", 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int fixed = 0, crash_at = 0, hang = 0, ignore_term = 0, fail = 0, opt;
    const char *var = NULL;
    workers = 0;
    while ((opt = getopt(argc, argv, "k:n:s:p:w:e:f:c:HTE")) != -1) {
        switch (opt) {
        case 'k': slots = atoi(optarg); break;
        case 'n': items = atol(optarg); break;
        case 's': service_ms = atof(optarg); break;
        case 'p': penalty = atof(optarg); break;
        case 'w': workers = atoi(optarg); break;
        case 'e': var = optarg; break;
        case 'f': fixed = atoi(optarg); break;
        case 'c': crash_at = atoi(optarg); break;
        case 'H': hang = 1; break;
        case 'T': ignore_term = 1; break;
        case 'E': fail = 1; break;
        default:
            fprintf(stderr, "usage: prog_slots [-k K] [-n ITEMS] [-s MS] [-p P] [-w N] [-e VAR] "
                            "[-f N] [-c N] [-H] [-T] [-E]\n");
            return 2;
        }
    }
    if (var) /* only VAR counts: unset, the program runs one worker whatever the tuner sets */
        workers = getenv(var) ? atoi(getenv(var)) : 1;
    if (workers <= 0 && !var)
        workers = pferris_workers(1);
    if (fixed > 0)
        workers = fixed;
    if (slots < 1 || workers < 1 || items < 0) {
        fprintf(stderr, "prog_slots: slots, workers and items must be positive\n");
        return 2;
    }
    if (ignore_term)
        signal(SIGTERM, SIG_IGN);
    if (fail) {
        fprintf(stderr, "prog_slots: cannot open the service configuration (simulated)\n");
        return 1;
    }
    if (crash_at > 0 && workers >= crash_at) {
        fprintf(stderr, "prog_slots: about to crash with %d workers\n", workers);
        fflush(stderr);
        raise(SIGSEGV);
    }
    if (hang)
        for (;;)
            pause();

    pthread_t *th = calloc((size_t)workers, sizeof *th);
    if (!th)
        return 1;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "prog_slots: cannot start worker %d\n", i);
            return 1;
        }
    for (int i = 0; i < workers; i++)
        pthread_join(th[i], NULL);
    free(th);
    printf("items %ld workers %d\n", done, workers);
    return 0;
}
