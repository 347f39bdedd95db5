/* heap_layout: where a new thread's first blocks land in its malloc arena. Without pferris and
 * under the preload the addresses must match: a block pferris (or what it calls) put there
 * first would move the program's blocks. Threads are created with and without an attr (pferris
 * hands them blocks of two sizes); each prints its first blocks' offsets in its arena's heap
 * (glibc aligns a thread arena's heap to 64 MiB). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define HEAP_ALIGN ((uintptr_t)64 << 20)

static unsigned long offset(const void *p)
{
    return (unsigned long)((uintptr_t)p & (HEAP_ALIGN - 1));
}

static void *first_blocks(void *arg)
{
    void *a = malloc(16), *b = malloc(40), *c = malloc(5000);
    printf("%s %lx %lx %lx\n", arg ? "attr" : "none", offset(a), offset(b), offset(c));
    free(c);
    free(b);
    free(a);
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    for (int i = 0; i < 4; i++) {
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            pthread_create(&t[k], i & 1 ? &attr : NULL, first_blocks, i & 1 ? &attr : NULL);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
    }
    pthread_attr_destroy(&attr);
    return 0;
}
