/* atomic_file.c - temporary file, fsync, rename.
 *
 * Depends on: POSIX (mkstemp, fsync, rename).
 */
#include "pqeval/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    char *tmpl = temp_template(path);
    int fd;

    *tmp_path = NULL;
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
    out->path = strdup(path);
    if (!out->path)
        return pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate its name", path);
    st = pqe_atomic_temp_name(path, &out->tmp_path);
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
    pqe_status st = sync_file(tmp_path);
    if (st == PQE_OK && rename(tmp_path, path) != 0)
        st = pqe_fail(PQE_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp_path,
                      strerror(errno));
    if (st != PQE_OK)
        unlink(tmp_path);
    return st;
}

pqe_status pqe_atomic_commit(pqe_atomic_file *self)
{
    pqe_status st = PQE_OK;
    FILE *fp = self->fp;

    self->fp = NULL;
    if (!fp || !self->tmp_path) {
        pqe_atomic_abort(self);
        return pqe_fail(PQE_ERR_INTERNAL, "atomic file committed twice or never opened");
    }
    if (fflush(fp) != 0 || ferror(fp)) {
        st = pqe_fail(PQE_ERR_IO, "%s: write failed: %s", self->path, strerror(errno));
        fclose(fp);
    } else if (fclose(fp) != 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: close failed: %s", self->path, strerror(errno));
    }
    if (st == PQE_OK)
        st = pqe_atomic_rename(self->tmp_path, self->path);
    else
        unlink(self->tmp_path);
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
