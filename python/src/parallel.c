/* parallel.c — parallel_map, parallel_filter, auto_tune_workers, profile_parallel_operation
 * and the worker count, over the core's pool and tuner.
 *
 * The GIL: the calling thread releases it and joins the pool as one worker (the core's pool
 * always makes the caller a participant). Each worker takes the GIL for one chunk of items
 * (parallel_map / parallel_filter) or one item (auto_tune_workers), calls func, and releases
 * it. Python code therefore runs one worker at a time; what runs in parallel is whatever func
 * does with the GIL released (zlib, hashlib, time.sleep, I/O, numpy). A pure-Python function
 * gains nothing from more workers, and the tuner, which measures, then picks 1.
 *
 * Pool threads are not Python threads. The first time one runs Python it gets a thread state
 * through PyGILState_Ensure and keeps it (the Ensure is never released; the GIL is dropped
 * with PyEval_SaveThread), so later chunks cost one PyGILState_Ensure/Release pair and code in
 * func that calls PyGILState_Ensure itself (ctypes callbacks, C extensions) finds the same
 * state. These states live as long as the pool threads, which live as long as the process.
 *
 * Errors: the first exception by item index wins. A worker that raises marks the job failed
 * and returns an error, so the pool claims no further chunks, and the workers still inside a
 * chunk stop before their next item (they hold the GIL, so they see the mark). The caller
 * re-raises the exception with its traceback.
 */
#include "pfpy.h"

#include <errno.h>
#include <math.h>

enum { MODE_MAP, MODE_FILTER, MODE_TUNE };

typedef struct {
    PyObject *func;
    PyObject *const *items; /* the tuple's items: immutable while we run */
    size_t n, chunk;
    int mode;
    PyObject *out;          /* MODE_MAP: the result list, filled in place */
    unsigned char *keep;    /* MODE_FILTER */
    /* Under the GIL. */
    int failed;
    size_t err_index;
    PyObject *etype, *evalue, *etb;
} job_t;

/* The error a worker returns for a Python exception; the pool reports the lowest chunk's. */
#define PY_RAISED (-ECANCELED)

static void thread_state_once(void)
{
    if (PyGILState_GetThisThreadState() == NULL) {
        (void)PyGILState_Ensure(); /* kept: see the header */
        (void)PyEval_SaveThread();
    }
}

/* Under the GIL, with an exception set: keep it if it is the first by index. */
static void job_raised(job_t *j, size_t index)
{
    if (!j->failed || index < j->err_index) {
        Py_XDECREF(j->etype);
        Py_XDECREF(j->evalue);
        Py_XDECREF(j->etb);
        PyErr_Fetch(&j->etype, &j->evalue, &j->etb);
        j->failed = 1;
        j->err_index = index;
    } else {
        PyErr_Clear();
    }
}

static int run_items(job_t *j, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        if (j->failed && i > j->err_index)
            return PY_RAISED; /* cancelled: an earlier item raised */
        PyObject *r = PyObject_CallOneArg(j->func, j->items[i]);
        if (!r) {
            job_raised(j, i);
            return PY_RAISED;
        }
        if (j->mode == MODE_MAP) {
            PyList_SET_ITEM(j->out, (Py_ssize_t)i, r);
        } else {
            int t = j->mode == MODE_FILTER ? PyObject_IsTrue(r) : 0;
            Py_DECREF(r);
            if (t < 0) {
                job_raised(j, i);
                return PY_RAISED;
            }
            if (j->mode == MODE_FILTER)
                j->keep[i] = (unsigned char)t;
        }
    }
    return 0;
}

/* One chunk of a map or filter: in is the chunk's number. */
static int chunk_fn(const void *in, void *out, void *ctx)
{
    job_t *j = ctx;
    size_t c = *(const size_t *)in;
    size_t lo = c * j->chunk, hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
    thread_state_once();
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = run_items(j, lo, hi);
    PyGILState_Release(g);
    return rc;
}

/* One item of the tuner: in points at the item. */
static int tune_fn(const void *in, void *out, void *ctx)
{
    job_t *j = ctx;
    size_t i = (size_t)((PyObject *const *)in - j->items);
    thread_state_once();
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = run_items(j, i, i + 1);
    PyGILState_Release(g);
    return rc;
}

static int check_callable(PyObject *f, const char *who)
{
    if (PyCallable_Check(f))
        return 0;
    PyErr_Format(PyExc_TypeError, "%s: func must be callable, not %.100s", who,
                 Py_TYPE(f)->tp_name);
    return -1;
}

/* After a run: re-raise the worker's exception, or turn a core error into OSError. */
static int job_finish(job_t *j, int rc, const char *who)
{
    if (j->failed) {
        PyErr_Restore(j->etype, j->evalue, j->etb);
        return -1;
    }
    if (rc < 0) {
        pfpy_errno(rc, who);
        return -1;
    }
    return 0;
}

static PyObject *run_chunked(PyObject *func, PyObject *iterable, PyObject *chunk_obj, int mode,
                             const char *who)
{
    if (check_callable(func, who) < 0)
        return NULL;
    Py_ssize_t chunk = 0;
    if (chunk_obj && chunk_obj != Py_None) {
        chunk = PyLong_AsSsize_t(chunk_obj);
        if (chunk == -1 && PyErr_Occurred())
            return NULL;
        if (chunk < 1)
            return PyErr_Format(PyExc_ValueError, "%s: chunk_size must be a positive integer, "
                                "not %zd", who, chunk);
    }
    PyObject *tuple = PySequence_Tuple(iterable);
    if (!tuple)
        return NULL;
    size_t n = (size_t)PyTuple_GET_SIZE(tuple);
    if (chunk == 0) {
        /* About eight chunks per worker: few GIL hand-overs, and still enough chunks for
         * uneven items to balance. */
        size_t w = (size_t)pfpy_core.get_worker_count();
        chunk = (Py_ssize_t)((n + 8 * w - 1) / (8 * w));
        if (chunk < 1)
            chunk = 1;
    }
    job_t j = {.func = func, .items = &PyTuple_GET_ITEM(tuple, 0), .n = n, .chunk = (size_t)chunk,
               .mode = mode};
    size_t chunks = (n + j.chunk - 1) / j.chunk;
    size_t *idx = PyMem_RawMalloc((chunks ? chunks : 1) * sizeof *idx);
    PyObject *result = NULL;
    if (mode == MODE_MAP)
        j.out = PyList_New((Py_ssize_t)n);
    else
        j.keep = PyMem_RawCalloc(n ? n : 1, 1);
    if (!idx || (mode == MODE_MAP ? !j.out : !j.keep)) {
        PyErr_NoMemory();
        goto out;
    }
    for (size_t c = 0; c < chunks; c++)
        idx[c] = c;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = pfpy_core.parallel_map(chunk_fn, &j, idx, chunks, sizeof *idx, NULL, 0);
    Py_END_ALLOW_THREADS
    if (job_finish(&j, rc, who) < 0)
        goto out;
    if (mode == MODE_MAP) {
        result = j.out;
        j.out = NULL;
    } else {
        result = PyList_New(0);
        for (size_t i = 0; result && i < n; i++) {
            if (j.keep[i] && PyList_Append(result, j.items[i]) < 0)
                Py_CLEAR(result);
        }
    }
out:
    Py_XDECREF(j.out); /* a list with unfilled slots is fine to free */
    PyMem_RawFree(j.keep);
    PyMem_RawFree(idx);
    Py_DECREF(tuple);
    return result;
}

PyObject *pfpy_parallel_map(PyObject *m, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"func", "iterable", "chunk_size", NULL};
    PyObject *func, *iterable, *chunk = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:parallel_map", kwlist, &func, &iterable,
                                     &chunk))
        return NULL;
    return run_chunked(func, iterable, chunk, MODE_MAP, "parallel_map");
}

PyObject *pfpy_parallel_filter(PyObject *m, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"predicate", "iterable", "chunk_size", NULL};
    PyObject *func, *iterable, *chunk = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:parallel_filter", kwlist, &func, &iterable,
                                     &chunk))
        return NULL;
    return run_chunked(func, iterable, chunk, MODE_FILTER, "parallel_filter");
}

/* A worker count argument: None is 0 (the core's default), else a positive int. */
static int workers_arg(PyObject *o, const char *what, int *out)
{
    if (o == Py_None) {
        *out = 0;
        return 0;
    }
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int or None, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 1 || v > 1 << 20) {
        PyErr_Format(PyExc_ValueError, "%s must be a positive worker count, not %ld", what, v);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static PyObject *tune_point(const pferris_tune_point_t *pt)
{
    return Py_BuildValue("{s:i,s:d,s:d,s:i,s:K,s:d}", "workers", pt->workers, "throughput",
                         pt->throughput, "spread", pt->spread, "rounds", pt->rounds, "items",
                         (unsigned long long)pt->items, "seconds", pt->seconds);
}

PyObject *pfpy_auto_tune_workers(PyObject *m, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"task_function", "sample_data", "min_workers", "max_workers",
                             "test_duration", NULL};
    PyObject *func, *data, *min_o = Py_None, *max_o = Py_None;
    double duration = 1.0;
    int min_w, max_w;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOd:auto_tune_workers", kwlist, &func, &data,
                                     &min_o, &max_o, &duration))
        return NULL;
    if (check_callable(func, "auto_tune_workers") < 0 ||
        workers_arg(min_o, "min_workers", &min_w) < 0 ||
        workers_arg(max_o, "max_workers", &max_w) < 0)
        return NULL;
    if (max_w && min_w > max_w)
        return PyErr_Format(PyExc_ValueError, "auto_tune_workers: min_workers %d is above "
                            "max_workers %d", min_w, max_w);
    if (!(duration > 0) || !isfinite(duration))
        return PyErr_Format(PyExc_ValueError, "auto_tune_workers: test_duration must be a "
                            "positive number of seconds, not %g", duration);
    PyObject *tuple = PySequence_Tuple(data);
    if (!tuple)
        return NULL;
    size_t n = (size_t)PyTuple_GET_SIZE(tuple);
    if (n == 0) {
        Py_DECREF(tuple);
        PyErr_SetString(PyExc_ValueError, "auto_tune_workers: sample_data is empty");
        return NULL;
    }
    job_t j = {.func = func, .items = &PyTuple_GET_ITEM(tuple, 0), .n = n, .mode = MODE_TUNE};
    pferris_tune_result_t res;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = pfpy_core.auto_tune_workers(tune_fn, &j, j.items, n, sizeof(PyObject *), 0, min_w,
                                     max_w, duration, &res);
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (rc == -EINVAL && !j.failed) {
        PyErr_Format(PyExc_ValueError, "auto_tune_workers: worker counts %d..%d are not a "
                     "range the pool can run", min_w, max_w);
        goto done;
    }
    if (job_finish(&j, rc, "auto_tune_workers") < 0)
        goto done;
    PyObject *results = PyList_New(res.tested_workers);
    for (int i = 0; results && i < res.tested_workers; i++) {
        PyObject *pt = tune_point(&res.results[i]);
        if (!pt) {
            Py_CLEAR(results);
            break;
        }
        PyList_SET_ITEM(results, i, pt);
    }
    if (results)
        out = Py_BuildValue("{s:i,s:d,s:i,s:N}", "optimal_workers", res.optimal_workers,
                            "best_throughput", res.best_throughput, "tested_workers",
                            res.tested_workers, "results", results);
done:
    pfpy_core.tune_result_free(&res);
    Py_DECREF(tuple);
    return out;
}

typedef struct {
    PyObject *op, *args, *kw, *result;
    PyObject *etype, *evalue, *etb;
} op_call_t;

/* Runs on the calling thread with the GIL held. */
static int op_fn(void *arg)
{
    op_call_t *c = arg;
    c->result = PyObject_Call(c->op, c->args, c->kw);
    if (!c->result) {
        PyErr_Fetch(&c->etype, &c->evalue, &c->etb);
        return PY_RAISED;
    }
    return 0;
}

/* profile_parallel_operation(operation, *args, profiler=None,
 *                            operation_name="parallel_operation", **kwargs) -> (result, report) */
PyObject *pfpy_profile_parallel_operation(PyObject *m, PyObject *args, PyObject *kw)
{
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError, "profile_parallel_operation() needs the operation");
        return NULL;
    }
    op_call_t c = {.op = PyTuple_GET_ITEM(args, 0)};
    if (check_callable(c.op, "profile_parallel_operation") < 0)
        return NULL;
    PyObject *kwargs = kw ? PyDict_Copy(kw) : PyDict_New();
    if (!kwargs)
        return NULL;
    PyObject *prof = NULL, *name = NULL, *out = NULL;
    const char *cname = "parallel_operation";
    pferris_profiler_t *p = NULL;
    prof = Py_XNewRef(PyDict_GetItemString(kwargs, "profiler"));
    name = Py_XNewRef(PyDict_GetItemString(kwargs, "operation_name"));
    if (prof) {
        PyDict_DelItemString(kwargs, "profiler");
        if (prof != Py_None) {
            if (!PyObject_TypeCheck(prof, &pfpy_profiler_type)) {
                PyErr_Format(PyExc_TypeError, "profile_parallel_operation: profiler must be a "
                             "pferris.Profiler, not %.100s", Py_TYPE(prof)->tp_name);
                goto out;
            }
            p = ((pfpy_profiler_t *)prof)->p;
        }
    }
    if (name) {
        PyDict_DelItemString(kwargs, "operation_name");
        if (!(cname = pfpy_name(name)))
            goto out;
    }
    c.args = PyTuple_GetSlice(args, 1, PyTuple_GET_SIZE(args));
    if (!c.args)
        goto out;
    c.kw = kwargs;
    json_t *report = NULL;
    int rc = pfpy_core.profile_parallel_operation(op_fn, &c, p, cname, &report);
    if (c.etype || !c.result) {
        if (report)
            json_decref(report);
        if (c.etype)
            PyErr_Restore(c.etype, c.evalue, c.etb);
        else
            pfpy_errno(rc < 0 ? rc : -EINVAL, "profile_parallel_operation");
        goto out;
    }
    PyObject *rep = pfpy_from_json(report);
    if (rep)
        out = Py_BuildValue("(NN)", c.result, rep);
    else
        Py_DECREF(c.result);
out:
    Py_XDECREF(c.args);
    Py_XDECREF(prof);
    Py_XDECREF(name);
    Py_DECREF(kwargs);
    return out;
}

PyObject *pfpy_set_worker_count(PyObject *m, PyObject *arg)
{
    if (!PyLong_Check(arg))
        return PyErr_Format(PyExc_TypeError, "set_worker_count: n must be an int, not %.100s",
                            Py_TYPE(arg)->tp_name);
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 1 || n > 1 << 20 || pfpy_core.set_worker_count((int)n) < 0)
        return PyErr_Format(PyExc_ValueError, "set_worker_count: %ld is not a positive worker "
                            "count", n);
    Py_RETURN_NONE;
}

PyObject *pfpy_get_worker_count(PyObject *m, PyObject *unused)
{
    return PyLong_FromLong(pfpy_core.get_worker_count());
}
