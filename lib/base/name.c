/* name.c — lock-free name interning.
 *
 * Two open-addressing tables, both insert-only:
 *  - by content: slot = id + 1, published with a release CAS after the name's text is written,
 *    so a reader that acquires the slot sees the text. Two threads interning the same new name
 *    race on the CAS; the loser finds the winner's id and its own id is left unused (NULL text).
 *  - by address, for string literals: a slot packs (address << 16 | id) in one word, so address
 *    and id are published together. Only addresses inside a read-only segment of a loaded module
 *    enter it (a buffer on the stack or heap may later hold another name).
 */
#include "base/name.h"

#include <link.h>
#include <string.h>
#include "base/clock.h"
#include "base/arena.h"

#define CONTENT_SLOTS (2 * PF_MAX_NAMES)
#define ADDR_SLOTS    PF_NAME_ADDR_SLOTS
#define MAX_PROBE     64

typedef struct {
    const char *str;
    uint64_t hash;
} name_t;

static name_t names[PF_MAX_NAMES];
static uint32_t next_id = 1;
static uint32_t by_content[CONTENT_SLOTS];
uint64_t pf_name_by_addr[ADDR_SLOTS] PF_HIDDEN;
static uint64_t overflows;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = pf_arena_zalloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

uint32_t pf_name_intern(const char *s)
{
    if (!s)
        return 0;
    uint64_t h = hash_str(s);
    uint32_t mine = 0;
    for (uint32_t i = 0; i < CONTENT_SLOTS; i++) {
        uint32_t *slot = &by_content[(h + i) & (CONTENT_SLOTS - 1)];
        uint32_t v = pf_load_acquire(slot);
        if (v == 0) {
            if (!mine) {
                mine = pf_take_below(&next_id, PF_MAX_NAMES);
                if (mine >= PF_MAX_NAMES) {
                    pf_fetch_add_relaxed(&overflows, 1);
                    return 0;
                }
                names[mine].hash = h;
                pf_store_release(&names[mine].str, copy_str(s));
                if (!names[mine].str)
                    return 0;
            }
            if (pf_cas_acq_rel(slot, &v, mine + 1))
                return mine;
            /* Lost the slot: v now holds the winner; fall through to compare it. */
        }
        name_t *n = &names[v - 1];
        const char *str = pf_load_acquire(&n->str);
        if (n->hash == h && str && strcmp(str, s) == 0) {
            if (mine)
                pf_store_relaxed(&names[mine].str, NULL); /* our id stays unused */
            return v - 1;
        }
    }
    return 0;
}

/* Read-only segments of the loaded modules, refreshed at most every 100 ms on a miss. */
#define MAX_RANGES 256
static struct {
    uintptr_t lo[MAX_RANGES], hi[MAX_RANGES];
    int n;
    uint64_t refreshed;
    int lock;
} ro;

static int collect_ro(struct dl_phdr_info *info, size_t size, void *arg)
{
    int *n = arg;
    for (int i = 0; i < info->dlpi_phnum && *n < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W)) {
            pf_store_relaxed(&ro.lo[*n], info->dlpi_addr + ph->p_vaddr);
            pf_store_relaxed(&ro.hi[*n], info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
            (*n)++;
        }
    }
    return 0;
}

static int in_ro(uintptr_t a)
{
    int n = pf_load_acquire(&ro.n);
    for (int i = 0; i < n; i++)
        if (a >= pf_load_relaxed(&ro.lo[i]) && a < pf_load_relaxed(&ro.hi[i]))
            return 1;
    return 0;
}

static int is_literal(const char *s)
{
    uintptr_t a = (uintptr_t)s;
    if (in_ro(a))
        return 1;
    uint64_t now = pf_clock_mono_ns();
    int unlocked = 0;
    if (now - pf_load_relaxed(&ro.refreshed) < 100000000u ||
        !pf_cas_acq_rel(&ro.lock, &unlocked, 1))
        return 0;
    /* Rebuild in place: readers may see a range list being rewritten; a wrong "no" only costs a
     * hash, and ranges of loaded modules do not move. Module unloads are not expected to unload
     * names in use. */
    int n = 0;
    pf_store_release(&ro.n, 0);
    dl_iterate_phdr(collect_ro, &n);
    pf_store_release(&ro.n, n);
    pf_store_relaxed(&ro.refreshed, now);
    pf_store_release(&ro.lock, 0);
    return in_ro(a);
}

#define NOT_RO_SLOTS 256
static uintptr_t not_ro[NOT_RO_SLOTS];

uint32_t pf_name_id_slow(const char *s)
{
    if (!s)
        return 0;
    uintptr_t a = (uintptr_t)s;
    uint64_t h = pf_name_addr_hash(a);
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        uint64_t *slot = &pf_name_by_addr[(h + i) & (ADDR_SLOTS - 1)];
        uint64_t v = pf_load_acquire(slot);
        if (v >> 16 == a)
            return (uint32_t)(v & 0xffff);
        if (v == 0)
            break;
    }
    uint32_t id = pf_name_intern(s);
    if (id == 0 || (a >> 47) != 0)
        return id;
    /* A name that lives on the heap (a Python str's UTF-8, say) is looked up by content on
     * every call; this direct-mapped memory of "not in a read-only segment" spares it the scan
     * of the segment list. An entry can only ever be stale towards "not literal", which costs a
     * hash, never a wrong id. */
    uintptr_t *nr = &not_ro[(h ^ (h >> 8)) & (NOT_RO_SLOTS - 1)];
    if (pf_load_relaxed(nr) == a)
        return id;
    if (!is_literal(s)) {
        pf_store_relaxed(nr, a);
        return id;
    }
    uint64_t packed = ((uint64_t)a << 16) | id;
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        uint64_t *slot = &pf_name_by_addr[(h + i) & (ADDR_SLOTS - 1)];
        uint64_t v = 0;
        if (pf_cas_acq_rel(slot, &v, packed) || v >> 16 == a)
            break;
    }
    return id;
}

const char *pf_name_str(uint32_t id)
{
    if (id == 0)
        return "[other]";
    if (id >= PF_MAX_NAMES)
        return NULL;
    return pf_load_acquire(&names[id].str);
}

uint32_t pf_name_limit(void)
{
    uint32_t n = pf_load_relaxed(&next_id);
    return n > PF_MAX_NAMES ? PF_MAX_NAMES : n;
}

uint64_t pf_name_overflows(void)
{
    return pf_load_relaxed(&overflows);
}
