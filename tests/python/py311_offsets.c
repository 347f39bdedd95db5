/* py311_offsets.c — checks lib/runtime/py311.h against the installed CPython 3.11 headers:
 * compiling it (tests/it_python_frames.sh does, with -I/usr/include/python3.11) fails on the
 * first offset that differs. Never linked: it needs no libpython. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_code.h>
#include <stddef.h>
#include <string.h>
#include "runtime/py311.h"

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "these are not CPython 3.11's headers"
#endif

#define SAME(a, b) _Static_assert((a) == (b), #a " != " #b)

SAME(PY311_OB_TYPE, offsetof(PyObject, ob_type));
SAME(PY311_OB_SIZE, offsetof(PyVarObject, ob_size));
SAME(PY311_TSTATE_CFRAME, offsetof(PyThreadState, cframe));
SAME(PY311_TSTATE_THREAD_ID, offsetof(PyThreadState, thread_id));
SAME(PY311_TSTATE_READ, offsetof(PyThreadState, thread_id) + sizeof(unsigned long));
SAME(PY311_CFRAME_CURRENT, offsetof(_PyCFrame, current_frame));
SAME(PY311_FRAME_CODE, offsetof(_PyInterpreterFrame, f_code));
SAME(PY311_FRAME_PREVIOUS, offsetof(_PyInterpreterFrame, previous));
SAME(PY311_FRAME_PREV_INSTR, offsetof(_PyInterpreterFrame, prev_instr));
SAME(PY311_FRAME_IS_ENTRY, offsetof(_PyInterpreterFrame, is_entry));
SAME(PY311_FRAME_READ, offsetof(_PyInterpreterFrame, localsplus));
SAME(PY311_CODE_FIRSTLINENO, offsetof(PyCodeObject, co_firstlineno));
SAME(PY311_CODE_FILENAME, offsetof(PyCodeObject, co_filename));
SAME(PY311_CODE_QUALNAME, offsetof(PyCodeObject, co_qualname));
SAME(PY311_CODE_LINETABLE, offsetof(PyCodeObject, co_linetable));
SAME(PY311_CODE_ADAPTIVE, offsetof(PyCodeObject, co_code_adaptive));
SAME(PY311_CODE_READ, offsetof(PyCodeObject, co_code_adaptive));
SAME(PY311_BYTES_DATA, offsetof(PyBytesObject, ob_sval));
SAME(PY311_STR_LENGTH, offsetof(PyASCIIObject, length));
SAME(PY311_STR_STATE, offsetof(PyASCIIObject, state));
SAME(PY311_STR_ASCII_DATA, sizeof(PyASCIIObject));
SAME(PY311_STR_UTF8_LENGTH, offsetof(PyCompactUnicodeObject, utf8_length));
SAME(PY311_STR_UTF8, offsetof(PyCompactUnicodeObject, utf8));
SAME(PY311_STR_COMPACT_DATA, sizeof(PyCompactUnicodeObject));
SAME(sizeof(_Py_CODEUNIT), 2);

/* The state bit field's layout: built with the header's own field names, read as pyframes.c
 * reads it. Run by the test, it exits 0 when they agree. */
int main(void)
{
    PyASCIIObject o;
    memset(&o, 0, sizeof o);
    o.state.kind = PyUnicode_2BYTE_KIND;
    o.state.compact = 1;
    o.state.ascii = 0;
    unsigned char s = ((unsigned char *)&o)[PY311_STR_STATE];
    int ok = PY311_STR_KIND(s) == 2 && PY311_STR_COMPACT(s) && !PY311_STR_ASCII(s);
    o.state.kind = PyUnicode_1BYTE_KIND;
    o.state.compact = 0;
    o.state.ascii = 1;
    s = ((unsigned char *)&o)[PY311_STR_STATE];
    ok = ok && PY311_STR_KIND(s) == 1 && !PY311_STR_COMPACT(s) && PY311_STR_ASCII(s);
    return ok ? 0 : 1;
}
