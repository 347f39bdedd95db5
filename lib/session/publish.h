/* publish.h — the live state of a profiled process for `pferris top`: one small JSON file per
 * process, "PID.json", in a per-user private directory ($XDG_RUNTIME_DIR/pferris, else
 * /tmp/pferris-UID, mode 0700, owned by the user: checked on every use, no symlink followed),
 * replaced by temporary and rename every PF_PUBLISH_PERIOD seconds and removed at exit. The
 * `pferris` tool links the same code to find and check the directory. */
#ifndef PF_PUBLISH_H
#define PF_PUBLISH_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/atomic.h"

#define PF_PUBLISH_PERIOD 1.0 /* seconds */

/* The directory's path for this user, into out. 0 or -errno. Inline: the tool (and its fuzz
 * target, which links no lib/ code) uses the same rules. */
static inline int pf_publish_dir(char *out, size_t size)
{
    const char *x = getenv("XDG_RUNTIME_DIR");
    int n = x && x[0] == '/' ? snprintf(out, size, "%s/pferris", x)
                             : snprintf(out, size, "/tmp/pferris-%u", (unsigned)getuid());
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Opens the directory (created 0700 when create and missing) without following a symlink and
 * checks that it is a directory owned by this user with no access for others: the descriptor,
 * or -errno with the reason in why (EPERM: wrong owner or mode). */
static inline int pf_publish_open_dir(const char *path, int create, char *why, size_t whysize)
{
    if (create && mkdir(path, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(why, whysize, "cannot create %s: %s", path, strerror(e));
        return -e;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whysize, "%s: %s", path,
                 e == ELOOP || e == ENOTDIR ? "not a directory (a symlink is not followed)"
                                            : strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
        snprintf(why, whysize,
                 "%s is owned by uid %u with mode %03o; it must be yours (uid %u) and private "
                 "(0700): remove it, or set XDG_RUNTIME_DIR",
                 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777), (unsigned)getuid());
        close(fd);
        return -EPERM;
    }
    return fd;
}
/* From the checkpoint tick (at most once per period; the caller holds the tick's flag). */
void pf_publish_tick(void) PF_HIDDEN;
/* Removes this process's entry (at exit; async-signal-safe, for the crash path). */
void pf_publish_remove(void) PF_HIDDEN;

#endif
