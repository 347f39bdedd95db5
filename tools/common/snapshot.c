/* snapshot.c — parses one live-counter snapshot (lib/runtime/live.h has the format). */
#include "common/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pf_snapshot_parse(const char *text, size_t len, pf_snapshot_t *info, pf_snapshot_counter_cb cb,
                  void *arg)
{
    static const char magic[] = "pferris-live 1\n";
    if (!text || !info || len < sizeof magic - 1 || memcmp(text, magic, sizeof magic - 1))
        return -EINVAL;
    memset(info, 0, sizeof *info);
    const char *p = text + sizeof magic - 1, *end = text + len;
    char line[1024], name[1024];
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a partial last line: ignored */
        size_t n = (size_t)(nl - p);
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        long long v;
        int off = 0;
        if (sscanf(line, "pid %d", &info->pid) == 1 || sscanf(line, "seq %lld", &info->seq) == 1 ||
            sscanf(line, "t %lf", &info->t) == 1 || sscanf(line, "mono %lf", &info->mono) == 1 ||
            sscanf(line, "threads %d %d", &info->threads, &info->threads_max) == 2)
            continue;
        if (strcmp(line, "end") == 0) {
            info->complete = 1;
            break;
        }
        if (sscanf(line, "c %lld %n", &v, &off) == 1 && off > 0) {
            size_t k = 0;
            for (const char *s = line + off; *s && k + 1 < sizeof name; s++) {
                if (*s == '\\' && s[1]) {
                    s++;
                    name[k++] = *s == 'n' ? '\n' : *s;
                } else {
                    name[k++] = *s;
                }
            }
            name[k] = '\0';
            if (cb)
                cb(name, v, arg);
        }
    }
    return 0;
}
