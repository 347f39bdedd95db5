/* small_altstack.c — a SIGUSR1 handler on a small alternate signal stack (argv[1] bytes,
 * default 6 KiB) allocates; the program raises the signal many times. Prints "ok". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int got;

static void on_usr1(int sig)
{
    (void)sig;
    void *p = malloc(64); /* not async-signal-safe in general; fine here: raised synchronously */
    free(p);
    got++;
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : 6144;
    stack_t ss = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 200; i++)
        raise(SIGUSR1);
    printf(got == 200 ? "ok\n" : "lost\n");
    return 0;
}
