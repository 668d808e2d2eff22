/* report_internal.h - what the report and check modules share.
 *
 * Not installed.  Depends on: jansson, status.h.
 */
#ifndef PQEVAL_REPORT_INTERNAL_H
#define PQEVAL_REPORT_INTERNAL_H

#include <jansson.h>

#include "pqeval/status.h"

/* Writes root as indented JSON (doubles round-trip exactly) to path,
 * atomically; what ("writing results") starts the error message. */
pqe_status pqe_json_write_atomic(const json_t *root, const char *path, const char *what);

#endif
