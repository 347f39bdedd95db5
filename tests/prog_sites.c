/* prog_sites MODE N — allocation call sites known by construction.
 *   three static functions allocate 60%, 30% and 10% of the bytes: N blocks each of 60000,
 *   30000 and 10000 bytes, freed at once, except that small() keeps its first LEAK blocks
 *   (LEAK = 2000: 20 MB never freed);
 *   producer() allocates 1000 blocks of 512 bytes that another thread, consumer(), frees;
 *   grow() reallocs one block 100 times up to 100 x 1000 bytes and keeps it;
 *   aligned() makes 300 aligned allocations (100 each of posix_memalign, aligned_alloc,
 *   memalign) and frees them.
 * Prints nothing: the report is the test's output. */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LEAK 2000
static void *volatile sink;
static void *leaked[LEAK];

__attribute__((noinline)) static void big(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(60000);
        sink = p;
        free(p);
    }
}

__attribute__((noinline)) static void mid(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(30000);
        sink = p;
        free(p);
    }
}

__attribute__((noinline)) static void small(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(10000);
        sink = p;
        if (i < LEAK)
            leaked[i] = p;
        else
            free(p);
    }
}

#define HANDOFF 1000
static void *handoff[HANDOFF];
static pthread_barrier_t ready;

__attribute__((noinline)) static void producer(void)
{
    for (int i = 0; i < HANDOFF; i++)
        handoff[i] = malloc(512);
}

static void *produce(void *arg)
{
    producer();
    pthread_barrier_wait(&ready);
    return arg;
}

static void *consume(void *arg)
{
    pthread_barrier_wait(&ready);
    for (int i = 0; i < HANDOFF; i++)
        free(handoff[i]);
    return arg;
}

__attribute__((noinline)) static void *grow(void)
{
    void *p = NULL;
    for (int i = 1; i <= 100; i++)
        p = realloc(p, (size_t)i * 1000);
    return p;
}

__attribute__((noinline)) static void aligned(void)
{
    for (int i = 0; i < 100; i++) {
        void *p;
        if (posix_memalign(&p, 64, 200) == 0)
            free(p);
        sink = aligned_alloc(256, 512);
        free(sink);
        free(memalign(128, 300));
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    big(n);
    mid(n);
    small(n);
    pthread_t a, b;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_create(&a, NULL, produce, NULL);
    pthread_create(&b, NULL, consume, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    sink = grow();
    aligned();
    return leaked[0] ? 0 : 1;
}
