/* prog_signals MODE — how a signal ends a process, for the signal and checkpoint tests.
 *   grow      : allocates and frees 4 KiB blocks until killed; "ready" first
 *   threads   : the same on two threads
 *   raise SIG : 1000 allocations, then kill(getpid(), SIG)
 *   handler   : a SIGTERM handler that calls exit(7); then raises SIGTERM
 *   ignore    : SIGTERM ignored (SIG_IGN), raised, then "alive" and exit 0
 *   query     : the dispositions the program sees: "dfl ign mine dfl"
 *   null      : a NULL dereference
 *   abort     : abort() */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

/* 64 blocks of 4 KiB taken, then given back, over and over: the heap's live figure swings by
 * 256 KiB, as a working program's does, at a bounded footprint. */
static void *grow(void *arg)
{
    (void)arg;
    void *held[64];
    for (;;) {
        for (int i = 0; i < 64; i++) {
            held[i] = malloc(4096);
            memset(held[i], 1, 64);
            usleep(500);
        }
        for (int i = 0; i < 64; i++)
            free(held[i]);
    }
    return NULL;
}

static void on_term(int sig)
{
    (void)sig;
    exit(7);
}

static void mine(int sig)
{
    (void)sig;
}

static const char *name(void (*h)(int))
{
    return h == SIG_DFL ? "dfl" : h == SIG_IGN ? "ign" : h == mine ? "mine" : "other";
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    for (int i = 0; i < 1000; i++) {
        sink = malloc(40);
        free(sink);
    }
    if (strcmp(mode, "grow") == 0 || strcmp(mode, "threads") == 0) {
        pthread_t t;
        if (strcmp(mode, "threads") == 0)
            pthread_create(&t, NULL, grow, NULL);
        puts("ready");
        fflush(stdout);
        grow(NULL);
    } else if (strcmp(mode, "raise") == 0 && argc > 2) {
        kill(getpid(), atoi(argv[2]));
        puts("survived");
        return 3;
    } else if (strcmp(mode, "handler") == 0) {
        signal(SIGTERM, on_term);
        raise(SIGTERM);
        return 3;
    } else if (strcmp(mode, "ignore") == 0) {
        signal(SIGTERM, SIG_IGN);
        raise(SIGTERM);
        puts("alive");
        return 0;
    } else if (strcmp(mode, "query") == 0) {
        struct sigaction sa, old;
        sigaction(SIGTERM, NULL, &old);
        printf("%s", name(old.sa_handler));
        signal(SIGINT, SIG_IGN);
        printf(" %s", name(signal(SIGINT, SIG_DFL)));
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = mine;
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR1, NULL, &old);
        printf(" %s", name(old.sa_handler));
        sa.sa_handler = SIG_DFL;
        sigaction(SIGUSR1, &sa, &old);
        sigaction(SIGUSR1, NULL, &old);
        printf(" %s\n", name(old.sa_handler));
        return 0;
    } else if (strcmp(mode, "null") == 0) {
        volatile int *volatile p = NULL;
        *p = 1;
    } else if (strcmp(mode, "abort") == 0) {
        abort();
    }
    return 2;
}
