/* atomic_file.c - temporary file, fsync, rename.
 *
 * An existing target that is not a regular file is never replaced: renaming
 * over /dev/null (run as root) would put a regular file in its place.  A
 * character device or FIFO given to pqe_atomic_open (e.g. /dev/null,
 * /dev/stdout) is written directly, as there is nothing to preserve; any
 * other non-regular target (a directory, a socket) is refused.  A symbolic
 * link is followed: the file it points to is replaced and the link kept
 * (renaming onto /dev/stdout, a link, would otherwise replace the link).
 *
 * Depends on: POSIX (mkstemp, fsync, rename, stat).
 */
#include "pqeval/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What exists at path: a regular file or nothing (replaceable), a device or
 * FIFO (written in place), or something else (refused). */
typedef enum { TARGET_REPLACEABLE, TARGET_STREAM, TARGET_OTHER } target_kind;

static target_kind target_kind_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode))
        return TARGET_REPLACEABLE;
    if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))
        return TARGET_STREAM;
    return TARGET_OTHER;
}

/* The file that path names: the target of a symbolic link that resolves,
 * else path itself.  Owned by the caller; NULL when out of memory. */
static char *resolved_target(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        char *real = realpath(path, NULL);
        if (real)
            return real;
    }
    return strdup(path);
}

static pqe_status refuse_target(const char *path)
{
    struct stat sb;
    bool dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    return pqe_fail(PQE_ERR_IO,
                    "%s: %s; an output is written beside its target and renamed into place, "
                    "which would replace it",
                    path, dir ? "is a directory" : "exists and is not a regular file");
}

static char *temp_template(const char *path)
{
    size_t len = strlen(path);
    char *tmpl = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmpl)
        return NULL;
    memcpy(tmpl, path, len);
    memcpy(tmpl + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    return tmpl;
}

pqe_status pqe_atomic_temp_name(const char *path, char **tmp_path)
{
    char *target = resolved_target(path);
    char *tmpl = target ? temp_template(target) : NULL;
    bool replaceable = target && target_kind_of(target) == TARGET_REPLACEABLE;
    int fd;

    *tmp_path = NULL;
    free(target);
    if (!replaceable && tmpl) {
        free(tmpl);
        return refuse_target(path);
    }
    if (!tmpl)
        return pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate a temporary name", path);
    fd = mkstemp(tmpl);
    if (fd < 0) {
        pqe_status st = pqe_fail(PQE_ERR_IO, "%s: cannot create a temporary file beside it: %s",
                                 path, strerror(errno));
        free(tmpl);
        return st;
    }
    /* mkstemp creates the file readable by its owner only; an output should
     * get the permissions any new file gets under the user's umask. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        pqe_status st = pqe_fail(PQE_ERR_IO, "%s: cannot set the permissions of %s: %s", path, tmpl,
                                 strerror(errno));
        close(fd);
        unlink(tmpl);
        free(tmpl);
        return st;
    }
    close(fd);
    *tmp_path = tmpl;
    return PQE_OK;
}

pqe_status pqe_atomic_open(const char *path, pqe_atomic_file *out)
{
    pqe_status st;

    memset(out, 0, sizeof *out);
    out->path = resolved_target(path);
    if (!out->path)
        return pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate its name", path);
    if (target_kind_of(out->path) == TARGET_STREAM) {
        /* A device or FIFO: written directly, tmp_path stays NULL. */
        out->fp = fopen(out->path, "wb");
        if (!out->fp) {
            st = pqe_fail(PQE_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
            pqe_atomic_abort(out);
            return st;
        }
        return PQE_OK;
    }
    st = pqe_atomic_temp_name(out->path, &out->tmp_path);
    if (st != PQE_OK) {
        free(out->path);
        out->path = NULL;
        return st;
    }
    out->fp = fopen(out->tmp_path, "wb");
    if (!out->fp) {
        st =
            pqe_fail(PQE_ERR_IO, "%s: cannot open for writing: %s", out->tmp_path, strerror(errno));
        pqe_atomic_abort(out);
        return st;
    }
    return PQE_OK;
}

static pqe_status sync_file(const char *name)
{
    int fd = open(name, O_RDONLY);
    if (fd < 0)
        return pqe_fail(PQE_ERR_IO, "%s: cannot reopen to sync: %s", name, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        return pqe_fail(PQE_ERR_IO, "%s: cannot sync: %s", name, strerror(e));
    }
    close(fd);
    return PQE_OK;
}

pqe_status pqe_atomic_rename(const char *tmp_path, const char *path)
{
    char *target = resolved_target(path);
    pqe_status st = target ? sync_file(tmp_path)
                           : pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate its name", path);
    if (st == PQE_OK && target_kind_of(target) != TARGET_REPLACEABLE)
        st = refuse_target(path);
    if (st == PQE_OK && rename(tmp_path, target) != 0)
        st = pqe_fail(PQE_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp_path,
                      strerror(errno));
    if (st != PQE_OK)
        unlink(tmp_path);
    free(target);
    return st;
}

pqe_status pqe_atomic_commit(pqe_atomic_file *self)
{
    pqe_status st = PQE_OK;
    FILE *fp = self->fp;

    self->fp = NULL;
    if (!fp || !self->path) {
        pqe_atomic_abort(self);
        return pqe_fail(PQE_ERR_INTERNAL, "atomic file committed twice or never opened");
    }
    if (fflush(fp) != 0 || ferror(fp)) {
        st = pqe_fail(PQE_ERR_IO, "%s: write failed: %s", self->path, strerror(errno));
        fclose(fp);
    } else if (fclose(fp) != 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: close failed: %s", self->path, strerror(errno));
    }
    if (!self->tmp_path) {
        /* written directly to a device or FIFO: nothing to rename */
    } else if (st == PQE_OK) {
        st = pqe_atomic_rename(self->tmp_path, self->path);
    } else {
        unlink(self->tmp_path);
    }
    free(self->tmp_path);
    free(self->path);
    self->tmp_path = NULL;
    self->path = NULL;
    return st;
}

void pqe_atomic_abort(pqe_atomic_file *self)
{
    if (self->fp) {
        fclose(self->fp);
        self->fp = NULL;
    }
    if (self->tmp_path) {
        unlink(self->tmp_path);
        free(self->tmp_path);
        self->tmp_path = NULL;
    }
    free(self->path);
    self->path = NULL;
}
