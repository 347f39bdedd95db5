/* report_write.c — a program that lowers its own file size limit, prints, and exits 0. Under
 * the preload, pferris's report (larger than the limit) must fail cleanly: the program still
 * exits 0 (SIGXFSZ's default action would make it 153), no partial report is left, and the
 * warning names the real cause (EFBIG), not "Input/output error". argv[1]: the limit. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
    struct rlimit rl = {.rlim_cur = argc > 1 ? strtoul(argv[1], NULL, 10) : 512,
                        .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &rl);
    rl.rlim_cur = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 2;
    for (int i = 0; i < 100; i++)
        free(malloc(100 + i)); /* something to report */
    puts("done");
    return 0;
}
