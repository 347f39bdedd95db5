/* tune_escape.c — a trial's program for pferris-tune that leaves a process behind: the child
 * leaves the trial's process group (setsid), writes its pid to argv[2], sleeps, then writes
 * argv[2].late, which it must never live to do. "sleep" mode just sleeps, to be interrupted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
        sleep(30);
        return 0;
    }
    if (argc < 3)
        return 2;
    if (fork() == 0) {
        setsid();
        if (fork() == 0) { /* a grandchild too: its parent is the one that escaped */
            sleep(4);
            _exit(0);
        }
        FILE *f = fopen(argv[2], "a");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
        sleep(4);
        char late[4096];
        snprintf(late, sizeof late, "%s.late", argv[2]);
        f = fopen(late, "w");
        if (f)
            fclose(f);
        _exit(0);
    }
    usleep(100000); /* the child's pid is written before the trial ends */
    return 0;
}
