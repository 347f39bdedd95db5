/* env.c — reading the PFERRIS_* variables. */
#include "base/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/warn.h"

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
