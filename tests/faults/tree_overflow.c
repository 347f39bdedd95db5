/* tree_overflow.c — 17 threads each time 4001 distinct timer paths (a root of their own, 4000
 * children under it): more paths than the report's merged tree holds (65536). Every start
 * must show, in the tree or in dropped.timer_starts. The API is looked up at run time. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define THREADS  17
#define CHILDREN 4000

typedef void (*timer_fn)(const char *);
static timer_fn start, stop;
static char child_names[CHILDREN][16];

static void *work(void *arg)
{
    char root[16];
    snprintf(root, sizeof root, "root%ld", (long)arg);
    start(root);
    for (int i = 0; i < CHILDREN; i++) {
        start(child_names[i]);
        stop(child_names[i]);
    }
    stop(root);
    return NULL;
}

int main(void)
{
    *(void **)&start = dlsym(RTLD_DEFAULT, "pferris_timer_start");
    *(void **)&stop = dlsym(RTLD_DEFAULT, "pferris_timer_stop");
    if (!start || !stop) {
        printf("no pferris\n");
        return 0;
    }
    for (int i = 0; i < CHILDREN; i++)
        snprintf(child_names[i], sizeof child_names[i], "c%d", i);
    for (long k = 0; k < THREADS; k++) { /* one after another: each thread's tree is whole */
        pthread_t t;
        pthread_create(&t, NULL, work, (void *)k);
        pthread_join(t, NULL);
    }
    printf("%d\n", THREADS * (CHILDREN + 1));
    return 0;
}
