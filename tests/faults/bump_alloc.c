/* bump_alloc.c — a linked allocator without malloc_usable_size: built as a shared library
 * (-DBUMP_LIB) it defines only malloc, free, calloc and realloc, from a bump region whose
 * blocks carry a header glibc's malloc_usable_size would misread (it follows the "size" to a
 * next chunk far away, and crashes). Built as the program, it allocates, frees and prints. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef BUMP_LIB
#define REGION (64u << 20)
static char *region;
static size_t used;

static char *bump(size_t size)
{
    if (!region) {
        region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED)
            return region = NULL;
    }
    size_t start = (__atomic_fetch_add(&used, ((size + 15) & ~(size_t)15) + 16, __ATOMIC_RELAXED));
    if (start + size + 16 > REGION)
        return NULL;
    uint64_t h[2] = {size, 0x5a5a5a5a5a5a5a50ull}; /* [size][magic], then the block */
    memcpy(region + start, h, sizeof h);
    return region + start + 16;
}

void *malloc(size_t size) { return bump(size); }
void free(void *p) { (void)p; }
void *calloc(size_t n, size_t size) { return bump(n * size); } /* mmap'ed: already zero */
void *realloc(void *old, size_t size)
{
    char *p = bump(size);
    if (p && old) {
        uint64_t n;
        memcpy(&n, (char *)old - 16, sizeof n);
        memcpy(p, old, n < size ? n : size);
    }
    return p;
}
#else
int main(void)
{
    size_t sum = 0;
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(100 + (size_t)i);
        memset(p, 'x', 100 + (size_t)i);
        p = realloc(p, 200 + (size_t)i);
        sum += strlen(p) > 0;
        free(p);
    }
    printf("%zu\n", sum);
    return 0;
}
#endif
