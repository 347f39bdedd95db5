/* report_race.c — two threads build the whole report at once through the API
 * (pferris_get_report, looked up at run time: the program does not link pferris), while the
 * main thread keeps allocating; then the report at exit. Prints "ok". The reports are not
 * freed: the program has no jansson of its own. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *(*get_report_fn)(void *);
typedef void *(*default_fn)(void);
static get_report_fn get_report;
static default_fn get_default;
static volatile int stop;

static void *reporter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 40; i++)
        get_report(get_default());
    return NULL;
}

static void *churn(void *arg)
{
    (void)arg;
    while (!stop) {
        char *s = strdup("abc");
        void *p = malloc(100);
        free(s);
        free(p);
    }
    return NULL;
}

int main(void)
{
    *(void **)&get_report = dlsym(RTLD_DEFAULT, "pferris_get_report");
    *(void **)&get_default = dlsym(RTLD_DEFAULT, "pferris_default");
    for (int i = 0; i < 1000; i++)
        free(strdup("warm"));
    if (get_report && get_default) {
        pthread_t t[3];
        pthread_create(&t[0], NULL, reporter, NULL);
        pthread_create(&t[1], NULL, reporter, NULL);
        pthread_create(&t[2], NULL, churn, NULL);
        pthread_join(t[0], NULL);
        pthread_join(t[1], NULL);
        stop = 1;
        pthread_join(t[2], NULL);
    }
    printf("ok\n");
    return 0;
}
