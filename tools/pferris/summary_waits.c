/* summary_waits.c — the summary's waits: the share of thread time blocked on locks, the
 * heaviest locks with their call sites, and the bottleneck line when one lock holds the threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"

#define WAIT_BOTTLENECK 0.20 /* a lock that holds threads this share of their time is named */

/* Where a lock is taken, as text (its innermost frames with source lines), to be freed. */
static char *lock_site(json_t *lock, int frames)
{
    if (!json_array_size(json_object_get(lock, PF_KEY_FRAMES)))
        return strdup("[no call site sampled]");
    pf_summary_annotate(lock, (size_t)frames);
    return pf_site_stack(lock, " < ", frames);
}

/* "threads wait 45% of their time on the mutex taken in queue_pop (app.c:88)" when one lock
 * holds the threads more than WAIT_BOTTLENECK of their time. */
int pf_summary_wait_bottleneck(FILE *out, json_t *r)
{
    json_t *lock = json_array_get(json_object_get(r, PF_KEY_LOCKS), 0);
    double life = pf_json_num(json_object_get(r, PF_KEY_WAITS), PF_KEY_THREAD_SECONDS);
    double w = pf_json_num(lock, PF_KEY_WAIT_SECONDS);
    if (!lock || !(life > 0) || !(w / life > WAIT_BOTTLENECK))
        return 0;
    char *where = lock_site(lock, 1);
    char *more = where ? strstr(where, " < ...") : NULL;
    if (more)
        *more = '\0';
    char *kind = pf_text_cell(pf_json_str(lock, PF_KEY_KIND, "lock"));
    fprintf(out, "  bottleneck  threads wait %.0f%% of their time on the %s taken in %s\n",
            100 * w / life, kind ? kind : "lock", where ? where : "?");
    free(kind);
    free(where);
    return 1;
}

/* The process's share of thread time spent waiting, and the heaviest locks with their sites. */
void pf_summary_waits(FILE *out, json_t *r, size_t top)
{
    json_t *waits = json_object_get(r, PF_KEY_WAITS), *locks = json_object_get(r, PF_KEY_LOCKS);
    if (!json_is_object(waits))
        return;
    double w = pf_json_num(waits, PF_KEY_WAIT_SECONDS), life = pf_json_num(waits, PF_KEY_THREAD_SECONDS);
    size_t n = json_array_size(locks);
    fprintf(out, "\n  waits       threads spent %s of their time blocked on locks (%s of %s)",
            life > 0 ? pf_text_pct(100 * w / life) + 1 : "-", pf_text_sec(w), pf_text_sec(life));
    fprintf(out, n ? "\n" : "; no lock was contended\n");
    if (!n)
        return;
    pf_table_t t;
    pf_table_init(&t, "rlrrrrrl", "#", "kind", "wait", "% threads", "contended", "max", "threads",
                  "where (innermost first)");
    for (size_t i = 0; i < n && i < top; i++) {
        json_t *l = json_array_get(locks, i);
        double lw = pf_json_num(l, PF_KEY_WAIT_SECONDS);
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i + 1);
        char *where = lock_site(l, 3);
        pf_table_row(&t, idx, pf_json_str(l, PF_KEY_KIND, "?"), pf_text_sec(lw),
                     life > 0 ? pf_text_pct(100 * lw / life) + 1 : "-",
                     pf_text_count(pf_json_num(l, PF_KEY_CONTENDED)),
                     pf_text_sec(pf_json_num(l, PF_KEY_MAX_WAIT_SECONDS)),
                     pf_text_count(pf_json_num(l, PF_KEY_THREADS)), where);
        free(where);
    }
    pf_table_print(out, &t);
    if (n > top)
        fprintf(out, "  ... and %zu more locks (by wait)\n", n - top);
}

