/* altstack_sigprof.c — a SIGUSR1 handler on a small alternate signal stack (6 KiB by default)
 * does CPU work for a few milliseconds; the program raises the signal many times. A profiling
 * signal delivered while the handler runs is pushed on the same small stack (the thread is
 * already on it), so a sampler's signal there must wait until the handler is done. Prints
 * "ok". Built three ways:
 *   (plain)       the program installs the handler in main; the size is argv[1];
 *   -DEARLY_LIB   a library whose constructor installs it, with the size from ALTSTACK_SIZE: a
 *                 preloaded library is initialized after the libraries the program links, so
 *                 the handler is in place before pferris starts and never passes its
 *                 sigaction interposer;
 *   -DEARLY_MAIN  the program linked with that library. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef EARLY_MAIN
volatile int got;
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

/* 0, or the exit code that says what failed. */
static int install(size_t size)
{
    stack_t ss = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGUSR1, &sa, NULL) == 0 ? 0 : 5;
}
#else
extern volatile int got;
#endif

#ifdef EARLY_LIB
int early_rc = 1;

__attribute__((constructor)) static void early(void)
{
    const char *env = getenv("ALTSTACK_SIZE");
    early_rc = install(env ? (size_t)atol(env) : 6144);
}
#else
#ifdef EARLY_MAIN
extern int early_rc;
#endif

int main(int argc, char **argv)
{
#ifdef EARLY_MAIN
    (void)argc;
    (void)argv;
    if (early_rc)
        return 10 + early_rc;
#else
    int rc = install(argc > 1 ? (size_t)atol(argv[1]) : 6144);
    if (rc)
        return rc;
#endif
    /* The program sees the mask it set, whatever pferris adds for its own signal. */
    struct sigaction back;
    sigaction(SIGUSR1, NULL, &back);
    if (sigismember(&back.sa_mask, SIGPROF) || !(back.sa_flags & SA_ONSTACK))
        return 3;
    for (int i = 0; i < 150; i++)
        raise(SIGUSR1);
    printf(got == 150 ? "ok\n" : "lost\n");
    return 0;
}
#endif
