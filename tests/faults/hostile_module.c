/* hostile_module.c — a program whose sampled allocations give its report call sites; the
 * test then names a FIFO and a device as those frames' module, as a hostile report would. */
#include <stdio.h>
#include <stdlib.h>

static void *__attribute__((noinline)) grow(size_t n)
{
    return malloc(n);
}

int main(void)
{
    void *keep[64];
    for (int i = 0; i < 64; i++)
        keep[i] = grow((size_t)4096 << (i % 8));
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    puts("done");
    return 0;
}
