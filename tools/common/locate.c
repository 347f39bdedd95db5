/* locate.c — finds libpferris.so relative to the running tool. */
#include "common/locate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pf_locate_preload(char *out, size_t size)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return -ENOENT;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    static const char *const where[] = {"%s/libpferris.so", "%s/../lib/libpferris.so"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, where[i], self);
        char *abs = realpath(path, NULL);
        if (abs && access(abs, R_OK) == 0 && strlen(abs) < size) {
            strcpy(out, abs);
            free(abs);
            return 0;
        }
        free(abs);
    }
    return -ENOENT;
}
