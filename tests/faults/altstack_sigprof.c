/* altstack_sigprof.c — a SIGUSR1 handler on a small alternate signal stack (argv[1] bytes,
 * default 6 KiB) does CPU work for a few milliseconds; the program raises the signal many
 * times. A profiling signal delivered while the handler runs is pushed on the same small stack
 * (the thread is already on it), so a sampler's signal there must wait until the handler is
 * done. Prints "ok". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile int got;
static volatile unsigned long sink;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_usr1(int sig)
{
    (void)sig;
    double end = cpu_now() + 0.004;
    while (cpu_now() < end)
        for (int i = 0; i < 1000; i++)
            sink += (unsigned long)i * 2654435761u;
    got++;
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : 6144;
    stack_t ss = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
        return 2;
    struct sigaction sa, back;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    /* The program sees the mask it set, whatever pferris adds for its own signal. */
    sigaction(SIGUSR1, NULL, &back);
    if (sigismember(&back.sa_mask, SIGPROF) || !(back.sa_flags & SA_ONSTACK))
        return 3;
    for (int i = 0; i < 150; i++)
        raise(SIGUSR1);
    printf(got == 150 ? "ok\n" : "lost\n");
    return 0;
}
