/* env.h — parse helpers for the PFERRIS_* variables. On a bad value: one warning naming the
 * variable, the value and the default used, and the default is returned. */
#ifndef PF_ENV_H
#define PF_ENV_H

#include "base/atomic.h"

/* An integer in [min, max]; what says what it is ("a number of bytes") in the warning. */
long long pf_env_ll(const char *var, long long dflt, long long min, long long max,
                    const char *what) PF_HIDDEN;
/* 1/yes/true/on or 0/no/false/off/empty. */
int pf_env_bool(const char *var, int dflt) PF_HIDDEN;

#endif
