/* prog_alloc — a known allocation pattern for the heap integration test.
 *   prog_alloc pattern : 100 x malloc(10008), 50 freed, 10 x malloc(100008), all freed.
 *                        Sizes are 8 mod 16, so glibc's usable size equals the request and
 *                        live and peak are exact: peak = 50*10008 + 10*100008 = 1500480.
 *   prog_alloc leak    : the pattern, then 3 x malloc(4000) never freed.
 *   prog_alloc none    : nothing (the baseline of the process itself).
 * Touches no stdio, so the C library allocates nothing of its own. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep[128];

static void pattern(void)
{
    for (int i = 0; i < 100; i++) {
        keep[i] = malloc(10008);
        memset(keep[i], i, 16);
    }
    for (int i = 0; i < 100; i += 2)
        free(keep[i]);
    for (int i = 0; i < 10; i++) {
        void *p = malloc(100008);
        memset(p, 1, 16);
        keep[100 + i] = p;
    }
    for (int i = 1; i < 100; i += 2)
        free(keep[i]);
    for (int i = 100; i < 110; i++)
        free(keep[i]);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "pattern";
    if (strcmp(mode, "none") == 0)
        return 0;
    pattern();
    if (strcmp(mode, "leak") == 0)
        for (int i = 0; i < 3; i++)
            keep[i] = malloc(4000);
    return write(1, "done\n", 5) == 5 ? 0 : 1;
}
