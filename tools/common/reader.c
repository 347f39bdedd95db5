/* reader.c — loading and validating pferris reports (see reader.h). The checks are a table
 * of shapes, one per section of the schema, walked with a path so that a message names the
 * exact field ("heap.sites[3].bytes is a string; expected a number"). Once a report passes,
 * every known field has its documented type, so the tools can read it without re-checking
 * types at every use (they still read through helpers that tolerate a missing field). */
#include "common/reader.h"
#include "report/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pferris.h"

enum {
    T_STR = 1,
    T_INT = 2,
    T_REAL = 4,
    T_NUM = T_INT | T_REAL,
    T_BOOL = 8,
    T_NULL = 16,
    T_OBJ = 32,
    T_ARR = 64,
};

typedef struct shape shape_t;

typedef struct {
    const char *key;
    unsigned types;
    const shape_t *sub; /* for an object or array value */
} field_t;

struct shape {
    enum { S_FIELDS, S_MAP, S_ARRAY } kind;
    const field_t *fields;    /* S_FIELDS: known keys, ended by a NULL key */
    unsigned elem;            /* S_MAP and S_ARRAY: the type of every value */
    const shape_t *elem_shape;
};

/* ---- the schema ------------------------------------------------------------------------- */

static const shape_t tree; /* timing_tree: defined below, it refers to itself */

static const field_t node_f[] = {
    {PF_KEY_NAME, T_STR, NULL},     {PF_KEY_COUNT, T_INT, NULL}, {PF_KEY_TOTAL, T_NUM, NULL},
    {PF_KEY_SELF, T_NUM, NULL},     {PF_KEY_CHILDREN, T_ARR, &tree}, {NULL, 0, NULL},
};
static const shape_t node = {S_FIELDS, node_f, 0, NULL};
static const shape_t tree = {S_ARRAY, NULL, T_OBJ, &node};

static const shape_t map_num = {S_MAP, NULL, T_NUM, NULL};
static const shape_t map_int = {S_MAP, NULL, T_INT, NULL};
static const shape_t list_str = {S_ARRAY, NULL, T_STR, NULL};

static const field_t stat_f[] = {
    {PF_KEY_COUNT, T_INT, NULL}, {PF_KEY_TOTAL, T_NUM, NULL}, {PF_KEY_MIN, T_NUM, NULL},
    {PF_KEY_MAX, T_NUM, NULL},   {PF_KEY_MEAN, T_NUM, NULL},  {NULL, 0, NULL},
};
static const shape_t tstat = {S_FIELDS, stat_f, 0, NULL};
static const shape_t stats = {S_MAP, NULL, T_OBJ, &tstat};

static const field_t mem_f[] = {{PF_KEY_LAST, T_INT, NULL}, {PF_KEY_PEAK, T_INT, NULL}, {NULL, 0, NULL}};
static const shape_t mem = {S_FIELDS, mem_f, 0, NULL};
static const shape_t mems = {S_MAP, NULL, T_OBJ, &mem};

static const field_t thread_f[] = {
    {PF_KEY_TID, T_INT, NULL},         {PF_KEY_NAME, T_STR, NULL},
    {PF_KEY_START, T_NUM, NULL},       {PF_KEY_END, T_NUM, NULL},
    {PF_KEY_RUNNING, T_BOOL, NULL},    {PF_KEY_CPU_TIME, T_NUM | T_NULL, NULL},
    {PF_KEY_ALLOCATIONS, T_INT, NULL}, {PF_KEY_BYTES_ALLOCATED, T_INT, NULL},
    {PF_KEY_FREES, T_INT, NULL},       {PF_KEY_BYTES_FREED, T_INT, NULL},
    {PF_KEY_PID, T_INT, NULL},         {PF_KEY_RANK, T_INT, NULL},
    {PF_KEY_CPU_SAMPLES, T_INT, NULL}, {PF_KEY_WAIT_SECONDS, T_NUM, NULL},
    {PF_KEY_OTHER_THREADS, T_INT, NULL}, {NULL, 0, NULL},
};
static const shape_t thread = {S_FIELDS, thread_f, 0, NULL};
static const shape_t threads = {S_ARRAY, NULL, T_OBJ, &thread};

static const field_t bucket_f[] = {
    {PF_KEY_MIN, T_INT, NULL}, {PF_KEY_MAX, T_INT, NULL}, {PF_KEY_COUNT, T_INT, NULL}, {NULL, 0, NULL}};
static const shape_t bucket = {S_FIELDS, bucket_f, 0, NULL};
static const shape_t histogram = {S_ARRAY, NULL, T_OBJ, &bucket};

static const field_t frame_f[] = {
    {PF_KEY_SYMBOL, T_STR | T_NULL, NULL}, {PF_KEY_MODULE, T_STR | T_NULL, NULL},
    {PF_KEY_OFFSET, T_INT | T_NULL, NULL}, {PF_KEY_LINE, T_INT | T_NULL, NULL},
    {PF_KEY_LANGUAGE, T_STR, NULL}, {PF_KEY_DEMANGLED, T_STR, NULL}, {NULL, 0, NULL}};
static const shape_t frame = {S_FIELDS, frame_f, 0, NULL};
static const shape_t frames = {S_ARRAY, NULL, T_OBJ, &frame};
static const field_t site_f[] = {
    {PF_KEY_FRAMES, T_ARR, &frames}, {PF_KEY_ALLOCATIONS, T_NUM, NULL}, {PF_KEY_BYTES, T_NUM, NULL},
    {PF_KEY_LIVE_BYTES, T_NUM, NULL}, {NULL, 0, NULL}};
static const shape_t site = {S_FIELDS, site_f, 0, NULL};
static const shape_t sites = {S_ARRAY, NULL, T_OBJ, &site};

static const field_t lock_f[] = {
    {PF_KEY_KIND, T_STR, NULL},           {PF_KEY_ADDRESS, T_STR, NULL},
    {PF_KEY_CONTENDED, T_INT, NULL},      {PF_KEY_WAIT_SECONDS, T_NUM, NULL},
    {PF_KEY_MAX_WAIT_SECONDS, T_NUM, NULL}, {PF_KEY_THREADS, T_INT, NULL},
    {PF_KEY_SAMPLED, T_INT, NULL},        {PF_KEY_FRAMES, T_ARR, &frames},
    {PF_KEY_PID, T_INT, NULL},            {NULL, 0, NULL}};
static const shape_t lock = {S_FIELDS, lock_f, 0, NULL};
static const shape_t locks = {S_ARRAY, NULL, T_OBJ, &lock};
static const field_t waits_f[] = {
    {PF_KEY_WAIT_SECONDS, T_NUM, NULL}, {PF_KEY_THREAD_SECONDS, T_NUM, NULL},
    {PF_KEY_SHARE, T_NUM, NULL},        {PF_KEY_SAMPLE_NS, T_INT, NULL},
    {PF_KEY_LOCKS_OMITTED, T_INT, NULL}, {NULL, 0, NULL}};
static const shape_t waits = {S_FIELDS, waits_f, 0, NULL};

static const field_t heap_f[] = {
    {PF_KEY_ENABLED, T_BOOL, NULL},
    {PF_KEY_ALLOCATIONS, T_INT, NULL},
    {PF_KEY_FREES, T_INT, NULL},
    {PF_KEY_BYTES_ALLOCATED, T_INT, NULL},
    {PF_KEY_BYTES_ALLOCATED_USABLE, T_INT, NULL},
    {PF_KEY_BYTES_FREED, T_INT, NULL},
    {PF_KEY_PEAK_BYTES, T_INT, NULL},
    {PF_KEY_LIVE_BYTES, T_INT, NULL},
    {PF_KEY_PEAK_ERROR_BOUND, T_INT, NULL},
    {PF_KEY_SIZE_SOURCE, T_STR, NULL},
    {PF_KEY_SIZE_HISTOGRAM, T_ARR, &histogram},
    {PF_KEY_SITES, T_ARR, &sites},
    {NULL, 0, NULL},
};
static const shape_t heap = {S_FIELDS, heap_f, 0, NULL};

static const field_t cpu_site_f[] = {
    {PF_KEY_FRAMES, T_ARR, &frames}, {PF_KEY_SAMPLES, T_INT, NULL}, {PF_KEY_SECONDS, T_NUM, NULL},
    {NULL, 0, NULL}};
static const shape_t cpu_site = {S_FIELDS, cpu_site_f, 0, NULL};
static const shape_t cpu_sites = {S_ARRAY, NULL, T_OBJ, &cpu_site};
static const field_t cpu_f[] = {
    {PF_KEY_HZ, T_INT, NULL},          {PF_KEY_ACTIVE, T_BOOL, NULL},
    {PF_KEY_MECHANISM, T_STR | T_NULL, NULL}, {PF_KEY_INACTIVE_REASON, T_STR, NULL},
    {PF_KEY_SAMPLES, T_INT, NULL},     {PF_KEY_SECONDS, T_NUM, NULL},
    {PF_KEY_DROPPED, T_INT, NULL},     {PF_KEY_SITES_OMITTED, T_INT, NULL},
    {PF_KEY_SITES, T_ARR, &cpu_sites}, {PF_KEY_PYTHON_FRAMES, T_STR, NULL}, {NULL, 0, NULL},
};
static const shape_t cpu = {S_FIELDS, cpu_f, 0, NULL};

static const field_t workers_f[] = {
    {PF_KEY_REQUESTED, T_INT | T_NULL, NULL}, {PF_KEY_MAX_CONCURRENT_THREADS, T_INT, NULL},
    {PF_KEY_THREADS_TOTAL, T_INT, NULL}, {PF_KEY_THREADS_EXITED, T_INT, NULL}, {NULL, 0, NULL}};
static const shape_t workers = {S_FIELDS, workers_f, 0, NULL};

static const field_t ival_f[] = {
    {PF_KEY_TID, T_INT, NULL}, {PF_KEY_NAME, T_STR, NULL}, {PF_KEY_START, T_NUM, NULL},
    {PF_KEY_END, T_NUM, NULL}, {NULL, 0, NULL}};
static const shape_t ival = {S_FIELDS, ival_f, 0, NULL};
static const shape_t ivals = {S_ARRAY, NULL, T_OBJ, &ival};
static const field_t sample_f[] = {
    {PF_KEY_T, T_NUM, NULL}, {PF_KEY_LIVE_BYTES, T_INT, NULL}, {PF_KEY_THREADS, T_INT, NULL},
    {PF_KEY_COUNTERS, T_OBJ, &map_int}, {NULL, 0, NULL}};
static const shape_t sample = {S_FIELDS, sample_f, 0, NULL};
static const shape_t samples = {S_ARRAY, NULL, T_OBJ, &sample};
static const field_t timeline_f[] = {
    {PF_KEY_ENABLED, T_BOOL, NULL},      {PF_KEY_INTERVAL_MS, T_INT, NULL},
    {PF_KEY_SAMPLE_PERIOD_MS, T_INT, NULL}, {PF_KEY_INTERVALS, T_ARR, &ivals},
    {PF_KEY_SAMPLES, T_ARR, &samples},   {PF_KEY_DROPPED, T_OBJ, &map_int},
    {NULL, 0, NULL},
};
static const shape_t timeline = {S_FIELDS, timeline_f, 0, NULL};

static const field_t clock_f[] = {
    {PF_KEY_SOURCE, T_STR, NULL}, {PF_KEY_TICKS_PER_NS, T_NUM, NULL},
    {PF_KEY_DRIFT_PPM, T_NUM | T_NULL, NULL}, {PF_KEY_WHY, T_STR, NULL}, {NULL, 0, NULL}};
static const shape_t clock_shape = {S_FIELDS, clock_f, 0, NULL};

static const field_t exit_f[] = {
    {PF_KEY_HOW, T_STR, NULL},          {PF_KEY_CODE, T_INT, NULL},
    {PF_KEY_SIGNAL, T_INT, NULL},       {PF_KEY_SIGNAL_NAME, T_STR | T_NULL, NULL},
    {PF_KEY_ADDRESS, T_INT | T_NULL, NULL}, {PF_KEY_CRASHED_TID, T_INT, NULL},
    {PF_KEY_FRAMES, T_ARR, &frames},    {NULL, 0, NULL},
};
static const shape_t exit_shape = {S_FIELDS, exit_f, 0, NULL};

/* A report's sections; a merged report's "processes" holds whole reports of this shape. */
#define REPORT_FIELDS                                                                          \
    {PF_KEY_SCHEMA, T_STR, NULL}, {PF_KEY_PFERRIS_VERSION, T_STR, NULL}, {PF_KEY_PID, T_INT | T_NULL, NULL}, \
        {PF_KEY_PPID, T_INT | T_NULL, NULL}, {PF_KEY_HOSTNAME, T_STR | T_NULL, NULL},                    \
        {PF_KEY_COMMAND, T_ARR, &list_str}, {PF_KEY_START_TIME, T_STR | T_NULL, NULL},                   \
        {PF_KEY_TOTAL_ELAPSED, T_NUM, NULL}, {PF_KEY_TIMINGS, T_OBJ, &map_num},                          \
        {PF_KEY_TIMING_STATS, T_OBJ, &stats}, {PF_KEY_TIMING_TREE, T_ARR, &tree},                        \
        {PF_KEY_MEMORY_USAGE, T_OBJ, &map_int}, {PF_KEY_MEMORY_STATS, T_OBJ, &mems},                     \
        {PF_KEY_COUNTERS, T_OBJ, &map_int}, {PF_KEY_THREADS, T_ARR, &threads}, {PF_KEY_HEAP, T_OBJ, &heap},   \
        {PF_KEY_WORKERS, T_OBJ, &workers}, {PF_KEY_DROPPED, T_OBJ, &map_int}, {PF_KEY_RANK, T_INT, NULL},     \
        {PF_KEY_RANK_SOURCE, T_STR, NULL}, {PF_KEY_TIMELINE, T_OBJ, &timeline}, {PF_KEY_FILE, T_STR, NULL},     \
        {PF_KEY_CLOCK, T_OBJ, &clock_shape}, {PF_KEY_EXIT, T_OBJ, &exit_shape}, {PF_KEY_CPU, T_OBJ, &cpu}, \
        {PF_KEY_LOCKS, T_ARR, &locks}, {PF_KEY_WAITS, T_OBJ, &waits}

static const field_t process_f[] = {REPORT_FIELDS, {NULL, 0, NULL}};
static const shape_t process = {S_FIELDS, process_f, 0, NULL};
static const shape_t processes = {S_ARRAY, NULL, T_OBJ, &process};
static const field_t report_f[] = {
    REPORT_FIELDS, {PF_KEY_PROCESSES, T_ARR, &processes}, {PF_KEY_MERGED, T_OBJ, NULL}, {NULL, 0, NULL}};
static const shape_t report = {S_FIELDS, report_f, 0, NULL};

/* ---- walking ---------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    char *err;
    size_t errsize;
    char path[256];
} walk_t;

static void fail(char *err, size_t errsize, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(char *err, size_t errsize, const char *name, const char *fmt, ...)
{
    if (!err || !errsize)
        return;
    int n = snprintf(err, errsize, "%s: ", name ? name : "(report)");
    if (n < 0 || (size_t)n >= errsize)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
    va_end(ap);
}

static unsigned type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return T_STR;
    case JSON_INTEGER: return T_INT;
    case JSON_REAL: return T_REAL;
    case JSON_TRUE:
    case JSON_FALSE: return T_BOOL;
    case JSON_NULL: return T_NULL;
    case JSON_OBJECT: return T_OBJ;
    case JSON_ARRAY: return T_ARR;
    }
    return 0;
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case T_STR: return "a string";
    case T_INT: return "an integer";
    case T_REAL: return "a real number";
    case T_BOOL: return "a boolean";
    case T_NULL: return "null";
    case T_OBJ: return "an object";
    case T_ARR: return "an array";
    }
    return "a value";
}

static const char *expected_name(unsigned types)
{
    switch (types & ~(unsigned)T_NULL) {
    case T_STR: return "a string";
    case T_INT: return "an integer";
    case T_NUM: return "a number";
    case T_BOOL: return "true or false";
    case T_OBJ: return "an object";
    case T_ARR: return "an array";
    }
    return "another type";
}

static int walk_value(walk_t *w, const json_t *v, unsigned types, const shape_t *sh);

/* Appends ".key" or "[i]" to the path for the duration of one check. */
static int walk_child(walk_t *w, const json_t *v, unsigned types, const shape_t *sh,
                      const char *key, size_t index)
{
    size_t len = strlen(w->path);
    if (key)
        snprintf(w->path + len, sizeof w->path - len, "%s%.64s", len ? "." : "", key);
    else
        snprintf(w->path + len, sizeof w->path - len, "[%zu]", index);
    int rc = walk_value(w, v, types, sh);
    w->path[len] = '\0';
    return rc;
}

static int walk_value(walk_t *w, const json_t *v, unsigned types, const shape_t *sh)
{
    unsigned t = type_of(v);
    if (!(t & types)) {
        fail(w->err, w->errsize, w->name, "\"%s\" is %s; expected %s%s", w->path, type_name(t),
             expected_name(types), types & T_NULL ? " or null" : "");
        return -EINVAL;
    }
    if (!sh)
        return 0;
    if (t == T_OBJ && sh->kind == S_FIELDS) {
        for (const field_t *f = sh->fields; f->key; f++) {
            const json_t *c = json_object_get(v, f->key);
            if (c && walk_child(w, c, f->types, f->sub, f->key, 0) < 0)
                return -EINVAL;
        }
    } else if (t == T_OBJ && sh->kind == S_MAP) {
        const char *key;
        json_t *c;
        json_object_foreach((json_t *)v, key, c)
            if (walk_child(w, c, sh->elem, sh->elem_shape, key, 0) < 0)
                return -EINVAL;
    } else if (t == T_ARR && sh->kind == S_ARRAY) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
            if (walk_child(w, c, sh->elem, sh->elem_shape, NULL, i) < 0)
                return -EINVAL;
    }
    return 0;
}

int pf_reader_check(json_t *r, const char *name, char *err, size_t errsize)
{
    if (!json_is_object(r)) {
        fail(err, errsize, name, "is JSON but not a pferris report (%s, expected an object)",
             r ? type_name(type_of(r)) : "nothing");
        return -EINVAL;
    }
    const json_t *schema = json_object_get(r, PF_KEY_SCHEMA);
    if (!schema) {
        fail(err, errsize, name, "is JSON but not a pferris report (no \"schema\" key)");
        return -EINVAL;
    }
    const char *s = json_string_value(schema);
    if (!s) {
        fail(err, errsize, name, "\"schema\" is %s; expected \"%s\"", type_name(type_of(schema)),
             PFERRIS_SCHEMA);
        return -EINVAL;
    }
    if (strcmp(s, PFERRIS_SCHEMA) != 0) {
        fail(err, errsize, name,
             "is a report of schema '%.64s'; this pferris reads %s only (read it with the "
             "pferris that wrote it)",
             s, PFERRIS_SCHEMA);
        return -EINVAL;
    }
    walk_t w = {.name = name, .err = err, .errsize = errsize};
    return walk_value(&w, r, T_OBJ, &report);
}

/* ---- parsing ---------------------------------------------------------------------------- */

json_t *pf_reader_parse(const char *buf, size_t len, const char *name, char *err, size_t errsize)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (len == 0 || i == len) {
        fail(err, errsize, name, len ? "holds only white space, not a report"
                                     : "is empty, not a report (did the program exit "
                                       "before writing it?)");
        return NULL;
    }
    if (len > PF_READER_MAX_BYTES) {
        fail(err, errsize, name, "is %zu MiB, more than the %zu MiB a report may have",
             len >> 20, PF_READER_MAX_BYTES >> 20);
        return NULL;
    }
    json_error_t je;
    json_t *r = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!r) {
        /* jansson reports the end of the text as the place of the error when the text stops
         * inside a value: that is a truncated file, the usual way a report goes wrong. */
        if (je.position >= 0 && (size_t)je.position >= len && buf[i] == '{')
            fail(err, errsize, name,
                 "is truncated: the JSON stops after %zu bytes inside the report (%s)", len,
                 je.text);
        else
            fail(err, errsize, name, "is not valid JSON: %s at line %d, column %d", je.text,
                 je.line, je.column);
        return NULL;
    }
    if (pf_reader_check(r, name, err, errsize) < 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *pf_reader_load(const char *path, char *err, size_t errsize)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(err, errsize, name, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        fail(err, errsize, name, "is a directory, not a report file");
        if (!is_stdin)
            close(fd);
        return NULL;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > PF_READER_MAX_BYTES) {
        fail(err, errsize, name, "is %lld MiB, more than the %zu MiB a report may have",
             (long long)(st.st_size >> 20), PF_READER_MAX_BYTES >> 20);
        if (!is_stdin)
            close(fd);
        return NULL;
    }
    /* Read to the end with a growing buffer (a pipe has no size), one byte past the limit so
     * that an oversized stream is recognised. */
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (len == cap) {
            if (cap > PF_READER_MAX_BYTES)
                break;
            char *b = realloc(buf, cap * 2);
            if (!b) {
                rc = ENOMEM;
                break;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = errno;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (!is_stdin)
        close(fd);
    json_t *r = NULL;
    if (!buf || rc)
        fail(err, errsize, name, "cannot read: %s", strerror(buf ? rc : ENOMEM));
    else
        r = pf_reader_parse(buf, len, name, err, errsize);
    free(buf);
    return r;
}
