/* table.c — aligned text tables for the `pferris` tool: a header line and rows, each column as
 * wide as its widest cell. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

void pf_table_init(pf_table_t *t, const char *align, ...)
{
    memset(t, 0, sizeof *t);
    t->align = align;
    t->n = (int)strlen(align);
    va_list ap;
    va_start(ap, align);
    for (int i = 0; i < t->n; i++)
        t->head[i] = va_arg(ap, const char *);
    va_end(ap);
}

void pf_table_row(pf_table_t *t, ...)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, cap * (size_t)t->n * sizeof *c);
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, t);
    for (int i = 0; i < t->n; i++)
        t->cells[t->rows * (size_t)t->n + (size_t)i] = pf_text_cell(va_arg(ap, const char *));
    va_end(ap);
    t->rows++;
}

/* Row 0 is the header, row r > 0 the cells of row r - 1. */
static const char *cell_at(const pf_table_t *t, size_t r, int i)
{
    return r == 0 ? t->head[i] : t->cells[(r - 1) * (size_t)t->n + (size_t)i];
}

void pf_table_print(FILE *out, pf_table_t *t)
{
    int w[PF_TABLE_COLUMNS];
    for (int i = 0; i < t->n; i++)
        w[i] = pf_text_width(t->head[i]);
    for (size_t r = 1; r <= t->rows; r++)
        for (int i = 0; i < t->n; i++) {
            int cw = pf_text_width(cell_at(t, r, i));
            if (cw > w[i])
                w[i] = cw;
        }
    for (size_t r = 0; r <= t->rows; r++) {
        fputs("  ", out);
        for (int i = 0; i < t->n; i++) {
            const char *c = cell_at(t, r, i);
            if (!c)
                c = "";
            int pad = w[i] - pf_text_width(c);
            if (t->align[i] == 'r')
                fprintf(out, "%*s%s", pad, "", c);
            else if (i == t->n - 1)
                fputs(c, out);
            else
                fprintf(out, "%s%*s", c, pad, "");
            if (i < t->n - 1)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
    for (size_t k = 0; k < t->rows * (size_t)t->n; k++)
        free(t->cells[k]);
    free(t->cells);
    t->cells = NULL;
    t->rows = t->cap = 0;
}
