/* name.h — interned names. Every timer, counter and memory record is named; a name becomes a
 * small integer id once, and per-thread tables are indexed by id. A string literal is found by
 * its address after the first use (one multiply and one load); any other string by content. */
#ifndef PF_REGISTRY_H
#define PF_REGISTRY_H

#include <stdint.h>
#include "base/atomic.h"

#define PF_MAX_NAMES 4096 /* id 0 is "[other]": where names go when the table is full */

/* Literal names by address: entries (address << 16 | id), 0 when empty; probed linearly from
 * the address's hash (name.c). */
#define PF_NAME_ADDR_SLOTS (4 * PF_MAX_NAMES)
extern uint64_t pf_name_by_addr[PF_NAME_ADDR_SLOTS] PF_HIDDEN;
uint32_t pf_name_id_slow(const char *name) PF_HIDDEN;

static inline uint64_t pf_name_addr_hash(uintptr_t a)
{
    return (a * 0x9E3779B97F4A7C15ull) >> 40;
}

/* The id of name; 0 (the "[other]" name) when the table is full or name is NULL. Inline for
 * the markers: a literal found in its first slot costs one multiply, one load and a compare. */
static inline uint32_t pf_name_id(const char *name)
{
    uintptr_t a = (uintptr_t)name;
    uint64_t v = pf_load_acquire(&pf_name_by_addr[pf_name_addr_hash(a) & (PF_NAME_ADDR_SLOTS - 1)]);
    if (pf_likely(v >> 16 == a && a != 0))
        return (uint32_t)(v & 0xffff);
    return pf_name_id_slow(name);
}
/* By content only (never caches the address). */
uint32_t pf_name_intern(const char *name) PF_HIDDEN;
/* The text of an id, or NULL for an id never handed out. */
const char *pf_name_str(uint32_t id) PF_HIDDEN;
/* One past the largest id handed out so far. */
uint32_t pf_name_limit(void) PF_HIDDEN;
/* How many distinct names were folded into "[other]" (the report says so). */
uint64_t pf_name_overflows(void) PF_HIDDEN;

#endif
