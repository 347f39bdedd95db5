/* top.c — `pferris top [--once] [--json] [PID]`: the profiled processes of this user while they
 * run, from the entries they publish (lib/session/publish.c) in the per-user private directory,
 * refreshed every second like top(1). Rates are over the last refresh, or since the start of the
 * process in the first frame. Entries of processes that are gone are removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd.h"
#include "session/publish.h"

#define TOP_MAX 256 /* processes shown */

typedef struct {
    int pid;
    json_t *e;
} proc_t;

/* The live entries, pid order; dead processes' entries unlinked. n of them. */
static int load(int dfd, proc_t *out, int max)
{
    int d2 = dup(dfd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (pid <= 0 || strcmp(end, ".json") != 0)
            continue;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            unlinkat(dfd, de->d_name, 0); /* killed without its exit path: SIGKILL */
            continue;
        }
        int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        json_error_t err;
        json_t *e = json_loadfd(fd, 0, &err);
        close(fd);
        if (!json_is_object(e)) {
            json_decref(e);
            continue;
        }
        out[n++] = (proc_t){(int)pid, e};
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j - 1].pid > out[j].pid; j--) {
            proc_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static json_t *find(proc_t *ps, int n, int pid)
{
    for (int i = 0; i < n; i++)
        if (ps[i].pid == pid)
            return ps[i].e;
    return NULL;
}

static char *command(json_t *e)
{
    static char buf[256];
    size_t k = 0, i;
    json_t *w;
    buf[0] = '\0';
    json_array_foreach(json_object_get(e, PF_KEY_COMMAND), i, w)
    {
        const char *s = json_string_value(w);
        int m = snprintf(buf + k, sizeof buf - k, "%s%s", i ? " " : "", s ? s : "");
        if (m < 0 || (size_t)m >= sizeof buf - k)
            break;
        k += (size_t)m;
    }
    return buf;
}

/* A rate per second of key (or of the member name of key) between prev and cur. */
static double rate(json_t *cur, json_t *prev, const char *key, const char *name)
{
    json_t *c = name ? json_object_get(cur, key) : cur, *p = name ? json_object_get(prev, key) : prev;
    const char *k = name ? name : key;
    double el = pf_json_num(cur, PF_KEY_ELAPSED), v = pf_json_num0(c, k);
    if (!prev)
        return el > 0 ? v / el : NAN;
    double dt = el - pf_json_num(prev, PF_KEY_ELAPSED);
    return dt > 0 ? (v - pf_json_num0(p, k)) / dt : NAN;
}

static double cpu_total(json_t *e)
{
    double s = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(e, PF_KEY_THREAD_CPU), i, t)
    {
        s += pf_json_num0(t, PF_KEY_CPU_TIME);
    }
    return s;
}

static void frame_json(FILE *out, proc_t *ps, int n)
{
    json_t *doc = json_object(), *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *e = ps[i].e, *o = json_object();
        json_object_set_new(o, PF_KEY_PID, json_integer(ps[i].pid));
        json_object_set_new(o, PF_KEY_COMMAND, json_string(command(e)));
        static const char *const keys[] = {PF_KEY_ELAPSED, PF_KEY_LIVE_BYTES, PF_KEY_PEAK_BYTES,
                                           PF_KEY_ALLOCATIONS, PF_KEY_THREADS};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            json_object_set(o, keys[k], json_object_get(e, keys[k]) ? json_object_get(e, keys[k])
                                                                     : json_null());
        json_t *c = json_object_get(e, PF_KEY_COUNTERS), *t = json_object_get(e, PF_KEY_TIMERS);
        json_object_set_new(o, PF_KEY_COUNTERS, json_is_object(c) ? json_deep_copy(c) : json_object());
        json_object_set_new(o, PF_KEY_TIMERS, json_is_object(t) ? json_deep_copy(t) : json_object());
        json_array_append_new(arr, o);
    }
    json_object_set_new(doc, PF_KEY_PROCESSES, arr);
    json_dumpf(doc, out, JSON_INDENT(1));
    fputc('\n', out);
    json_decref(doc);
}

static void frame_text(FILE *out, proc_t *ps, int n, proc_t *prev, int np)
{
    fprintf(out, "pferris top: %d profiled process%s\n\n", n, n == 1 ? "" : "es");
    fprintf(out, "%8s %10s %11s %11s %12s %8s %6s  %s\n", "PID", "ELAPSED", "LIVE", "PEAK",
            "ALLOCS/S", "THREADS", "CPU%", "COMMAND");
    for (int i = 0; i < n; i++) {
        json_t *e = ps[i].e, *p = find(prev, np, ps[i].pid);
        double cpu = p ? (cpu_total(e) - cpu_total(p)) /
                             (pf_json_num(e, PF_KEY_ELAPSED) - pf_json_num(p, PF_KEY_ELAPSED))
                       : cpu_total(e) / pf_json_num(e, PF_KEY_ELAPSED);
        char *cmd = pf_text_cell(command(e));
        fprintf(out, "%8d %10s %11s %11s %12s %8s %5.0f%%  %s\n", ps[i].pid,
                pf_text_sec(pf_json_num(e, PF_KEY_ELAPSED)),
                pf_text_bytes(pf_json_num(e, PF_KEY_LIVE_BYTES)),
                pf_text_bytes(pf_json_num(e, PF_KEY_PEAK_BYTES)),
                pf_text_count(round(rate(e, p, PF_KEY_ALLOCATIONS, NULL))),
                pf_text_count(pf_json_num(e, PF_KEY_THREADS)), isfinite(cpu) ? cpu * 100 : 0.0,
                cmd ? cmd : "");
        free(cmd);
        json_t *v;
        const char *name;
        int shown = 0;
        json_object_foreach(json_object_get(e, PF_KEY_COUNTERS), name, v)
        {
            if (shown++ == 4)
                break;
            fprintf(out, "%8s %s %s/s", shown == 1 ? "" : ";", name,
                    pf_text_count(round(rate(e, p, PF_KEY_COUNTERS, name))));
        }
        if (shown)
            fputc('\n', out);
    }
}

/* One process in detail: threads with CPU %, timers with their share, counters, the heap. */
static void frame_pid(FILE *out, json_t *e, json_t *p, int pid)
{
    char *cmd = pf_text_cell(command(e));
    fprintf(out, "pferris top: pid %d  %s\n", pid, cmd ? cmd : "");
    free(cmd);
    fprintf(out, "  elapsed %s; heap live %s, peak %s, %s allocations (%s/s)\n",
            pf_text_sec(pf_json_num(e, PF_KEY_ELAPSED)), pf_text_bytes(pf_json_num(e, PF_KEY_LIVE_BYTES)),
            pf_text_bytes(pf_json_num(e, PF_KEY_PEAK_BYTES)),
            pf_text_count(pf_json_num(e, PF_KEY_ALLOCATIONS)),
            pf_text_count(round(rate(e, p, PF_KEY_ALLOCATIONS, NULL))));
    double dt = p ? pf_json_num(e, PF_KEY_ELAPSED) - pf_json_num(p, PF_KEY_ELAPSED)
                  : pf_json_num(e, PF_KEY_ELAPSED);
    fprintf(out, "\n  %8s %-16s %10s %6s\n", "TID", "THREAD", "CPU", "CPU%");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(e, PF_KEY_THREAD_CPU), i, t)
    {
        double c = pf_json_num0(t, PF_KEY_CPU_TIME), before = 0;
        size_t j;
        json_t *u;
        json_array_foreach(json_object_get(p, PF_KEY_THREAD_CPU), j, u)
        {
            if (pf_json_num0(u, PF_KEY_TID) == pf_json_num0(t, PF_KEY_TID))
                before = pf_json_num0(u, PF_KEY_CPU_TIME);
        }
        char *nm = pf_text_cell(pf_json_str(t, PF_KEY_NAME, ""));
        fprintf(out, "  %8s %-16s %10s %5.0f%%\n", pf_text_count(pf_json_num(t, PF_KEY_TID)),
                nm ? nm : "", pf_text_sec(c), dt > 0 ? (c - before) / dt * 100 : 0.0);
        free(nm);
    }
    size_t n;
    json_t *timers = json_object_get(e, PF_KEY_TIMERS);
    pf_entry_t *te = pf_json_sorted_object(timers, NULL, &n);
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += te[k].value;
    if (n)
        fprintf(out, "\n  %-32s %12s %6s\n", "TIMER", "TOTAL", "SHARE");
    for (size_t k = 0; k < n; k++) {
        char *nm = pf_text_cell(te[k].name);
        fprintf(out, "  %-32s %12s %5.1f%%\n", nm ? nm : "", pf_text_sec(te[k].value),
                sum > 0 ? te[k].value / sum * 100 : 0.0);
        free(nm);
    }
    free(te);
    pf_entry_t *ce = pf_json_sorted_object(json_object_get(e, PF_KEY_COUNTERS), NULL, &n);
    if (n)
        fprintf(out, "\n  %-32s %14s %12s\n", "COUNTER", "VALUE", "PER SECOND");
    for (size_t k = 0; k < n; k++) {
        char *nm = pf_text_cell(ce[k].name);
        fprintf(out, "  %-32s %14s %12s\n", nm ? nm : "", pf_text_count(ce[k].value),
                pf_text_count(round(rate(e, p, PF_KEY_COUNTERS, ce[k].name))));
        free(nm);
    }
    free(ce);
}

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static void release(proc_t *ps, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(ps[i].e);
}

int pf_top_loop(FILE *out, int pid, int once, int json, int (*alive)(void *), void *arg)
{
    char dir[PATH_MAX], why[PATH_MAX + 200];
    if (pf_publish_dir(dir, sizeof dir) != 0) {
        pf_text_say(stderr, "top: no directory for the live entries");
        return 1;
    }
    int dfd = pf_publish_open_dir(dir, 0, why, sizeof why);
    if (dfd == -ENOENT && (once || json)) {
        fputs(json ? "{\"processes\": []}\n" : "pferris top: no profiled process\n", out);
        return pid ? 1 : 0;
    }
    if (dfd < 0 && dfd != -ENOENT) {
        pf_text_say(stderr, "top: refusing %s", why);
        return 1;
    }
    static proc_t cur[TOP_MAX], prev[TOP_MAX];
    int n = 0, np = 0, rc = 0, tty = isatty(fileno(out));
    signal(SIGINT, on_stop);
    if (!alive)
        signal(SIGTERM, on_stop);
    for (int frame = 0; !stop; frame++) {
        if (dfd < 0)
            dfd = pf_publish_open_dir(dir, 0, why, sizeof why);
        n = dfd >= 0 ? load(dfd, cur, TOP_MAX) : 0;
        if (tty && !once && !json)
            fputs("\033[H\033[2J", out);
        if (json) {
            proc_t *sel = cur;
            int ns = n;
            for (int i = 0; pid && i < n; i++)
                if (cur[i].pid == pid) {
                    sel = &cur[i];
                    ns = 1;
                }
            if (pid && !find(cur, n, pid))
                ns = 0;
            frame_json(out, sel, ns);
        } else if (pid) {
            json_t *e = find(cur, n, pid);
            if (e)
                frame_pid(out, e, find(prev, np, pid), pid);
            else if (alive)
                fprintf(out, "pferris top: pid %d has published nothing yet\n", pid);
            else
                fprintf(out, "pferris top: pid %d publishes nothing (not profiled, or ended)\n",
                        pid);
            if (!e && !alive && (once || frame))
                rc = 1;
        } else {
            frame_text(out, cur, n, prev, np);
        }
        fflush(out);
        release(prev, np);
        memcpy(prev, cur, sizeof(proc_t) * (size_t)n);
        np = n;
        if (once || json || (pid && rc) || (alive && !alive(arg)))
            break;
        struct timespec s = {1, 0};
        while (!stop && nanosleep(&s, &s) != 0 && errno == EINTR) {
        }
    }
    release(prev, np);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int pf_top_command(int argc, char **argv)
{
    int once = 0, json = 0, pid = 0;
    for (int i = 0; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--once"))
            once = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!pid && (pid = (int)strtol(argv[i], &end, 10)) > 0 && *end == '\0')
            ;
        else {
            pf_text_say(stderr, "top: unexpected '%s'", argv[i]);
            pf_usage_print(stderr);
            return 2;
        }
    }
    return pf_top_loop(stdout, pid, once, json, NULL, NULL);
}
