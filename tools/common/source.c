/* source.c — a code address's source file and line, from addr2line (binutils), for the tools'
 * tables: `pferris report` (call sites, locks) and pferris-tune (the lock threads wait on).
 * Moved here from tools/pferris/summary.c so both tools share it. */
#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/source.h"

extern char **environ;

/* The link-time address of a module offset: offset + the lowest PT_LOAD address (0 for most
 * shared objects and PIE, 0x400000 for a classic executable). -1 when module is no ELF file. */
static long long link_address(const char *module, unsigned long long offset)
{
    int fd = open(module, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    long long base = -1;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
        !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        eh.e_phnum < 256) {
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) !=
                (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_LOAD && (base < 0 || (long long)(ph.p_vaddr & ~0xfffull) < base))
                base = (long long)(ph.p_vaddr & ~0xfffull);
        }
    }
    close(fd);
    return base < 0 ? -1 : base + (long long)offset;
}

/* Runs addr2line on one address and reads the first n - 1 bytes it writes into out.
 * 0 when addr2line could be started. */
static int run_addr2line(const char *module, long long addr, char *out, size_t n)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)addr);
    char *argv[] = {"addr2line", "-e", (char *)module, hex, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    size_t len = 0;
    if (rc == 0) {
        ssize_t k;
        while (len < n - 1 && (k = read(fds[0], out + len, n - 1 - len)) > 0)
            len += (size_t)k;
        waitpid(pid, NULL, 0);
    }
    close(fds[0]);
    out[len] = '\0';
    return rc == 0 ? 0 : -1;
}

/* "file:line" of a frame from addr2line (binutils), when the module has debug information.
 * The module path comes from an untrusted report: it is passed as one argv word, never
 * through a shell. 0 when found. */
int pf_source_line(const char *module, unsigned long long offset, char *out, size_t n)
{
    long long addr = link_address(module, offset);
    if (addr < 0)
        return -1;
    int rc = run_addr2line(module, addr, out, n);
    out[strcspn(out, "\n")] = '\0';
    if (rc != 0 || !*out || out[0] == '?')
        return -1;
    const char *slash = strrchr(out, '/'); /* the file's name is enough in a table */
    if (slash)
        memmove(out, slash + 1, strlen(slash + 1) + 1);
    char *disc = strstr(out, " (discriminator");
    if (disc)
        *disc = '\0';
    return 0;
}
