/* gzip.h — writing encoded sections gzipped (pprof reads profile.proto gzipped). */
#ifndef PF_GZIP_H
#define PF_GZIP_H

#include <stdio.h>
#include "common/proto.h"

/* parts[0 .. n) in order through one gzip stream (zlib, windowBits 15 + 16) into out: 0, or
 * -1 when zlib or the write failed. */
int pf_gzip_write(FILE *out, pf_proto_t **parts, size_t n);

#endif
