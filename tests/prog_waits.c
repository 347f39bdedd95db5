/* prog_waits.c — threads that wait, with the program's own measure of its waiting.
 *   prog_waits global THREADS ITERS    every thread serialises on one mutex (take_global)
 *   prog_waits perthread THREADS ITERS each thread takes a mutex of its own
 *   prog_waits share THREADS TOTAL     TOTAL acquisitions of the one mutex, shared by the threads
 *   prog_waits queue ITEMS             a producer and a consumer on a condition variable
 * Prints "waited SECONDS": the time the threads spent inside pthread_mutex_lock, as the
 * program measures it with clock_gettime. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;
static double waited;
static long iters;
static int outside = 2000; /* work between acquisitions; none in "share" mode */
static volatile unsigned long sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void work(int n)
{
    for (int i = 0; i < n; i++)
        sink += (unsigned long)i * 2654435761u;
}

__attribute__((noinline)) static double take_global(void)
{
    double t0 = now();
    pthread_mutex_lock(&global);
    double w = now() - t0;
    work(20000);
    pthread_mutex_unlock(&global);
    return w;
}

static void *serialised(void *arg)
{
    double w = 0;
    for (long i = 0; i < iters; i++) {
        w += take_global();
        work(outside);
    }
    pthread_mutex_lock(&sum_lock);
    waited += w;
    pthread_mutex_unlock(&sum_lock);
    return arg;
}

__attribute__((noinline)) static double take_own(pthread_mutex_t *m)
{
    double t0 = now();
    pthread_mutex_lock(m);
    double w = now() - t0;
    work(20000);
    pthread_mutex_unlock(m);
    return w;
}

static void *own(void *arg)
{
    pthread_mutex_t m;
    pthread_mutex_init(&m, NULL);
    double w = 0;
    for (long i = 0; i < iters; i++)
        w += take_own(&m);
    pthread_mutex_destroy(&m);
    return arg;
}

/* ---- the queue ---- */

#define QCAP 16
static struct {
    pthread_mutex_t lock;
    pthread_cond_t nonempty, nonfull;
    long items[QCAP];
    int head, count;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

__attribute__((noinline)) static long queue_pop(void)
{
    pthread_mutex_lock(&q.lock);
    while (q.count == 0)
        pthread_cond_wait(&q.nonempty, &q.lock);
    long v = q.items[q.head];
    q.head = (q.head + 1) % QCAP;
    q.count--;
    pthread_cond_signal(&q.nonfull);
    pthread_mutex_unlock(&q.lock);
    return v;
}

__attribute__((noinline)) static void queue_push(long v)
{
    pthread_mutex_lock(&q.lock);
    while (q.count == QCAP)
        pthread_cond_wait(&q.nonfull, &q.lock);
    q.items[(q.head + q.count) % QCAP] = v;
    q.count++;
    pthread_cond_signal(&q.nonempty);
    pthread_mutex_unlock(&q.lock);
}

static void *consumer(void *arg)
{
    long n = *(long *)arg, sum = 0;
    for (long i = 0; i < n; i++)
        sum += queue_pop();
    *(long *)arg = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: prog_waits global|perthread|share THREADS ITERS | queue ITEMS\n");
        return 2;
    }
    if (strcmp(argv[1], "queue") == 0) {
        long n = atol(argv[2]), arg = n;
        pthread_t th;
        pthread_create(&th, NULL, consumer, &arg);
        for (long i = 1; i <= n; i++) {
            work(3000); /* the producer is the slower side: the consumer waits */
            queue_push(i);
        }
        pthread_join(th, NULL);
        printf("sum %ld\n", arg);
        return arg == n * (n + 1) / 2 ? 0 : 1;
    }
    int threads = atoi(argv[2]);
    iters = atol(argv[3]);
    if (strcmp(argv[1], "share") == 0) {
        iters = iters / (threads > 0 ? threads : 1); /* fixed work, however many threads */
        outside = 0;                                 /* all of it under the lock */
    }
    pthread_t th[64];
    if (threads < 1 || threads > 64)
        return 2;
    void *(*fn)(void *) = strcmp(argv[1], "perthread") == 0 ? own : serialised;
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, fn, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("waited %.6f\n", waited);
    return 0;
}
