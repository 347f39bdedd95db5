/* svg.c — XML text escaping and axis steps for the tools' SVG output. */
#include "common/svg.h"

#include <math.h>

void pf_svg_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", out);
        else if (c == '>')
            fputs("&gt;", out);
        else if (c == '&')
            fputs("&amp;", out);
        else if (c == '"')
            fputs("&quot;", out);
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            fputc('?', out);
        else
            fputc(c, out);
    }
}

double pf_svg_nice_step(double v, int n)
{
    if (!(v > 0) || !isfinite(v) || n <= 0)
        return 1;
    double raw = v / n, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}
