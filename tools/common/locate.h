/* locate.h — where the tools find the preload. */
#ifndef PF_LOCATE_H
#define PF_LOCATE_H

#include <stddef.h>

/* The preload that belongs with the running binary, libpferris.so beside it (the build tree) or
 * in ../lib (an installed tree), as an absolute path. 0, or -ENOENT. */
int pf_locate_preload(char *out, size_t size);

#endif
