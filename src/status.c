/* status.c - error messages kept per thread, the log callback, the version.
 *
 * Depends on: libc only.
 */
#include "pqeval/status.h"

#include <stdio.h>
#include <string.h>

#ifndef PQEVAL_VERSION
#define PQEVAL_VERSION "0.0.0"
#endif

enum { MESSAGE_CAPACITY = 1024 };

static _Thread_local char last_message[MESSAGE_CAPACITY];
static _Thread_local int has_message;

static pqe_log_fn log_fn;
static void *log_user;

const char *pqe_status_str(pqe_status status)
{
    switch (status) {
    case PQE_OK:
        return "ok";
    case PQE_ERR_NOMEM:
        return "out of memory";
    case PQE_ERR_IO:
        return "input/output error";
    case PQE_ERR_FORMAT:
        return "bad file format";
    case PQE_ERR_DATA:
        return "unusable data";
    case PQE_ERR_PARAM:
        return "bad parameter";
    case PQE_ERR_OVERFLOW:
        return "size overflow";
    case PQE_ERR_FAISS:
        return "faiss error";
    case PQE_ERR_UNSUPPORTED:
        return "unsupported operation";
    case PQE_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

const char *pqe_last_error(void)
{
    return has_message ? last_message : "no error recorded";
}

void pqe_clear_error(void)
{
    has_message = 0;
    last_message[0] = '\0';
}

pqe_status pqe_fail(pqe_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    has_message = 1;
    return status;
}

pqe_status pqe_fail_context(pqe_status status, const char *fmt, ...)
{
    char prefix[MESSAGE_CAPACITY];
    char old[MESSAGE_CAPACITY];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", has_message ? last_message : pqe_status_str(status));
    /* Truncation of an over-long message is acceptable; it stays terminated. */
    size_t used = strlen(prefix);
    if (used > sizeof last_message - 3)
        used = sizeof last_message - 3;
    memcpy(last_message, prefix, used);
    memcpy(last_message + used, ": ", 2);
    used += 2;
    size_t rest = strlen(old);
    if (rest > sizeof last_message - 1 - used)
        rest = sizeof last_message - 1 - used;
    memcpy(last_message + used, old, rest);
    last_message[used + rest] = '\0';
    has_message = 1;
    return status;
}

void pqe_set_log(pqe_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

void pqe_log(pqe_log_level level, const char *fmt, ...)
{
    char line[MESSAGE_CAPACITY];
    va_list ap;

    if (!log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_fn(level, line, log_user);
}

const char *pqe_version(void)
{
    return PQEVAL_VERSION;
}
