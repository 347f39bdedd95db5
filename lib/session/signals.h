/* signals.h — how a process that a signal ends still leaves its report.
 *
 * Terminating signals whose action is the default one (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGXCPU, SIGVTALRM, SIGPROF) write the report, then the
 * process dies of the same signal with the default action: the same wait status, and a core
 * dump where there was one. Crashes (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS)
 * write a best-effort report without malloc or a lock, with the crashing thread's stack.
 *
 * A disposition the program sets is the program's: the preload's sigaction and signal go through
 * pf_signals_sigaction, which gives the signal to the program's handler (or SIG_IGN) and shows
 * the program, in every query, what it set and never pferris's handler. */
#ifndef PF_SIGNALS_H
#define PF_SIGNALS_H

#include <signal.h>
#include "base/atomic.h"

/* From the session's init when a report is wanted: installs pferris's handlers where the
 * disposition is the default one (crash handlers not in an ASan or TSan program). */
void pf_signals_start(void) PF_HIDDEN;
/* Once CPU sampling runs: the handlers already in place that run on an alternate stack (a
 * library's constructor sets them before pferris starts) get SIGPROF in their mask, as the
 * sigaction interposer gives it to those set later. */
void pf_signals_guard_installed(void) PF_HIDDEN;
/* sigaction(2) as the program sees it. */
int pf_signals_sigaction(int sig, const struct sigaction *act, struct sigaction *old) PF_HIDDEN;
/* signal(3) (BSD semantics, as glibc's) over pf_signals_sigaction. */
typedef void (*pf_sighandler_t)(int);
pf_sighandler_t pf_signals_signal(int sig, pf_sighandler_t handler) PF_HIDDEN;

#endif
