/* non_utf8.c — names that are not UTF-8: a Latin-1 timer, counter and memory name, a thread
 * name the kernel's 15-byte limit cut inside a character, and (from the test) an argument
 * $'arg\xff'. None may vanish from the report. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "pferris.h"

static void *worker(void *arg)
{
    (void)arg;
    /* 14 ASCII bytes, then "é" (2 bytes): the kernel keeps 15, half of the "é". */
    prctl(PR_SET_NAME, "abcdefghijklmn\xc3\xa9", 0, 0, 0);
    PFERRIS_TIMER_START("thread caf\xe9");
    usleep(1000);
    PFERRIS_TIMER_STOP("thread caf\xe9");
    return NULL;
}

int main(int argc, char **argv)
{
    PFERRIS_TIMER_START("caf\xe9");
    usleep(1000);
    PFERRIS_TIMER_STOP("caf\xe9");
    PFERRIS_COUNT("na\xefve", 3);
    PFERRIS_MEMORY("gr\xf6\xdf" "e", 4096);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    printf("%d %s\n", argc, argc > 1 ? argv[1] : "");
    return 0;
}
