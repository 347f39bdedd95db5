/* real.h — the real functions the preload's interposers forward to: found after pferris in the
 * symbol scope (dlsym RTLD_NEXT) by pf_real_resolve (preload.c), all at once, and published
 * together, so that none is used alone. */
#ifndef PF_PRELOAD_REAL_H
#define PF_PRELOAD_REAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/time.h>
#include "base/atomic.h"

typedef struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*usable)(void *);      /* the malloc owner's malloc_usable_size, or NULL */
    size_t (*usable_next)(void *); /* the next definition: what the program's own call gets */
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    void (*exit_)(int);
    void (*Exit_)(int);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*execveat)(int, const char *, char *const[], char *const[], int);
    int (*setitimer)(__itimer_which_t, const struct itimerval *, struct itimerval *);
} pf_real_t;

extern pf_real_t pf_real PF_HIDDEN;
/* 1 once every field of pf_real is set (release; read with acquire). */
extern int pf_real_resolved PF_HIDDEN;
/* Resolves them; a thread already inside the resolution (dlsym may allocate) returns at once. */
void pf_real_resolve(void) PF_HIDDEN;

/* Whether pf_real.fn may be called: resolved, and the function exists. */
#define PF_REAL_READY(fn)                                                                      \
    ((pf_likely(pf_load_acquire(&pf_real_resolved)) ||                                         \
      (pf_real_resolve(), pf_load_acquire(&pf_real_resolved))) &&                              \
     pf_real.fn != NULL)

#endif
