/* py311.h — where CPython 3.11 keeps what pyframes.c reads: byte offsets into its thread state,
 * frames, code objects and strings on x86-64 Linux. Hard-coded, so that building pferris needs
 * no Python headers and the preload never links libpython; tests/py311_offsets.c checks every
 * value against the installed 3.11 headers (pycore_frame.h, cpython/code.h, cpython/pystate.h,
 * cpython/unicodeobject.h) and fails to compile when one differs. The layout of these structures
 * does not change within a minor version; pyframes.c reads only a 3.11 interpreter. */
#ifndef PF_PY311_H
#define PF_PY311_H

/* PyObject, PyVarObject */
#define PY311_OB_TYPE             8
#define PY311_OB_SIZE             16

/* PyThreadState */
#define PY311_TSTATE_CFRAME       56  /* _PyCFrame *cframe */
#define PY311_TSTATE_THREAD_ID    152 /* unsigned long thread_id: pthread_self() of its thread */
#define PY311_TSTATE_READ         160 /* bytes read: up to and including thread_id */

/* _PyCFrame */
#define PY311_CFRAME_CURRENT      8   /* _PyInterpreterFrame *current_frame */

/* _PyInterpreterFrame */
#define PY311_FRAME_CODE          32  /* PyCodeObject *f_code */
#define PY311_FRAME_PREVIOUS      48  /* _PyInterpreterFrame *previous */
#define PY311_FRAME_PREV_INSTR    56  /* _Py_CODEUNIT *prev_instr */
#define PY311_FRAME_IS_ENTRY      68  /* bool is_entry: the first frame of an eval loop's call */
#define PY311_FRAME_READ          72  /* bytes read: the specials and the linkage */

/* PyCodeObject (ob_size is its number of code units) */
#define PY311_CODE_FIRSTLINENO    72  /* int */
#define PY311_CODE_FILENAME       112 /* PyObject *co_filename (str) */
#define PY311_CODE_QUALNAME       128 /* PyObject *co_qualname (str) */
#define PY311_CODE_LINETABLE      136 /* PyObject *co_linetable (bytes) */
#define PY311_CODE_ADAPTIVE       184 /* the bytecode, _Py_CODEUNIT co_code_adaptive[] */
#define PY311_CODE_READ           184

/* PyBytesObject */
#define PY311_BYTES_DATA          32  /* ob_sval */

/* PyASCIIObject / PyCompactUnicodeObject */
#define PY311_STR_LENGTH          16  /* Py_ssize_t length, in code points */
#define PY311_STR_STATE           32  /* the state bit field's first byte */
#define PY311_STR_KIND(s)         (((s) >> 2) & 7)  /* 1, 2 or 4 bytes per code point */
#define PY311_STR_COMPACT(s)      (((s) >> 5) & 1)
#define PY311_STR_ASCII(s)        (((s) >> 6) & 1)
#define PY311_STR_ASCII_DATA      48  /* sizeof(PyASCIIObject): a compact ASCII string's bytes */
#define PY311_STR_UTF8_LENGTH     48  /* Py_ssize_t utf8_length (compact, not ASCII) */
#define PY311_STR_UTF8            56  /* char *utf8, NULL until asked for */
#define PY311_STR_COMPACT_DATA    72  /* sizeof(PyCompactUnicodeObject): its code points */
#define PY311_STR_READ            72

#endif
