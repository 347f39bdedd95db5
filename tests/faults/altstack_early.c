/* altstack_early.c — altstack_sigprof's handler on a small alternate stack, installed by a
 * shared library's constructor. A preloaded library is initialized after the libraries the
 * program links, so this handler is in place before pferris starts and never passes its
 * sigaction interposer. Built twice: with -DLIB as a library, and as the program linked with
 * it. The stack's size comes from ALTSTACK_SIZE (default 6 KiB). Prints "ok". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LIB
int early_rc = 1;
volatile int early_got;
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
    early_got++;
}

__attribute__((constructor)) static void early(void)
{
    const char *env = getenv("ALTSTACK_SIZE");
    size_t size = env ? (size_t)atol(env) : 6144;
    stack_t ss = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) {
        early_rc = 2;
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    early_rc = sigaction(SIGUSR1, &sa, NULL) == 0 ? 0 : 3;
}
#else
extern int early_rc;
extern volatile int early_got;

int main(void)
{
    if (early_rc)
        return 10 + early_rc;
    /* The program sees the mask its library set, whatever pferris adds for its own signal. */
    struct sigaction back;
    sigaction(SIGUSR1, NULL, &back);
    if (sigismember(&back.sa_mask, SIGPROF) || !(back.sa_flags & SA_ONSTACK))
        return 4;
    for (int i = 0; i < 150; i++)
        raise(SIGUSR1);
    printf(early_got == 150 ? "ok\n" : "lost\n");
    return 0;
}
#endif
