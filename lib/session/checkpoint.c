/* checkpoint.c — the report rewritten in place while the program runs (PFERRIS_CHECKPOINT).
 *
 * A checkpoint is a whole report with "exit": {"how": "checkpoint"}, written to a temporary
 * beside the report and renamed over it, so a reader (or a process killed at any moment) finds
 * either the previous checkpoint or the new one, never half of one. The first checkpoint claims
 * the report's name with link(2), which fails on an existing file as the exclusive open of the
 * final report does (and then ".N" is tried the same way); the final report replaces the last
 * checkpoint by the same rename.
 *
 * The same tick publishes the live entry of `pferris top` every second (publish.c).
 *
 * No thread of pferris's own is started for this: the tick comes from the timeline (its sampler
 * thread, or the heap flushes of a process that has no second thread yet), so a single-threaded
 * program stays single-threaded. One checkpoint at a time: a tick that finds one running is
 * skipped, and the final report waits for a running one to finish. */
#include "session/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/sigquiet.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/warn.h"
#include "report/report.h"
#include "runtime/thread.h"
#include "runtime/timeline.h"
#include "session/publish.h"
#include "session/session.h"

static struct {
    uint64_t period;           /* ticks between checkpoints; 0: off */
    uint64_t next;             /* tick count of the next one */
    uint64_t publish_period;   /* ticks between entries for `pferris top` (publish.c) */
    uint64_t next_publish;     /* written under busy */
    uint64_t next_any;         /* the earlier of next and next_publish: the tick's one compare */
    int busy;                  /* a checkpoint or the final report is being written */
    int closing;               /* the final report is written: no checkpoint any more */
    int pid;                   /* the process that claimed path (a fork child has none) */
    char path[PATH_MAX + 96];
} ckpt_state;

static __thread int writing; /* this thread holds ckpt_state.busy */

/* The report (with exit how, or the session's own when how is PF_EXIT_NONE) into tmp. */
static int write_tmp(const char *tmp, int how)
{
    pf_process_info_t info = pf_session_process_info();
    if (how != PF_EXIT_NONE)
        info.exit_how = how;
    json_t *r = pf_report_build(pferris_default(), &info);
    if (!r)
        return -ENOMEM;
    unlink(tmp);
    int rc = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
    } else {
        pf_sigquiet_t held;
        pf_sigquiet_hold(&held);
        rc = pf_session_dump(r, fd);
        pf_sigquiet_release(&held);
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
        if (rc != 0)
            unlink(tmp);
    }
    json_decref(r);
    return rc;
}

/* Claims a name for the report as the exclusive open does: path, else "name.N.json". */
static int claim(const char *tmp, const char *path)
{
    size_t len = strlen(path);
    int has_ext = len > 5 && strcmp(path + len - 5, ".json") == 0;
    snprintf(ckpt_state.path, sizeof ckpt_state.path, "%s", path);
    int rc = link(tmp, ckpt_state.path);
    for (int i = 1; rc != 0 && errno == EEXIST && i < 1000; i++) {
        if (has_ext)
            snprintf(ckpt_state.path, sizeof ckpt_state.path, "%.*s.%d.json", (int)(len - 5), path, i);
        else
            snprintf(ckpt_state.path, sizeof ckpt_state.path, "%s.%d", path, i);
        rc = link(tmp, ckpt_state.path);
    }
    rc = rc == 0 ? 0 : -errno;
    unlink(tmp);
    if (rc == 0)
        pf_store_release(&ckpt_state.pid, (int)getpid());
    return rc;
}

/* One checkpoint (how PF_EXIT_CHECKPOINT) or the final report (PF_EXIT_NONE); ckpt_state.busy held. */
static int write_report(int how)
{
    char path[PATH_MAX + 96], tmp[PATH_MAX + 128];
    int claimed = pf_load_acquire(&ckpt_state.pid) == (int)getpid();
    if (claimed) {
        snprintf(path, sizeof path, "%s", ckpt_state.path);
    } else {
        int rc = pf_session_report_path(path, sizeof path);
        if (rc < 0)
            return rc;
        if (strcmp(path, "-") == 0)
            return -ENOTSUP; /* a stream cannot be replaced: no checkpoints to stderr */
    }
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int rc = write_tmp(tmp, how);
    if (rc != 0)
        return rc;
    if (!claimed)
        return claim(tmp, path);
    if (rename(tmp, path) != 0) {
        rc = -errno;
        unlink(tmp);
    }
    return rc;
}

static void tick(void)
{
    uint64_t now = pf_clock_ticks();
    if (pf_likely(now < pf_load_relaxed(&ckpt_state.next_any)))
        return;
    int free_ = 0;
    if (!pf_cas_acq_rel(&ckpt_state.busy, &free_, 1))
        return;
    if (now >= pf_load_relaxed(&ckpt_state.next_any) && !pf_load_acquire(&ckpt_state.closing) &&
        pf_session_active()) {
        int saved = errno;
        writing = 1;
        pf_in_hook++;
        if (now >= ckpt_state.next_publish) {
            pf_publish_tick();
            ckpt_state.next_publish = pf_clock_ticks() + ckpt_state.publish_period;
        }
        if (ckpt_state.period && now >= pf_load_relaxed(&ckpt_state.next)) {
            int rc = write_report(PF_EXIT_CHECKPOINT);
            /* The period counts from the end of this one: a slow checkpoint cannot take more
             * than its share of the time. A failed one is not retried before the next period. */
            pf_store_relaxed(&ckpt_state.next, pf_clock_ticks() + ckpt_state.period);
            if (rc != 0 && rc != -ENOTSUP)
                pf_warn("cannot write a checkpoint beside '%s': %s",
                        ckpt_state.path[0] ? ckpt_state.path : "the report", strerror(-rc));
        }
        pf_in_hook--;
        writing = 0;
        errno = saved;
    }
    uint64_t next = ckpt_state.next_publish;
    if (ckpt_state.period && pf_load_relaxed(&ckpt_state.next) < next)
        next = pf_load_relaxed(&ckpt_state.next);
    pf_store_relaxed(&ckpt_state.next_any, next);
    pf_store_release(&ckpt_state.busy, 0);
}

void pf_checkpoint_start(void)
{
    long long s = pf_env_ll("PFERRIS_CHECKPOINT", PF_CHECKPOINT_DEFAULT, 0, 100 * 365 * 86400LL,
                            "a number of seconds (0: no checkpoints)");
    uint64_t now = pf_clock_ticks();
    double tick_sec = pf_clock_ticks_to_sec(1);
    ckpt_state.period = s > 0 ? (uint64_t)((double)s / tick_sec) : 0;
    ckpt_state.publish_period = (uint64_t)(PF_PUBLISH_PERIOD / tick_sec);
    pf_store_relaxed(&ckpt_state.next, now + ckpt_state.period);
    ckpt_state.next_publish = now + ckpt_state.publish_period / 4; /* seen by `pferris top` soon after start */
    pf_store_relaxed(&ckpt_state.next_any, ckpt_state.next_publish);
    pf_timeline_set_tick_hook(tick);
}

int pf_checkpoint_final(int *rc, char *used, size_t size)
{
    if (pf_load_acquire(&ckpt_state.pid) != (int)getpid())
        return 0;
    pf_store_release(&ckpt_state.closing, 1);
    if (writing) {
        /* A signal ended the process in the middle of this thread's own checkpoint. */
        *rc = -EBUSY;
        return 1;
    }
    /* Wait for a checkpoint another thread is writing (bounded: a thread stopped for good in
     * the middle of one must not hold the exit forever). */
    int free_ = 0;
    for (int i = 0; i < 5000 && !pf_cas_acq_rel(&ckpt_state.busy, &free_, 1); i++, free_ = 0) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    snprintf(used, size, "%s", ckpt_state.path);
    *rc = write_report(PF_EXIT_NONE);
    return 1;
}

const char *pf_checkpoint_path(void)
{
    return pf_load_acquire(&ckpt_state.pid) == (int)getpid() ? ckpt_state.path : NULL;
}
