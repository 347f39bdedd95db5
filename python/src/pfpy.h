/* pfpy.h — the pferris extension module's shared declarations.
 *
 * The module holds no copy of the core. pfpy_core is a table of the core's public entry points
 * (lib/pferris.h), resolved once at import: from the process when pferris is already there
 * (LD_PRELOAD=libpferris.so, or a program linked with -lpferris), otherwise from a
 * libpferris.so the module loads with RTLD_LOCAL, so the host's symbol scope does not change.
 */
#ifndef PFPY_H
#define PFPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <jansson.h>
#include "pferris.h"

typedef struct {
    pferris_profiler_t *(*profiler_new)(void);
    void (*profiler_free)(pferris_profiler_t *);
    pferris_profiler_t *(*default_profiler)(void);
    int (*start)(pferris_profiler_t *);
    double (*stop)(pferris_profiler_t *);
    int (*start_timer)(pferris_profiler_t *, const char *);
    double (*stop_timer)(pferris_profiler_t *, const char *);
    int (*record_memory)(pferris_profiler_t *, const char *, long long);
    int (*increment_counter_by)(pferris_profiler_t *, const char *, long long);
    json_t *(*get_timings)(pferris_profiler_t *);
    json_t *(*get_memory_usage)(pferris_profiler_t *);
    json_t *(*get_counters)(pferris_profiler_t *);
    json_t *(*get_report)(pferris_profiler_t *);
    void (*clear)(pferris_profiler_t *);
    int (*set_worker_count)(int);
    int (*get_worker_count)(void);
    int (*parallel_map)(pferris_map_fn, void *, const void *, size_t, size_t, void *, size_t);
    int (*auto_tune_workers)(pferris_map_fn, void *, const void *, size_t, size_t, size_t, int,
                             int, double, pferris_tune_result_t *);
    void (*tune_result_free)(pferris_tune_result_t *);
    int (*profile_parallel_operation)(pferris_operation_fn, void *, pferris_profiler_t *,
                                      const char *, struct json_t **);
} pfpy_core_t;

extern pfpy_core_t pfpy_core;

/* core.c: resolves pfpy_core. 0, or -1 with an ImportError set. *where is "process" or the
 * path of the library loaded. */
int pfpy_core_load(PyObject *module, const char **where);
/* A new reference converted from a jansson value (which it json_decref()s); NULL with an
 * exception set when j is NULL or conversion fails. */
PyObject *pfpy_from_json(json_t *j);
/* The UTF-8 of a str with no NUL inside; NULL with TypeError/ValueError set. */
const char *pfpy_name(PyObject *name);
/* Raises OSError for a negative errno from the core; returns NULL. */
PyObject *pfpy_errno(int rc, const char *what);

/* profiler.c */
extern PyTypeObject pfpy_profiler_type, pfpy_timer_type, pfpy_decorator_type, pfpy_wrapped_type;
typedef struct {
    PyObject_HEAD
    pferris_profiler_t *p;
    int owned; /* 0 for the process-wide default profiler, which is never freed */
} pfpy_profiler_t;
PyObject *pfpy_default_profiler(PyObject *module, PyObject *unused);

/* parallel.c */
PyObject *pfpy_parallel_map(PyObject *m, PyObject *args, PyObject *kw);
PyObject *pfpy_parallel_filter(PyObject *m, PyObject *args, PyObject *kw);
PyObject *pfpy_auto_tune_workers(PyObject *m, PyObject *args, PyObject *kw);
PyObject *pfpy_profile_parallel_operation(PyObject *m, PyObject *args, PyObject *kw);
PyObject *pfpy_set_worker_count(PyObject *m, PyObject *arg);
PyObject *pfpy_get_worker_count(PyObject *m, PyObject *unused);

#endif
