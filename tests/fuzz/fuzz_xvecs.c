/* fuzz_xvecs.c - libFuzzer harness for the texmex readers.  The first byte
 * picks the extension (.fvecs, .ivecs, .bvecs); the rest is the file.
 * Whatever the bytes, the readers must fail cleanly or return rows that
 * fit the reported shape.
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
    static const char *suffix[3] = {".fvecs", ".ivecs", ".bvecs"};
    pqe_array_info info;
    const char *path;

    if (size < 1)
        return 0;
    path = fuzz_path(suffix[data[0] % 3]);
    if (fuzz_write(path, data + 1, size - 1) != 0)
        return 0;
    if (pqe_xvecs_info(path, &info) == PQE_OK) {
        /* The file is at most the input's size, so the rows fit in memory. */
        size_t n = info.rows > 2 ? 2 : info.rows, begin = info.rows - n;
        void *rows = malloc((n * info.cols + 1) * 4);
        if (rows) {
            if (info.format == PQE_FORMAT_IVECS)
                (void)pqe_ivecs_read_rows(path, begin, n, rows);
            else
                (void)pqe_xvecs_read_rows(path, begin, n, rows);
            free(rows);
        }
    }
    remove(path);
    return 0;
}
