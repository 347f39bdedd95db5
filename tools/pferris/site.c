/* site.c — a call site (heap or CPU) as text: its frames joined, for the summary's tables, the folded
 * stacks of --flame and the rows of --diff. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "common/demangle.h"

/* One frame as text: the function (C++ names demangled), else module+offset. Characters that would break the folded
 * format (';' separates frames, newlines separate stacks) are replaced. */
void pf_site_frame(json_t *f, char *buf, size_t n)
{
    const char *sym = pf_json_str(f, PF_KEY_DEMANGLED, NULL);
    char *dm = NULL;
    if (!sym) {
        sym = pf_json_str(f, PF_KEY_SYMBOL, NULL);
        if ((dm = pf_demangle(sym)))
            sym = dm;
    }
    const char *mod = pf_json_str(f, PF_KEY_MODULE, NULL);
    double off = pf_json_num(f, PF_KEY_OFFSET);
    const char *src = pf_json_str(f, PF_KEY_SOURCE, NULL);
    if (sym && *sym && strcmp(sym, "??") != 0 && src) {
        snprintf(buf, n, "%s (%s)", sym, src);
    } else if (sym && *sym && strcmp(sym, "??") != 0) {
        snprintf(buf, n, "%s", sym);
    } else {
        const char *base = mod ? strrchr(mod, '/') : NULL;
        base = base ? base + 1 : mod;
        if (base && *base && strcmp(base, "??") != 0)
            snprintf(buf, n, "%s+0x%llx", base,
                     (unsigned long long)pf_json_to_ll(isnan(off) ? 0 : off));
        else
            snprintf(buf, n, "[unknown]");
    }
    free(dm);
    for (char *p = buf; *p; p++)
        if (*p == ';' || *p == '\n' || *p == '\r')
            *p = ':';
}

/* Appends text to a growing string; NULL (and the string freed) when memory runs out. */
static char *append(char *s, size_t *len, size_t *cap, const char *sep, const char *text)
{
    size_t need = *len + strlen(sep) + strlen(text) + 1;
    if (need > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < need)
            c *= 2;
        char *t = realloc(s, c);
        if (!t) {
            free(s);
            return NULL;
        }
        s = t;
        *cap = c;
    }
    *len += (size_t)sprintf(s + *len, "%s%s", *len ? sep : "", text);
    return s;
}

char *pf_site_stack(json_t *site, const char *sep, int innermost)
{
    json_t *frames = json_object_get(site, PF_KEY_FRAMES);
    size_t n = json_array_size(frames), len = 0, cap = 0;
    size_t shown = innermost > 0 && (size_t)innermost < n ? (size_t)innermost : n;
    char *s = NULL;
    for (size_t i = 0; i < shown; i++) {
        char fr[512];
        pf_site_frame(json_array_get(frames, innermost > 0 ? i : n - 1 - i), fr, sizeof fr);
        if (!(s = append(s, &len, &cap, sep, fr)))
            return NULL;
    }
    if (s && innermost > 0 && shown < n)
        s = append(s, &len, &cap, "", " < ...");
    return s ? s : strdup("[no frames]");
}
