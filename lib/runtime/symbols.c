/* symbols.c — reading ELF .symtab sections for names (a stripped module's from its separate
 * debug file when installed), cached per module. Runs only while the report is built
 * (pf_in_hook is set), so it may use malloc and stdio freely.
 *
 * Reports may be built by several threads at once (the API, the report at exit): the cache is
 * under one mutex, held through each lookup and each release, so no table is freed or unmapped
 * while another thread reads it. Never a hot path; a fork child starts with an empty cache. */
#include "runtime/symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    uint64_t value, size;
    const char *name;
} sym_t;

typedef struct {
    void *base;           /* dli_fbase: the cache key */
    int is_dyn;           /* ET_DYN: symbol values are relative to the load base */
    sym_t *syms;
    size_t n;
    void *map;
    size_t map_len;
    void *dbg_map;        /* the separate debug file whose .symtab syms point into, or NULL */
    size_t dbg_len;
} module_t;

#define MAX_MODULES 128
static module_t modules[MAX_MODULES];
static int nmodules;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int by_value(const void *a, const void *b)
{
    uint64_t x = ((const sym_t *)a)->value, y = ((const sym_t *)b)->value;
    return x < y ? -1 : x > y;
}

/* The functions of one symbol table (type SHT_SYMTAB or SHT_DYNSYM) of the ELF file f, into
 * m->syms. 0 when the file has such a table. Bounds are checked on every read: the file is
 * whatever is on disk now. */
static int read_syms(module_t *m, const unsigned char *f, size_t len, uint32_t type)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shoff == 0 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
        return -1;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    const Elf64_Shdr *tab = NULL;
    for (int i = 0; i < eh->e_shnum && !tab; i++)
        if (sh[i].sh_type == type)
            tab = &sh[i];
    if (!tab || tab->sh_link >= eh->e_shnum || tab->sh_entsize != sizeof(Elf64_Sym) ||
        tab->sh_offset + tab->sh_size > len)
        return -1;
    const Elf64_Shdr *strs = &sh[tab->sh_link];
    if (strs->sh_offset + strs->sh_size > len)
        return -1;
    const Elf64_Sym *sym = (const Elf64_Sym *)(f + tab->sh_offset);
    size_t count = tab->sh_size / sizeof(Elf64_Sym);
    sym_t *syms = malloc((count ? count : 1) * sizeof *syms);
    if (!syms)
        return -1;
    size_t n = 0;
    const char *strtab = (const char *)f + strs->sh_offset;
    for (size_t i = 0; i < count; i++) {
        if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || sym[i].st_value == 0 ||
            sym[i].st_name >= strs->sh_size)
            continue;
        const char *name = strtab + sym[i].st_name;
        if (!memchr(name, '\0', strs->sh_size - sym[i].st_name))
            continue;
        syms[n++] = (sym_t){sym[i].st_value, sym[i].st_size, name};
    }
    qsort(syms, n, sizeof *syms, by_value);
    free(m->syms);
    m->syms = syms;
    m->n = n;
    return 0;
}

static void *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *len = (size_t)st.st_size;
    void *f = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    return f == MAP_FAILED ? NULL : f;
}

/* The section called name in f, or NULL. */
static const Elf64_Shdr *section(const unsigned char *f, size_t len, const char *name)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    if (eh->e_shstrndx >= eh->e_shnum)
        return NULL;
    const Elf64_Shdr *names = &sh[eh->e_shstrndx];
    if (names->sh_offset + names->sh_size > len)
        return NULL;
    size_t want = strlen(name) + 1;
    for (int i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_name + want <= names->sh_size &&
            memcmp(f + names->sh_offset + sh[i].sh_name, name, want) == 0 &&
            sh[i].sh_offset + sh[i].sh_size <= len)
            return &sh[i];
    return NULL;
}

/* A stripped module's separate debug file (Debian's -dbg and -dbgsym packages), mapped into
 * m->dbg_map, with its .symtab read into m->syms: found by build id
 * (/usr/lib/debug/.build-id/xx/rest.debug), else by .gnu_debuglink next to the module, in its
 * .debug folder or under /usr/lib/debug. 0 when found. f is the module's file, checked. */
static int load_debug_symtab(module_t *m, const unsigned char *f, size_t len, const char *path)
{
    char cand[4][1024];
    int nc = 0;
    const Elf64_Shdr *note = section(f, len, ".note.gnu.build-id");
    if (note && note->sh_size > 16) {
        const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(f + note->sh_offset);
        const unsigned char *id = f + note->sh_offset + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_descsz >= 2 && nh->n_descsz <= 64 &&
            sizeof *nh + ((nh->n_namesz + 3) & ~3u) + nh->n_descsz <= note->sh_size) {
            char hex[130];
            for (uint32_t i = 0; i < nh->n_descsz; i++)
                snprintf(hex + 2 * i, 3, "%02x", id[i]);
            snprintf(cand[nc++], sizeof cand[0], "/usr/lib/debug/.build-id/%.2s/%s.debug", hex,
                     hex + 2);
        }
    }
    const Elf64_Shdr *link = section(f, len, ".gnu_debuglink");
    if (link && link->sh_size > 1 && memchr(f + link->sh_offset, '\0', link->sh_size)) {
        const char *name = (const char *)f + link->sh_offset;
        const char *slash = strrchr(path, '/');
        int dir = slash ? (int)(slash - path) : 0;
        if (!strchr(name, '/')) {
            snprintf(cand[nc++], sizeof cand[0], "%.*s/.debug/%.200s", dir, path, name);
            snprintf(cand[nc++], sizeof cand[0], "/usr/lib/debug%.*s/%.200s", dir, path, name);
            if (strcmp(name, slash ? slash + 1 : path) != 0)
                snprintf(cand[nc++], sizeof cand[0], "%.*s/%.200s", dir, path, name);
        }
    }
    for (int i = 0; i < nc; i++) {
        size_t dlen;
        unsigned char *d = map_file(cand[i], &dlen);
        if (!d)
            continue;
        if (read_syms(m, d, dlen, SHT_SYMTAB) == 0 && m->n) {
            m->dbg_map = d;
            m->dbg_len = dlen;
            return 0;
        }
        munmap(d, dlen);
    }
    return -1;
}

/* Functions from the module's .symtab; a stripped module's from its separate debug file when
 * one is installed; else its .dynsym. */
static void load_symtab(module_t *m, const char *path)
{
    size_t len;
    unsigned char *f = map_file(path, &len);
    if (!f)
        return;
    m->map = f;
    m->map_len = len;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return;
    m->is_dyn = eh->e_type == ET_DYN;
    if (read_syms(m, f, len, SHT_SYMTAB) == 0)
        return;
    if (read_syms(m, f, len, SHT_DYNSYM) != 0)
        return; /* no symbols at all, and a debug file needs the section headers too */
    load_debug_symtab(m, f, len, path);
}

/* dladdr names the main program "" or by argv[0]: its real path is /proc/self/exe. */
static const char *real_path(const char *path, char *buf, size_t size)
{
    if (path && *path && strchr(path, '/'))
        return path;
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0)
        return path;
    buf[n] = '\0';
    return buf;
}

static module_t *module_of(void *base, const char *path)
{
    for (int i = 0; i < nmodules; i++)
        if (modules[i].base == base)
            return &modules[i];
    if (nmodules == MAX_MODULES)
        return NULL;
    module_t *m = &modules[nmodules++];
    memset(m, 0, sizeof *m);
    m->base = base;
    char exe[4096];
    path = real_path(path, exe, sizeof exe);
    if (path)
        load_symtab(m, path);
    return m;
}

static const sym_t *lookup(const module_t *m, uint64_t key)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) { /* the last symbol whose value <= key */
        size_t mid = (lo + hi) / 2;
        if (m->syms[mid].value <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const sym_t *s = &m->syms[lo - 1];
    return key < s->value + (s->size ? s->size : 1) ? s : NULL;
}

/* The module holding pc: its path and where it is mapped. _dl_find_object (glibc 2.35) is a
 * binary search; dladdr also scans the module's dynamic symbols for the nearest one, 44,000
 * instructions a frame with libc's (symbols are read from .symtab here anyway). The symbol
 * dladdr finds is then looked up only when .symtab has none. */
static int module_at(uintptr_t pc, Dl_info *info)
{
#ifdef DLFO_STRUCT_HAS_EH_DBASE
    struct dl_find_object fo;
    if (_dl_find_object((void *)pc, &fo) == 0 && fo.dlfo_link_map) {
        info->dli_fname = fo.dlfo_link_map->l_name;
        info->dli_fbase = fo.dlfo_map_start;
        info->dli_sname = NULL;
        info->dli_saddr = NULL;
        return 1;
    }
#endif
    return dladdr((void *)pc, info) != 0;
}

void pf_symbols_lookup(uintptr_t addr, pf_symbol_t *out)
{
    snprintf(out->symbol, sizeof out->symbol, "??");
    snprintf(out->module, sizeof out->module, "??");
    out->offset = addr;
    uintptr_t pc = addr ? addr - 1 : 0; /* inside the call instruction */
    Dl_info info;
    if (!module_at(pc, &info))
        return;
    char exe[4096];
    const char *path = real_path(info.dli_fname, exe, sizeof exe);
    snprintf(out->module, sizeof out->module, "%.500s", path ? path : "??");
    out->offset = pc - (uintptr_t)info.dli_fbase;
    pthread_mutex_lock(&lock);
    module_t *m = module_of(info.dli_fbase, info.dli_fname);
    const sym_t *s = m ? lookup(m, m->is_dyn ? out->offset : pc) : NULL;
    if (s)
        snprintf(out->symbol, sizeof out->symbol, "%s", s->name);
    pthread_mutex_unlock(&lock);
    if (!s && !info.dli_sname && dladdr((void *)pc, &info) == 0)
        info.dli_sname = NULL;
    if (!s && info.dli_sname)
        snprintf(out->symbol, sizeof out->symbol, "%s", info.dli_sname);
}

void pf_symbols_release(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nmodules; i++) {
        free(modules[i].syms);
        if (modules[i].map)
            munmap(modules[i].map, modules[i].map_len);
        if (modules[i].dbg_map)
            munmap(modules[i].dbg_map, modules[i].dbg_len);
    }
    nmodules = 0;
    pthread_mutex_unlock(&lock);
}

void pf_symbols_after_fork(void)
{
    /* Another thread may have held the lock mid-update at the fork: its tables are left
     * (a leak, once per fork), the cache starts empty. */
    pthread_mutex_init(&lock, NULL);
    nmodules = 0;
}
