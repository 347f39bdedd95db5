/* pyframes.c — reading CPython 3.11's frames into sampled stacks (see pyframes.h for the scheme;
 * py311.h for the layout read). Everything here may run in a malloc hook or a signal handler:
 * no malloc, no lock, no Python API call but PyGILState_GetThisThreadState. */
#include "runtime/pyframes.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "base/arena.h"
#include "runtime/py311.h"

#define MAX_WALK      256        /* Python frames read per stack at most */
#define MAX_LOCS      65536      /* distinct (function, file, line); index 0 is never used */
#define LOC_SLOTS     (2 * MAX_LOCS)
#define STR_SLOTS     65536
#define MAX_PROBE     256
#define POOL_BYTES    (8u << 20) /* interned names and files */
#define CACHE_LOG     14
#define LOC_BITS      24         /* a cache entry: key's high 40 bits, then the location */
#define LINETABLE_MAX (1u << 20)
#define FNV_BASIS     1469598103934665603ull
#define FNV_PRIME     1099511628211ull

typedef struct {
    uint64_t hash;
    uint32_t symbol, file; /* offsets of NUL-terminated strings in the pool */
    int32_t line;
} loc_t;

static struct {
    int active;
    const char *status;      /* NULL: no CPython in this process */
    char status_buf[128];
    uintptr_t eval_lo, eval_hi; /* _PyEval_EvalFrameDefault's code */
    void *(*this_tstate)(void);
    uintptr_t code_type, unicode_type, bytes_type;
    loc_t *locs;
    uint32_t nlocs;
    uint32_t *loc_slots, *str_slots;
    char *pool;
    uint32_t pool_used;
    /* (code object, its names, instruction) -> location: a hit costs no string read. */
    uint64_t *cache;
} py = {.nlocs = 1, .pool_used = 8};

/* ---- reading the interpreter's memory --------------------------------------------------- */

/* n bytes at addr into buf; 0 when all of them could be read. A stale pointer fails here
 * (EFAULT) instead of faulting. */
static int peek(pid_t pid, uintptr_t addr, void *buf, size_t n)
{
    if (addr < 4096 || addr + n < addr)
        return -1;
    struct iovec local = {buf, n}, remote = {(void *)addr, n};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

static uintptr_t word(const uint8_t *b, size_t off)
{
    uintptr_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

/* A str object's text as UTF-8 into out (cut at cap - 1 bytes); its length, or -1. Only
 * compact strings (all that code objects hold): ASCII ones directly, others from their UTF-8
 * copy when Python made one, else encoded here from their code points. */
static int read_str(pid_t pid, uintptr_t obj, char *out, size_t cap)
{
    uint8_t h[PY311_STR_READ];
    if (!obj || peek(pid, obj, h, sizeof h) != 0 || word(h, PY311_OB_TYPE) != py.unicode_type)
        return -1;
    uint8_t st = h[PY311_STR_STATE];
    size_t len = word(h, PY311_STR_LENGTH), n;
    if (!PY311_STR_COMPACT(st) || len > (1u << 30))
        return -1;
    if (PY311_STR_ASCII(st)) {
        n = len < cap - 1 ? len : cap - 1;
        if (peek(pid, obj + PY311_STR_ASCII_DATA, out, n) != 0)
            return -1;
    } else if (word(h, PY311_STR_UTF8)) {
        size_t ulen = word(h, PY311_STR_UTF8_LENGTH);
        n = ulen < cap - 1 ? ulen : cap - 1;
        if (peek(pid, word(h, PY311_STR_UTF8), out, n) != 0)
            return -1;
        while (n < ulen && n > 0 && ((uint8_t)out[n] & 0xC0) == 0x80)
            n--; /* cut at a character boundary */
    } else {
        unsigned kind = PY311_STR_KIND(st);
        uint8_t raw[512];
        size_t chars = len < sizeof raw / 4 ? len : sizeof raw / 4;
        if ((kind != 1 && kind != 2 && kind != 4) ||
            peek(pid, obj + PY311_STR_COMPACT_DATA, raw, chars * kind) != 0)
            return -1;
        n = 0;
        for (size_t i = 0; i < chars; i++) {
            uint32_t c;
            if (kind == 1) {
                c = raw[i];
            } else if (kind == 2) {
                uint16_t u;
                memcpy(&u, raw + 2 * i, sizeof u);
                c = u;
            } else {
                memcpy(&c, raw + 4 * i, sizeof c);
            }
            if (c >= 0xD800 && c < 0xE000) /* a lone surrogate: not UTF-8 */
                c = '?';
            int w = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
            if (c > 0x10FFFF || n + (size_t)w > cap - 1)
                break;
            if (w == 1) {
                out[n++] = (char)c;
                continue;
            }
            out[n++] = (char)((w == 2 ? 0xC0 : w == 3 ? 0xE0 : 0xF0) | (c >> (6 * (w - 1))));
            for (int k = w - 2; k >= 0; k--)
                out[n++] = (char)(0x80 | ((c >> (6 * k)) & 0x3F));
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* ---- the location table (co_linetable, 3.11 format: CPython's Objects/locations.md) ------- */

typedef struct {
    pid_t pid;
    uintptr_t at, end;
    uint8_t buf[256];
    uint32_t pos, len;
} stream_t;

static int next_byte(stream_t *s)
{
    if (s->pos == s->len) {
        size_t n = s->end - s->at < sizeof s->buf ? s->end - s->at : sizeof s->buf;
        if (n == 0 || peek(s->pid, s->at, s->buf, n) != 0)
            return -1;
        s->at += n;
        s->pos = 0;
        s->len = (uint32_t)n;
    }
    return s->buf[s->pos++];
}

/* The line of the instruction at byte offset addrq, as PyCode_Addr2Line finds it; where the
 * table says "no line" (an artificial instruction), the line of the entry before; 0 when the
 * table cannot be read. Each entry: a first byte with bit 7 set, code in bits 3-6 and length in
 * code units - 1 in bits 0-2; codes 13 and 14 carry the line delta as a signed varint, codes 11
 * and 12 mean +1 and +2, others +0; the bytes after the first have bit 7 clear. */
static int table_line(pid_t pid, uintptr_t table, int first, int64_t addrq)
{
    uint8_t h[PY311_BYTES_DATA];
    if (addrq < 0)
        return first;
    if (!table || peek(pid, table, h, sizeof h) != 0 || word(h, PY311_OB_TYPE) != py.bytes_type)
        return 0;
    size_t size = word(h, PY311_OB_SIZE);
    if (size > LINETABLE_MAX)
        return 0;
    stream_t s = {.pid = pid, .at = table + PY311_BYTES_DATA, .end = table + PY311_BYTES_DATA + size};
    int64_t line = first, end = 0; /* 64 bits: a garbage table cannot overflow them */
    int b = next_byte(&s);
    while (b >= 128) {
        int code = (b >> 3) & 15, units = (b & 7) + 1;
        int delta = code == 11 ? 1 : code == 12 ? 2 : 0;
        b = next_byte(&s);
        if (code == 13 || code == 14) {
            uint32_t val = 0;
            for (int shift = 0;; shift += 6) {
                if (b < 0 || b >= 128 || shift > 30)
                    return 0;
                val |= (uint32_t)(b & 63) << shift;
                int more = b & 64;
                b = next_byte(&s);
                if (!more)
                    break;
            }
            delta = val & 1 ? -(int)(val >> 1) : (int)(val >> 1);
        }
        while (b >= 0 && b < 128)
            b = next_byte(&s);
        line += delta;
        end += 2 * units;
        if (addrq < end)
            return line > 0 && line <= INT32_MAX ? (int)line : 0;
    }
    return 0;
}

/* ---- interning: strings, then locations ------------------------------------------------- */

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

/* Room for n bytes in the pool, 8-aligned: its offset, or 0 when the pool is full. */
static uint32_t pool_take(uint32_t n)
{
    n = (n + 7) & ~7u;
    uint32_t cur = pf_load_relaxed(&py.pool_used);
    do {
        if (cur > POOL_BYTES || n > POOL_BYTES - cur)
            return 0;
    } while (!pf_cas_relaxed(&py.pool_used, &cur, cur + n));
    return cur;
}

/* The pool offset of a copy of s[0 .. len) (NUL-terminated), the same for the same text; 0
 * when the pool or the table is full. Entries: hash (8 bytes), length (4), the text. */
static uint32_t intern_str(const char *s, uint32_t len)
{
    uint64_t h = fnv(s, len, FNV_BASIS);
    uint32_t mine = 0;
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        uint32_t *slot = &py.str_slots[(h + i) & (STR_SLOTS - 1)];
        uint32_t v = pf_load_acquire(slot);
        if (v == 0) {
            if (!mine) {
                if (!(mine = pool_take(12 + len + 1)))
                    return 0;
                char *e = py.pool + mine;
                memcpy(e, &h, 8);
                memcpy(e + 8, &len, 4);
                memcpy(e + 12, s, len);
                e[12 + len] = '\0';
            }
            /* Release: a reader that sees the slot sees the text. */
            if (pf_cas_acq_rel(slot, &v, mine))
                return mine + 12;
        }
        const char *e = py.pool + v;
        uint64_t eh;
        uint32_t el;
        memcpy(&eh, e, 8);
        memcpy(&el, e + 8, 4);
        if (eh == h && el == len && memcmp(e + 12, s, len) == 0)
            return v + 12; /* our copy, if any, stays unused */
    }
    return 0;
}

/* The index of (symbol, file, line) in the location table; 0 when a table is full. */
static uint32_t intern_loc(const char *symbol, int slen, const char *file, int flen, int line)
{
    uint32_t so = intern_str(symbol, (uint32_t)slen), fo = intern_str(file, (uint32_t)flen);
    if (!so || !fo)
        return 0;
    uint64_t h = (((uint64_t)so * FNV_PRIME) ^ fo) * FNV_PRIME ^ (uint32_t)line;
    h *= 0x9E3779B97F4A7C15ull;
    uint32_t mine = 0;
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        uint32_t *slot = &py.loc_slots[(h + i) & (LOC_SLOTS - 1)];
        uint32_t v = pf_load_acquire(slot);
        if (v == 0) {
            if (!mine) {
                mine = pf_take_below(&py.nlocs, MAX_LOCS);
                if (mine >= MAX_LOCS)
                    return 0;
                py.locs[mine] = (loc_t){.hash = h, .symbol = so, .file = fo, .line = line};
            }
            if (pf_cas_acq_rel(slot, &v, mine))
                return mine;
        }
        const loc_t *l = &py.locs[v];
        if (l->hash == h && l->symbol == so && l->file == fo && l->line == line)
            return v;
    }
    return 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* ---- frames ----------------------------------------------------------------------------- */

/* What a walk knows: frames are read a block at a time (a thread's frames sit next to each
 * other in its data stack, the older ones below), and each code object's header once. */
#define BLOCK      2048
#define MEMO       8
#define PAGE_FLOOR(a) ((a) & ~(uintptr_t)4095)

typedef struct {
    uintptr_t code, qual, file, table;
    int64_t units;
    int32_t first;
} code_t;

typedef struct {
    pid_t pid;
    uintptr_t frame; /* the next Python frame to read; 0 when the walk is over */
    int budget;
    uintptr_t lo, hi; /* block holds [lo, hi) */
    uint8_t block[BLOCK];
    code_t memo[MEMO];
    int nmemo;
} walk_t;

/* The frame at addr (PY311_FRAME_READ bytes) from the block, read when it is not there: from as
 * far below as the block holds without leaving addr's page, which is mapped if addr is a frame. */
static const uint8_t *frame_bytes(walk_t *w, uintptr_t addr)
{
    uintptr_t end = addr + PY311_FRAME_READ;
    if (end < addr)
        return NULL; /* garbage near the top of the address space */
    if (addr >= w->lo && end <= w->hi)
        return w->block + (addr - w->lo);
    uintptr_t lo = end - BLOCK < end && end - BLOCK > PAGE_FLOOR(addr) ? end - BLOCK : PAGE_FLOOR(addr);
    if (peek(w->pid, lo, w->block, end - lo) != 0) {
        w->lo = w->hi = 0;
        return NULL;
    }
    w->lo = lo;
    w->hi = end;
    return w->block + (addr - lo);
}

/* A code object's header, read once per walk; NULL when it is not a code object. */
static const code_t *code_of(walk_t *w, uintptr_t code)
{
    for (int i = 0; i < w->nmemo; i++)
        if (w->memo[i].code == code)
            return &w->memo[i];
    uint8_t c[PY311_CODE_READ];
    if (!code || (code & 7) || peek(w->pid, code, c, sizeof c) != 0 || word(c, PY311_OB_TYPE) != py.code_type)
        return NULL;
    code_t *m = &w->memo[w->nmemo < MEMO ? w->nmemo++ : MEMO - 1];
    *m = (code_t){.code = code, .qual = word(c, PY311_CODE_QUALNAME), .file = word(c, PY311_CODE_FILENAME),
                  .table = word(c, PY311_CODE_LINETABLE), .units = (int64_t)word(c, PY311_OB_SIZE)};
    memcpy(&m->first, c + PY311_CODE_FIRSTLINENO, sizeof m->first);
    return m;
}

/* The location of a frame running code at prev_instr; 0 when it cannot be read. */
static uint32_t locate(walk_t *w, uintptr_t code, uintptr_t prev_instr)
{
    const code_t *c = code_of(w, code);
    int64_t addrq = (int64_t)(prev_instr - (code + PY311_CODE_ADAPTIVE)); /* -2 before the first */
    if (!c || c->units <= 0 || c->units > (1 << 28) || addrq < -2 || addrq >= 2 * c->units)
        return 0;
    uint64_t key = mix(mix(mix(mix(mix(FNV_BASIS, code), c->qual), c->file), c->table),
                       (uint64_t)(uint32_t)c->first << 32 ^ (uint64_t)addrq);
    uint64_t *entry = &py.cache[key & ((1u << CACHE_LOG) - 1)];
    uint64_t e = pf_load_relaxed(entry);
    if (e >> LOC_BITS == key >> LOC_BITS && (e & ((1u << LOC_BITS) - 1)))
        return (uint32_t)(e & ((1u << LOC_BITS) - 1));
    char name[256], path[512];
    int nl = read_str(w->pid, c->qual, name, sizeof name), pl = read_str(w->pid, c->file, path, sizeof path);
    if (nl < 0 || pl < 0)
        return 0;
    uint32_t loc = intern_loc(name, nl, path, pl, table_line(w->pid, c->table, c->first, addrq));
    if (loc)
        pf_store_relaxed(entry, (key >> LOC_BITS) << LOC_BITS | loc);
    return loc;
}

/* The calling thread's innermost Python frame, or 0. Its thread state is the one Python keeps
 * for this OS thread (not the GIL holder's), checked to be this thread's. */
static uintptr_t innermost(pid_t pid)
{
    uint8_t t[PY311_TSTATE_READ];
    uintptr_t ts = (uintptr_t)py.this_tstate(), cf, cur;
    if (!ts || peek(pid, ts, t, sizeof t) != 0 ||
        word(t, PY311_TSTATE_THREAD_ID) != (uintptr_t)pthread_self())
        return 0;
    cf = word(t, PY311_TSTATE_CFRAME);
    if (!cf || peek(pid, cf + PY311_CFRAME_CURRENT, &cur, sizeof cur) != 0)
        return 0;
    return cur;
}

/* The walk's next frame as a tagged value into *out, and whether it entered its eval loop;
 * 0 when there is none or it cannot be read (the walk then ends). */
static int next_frame(walk_t *w, void **out, int *entry)
{
    const uint8_t *f = NULL;
    if (w->frame && !(w->frame & 7) && w->budget-- > 0)
        f = frame_bytes(w, w->frame);
    uint32_t loc = f ? locate(w, word(f, PY311_FRAME_CODE), word(f, PY311_FRAME_PREV_INSTR)) : 0;
    if (!loc) {
        w->frame = 0;
        return 0;
    }
    *out = (void *)(PF_PYFRAME_TAG | loc);
    *entry = f[PY311_FRAME_IS_ENTRY] != 0;
    uintptr_t prev = word(f, PY311_FRAME_PREVIOUS);
    w->frame = prev == w->frame ? 0 : prev;
    return 1;
}

static int in_eval(const void *ret)
{
    uintptr_t pc = (uintptr_t)ret - 1;
    return pc >= py.eval_lo && pc < py.eval_hi;
}

uint32_t pf_pyframes_merge(void *const *native, uint32_t n, void **out, uint32_t max)
{
    uint32_t i = 0, k = 0;
    while (i < n && k < max && !in_eval(native[i]))
        out[k++] = native[i++];
    if (i == n || k == max || !pf_load_acquire(&py.active)) {
        while (i < n && k < max)
            out[k++] = native[i++];
        return k;
    }
    int saved = errno;
    walk_t w;
    w.pid = getpid();
    w.budget = MAX_WALK;
    w.lo = w.hi = 0;
    w.nmemo = 0;
    w.frame = innermost(w.pid);
    for (; i < n && k < max; i++) {
        uint32_t got = 0;
        int entry = 0;
        /* This eval loop's frames: from the walk's next one to the one that entered it. */
        while (in_eval(native[i]) && k + got < max && !entry && next_frame(&w, &out[k + got], &entry))
            got++;
        if (got)
            k += got;
        else
            out[k++] = native[i];
    }
    errno = saved;
    return k;
}

/* ---- set-up and the report -------------------------------------------------------------- */

/* Python frames stay off: the status says why. */
static void off(const char *why)
{
    size_t n = strlen(py.status_buf);
    snprintf(py.status_buf + n, sizeof py.status_buf - n, ": no Python frames (%s)", why);
}

/* What reading needs: the eval loop's code range, the thread-state getter, the types, a
 * working process_vm_readv. NULL when all is there, else why not. */
static const char *find_interpreter(void)
{
    void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    *(void **)&py.this_tstate = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    py.code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
    py.unicode_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    py.bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!eval || !py.this_tstate || !py.code_type || !py.unicode_type || !py.bytes_type ||
        !dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
        return "the interpreter's symbols were not found";
    py.eval_lo = (uintptr_t)eval;
    py.eval_hi = py.eval_lo + sym->st_size;
    uintptr_t probe = 0;
    if (peek(getpid(), (uintptr_t)&eval, &probe, sizeof probe) != 0 || probe != (uintptr_t)eval)
        return "process_vm_readv is not permitted here";
    py.locs = pf_arena_zalloc(MAX_LOCS * sizeof *py.locs);
    py.loc_slots = pf_arena_zalloc(LOC_SLOTS * sizeof *py.loc_slots);
    py.str_slots = pf_arena_zalloc(STR_SLOTS * sizeof *py.str_slots);
    py.pool = pf_arena_zalloc(POOL_BYTES);
    py.cache = pf_arena_zalloc(((size_t)1 << CACHE_LOG) * sizeof *py.cache);
    if (!py.locs || !py.loc_slots || !py.str_slots || !py.pool || !py.cache)
        return "out of memory";
    return NULL;
}

void pf_pyframes_init(int enabled)
{
    const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
    if (!version || py.status) {
        dlerror(); /* a failed lookup of ours must not be what the program's next dlerror() says */
        return; /* no CPython 3.11 or later here (3.10 and older have no Py_Version) */
    }
    int saved = errno;
    unsigned long v = *version;
    snprintf(py.status_buf, sizeof py.status_buf, "CPython %lu.%lu.%lu", v >> 24, (v >> 16) & 255,
             (v >> 8) & 255);
    py.status = py.status_buf;
    /* 3.11.0 cleared a returning frame before unlinking it (CPython gh-99729). */
    const char *why = (v >> 16) != 0x030B || ((v >> 8) & 255) < 1
                          ? "pferris reads the frames of CPython 3.11.1 to 3.11.x only"
                          : !enabled ? "PFERRIS_PYTHON_FRAMES=0" : find_interpreter();
    if (why)
        off(why);
    else
        pf_store_release(&py.active, 1);
    dlerror(); /* a failed lookup of ours must not be what the program's next dlerror() says */
    errno = saved;
}

int pf_pyframes_active(void)
{
    return pf_load_acquire(&py.active);
}

const char *pf_pyframes_status(void)
{
    return py.status;
}

int pf_pyframes_lookup(const void *frame, const char **symbol, const char **file, int *line)
{
    uint32_t i = (uint32_t)((uintptr_t)frame & ~PF_PYFRAME_TAG);
    if (!pf_pyframes_is_python(frame) || !py.locs || i == 0 || i >= pf_load_acquire(&py.nlocs) ||
        i >= MAX_LOCS || !py.locs[i].symbol)
        return -1;
    *symbol = py.pool + py.locs[i].symbol;
    *file = py.pool + py.locs[i].file;
    *line = py.locs[i].line;
    return 0;
}
