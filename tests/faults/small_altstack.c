/* small_altstack.c SIZE [MODE [thread]] — a SIGUSR1 handler on a small alternate signal stack
 * (SIZE bytes, default 6 KiB) allocates; the program raises the signal many times. Prints "ok".
 *   plain  : the small stack from the start (default)
 *   switch : first a 256 KiB stack (50 signals), then the small one at its top, both through
 *            sigaltstack
 *   raw    : the same, the small one elsewhere and set by the system call itself, behind
 *            libc's back
 *   thread : all of it on a second thread (whose own stack pferris knows) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int got;
static size_t size = 6144;
static const char *mode = "plain";

static void on_usr1(int sig)
{
    (void)sig;
    void *p = malloc(64); /* not async-signal-safe in general; fine here: raised synchronously */
    free(p);
    got++;
}

/* [base, base + bytes) as the alternate stack: through libc, or by the system call itself. */
static int use_stack(char *base, size_t bytes, int raw)
{
    stack_t ss = {.ss_sp = base, .ss_size = bytes, .ss_flags = 0};
    return raw ? (int)syscall(SYS_sigaltstack, &ss, NULL) : sigaltstack(&ss, NULL);
}

/* The small stack has an inaccessible page right below it, so an overflow faults at once. In
 * "switch" mode it lies inside the big stack's range (the top of it), so that bounds kept from
 * the big one would claim room that is not there; in "raw" mode it is a mapping of its own. */
static void *run(void *arg)
{
    (void)arg;
    int want = 200, raw = strcmp(mode, "raw") == 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), big = 256 * 1024;
    size_t small = (size + page - 1) / page * page;
    char *region = mmap(NULL, big + 2 * page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return (void *)2;
    char *small_at = region + big - small;
    if (strcmp(mode, "plain") != 0) {
        if (use_stack(region, big, 0) != 0)
            return (void *)2;
        for (int i = 0; i < 50; i++)
            raise(SIGUSR1);
        want += 50;
        if (raw) { /* a mapping of its own, away from the big stack */
            char *own = mmap(NULL, small + page, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (own == MAP_FAILED)
                return (void *)2;
            small_at = own + page;
        }
    }
    if (mprotect(small_at - page, page, PROT_NONE) != 0 || use_stack(small_at, small, raw) != 0)
        return (void *)2;
    for (int i = 0; i < 200; i++)
        raise(SIGUSR1);
    return (void *)(long)(got == want ? 0 : 1);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        size = (size_t)atol(argv[1]);
    if (argc > 2)
        mode = argv[2];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    void *rc;
    if (argc > 3 && strcmp(argv[3], "thread") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, run, NULL) != 0 || pthread_join(t, &rc) != 0)
            return 3;
    } else {
        rc = run(NULL);
    }
    if ((long)rc == 2)
        return 2;
    printf(rc == NULL ? "ok\n" : "lost\n");
    return 0;
}
