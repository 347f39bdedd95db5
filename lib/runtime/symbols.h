/* symbols.h — code addresses to names, at report time only (never on a hot path): the
 * function (from the module's .symtab when it has one, so static functions of an unstripped
 * binary are named too; for a stripped one, from its separate debug file when installed:
 * /usr/lib/debug/.build-id/xx/rest.debug or .gnu_debuglink; else its dynamic symbols), the
 * module and the offset in it. */
#ifndef PF_SYMBOLS_H
#define PF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include "base/atomic.h"

typedef struct {
    char symbol[256];   /* "??" when unknown */
    char module[512];   /* path of the module, "??" when unknown */
    uint64_t offset;    /* address - module load base */
} pf_symbol_t;

/* addr is a return address; the call instruction before it is what is named. */
void pf_symbols_lookup(uintptr_t addr, pf_symbol_t *out) PF_HIDDEN;
/* Frees the symbol tables read so far. Both are safe to call from several threads at once. */
void pf_symbols_release(void) PF_HIDDEN;
/* In a fork child: an empty cache and a free lock, whatever other threads held at the fork. */
void pf_symbols_after_fork(void) PF_HIDDEN;

#endif
