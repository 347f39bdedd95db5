/* cpu_sleep.c — a thread that sleeps must never see EINTR because of pferris's CPU sampling.
 * Two threads burn CPU while a third loops on nanosleep(1 ms) (and on a blocking read from a
 * pipe another thread writes to), doing a little work between: it uses some CPU, so it is
 * sampled too, but a CPU-time clock never runs while it sleeps. Prints the count of calls that
 * failed with EINTR (0 expected) and exits 1 if there were any. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static volatile unsigned long sink;
static int fds[2];

static void *burner(void *arg)
{
    (void)arg;
    while (!stop)
        sink = sink * 6364136223846793005ul + 1;
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 1000 && !stop; i++) {
        nanosleep(&ms, NULL);
        if (write(fds[1], "x", 1) != 1)
            break;
    }
    close(fds[1]);
    return NULL;
}

int main(void)
{
    if (pipe(fds) != 0)
        return 2;
    pthread_t b1, b2, w;
    pthread_create(&b1, NULL, burner, NULL);
    pthread_create(&b2, NULL, burner, NULL);
    pthread_create(&w, NULL, writer, NULL);
    int eintr = 0, sleeps = 0;
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 1000; i++) {
        for (volatile int k = 0; k < 20000; k++) /* about 20-50 us of CPU per round */
            ;
        if (nanosleep(&ms, NULL) != 0 && errno == EINTR)
            eintr++;
        sleeps++;
    }
    char c;
    ssize_t n;
    while ((n = read(fds[0], &c, 1)) != 0)
        if (n < 0 && errno == EINTR)
            eintr++;
    stop = 1;
    pthread_join(b1, NULL);
    pthread_join(b2, NULL);
    pthread_join(w, NULL);
    printf("sleeps %d eintr %d\n", sleeps, eintr);
    return eintr ? 1 : 0;
}
