/* util.h - internal helpers: checked size arithmetic and allocation.
 *
 * Not installed.  Depends on: status.h.
 */
#ifndef PQEVAL_UTIL_H
#define PQEVAL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pqeval/status.h"

/* a * b into *out; false (and *out untouched) if it would overflow. */
static inline bool pqe_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* a * b * c into *out; false if it would overflow. */
static inline bool pqe_mul3_ok(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    return pqe_mul_ok(a, b, &ab) && pqe_mul_ok(ab, c, out);
}

/* malloc of n elements of elem_size bytes, with the product checked.  On
 * failure returns NULL and records PQE_ERR_OVERFLOW or PQE_ERR_NOMEM, naming
 * what (a short noun such as "codes") in the message. */
void *pqe_alloc_array(size_t n, size_t elem_size, const char *what);

/* The same, zero-filled. */
void *pqe_calloc_array(size_t n, size_t elem_size, const char *what);

/* The status recorded by the last failed pqe_alloc_array on this thread:
 * PQE_ERR_OVERFLOW or PQE_ERR_NOMEM. */
pqe_status pqe_alloc_status(void);

#endif
