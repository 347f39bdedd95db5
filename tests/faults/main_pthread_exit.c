/* main_pthread_exit.c — the main thread calls pthread_exit while another thread still runs;
 * the process must end when that last thread does, whatever threads pferris started.
 * "signal": the remaining thread blocks SIGTERM, sends it to the process and ends: with no
 * thread left the process ends (the pending signal dies with it). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int signal_mode;

static void *worker(void *arg)
{
    (void)arg;
    if (signal_mode) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    usleep(100000);
    free(malloc(100));
    if (signal_mode)
        kill(getpid(), SIGTERM);
    return NULL;
}

int main(int argc, char **argv)
{
    signal_mode = argc > 1 && strcmp(argv[1], "signal") == 0;
    int single = argc > 1 && strcmp(argv[1], "single") == 0;
    printf("start\n");
    fflush(stdout);
    if (!single) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0)
            return 2;
    }
    pthread_exit(NULL);
}
