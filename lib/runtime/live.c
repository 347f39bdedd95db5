/* live.c — the live-counter sampler (preload side; the tools parse its snapshots in
 * tools/common/snapshot.c). See live.h for the design and the file format.
 *
 * The sampler is pferris's own thread: created with the real pthread_create so it is not a
 * program thread, with every signal blocked so that no process-directed signal (SIGTERM from
 * the tuner, the program's SIGCHLD or SIGALRM) is ever delivered to it and runs a handler of
 * the program on it. Its loop does not allocate through malloc: a static buffer holds the
 * snapshot, and the counter sums come from pf_profile_counters_foreach (internal memory). */
#include "runtime/live.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/clock.h"
#include "runtime/profile.h"
#include "runtime/thread.h"
#include "base/warn.h"

#define SNAP_BYTES 65536

static struct {
    int pid;                 /* the process whose sampler runs; 0 before the first start */
    char path[PATH_MAX];     /* <dir>/live.<pid> */
    char tmp[PATH_MAX];      /* <dir>/.live.<pid>.tmp */
    char buf[SNAP_BYTES];
    size_t len;
    int truncated;
    long long seq;
} live_state;

static int atfork_done;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
    if (live_state.truncated)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(live_state.buf + live_state.len, sizeof live_state.buf - live_state.len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof live_state.buf - live_state.len - 8) /* room for "end\n" stays */
        live_state.truncated = 1;
    else
        live_state.len += (size_t)n;
}

static void put_counter(const char *name, long long value, void *arg)
{
    (void)arg;
    char esc[512];
    size_t k = 0;
    for (const char *s = name; *s && k + 3 < sizeof esc; s++) {
        if (*s == '\\' || *s == '\n') {
            esc[k++] = '\\';
            esc[k++] = *s == '\n' ? 'n' : '\\';
        } else {
            esc[k++] = *s;
        }
    }
    esc[k] = '\0';
    put("c %lld %s\n", value, esc);
}

/* One snapshot, written whole to the temporary file and renamed over the previous one. */
static int snapshot(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    live_state.len = 0;
    live_state.truncated = 0;
    put("pferris-live 1\npid %d\nseq %lld\nt %.6f\nmono %lld.%09ld\nthreads %d %d\n", live_state.pid,
        ++live_state.seq, pf_clock_now_sec(), (long long)ts.tv_sec, ts.tv_nsec, pf_thread_live(),
        pf_thread_max_concurrent());
    pf_profile_counters_foreach(put_counter, NULL);
    memcpy(live_state.buf + live_state.len, "end\n", 4); /* always fits: put() keeps the room */
    live_state.len += 4;

    int fd = open(live_state.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < live_state.len) {
        ssize_t w = write(fd, live_state.buf + off, live_state.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? -errno : -EIO;
            close(fd);
            return e;
        }
        off += (size_t)w;
    }
    close(fd);
    return rename(live_state.tmp, live_state.path) == 0 ? 0 : -errno;
}

static void *sampler(void *arg)
{
    (void)arg;
    int saved = errno;
    for (;;) {
        int rc = snapshot();
        if (rc < 0) {
            pf_warn("%s: cannot write live counters to %s (%s); the tuner will see none",
                    PF_LIVE_ENV, live_state.path, strerror(-rc));
            break;
        }
        if (pf_thread_internal_sleep(PF_LIVE_PERIOD_MS))
            break;
    }
    errno = saved;
    return NULL;
}

static void after_fork_child(void)
{
    /* The sampler thread did not survive the fork; the child is a process of the trial too. */
    pf_store_relaxed(&live_state.pid, 0);
    pf_live_start();
}

void pf_live_start(void)
{
    int saved = errno;
    const char *dir = getenv(PF_LIVE_ENV);
    int pid = (int)getpid();
    if (!dir || !*dir || pf_load_relaxed(&live_state.pid) == pid)
        goto out;
    int n1 = snprintf(live_state.path, sizeof live_state.path, "%s/" PF_LIVE_PREFIX "%d", dir, pid);
    int n2 = snprintf(live_state.tmp, sizeof live_state.tmp, "%s/.live.%d.tmp", dir, pid);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof live_state.path || (size_t)n2 >= sizeof live_state.tmp) {
        pf_warn("%s is too long a path; live counters are off", PF_LIVE_ENV);
        goto out;
    }
    live_state.seq = 0;
    pf_store_relaxed(&live_state.pid, pid);
    if (!atfork_done) {
        atfork_done = 1;
        pthread_atfork(NULL, NULL, after_fork_child);
    }

    int rc = pf_thread_spawn(sampler, NULL, 256 * 1024, 1, "pferris-live");
    if (rc != 0)
        pf_warn("cannot start the live-counter thread (%s); the tuner will see no counters",
                strerror(rc));
out:
    errno = saved;
}

#if PF_PRELOAD
/* Runs after the preload's own constructor (priority 101), which sets the real pthread_create.
 * The preload's init may also call pf_live_start(): the second call does nothing. */
__attribute__((constructor)) static void live_init(void)
{
    pf_live_start();
}
#endif
