/* reader.h — loading a pferris report (schema pferris-report/1) from a file or a buffer, for
 * the `pferris` tool and the fuzz target. Input is untrusted: any byte sequence gives either a
 * report whose every known field has its documented type, or a message naming the input and
 * the problem. Reading side only; never used on a hot path. */
#ifndef PF_READER_H
#define PF_READER_H

#include <jansson.h>
#include <stddef.h>
#include "base/atomic.h"

/* Larger inputs are refused before parsing (jansson needs ~10x the text in memory). */
#define PF_READER_MAX_BYTES ((size_t)256 << 20)

/* Parses len bytes of buf as a report; name (a file name, "-" for stdin) starts every message.
 * Returns a new reference, or NULL with "NAME: problem" in err. */
json_t *pf_reader_parse(const char *buf, size_t len, const char *name, char *err,
                        size_t errsize) PF_HIDDEN;
/* The same from a file; path "-" reads standard input. */
json_t *pf_reader_load(const char *path, char *err, size_t errsize) PF_HIDDEN;
/* Checks a parsed value: the schema, and the type of every known field at any depth (unknown
 * keys are allowed: the schema may add keys). 0, or -EINVAL with "NAME: problem" in err. */
int pf_reader_check(json_t *r, const char *name, char *err, size_t errsize) PF_HIDDEN;

#endif
