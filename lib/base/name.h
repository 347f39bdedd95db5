/* name.h — interned names. Every timer, counter and memory record is named; a name becomes a
 * small integer id once, and per-thread tables are indexed by id. A string literal is found by
 * its address after the first use (one multiply and one load); any other string by content. */
#ifndef PF_REGISTRY_H
#define PF_REGISTRY_H

#include <stdint.h>
#include "base/atomic.h"

#define PF_MAX_NAMES 4096 /* id 0 is "[other]": where names go when the table is full */

/* The id of name; 0 (the "[other]" name) when the table is full or name is NULL. */
uint32_t pf_name_id(const char *name) PF_HIDDEN;
/* By content only (never caches the address). */
uint32_t pf_name_intern(const char *name) PF_HIDDEN;
/* The text of an id, or NULL for an id never handed out. */
const char *pf_name_str(uint32_t id) PF_HIDDEN;
/* One past the largest id handed out so far. */
uint32_t pf_name_limit(void) PF_HIDDEN;
/* How many distinct names were folded into "[other]" (the report says so). */
uint64_t pf_name_overflows(void) PF_HIDDEN;

#endif
