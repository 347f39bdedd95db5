/* session.c — configuration, the report at exit, fork and exec. */
#include "session/session.h"
#include "session/checkpoint.h"
#include "session/publish.h"
#include "session/signals.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/clock.h"
#include "runtime/cpu.h"
#include "runtime/heap.h"
#include "runtime/profile.h"
#include "runtime/pyframes.h"
#include "runtime/retire.h"
#include "report/report.h"
#include "runtime/sites.h"
#include "runtime/symbols.h"
#include "runtime/waits.h"
#include "runtime/thread.h"
#include "runtime/timeline.h"
#include "base/arena.h"
#include "base/env.h"
#include "base/ownheap.h"
#include "base/sigquiet.h"
#include "base/warn.h"

#define DEFAULT_OUTPUT "pferris.%e.%p.json"
#define DEFAULT_SAMPLE 524288
#define DEFAULT_CPU_HZ 100

pf_config_t pf_config PF_HIDDEN = {.heap = 1, .sample = DEFAULT_SAMPLE, .cpu_hz = DEFAULT_CPU_HZ};

static struct {
    int init;
    int report_at_exit;
    int written;
    int forked, exec_attempted;
    int pid;                     /* this process: a vfork child shares session_state but not the pid */
    const char *output;
    char cwd[PATH_MAX];
    char start_time[96];
    char **argv;
    int rank;                    /* -1: none found */
    const char *rank_source;
    int exit_how, exit_value;    /* PF_EXIT_*: how the process is ending, once known */
} session_state = {.rank = -1};

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
    if (!pre || !dladdr(&session_state, &info) || !info.dli_fname)
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
            session_state.rank = (int)v;
            session_state.rank_source = vars[i];
            return;
        }
    }
}

static void after_fork_child(void)
{
    pf_ownheap_after_fork();
    pf_heap_before_thread_reset();
    pf_thread_after_fork();
    pf_retire_after_fork();
    pf_profile_after_fork();
    pf_sites_after_fork();
    pf_symbols_after_fork();
    pf_cpu_after_fork();
    pf_waits_after_fork();
    pf_timeline_after_fork();
    pf_clock_restart();
    iso_time(session_state.start_time, sizeof session_state.start_time);
    session_state.written = 0;
    session_state.forked = 1;
    session_state.exec_attempted = 0;
    session_state.pid = (int)getpid();
}

/* exit's status, whether the program called exit or returned from main (which calls exit
 * inside libc, where no interposer sees it). Registered once main starts, after the loader's
 * own exit handler, this runs before the libraries' destructors, so the report knows it. */
static void record_exit(int status, void *arg)
{
    (void)arg;
    pf_session_set_exit(PF_EXIT_CODE, status);
}

void pf_session_main_starts(void)
{
    int saved = errno;
    on_exit(record_exit, NULL);
    errno = saved;
}

void pf_session_init(int preloaded)
{
    int expected = 0;
    if (!pf_cas_acq_rel(&session_state.init, &expected, 1))
        return;
    int saved = errno;
    pf_in_hook++;
    pf_clock_init();
    iso_time(session_state.start_time, sizeof session_state.start_time);
    pf_thread_note_main_stack(pf_thread());

    pf_config.heap = pf_env_bool("PFERRIS_HEAP", 1);
    pf_config.quiet = pf_env_bool("PFERRIS_QUIET", 0);
    pf_config.sample = pf_env_ll("PFERRIS_SAMPLE", DEFAULT_SAMPLE, 0, 1ll << 40,
                                 "a number of bytes");
    pf_config.workers = (int)pf_env_ll("PFERRIS_WORKERS", 0, 1, 1 << 20, "a worker count");
    pf_config.stack_depth = (int)pf_env_ll("PFERRIS_STACK_DEPTH", 32, 1, PF_MAX_DEPTH,
                                           "a number of frames");
    pf_config.cpu_hz = (int)pf_env_ll("PFERRIS_CPU_HZ", DEFAULT_CPU_HZ, 0, PF_CPU_MAX_HZ,
                                      "a rate in samples per CPU second");
    pf_heap_set_enabled(pf_config.heap);
    pf_retire_init();
    pf_pyframes_init(pf_env_bool("PFERRIS_PYTHON_FRAMES", 1)); /* before the samplers start */
    pf_sites_init(pf_config.heap ? pf_config.sample : 0, pf_config.stack_depth);

    session_state.output = getenv("PFERRIS_OUTPUT");
    if (session_state.output && !*session_state.output) {
        pf_warn("PFERRIS_OUTPUT='' is not a path; using %s", DEFAULT_OUTPUT);
        session_state.output = NULL;
    }
    session_state.report_at_exit = (preloaded && in_ld_preload()) || session_state.output;
    if (!session_state.output)
        session_state.output = DEFAULT_OUTPUT;
    if (!getcwd(session_state.cwd, sizeof session_state.cwd))
        session_state.cwd[0] = '\0';
    session_state.argv = read_argv();
    read_rank();
    session_state.pid = (int)getpid();
    pthread_atfork(NULL, NULL, after_fork_child);
    if (session_state.report_at_exit) {
        pf_timeline_start();
        pf_checkpoint_start();
        pf_signals_start();
    }
    /* Only where a report will be written: a program linked with -lpferris that writes none
     * gets no signals from pferris. */
    pf_cpu_init(session_state.report_at_exit ? pf_config.cpu_hz : 0, pf_config.stack_depth);
    pf_signals_guard_installed();
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
        .argv = (const char *const *)session_state.argv,
        .start_time = session_state.start_time[0] ? session_state.start_time : NULL,
        .workers_requested = pf_config.workers,
        .heap_enabled = pf_config.heap,
        .rank = session_state.rank,
        .rank_source = session_state.rank_source,
        .exit_how = pf_load_acquire(&session_state.exit_how),
        .exit_value = pf_load_relaxed(&session_state.exit_value),
    };
    return info;
}

void pf_session_set_exit(int how, int value)
{
    if (!pf_load_acquire(&session_state.init) || (int)getpid() != session_state.pid) /* a vfork child: its parent's */
        return;
    pf_store_relaxed(&session_state.exit_value, value);
    pf_store_release(&session_state.exit_how, how);
}

int pf_session_claim(void)
{
    if (!pf_load_acquire(&session_state.init) || !session_state.report_at_exit || (int)getpid() != session_state.pid)
        return 0;
    int expected = 0;
    if (!pf_cas_acq_rel(&session_state.written, &expected, 1))
        return 0;
    return !(session_state.forked && session_state.exec_attempted);
}

int pf_session_active(void)
{
    return pf_load_acquire(&session_state.init) && session_state.report_at_exit && (int)getpid() == session_state.pid &&
           !pf_load_acquire(&session_state.written);
}

int pf_session_report_path(char *out, size_t size)
{
    char path[PATH_MAX + 64];
    int rc = pf_session_expand(session_state.output, path, sizeof path);
    if (rc < 0)
        return rc;
    if (path[0] != '/' && strcmp(path, "-") != 0 && session_state.cwd[0])
        rc = snprintf(out, size, "%s/%s", session_state.cwd, path);
    else
        rc = snprintf(out, size, "%s", path);
    return rc < 0 || (size_t)rc >= size ? -ENAMETOOLONG : 0;
}

const char *const *pf_session_argv(void)
{
    return (const char *const *)session_state.argv;
}

const char *pf_session_start_time(void)
{
    return session_state.start_time;
}

/* ---- writing the report -----------------------------------------------------------------
 *
 * A report is never seen half written: it goes to a temporary name in the target's directory
 * and is renamed into place only when complete. The final name is taken exclusively and
 * without following a symlink (rename with RENAME_NOREPLACE, else link): if it exists, the
 * report becomes "name.N.json" (or "path.N"), N = 1..999. An existing character device or FIFO
 * (/dev/null, /dev/stderr, a pipe) is written as it is. Writing may never raise a signal in the
 * program: SIGPIPE and SIGXFSZ are held while pferris writes, and the file size limit is
 * checked before each write, so that the failure is EFBIG, not the default action's kill. */

/* The name "stem.N.ext" for try N (0: the path itself). */
static void candidate(const char *path, int n, char *used, size_t size)
{
    size_t len = strlen(path);
    int has_ext = len > 5 && strcmp(path + len - 5, ".json") == 0;
    if (n == 0)
        snprintf(used, size, "%s", path);
    else if (has_ext)
        snprintf(used, size, "%.*s.%d.json", (int)(len - 5), path, n);
    else
        snprintf(used, size, "%s.%d", path, n);
}

/* The temporary file beside path: ".name.pferris-PID-N.tmp" in path's directory. */
static int open_temp(const char *path, char *tmp, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    int fd = -1;
    for (int i = 0; fd < 0 && i < 100; i++) {
        snprintf(tmp, size, "%.*s.%s.pferris-%d-%d.tmp", dirlen, path, path + dirlen,
                 (int)getpid(), i);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return -errno;
    }
    return fd < 0 ? -EEXIST : fd;
}

/* Gives the finished temporary file its name, never replacing an existing one. */
static int publish(const char *tmp, const char *path, char *used, size_t size)
{
    for (int i = 0; i < 1000; i++) {
        candidate(path, i, used, size);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, used, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno == EEXIST)
            continue;
        if (errno != EINVAL && errno != ENOSYS)
            return -errno;
        /* A file system without RENAME_NOREPLACE: link is exclusive too. */
        if (link(tmp, used) == 0) {
            unlink(tmp);
            return 0;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* The descriptor a name stands for: /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N;
 * -1 for any other name. Reopening such a name would start a regular file (a log the program's
 * stderr goes to) at offset 0 and overwrite it, or make "stderr.1" beside it. */
static int fd_alias(const char *path)
{
    static const char *const dirs[] = {"/dev/fd/", "/proc/self/fd/"};
    if (strcmp(path, "/dev/stdout") == 0)
        return 1;
    if (strcmp(path, "/dev/stderr") == 0)
        return 2;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        size_t n = strlen(dirs[i]);
        if (strncmp(path, dirs[i], n) == 0 && path[n] >= '0' && path[n] <= '9') {
            char *end;
            long fd = strtol(path + n, &end, 10);
            if (*end == '\0' && fd <= INT_MAX)
                return (int)fd;
        }
    }
    return -1;
}

int pf_session_open_stream(const char *path, int *fd)
{
    int alias = fd_alias(path);
    if (alias >= 0) {
        *fd = fcntl(alias, F_DUPFD_CLOEXEC, 3); /* the program's descriptor, shared offset */
        return *fd >= 0 ? 1 : -errno;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
        return 0;
    *fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (*fd < 0)
        return -errno;
    if (fstat(*fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        close(*fd);
        return -EEXIST; /* swapped for something else since the stat */
    }
    int fl = fcntl(*fd, F_GETFL);
    if (fl >= 0)
        fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK); /* the report is written whole */
    return 1;
}

/* jansson hands its output over a few bytes at a time: gather it into 64 KiB writes (a report
 * of 20,000 threads was 1.8 million write calls). err keeps the first write's errno. */
typedef struct {
    int fd, err;
    size_t n;
    unsigned long long off, limit; /* bytes written; the file size limit (regular files) */
    char buf[65536];
} sink_t;

static int sink_flush(sink_t *k)
{
    if (!k->err && k->off + k->n > k->limit)
        k->err = EFBIG; /* the write would raise SIGXFSZ */
    for (size_t pos = 0; pos < k->n && !k->err;) {
        ssize_t w = write(k->fd, k->buf + pos, k->n - pos);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            k->err = errno;
        else if (w == 0)
            k->err = EIO;
        else
            pos += (size_t)w;
    }
    k->off += k->n;
    k->n = 0;
    return k->err ? -1 : 0;
}

static int sink_put(const char *data, size_t len, void *arg)
{
    sink_t *k = arg;
    while (len && !k->err) {
        size_t room = sizeof k->buf - k->n, take = len < room ? len : room;
        memcpy(k->buf + k->n, data, take);
        k->n += take;
        data += take;
        len -= take;
        if (k->n == sizeof k->buf)
            sink_flush(k);
    }
    return k->err ? -1 : 0;
}

int pf_session_dump(json_t *r, int fd)
{
    sink_t *k = pf_arena_zalloc(sizeof *k);
    if (!k)
        return -ENOMEM;
    k->fd = fd;
    k->limit = ULLONG_MAX;
    struct stat st;
    struct rlimit rl;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
        rl.rlim_cur != RLIM_INFINITY) {
        /* The limit counts from the file's start: stderr may be a log already written to. */
        k->limit = (unsigned long long)rl.rlim_cur;
        int fl = fcntl(fd, F_GETFL);
        off_t at = fl >= 0 && (fl & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
        k->off = at > 0 ? (unsigned long long)at : 0;
    }
    int rc = json_dump_callback(r, sink_put, k, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
    if (rc == 0)
        rc = sink_put("\n", 1, k);
    sink_flush(k);
    rc = k->err ? -k->err : rc != 0 ? -ENOMEM : 0; /* jansson fails alone only for memory */
    pf_arena_free(k, sizeof *k);
    return rc;
}

/* The report to a regular file: written whole under a temporary name, then renamed. */
static int write_file(json_t *r, const char *path, char *used, size_t size)
{
    char tmp[PATH_MAX + 96];
    if (strlen(path) + 40 > sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open_temp(path, tmp, sizeof tmp);
    if (fd < 0)
        return fd;
    int rc = pf_session_dump(r, fd);
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0)
        rc = publish(tmp, path, used, size);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int pf_session_write(const char *path, char *used, size_t size)
{
    pf_in_hook++;
    int rc = 0, fd = -1;
    pf_sigquiet_t held;
    pf_sigquiet_hold(&held);
    pf_process_info_t info = pf_session_process_info();
    json_t *r = pf_report_build(pferris_default(), &info);
    if (!r) {
        rc = -ENOMEM;
    } else if (strcmp(path, "-") == 0) {
        snprintf(used, size, "stderr");
        rc = pf_session_dump(r, 2);
    } else if ((rc = pf_session_open_stream(path, &fd)) != 0) {
        if (rc > 0) {
            snprintf(used, size, "%s", path);
            rc = pf_session_dump(r, fd);
            close(fd);
        }
    } else {
        rc = write_file(r, path, used, size);
    }
    json_decref(r);
    pf_sigquiet_release(&held);
    pf_in_hook--;
    return rc;
}

void pf_session_exit(void)
{
    if (!pf_load_acquire(&session_state.init) || !session_state.report_at_exit)
        return;
    /* A vfork child runs in its parent's memory (no fork handler ran): its _exit must neither
     * write the parent's report under its own pid nor mark the parent's as written. */
    if ((int)getpid() != session_state.pid)
        return;
    int expected = 0;
    if (!pf_cas_acq_rel(&session_state.written, &expected, 1))
        return;
    pf_publish_remove();
    if (session_state.forked && session_state.exec_attempted)
        return;
    /* Called inside the allocator or pferris on this thread: a signal handler interrupted it
     * and calls _exit. Building the report would allocate there and may deadlock on the lock
     * the interrupted call holds, or corrupt its heap: no report, and a note without malloc. */
    if (pf_in_hook) {
        pf_warn("_exit called while this thread was inside the allocator or pferris (from a "
                "signal handler?); no report is written");
        return;
    }
    pf_cpu_stop();
    int saved = errno;
    char path[PATH_MAX + 64], full[2 * PATH_MAX + 64], used[2 * PATH_MAX + 80];
    int rc = pf_session_expand(session_state.output, path, sizeof path);
    if (rc == 0 && path[0] != '/' && strcmp(path, "-") != 0 && session_state.cwd[0])
        snprintf(full, sizeof full, "%s/%s", session_state.cwd, path);
    else
        snprintf(full, sizeof full, "%s", path);
    if (rc == 0 && !pf_checkpoint_final(&rc, used, sizeof used))
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
    if ((int)getpid() == session_state.pid) { /* not a vfork child writing into its parent's memory */
        session_state.exec_attempted = 1;
        pf_cpu_exec_begin();
    }
}

void pf_session_exec_failed(void)
{
    if ((int)getpid() == session_state.pid)
        pf_cpu_exec_failed();
}
