/* thread_names.c — prints the kernel's name of every thread of the process but the two of the
 * program, sorted: the threads pferris adds must carry a name of their own. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *worker(void *arg)
{
    (void)arg;
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) /* pferris's sampler starts with it */
        return 2;
    pthread_join(t, NULL);
    usleep(50000);
    char names[64][16];
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    char self[16];
    snprintf(self, sizeof self, "%d", getpid());
    while (d && (e = readdir(d)) && n < 64) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, self) == 0)
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(names[n], sizeof names[n], f)) {
            names[n][strcspn(names[n], "\n")] = '\0';
            n++;
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    return 0;
}
