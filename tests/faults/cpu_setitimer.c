/* cpu_setitimer.c — a program that profiles itself with setitimer(ITIMER_PROF) and its own
 * SIGPROF handler. It burns 0.5 s of CPU and counts the SIGPROF it received: about 50 at its
 * 10 ms interval. With another profiler's timers also sending SIGPROF, it would count more
 * (and some with si_code SI_TIMER, which ITIMER_PROF never sends). Prints "ok" or the counts. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks, foreign;
static volatile unsigned long sink;

static void on_prof(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (si->si_code == SI_TIMER)
        foreign++;
    else
        ticks++;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_prof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_PROF, &it, NULL);
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 10000; i++)
            sink = sink * 6364136223846793005ul + 1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 < 0.5);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    if (foreign == 0 && ticks >= 25 && ticks <= 75)
        printf("ok\n");
    else
        printf("ticks %d foreign %d\n", (int)ticks, (int)foreign);
    return 0;
}
