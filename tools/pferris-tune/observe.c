/* observe.c — what a trial's process tree reported. Each process of the tree writes a report
 * when it ends (PFERRIS_OUTPUT) and, under the counter metric, live snapshots while it runs
 * (PFERRIS_LIVE; format in lib/runtime/live.h); both land in the trial's directory. A process
 * with a report has ended and its report is final, so its snapshot is not counted again. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common/snapshot.h"
#include "report/keys.h"
#include "tune.h"

/* Adds a counter name that is not the metric's to the list the error message shows. */
static void note_other(pf_observe_tree_t *tree, const char *name)
{
    if (strstr(tree->others, name) ||
        strlen(tree->others) + strlen(name) + 3 >= sizeof tree->others)
        return;
    if (tree->others[0])
        strcat(tree->others, ", ");
    strcat(tree->others, name);
}

/* One snapshot's counters, summed while it is parsed. */
typedef struct {
    pf_observe_tree_t *tree;
    const char *counter;
    long long v;
    int seen;
} live_acc_t;

static void live_counter(const char *name, long long value, void *arg)
{
    live_acc_t *a = arg;
    if (a->counter && !strcmp(name, a->counter)) {
        a->v += value;
        a->seen = 1;
    } else {
        note_other(a->tree, name);
    }
}

static int has_pid(const pf_observe_tree_t *tree, int pid)
{
    for (int i = 0; i < tree->npids; i++)
        if (tree->pids[i] == pid)
            return 1;
    return 0;
}

/* The report's thread time blocked on locks, and its heaviest lock with the innermost frame
 * of its call site. */
static void read_waits(pf_observe_tree_t *tree, json_t *r)
{
    json_t *w = json_object_get(r, PF_KEY_WAITS);
    json_t *ws = json_object_get(w, PF_KEY_WAIT_SECONDS), *ls = json_object_get(w, PF_KEY_THREAD_SECONDS);
    if (!json_is_number(ws) || !json_is_number(ls))
        return;
    tree->wait_s += json_number_value(ws);
    tree->life_s += json_number_value(ls);
    json_t *lock = json_array_get(json_object_get(r, PF_KEY_LOCKS), 0);
    json_t *lw = json_object_get(lock, PF_KEY_WAIT_SECONDS);
    if (!json_is_number(lw) || json_number_value(lw) <= tree->lock_wait_s)
        return;
    tree->lock_wait_s = json_number_value(lw);
    json_t *f = json_array_get(json_object_get(lock, PF_KEY_FRAMES), 0);
    const char *kind = json_string_value(json_object_get(lock, PF_KEY_KIND));
    const char *sym = json_string_value(json_object_get(f, PF_KEY_SYMBOL));
    const char *mod = json_string_value(json_object_get(f, PF_KEY_MODULE));
    json_t *off = json_object_get(f, PF_KEY_OFFSET);
    snprintf(tree->lock_where, sizeof tree->lock_where, "%s\t%s\t%lld\t%s", kind ? kind : "lock",
             mod ? mod : "", json_is_integer(off) ? (long long)json_integer_value(off) : -1LL,
             sym ? sym : "");
}

static void read_report(pf_observe_tree_t *tree, const char *path, const char *counter)
{
    json_error_t err;
    json_t *r = json_load_file(path, 0, &err);
    if (!r)
        return; /* still being written, or not a report */
    tree->reports++;
    json_t *pid = json_object_get(r, PF_KEY_PID);
    if (json_is_integer(pid) && tree->npids < (int)(sizeof tree->pids / sizeof tree->pids[0]))
        tree->pids[tree->npids++] = (int)json_integer_value(pid);
    json_t *counters = json_object_get(r, PF_KEY_COUNTERS);
    const char *key;
    json_t *val;
    json_object_foreach(counters, key, val)
    {
        if (counter && !strcmp(key, counter) && json_is_integer(val)) {
            tree->count += json_integer_value(val);
            tree->seen = 1;
        } else {
            note_other(tree, key);
        }
    }
    read_waits(tree, r);
    json_t *mc = json_object_get(json_object_get(r, PF_KEY_WORKERS),
                                 PF_KEY_MAX_CONCURRENT_THREADS);
    json_t *th = json_object_get(r, PF_KEY_THREADS);
    if (json_is_integer(mc)) {
        tree->threads += (int)json_integer_value(mc);
        tree->have_threads = 1;
    } else if (json_is_array(th)) {
        tree->threads += (int)json_array_size(th);
        tree->have_threads = 1;
    }
    json_decref(r);
}

/* Counts the snapshot at path unless it is incomplete or its process left a report. */
static void read_snapshot(pf_observe_tree_t *tree, const char *path, const char *counter)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    pf_snapshot_t info;
    live_acc_t acc = {tree, counter, 0, 0};
    if (n <= 0 || pf_snapshot_parse(buf, (size_t)n, &info, live_counter, &acc) != 0 ||
        !info.complete || has_pid(tree, info.pid))
        return;
    tree->snapshots++;
    tree->count += acc.v;
    tree->seen |= acc.seen;
    tree->threads += info.threads_max;
    tree->have_threads = 1;
    if (info.mono > tree->live_mono)
        tree->live_mono = info.mono;
}

void pf_observe_tree(pf_observe_tree_t *tree, const char *dir, const char *counter)
{
    memset(tree, 0, sizeof *tree);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    /* Reports first: a process with a report has ended, and its report is final. */
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "report.", 7)) {
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                read_report(tree, path, counter);
        }
    rewinddir(d);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, PF_LIVE_PREFIX, strlen(PF_LIVE_PREFIX)))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        read_snapshot(tree, path, counter);
    }
    closedir(d);
}
