/* errno_kept.c — successful calls of every interposed function, each with errno set to a
 * sentinel just before; prints how many calls per function changed it. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SENTINEL 4242
#define N 20000

static void *worker(void *arg)
{
    (void)arg;
    return NULL;
}

static int changed[16];
#define CHECK(k, call)                                                                         \
    do {                                                                                       \
        errno = SENTINEL;                                                                      \
        call;                                                                                  \
        changed[k] += errno != SENTINEL;                                                       \
    } while (0)

int main(void)
{
    static const char *what[] = {"malloc", "free", "calloc", "realloc", "posix_memalign",
                                 "aligned_alloc", "memalign", "valloc", "usable_size",
                                 "pthread_create", "pthread_join", "reallocarray"};
    for (int i = 0; i < N; i++) {
        void *p, *q;
        CHECK(0, p = malloc(64 + (size_t)i % 4096));
        CHECK(1, free(p));
        CHECK(2, p = calloc(4, 16 + (size_t)i % 1024));
        CHECK(3, p = realloc(p, 4096 + (size_t)i % 8192));
        CHECK(8, (void)malloc_usable_size(p));
        CHECK(11, p = reallocarray(p, 2, 100));
        free(p);
        CHECK(4, (void)posix_memalign(&q, 64, 200));
        free(q);
        CHECK(5, q = aligned_alloc(64, 256));
        free(q);
        CHECK(6, q = memalign(64, 300));
        free(q);
        CHECK(7, q = valloc(100));
        free(q);
        if (i % 1000 == 0) {
            pthread_t t;
            CHECK(9, pthread_create(&t, NULL, worker, NULL));
            CHECK(10, pthread_join(t, NULL));
        }
    }
    for (int k = 0; k < 12; k++)
        printf("%s %d\n", what[k], changed[k]);
    return 0;
}
