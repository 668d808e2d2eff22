/* common.c - error printing, strict number parsing and output-path checks
 * for the subcommands.
 *
 * Depends on: cli.h; POSIX (stat, dirname).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int pqe_cli_verbosity = 0;

int pqe_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("pqeval: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return PQE_EXIT_USAGE;
}

int pqe_cli_fail(pqe_status status)
{
    (void)status;
    return pqe_cli_error("%s", pqe_last_error());
}

void pqe_cli_warn(const char *fmt, ...)
{
    va_list ap;
    if (pqe_cli_verbosity < 0)
        return;
    fputs("pqeval: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void pqe_cli_info(const char *fmt, ...)
{
    va_list ap;
    if (pqe_cli_verbosity < 0)
        return;
    fputs("pqeval: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool pqe_cli_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO) != 0;
}

bool pqe_cli_parse_u64(const char *option, const char *text, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (!text || !*text || *text == '-') {
        pqe_cli_error("%s: expected a non-negative integer, not '%s'", option, text ? text : "");
        return false;
    }
    v = strtoull(text, &end, 10);
    if (errno || *end) {
        pqe_cli_error("%s: expected a non-negative integer, not '%s'", option, text);
        return false;
    }
    *out = v;
    return true;
}

bool pqe_cli_parse_size(const char *option, const char *text, size_t *out)
{
    unsigned long long v;
    if (!pqe_cli_parse_u64(option, text, &v))
        return false;
    if (v > SIZE_MAX) {
        pqe_cli_error("%s: %s is too large", option, text);
        return false;
    }
    *out = (size_t)v;
    return true;
}

bool pqe_cli_parse_uint(const char *option, const char *text, unsigned *out)
{
    unsigned long long v;
    if (!pqe_cli_parse_u64(option, text, &v))
        return false;
    if (v > UINT_MAX) {
        pqe_cli_error("%s: %s is too large", option, text);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

bool pqe_cli_parse_double(const char *option, const char *text, double *out)
{
    char *end;
    double v;

    errno = 0;
    if (!text || !*text) {
        pqe_cli_error("%s: expected a number, not ''", option);
        return false;
    }
    v = strtod(text, &end);
    if (errno || *end || !isfinite(v)) {
        pqe_cli_error("%s: expected a finite number, not '%s'", option, text);
        return false;
    }
    *out = v;
    return true;
}

bool pqe_cli_check_output(const char *option, const char *path, const char *const *inputs,
                          size_t n_inputs)
{
    struct stat out_sb, in_sb;
    char *folder = NULL;
    bool ok = false;

    if (!path || !*path) {
        pqe_cli_error("%s: empty file name", option);
        return false;
    }
    if (stat(path, &out_sb) == 0) {
        if (S_ISDIR(out_sb.st_mode)) {
            pqe_cli_error("%s: %s is a directory; give a file name", option, path);
            return false;
        }
        for (size_t i = 0; i < n_inputs; i++) {
            if (inputs[i] && stat(inputs[i], &in_sb) == 0 && in_sb.st_dev == out_sb.st_dev &&
                in_sb.st_ino == out_sb.st_ino) {
                pqe_cli_error("%s: %s is the input %s; writing there would destroy it", option,
                              path, inputs[i]);
                return false;
            }
        }
    }
    /* The folder must exist: found now, not after the work is done. */
    folder = strdup(path);
    if (!folder) {
        pqe_cli_error("%s: out of memory", option);
        return false;
    }
    {
        const char *dir = dirname(folder);
        struct stat dir_sb;
        if (stat(dir, &dir_sb) != 0)
            pqe_cli_error("%s: cannot write %s: folder %s: %s", option, path, dir, strerror(errno));
        else if (!S_ISDIR(dir_sb.st_mode))
            pqe_cli_error("%s: cannot write %s: %s is not a folder", option, path, dir);
        else
            ok = true;
    }
    free(folder);
    return ok;
}
