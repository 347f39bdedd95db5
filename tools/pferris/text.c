/* text.c — messages and figures in human units for the `pferris` tool. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

void pf_text_say(FILE *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pferris: ", err);
    vfprintf(err, fmt, ap);
    fputc('\n', err);
    va_end(ap);
}

char *pf_text_buffer(void)
{
    static char bufs[PF_TEXT_RING][PF_TEXT_SIZE];
    static unsigned k;
    return bufs[k++ % PF_TEXT_RING];
}

const char *pf_text_sec(double s)
{
    char *b = pf_text_buffer();
    double a = fabs(s);
    if (!isfinite(s))
        snprintf(b, PF_TEXT_SIZE, "-");
    else if (a >= 1 || a == 0)
        snprintf(b, PF_TEXT_SIZE, "%.3f s", s);
    else if (a >= 1e-3)
        snprintf(b, PF_TEXT_SIZE, "%.3f ms", s * 1e3);
    else if (a >= 1e-6)
        snprintf(b, PF_TEXT_SIZE, "%.3f us", s * 1e6);
    else
        snprintf(b, PF_TEXT_SIZE, "%.0f ns", s * 1e9);
    return b;
}

const char *pf_text_bytes(double v)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    char *b = pf_text_buffer();
    if (!isfinite(v)) {
        snprintf(b, PF_TEXT_SIZE, "-");
        return b;
    }
    int u = 0;
    double a = fabs(v);
    while (a >= 1024 && u < 6) {
        a /= 1024;
        u++;
    }
    snprintf(b, PF_TEXT_SIZE, u ? "%s%.1f %s" : "%s%.0f %s", v < 0 ? "-" : "", a, unit[u]);
    return b;
}

const char *pf_text_count(double v)
{
    char *b = pf_text_buffer();
    if (!isfinite(v))
        snprintf(b, PF_TEXT_SIZE, "-");
    else if (fabs(v) < 1e15 && v == floor(v))
        snprintf(b, PF_TEXT_SIZE, "%.0f", v);
    else
        snprintf(b, PF_TEXT_SIZE, "%.4g", v);
    return b;
}

const char *pf_text_pct(double p)
{
    char *b = pf_text_buffer();
    if (isnan(p))
        snprintf(b, PF_TEXT_SIZE, "-");
    else if (isinf(p))
        snprintf(b, PF_TEXT_SIZE, p > 0 ? "new" : "gone");
    else
        snprintf(b, PF_TEXT_SIZE, "%+.1f%%", p);
    return b;
}

char *pf_text_cell(const char *s)
{
    if (!s)
        s = "";
    size_t len = strnlen(s, 4096), keep = len > PF_TEXT_CELL_MAX ? PF_TEXT_CELL_MAX - 3 : len;
    char *c = malloc(keep + 4);
    if (!c)
        return NULL;
    for (size_t i = 0; i < keep; i++)
        c[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    strcpy(c + keep, len > keep ? "..." : "");
    return c;
}

int pf_text_width(const char *s)
{
    int w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}
