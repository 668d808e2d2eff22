/* common.c - error printing and strict number parsing for the subcommands.
 *
 * Depends on: cli.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
