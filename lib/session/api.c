/* api.c — the Profiler API's report getters (pferris_get_report, _timings, _memory_usage,
 * _counters): the seed's get_report() and friends, over the report layer.
 *
 * libpferris.so carries its own jansson, private (static, every symbol hidden), so that it
 * never enters the program's symbol scope. A json_t that jansson built is only usable with the
 * same copy: an object's hash table is seeded per copy, so the program's json_object_get would
 * miss keys the private copy stored. So a report handed to the program is handed over in the
 * program's own jansson, when one is in its global scope (found by dlsym(RTLD_DEFAULT), and
 * taken only when json_loadb and json_object_seed come from one object): built privately,
 * dumped, loaded by the program's copy (reals with 17 digits, so the figures are exact). In
 * the tools and the unit tests, where the core is linked into the program with the shared
 * jansson, this is a plain copy. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "pferris.h"
#include "report/keys.h"
#include "report/report.h"
#include "session/session.h"

typedef json_t *(*loadb_fn)(const char *, size_t, size_t, json_error_t *);

/* The program's json_loadb, NULL when there is none outside this object. (The core never
 * calls its own json_loadb: jansson's load.o is not position-independent enough for a shared
 * object, and nothing else needs it.) Looked up once; the answer is the same for every
 * thread, so a race only looks it up twice. */
static loadb_fn program_loadb(void)
{
    static void *found; /* json_loadb's address, or NULL; published by `looked` */
    static int looked;
    void *loadb = NULL;
    if (pf_load_acquire(&looked)) {
        loadb = pf_load_relaxed(&found);
    } else {
        void *seed = dlsym(RTLD_DEFAULT, "json_object_seed");
        Dl_info a, b, self;
        loadb = dlsym(RTLD_DEFAULT, "json_loadb");
        if (!(loadb && seed && dladdr(loadb, &a) && dladdr(seed, &b) && dladdr(&looked, &self) &&
              a.dli_fbase == b.dli_fbase && a.dli_fbase != self.dli_fbase))
            loadb = NULL;
        pf_store_relaxed(&found, loadb);
        pf_store_release(&looked, 1);
    }
    loadb_fn f;
    *(void **)&f = loadb;
    return f;
}

/* r (built by the core's jansson) in the program's jansson; r is consumed. */
static json_t *to_program(json_t *r)
{
    loadb_fn loadb = program_loadb();
    if (!r || !loadb)
        return r;
    char *text = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(r);
    if (!text)
        return NULL;
    json_t *copy = loadb(text, strlen(text), 0, NULL);
    free(text);
    return copy;
}

PF_EXPORT json_t *pferris_get_report(pferris_profiler_t *p)
{
    if (!p)
        return NULL;
    if (p != pferris_default())
        return to_program(pf_report_build(p, NULL));
    pf_process_info_t info = pf_session_process_info();
    return to_program(pf_report_build(p, &info));
}

PF_EXPORT json_t *pferris_get_timings(pferris_profiler_t *p)
{
    return to_program(pf_report_section(p, PF_KEY_TIMINGS));
}

PF_EXPORT json_t *pferris_get_memory_usage(pferris_profiler_t *p)
{
    return to_program(pf_report_section(p, PF_KEY_MEMORY_USAGE));
}

PF_EXPORT json_t *pferris_get_counters(pferris_profiler_t *p)
{
    return to_program(pf_report_section(p, PF_KEY_COUNTERS));
}
