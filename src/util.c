/* util.c - checked allocation.
 *
 * A request larger than the machine's memory and swap together fails at
 * once with a message saying so, rather than being passed to malloc: a
 * corrupt header or an absurd option (an HDF5 file declaring 2^40 rows) must
 * give a clear error, and AddressSanitizer aborts on such sizes instead of
 * returning NULL.
 *
 * Depends on: libc; Linux sysinfo (the memory size).
 */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h> /* crc32 */
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <sys/sysinfo.h>

/* RAM + swap in bytes; SIZE_MAX when unknown. */
static size_t memory_and_swap(void)
{
    struct sysinfo si;
    size_t total, bytes;
    if (sysinfo(&si) != 0 || si.mem_unit == 0 ||
        __builtin_add_overflow((size_t)si.totalram, (size_t)si.totalswap, &total) ||
        !pqe_mul_ok(total, si.mem_unit, &bytes))
        return SIZE_MAX;
    return bytes;
}

static _Thread_local pqe_status alloc_status = PQE_ERR_NOMEM;

static void *alloc_checked(size_t n, size_t elem_size, const char *what, int zero)
{
    size_t bytes;
    void *p;

    if (!pqe_mul_ok(n, elem_size, &bytes)) {
        alloc_status = PQE_ERR_OVERFLOW;
        pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu elements of %zu bytes overflow the address space", what,
                 n, elem_size);
        return NULL;
    }
    if (bytes == 0)
        bytes = 1;
    if (bytes > memory_and_swap()) {
        alloc_status = PQE_ERR_NOMEM;
        pqe_fail(PQE_ERR_NOMEM,
                 "%s: cannot allocate %zu bytes (%zu elements): more than the machine's memory "
                 "and swap (%zu bytes)",
                 what, bytes, n, memory_and_swap());
        return NULL;
    }
    p = zero ? calloc(1, bytes) : malloc(bytes);
    if (!p) {
        alloc_status = PQE_ERR_NOMEM;
        pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    }
    return p;
}

void *pqe_alloc_array(size_t n, size_t elem_size, const char *what)
{
    return alloc_checked(n, elem_size, what, 0);
}

void *pqe_calloc_array(size_t n, size_t elem_size, const char *what)
{
    return alloc_checked(n, elem_size, what, 1);
}

pqe_status pqe_alloc_status(void)
{
    return alloc_status;
}

void pqe_put_floats(uint8_t *p, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        pqe_put_u32(p + 4 * i, u);
    }
}

void pqe_get_floats(const uint8_t *p, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = pqe_get_u32(p + 4 * i);
        memcpy(&v[i], &u, sizeof u);
    }
}

uint32_t pqe_crc32(const uint8_t *buf, size_t len)
{
    /* zlib takes uInt lengths: feed it in pieces. */
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt piece = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, buf, piece);
        buf += piece;
        len -= piece;
    }
    return (uint32_t)crc;
}

void pqe_text_printf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

/* A float is not finite when its exponent bits are all ones. */
static inline int float_bits_nonfinite(const float *p)
{
    uint32_t u;
    memcpy(&u, p, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

size_t pqe_first_nonfinite(const float *x, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i exp_mask = _mm_set1_epi32(0x7f800000);
    /* Up to 64 floats per test; the exact place is found after. */
    while (n - i >= 4) {
        size_t start = i, end = n - i >= 64 ? i + 64 : i + ((n - i) & ~(size_t)3);
        __m128i bad = _mm_setzero_si128();
        for (; i < end; i += 4) {
            __m128i v =
                _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(x + i)), exp_mask);
            bad = _mm_or_si128(bad, _mm_cmpeq_epi32(v, exp_mask));
        }
        if (_mm_movemask_epi8(bad)) {
            i = start;
            break;
        }
    }
#endif
    for (; i < n; i++) {
        if (float_bits_nonfinite(x + i))
            return i;
    }
    return n;
}
