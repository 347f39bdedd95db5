/* snapshot.h — reading the live-counter snapshots that processes under PFERRIS_LIVE write
 * (format in lib/runtime/live.h). Tool side only: it may allocate and is never in the preload. */
#ifndef PF_SNAPSHOT_H
#define PF_SNAPSHOT_H

#include <stddef.h>
#include "runtime/live.h"

typedef struct {
    int pid;
    long long seq;
    double t, mono;
    int threads, threads_max;
    int complete;      /* the "end" line was seen */
} pf_snapshot_t;

typedef void (*pf_snapshot_counter_cb)(const char *name, long long value, void *arg);

/* Parses one snapshot (text of len bytes; need not be NUL-terminated). cb (may be NULL) gets
 * each counter. 0, or -EINVAL when text is not a snapshot. */
int pf_snapshot_parse(const char *text, size_t len, pf_snapshot_t *info, pf_snapshot_counter_cb cb,
                  void *arg);

#endif
