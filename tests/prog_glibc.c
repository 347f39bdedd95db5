/* prog_glibc — the malloc family's edge cases; prints what glibc answered, so the output under
 * the preload must be byte-identical to the output without it. */

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
/* p stays valid after a failed reallocarray; GCC cannot know that. */
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif

int main(void)
{
    volatile size_t half = SIZE_MAX / 2; /* hidden from the compiler's size checks */
    setvbuf(stdout, NULL, _IONBF, 0);     /* stdio allocates no buffer: every block is ours */
    errno = 77; /* a successful malloc and free leave errno alone, with pferris or without */
    void *e = malloc(32);
    free(e);
    printf("errno after malloc/free: %d\n", errno);
    free(NULL);
    void *p = malloc(100);
    errno = 0;
    void *q = realloc(p, 0);
    printf("realloc(p, 0) -> %s errno=%d\n", q ? "ptr" : "NULL", errno);
    free(q);
    errno = 0;
    p = calloc(half, 4);
    printf("calloc overflow -> %s errno=%s\n", p ? "ptr" : "NULL", errno == ENOMEM ? "ENOMEM" : "?");
    void *a = (void *)0x1;
    errno = 0;
    int rc = posix_memalign(&a, 3, 64);
    printf("posix_memalign(3) -> %d (EINVAL=%d) out untouched=%d errno=%d\n", rc, EINVAL, a == (void *)0x1, errno);
    rc = posix_memalign(&a, 64, 1000);
    printf("posix_memalign(64) -> %d aligned=%d\n", rc, ((uintptr_t)a & 63) == 0);
    free(a);
    a = aligned_alloc(256, 512);
    printf("aligned_alloc -> aligned=%d\n", a && ((uintptr_t)a & 255) == 0);
    free(a);
    a = memalign(128, 100);
    printf("memalign -> aligned=%d usable>=100=%d\n", ((uintptr_t)a & 127) == 0, malloc_usable_size(a) >= 100);
    free(a);
    a = valloc(10);
    printf("valloc -> page aligned=%d\n", ((uintptr_t)a & 4095) == 0);
    free(a);
    a = pvalloc(10);
    printf("pvalloc -> page aligned=%d\n", ((uintptr_t)a & 4095) == 0);
    free(a);
    errno = 0;
    p = malloc(10);
    q = reallocarray(p, half, 4);
    printf("reallocarray overflow -> %s errno=%s\n", q ? "ptr" : "NULL", errno == ENOMEM ? "ENOMEM" : "?");
    q = reallocarray(p, 10, 10);
    printf("reallocarray -> %s\n", q ? "ptr" : "NULL");
    free(q);
    p = realloc(NULL, 50);
    p = realloc(p, 5000);
    strcpy(p, "kept");
    printf("realloc chain -> %s\n", (char *)p);
    free(p);
    errno = 0;
    p = malloc(half * 2 - 4096);
    printf("huge malloc -> %s errno=%s\n", p ? "ptr" : "NULL", errno == ENOMEM ? "ENOMEM" : "?");
    return 0;
}
