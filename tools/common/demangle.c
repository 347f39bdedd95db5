/* demangle.c — C++ demangling through libstdc++'s __cxa_demangle, loaded with dlopen so that the
 * tools (C programs) need no C++ runtime at link time. A report written by a C++ program carries
 * the demangled name already (frames' "demangled"); this is for reports without it. */
#include "common/demangle.h"

#include <dlfcn.h>
#include <stdlib.h>

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

char *pf_demangle(const char *sym)
{
    static demangle_fn fn;
    static int looked;
    if (!sym || sym[0] != '_' || sym[1] != 'Z')
        return NULL;
    if (!looked) {
        looked = 1;
        *(void **)&fn = dlsym(RTLD_DEFAULT, "__cxa_demangle");
        void *h = fn ? NULL : dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h)
            *(void **)&fn = dlsym(h, "__cxa_demangle");
    }
    int status = -1;
    char *d = fn ? fn(sym, NULL, NULL, &status) : NULL;
    if (status != 0) {
        free(d);
        return NULL;
    }
    return d;
}
