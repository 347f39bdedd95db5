/* session.h — one profiling session per process: configuration from the PFERRIS_* variables,
 * the report written at exit, and what fork and exec do to them. The preload calls these; a
 * program linked with -lpferris gets a report at exit only when PFERRIS_OUTPUT is set. */
#ifndef PF_SESSION_H
#define PF_SESSION_H

#include <stddef.h>
#include "base/atomic.h"
#include "report/report.h"

typedef struct {
    int heap;              /* PFERRIS_HEAP */
    long long sample;      /* PFERRIS_SAMPLE */
    int quiet;             /* PFERRIS_QUIET */
    int workers;           /* PFERRIS_WORKERS, 0 when unset */
    int stack_depth;       /* PFERRIS_STACK_DEPTH */
    int cpu_hz;            /* PFERRIS_CPU_HZ */
} pf_config_t;

extern pf_config_t pf_config PF_HIDDEN;

/* preloaded: 1 from the preload's constructor when this library is in LD_PRELOAD. */
void pf_session_init(int preloaded) PF_HIDDEN;
/* Writes report r to fd in 64 KiB writes: 0, or -errno of the first failure (EFBIG before the
 * file size limit would raise SIGXFSZ, ENOSPC, EPIPE...). The caller holds pf_sigquiet. */
int pf_session_dump(struct json_t *r, int fd) PF_HIDDEN;
/* What the report says of this process (command line, start, rank, configuration). */
pf_process_info_t pf_session_process_info(void) PF_HIDDEN;
/* Writes the report once per process (normal exit, exit from any thread, _exit). */
void pf_session_exit(void) PF_HIDDEN;
/* A forked child that calls exec and fails leaves no report of its own. */
void pf_session_exec_attempt(void) PF_HIDDEN;
/* The exec returned: it failed, and the process goes on as before. */
void pf_session_exec_failed(void) PF_HIDDEN;
/* The report path for this process from a PFERRIS_OUTPUT pattern (%p %e %h %%). */
int pf_session_expand(const char *pattern, char *out, size_t size) PF_HIDDEN;
/* Writes the process report to path ("-" is stderr) without following a symlink or replacing
 * an existing file (a ".N" suffix is added instead). 0 or -errno; the path used in used. */
int pf_session_write(const char *path, char *used, size_t size) PF_HIDDEN;

/* How the process is ending (PF_EXIT_* of report.h, and the code or the signal): the report's
 * "exit" key. Ignored in a vfork child, whose memory is its parent's. */
void pf_session_set_exit(int how, int value) PF_HIDDEN;
/* From the wrapper of main, once the loader's exit handler exists: learns exit's status. */
void pf_session_main_starts(void) PF_HIDDEN;
/* Takes the one final report of this process for the caller (1), or 0 when it is not this
 * process's to write (no report wanted, already written, a vfork child, an exec'ing fork). */
int pf_session_claim(void) PF_HIDDEN;
/* 1 while this process will still write a report at its end (checkpoints are worth writing). */
int pf_session_active(void) PF_HIDDEN;
/* The absolute report path of this process ("-" for stderr). 0 or -errno. */
int pf_session_report_path(char *out, size_t size) PF_HIDDEN;
/* An existing character device or FIFO named by path, opened for writing as it is, or the
 * descriptor path stands for (/dev/stderr, /dev/fd/N): 1 and *fd, 0 when path is no such thing
 * (the report is then a regular file), or -errno (a FIFO with no reader: -ENXIO; the open never
 * blocks). System calls only: the crash handler uses it too. */
int pf_session_open_stream(const char *path, int *fd) PF_HIDDEN;
/* The command line and the start time, for the crash report (no allocation). */
const char *const *pf_session_argv(void) PF_HIDDEN;
const char *pf_session_start_time(void) PF_HIDDEN;

#endif
