/* util.h — the core's own memory and its messages. The core never allocates through the
 * interposed malloc: small blocks come from glibc's __libc_memalign (not interposable, fork-safe), aligned to a cache line,
 * large zeroed tables from mmap, so untouched pages cost no memory. Nothing is ever freed:
 * figures of exited threads and retired profilers must outlive them. */
#ifndef PF_UTIL_H
#define PF_UTIL_H

#include <stddef.h>
#include "base/atomic.h"

#define PF_ZALLOC_DIRECT 16384
void *pf_zalloc(size_t size) PF_HIDDEN;
/* Gives back a block of PF_ZALLOC_DIRECT bytes or more (size as given to pf_zalloc); smaller
 * blocks stay: temporary buffers must be at least that large. */
void pf_zfree(void *p, size_t size) PF_HIDDEN;
/* One line "pferris: ..." on stderr, written with write(2): safe in hooks and at exit. */
void pf_warn(const char *fmt, ...) PF_HIDDEN __attribute__((format(printf, 1, 2)));
/* Parse helpers for PFERRIS_* variables: on a bad value, one warning naming the variable, the
 * value and the default used, and the default is returned. */
long long pf_env_ll(const char *var, long long dflt, long long min, long long max,
                    const char *what) PF_HIDDEN;
int pf_env_bool(const char *var, int dflt) PF_HIDDEN;

#endif
