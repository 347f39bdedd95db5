/* sigquiet.c — holding SIGPIPE and SIGXFSZ while pferris writes (see sigquiet.h). */
#include "base/sigquiet.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static const int quiet_sigs[] = {SIGPIPE, SIGXFSZ};

void pf_sigquiet_hold(pf_sigquiet_t *q)
{
    sigset_t s;
    sigemptyset(&s);
    for (size_t i = 0; i < sizeof quiet_sigs / sizeof quiet_sigs[0]; i++)
        sigaddset(&s, quiet_sigs[i]);
    pthread_sigmask(SIG_BLOCK, &s, &q->old);
    sigpending(&q->before);
}

void pf_sigquiet_release(pf_sigquiet_t *q)
{
    int saved = errno;
    sigset_t now;
    sigpending(&now);
    for (size_t i = 0; i < sizeof quiet_sigs / sizeof quiet_sigs[0]; i++) {
        int sig = quiet_sigs[i];
        if (sigismember(&now, sig) && !sigismember(&q->before, sig) &&
            !sigismember(&q->old, sig)) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            struct timespec zero = {0, 0};
            sigtimedwait(&one, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &q->old, NULL);
    errno = saved;
}
