/* warn.h — pferris's messages to the user. */
#ifndef PF_WARN_H
#define PF_WARN_H

#include "base/atomic.h"

/* One line "pferris: ..." on stderr, written with write(2): safe in hooks and at exit. errno is
 * left as it was. */
void pf_warn(const char *fmt, ...) PF_HIDDEN __attribute__((format(printf, 1, 2)));

#endif
