/* signal_dispositions — a program's own signal dispositions under the preload: what it sets is
 * what runs and what its queries return (pferris's own handlers never show), SIG_IGN stays
 * ignored (a write to a closed pipe fails with EPIPE), SA_RESETHAND and SA_SIGINFO keep their
 * meaning, and errno passes through sigaction as the kernel sets it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got, info_code;

static void on(int sig)
{
    got = sig;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got = sig;
    info_code = si->si_code;
}

static const char *show(int sig)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    if (sa.sa_flags & SA_SIGINFO)
        return sa.sa_sigaction == on_info ? "on_info" : "other-info";
    return sa.sa_handler == SIG_DFL ? "dfl" : sa.sa_handler == SIG_IGN ? "ign"
                                    : sa.sa_handler == on ? "on" : "other";
}

int main(void)
{
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGPIPE, SIGSEGV, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        printf("%s ", show(sigs[i]));
    printf("\n");

    signal(SIGUSR1, on);
    raise(SIGUSR1);
    printf("usr1 %d %s\n", got == SIGUSR1, show(SIGUSR1));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGTERM, &sa, NULL);
    got = 0;
    raise(SIGTERM);
    printf("term %d code %d then %s\n", got == SIGTERM, info_code == SI_TKILL, show(SIGTERM));

    signal(SIGPIPE, SIG_IGN);
    int p[2];
    pipe(p);
    close(p[0]);
    errno = 0;
    ssize_t w = write(p[1], "x", 1);
    printf("pipe %zd %s %s\n", w, strerror(errno), show(SIGPIPE));

    errno = 0;
    int rc = sigaction(SIGKILL, &sa, NULL);
    printf("kill %d %s\n", rc, strerror(errno));
    errno = 0;
    rc = sigaction(1000, &sa, NULL);
    printf("range %d %s %s\n", rc, strerror(errno), signal(1000, on) == SIG_ERR ? "SIG_ERR" : "?");

    struct sigaction old;
    sigaction(SIGHUP, NULL, &old);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_RESTART;
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGHUP, NULL, &old);
    printf("hup flags %d mask %d\n", (old.sa_flags & SA_RESTART) != 0,
           sigismember(&old.sa_mask, SIGUSR2));
    return 0;
}
