/* dataset_summary.c - what 'pqeval info' says about one array of vectors:
 * norms, zero rows, non-finite values, duplicate rows.
 *
 * Duplicates: each examined row is hashed (FNV-1a over its values, with -0
 * read as 0 so that equal vectors hash equally), the hashes sorted, and rows
 * with equal hashes compared value by value.  On large arrays a seeded
 * random sample of rows is examined, so the count is a lower bound there.
 *
 * Depends on: io.h, rng.h, util.h.
 */
#include "pqeval/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/rng.h"
#include "util.h"

typedef struct row_hash {
    uint64_t hash;
    size_t row;
} row_hash;

static int row_hash_cmp(const void *pa, const void *pb)
{
    const row_hash *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static uint64_t hash_row(const float *row, size_t dim)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t j = 0; j < dim; j++) {
        float v = row[j] == 0 ? 0.0f : row[j];
        unsigned char bytes[sizeof v];
        memcpy(bytes, &v, sizeof v);
        for (size_t b = 0; b < sizeof v; b++) {
            h ^= bytes[b];
            h *= 1099511628211ull;
        }
    }
    return h;
}

static bool rows_equal(const float *a, const float *b, size_t dim)
{
    for (size_t j = 0; j < dim; j++) {
        if (a[j] != b[j])
            return false;
    }
    return true;
}

pqe_status pqe_summarize(const float *x, size_t n, size_t dim, size_t dup_sample, uint64_t seed,
                         pqe_part_summary *out)
{
    size_t m = n <= dup_sample ? n : dup_sample, finite_rows = 0;
    row_hash *hashes = NULL;
    size_t *rows = NULL;
    double norm_sum = 0;

    memset(out, 0, sizeof *out);
    out->rows = n;
    out->cols = dim;
    out->norm_min = INFINITY;
    out->norm_max = 0;

    /* Norms, zero rows, non-finite values. */
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * dim;
        double s = 0;
        bool finite = true;
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(row[j])) {
                if (out->nonfinite == 0) {
                    out->nonfinite_row = i;
                    out->nonfinite_col = j;
                }
                out->nonfinite++;
                finite = false;
                continue;
            }
            s += (double)row[j] * row[j];
        }
        if (s == 0 && finite)
            out->zero_rows++;
        if (finite) {
            double nrm = sqrt(s);
            norm_sum += nrm;
            finite_rows++;
            out->norm_min = nrm < out->norm_min ? nrm : out->norm_min;
            out->norm_max = nrm > out->norm_max ? nrm : out->norm_max;
        }
    }
    out->norm_mean = finite_rows ? norm_sum / (double)finite_rows : NAN;
    if (finite_rows == 0)
        out->norm_min = NAN;

    /* Duplicates among m rows. */
    if (m < 2)
        return PQE_OK;
    hashes = pqe_alloc_array(m, sizeof *hashes, "row hashes");
    rows = m < n ? pqe_alloc_array(m, sizeof *rows, "row sample") : NULL;
    if (!hashes || (m < n && !rows)) {
        free(hashes);
        free(rows);
        return pqe_alloc_status();
    }
    if (rows) {
        pqe_rng rng;
        pqe_rng_seed(&rng, seed);
        pqe_rng_sample(&rng, n, m, rows);
    }
    for (size_t i = 0; i < m; i++) {
        size_t r = rows ? rows[i] : i;
        hashes[i].row = r;
        hashes[i].hash = hash_row(x + r * dim, dim);
    }
    qsort(hashes, m, sizeof *hashes, row_hash_cmp);
    for (size_t i = 1; i < m; i++) {
        /* A row is a duplicate if it equals any earlier row of its hash run. */
        for (size_t j = i; j-- > 0 && hashes[j].hash == hashes[i].hash;) {
            if (rows_equal(x + hashes[i].row * dim, x + hashes[j].row * dim, dim)) {
                out->duplicates++;
                break;
            }
        }
    }
    out->dup_examined = m;
    free(hashes);
    free(rows);
    return PQE_OK;
}
