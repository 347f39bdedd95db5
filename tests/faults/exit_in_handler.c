/* exit_in_handler.c — threads in a loop of malloc and free, and a SIGALRM handler that calls
 * _exit (async-signal-safe) while one of them may be inside the allocator. argv[1]: threads
 * besides main (0: main alone). Exits 0 from the handler. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int sig)
{
    (void)sig;
    _exit(0);
}

static void *churn(void *arg)
{
    (void)arg;
    void *keep[64] = {0};
    for (unsigned i = 0;; i++) {
        unsigned k = i % 64;
        free(keep[k]);
        keep[k] = malloc(16 + (i * 37) % 2000);
        if (keep[k])
            memset(keep[k], 1, 16);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, churn, NULL) != 0)
            return 2;
    }
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    churn(NULL);
    return 3;
}
