/* util.c — internal allocation, warnings and environment parsing. */
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Small blocks are bumped out of 1 MiB chunks with one atomic add; a full chunk is replaced by a
 * CAS (the loser unmaps its fresh chunk). No lock, so no fork can leave one held. Large blocks
 * are mapped on their own, so their untouched pages cost nothing and they can be given back. */
#define CHUNK  (1u << 20)
#define HEADER PF_CACHELINE

typedef struct chunk {
    size_t used, size;
} chunk_t;

static chunk_t *current;

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *pf_zalloc(size_t size)
{
    if (size >= PF_ZALLOC_DIRECT)
        return map(size);
    int saved = errno;
    size = (size + PF_CACHELINE - 1) & ~(size_t)(PF_CACHELINE - 1);
    for (;;) {
        chunk_t *c = pf_load_acquire(&current);
        if (c) {
            size_t off = pf_fetch_add_relaxed(&c->used, size);
            if (off + size <= c->size)
                return (char *)c + HEADER + off;
        }
        chunk_t *fresh = map(CHUNK);
        if (!fresh) {
            errno = saved;
            return NULL;
        }
        fresh->size = CHUNK - HEADER;
        if (!pf_cas_acq_rel(&current, &c, fresh))
            munmap(fresh, CHUNK);
    }
}

void pf_zfree(void *p, size_t size)
{
    if (p && size >= PF_ZALLOC_DIRECT)
        munmap(p, size);
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
