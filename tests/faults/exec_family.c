/* exec_family.c — a forked child whose exec fails and that then calls _exit(127), once per
 * member of the exec family. Under the preload, none of these children may write a report
 * (execv's child does not): the exec attempt tells pferris the child was only a launcher. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int try(const char *how)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *bad = "/nonexistent/pferris-fault";
        char *argv[] = {(char *)bad, "x", NULL};
        if (strcmp(how, "execl") == 0)
            execl(bad, bad, "x", (char *)NULL);
        else if (strcmp(how, "execle") == 0)
            execle(bad, bad, "x", (char *)NULL, environ);
        else if (strcmp(how, "execlp") == 0)
            execlp("pferris-no-such-program", "p", "x", (char *)NULL);
        else if (strcmp(how, "fexecve") == 0) {
            int fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* not executable: EACCES */
            fexecve(fd, argv, environ);
        } else if (strcmp(how, "execveat") == 0) {
            execveat(AT_FDCWD, bad, argv, environ, 0);
        } else if (strcmp(how, "execv") == 0)
            execv(bad, argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        printf("%s %d\n", argv[i], try(argv[i]));
    return 0;
}
