/* site.c — a call site (heap or CPU) as text: its frames joined, for the summary's tables, the
 * folded stacks of --flame and the rows of --diff; and what the modules its frames name say
 * about them (link address, GNU build ID, source lines from addr2line), for --top and --pprof. */
#include <elf.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cmd.h"
#include "report/demangle.h"

int pf_site_is_python(json_t *f)
{
    return !strcmp(pf_json_str(f, PF_KEY_LANGUAGE, ""), PF_LANGUAGE_PYTHON);
}

/* A Python frame: "function (file.py:line)", the file's name only, as the tables show native
 * frames' source. */
static void python_frame_text(json_t *f, char *buf, size_t n)
{
    const char *mod = pf_json_str(f, PF_KEY_MODULE, "??"), *base = strrchr(mod, '/');
    long long line = pf_json_to_ll(pf_json_num0(f, PF_KEY_LINE));
    if (line > 0)
        snprintf(buf, n, "%s (%s:%lld)", pf_json_str(f, PF_KEY_SYMBOL, "??"), base ? base + 1 : mod, line);
    else
        snprintf(buf, n, "%s (%s)", pf_json_str(f, PF_KEY_SYMBOL, "??"), base ? base + 1 : mod);
}

/* One frame as text: the function (C++ names demangled), else module+offset. Characters that would break the folded
 * format (';' separates frames, newlines separate stacks) are replaced. */
void pf_site_frame_text(json_t *f, char *buf, size_t n)
{
    const char *sym = pf_json_str(f, PF_KEY_DEMANGLED, NULL);
    char *dm = NULL;
    if (!sym) {
        sym = pf_json_str(f, PF_KEY_SYMBOL, NULL);
        if ((dm = pf_demangle(sym)))
            sym = dm;
    }
    const char *mod = pf_json_str(f, PF_KEY_MODULE, NULL);
    double off = pf_json_num(f, PF_KEY_OFFSET);
    const char *src = pf_json_str(f, PF_KEY_SOURCE, NULL);
    if (pf_site_is_python(f)) {
        python_frame_text(f, buf, n);
    } else if (sym && *sym && strcmp(sym, "??") != 0 && src) {
        snprintf(buf, n, "%s (%s)", sym, src);
    } else if (sym && *sym && strcmp(sym, "??") != 0) {
        snprintf(buf, n, "%s", sym);
    } else {
        const char *base = mod ? strrchr(mod, '/') : NULL;
        base = base ? base + 1 : mod;
        if (base && *base && strcmp(base, "??") != 0)
            snprintf(buf, n, "%s+0x%llx", base,
                     (unsigned long long)pf_json_to_ll(isnan(off) ? 0 : off));
        else
            snprintf(buf, n, "[unknown]");
    }
    free(dm);
    for (char *p = buf; *p; p++)
        if (*p == ';' || *p == '\n' || *p == '\r')
            *p = ':';
}

/* Appends text to a growing string; NULL (and the string freed) when memory runs out. */
static char *append(char *s, size_t *len, size_t *cap, const char *sep, const char *text)
{
    size_t need = *len + strlen(sep) + strlen(text) + 1;
    if (need > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < need)
            c *= 2;
        char *t = realloc(s, c);
        if (!t) {
            free(s);
            return NULL;
        }
        s = t;
        *cap = c;
    }
    *len += (size_t)sprintf(s + *len, "%s%s", *len ? sep : "", text);
    return s;
}

char *pf_site_stack(json_t *site, const char *sep, int innermost)
{
    json_t *frames = json_object_get(site, PF_KEY_FRAMES);
    size_t n = json_array_size(frames), len = 0, cap = 0, from = 0;
    size_t shown = innermost > 0 && (size_t)innermost < n ? (size_t)innermost : n;
    char *s = NULL, fr[512];
    if (innermost > 0) {
        size_t py = 0;
        while (py < n && !pf_site_is_python(json_array_get(frames, py)))
            py++;
        if (py < n && py >= shown) { /* the Python frames would be cut off: jump to them */
            pf_site_frame_text(json_array_get(frames, 0), fr, sizeof fr);
            if (!(s = append(s, &len, &cap, sep, fr)) || !(s = append(s, &len, &cap, sep, "...")))
                return NULL;
            from = py;
            shown = n - py < shown ? n - py : shown;
        }
    }
    for (size_t i = from; i < from + shown; i++) {
        pf_site_frame_text(json_array_get(frames, innermost > 0 ? i : n - 1 - i), fr, sizeof fr);
        if (!(s = append(s, &len, &cap, sep, fr)))
            return NULL;
    }
    if (s && innermost > 0 && from + shown < n)
        s = append(s, &len, &cap, "", " < ...");
    return s ? s : strdup("[no frames]");
}

/* ---- modules: ELF files named by frames ------------------------------------------------ */

extern char **environ;

/* A module path comes from an untrusted report: it is opened only if it is a regular file. A
 * FIFO would block the open or the read forever, and merely opening some devices acts on them
 * (a watchdog, a tape), so the type is checked before the open, the open cannot block, and the
 * type is checked again on what was opened (the name may have been swapped in between). Every
 * reader of the module (ours and addr2line) reads this descriptor, never the name. The
 * descriptor, or -1. */
static int open_module(const char *module)
{
    struct stat pre;
    if (!module || module[0] != '/' || stat(module, &pre) != 0 || !S_ISREG(pre.st_mode))
        return -1;
    int fd = open(module, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    return off < (uint64_t)INT64_MAX && pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

/* The GNU build ID in a PT_NOTE segment, as hex into m->build_id. */
static void read_build_id(int fd, const Elf64_Phdr *ph, pf_site_module_t *m)
{
    if (ph->p_filesz > 65536)
        return;
    uint8_t *note = malloc(ph->p_filesz ? ph->p_filesz : 1);
    if (!note || read_at(fd, note, ph->p_filesz, ph->p_offset) != 0) {
        free(note);
        return;
    }
    size_t off = 0, end = ph->p_filesz;
    while (off + sizeof(Elf64_Nhdr) <= end) {
        Elf64_Nhdr nh;
        memcpy(&nh, note + off, sizeof nh);
        size_t name = off + sizeof nh, desc = name + ((nh.n_namesz + 3u) & ~3u);
        size_t next = desc + ((nh.n_descsz + 3u) & ~3u);
        if (desc > end || nh.n_descsz > end - desc || next < desc)
            break;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(note + name, "GNU", 4) &&
            nh.n_descsz * 2 < sizeof m->build_id) {
            for (size_t i = 0; i < nh.n_descsz; i++)
                snprintf(m->build_id + 2 * i, 3, "%02x", note[desc + i]);
            break;
        }
        off = next;
    }
    free(note);
}

/* The module's facts from the module open on fd. */
static int module_facts(int fd, pf_site_module_t *m)
{
    Elf64_Ehdr eh;
    int rc = -1;
    if (read_at(fd, &eh, sizeof eh, 0) == 0 && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        eh.e_phnum < 256) {
        int loads = 0;
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (read_at(fd, &ph, sizeof ph, eh.e_phoff + (uint64_t)i * sizeof ph) != 0)
                break;
            if (ph.p_type == PT_NOTE && !m->build_id[0])
                read_build_id(fd, &ph, m);
            if (ph.p_type != PT_LOAD)
                continue;
            uint64_t lo = ph.p_vaddr & ~0xfffull, hi = ph.p_vaddr + ph.p_memsz;
            if (!loads++ || lo < m->link_base)
                m->link_base = lo;
            if (hi > m->link_end)
                m->link_end = hi;
        }
        m->executable = eh.e_type == ET_EXEC;
        rc = loads ? 0 : -1;
    }
    return rc;
}

int pf_site_module(const char *module, pf_site_module_t *m)
{
    *m = (pf_site_module_t){0};
    int fd = open_module(module);
    if (fd < 0)
        return -1;
    int rc = module_facts(fd, m);
    close(fd);
    return rc;
}

/* Runs `addr2line -e /dev/fd/3 ADDR...` (binutils) on the module open on fd: one "file:line"
 * line per address, read into a growing buffer; never through a shell. NULL when it cannot be
 * run; to be freed. */
static char *run_addr2line(int fd, char **addrs, size_t n)
{
    char **argv = calloc(n + 4, sizeof *argv);
    int fds[2];
    if (!argv || pipe(fds) != 0) {
        free(argv);
        return NULL;
    }
    argv[0] = "addr2line";
    argv[1] = "-e";
    argv[2] = "/dev/fd/3";
    memcpy(argv + 3, addrs, n * sizeof *addrs);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_adddup2(&fa, fd, 3);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *out = rc == 0 ? malloc(cap) : NULL;
    while (out) {
        if (len + 1 == cap) {
            char *o = cap < (64u << 20) ? realloc(out, cap * 2) : NULL;
            if (!o)
                break; /* what was read is kept */
            out = o;
            cap *= 2;
        }
        ssize_t k = read(fds[0], out + len, cap - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fds[0]);
    if (rc == 0)
        waitpid(pid, NULL, 0);
    if (out)
        out[len] = '\0';
    free(argv);
    return out;
}

/* One addr2line line ("dir/file.c:22 (discriminator 1)", "??:0", "file.c:?") into q. */
static void parse_line(char *l, pf_site_source_t *q)
{
    char *disc = strstr(l, " (discriminator");
    if (disc)
        *disc = '\0';
    char *colon = strrchr(l, ':');
    if (!colon || colon == l)
        return;
    *colon = '\0';
    if (!strcmp(l, "??"))
        return;
    /* Debug information is untrusted too: control bytes would break a table or a protobuf
     * string, and bytes above 0x7f need not be UTF-8. */
    for (char *c = l; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    snprintf(q->file, sizeof q->file, "%s", l);
    q->line = atol(colon + 1);
    if (q->line < 0)
        q->line = 0;
}

/* Up to 256 addresses of one module per addr2line. */
#define ADDR2LINE_BATCH 256

static void resolve_module(pf_site_source_t **q, size_t n)
{
    pf_site_module_t m = {0};
    int fd = open_module(q[0]->module);
    if (fd < 0)
        return;
    if (module_facts(fd, &m) != 0) {
        close(fd);
        return;
    }
    char hex[ADDR2LINE_BATCH][24], *argv[ADDR2LINE_BATCH];
    for (size_t at = 0; at < n; at += ADDR2LINE_BATCH) {
        size_t k = n - at < ADDR2LINE_BATCH ? n - at : ADDR2LINE_BATCH;
        for (size_t i = 0; i < k; i++) {
            snprintf(hex[i], sizeof hex[i], "0x%llx",
                     (unsigned long long)(m.link_base + q[at + i]->offset));
            argv[i] = hex[i];
        }
        char *out = run_addr2line(fd, argv, k), *save = NULL;
        char *l = out ? strtok_r(out, "\n", &save) : NULL;
        for (size_t i = 0; i < k && l; i++, l = strtok_r(NULL, "\n", &save))
            parse_line(l, q[at + i]);
        free(out);
    }
    close(fd);
}

static int by_module(const void *a, const void *b)
{
    const pf_site_source_t *x = *(pf_site_source_t *const *)a, *y = *(pf_site_source_t *const *)b;
    return strcmp(x->module, y->module);
}

void pf_site_sources(pf_site_source_t *q, size_t n)
{
    pf_site_source_t **order = calloc(n ? n : 1, sizeof *order);
    size_t k = 0;
    for (size_t i = 0; order && i < n; i++) {
        q[i].file[0] = '\0';
        q[i].line = 0;
        if (q[i].module && q[i].module[0] == '/')
            order[k++] = &q[i];
    }
    if (order)
        qsort(order, k, sizeof *order, by_module);
    for (size_t i = 0, j; order && i < k; i = j) {
        for (j = i + 1; j < k && !strcmp(order[j]->module, order[i]->module); j++)
            ;
        resolve_module(order + i, j - i);
    }
    free(order);
}
