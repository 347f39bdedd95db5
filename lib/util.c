/* util.c — internal allocation, warnings and environment parsing. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *pf_zalloc(size_t size)
{
    if (size >= 65536) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    /* Cache-line aligned: per-thread records must not share a line with another thread's. */
    void *p = __libc_memalign(PF_CACHELINE, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void pf_zfree(void *p, size_t size)
{
    if (!p)
        return;
    if (size >= 65536)
        munmap(p, size);
    else
        __libc_free(p);
}

void pf_warn(const char *fmt, ...)
{
    int saved = errno;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "pferris: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
    errno = saved;
}

long long pf_env_ll(const char *var, long long dflt, long long min, long long max,
                    const char *what)
{
    const char *s = getenv(var);
    if (!s)
        return dflt;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < min || v > max) {
        pf_warn("%s='%s' is not %s (%lld to %lld); using %lld", var, s, what, min, max, dflt);
        return dflt;
    }
    return v;
}

int pf_env_bool(const char *var, int dflt)
{
    const char *s = getenv(var);
    if (!s)
        return dflt;
    if (strcmp(s, "1") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
        strcmp(s, "on") == 0)
        return 1;
    if (strcmp(s, "0") == 0 || strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
        strcmp(s, "off") == 0 || *s == '\0')
        return 0;
    pf_warn("%s='%s' is not 0 or 1; using %d", var, s, dflt);
    return dflt;
}
