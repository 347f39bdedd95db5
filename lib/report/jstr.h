/* jstr.h — strings from the program into JSON, whatever their bytes.
 *
 * jansson refuses a string or an object key that is not valid UTF-8 (json_string returns NULL,
 * json_object_set_new fails), and a NULL given to a setter is dropped without a word: a Latin-1
 * timer name, a thread name the kernel cut inside a character, or an argument $'arg\xff' used
 * to vanish from the report. Every string that comes from the program (names, thread names,
 * the command line, the host name, symbol and module names, paths) goes through here instead:
 * valid UTF-8 is kept as it is, and each byte that is not part of a valid UTF-8 sequence
 * becomes the four characters \xNN (lower-case hex). A backslash that was in the name is not
 * escaped, so "\xff" in a report is either an escaped byte or those four characters. */
#ifndef PF_JSTR_H
#define PF_JSTR_H

#include <jansson.h>
#include <stddef.h>
#include "base/atomic.h"

/* 1 when s (len bytes) is valid UTF-8 as jansson accepts it (no overlong form, no surrogate,
 * nothing above U+10FFFF, no NUL). */
int pf_jstr_valid(const char *s, size_t len) PF_HIDDEN;
/* A JSON string of s, escaped where needed; NULL s gives "?". NULL only on no memory. */
json_t *pf_jstr(const char *s) PF_HIDDEN;
/* json_object_set_new with the key escaped where needed (0, or -1 as jansson's). */
int pf_jstr_set(json_t *obj, const char *key, json_t *value) PF_HIDDEN;

#endif
