/* crash.c — the report of a crashing process (see crash.h): written by hand into a static
 * buffer and write(2), with no malloc, no stdio and no lock of ours; only dladdr (the loader's
 * recursive lock) names the frames. */
#include "session/crash.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "base/clock.h"
#include "report/keys.h"
#include "report/report.h"
#include "runtime/heap.h"
#include "session/checkpoint.h"
#include "session/session.h"

#define CRASH_FRAMES 64

static struct {
    char buf[1 << 16];
    size_t n;
} crash_buf;

static void put(const char *s, size_t n)
{
    if (n > sizeof crash_buf.buf - crash_buf.n)
        n = sizeof crash_buf.buf - crash_buf.n;
    memcpy(crash_buf.buf + crash_buf.n, s, n);
    crash_buf.n += n;
}

static void put_s(const char *s)
{
    put(s, strlen(s));
}

static void put_u(unsigned long long v)
{
    char t[24];
    int i = sizeof t;
    do
        t[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(t + i, sizeof t - (size_t)i);
}

static void put_i(long long v)
{
    if (v < 0) {
        put_s("-");
        put_u(0ull - (unsigned long long)v);
    } else {
        put_u((unsigned long long)v);
    }
}

/* A JSON string, at most max bytes of s; null for NULL. */
static void put_q(const char *s, size_t max)
{
    if (!s) {
        put_s("null");
        return;
    }
    static const char hex[] = "0123456789abcdef";
    put_s("\"");
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(e, 6);
        } else {
            put((const char *)&c, 1);
        }
    }
    put_s("\"");
}

static void put_key(const char *key)
{
    put_q(key, 64);
    put_s(": ");
}

/* Seconds with microseconds, without printf's floating point. */
static void put_sec(double s)
{
    if (!(s >= 0) || s > 1e12)
        s = 0;
    unsigned long long us = (unsigned long long)(s * 1e6);
    put_u(us / 1000000);
    char f[7];
    for (int i = 5; i >= 0; i--, us /= 10)
        f[i] = (char)('0' + us % 10);
    f[6] = '.';
    put(f + 6, 1);
    put(f, 6);
}

static uintptr_t context_pc(void *uc)
{
#if defined(__x86_64__)
    return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static void put_frames(void *uc, int (*backtrace)(void **, int))
{
    void *frames[CRASH_FRAMES + 8];
    int n = backtrace ? backtrace(frames, CRASH_FRAMES + 8) : 0, start = 0;
    uintptr_t pc = uc ? context_pc(uc) : 0;
    /* The handler's own frames and the signal trampoline come first: start at the faulting pc. */
    for (int i = 0; i < n; i++)
        if ((uintptr_t)frames[i] == pc) {
            start = i;
            break;
        }
    if (n == 0 && pc) {
        frames[0] = (void *)pc;
        n = 1;
    }
    put_s("[");
    for (int i = start; i < n && i - start < CRASH_FRAMES; i++) {
        uintptr_t a = (uintptr_t)frames[i];
        Dl_info info;
        int known = dladdr((void *)(i > start ? a - 1 : a), &info) && info.dli_fname;
        put_s(i > start ? ",\n   {" : "\n   {");
        put_key(PF_KEY_SYMBOL);
        put_q(known ? info.dli_sname : NULL, 256);
        put_s(", ");
        put_key(PF_KEY_MODULE);
        put_q(known ? info.dli_fname : NULL, 512);
        put_s(", ");
        put_key(PF_KEY_OFFSET);
        if (known)
            put_u((unsigned long long)(a - (uintptr_t)info.dli_fbase));
        else
            put_u((unsigned long long)a);
        put_s("}");
    }
    put_s("]");
}

static void build_crash(int sig, siginfo_t *si, void *uc, int (*backtrace)(void **, int))
{
    char name[32], host[256] = {0};
    crash_buf.n = 0;
    put_s("{\n ");
    put_key(PF_KEY_SCHEMA);
    put_q(PFERRIS_SCHEMA, 64);
    put_s(",\n ");
    put_key(PF_KEY_PFERRIS_VERSION);
    put_q(PFERRIS_VERSION, 64);
    put_s(",\n ");
    put_key(PF_KEY_PID);
    put_i(getpid());
    put_s(",\n ");
    put_key(PF_KEY_PPID);
    put_i(getppid());
    put_s(",\n ");
    gethostname(host, sizeof host - 1);
    put_key(PF_KEY_HOSTNAME);
    put_q(host, sizeof host);
    put_s(",\n ");
    put_key(PF_KEY_COMMAND);
    put_s("[");
    const char *const *argv = pf_session_argv();
    for (size_t i = 0; argv && argv[i] && crash_buf.n < sizeof crash_buf.buf / 4; i++) {
        put_s(i ? ", " : "");
        put_q(argv[i], 4096);
    }
    put_s("],\n ");
    put_key(PF_KEY_START_TIME);
    put_q(pf_session_start_time()[0] ? pf_session_start_time() : NULL, 96);
    put_s(",\n ");
    put_key(PF_KEY_TOTAL_ELAPSED);
    put_sec(pf_clock_now_sec());
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    put_s(",\n ");
    put_key(PF_KEY_HEAP);
    put_s("{");
    put_key(PF_KEY_ENABLED);
    put_s(pf_load_relaxed(&pf_heap_enabled) > 0 ? "true" : "false");
    static const char *const keys[] = {PF_KEY_ALLOCATIONS, PF_KEY_FREES, PF_KEY_BYTES_ALLOCATED,
                                       PF_KEY_BYTES_FREED, PF_KEY_PEAK_BYTES, PF_KEY_LIVE_BYTES};
    long long vals[] = {(long long)h.allocs,      (long long)h.frees, (long long)h.bytes_req,
                        (long long)h.bytes_freed, (long long)h.peak,  (long long)h.live};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        put_s(", ");
        put_key(keys[i]);
        put_i(vals[i]);
    }
    put_s("},\n ");
    put_key(PF_KEY_EXIT);
    put_s("{");
    put_key(PF_KEY_HOW);
    put_q(PF_EXIT_HOW_CRASH, 16);
    put_s(", ");
    put_key(PF_KEY_SIGNAL);
    put_i(sig);
    put_s(", ");
    put_key(PF_KEY_SIGNAL_NAME);
    put_q(pf_report_signal_name(sig, name, sizeof name), 32);
    put_s(", ");
    put_key(PF_KEY_CRASHED_TID);
    put_i((long long)syscall(SYS_gettid));
    if (si && si->si_code > 0 && sig != SIGABRT && sig != SIGSYS) {
        put_s(", ");
        put_key(PF_KEY_ADDRESS);
        put_u((unsigned long long)(uintptr_t)si->si_addr);
    }
    put_s(",\n  ");
    put_key(PF_KEY_FRAMES);
    put_frames(uc, backtrace);
    put_s("}\n}\n");
}

static int write_all(int fd)
{
    for (size_t off = 0; off < crash_buf.n;) {
        ssize_t w = write(fd, crash_buf.buf + off, crash_buf.n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* Over the last checkpoint by rename, else a new file as the exclusive open makes it. */
static int write_crash(char *used, size_t size)
{
    static char path[PATH_MAX + 96], tmp[PATH_MAX + 128];
    const char *ck = pf_checkpoint_path();
    if (ck) {
        snprintf(path, sizeof path, "%s", ck);
        snprintf(tmp, sizeof tmp, "%s.%d.crash", path, (int)getpid());
        unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        int rc = write_all(fd);
        close(fd);
        if (rc == 0)
            rc = rename(tmp, path);
        snprintf(used, size, "%s", path);
        return rc;
    }
    if (pf_session_report_path(path, sizeof path) != 0)
        return -1;
    if (strcmp(path, "-") == 0) {
        snprintf(used, size, "stderr");
        return write_all(2);
    }
    int fd, stream = pf_session_open_stream(path, &fd);
    if (stream < 0)
        return -1;
    if (stream > 0) { /* a device or a FIFO, written as it is (/dev/null: nothing made beside) */
        snprintf(used, size, "%s", path);
        int rc = write_all(fd);
        close(fd);
        return rc;
    }
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    size_t len = strlen(path);
    int has_ext = len > 5 && strcmp(path + len - 5, ".json") == 0;
    snprintf(used, size, "%s", path);
    fd = open(used, flags, 0644);
    for (int i = 1; fd < 0 && errno == EEXIST && i < 1000; i++) {
        if (has_ext)
            snprintf(used, size, "%.*s.%d.json", (int)(len - 5), path, i);
        else
            snprintf(used, size, "%s.%d", path, i);
        fd = open(used, flags, 0644);
    }
    if (fd < 0)
        return -1;
    int rc = write_all(fd);
    close(fd);
    return rc;
}

int pf_crash_write(int sig, siginfo_t *si, void *uc, int (*backtrace)(void **, int), char *used,
                   size_t size)
{
    build_crash(sig, si, uc, backtrace);
    return write_crash(used, size);
}
