/* term_in_allocator — a main thread that spends nearly all its time inside malloc and free:
 * every 256 KiB block is mmap'd and munmap'd (the threshold fixed below it), so a SIGTERM from
 * outside almost always lands while the thread is inside the allocator. "ready" first. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink;

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    puts("ready");
    fflush(stdout);
    for (;;) {
        sink = malloc(256 * 1024);
        free(sink);
    }
}
