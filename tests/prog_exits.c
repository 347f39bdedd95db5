/* prog_exits MODE — the ways a process ends or multiplies, for the report-at-exit tests.
 *   thread-exit : exit(7) from a thread while two others still run
 *   _exit, _Exit: 1000 allocations then _exit(5) / _Exit(6)
 *   fork-work   : fork; the child allocates 500 blocks and exits 0; the parent allocates 200
 *   fork-exec   : fork; the child execs PROG (argv[2]); the parent waits
 *   exec-fail   : fork; the child's exec fails and it calls _exit(127)
 *   system      : system(argv[2])
 *   spawn       : posix_spawn of argv[2]
 *   vfork-exec  : vfork; the child execs argv[2]; the parent allocates 300
 *   vfork-exit  : vfork; the child calls _exit(3) at once; the parent allocates 300 */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
/* Each thread's own slot: two threads sharing one global would free each other's blocks (a
 * double free that glibc's per-thread caches do not detect, and that once corrupted the
 * report's JSON tree under the sanitizer build). */
static _Thread_local void *volatile sink;

static void allocs(int n)
{
    for (int i = 0; i < n; i++) {
        sink = malloc(40);
        free(sink);
    }
}

static void *spin(void *arg)
{
    for (;;)
        allocs(10);
    return arg;
}

static void *exiter(void *arg)
{
    allocs(100);
    exit(7);
    return arg;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer: the allocation counts are the test's */
    if (!strcmp(m, "thread-exit")) {
        pthread_t a, b, c;
        pthread_create(&a, NULL, spin, NULL);
        pthread_create(&b, NULL, spin, NULL);
        usleep(20000);
        pthread_create(&c, NULL, exiter, NULL);
        pthread_join(c, NULL);
        return 0;
    }
    if (!strcmp(m, "_exit")) {
        allocs(1000);
        _exit(5);
    }
    if (!strcmp(m, "_Exit")) {
        allocs(1000);
        _Exit(6);
    }
    if (!strcmp(m, "fork-work") || !strcmp(m, "fork-exec") || !strcmp(m, "exec-fail")) {
        allocs(100);
        pid_t pid = fork();
        if (pid == 0) {
            if (!strcmp(m, "fork-work")) {
                allocs(500);
                exit(0);
            }
            char *args[] = {argc > 2 ? argv[2] : "/nonexistent/prog", NULL};
            execv(args[0], args);
            _exit(127);
        }
        allocs(200);
        int st = 0;
        waitpid(pid, &st, 0);
        printf("child exit %d\n", WEXITSTATUS(st));
        return 0;
    }
    if (!strcmp(m, "system")) {
        int rc = system(argc > 2 ? argv[2] : "true");
        printf("system %d\n", WEXITSTATUS(rc));
        return 0;
    }
    if (!strcmp(m, "spawn")) {
        pid_t pid;
        char *args[] = {argv[2], NULL};
        if (posix_spawn(&pid, argv[2], NULL, NULL, args, environ) != 0)
            return 2;
        int st;
        waitpid(pid, &st, 0);
        printf("spawned exit %d\n", WEXITSTATUS(st));
        return 0;
    }
    if (!strcmp(m, "vfork-exec") || !strcmp(m, "vfork-exit")) {
        char *args[] = {argc > 2 ? argv[2] : "/bin/true", NULL};
        pid_t pid = vfork();
        if (pid == 0) {
            if (!strcmp(m, "vfork-exec"))
                execv(args[0], args);
            _exit(3);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        allocs(300);
        printf("vfork child exit %d\n", WEXITSTATUS(st));
        return 0;
    }
    fprintf(stderr, "usage: prog_exits MODE\n");
    return 2;
}
