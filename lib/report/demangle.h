/* demangle.h — C++ names as people read them, for the tools' outputs. */
#ifndef PF_REPORT_DEMANGLE_H
#define PF_REPORT_DEMANGLE_H

#include "base/atomic.h"

/* sym demangled ("_ZN2ns5Class6methodEi" -> "ns::Class::method(int)") by libstdc++'s
 * __cxa_demangle, loaded on first use; NULL when sym is no mangled C++ name or libstdc++ is not
 * installed. To be freed. */
char *pf_demangle(const char *sym) PF_HIDDEN;

#endif
