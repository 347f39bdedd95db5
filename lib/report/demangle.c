/* demangle.c — C++ demangling through libstdc++'s __cxa_demangle, for the report's frames and
 * for the tools (reports without "demangled"). The program's own libstdc++ when it has one
 * loaded; else libstdc++.so.6 loaded privately (RTLD_LOCAL) at the first mangled name, never
 * before, so neither the preload nor the tools need a C++ runtime at link time. It allocates:
 * report time and tools only. */
#include "report/demangle.h"

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
