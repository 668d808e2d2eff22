/* io_idx.c - MNIST-style IDX files (LeCun's format, as Fashion-MNIST ships
 * them), raw or gzip-compressed.
 *
 * Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16,
 * 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions N, N
 * big-endian uint32 sizes, then the values in big-endian row-major order.
 * The first size is the number of rows; the others multiply into the
 * vector length (28 x 28 images become 784-d vectors).
 *
 * Whether a file is gzip is decided by its name (.gz), and data that start
 * with the gzip magic under another name are refused rather than guessed.
 * The output array grows as data arrive, so a header that declares more
 * than the file holds fails as "cut short" without a huge allocation.
 *
 * Depends on: io.h, io_internal.h, atomic_file.h, util.h; zlib.
 */
#include "pqeval/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "io_internal.h"
#include "pqeval/atomic_file.h"
#include "util.h"

enum { CHUNK_BYTES = 1 << 16, MAX_IDX_DIMS = 8 };

/* A file read either directly or through zlib. */
typedef struct idx_source {
    FILE *fp;
    gzFile gz;
} idx_source;

/* Reads up to n bytes; returns the count, or -1 on a read error. */
static long long source_read(idx_source *src, void *buf, size_t n)
{
    if (src->gz) {
        int got = gzread(src->gz, buf, (unsigned)n);
        return got < 0 ? -1 : got;
    }
    size_t got = fread(buf, 1, n, src->fp);
    return ferror(src->fp) ? -1 : (long long)got;
}

static void source_close(idx_source *src)
{
    if (src->gz)
        gzclose(src->gz);
    if (src->fp)
        fclose(src->fp);
    src->gz = NULL;
    src->fp = NULL;
}

static size_t type_size(unsigned type, const char **name)
{
    switch (type) {
    case 0x08:
        *name = "uint8";
        return 1;
    case 0x09:
        *name = "int8";
        return 1;
    case 0x0B:
        *name = "int16";
        return 2;
    case 0x0C:
        *name = "int32";
        return 4;
    case 0x0D:
        *name = "float32";
        return 4;
    case 0x0E:
        *name = "float64";
        return 8;
    }
    *name = NULL;
    return 0;
}

static uint64_t be_uint(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* One big-endian value of the given type as a float. */
static float convert_value(const unsigned char *p, unsigned type)
{
    switch (type) {
    case 0x08:
        return (float)p[0];
    case 0x09:
        return (float)(int8_t)p[0];
    case 0x0B:
        return (float)(int16_t)(uint16_t)be_uint(p, 2);
    case 0x0C:
        return (float)(int32_t)(uint32_t)be_uint(p, 4);
    case 0x0D: {
        uint32_t u = (uint32_t)be_uint(p, 4);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case 0x0E: {
        uint64_t u = be_uint(p, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        return (float)d;
    }
    }
    return 0.0f;
}

/* Opens path, deciding raw or gzip by the name and refusing gzip data under
 * another name. */
static pqe_status source_open(const char *path, idx_source *src)
{
    unsigned char magic[2];
    size_t got;

    memset(src, 0, sizeof *src);
    src->fp = fopen(path, "rb");
    if (!src->fp)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    got = fread(magic, 1, 2, src->fp);
    if (got == 0) {
        int e = ferror(src->fp) ? errno : 0;
        source_close(src);
        if (e)
            return pqe_fail(PQE_ERR_IO, "%s: cannot read: %s", path, strerror(e));
        return pqe_fail(PQE_ERR_FORMAT, "%s: empty file", path);
    }
    if (!pqe_has_suffix(path, ".gz")) {
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            source_close(src);
            return pqe_fail(PQE_ERR_FORMAT,
                            "%s: the data are gzip-compressed but the name does not end in .gz "
                            "(rename it to %s.gz)",
                            path, path);
        }
        rewind(src->fp);
        return PQE_OK;
    }
    fclose(src->fp);
    src->fp = NULL;
    src->gz = gzopen(path, "rb");
    if (!src->gz)
        return pqe_fail(PQE_ERR_IO, "%s: zlib cannot open it", path);
    return PQE_OK;
}

pqe_status pqe_idx_read(const char *path, pqe_array_info *info, float **out)
{
    pqe_status st = PQE_OK;
    idx_source src = {0};
    unsigned char header[4 + 4 * MAX_IDX_DIMS];
    unsigned char *chunk = NULL;
    float *data = NULL;
    const char *tname;
    unsigned type, ndims;
    size_t esize, rows, cols = 1, total, capacity, filled = 0, carry = 0;
    long long got;

    *out = NULL;
    memset(info, 0, sizeof *info);
    info->format = PQE_FORMAT_IDX;
    if ((st = source_open(path, &src)) != PQE_OK)
        return st;

    /* The header. */
    got = source_read(&src, header, 4);
    if (got < 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: read error (damaged gzip data?)", path);
        goto cleanup;
    }
    if (got < 4) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: cut short: %lld bytes, less than the 4-byte magic", path,
                      got);
        goto cleanup;
    }
    type = header[2];
    ndims = header[3];
    esize = type_size(type, &tname);
    if (header[0] != 0 || header[1] != 0 || esize == 0 || ndims == 0 || ndims > MAX_IDX_DIMS) {
        st = pqe_fail(PQE_ERR_FORMAT,
                      "%s: wrong magic number 0x%02x%02x%02x%02x (an IDX file starts with 00 00, "
                      "a type 08/09/0B/0C/0D/0E and 1..%d dimensions, e.g. 0x00000803)",
                      path, header[0], header[1], header[2], header[3], MAX_IDX_DIMS);
        goto cleanup;
    }
    got = source_read(&src, header + 4, 4 * (size_t)ndims);
    if (got < 0 || (size_t)got < 4 * (size_t)ndims) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: cut short inside the header (%u dimensions declared)",
                      path, ndims);
        goto cleanup;
    }
    rows = (size_t)be_uint(header + 4, 4);
    for (unsigned d = 1; d < ndims; d++) {
        size_t s = (size_t)be_uint(header + 4 + 4 * d, 4);
        if (!pqe_mul_ok(cols, s, &cols)) {
            st = pqe_fail(PQE_ERR_OVERFLOW, "%s: the sizes of the header overflow", path);
            goto cleanup;
        }
    }
    if (!pqe_mul_ok(rows, cols, &total) || !pqe_mul_ok(total, esize, &capacity)) {
        st = pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu values of %zu bytes overflow", path, rows,
                      cols, esize);
        goto cleanup;
    }
    if (rows == 0 || cols == 0 || cols > PQE_MAX_DIM) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: implausible shape %zu x %zu (vector length 1..%d)", path,
                      rows, cols, PQE_MAX_DIM);
        goto cleanup;
    }
    info->rows = rows;
    info->cols = cols;
    snprintf(info->element_type, sizeof info->element_type, "%s", tname);

    /* The values, converted chunk by chunk into a growing array. */
    chunk = malloc(CHUNK_BYTES + 8);
    capacity = total < (1u << 20) ? total : (1u << 20);
    data = pqe_alloc_array(capacity, sizeof *data, "IDX values");
    if (!chunk || !data) {
        st = pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate read buffers", path);
        goto cleanup;
    }
    while (filled < total) {
        size_t want = (total - filled) * esize - carry, usable, nvals;
        if (want > CHUNK_BYTES)
            want = CHUNK_BYTES;
        got = source_read(&src, chunk + carry, want);
        if (got < 0) {
            st = pqe_fail(PQE_ERR_IO, "%s: read error (damaged gzip data?)", path);
            goto cleanup;
        }
        if (got == 0) {
            st = pqe_fail(PQE_ERR_FORMAT,
                          "%s: cut short: the header declares %zu x %zu values, the file holds %zu",
                          path, rows, cols, filled);
            goto cleanup;
        }
        usable = carry + (size_t)got;
        nvals = usable / esize;
        if (filled + nvals > capacity) {
            size_t cap = capacity * 2 > filled + nvals ? capacity * 2 : filled + nvals;
            float *grown;
            if (cap > total)
                cap = total;
            grown = realloc(data, cap * sizeof *data);
            if (!grown) {
                st = pqe_fail(PQE_ERR_NOMEM, "%s: cannot grow to %zu values", path, cap);
                goto cleanup;
            }
            data = grown;
            capacity = cap;
        }
        for (size_t i = 0; i < nvals; i++)
            data[filled + i] = convert_value(chunk + i * esize, type);
        filled += nvals;
        carry = usable - nvals * esize;
        memmove(chunk, chunk + nvals * esize, carry);
    }
    {
        unsigned char extra;
        got = source_read(&src, &extra, 1);
        if (got > 0)
            pqe_log(PQE_LOG_WARN, "%s: bytes after the %zu x %zu values are ignored", path, rows,
                    cols);
    }
    *out = data;
    data = NULL;

cleanup:
    source_close(&src);
    free(chunk);
    free(data);
    return st;
}

pqe_status pqe_idx_write(const char *path, const float *x, size_t n, size_t dim, bool as_float)
{
    pqe_status st = PQE_OK;
    char *tmp = NULL;
    gzFile gz = NULL;
    FILE *fp = NULL;
    bool gzip = pqe_has_suffix(path, ".gz");
    unsigned char header[12] = {0, 0, as_float ? 0x0D : 0x08, 2};
    unsigned char *buf = NULL;
    size_t esize = as_float ? 4 : 1, total;

    if (n > UINT32_MAX || dim > UINT32_MAX || !pqe_mul_ok(n, dim, &total))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu does not fit an IDX header", path, n, dim);
    for (int i = 0; i < 4; i++) {
        header[4 + i] = (unsigned char)(n >> (24 - 8 * i));
        header[8 + i] = (unsigned char)(dim >> (24 - 8 * i));
    }
    if (!as_float) {
        for (size_t i = 0; i < total; i++) {
            float v = x[i];
            if (!(v >= 0 && v <= 255 && v == (float)(int)v))
                return pqe_fail(PQE_ERR_DATA,
                                "%s: row %zu column %zu is %g, not an integer in 0..255 (write "
                                "float IDX instead)",
                                path, i / dim, i % dim, (double)v);
        }
    }
    buf = malloc(CHUNK_BYTES);
    if (!buf)
        return pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate a write buffer", path);
    if ((st = pqe_atomic_temp_name(path, &tmp)) != PQE_OK)
        goto cleanup;
    if (gzip)
        gz = gzopen(tmp, "wb6");
    else
        fp = fopen(tmp, "wb");
    if (!gz && !fp) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot open for writing", tmp);
        goto cleanup;
    }
    {
        size_t pos = 0;
        size_t per_chunk = CHUNK_BYTES / esize;
        bool ok = gz ? gzwrite(gz, header, sizeof header) == (int)sizeof header
                     : fwrite(header, 1, sizeof header, fp) == sizeof header;
        while (ok && pos < total) {
            size_t m = total - pos < per_chunk ? total - pos : per_chunk;
            for (size_t i = 0; i < m; i++) {
                if (as_float) {
                    uint32_t u;
                    memcpy(&u, &x[pos + i], 4);
                    for (int b = 0; b < 4; b++)
                        buf[4 * i + (size_t)b] = (unsigned char)(u >> (24 - 8 * b));
                } else {
                    buf[i] = (unsigned char)x[pos + i];
                }
            }
            ok = gz ? gzwrite(gz, buf, (unsigned)(m * esize)) == (int)(m * esize)
                    : fwrite(buf, esize, m, fp) == m;
            pos += m;
        }
        if (!ok) {
            st = pqe_fail(PQE_ERR_IO, "%s: write error (disk full?)", tmp);
            goto cleanup;
        }
    }
    if ((gz && gzclose(gz) != Z_OK) || (fp && fclose(fp) != 0)) {
        gz = NULL;
        fp = NULL;
        st = pqe_fail(PQE_ERR_IO, "%s: cannot finish writing (disk full?)", tmp);
        goto cleanup;
    }
    gz = NULL;
    fp = NULL;
    st = pqe_atomic_rename(tmp, path);

cleanup:
    if (gz)
        gzclose(gz);
    if (fp)
        fclose(fp);
    if (st != PQE_OK && tmp)
        remove(tmp);
    free(tmp);
    free(buf);
    return st;
}
