/* lockbench.c — ns per lock/unlock pair of the pthread synchronisation calls, for
 * scripts/bench-locks (native against pferris's interposers). Prints "NAME NS" lines:
 *   mutex        an uncontended pthread_mutex_lock/unlock pair, the process single-threaded
 *   mutex_mt     the same while a second thread exists (glibc then takes its atomic path)
 *   rwlock_rd    an uncontended pthread_rwlock_rdlock/unlock pair
 *   sem          an uncontended sem_wait/sem_post pair
 *   contended    a lock/unlock pair with two threads on one mutex (per pair, both threads)
 * usage: lockbench [PAIRS] */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static long pairs;
static volatile long counter;

static void *hammer(void *arg)
{
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&shared);
        counter++;
        pthread_mutex_unlock(&shared);
    }
    return arg;
}

static void *park(void *arg)
{
    sem_wait(arg);
    return NULL;
}

int main(int argc, char **argv)
{
    pairs = argc > 1 ? atol(argv[1]) : 20000000;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double t = now();
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
    }
    printf("mutex %.2f\n", (now() - t) / (double)pairs * 1e9);

    sem_t idle;
    sem_init(&idle, 0, 0);
    pthread_t sleeper;
    pthread_create(&sleeper, NULL, park, &idle);
    t = now();
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
    }
    printf("mutex_mt %.2f\n", (now() - t) / (double)pairs * 1e9);

    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    t = now();
    for (long i = 0; i < pairs; i++) {
        pthread_rwlock_rdlock(&rw);
        counter++;
        pthread_rwlock_unlock(&rw);
    }
    printf("rwlock_rd %.2f\n", (now() - t) / (double)pairs * 1e9);

    sem_t s;
    sem_init(&s, 0, 1);
    t = now();
    for (long i = 0; i < pairs; i++) {
        sem_wait(&s);
        counter++;
        sem_post(&s);
    }
    printf("sem %.2f\n", (now() - t) / (double)pairs * 1e9);

    sem_post(&idle);
    pthread_join(sleeper, NULL);
    pairs /= 4;
    pthread_t th[2];
    t = now();
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("contended %.2f\n", (now() - t) / (double)(2 * pairs) * 1e9);
    return 0;
}
