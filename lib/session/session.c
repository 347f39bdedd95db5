/* session.c — configuration, the report at exit, fork and exec. */
#include "session/session.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/clock.h"
#include "runtime/heap.h"
#include "runtime/profile.h"
#include "report/report.h"
#include "runtime/sites.h"
#include "runtime/waits.h"
#include "runtime/thread.h"
#include "runtime/timeline.h"
#include "base/arena.h"
#include "base/env.h"
#include "base/warn.h"

#define DEFAULT_OUTPUT "pferris.%e.%p.json"
#define DEFAULT_SAMPLE 524288

pf_config_t pf_config PF_HIDDEN = {.heap = 1, .sample = DEFAULT_SAMPLE};

static struct {
    int init;
    int report_at_exit;
    int written;
    int forked, exec_attempted;
    int pid;                     /* this process: a vfork child shares S but not the pid */
    const char *output;
    char cwd[PATH_MAX];
    char start_time[96];
    char **argv;
    int rank;                    /* -1: none found */
    const char *rank_source;
} S = {.rank = -1};

/* ISO 8601 UTC without gmtime (which may load time zone files and allocate at init). */
static void iso_time(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
    /* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
    long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03ldZ", y, m, d, secs / 3600,
             secs / 60 % 60, secs % 60, (long)(ts.tv_nsec / 1000000) % 1000);
}

/* The command line, from /proc/self/cmdline (argv may be rewritten later by the program). */
static char **read_argv(void)
{
    size_t cap = 1 << 16;
    char *buf = pf_arena_zalloc(cap + 1);
    if (!buf)
        return NULL;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    if (fd >= 0) {
        ssize_t n;
        while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
            len += (size_t)n;
        close(fd);
    }
    size_t argc = 0;
    for (size_t i = 0; i < len; i++)
        argc += buf[i] == '\0';
    if (len && buf[len - 1] != '\0')
        argc++; /* truncated: the last word ends at the buffer's end */
    char **argv = pf_arena_zalloc((argc + 1) * sizeof *argv);
    if (!argv)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len && k < argc; k++) {
        argv[k] = buf + i;
        i += strlen(buf + i) + 1;
    }
    return argv;
}

static int in_ld_preload(void)
{
    const char *pre = getenv("LD_PRELOAD");
    Dl_info info;
    if (!pre || !dladdr(&S, &info) || !info.dli_fname)
        return 0;
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    return strstr(pre, base) != NULL;
}

/* The MPI or Slurm rank of this process, from the first of the launchers' variables set. A
 * value that is not a rank is ignored: the variable belongs to the launcher, not to us. */
static void read_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *s = getenv(vars[i]);
        if (!s || !*s)
            continue;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (*end == '\0' && errno == 0 && v >= 0 && v <= 1 << 30) {
            S.rank = (int)v;
            S.rank_source = vars[i];
            return;
        }
    }
}

static void after_fork_child(void)
{
    pf_heap_before_thread_reset();
    pf_thread_after_fork();
    pf_profile_after_fork();
    pf_sites_after_fork();
    pf_waits_after_fork();
    pf_timeline_after_fork();
    pf_clock_restart();
    iso_time(S.start_time, sizeof S.start_time);
    S.written = 0;
    S.forked = 1;
    S.exec_attempted = 0;
    S.pid = (int)getpid();
}

void pf_session_init(int preloaded)
{
    int expected = 0;
    if (!pf_cas_acq_rel(&S.init, &expected, 1))
        return;
    int saved = errno;
    pf_in_hook++;
    pf_clock_init();
    iso_time(S.start_time, sizeof S.start_time);
    pf_thread();

    pf_config.heap = pf_env_bool("PFERRIS_HEAP", 1);
    pf_config.quiet = pf_env_bool("PFERRIS_QUIET", 0);
    pf_config.sample = pf_env_ll("PFERRIS_SAMPLE", DEFAULT_SAMPLE, 0, 1ll << 40,
                                 "a number of bytes");
    pf_config.workers = (int)pf_env_ll("PFERRIS_WORKERS", 0, 1, 1 << 20, "a worker count");
    pf_config.stack_depth = (int)pf_env_ll("PFERRIS_STACK_DEPTH", 32, 1, PF_MAX_DEPTH,
                                           "a number of frames");
    pf_heap_set_enabled(pf_config.heap);
    pf_sites_init(pf_config.heap ? pf_config.sample : 0, pf_config.stack_depth);

    S.output = getenv("PFERRIS_OUTPUT");
    if (S.output && !*S.output) {
        pf_warn("PFERRIS_OUTPUT='' is not a path; using %s", DEFAULT_OUTPUT);
        S.output = NULL;
    }
    S.report_at_exit = (preloaded && in_ld_preload()) || S.output;
    if (!S.output)
        S.output = DEFAULT_OUTPUT;
    if (!getcwd(S.cwd, sizeof S.cwd))
        S.cwd[0] = '\0';
    S.argv = read_argv();
    read_rank();
    S.pid = (int)getpid();
    pthread_atfork(NULL, NULL, after_fork_child);
    if (S.report_at_exit)
        pf_timeline_start();
    pf_in_hook--;
    errno = saved;
}

int pf_session_expand(const char *pattern, char *out, size_t size)
{
    size_t n = 0;
    char tmp[256];
    for (const char *p = pattern; *p; p++) {
        const char *add = tmp;
        tmp[0] = *p;
        tmp[1] = '\0';
        if (*p == '%' && p[1]) {
            switch (*++p) {
            case 'p': snprintf(tmp, sizeof tmp, "%d", (int)getpid()); break;
            case 'e': add = program_invocation_short_name; break;
            case 'h': gethostname(tmp, sizeof tmp - 1); tmp[sizeof tmp - 1] = '\0'; break;
            case '%': break;
            default: tmp[0] = '%'; tmp[1] = *p; tmp[2] = '\0';
            }
        }
        size_t len = strlen(add);
        if (n + len + 1 > size)
            return -ENAMETOOLONG;
        memcpy(out + n, add, len);
        n += len;
    }
    out[n] = '\0';
    return 0;
}

pf_process_info_t pf_session_process_info(void)
{
    pf_process_info_t info = {
        .argv = (const char *const *)S.argv,
        .start_time = S.start_time[0] ? S.start_time : NULL,
        .workers_requested = pf_config.workers,
        .heap_enabled = pf_config.heap,
        .rank = S.rank,
        .rank_source = S.rank_source,
    };
    return info;
}

/* Opens path exclusively; on EEXIST tries "name.N.json" (or "path.N"), N = 1..999. */
static int open_exclusive(const char *path, char *used, size_t size)
{
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    snprintf(used, size, "%s", path);
    int fd = open(used, flags, 0644);
    size_t len = strlen(path);
    int has_ext = len > 5 && strcmp(path + len - 5, ".json") == 0;
    for (int i = 1; fd < 0 && errno == EEXIST && i < 1000; i++) {
        if (has_ext)
            snprintf(used, size, "%.*s.%d.json", (int)(len - 5), path, i);
        else
            snprintf(used, size, "%s.%d", path, i);
        fd = open(used, flags, 0644);
    }
    return fd;
}

/* jansson hands its output over a few bytes at a time: gather it into 64 KiB writes (a report
 * of 20,000 threads was 1.8 million write calls). */
typedef struct {
    int fd, failed;
    size_t n;
    char buf[65536];
} sink_t;

static int sink_flush(sink_t *k)
{
    for (size_t off = 0; off < k->n && !k->failed;) {
        ssize_t w = write(k->fd, k->buf + off, k->n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            k->failed = 1;
        else
            off += (size_t)w;
    }
    k->n = 0;
    return k->failed ? -1 : 0;
}

static int sink_put(const char *data, size_t len, void *arg)
{
    sink_t *k = arg;
    while (len && !k->failed) {
        size_t room = sizeof k->buf - k->n, take = len < room ? len : room;
        memcpy(k->buf + k->n, data, take);
        k->n += take;
        data += take;
        len -= take;
        if (k->n == sizeof k->buf)
            sink_flush(k);
    }
    return k->failed ? -1 : 0;
}

static int dump(json_t *r, int fd)
{
    sink_t *k = pf_arena_zalloc(sizeof *k);
    if (!k)
        return -ENOMEM;
    k->fd = fd;
    int rc = json_dump_callback(r, sink_put, k, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
    if (rc == 0)
        rc = sink_put("\n", 1, k);
    if (sink_flush(k) != 0 || rc != 0)
        rc = -EIO;
    pf_arena_free(k, sizeof *k);
    return rc;
}

int pf_session_write(const char *path, char *used, size_t size)
{
    pf_in_hook++;
    int rc = 0;
    pf_process_info_t info = pf_session_process_info();
    json_t *r = pf_report_build(pferris_default(), &info);
    if (!r) {
        rc = -ENOMEM;
    } else if (strcmp(path, "-") == 0) {
        snprintf(used, size, "stderr");
        rc = dump(r, 2);
    } else {
        int fd = open_exclusive(path, used, size);
        if (fd < 0) {
            rc = -errno;
        } else {
            rc = dump(r, fd);
            if (close(fd) != 0 && rc == 0)
                rc = -errno;
        }
    }
    json_decref(r);
    pf_in_hook--;
    return rc;
}

void pf_session_exit(void)
{
    if (!pf_load_acquire(&S.init) || !S.report_at_exit)
        return;
    /* A vfork child runs in its parent's memory (no fork handler ran): its _exit must neither
     * write the parent's report under its own pid nor mark the parent's as written. */
    if ((int)getpid() != S.pid)
        return;
    int expected = 0;
    if (!pf_cas_acq_rel(&S.written, &expected, 1))
        return;
    if (S.forked && S.exec_attempted)
        return;
    int saved = errno;
    char path[PATH_MAX + 64], full[2 * PATH_MAX + 64], used[2 * PATH_MAX + 80];
    int rc = pf_session_expand(S.output, path, sizeof path);
    if (rc == 0 && path[0] != '/' && strcmp(path, "-") != 0 && S.cwd[0])
        snprintf(full, sizeof full, "%s/%s", S.cwd, path);
    else
        snprintf(full, sizeof full, "%s", path);
    if (rc == 0)
        rc = pf_session_write(full, used, sizeof used);
    if (rc < 0)
        pf_warn("cannot write the report to '%s': %s; set PFERRIS_OUTPUT to a writable path",
                full, strerror(-rc));
    else if (!pf_config.quiet && strcmp(path, "-") != 0)
        pf_warn("report written to %s", used);
    errno = saved;
}

void pf_session_exec_attempt(void)
{
    if ((int)getpid() == S.pid) /* not a vfork child writing into its parent's memory */
        S.exec_attempted = 1;
}
