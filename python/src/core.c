/* core.c — finding the one pferris core in the process, and converting its reports.
 *
 * Under LD_PRELOAD=libpferris.so (or in a program linked with -lpferris) the core is already
 * in the global scope: dlsym(RTLD_DEFAULT) finds it, exactly as the markers in lib/pferris.h
 * do, and the default profiler the Python code fills is the one the report at exit shows.
 * Otherwise the module loads libpferris.so itself with RTLD_LOCAL: its malloc, pthread_create
 * and exec interposers then stay out of the global scope, so importing pferris changes no
 * symbol the host resolves. Search order: $PFERRIS_LIBRARY, the module's own directory (where
 * make python and pip install put a copy), then the dynamic linker's path.
 */
#include "pfpy.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

pfpy_core_t pfpy_core;

static char loaded_path[PATH_MAX];

#define BIND(field, sym)                                                                       \
    do {                                                                                       \
        void *f_ = dlsym(h, sym);                                                              \
        if (!f_) {                                                                             \
            PyErr_Format(PyExc_ImportError, "pferris: %s lacks %s (a libpferris.so older "     \
                         "than this module?)", where, sym);                                    \
            return -1;                                                                         \
        }                                                                                      \
        *(void **)&pfpy_core.field = f_;                                                       \
    } while (0)

static int bind_all(void *h, const char *where)
{
    BIND(profiler_new, "pferris_profiler_new");
    BIND(profiler_free, "pferris_profiler_free");
    BIND(default_profiler, "pferris_default");
    BIND(start, "pferris_start");
    BIND(stop, "pferris_stop");
    BIND(start_timer, "pferris_start_timer");
    BIND(stop_timer, "pferris_stop_timer");
    BIND(record_memory, "pferris_record_memory");
    BIND(increment_counter_by, "pferris_increment_counter_by");
    BIND(get_timings, "pferris_get_timings");
    BIND(get_memory_usage, "pferris_get_memory_usage");
    BIND(get_counters, "pferris_get_counters");
    BIND(get_report, "pferris_get_report");
    BIND(clear, "pferris_clear");
    BIND(set_worker_count, "pferris_set_worker_count");
    BIND(get_worker_count, "pferris_get_worker_count");
    BIND(parallel_map, "pferris_parallel_map");
    BIND(auto_tune_workers, "pferris_auto_tune_workers");
    BIND(tune_result_free, "pferris_tune_result_free");
    BIND(profile_parallel_operation, "pferris_profile_parallel_operation");
    return 0;
}

static void *try_open(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h)
        snprintf(loaded_path, sizeof loaded_path, "%s", path);
    return h;
}

int pfpy_core_load(PyObject *module, const char **where)
{
    if (dlsym(RTLD_DEFAULT, "pferris_default")) {
        *where = "process";
        return bind_all(RTLD_DEFAULT, "the process's pferris");
    }
    void *h = NULL;
    const char *env = getenv("PFERRIS_LIBRARY");
    if (env && *env) {
        h = try_open(env);
        if (!h) {
            PyErr_Format(PyExc_ImportError, "pferris: PFERRIS_LIBRARY=%s: %s", env, dlerror());
            return -1;
        }
    }
    Dl_info info;
    if (!h && dladdr((void *)pfpy_core_load, &info) && info.dli_fname) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", info.dli_fname);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/libpferris.so", dir) < (int)sizeof path)
                h = try_open(path);
        }
    }
    if (!h)
        h = try_open("libpferris.so");
    if (!h) {
        PyErr_Format(PyExc_ImportError,
                     "pferris: libpferris.so not found beside the module nor on the library "
                     "path (%s); set PFERRIS_LIBRARY to its path", dlerror());
        return -1;
    }
    *where = loaded_path;
    return bind_all(h, loaded_path); /* never dlclosed: its threads and tables live on */
}

static PyObject *convert(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        PyObject *d = PyDict_New();
        const char *key;
        json_t *v;
        if (!d)
            return NULL;
        json_object_foreach(j, key, v) {
            PyObject *pv = convert(v);
            if (!pv || PyDict_SetItemString(d, key, pv) < 0) {
                Py_XDECREF(pv);
                Py_DECREF(d);
                return NULL;
            }
            Py_DECREF(pv);
        }
        return d;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        PyObject *l = PyList_New((Py_ssize_t)n);
        for (size_t i = 0; l && i < n; i++) {
            PyObject *pv = convert(json_array_get(j, i));
            if (!pv) {
                Py_DECREF(l);
                return NULL;
            }
            PyList_SET_ITEM(l, (Py_ssize_t)i, pv);
        }
        return l;
    }
    case JSON_STRING:
        return PyUnicode_FromStringAndSize(json_string_value(j), (Py_ssize_t)json_string_length(j));
    case JSON_INTEGER:
        return PyLong_FromLongLong(json_integer_value(j));
    case JSON_REAL:
        return PyFloat_FromDouble(json_real_value(j));
    case JSON_TRUE:
        Py_RETURN_TRUE;
    case JSON_FALSE:
        Py_RETURN_FALSE;
    default:
        Py_RETURN_NONE;
    }
}

PyObject *pfpy_from_json(json_t *j)
{
    if (!j)
        return PyErr_NoMemory();
    PyObject *o = convert(j);
    json_decref(j);
    return o;
}

const char *pfpy_name(PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "name must be a str, not %.100s", Py_TYPE(name)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(name, &len);
    if (s && strlen(s) != (size_t)len) {
        PyErr_SetString(PyExc_ValueError, "name must not contain a NUL character");
        return NULL;
    }
    return s;
}

PyObject *pfpy_errno(int rc, const char *what)
{
    if (rc == -ENOMEM)
        return PyErr_NoMemory();
    errno = -rc;
    PyErr_Format(PyExc_OSError, "%s: %s", what, strerror(-rc));
    return NULL;
}
