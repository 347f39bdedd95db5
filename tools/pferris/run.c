/* run.c — `pferris run [-o PATTERN] [-q] [--] PROGRAM [ARGS...]`: runs the program with the
 * preload, passes its exit code through, and prints on stderr the summary of every report the
 * run wrote (its children's too). */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/locate.h"
#include "common/reader.h"
#include "cmd.h"

typedef struct {
    char *path;
    long long pid, ppid;
    int mine;
} found_t;

/* The directory of a report path pattern, and the file name patterns (fnmatch) its reports
 * may have: each %x a wildcard, and with the ".N" the report writer adds before ".json" when
 * the name is taken. */
static void pattern_globs(const char *pattern, char *dir, size_t dirsize, char *glob,
                          size_t globsize, char *glob2, size_t glob2size)
{
    const char *slash = strrchr(pattern, '/');
    if (slash == pattern)
        snprintf(dir, dirsize, "/");
    else if (slash)
        snprintf(dir, dirsize, "%.*s", (int)(slash - pattern), pattern);
    else
        snprintf(dir, dirsize, ".");
    size_t g = 0;
    for (const char *p = slash ? slash + 1 : pattern; *p && g < globsize - 2; p++) {
        if (*p == '%' && p[1]) {
            p++;
            glob[g++] = *p == '%' ? '%' : '*';
        } else if (*p == '*' || *p == '?' || *p == '[' || *p == '\\') {
            glob[g++] = '\\';
            glob[g++] = *p;
        } else {
            glob[g++] = *p;
        }
    }
    glob[g] = '\0';
    size_t gl = strlen(glob);
    if (gl > 5 && !strcmp(glob + gl - 5, ".json"))
        snprintf(glob2, glob2size, "%.*s.*.json", (int)(gl - 5), glob);
    else
        snprintf(glob2, glob2size, "%s.*", glob);
}

/* The reports in dir that match glob or glob2 and were written since the run began, with the
 * pid and parent pid each names. *out holds them, to be freed; their number, or 0. */
static int scan_reports(const char *dir, const char *glob, const char *glob2,
                        const struct timespec *since, found_t **out)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    found_t *f = NULL;
    while ((e = readdir(d))) {
        if (fnmatch(glob, e->d_name, 0) != 0 && fnmatch(glob2, e->d_name, 0) != 0)
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (st.st_mtim.tv_sec < since->tv_sec ||
            (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec < since->tv_nsec))
            continue;
        char err[512];
        json_t *r = pf_reader_load(path, err, sizeof err);
        if (!r)
            continue;
        found_t *nf = realloc(f, (size_t)(n + 1) * sizeof *f);
        if (!nf) {
            json_decref(r);
            break;
        }
        f = nf;
        f[n] = (found_t){strdup(strcmp(dir, ".") ? path : e->d_name),
                         pf_json_to_ll(pf_json_num(r, PF_KEY_PID)),
                         pf_json_to_ll(pf_json_num(r, PF_KEY_PPID)), 0};
        json_decref(r);
        n++;
    }
    closedir(d);
    *out = f;
    return n;
}

/* Keeps the reports of the run's process tree: the program (its pid root), or a process whose
 * parent is in the tree. Orphans are re-parented to us (we are a child subreaper), so their
 * parent is this pid. The count kept. */
static int keep_tree(found_t *f, int n, pid_t root)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            if (f[i].mine)
                continue;
            int mine = f[i].pid == root || f[i].ppid == root || f[i].ppid == (long long)getpid();
            for (int j = 0; j < n && !mine; j++)
                mine = f[j].mine && f[j].pid == f[i].ppid;
            if (mine)
                f[i].mine = changed = 1;
        }
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (f[i].mine)
            f[k++] = f[i];
        else
            free(f[i].path);
    }
    return k;
}

/* The reports of this run: files that match the pattern, written since the run began, by a
 * process of the run's tree. Reports of other runs in the same directory are left out. */
static int collect(const char *pattern, const struct timespec *since, pid_t root, found_t **out)
{
    char dir[PATH_MAX], glob[PATH_MAX], glob2[PATH_MAX + 8];
    pattern_globs(pattern, dir, sizeof dir, glob, sizeof glob, glob2, sizeof glob2);
    found_t *f = NULL;
    int n = scan_reports(dir, glob, glob2, since, &f);
    *out = f;
    return n ? keep_tree(f, n, root) : 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const found_t *)a)->path, ((const found_t *)b)->path);
}

/* The options before the program: the index of its name in argv, -1 to exit 0 (help), or -2
 * for a usage error (said). */
static int parse_options(int argc, char **argv, const char **output, int *quiet, int *live)
{
    int i = 0;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return i + 1;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return -1;
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc || !*argv[i + 1]) {
                pf_text_say(stderr, "run: -o needs a report path pattern");
                return -2;
            }
            *output = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "-q")) {
            *quiet = 1;
            continue;
        }
        if (!strcmp(argv[i], "--live")) {
            *live = 1;
            continue;
        }
        if (argv[i][0] == '-') {
            pf_text_say(stderr, "run: unknown option '%s'", argv[i]);
            return -2;
        }
        break;
    }
    return i;
}

typedef struct {
    pid_t pid;
    int *status;
    int done;
} child_t;

/* For the live view: 0 once the child has ended (reaped, its status kept). */
static int child_alive(void *arg)
{
    child_t *c = arg;
    pid_t r;
    while ((r = waitpid(c->pid, c->status, WNOHANG)) < 0 && errno == EINTR)
        ;
    c->done = r == c->pid;
    return !c->done;
}

/* Runs argv under the preload and waits for it; its wait status in *status, or -1. The run's
 * start (a second early: file times may be a tick coarser than the clock) goes to *start. With
 * live and a terminal on stderr, the child's live view (pferris top PID) is shown meanwhile. */
static pid_t run_program(char **argv, const char *lib, const char *output,
                         struct timespec *start, int *status, int live)
{
    char preload[2 * PATH_MAX + 64];
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    /* Orphaned descendants come to us, so that their reports can be told ours (see collect). */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    clock_gettime(CLOCK_REALTIME, start);
    start->tv_sec -= 1;
    pid_t pid = fork();
    if (pid < 0) {
        pf_text_say(stderr, "run: cannot fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setenv("LD_PRELOAD", preload, 1);
        setenv("PFERRIS_OUTPUT", output, 1);
        setenv("PFERRIS_QUIET", "1", 1);
        execvp(argv[0], argv);
        pf_text_say(stderr, "run: cannot run '%s': %s", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    /* The program gets the terminal's ^C and ^\; we wait for it and still summarise. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    *status = 0;
    child_t c = {pid, status, 0};
    if (live && isatty(2))
        pf_top_loop(stderr, (int)pid, 0, 0, child_alive, &c);
    while (!c.done && waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    /* Orphans that already ended were re-parented to us: reap them (their reports are
     * written); ones still running are not waited for. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return pid;
}

/* The summary (or with quiet, the path) of each report of the run, on stderr. */
static void print_reports(const char *output, const struct timespec *start, pid_t pid, int code,
                          int status, int quiet)
{
    found_t *f = NULL;
    int n = collect(output, start, pid, &f);
    if (n > 1)
        qsort(f, (size_t)n, sizeof *f, by_path);
    if (!n)
        pf_text_say(stderr, "run: the program wrote no report matching '%s' (exit code %d%s)",
                    output, code, WIFSIGNALED(status) ? ", killed by a signal" : "");
    for (int k = 0; k < n; k++) {
        if (quiet) {
            fprintf(stderr, "pferris: report %s\n", f[k].path);
        } else {
            json_t *r = pf_json_load(f[k].path, stderr);
            if (r)
                pf_summary_print(stderr, f[k].path, r, 5);
            json_decref(r);
        }
        free(f[k].path);
    }
    if (n > 1 && !quiet)
        fprintf(stderr, "pferris: %d reports; combine them with: pferris report --merge FILES "
                        "> all.json\n",
                n);
    free(f);
}

int pf_run_command(int argc, char **argv)
{
    const char *output = "pferris.%e.%p.json";
    int quiet = 0, live = 0;
    int i = parse_options(argc, argv, &output, &quiet, &live);
    if (i == -1) {
        pf_usage_print(stdout);
        return 0;
    }
    if (i >= 0 && i >= argc) {
        pf_text_say(stderr, "run: name the program to run");
        i = -2;
    }
    if (i == -2) {
        pf_usage_print(stderr);
        return 2;
    }
    char lib[PATH_MAX + 32];
    if (pf_locate_preload(lib, sizeof lib) != 0) {
        pf_text_say(stderr, "run: libpferris.so is neither beside this binary nor in ../lib; "
                            "reinstall pferris");
        return 2;
    }
    struct timespec start;
    int status;
    pid_t pid = run_program(argv + i, lib, output, &start, &status, live);
    if (pid < 0)
        return 2;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (strcmp(output, "-") != 0)
        print_reports(output, &start, pid, code, status, quiet);
    return code;
}
