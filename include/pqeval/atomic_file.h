/* atomic_file.h - writing an output so that nothing is lost on failure:
 * everything goes to a temporary file beside the target, which is renamed
 * into place only when complete.  A failed or aborted write leaves the old
 * file, if any, untouched.  An existing target that is not a regular file is
 * never replaced: a character device or FIFO (/dev/null, /dev/stdout) given to
 * pqe_atomic_open is written directly, and anything else (a directory) is
 * refused with PQE_ERR_IO.
 *
 * Depends on: status.h.
 */
#ifndef PQEVAL_ATOMIC_FILE_H
#define PQEVAL_ATOMIC_FILE_H

#include <stdio.h>

#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqe_atomic_file {
    FILE *fp;       /* write here */
    char *path;     /* the final name, owned */
    char *tmp_path; /* the temporary name, owned; NULL when writing a device */
} pqe_atomic_file;

/* Creates a temporary file in the directory of path and opens it for
 * writing in binary mode. */
pqe_status pqe_atomic_open(const char *path, pqe_atomic_file *out);

/* Flushes, syncs, closes and renames the temporary file onto path.  On
 * failure the temporary file is removed.  Frees the names either way. */
pqe_status pqe_atomic_commit(pqe_atomic_file *self);

/* Closes and removes the temporary file, freeing the names.  Safe on a
 * zeroed or already committed struct. */
void pqe_atomic_abort(pqe_atomic_file *self);

/* For libraries that open files by name themselves (HDF5): a fresh
 * temporary name beside path (the file is created empty), owned by the
 * caller (free()). */
pqe_status pqe_atomic_temp_name(const char *path, char **tmp_path);

/* Renames tmp_path onto path after syncing it; removes tmp_path on failure. */
pqe_status pqe_atomic_rename(const char *tmp_path, const char *path);

#ifdef __cplusplus
}
#endif

#endif
