/* module.c — the pferris extension module: its functions, types and the core it uses. */
#include "pfpy.h"

static PyMethodDef module_methods[] = {
    {"parallel_map", (PyCFunction)(void (*)(void))pfpy_parallel_map, METH_VARARGS | METH_KEYWORDS,
     "parallel_map(func, iterable, chunk_size=None) -> list of func(item), in order."},
    {"parallel_filter", (PyCFunction)(void (*)(void))pfpy_parallel_filter,
     METH_VARARGS | METH_KEYWORDS,
     "parallel_filter(predicate, iterable, chunk_size=None) -> the items it keeps, in order."},
    {"auto_tune_workers", (PyCFunction)(void (*)(void))pfpy_auto_tune_workers,
     METH_VARARGS | METH_KEYWORDS,
     "auto_tune_workers(task_function, sample_data, min_workers=None, max_workers=None, "
     "test_duration=1.0) -> {optimal_workers, best_throughput, tested_workers, results}"},
    {"profile_parallel_operation", (PyCFunction)(void (*)(void))pfpy_profile_parallel_operation,
     METH_VARARGS | METH_KEYWORDS,
     "profile_parallel_operation(operation, *args, profiler=None, "
     "operation_name='parallel_operation', **kwargs) -> (result, report)"},
    {"set_worker_count", (PyCFunction)pfpy_set_worker_count, METH_O,
     "set_worker_count(n): the worker count of parallel_map and parallel_filter."},
    {"get_worker_count", (PyCFunction)pfpy_get_worker_count, METH_NOARGS,
     "get_worker_count() -> set_worker_count's n, else PFERRIS_WORKERS, else the online CPUs."},
    {"default_profiler", (PyCFunction)pfpy_default_profiler, METH_NOARGS,
     "default_profiler() -> the process-wide Profiler: the one the C markers use and the "
     "report written at exit (under the preload) shows."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pferris._pferris",
    .m_doc = "pferris: the seed's profiling API over the pferris C core (docs/python.md).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__pferris(void)
{
    const char *where;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (pfpy_core_load(m, &where) < 0)
        goto fail;
    PyTypeObject *types[] = {&pfpy_profiler_type, &pfpy_timer_type, &pfpy_decorator_type,
                             &pfpy_wrapped_type};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (PyType_Ready(types[i]) < 0)
            goto fail;
    if (PyModule_AddObjectRef(m, "Profiler", (PyObject *)&pfpy_profiler_type) < 0 ||
        PyModule_AddObjectRef(m, "TimerContext", (PyObject *)&pfpy_timer_type) < 0 ||
        PyModule_AddStringConstant(m, "core", where) < 0 ||
        PyModule_AddStringConstant(m, "__version__", PFERRIS_VERSION) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
