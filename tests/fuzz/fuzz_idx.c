/* fuzz_idx.c - libFuzzer harness for the IDX reader.  The first byte picks
 * a raw (even) or a .gz (odd) name; the rest is the file.  Raw inputs that
 * start with the gzip magic under the raw name must be refused; .gz inputs
 * go through zlib.
 *
 * Depends on: io.h; fuzz_common.h.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "pqeval/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqe_array_info info;
    float *x = NULL;
    const char *path;

    if (size < 1)
        return 0;
    path = fuzz_path(data[0] & 1 ? "-ubyte.gz" : "-ubyte");
    if (fuzz_write(path, data + 1, size - 1) != 0)
        return 0;
    if (pqe_idx_read(path, &info, &x) == PQE_OK) {
        /* Touch every value the reader says it returned. */
        volatile float sum = 0;
        for (size_t i = 0; i < info.rows * info.cols; i++)
            sum += x[i];
        (void)sum;
    }
    free(x);
    remove(path);
    return 0;
}
