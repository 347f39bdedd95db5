/* prog_usable: blocks of many sizes and kinds (tcache, bins, mmapped, aligned, calloc,
 * realloc) kept live at exit; prints the sum of their malloc_usable_size. Under the preload the
 * report's live bytes must be that sum: pferris reads a glibc block's size from its chunk header
 * instead of calling malloc_usable_size. "none" allocates nothing (the baseline). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BLOCKS 512

int main(int argc, char **argv)
{
    static void *kept[MAX_BLOCKS];
    int n = 0;
    if (argc > 1 && strcmp(argv[1], "none") == 0)
        return 0;
    for (size_t size = 0; size < 9000; size += 37)
        kept[n++] = malloc(size);
    for (size_t size = 1; size < 300; size += 29)
        kept[n++] = calloc(3, size);
    for (size_t size = 100; size < 200000; size *= 3)
        kept[n++] = realloc(malloc(size / 2), size);
    kept[n++] = malloc(200000);   /* mmapped */
    kept[n++] = malloc(3 << 20);  /* mmapped */
    kept[n++] = memalign(256, 1000);
    kept[n++] = aligned_alloc(4096, 8192);
    void *p;
    if (posix_memalign(&p, 64, 777) == 0)
        kept[n++] = p;
    size_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += malloc_usable_size(kept[i]);
    char line[64];
    int len = snprintf(line, sizeof line, "%zu\n", sum);
    return write(1, line, (size_t)len) == len ? 0 : 1;
}
