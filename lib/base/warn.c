/* warn.c — pferris's one-line messages on stderr. */
#include "base/warn.h"
#include "base/sigquiet.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

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
    pf_sigquiet_t q; /* stderr may be a pipe whose reader is gone */
    pf_sigquiet_hold(&q);
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
    pf_sigquiet_release(&q);
    errno = saved;
}
