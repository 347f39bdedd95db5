/* prog_cpu.c — CPU time in known shares, for tests/it_cpu.sh. Two threads each spend their
 * CPU time 60/30/10 in burn_sixty, burn_thirty and burn_ten, in slices of 0.5 to 3.5 ms, for
 * the seconds given (default 1.0 of CPU time per thread). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Burns the calling thread's CPU for sec seconds of its CPU time. */
static void burn(double sec)
{
    double end = cpu_now() + sec;
    while (cpu_now() < end)
        for (int i = 0; i < 1000; i++)
            sink = sink * 6364136223846793005ul + 1442695040888963407ul;
}

__attribute__((noinline)) void burn_sixty(double s) { burn(0.6 * s); __asm__ volatile(""); }
__attribute__((noinline)) void burn_thirty(double s) { burn(0.3 * s); __asm__ volatile(""); }
__attribute__((noinline)) void burn_ten(double s) { burn(0.1 * s); __asm__ volatile(""); }

static double total = 1.0;

static void *work(void *arg)
{
    unsigned long rng = (unsigned long)arg;
    /* Slices of irregular length: a sampler that fires on the kernel's tick must not lock onto
     * the loop's period. */
    for (double done = 0, slice; done < total; done += slice) {
        rng = rng * 6364136223846793005ul + 1442695040888963407ul;
        slice = 0.0005 + (double)(rng >> 40) / (double)(1ul << 24) * 0.003;
        burn_sixty(slice);
        burn_thirty(slice);
        burn_ten(slice);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        total = atof(argv[1]);
    pthread_t a, b;
    pthread_create(&a, NULL, work, (void *)1ul);
    pthread_create(&b, NULL, work, (void *)2ul);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("done %lu\n", sink & 1);
    return 0;
}
