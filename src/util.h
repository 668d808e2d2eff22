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

/* Little-endian integers and floats in the binary files pqeval writes
 * (quantizers), independent of the host's byte order. */
static inline void pqe_put_u32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static inline void pqe_put_u64(uint8_t *p, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static inline uint32_t pqe_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int b = 0; b < 4; b++)
        v |= (uint32_t)p[b] << (8 * b);
    return v;
}

static inline uint64_t pqe_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v |= (uint64_t)p[b] << (8 * b);
    return v;
}

/* n floats as their IEEE-754 bits, little-endian, 4 bytes each. */
void pqe_put_floats(uint8_t *p, const float *v, size_t n);
void pqe_get_floats(const uint8_t *p, float *v, size_t n);

/* snprintf into a buffer that only people read (messages, labels): cut
 * short if it does not fit, always terminated. */
void pqe_text_printf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The index of the first non-finite value (NaN or infinity) among n
 * floats, or n if all are finite.  Tests the exponent bits, four floats at
 * a time where SSE2 is there: checking inputs costs a fraction of a pass
 * over them. */
size_t pqe_first_nonfinite(const float *x, size_t n);

/* CRC-32 (zlib's) of len bytes of any size. */
uint32_t pqe_crc32(const uint8_t *buf, size_t len);

/* The status recorded by the last failed pqe_alloc_array on this thread:
 * PQE_ERR_OVERFLOW or PQE_ERR_NOMEM. */
pqe_status pqe_alloc_status(void);

#endif
