/* io_xvecs.c - texmex .fvecs, .ivecs and .bvecs files (Jegou et al., the
 * ANN_SIFT1M / BIGANN distribution): each record is a little-endian int32
 * dimension d followed by d values (float32, int32 or uint8).
 *
 * Every header is checked against the first, so a damaged or concatenated
 * file is named by its first bad record instead of silently shifting every
 * vector after it.  Files of the big-ann-benchmarks formats (.fbin, .u8bin:
 * uint32 n, uint32 d, then the values) given an xvecs name are recognised
 * and said so.  Reads go in blocks at 64-bit offsets (fseeko), so a range of
 * rows is read without touching the rest.
 *
 * Values are stored little-endian; this file assumes a little-endian host
 * (checked at compile time).
 *
 * Depends on: io.h, io_internal.h, atomic_file.h, util.h.
 */
#include "pqeval/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "io_internal.h"
#include "pqeval/atomic_file.h"
#include "util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "io_xvecs.c reads little-endian files by memcpy: port it before using a big-endian host"
#endif

enum { BLOCK_BYTES = 1 << 22 };

/* What an xvecs file is made of. */
typedef struct xvecs_shape {
    pqe_format format;
    size_t elem_size; /* bytes per value */
    size_t dim;
    size_t record; /* 4 + dim * elem_size */
    size_t rows;
} xvecs_shape;

static pqe_status format_of(const char *path, pqe_format *format, size_t *elem_size)
{
    *format = pqe_format_from_name(path);
    switch (*format) {
    case PQE_FORMAT_FVECS:
    case PQE_FORMAT_IVECS:
        *elem_size = 4;
        return PQE_OK;
    case PQE_FORMAT_BVECS:
        *elem_size = 1;
        return PQE_OK;
    default:
        return pqe_fail(PQE_ERR_PARAM, "%s: not an .fvecs, .ivecs or .bvecs name", path);
    }
}

/* True (with a message recorded) if the file is laid out as a big-ann
 * .fbin/.ibin (4-byte values) or .u8bin/.i8bin (1-byte values) file. */
static bool looks_like_bigann(const char *path, uint64_t size, const unsigned char hdr[8])
{
    uint32_t n, d;
    memcpy(&n, hdr, 4);
    memcpy(&d, hdr + 4, 4);
    if (n == 0 || d == 0)
        return false;
    for (unsigned esize = 1; esize <= 4; esize *= 4) {
        uint64_t expect = 8 + (uint64_t)n * d * esize;
        if (expect == size) {
            pqe_fail(PQE_ERR_FORMAT,
                     "%s: not a texmex file: it looks like a big-ann-benchmarks %s file (header "
                     "n = %u, d = %u, then %u-byte values); convert it or give it its own name",
                     path, esize == 1 ? ".u8bin/.i8bin" : ".fbin/.ibin", n, d, esize);
            return true;
        }
    }
    return false;
}

/* Reads the size and the first header; checks the size is whole records. */
static pqe_status read_shape(const char *path, FILE *fp, xvecs_shape *shape)
{
    pqe_status st;
    uint64_t size;
    unsigned char hdr[8];
    int32_t d;
    size_t got;

    memset(shape, 0, sizeof *shape);
    if ((st = format_of(path, &shape->format, &shape->elem_size)) != PQE_OK)
        return st;
    if ((st = pqe_file_size(path, &size)) != PQE_OK)
        return st;
    if (size == 0)
        return pqe_fail(PQE_ERR_FORMAT, "%s: empty file", path);
    if (size < 4)
        return pqe_fail(PQE_ERR_FORMAT, "%s: %llu bytes, too short for a dimension header", path,
                        (unsigned long long)size);
    memset(hdr, 0, sizeof hdr);
    got = fread(hdr, 1, sizeof hdr, fp);
    if (got < 4)
        return pqe_fail(PQE_ERR_IO, "%s: cannot read the first header", path);
    memcpy(&d, hdr, 4);
    if (d <= 0 || d > PQE_MAX_DIM) {
        if (got == 8 && looks_like_bigann(path, size, hdr))
            return PQE_ERR_FORMAT;
        return pqe_fail(PQE_ERR_FORMAT, "%s: record 0 has dimension header %d (%s; expected 1..%d)",
                        path, (int)d,
                        d == 0  ? "zero"
                        : d < 0 ? "negative"
                                : "absurdly large",
                        PQE_MAX_DIM);
    }
    shape->dim = (size_t)d;
    shape->record = 4 + shape->dim * shape->elem_size;
    if (size % shape->record != 0) {
        if (got == 8 && looks_like_bigann(path, size, hdr))
            return PQE_ERR_FORMAT;
        return pqe_fail(PQE_ERR_FORMAT,
                        "%s: size %llu bytes is not a whole number of %zu-byte records "
                        "(dimension %zu): %llu whole records and %llu bytes left over",
                        path, (unsigned long long)size, shape->record, shape->dim,
                        (unsigned long long)(size / shape->record),
                        (unsigned long long)(size % shape->record));
    }
    if (size / shape->record > SIZE_MAX)
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: too many records", path);
    shape->rows = (size_t)(size / shape->record);
    return PQE_OK;
}

/* Visits records [begin, begin + n) in blocks, checking every header;
 * emit(record bytes after the header, row index within the range, user). */
static pqe_status scan_records(const char *path, FILE *fp, const xvecs_shape *shape, size_t begin,
                               size_t n, void (*emit)(const unsigned char *, size_t, void *),
                               void *user)
{
    pqe_status st = PQE_OK;
    size_t per_block = BLOCK_BYTES / shape->record, end;
    unsigned char *buf;

    if (__builtin_add_overflow(begin, n, &end) || end > shape->rows)
        return pqe_fail(PQE_ERR_PARAM, "%s: rows %zu..%zu requested, the file has %zu", path, begin,
                        begin + n, shape->rows);
    if (per_block == 0)
        per_block = 1;
    buf = pqe_alloc_array(per_block, shape->record, "read block");
    if (!buf)
        return pqe_alloc_status();
    if (fseeko(fp, (off_t)((uint64_t)begin * shape->record), SEEK_SET) != 0) {
        st =
            pqe_fail(PQE_ERR_IO, "%s: cannot seek to record %zu: %s", path, begin, strerror(errno));
        goto cleanup;
    }
    for (size_t r = 0; r < n; r += per_block) {
        size_t nr = n - r < per_block ? n - r : per_block;
        if (fread(buf, shape->record, nr, fp) != nr) {
            st = pqe_fail(PQE_ERR_IO, "%s: read error at record %zu (file changed?)", path,
                          begin + r);
            goto cleanup;
        }
        for (size_t i = 0; i < nr; i++) {
            const unsigned char *rec = buf + i * shape->record;
            int32_t d;
            memcpy(&d, rec, 4);
            if (d != (int32_t)shape->dim) {
                st = pqe_fail(PQE_ERR_FORMAT,
                              "%s: record %zu has dimension header %d, but record 0 has %zu "
                              "(damaged or concatenated file?)",
                              path, begin + r + i, (int)d, shape->dim);
                goto cleanup;
            }
            if (emit)
                emit(rec + 4, r + i, user);
        }
    }

cleanup:
    free(buf);
    return st;
}

static const char *element_name(pqe_format format)
{
    return format == PQE_FORMAT_FVECS ? "float32" : format == PQE_FORMAT_IVECS ? "int32" : "uint8";
}

/* The shape of an xvecs file from its first header and its size; with
 * scan, every record's header is checked too (a full pass). */
static pqe_status xvecs_shape_of(const char *path, bool scan, pqe_array_info *out)
{
    pqe_status st;
    xvecs_shape shape;
    FILE *fp = fopen(path, "rb");

    memset(out, 0, sizeof *out);
    if (!fp)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_shape(path, fp, &shape);
    if (st == PQE_OK && scan)
        st = scan_records(path, fp, &shape, 0, shape.rows, NULL, NULL);
    fclose(fp);
    if (st != PQE_OK)
        return st;
    out->format = shape.format;
    out->rows = shape.rows;
    out->cols = shape.dim;
    snprintf(out->element_type, sizeof out->element_type, "%s", element_name(shape.format));
    return PQE_OK;
}

pqe_status pqe_xvecs_info(const char *path, pqe_array_info *out)
{
    return xvecs_shape_of(path, true, out);
}

pqe_status pqe_xvecs_shape(const char *path, pqe_array_info *out)
{
    return xvecs_shape_of(path, false, out);
}

typedef struct emit_target {
    void *out;
    size_t dim;
    pqe_format format;
} emit_target;

static void emit_values(const unsigned char *values, size_t row, void *user)
{
    emit_target *t = user;
    if (t->format == PQE_FORMAT_BVECS) {
        float *dst = (float *)t->out + row * t->dim;
        for (size_t j = 0; j < t->dim; j++)
            dst[j] = (float)values[j];
    } else {
        /* float32 and int32 alike: 4 bytes per value, copied unchanged. */
        memcpy((char *)t->out + row * t->dim * 4, values, t->dim * 4);
    }
}

static pqe_status read_rows(const char *path, size_t begin, size_t n, void *out, bool want_int)
{
    pqe_status st;
    xvecs_shape shape;
    emit_target t;
    FILE *fp = fopen(path, "rb");

    if (!fp)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_shape(path, fp, &shape);
    if (st == PQE_OK && want_int != (shape.format == PQE_FORMAT_IVECS))
        st = pqe_fail(PQE_ERR_PARAM, "%s: %s values requested from a .%s file", path,
                      want_int ? "integer" : "vector", pqe_format_name(shape.format));
    if (st == PQE_OK) {
        t.out = out;
        t.dim = shape.dim;
        t.format = shape.format;
        st = scan_records(path, fp, &shape, begin, n, emit_values, &t);
    }
    fclose(fp);
    return st;
}

pqe_status pqe_xvecs_read_rows(const char *path, size_t begin, size_t n, float *out)
{
    return read_rows(path, begin, n, out, false);
}

pqe_status pqe_ivecs_read_rows(const char *path, size_t begin, size_t n, int32_t *out)
{
    return read_rows(path, begin, n, out, true);
}

/* Writes n records of dim values from src (float or int32) atomically. */
static pqe_status write_records(const char *path, const void *src, size_t n, size_t dim,
                                pqe_format format)
{
    pqe_status st;
    pqe_atomic_file af;
    size_t esize = format == PQE_FORMAT_BVECS ? 1 : 4;
    size_t record = 4 + dim * esize;
    size_t per_block;
    unsigned char *buf = NULL;
    int32_t d = (int32_t)dim;

    if (dim == 0 || dim > PQE_MAX_DIM)
        return pqe_fail(PQE_ERR_PARAM, "%s: dimension %zu cannot be written (1..%d)", path, dim,
                        PQE_MAX_DIM);
    per_block = BLOCK_BYTES / record > 0 ? BLOCK_BYTES / record : 1;
    buf = pqe_alloc_array(per_block, record, "write block");
    if (!buf)
        return pqe_alloc_status();
    if ((st = pqe_atomic_open(path, &af)) != PQE_OK) {
        free(buf);
        return st;
    }
    for (size_t r = 0; r < n; r += per_block) {
        size_t nr = n - r < per_block ? n - r : per_block;
        for (size_t i = 0; i < nr; i++) {
            unsigned char *rec = buf + i * record;
            size_t row = r + i;
            memcpy(rec, &d, 4);
            if (format == PQE_FORMAT_BVECS) {
                const float *x = (const float *)src + row * dim;
                for (size_t j = 0; j < dim; j++)
                    rec[4 + j] = (unsigned char)x[j];
            } else {
                memcpy(rec + 4, (const char *)src + row * dim * 4, dim * 4);
            }
        }
        if (fwrite(buf, record, nr, af.fp) != nr) {
            st = pqe_fail(PQE_ERR_IO, "%s: write error (disk full?)", path);
            pqe_atomic_abort(&af);
            free(buf);
            return st;
        }
    }
    free(buf);
    return pqe_atomic_commit(&af);
}

pqe_status pqe_xvecs_write(const char *path, const float *x, size_t n, size_t dim)
{
    pqe_format format = pqe_format_from_name(path);
    size_t total;

    if (format != PQE_FORMAT_FVECS && format != PQE_FORMAT_BVECS)
        return pqe_fail(PQE_ERR_PARAM, "%s: vectors are written as .fvecs or .bvecs", path);
    if (!pqe_mul_ok(n, dim, &total))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu overflows", path, n, dim);
    if (format == PQE_FORMAT_BVECS) {
        for (size_t i = 0; i < total; i++) {
            float v = x[i];
            if (!(v >= 0 && v <= 255 && v == (float)(int)v))
                return pqe_fail(PQE_ERR_DATA,
                                "%s: row %zu column %zu is %g, not an integer in 0..255 (write "
                                ".fvecs instead)",
                                path, i / dim, i % dim, (double)v);
        }
    }
    return write_records(path, x, n, dim, format);
}

pqe_status pqe_ivecs_write(const char *path, const int32_t *x, size_t n, size_t dim)
{
    size_t total;
    if (pqe_format_from_name(path) != PQE_FORMAT_IVECS)
        return pqe_fail(PQE_ERR_PARAM, "%s: integer vectors are written as .ivecs", path);
    if (!pqe_mul_ok(n, dim, &total))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu overflows", path, n, dim);
    return write_records(path, x, n, dim, PQE_FORMAT_IVECS);
}
