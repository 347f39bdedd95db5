/* svg.h — the few pieces of SVG drawing both tools use (pferris --svg, pferris-tune --plot). */
#ifndef PF_SVG_H
#define PF_SVG_H

#include <stdio.h>

/* Writes s as XML character data: markup characters escaped, and control characters (not
 * allowed in XML 1.0) shown as '?'. A NULL s writes nothing. */
void pf_svg_text(FILE *out, const char *s);
/* A round step (1, 2 or 5 x 10^k) for an axis spanning v with about n ticks; 1 for a span that
 * is not a positive finite number. */
double pf_svg_nice_step(double v, int n);

#endif
