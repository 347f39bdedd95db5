/* process.c — the interposers of a process's end and of exec: the report is written before
 * _exit and _Exit, and an exec that succeeds leaves no report of the process it replaced (its
 * failure does). The signal calls are here too: sigaction, signal and setitimer (SIGPROF and
 * ITIMER_PROF are the CPU sampler's), and sigaltstack (the alternate stack's bounds). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "real.h"
#include "runtime/cpu.h"
#include "runtime/thread.h"
#include "session/session.h"
#include "session/signals.h"

#define READY(fn) PF_REAL_READY(fn)

PF_EXPORT void _exit(int code)
{
    pf_session_set_exit(PF_EXIT_CODE, code);
    pf_session_exit();
    if (READY(exit_))
        pf_real.exit_(code);
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

PF_EXPORT void _Exit(int code)
{
    pf_session_set_exit(PF_EXIT_CODE, code);
    pf_session_exit();
    if (READY(Exit_))
        pf_real.Exit_(code);
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

PF_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    int rc = READY(execve) ? pf_real.execve(path, argv, envp) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

PF_EXPORT int execv(const char *path, char *const argv[])
{
    pf_session_exec_attempt();
    int rc = READY(execv) ? pf_real.execv(path, argv) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

PF_EXPORT int execvp(const char *file, char *const argv[])
{
    pf_session_exec_attempt();
    int rc = READY(execvp) ? pf_real.execvp(file, argv) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

PF_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    int rc = READY(execvpe) ? pf_real.execvpe(file, argv, envp) : (errno = ENOSYS, -1);
    pf_session_exec_failed();
    return rc;
}

/* ITIMER_PROF delivers SIGPROF, the CPU sampler's signal: a program that starts it owns
 * SIGPROF, and the sampler stands down before the call (lib/runtime/cpu.c). */
PF_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *value, struct itimerval *old)
{
    if (which == ITIMER_PROF && value && !pf_in_hook &&
        (value->it_value.tv_sec || value->it_value.tv_usec))
        pf_cpu_program_wants_sigprof("the program started ITIMER_PROF (setitimer)");
    return READY(setitimer) ? pf_real.setitimer(which, value, old) : (errno = ENOSYS, -1);
}

PF_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    pf_session_exec_attempt();
    return READY(fexecve) ? pf_real.fexecve(fd, argv, envp) : (errno = ENOSYS, -1);
}

PF_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    pf_session_exec_attempt();
    return READY(execveat) ? pf_real.execveat(dirfd, path, argv, envp, flags) : (errno = ENOSYS, -1);
}

/* The list forms gather their arguments on the stack, as glibc's own do (exec may not
 * allocate: it is async-signal-safe and may follow a vfork), and go the vector way. ENVP, when
 * wanted, is the word after the terminating NULL. */
#define EXEC_LIST(first, want_envp)                                                            \
    size_t argc = 1;                                                                           \
    va_list ap;                                                                                \
    va_start(ap, first);                                                                       \
    while (va_arg(ap, char *) != NULL)                                                         \
        argc++;                                                                                \
    va_end(ap);                                                                                \
    char *argv[argc + 1];                                                                      \
    argv[0] = (char *)(first);                                                                 \
    va_start(ap, first);                                                                       \
    for (size_t i = 1; i <= argc; i++)                                                         \
        argv[i] = va_arg(ap, char *);                                                          \
    char *const *envp = (want_envp) ? va_arg(ap, char *const *) : NULL;                        \
    va_end(ap);                                                                                \
    (void)envp

PF_EXPORT int execl(const char *path, const char *arg, ...)
{
    EXEC_LIST(arg, 0);
    return execv(path, argv);
}

PF_EXPORT int execle(const char *path, const char *arg, ...)
{
    EXEC_LIST(arg, 1);
    return execve(path, argv, envp);
}

PF_EXPORT int execlp(const char *file, const char *arg, ...)
{
    EXEC_LIST(arg, 0);
    return execvp(file, argv);
}

/* ---- the signal calls ---------------------------------------------------------------- */

/* SIGPROF is the CPU sampler's: a program that sets it (or ITIMER_PROF, below) owns it, and the
 * sampler stands down before the call (lib/runtime/cpu.c); a query while pferris samples sees
 * what the program set. pf_in_hook: pferris's own calls pass straight through. */
PF_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == SIGPROF && !pf_in_hook) {
        if (act)
            pf_cpu_program_wants_sigprof("the program set SIGPROF's disposition (sigaction)");
        else if (pf_cpu_hidden_sigprof(old))
            return 0;
    }
    return pf_signals_sigaction(sig, act, old);
}

/* The thread's alternate stack, noted for the room check of a sampled allocation's unwind
 * (sites.c), which then needs no system call of its own. glibc's sigaltstack is the system
 * call alone. */
PF_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
    int rc = (int)syscall(SYS_sigaltstack, ss, old);
    if (rc == 0 && ss) {
        int saved = errno;
        pf_thread_t *t = pf_thread();
        if (t) {
            uintptr_t lo = (uintptr_t)ss->ss_sp;
            if (ss->ss_flags & SS_DISABLE)
                pf_thread_note_altstack(t, 0, 0);
            else
                pf_thread_note_altstack(t, lo, lo + ss->ss_size);
        }
        errno = saved;
    }
    return rc;
}

PF_EXPORT pf_sighandler_t signal(int sig, pf_sighandler_t handler)
{
    if (sig == SIGPROF && !pf_in_hook)
        pf_cpu_program_wants_sigprof("the program set SIGPROF's disposition (signal)");
    return pf_signals_signal(sig, handler);
}
