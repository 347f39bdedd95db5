/* pyframes.h — the Python frames of a sampled stack, for a program that runs CPython 3.11
 * (a preloaded `python3`, or a program linked with libpython3.11), whether or not it imports
 * the pferris module.
 *
 * Only sampled stacks pay: there is no profiling hook in the interpreter. When a sampled stack
 * (an allocation, a wait, a CPU sample) passes through the interpreter's eval loop, the calling
 * thread's own Python frames are read from its thread state: each native frame in
 * _PyEval_EvalFrameDefault stands for the chain of Python frames from the current one back to
 * and including the next one that entered that eval loop (is_entry), and those frames take its
 * place, innermost first. The native _PyEval_EvalFrameDefault frame itself is dropped.
 *
 * Nothing here takes the GIL, calls Python's API (but PyGILState_GetThisThreadState, which only
 * reads a thread-specific value), allocates, or trusts what it reads: every read of the
 * interpreter's memory goes through process_vm_readv on our own process, so a pointer that is
 * stale or garbage costs a failed read, never a fault; types are checked, the walk is bounded.
 * A frame is stored as a tagged value in place of a return address: the index of its
 * (function, file, line) in a table of pferris's own, interned at sample time, since the code
 * objects may be gone before the report is written. */
#ifndef PF_PYFRAMES_H
#define PF_PYFRAMES_H

#include <stdint.h>
#include "base/atomic.h"

/* User-space code addresses never have the top bit set: a frame value that has it is a Python
 * frame, the rest its location's index. */
#define PF_PYFRAME_TAG ((uintptr_t)1 << 63)

/* From the session's init, before the samplers start: finds a CPython 3.11 interpreter in the
 * process (its symbols must already be loaded) and readies the tables; enabled is
 * PFERRIS_PYTHON_FRAMES. */
void pf_pyframes_init(int enabled) PF_HIDDEN;

/* Whether stacks get Python frames (a 3.11 interpreter was found and the reads work). */
int pf_pyframes_active(void) PF_HIDDEN;

/* Copies native[0 .. n) (return addresses, innermost first) into out[0 .. return), at most max,
 * each native frame in the eval loop replaced by the Python frames it runs. Async-signal-safe;
 * errno is kept. To be called only on the thread whose stack native is. */
uint32_t pf_pyframes_merge(void *const *native, uint32_t n, void **out, uint32_t max) PF_HIDDEN;

static inline int pf_pyframes_is_python(const void *frame)
{
    return ((uintptr_t)frame & PF_PYFRAME_TAG) != 0;
}

/* A Python frame's function (co_qualname), file (co_filename) and line (0 when unknown); 0 when
 * frame is one, -1 when not. */
int pf_pyframes_lookup(const void *frame, const char **symbol, const char **file, int *line) PF_HIDDEN;

/* What the report says: "CPython 3.11.2" when Python frames are read, else why not (another
 * version, PFERRIS_PYTHON_FRAMES=0); NULL when the program runs no CPython. */
const char *pf_pyframes_status(void) PF_HIDDEN;

#endif
