/* fuzz_common.h - what the harnesses share: the readers open files by
 * name, so each input is written to a scratch file of this process first.
 *
 * Depends on: libc (POSIX).
 */
#ifndef PQEVAL_FUZZ_COMMON_H
#define PQEVAL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A scratch path ending in suffix, unique to this process (static buffer). */
static inline const char *fuzz_path(const char *suffix)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/pqeval-fuzz-%ld%s", dir ? dir : "/tmp", (long)getpid(), suffix);
    return path;
}

/* Writes size bytes to path; returns 0 on success. */
static inline int fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    if (size && fwrite(data, 1, size, fp) != size) {
        fclose(fp);
        return -1;
    }
    return fclose(fp);
}

#endif
