/* deep_stack.c — allocations 300 calls deep, more frames than pferris's deepest unwind (128):
 * the unwind must fill no more of its buffer than it has. Prints the number of allocations. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static long deep(int n)
{
    if (n == 0) {
        void *p = malloc(64);
        long v = p != NULL;
        free(p);
        return v;
    }
    volatile char pad[16]; /* a frame of its own at every level, not a loop */
    pad[0] = (char)n;
    return deep(n - 1) + pad[0] * 0;
}

int main(void)
{
    long sum = 0;
    for (int i = 0; i < 2000; i++)
        sum += deep(300);
    printf("%ld\n", sum);
    return 0;
}
