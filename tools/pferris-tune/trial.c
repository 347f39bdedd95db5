/* trial.c — one trial: PROGRAM launched with a worker count, waited for, stopped at its time
 * box or timeout, and its exit classified into a throughput or a reason it gave none.
 *
 * The program runs in its own process group, stdin from /dev/null, stdout to /dev/null (or ours
 * with --show-output), stderr to a file whose tail is shown when the trial fails. Under the
 * counter metric the trial is boxed: at --duration the tuner reads the processes' live
 * snapshots and only then stops the group with SIGTERM, then SIGKILL.
 *
 * A trial is contained: the tuner is the child subreaper of everything a trial starts, so a
 * process that leaves the trial's group (`setsid sleep 4 &`) is still the tuner's descendant,
 * and at the trial's end every descendant is killed and reaped. Nothing a trial started
 * outlives it, nor writes snapshots into a later trial.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tune.h"

#define GRACE_SEC  1.0 /* between SIGTERM and SIGKILL at the time box */
#define TAIL_LINES 6   /* lines of a failed trial's stderr shown */

/* The trial's program, once started. */
typedef struct {
    pid_t pid;
    int pidfd;           /* -1 without pidfd_open */
    int exec_failed;     /* execve failed: exec_err says why, and there is nothing to wait for */
    int exec_err;
    double t0;           /* launch time, monotonic seconds */
} launch_t;

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) {
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
    closedir(d);
}

/* The last lines of the trial's stderr, as one string. */
static char *stderr_tail(const pf_tune_t *t)
{
    int fd = open(t->errpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        off_t from = st.st_size > 4096 ? st.st_size - 4096 : 0;
        size_t len = (size_t)(st.st_size - from);
        buf = pf_tune_xcalloc(len + 1, 1);
        ssize_t n = pread(fd, buf, len, from);
        buf[n > 0 ? n : 0] = '\0';
        /* Keep the last TAIL_LINES lines. */
        size_t l = strlen(buf);
        while (l > 0 && buf[l - 1] == '\n')
            buf[--l] = '\0';
        int lines = 0;
        char *start = buf;
        for (char *p = buf + l; p > buf; p--)
            if (p[-1] == '\n' && ++lines == TAIL_LINES) {
                start = p;
                break;
            }
        memmove(buf, start, strlen(start) + 1);
    }
    close(fd);
    return buf;
}

static void copy_stderr_out(const pf_tune_t *t)
{
    int fd = open(t->errpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[8192];
    ssize_t n;
    pf_tune_progress_clear(t);
    fflush(stderr);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(2, buf, (size_t)n) < 0)
            break;
    close(fd);
}

/* How long a wall trial may run: --timeout, else 600 s until one trial succeeded, then 10 x the
 * slowest successful trial, at least 30 s. */
static double trial_timeout(const pf_tune_t *t)
{
    if (t->opt.timeout > 0)
        return t->opt.timeout;
    double slowest = 0;
    int ok = 0;
    for (int i = 0; i < t->ncounts; i++)
        for (int j = 0; j < t->counts[i].n; j++) {
            const double *samples = t->counts[i].samples;
            ok = 1;
            /* samples are runs/s: the slowest run is the smallest throughput */
            if (samples[j] > 0 && 1.0 / samples[j] > slowest)
                slowest = 1.0 / samples[j];
        }
    return ok ? fmax(30.0, 10.0 * slowest) : 600.0;
}

#ifdef SYS_pidfd_open
static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
#else
static int pidfd_open_(pid_t pid)
{
    (void)pid;
    errno = ENOSYS;
    return -1;
}
#endif

/* Waits until the child exits or `until` (monotonic seconds) passes, drawing the progress line
 * with the fraction of span since t0 (span 0: none). 1 exited, 0 time or a signal to stop. */
static int wait_exit(const pf_tune_t *t, const launch_t *l, double until, int workers,
                     double t0, double span)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == l->pid)
            return 1;
        double now = pf_tune_now();
        if (now >= until || pf_tune_interrupted)
            return 0;
        double step = until - now;
        if (t->progress_on) {
            pf_tune_progress(t, workers, span > 0 ? (now - t0) / span : 0);
            if (step > 0.1)
                step = 0.1;
        }
        if (l->pidfd >= 0) {
            struct pollfd p = {l->pidfd, POLLIN, 0};
            int ms = (int)ceil(step * 1000);
            poll(&p, 1, ms > 0 ? ms : 1);
        } else {
            /* No pidfd (old kernel): sleep briefly; a run's end is seen within 1 ms. */
            struct timespec d = {0, 1000000L};
            nanosleep(&d, NULL);
        }
    }
}

/* In the child, between fork and execve: only async-signal-safe calls. Its own group, so the
 * whole tree can be stopped at once; default dispositions for what we caught. On failure the
 * errno of execve goes up the pipe. */
static void exec_child(const pf_tune_t *t, int nullfd, int errfd, int report_fd, char **argv,
                       char **env) __attribute__((noreturn));
static void exec_child(const pf_tune_t *t, int nullfd, int errfd, int report_fd, char **argv,
                       char **env)
{
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    dup2(nullfd, 0);
    if (!t->opt.show_output)
        dup2(nullfd, 1);
    dup2(errfd, 2);
    execve(t->opt.prog_path, argv, env);
    int e = errno;
    if (write(report_fd, &e, sizeof e) < 0)
        _exit(127);
    _exit(127);
}

/* Starts PROGRAM with `workers`; exits (3) when the trial cannot be set up. */
static void launch(pf_tune_t *t, int workers, launch_t *l)
{
    char **env = pf_options_env(&t->opt, t->trialdir, workers);
    char **argv = pf_options_argv(&t->opt, workers);
    int errfd = open(t->errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int pipefd[2];
    if (errfd < 0 || nullfd < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        pf_tune_warn("cannot set up a trial in %s (%s)", t->tmpdir, strerror(errno));
        exit(PF_TUNE_EXIT_FAILED);
    }
    fflush(stdout);
    fflush(stderr);
    l->t0 = pf_tune_now();
    l->pid = fork();
    if (l->pid < 0) {
        pf_tune_warn("cannot start a trial: fork failed (%s)", strerror(errno));
        exit(PF_TUNE_EXIT_FAILED);
    }
    if (l->pid == 0)
        exec_child(t, nullfd, errfd, pipefd[1], argv, env);
    setpgid(l->pid, l->pid); /* also here: whichever runs first, the group exists before a kill */
    t->running_pgid = l->pid;
    close(pipefd[1]);
    close(errfd);
    close(nullfd);
    /* The pipe closes at a successful execve (O_CLOEXEC), or brings its errno. */
    l->exec_err = 0;
    ssize_t got;
    while ((got = read(pipefd[0], &l->exec_err, sizeof l->exec_err)) < 0 && errno == EINTR) {
    }
    close(pipefd[0]);
    l->exec_failed = got > 0;
    l->pidfd = pidfd_open_(l->pid);
    free_strv(env);
    free_strv(argv);
}

/* Stops the group of a trial still running at its limit; a boxed trial's measurement is read
 * into box first, before anything is stopped. */
static void stop_group(const pf_tune_t *t, const launch_t *l, int workers, int boxed,
                       pf_observe_tree_t *box)
{
    if (boxed && !pf_tune_interrupted)
        pf_observe_tree(box, t->trialdir, t->opt.counter);
    kill(-l->pid, SIGTERM);
    if (!wait_exit(t, l, pf_tune_now() + GRACE_SEC, workers, 0, 0))
        kill(-l->pid, SIGKILL);
}

/* Reaps the child, first killing what it left running in its group; its wait status. */
static int reap(pf_tune_t *t, const launch_t *l)
{
    /* The child is a zombie now (waited with WNOWAIT): its pid, and so the group id, cannot be
     * reused until it is reaped, so killing the group cannot hit another process. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    kill(-l->pid, SIGKILL); /* what the program left running in its group */
    int status = 0;
    while (waitpid(l->pid, &status, 0) < 0 && errno == EINTR) {
    }
    pf_trial_kill_descendants(); /* what left the group (setsid), and their children */
    t->running_pgid = 0;
    if (l->pidfd >= 0)
        close(l->pidfd);
    return status;
}

int pf_trial_contain(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

/* The parent of pid from /proc/PID/stat (the field after the command, which may hold any
 * character, so it is found after the last ')'). -1 when pid is gone. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    int ppid;
    if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
        return -1;
    return (pid_t)ppid;
}

/* Sends SIGKILL to every descendant of the tuner: 1 when there was one. A process is a
 * descendant when its parent is the tuner or a descendant; the scan repeats until it finds no
 * new one, so the order of /proc does not matter. */
static int kill_descendants_once(void)
{
    pid_t self = getpid();
    size_t n = 0, cap = 64;
    pid_t *tree = pf_tune_xcalloc(cap, sizeof *tree);
    tree[n++] = self;
    for (int grew = 1; grew;) {
        grew = 0;
        DIR *d = opendir("/proc");
        if (!d)
            break;
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid <= 0 || pid == self)
                continue;
            int known = 0;
            for (size_t i = 0; i < n && !known; i++)
                known = tree[i] == (pid_t)pid;
            if (known)
                continue;
            pid_t ppid = parent_of((pid_t)pid);
            for (size_t i = 0; i < n; i++)
                if (tree[i] == ppid) {
                    if (n == cap) {
                        cap *= 2;
                        pid_t *grown = realloc(tree, cap * sizeof *tree);
                        if (!grown)
                            break;
                        tree = grown;
                    }
                    tree[n++] = (pid_t)pid;
                    grew = 1;
                    break;
                }
        }
        closedir(d);
    }
    for (size_t i = 1; i < n; i++)
        kill(tree[i], SIGKILL);
    free(tree);
    return n > 1;
}

void pf_trial_kill_descendants(void)
{
    /* A killed process's children come to the tuner (the subreaper) and are reaped here; a
     * descendant may fork while the scan runs, so repeat until a scan finds none. */
    for (int round = 0; round < 1000; round++) {
        int found = kill_descendants_once();
        int status;
        while (waitpid(-1, &status, WNOHANG) > 0) {
        }
        if (!found)
            break;
        struct timespec d = {0, 1000000L};
        nanosleep(&d, NULL);
    }
}

static void describe_status(int status, pf_trial_t *r)
{
    if (WIFEXITED(status)) {
        r->code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->code = 128 + WTERMSIG(status);
    }
    r->has_code = 1;
}

/* Counter metric: at the box from the snapshots (m is the box's reading), or at its own end
 * from the reports. */
static void measure_counter(const pf_tune_t *t, const pf_observe_tree_t *m, int stopped,
                            double t0, pf_trial_t *r)
{
    if (!m->seen) {
        if (m->reports == 0 && m->snapshots == 0)
            snprintf(r->why, sizeof r->why, "left no report and no live counters: the preload "
                     "did not load, or the program was stopped before it started");
        else
            snprintf(r->why, sizeof r->why, "never reported counter '%s' (PFERRIS_COUNT(\"%s\", "
                     "n)); counters it reported: %s", t->opt.counter, t->opt.counter,
                     m->others[0] ? m->others : "none");
        return;
    }
    double elapsed = stopped && m->live_mono > 0 ? m->live_mono - t0 : r->seconds;
    if (!(elapsed > 0))
        elapsed = r->seconds;
    r->ok = 1;
    r->value = (double)m->count / elapsed;
}

/* The trial's outcome from how it ended: a throughput, or why there is none. */
static void classify(const pf_tune_t *t, const launch_t *l, int status, int stopped,
                     double limit, const pf_observe_tree_t *box, const pf_observe_tree_t *end,
                     pf_trial_t *r)
{
    int boxed = t->opt.metric == PF_TUNE_METRIC_COUNTER;
    if (pf_tune_interrupted) {
        snprintf(r->why, sizeof r->why, "interrupted");
        return;
    }
    if (l->exec_failed) {
        snprintf(r->why, sizeof r->why, "could not be started: %s", strerror(l->exec_err));
        r->code = 127;
        r->has_code = 1;
        return;
    }
    if (!stopped)
        describe_status(status, r);
    if (stopped && !boxed) {
        snprintf(r->why, sizeof r->why, "timed out after %.3g s (raise --timeout if it needs "
                 "longer)", limit);
        r->tail = stderr_tail(t);
        return;
    }
    if (r->has_code && r->code != 0) {
        if (r->code > 128 && WIFSIGNALED(status))
            snprintf(r->why, sizeof r->why, "was killed by signal %d (%s)", r->code - 128,
                     strsignal(r->code - 128));
        else
            snprintf(r->why, sizeof r->why, "exited with code %d", r->code);
        r->tail = stderr_tail(t);
        return;
    }
    if (!boxed) {
        r->ok = 1;
        r->value = 1.0 / r->seconds;
        return;
    }
    measure_counter(t, stopped ? box : end, stopped, l->t0, r);
}

void pf_trial_run(pf_tune_t *t, int workers, pf_trial_t *r)
{
    memset(r, 0, sizeof *r);
    r->threads = -1;
    clear_dir(t->trialdir);
    launch_t l;
    launch(t, workers, &l);

    int boxed = t->opt.metric == PF_TUNE_METRIC_COUNTER;
    double limit = boxed ? t->opt.duration : trial_timeout(t);
    int exited = l.exec_failed ? 1 : wait_exit(t, &l, l.t0 + limit, workers, l.t0, limit);
    double t_end = pf_tune_now();
    pf_observe_tree_t box;
    memset(&box, 0, sizeof box);
    int stopped = !exited;
    if (stopped)
        stop_group(t, &l, workers, boxed, &box);
    int status = reap(t, &l);
    r->seconds = t_end - l.t0;

    pf_observe_tree_t end;
    pf_observe_tree(&end, t->trialdir, t->opt.counter);
    r->reports = end.reports;
    if (end.reports || end.snapshots || box.snapshots)
        t->any_report = 1; /* the preload loaded */
    r->wait_s = end.wait_s;
    r->life_s = end.life_s;
    r->lock_wait_s = end.lock_wait_s;
    memcpy(r->lock_where, end.lock_where, sizeof r->lock_where);
    if (end.have_threads)
        r->threads = end.threads;
    else if (box.have_threads)
        r->threads = box.threads;

    if (t->opt.show_output)
        copy_stderr_out(t);
    classify(t, &l, status, stopped, limit, &box, &end, r);
}
