/* publish.c — the live state of this process for `pferris top` (see publish.h).
 *
 * Written from the session's tick (lib/session/checkpoint.c), so no thread is started for it: a
 * small jansson object with the heap totals, the live thread count and each thread's CPU time,
 * and the counters and timers so far, written to "PID.json.tmp" and renamed to "PID.json" under
 * a directory descriptor opened (and checked) for that write alone, so the program's descriptor
 * table is unchanged between ticks. The entry's name is kept so that the exit and crash paths
 * can remove it without building anything. */
#include "session/publish.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/warn.h"
#include "report/keys.h"
#include "report/report.h"
#include "runtime/heap.h"
#include "runtime/thread.h"
#include "session/session.h"

#define PUBLISH_THREADS 64 /* threads listed with their CPU time */

static struct {
    char dir[PATH_MAX];
    int pid;     /* the process whose entry exists; 0 when none */
    int failed;  /* the directory was refused once: not tried again */
} pub_state;

static json_t *threads_json(int *live)
{
    json_t *a = json_array();
    int n = 0;
    *live = 0;
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
        if (pf_load_acquire(&t->exited))
            continue;
        ++*live;
        if (n++ >= PUBLISH_THREADS)
            continue;
        char name[16];
        int tid = pf_load_relaxed(&t->tid); /* rewritten when the record is taken over */
        pf_thread_name_of(tid, name);
        json_t *o = json_object();
        json_object_set_new(o, PF_KEY_TID, json_integer(tid));
        json_object_set_new(o, PF_KEY_NAME, json_string(name));
        json_object_set_new(o, PF_KEY_CPU_TIME, json_real(pf_clock_thread_cpu_sec(tid)));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *entry_json(void)
{
    json_t *r = json_object();
    json_t *argv = json_array();
    const char *const *av = pf_session_argv();
    for (size_t i = 0; av && av[i]; i++)
        json_array_append_new(argv, json_string(av[i]));
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    int live = 0;
    json_object_set_new(r, PF_KEY_PID, json_integer(getpid()));
    json_object_set_new(r, PF_KEY_COMMAND, argv);
    json_object_set_new(r, PF_KEY_START_TIME, json_string(pf_session_start_time()));
    json_object_set_new(r, PF_KEY_ELAPSED, json_real(pf_clock_now_sec()));
    json_object_set_new(r, PF_KEY_LIVE_BYTES, json_integer(h.live));
    json_object_set_new(r, PF_KEY_PEAK_BYTES, json_integer(h.peak));
    json_object_set_new(r, PF_KEY_ALLOCATIONS, json_integer((json_int_t)h.allocs));
    json_object_set_new(r, PF_KEY_FREES, json_integer((json_int_t)h.frees));
    json_object_set_new(r, PF_KEY_THREAD_CPU, threads_json(&live));
    json_object_set_new(r, PF_KEY_THREADS, json_integer(live));
    json_t *c = pf_report_section(pferris_default(), PF_KEY_COUNTERS);
    json_t *t = pf_report_section(pferris_default(), PF_KEY_TIMINGS);
    json_object_set_new(r, PF_KEY_COUNTERS, c ? c : json_object());
    json_object_set_new(r, PF_KEY_TIMERS, t ? t : json_object());
    return r;
}

void pf_publish_tick(void)
{
    if (pub_state.failed)
        return;
    char why[PATH_MAX + 200];
    if (!pub_state.dir[0] && pf_publish_dir(pub_state.dir, sizeof pub_state.dir) != 0) {
        pub_state.failed = 1;
        return;
    }
    int dfd = pf_publish_open_dir(pub_state.dir, 1, why, sizeof why);
    if (dfd < 0) {
        pub_state.failed = 1;
        pf_warn("pferris top will not see this process: %s", why);
        return;
    }
    char name[32], tmp[48];
    int pid = (int)getpid();
    snprintf(name, sizeof name, "%d.json", pid);
    snprintf(tmp, sizeof tmp, "%d.json.tmp", pid);
    json_t *r = entry_json();
    char *text = r ? json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(r);
    unlinkat(dfd, tmp, 0);
    int fd = text ? openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)
                  : -1;
    if (fd >= 0) {
        size_t len = strlen(text);
        ssize_t w = write(fd, text, len);
        close(fd);
        if (w == (ssize_t)len && renameat(dfd, tmp, dfd, name) == 0)
            pf_store_release(&pub_state.pid, pid);
        else
            unlinkat(dfd, tmp, 0);
    }
    free(text);
    close(dfd);
}

void pf_publish_remove(void)
{
    if (pf_load_acquire(&pub_state.pid) != (int)getpid())
        return;
    char path[PATH_MAX + 48];
    /* By hand: snprintf is not on the async-signal-safe list. */
    size_t n = strlen(pub_state.dir);
    memcpy(path, pub_state.dir, n);
    path[n++] = '/';
    char digits[16];
    int k = 0;
    for (unsigned v = (unsigned)getpid(); v || !k; v /= 10)
        digits[k++] = (char)('0' + v % 10);
    while (k)
        path[n++] = digits[--k];
    memcpy(path + n, ".json", 6);
    unlink(path);
    pf_store_release(&pub_state.pid, 0);
}
