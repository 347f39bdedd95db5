/* crash.h — the report of a process that crashes (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
 * SIGTRAP, SIGSYS), from the crash handler (signals.c). It is built without malloc, stdio or a
 * lock of pferris's: the schema, the process, the heap totals, and the crashing thread's stack. */
#ifndef PF_CRASH_H
#define PF_CRASH_H

#include <signal.h>
#include <stddef.h>
#include "base/atomic.h"

/* Builds the report of sig (si, uc: the handler's arguments; backtrace: libunwind's
 * unw_backtrace, or NULL for the crashing instruction alone) and writes it over the last
 * checkpoint, else as a new report file. 0, or -1; used gets where it went. */
int pf_crash_write(int sig, siginfo_t *si, void *uc, int (*backtrace)(void **, int), char *used,
                   size_t size) PF_HIDDEN;

#endif
