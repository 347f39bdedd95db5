/* source.h — a code address's source file and line (source.c). */
#ifndef PF_SOURCE_H
#define PF_SOURCE_H

#include <stddef.h>

/* "file:line" (the file's base name) of offset in module, when the module has debug
 * information, into out[n]. The module path may come from an untrusted report: it is passed
 * as one argv word, never through a shell. 0 when found, -1 otherwise. */
int pf_source_line(const char *module, unsigned long long offset, char *out, size_t n);

#endif
