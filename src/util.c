/* util.c - checked allocation.
 *
 * Depends on: libc.
 */
#include "util.h"

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
