/* status.h - error codes of the pqeval library and the words for them.
 *
 * Every library function that can fail returns a pqe_status.  A failing
 * function also records a message naming what was wrong (the file, the
 * record, the value); pqe_last_error() returns it.  The message is kept per
 * thread, so concurrent callers do not see each other's errors.  The library
 * never prints to stdout and never exits: warnings and notes go through the
 * log callback set with pqe_set_log().
 *
 * Depends on: nothing.
 */
#ifndef PQEVAL_STATUS_H
#define PQEVAL_STATUS_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_status {
    PQE_OK = 0,
    PQE_ERR_NOMEM,       /* an allocation failed */
    PQE_ERR_IO,          /* a file could not be opened, read, written or renamed */
    PQE_ERR_FORMAT,      /* a file is not in the format it claims to be */
    PQE_ERR_DATA,        /* the data are unusable: non-finite values, parts that disagree */
    PQE_ERR_PARAM,       /* a parameter is out of range or inconsistent */
    PQE_ERR_OVERFLOW,    /* a size computation would overflow */
    PQE_ERR_FAISS,       /* FAISS reported an error */
    PQE_ERR_UNSUPPORTED, /* the operation does not apply to this object */
    PQE_ERR_INTERNAL     /* a state that should be impossible */
} pqe_status;

/* Short lowercase words for a status, e.g. "bad file format". Never NULL. */
const char *pqe_status_str(pqe_status status);

/* The message recorded by the last failure on this thread, or the words of
 * the status if none was recorded.  Valid until the next library call. */
const char *pqe_last_error(void);

/* Records a printf-style message for the calling thread and returns status,
 * so that a function can fail with `return pqe_fail(PQE_ERR_PARAM, ...)`.
 * Messages are lowercase, without a final period, and name the bad value. */
pqe_status pqe_fail(pqe_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the recorded message with more context ("reading x.fvecs: ...")
 * and returns status unchanged. */
pqe_status pqe_fail_context(pqe_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void pqe_clear_error(void);

/* Log levels, lowest to highest. */
typedef enum pqe_log_level { PQE_LOG_DEBUG = 0, PQE_LOG_INFO = 1, PQE_LOG_WARN = 2 } pqe_log_level;

/* Receives every log line of the library (without a trailing newline).
 * The default callback discards everything. */
typedef void (*pqe_log_fn)(pqe_log_level level, const char *message, void *user);

void pqe_set_log(pqe_log_fn fn, void *user);

/* Sends a printf-style line to the log callback. */
void pqe_log(pqe_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The library version, "MAJOR.MINOR.PATCH". */
const char *pqe_version(void);

#ifdef __cplusplus
}
#endif

#endif
