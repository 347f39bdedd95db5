/* profiler.c — the seed's Profiler class, its timer() context manager and its
 * profile_function decorator, each a thin layer over the core's Profiler object API.
 *
 * Every method is one call into the core with the GIL held: they take no lock of their own and
 * allocate nothing but their Python results. Timers are per thread in the core, so threads
 * may time the same name at once. Names are used as their UTF-8 bytes; a str caches its UTF-8
 * form, so a name used again costs no conversion.
 */
#include "pfpy.h"

#include <errno.h>
#include <math.h>
#include <structmember.h>

/* ---- Profiler ----------------------------------------------------------------------------- */

static PyObject *default_obj;

static PyObject *profiler_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    /* A subclass may take arguments in its own __init__. */
    if (type == &pfpy_profiler_type && (PyTuple_GET_SIZE(args) || (kw && PyDict_GET_SIZE(kw)))) {
        PyErr_SetString(PyExc_TypeError, "Profiler() takes no arguments");
        return NULL;
    }
    pferris_profiler_t *p = pfpy_core.profiler_new();
    if (!p) {
        PyErr_SetString(PyExc_MemoryError, "pferris: the profiler table is full (free unused "
                                           "Profiler objects)");
        return NULL;
    }
    pfpy_profiler_t *self = (pfpy_profiler_t *)type->tp_alloc(type, 0);
    if (!self) {
        pfpy_core.profiler_free(p);
        return NULL;
    }
    self->p = p;
    self->owned = 1;
    return (PyObject *)self;
}

static void profiler_dealloc(pfpy_profiler_t *self)
{
    if (self->owned)
        pfpy_core.profiler_free(self->p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *pfpy_default_profiler(PyObject *module, PyObject *unused)
{
    if (!default_obj) {
        pfpy_profiler_t *self = PyObject_New(pfpy_profiler_t, &pfpy_profiler_type);
        if (!self)
            return NULL;
        self->p = pfpy_core.default_profiler();
        self->owned = 0;
        default_obj = (PyObject *)self;
    }
    return Py_NewRef(default_obj);
}

static PyObject *check(int rc, const char *what)
{
    if (rc < 0)
        return pfpy_errno(rc, what);
    Py_RETURN_NONE;
}

static PyObject *profiler_start(pfpy_profiler_t *self, PyObject *unused)
{
    return check(pfpy_core.start(self->p), "start");
}

static PyObject *profiler_stop(pfpy_profiler_t *self, PyObject *unused)
{
    double s = pfpy_core.stop(self->p);
    if (isnan(s))
        Py_RETURN_NONE; /* the seed: Optional[float], None when it was not started */
    return PyFloat_FromDouble(s);
}

static PyObject *profiler_start_timer(pfpy_profiler_t *self, PyObject *name)
{
    const char *s = pfpy_name(name);
    if (!s)
        return NULL;
    int rc = pfpy_core.start_timer(self->p, s);
    if (rc < 0)
        return pfpy_errno(rc, "start_timer");
    Py_RETURN_NONE;
}

static PyObject *stop_named(pfpy_profiler_t *self, PyObject *name, const char *s)
{
    double sec = pfpy_core.stop_timer(self->p, s);
    if (isnan(sec)) {
        if (errno == ENOENT)
            return PyErr_Format(PyExc_ValueError,
                                "stop_timer(%R): no timer of that name is running on this "
                                "thread (start_timer it first)", name);
        return pfpy_errno(-errno, "stop_timer");
    }
    return PyFloat_FromDouble(sec);
}

static PyObject *profiler_stop_timer(pfpy_profiler_t *self, PyObject *name)
{
    const char *s = pfpy_name(name);
    return s ? stop_named(self, name, s) : NULL;
}

static PyObject *profiler_record_memory(pfpy_profiler_t *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "bytes_used", NULL};
    PyObject *name;
    long long bytes;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "UL:record_memory", kwlist, &name, &bytes))
        return NULL;
    const char *s = pfpy_name(name);
    return s ? check(pfpy_core.record_memory(self->p, s, bytes), "record_memory") : NULL;
}

static PyObject *profiler_increment_counter(pfpy_profiler_t *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "value", NULL};
    PyObject *name;
    long long value = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "U|L:increment_counter", kwlist, &name, &value))
        return NULL;
    const char *s = pfpy_name(name);
    return s ? check(pfpy_core.increment_counter_by(self->p, s, value), "increment_counter")
             : NULL;
}

static PyObject *profiler_get_timings(pfpy_profiler_t *self, PyObject *unused)
{
    return pfpy_from_json(pfpy_core.get_timings(self->p));
}

static PyObject *profiler_get_memory_usage(pfpy_profiler_t *self, PyObject *unused)
{
    return pfpy_from_json(pfpy_core.get_memory_usage(self->p));
}

static PyObject *profiler_get_counters(pfpy_profiler_t *self, PyObject *unused)
{
    return pfpy_from_json(pfpy_core.get_counters(self->p));
}

static PyObject *profiler_get_report(pfpy_profiler_t *self, PyObject *unused)
{
    return pfpy_from_json(pfpy_core.get_report(self->p));
}

static PyObject *profiler_clear(pfpy_profiler_t *self, PyObject *unused)
{
    pfpy_core.clear(self->p);
    Py_RETURN_NONE;
}

/* ---- timer(name): the context manager ----------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    pfpy_profiler_t *prof;
    PyObject *name;
    const char *cname; /* the UTF-8 cached in name */
    double elapsed;    /* NAN until the block ends */
} pfpy_timer_t;

static PyObject *profiler_timer(pfpy_profiler_t *self, PyObject *name)
{
    const char *s = pfpy_name(name);
    if (!s)
        return NULL;
    pfpy_timer_t *t = PyObject_New(pfpy_timer_t, &pfpy_timer_type);
    if (!t)
        return NULL;
    t->prof = (pfpy_profiler_t *)Py_NewRef(self);
    t->name = Py_NewRef(name);
    t->cname = s;
    t->elapsed = NAN;
    return (PyObject *)t;
}

static void timer_dealloc(pfpy_timer_t *t)
{
    Py_DECREF(t->prof);
    Py_DECREF(t->name);
    PyObject_Free(t);
}

static PyObject *timer_enter(pfpy_timer_t *t, PyObject *unused)
{
    int rc = pfpy_core.start_timer(t->prof->p, t->cname);
    if (rc < 0)
        return pfpy_errno(rc, "timer");
    return Py_NewRef(t);
}

/* The block's exception, if any, propagates: __exit__ returns None. */
static PyObject *timer_exit(pfpy_timer_t *t, PyObject *const *args, Py_ssize_t nargs)
{
    double sec = pfpy_core.stop_timer(t->prof->p, t->cname);
    if (isnan(sec)) /* cleared inside the block, or a bad profiler: say which */
        return stop_named(t->prof, t->name, t->cname);
    t->elapsed = sec;
    Py_RETURN_NONE;
}

static PyObject *timer_get_elapsed(pfpy_timer_t *t, void *unused)
{
    if (isnan(t->elapsed))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(t->elapsed);
}

static PyMethodDef timer_methods[] = {
    {"__enter__", (PyCFunction)timer_enter, METH_NOARGS, "Start the timer."},
    {"__exit__", (PyCFunction)(void (*)(void))timer_exit, METH_FASTCALL,
     "Stop the timer; an exception in the block propagates."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef timer_getset[] = {
    {"elapsed", (getter)timer_get_elapsed, NULL, "Seconds the block took; None until it ends.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pfpy_timer_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pferris.TimerContext",
    .tp_basicsize = sizeof(pfpy_timer_t),
    .tp_dealloc = (destructor)timer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "with profiler.timer(name): times the block as name on this thread.",
    .tp_methods = timer_methods,
    .tp_getset = timer_getset,
};

/* ---- profile_function(name): the decorator ------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    pfpy_profiler_t *prof;
    PyObject *name; /* str, or NULL: the function's __name__ */
} pfpy_decorator_t;

typedef struct {
    PyObject_HEAD
    pfpy_profiler_t *prof;
    PyObject *func;
    PyObject *name;
    PyObject *success, *error; /* "<name>_success", "<name>_error" */
    PyObject *dict;            /* __name__, __doc__, __wrapped__ ... from update_wrapper */
    vectorcallfunc vectorcall;
} pfpy_wrapped_t;

static PyObject *wrapped_vectorcall(PyObject *o, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    pfpy_wrapped_t *w = (pfpy_wrapped_t *)o;
    const char *name = PyUnicode_AsUTF8(w->name);
    int rc = pfpy_core.start_timer(w->prof->p, name);
    if (rc < 0)
        return pfpy_errno(rc, "profile_function");
    PyObject *r = PyObject_Vectorcall(w->func, args, nargsf, kwnames);
    (void)pfpy_core.stop_timer(w->prof->p, name); /* cleared meanwhile: nothing to stop */
    (void)pfpy_core.increment_counter_by(w->prof->p, PyUnicode_AsUTF8(r ? w->success : w->error),
                                         1);
    return r;
}

static PyObject *wrap(pfpy_profiler_t *prof, PyObject *name, PyObject *func)
{
    if (!PyCallable_Check(func))
        return PyErr_Format(PyExc_TypeError, "profile_function: %.100s object is not callable",
                            Py_TYPE(func)->tp_name);
    PyObject *owned_name = NULL;
    if (!name) {
        name = owned_name = PyObject_GetAttrString(func, "__name__");
        if (!name)
            return NULL;
    }
    if (!pfpy_name(name)) {
        Py_XDECREF(owned_name);
        return NULL;
    }
    pfpy_wrapped_t *w = PyObject_GC_New(pfpy_wrapped_t, &pfpy_wrapped_type);
    if (!w) {
        Py_XDECREF(owned_name);
        return NULL;
    }
    w->prof = (pfpy_profiler_t *)Py_NewRef(prof);
    w->func = Py_NewRef(func);
    w->name = owned_name ? owned_name : Py_NewRef(name);
    w->success = PyUnicode_FromFormat("%U_success", w->name);
    w->error = PyUnicode_FromFormat("%U_error", w->name);
    w->dict = PyDict_New();
    w->vectorcall = wrapped_vectorcall;
    PyObject_GC_Track(w);
    if (!w->success || !w->error || !w->dict || !PyUnicode_AsUTF8(w->success) ||
        !PyUnicode_AsUTF8(w->error)) {
        Py_DECREF(w);
        return NULL;
    }
    PyObject *functools = PyImport_ImportModule("functools");
    PyObject *r = functools ? PyObject_CallMethod(functools, "update_wrapper", "OO", w, func)
                            : NULL;
    Py_XDECREF(functools);
    if (!r) {
        Py_DECREF(w);
        return NULL;
    }
    Py_DECREF(r);
    return (PyObject *)w;
}

static int wrapped_traverse(pfpy_wrapped_t *w, visitproc visit, void *arg)
{
    Py_VISIT(w->prof);
    Py_VISIT(w->func);
    Py_VISIT(w->dict);
    return 0;
}

static int wrapped_clear(pfpy_wrapped_t *w)
{
    Py_CLEAR(w->func);
    Py_CLEAR(w->dict);
    return 0;
}

static void wrapped_dealloc(pfpy_wrapped_t *w)
{
    PyObject_GC_UnTrack(w);
    wrapped_clear(w);
    Py_XDECREF(w->prof);
    Py_XDECREF(w->name);
    Py_XDECREF(w->success);
    Py_XDECREF(w->error);
    PyObject_GC_Del(w);
}

/* A decorated function defined in a class is a method: bind it like a function. */
static PyObject *wrapped_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyGetSetDef wrapped_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pfpy_wrapped_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pferris.ProfiledFunction",
    .tp_basicsize = sizeof(pfpy_wrapped_t),
    .tp_dealloc = (destructor)wrapped_dealloc,
    .tp_vectorcall_offset = offsetof(pfpy_wrapped_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A function timed under its name, counting <name>_success and <name>_error.",
    .tp_traverse = (traverseproc)wrapped_traverse,
    .tp_clear = (inquiry)wrapped_clear,
    .tp_descr_get = wrapped_get,
    .tp_getset = wrapped_getset,
    .tp_dictoffset = offsetof(pfpy_wrapped_t, dict),
};

static PyObject *decorator_call(pfpy_decorator_t *d, PyObject *args, PyObject *kw)
{
    PyObject *func;
    if ((kw && PyDict_GET_SIZE(kw)) || !PyArg_UnpackTuple(args, "profile_function", 1, 1, &func))
        return NULL;
    return wrap(d->prof, d->name, func);
}

static void decorator_dealloc(pfpy_decorator_t *d)
{
    Py_DECREF(d->prof);
    Py_XDECREF(d->name);
    PyObject_Free(d);
}

PyTypeObject pfpy_decorator_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pferris.ProfileDecorator",
    .tp_basicsize = sizeof(pfpy_decorator_t),
    .tp_dealloc = (destructor)decorator_dealloc,
    .tp_call = (ternaryfunc)decorator_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Applied to a function, returns it timed and counted.",
};

/* profile_function(name=None) returns a decorator; profile_function used bare (@p.profile_function)
 * decorates the function directly, under its __name__. */
static PyObject *profiler_profile_function(pfpy_profiler_t *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", NULL};
    PyObject *name = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:profile_function", kwlist, &name))
        return NULL;
    if (name != Py_None && !PyUnicode_Check(name)) {
        if (PyCallable_Check(name))
            return wrap(self, NULL, name);
        return PyErr_Format(PyExc_TypeError, "profile_function: name must be a str or None, "
                            "not %.100s", Py_TYPE(name)->tp_name);
    }
    if (name != Py_None && !pfpy_name(name))
        return NULL;
    pfpy_decorator_t *d = PyObject_New(pfpy_decorator_t, &pfpy_decorator_type);
    if (!d)
        return NULL;
    d->prof = (pfpy_profiler_t *)Py_NewRef(self);
    d->name = name == Py_None ? NULL : Py_NewRef(name);
    return (PyObject *)d;
}

static PyMethodDef profiler_methods[] = {
    {"start", (PyCFunction)profiler_start, METH_NOARGS, "Start the overall clock."},
    {"stop", (PyCFunction)profiler_stop, METH_NOARGS,
     "Stop the overall clock: seconds since start(), or None when it was not started."},
    {"start_timer", (PyCFunction)profiler_start_timer, METH_O,
     "start_timer(name): start timing name on this thread."},
    {"stop_timer", (PyCFunction)profiler_stop_timer, METH_O,
     "stop_timer(name) -> seconds of this interval; ValueError when name is not running."},
    {"record_memory", (PyCFunction)(void (*)(void))profiler_record_memory,
     METH_VARARGS | METH_KEYWORDS, "record_memory(name, bytes_used): keeps the last and the peak."},
    {"increment_counter", (PyCFunction)(void (*)(void))profiler_increment_counter,
     METH_VARARGS | METH_KEYWORDS, "increment_counter(name, value=1)"},
    {"get_timings", (PyCFunction)profiler_get_timings, METH_NOARGS, "{name: seconds}"},
    {"get_memory_usage", (PyCFunction)profiler_get_memory_usage, METH_NOARGS,
     "{name: last value recorded}"},
    {"get_counters", (PyCFunction)profiler_get_counters, METH_NOARGS, "{name: count}"},
    {"get_report", (PyCFunction)profiler_get_report, METH_NOARGS,
     "The whole report: a dict with the C report's keys (docs/report-format.md)."},
    {"clear", (PyCFunction)profiler_clear, METH_NOARGS, "Forget every record."},
    {"timer", (PyCFunction)profiler_timer, METH_O,
     "timer(name): a context manager timing its block as name."},
    {"profile_function", (PyCFunction)(void (*)(void))profiler_profile_function,
     METH_VARARGS | METH_KEYWORDS,
     "profile_function(name=None): a decorator timing each call as name (default: the "
     "function's __name__) and counting <name>_success / <name>_error."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pfpy_profiler_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pferris.Profiler",
    .tp_basicsize = sizeof(pfpy_profiler_t),
    .tp_dealloc = (destructor)profiler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Profiler(): timings, memory records and counters (the seed's Profiler).",
    .tp_methods = profiler_methods,
    .tp_new = profiler_new,
};
