/* quantizer_ours.c - our PQ and OPQ behind the pqe_quantizer interface: an
 * optional orthogonal rotation R (opq.c), then PQ (pq.c); search rotates
 * the queries and scans the kept base codes with pqe_pq_search; decode
 * returns vectors in the ORIGINAL space (x^ = R^T y^).  No mean is
 * subtracted anywhere (see opq.c, choice 1), so codes, search and decode
 * agree without one.
 *
 * File format of pqe_quantizer_save (all integers and floats
 * little-endian; version 1):
 *
 *   offset size  field
 *        0    8  magic "PQEQUANT"
 *        8    4  u32 format version = 1
 *       12    4  u32 rotation: 0 pq, 1 opq-p, 2 opq-np
 *       16    8  u64 dim
 *       24    8  u64 n_sub (M)
 *       32    4  u32 nbits
 *       36    4  u32 metric: 0 euclidean, 1 angular, 2 dot
 *       40    4  u32 opq_start: 0 parametric, 1 identity
 *       44    4  u32 opq_outer_iters
 *       48    4  u32 opq_inner_iters
 *       52    4  u32 kmeans_iters
 *       56    4  u32 kmeans_init: 0 random, 1 k-means++
 *       60    4  u32 reserved, 0
 *       64    8  u64 max_points_per_centroid
 *       72    8  u64 seed
 *       80    8  u64 sdc_memory_limit
 *       88       f32 rotation, dim x dim row-major (only if rotation != 0)
 *                f32 codebooks, M x 2^nbits x (dim/M)
 *                u32 CRC-32 (zlib's) of every byte before it
 *
 * The configuration is stored so that a loaded quantizer names itself and
 * searches as the trained one did; n_threads is not (it belongs to the
 * machine).  The added base codes are not stored.
 *
 * Depends on: quantizer_impl.h, opq.h, pq.h, search.h, atomic_file.h,
 * util.h (crc32 through zlib).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/atomic_file.h"
#include "pqeval/opq.h"
#include "pqeval/pq.h"
#include "pqeval/search.h"
#include "quantizer_impl.h"
#include "util.h"

enum {
    BLOCK_ROWS = 4096,     /* vectors rotated at a time */
    FILE_VERSION = 1,      /* of the format above */
    HEADER_BYTES = 88,     /* up to the rotation */
    MAX_FILE_DIM = 1 << 20 /* sanity limit when reading a file */
};

typedef struct ours_state {
    pqe_quantizer_config config;
    pqe_pq *pq;      /* the PQ of the (rotated) space; trained after train/load */
    float *rotation; /* dim x dim, NULL for plain PQ */
    uint8_t *codes;  /* the added database, n_codes x code_bytes */
    size_t n_codes;
    pqe_opq_trace trace; /* of the last OPQ_NP training */
} ours_state;

static ours_state *state_of(const pqe_quantizer *q)
{
    return (ours_state *)q->state;
}

static void ours_free_state(void *state)
{
    ours_state *s = state;
    if (!s)
        return;
    pqe_pq_free(s->pq);
    free(s->rotation);
    free(s->codes);
    pqe_opq_trace_clear(&s->trace);
    free(s);
}

static pqe_pq_params pq_params_of(const pqe_quantizer_config *c)
{
    pqe_pq_params p = pqe_pq_params_default(c->dim, c->n_sub, c->nbits);
    p.kmeans.n_iters = c->kmeans_iters;
    p.kmeans.init = c->kmeans_init;
    p.kmeans.seed = c->seed;
    p.kmeans.max_points_per_centroid = c->max_points_per_centroid;
    p.kmeans.n_threads = c->n_threads;
    return p;
}

/* Rows start..start+rows of x rotated into buf, or x itself without a
 * rotation. */
static pqe_status rotated_block(const ours_state *s, const float *x, size_t start, size_t rows,
                                float *buf, const float **out)
{
    size_t dim = s->config.dim;
    if (!s->rotation) {
        *out = x + start * dim;
        return PQE_OK;
    }
    *out = buf;
    return pqe_opq_rotate(s->rotation, dim, x + start * dim, rows, buf);
}

static size_t block_of(size_t n, size_t start)
{
    return n - start < BLOCK_ROWS ? n - start : BLOCK_ROWS;
}

static float *alloc_block(const ours_state *s)
{
    return pqe_alloc_array((size_t)BLOCK_ROWS, s->config.dim * sizeof(float), "rotation block");
}

static pqe_status ours_train(pqe_quantizer *q, const float *x, size_t n)
{
    ours_state *s = state_of(q);
    const pqe_quantizer_config *c = &s->config;
    pqe_status st = PQE_OK;
    float *rotation = NULL, *y = NULL;
    pqe_pq *pq = NULL;
    size_t dd, nd;

    if (!pqe_mul_ok(c->dim, c->dim, &dd) || !pqe_mul_ok(n, c->dim, &nd))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu training vectors are too many", q->name, n);
    if (c->rotation != PQE_ROTATION_NONE) {
        rotation = pqe_alloc_array(dd, sizeof *rotation, "rotation");
        if (!rotation)
            return pqe_alloc_status();
    }

    switch (c->rotation) {
    case PQE_ROTATION_NONE: {
        pqe_pq_params p = pq_params_of(c);
        st = pqe_pq_new(&p, &pq);
        if (st == PQE_OK)
            st = pqe_pq_train(pq, x, n);
        break;
    }
    case PQE_ROTATION_OPQ_PARAMETRIC:
        st = pqe_opq_parametric(x, n, c->dim, c->n_sub, rotation);
        if (st == PQE_OK) {
            y = pqe_alloc_array(nd, sizeof *y, "rotated training vectors");
            st = y ? pqe_opq_rotate(rotation, c->dim, x, n, y) : pqe_alloc_status();
        }
        if (st == PQE_OK) {
            pqe_pq_params p = pq_params_of(c);
            st = pqe_pq_new(&p, &pq);
        }
        if (st == PQE_OK)
            st = pqe_pq_train(pq, y, n);
        break;
    case PQE_ROTATION_OPQ_NONPARAMETRIC: {
        pqe_opq_params p;
        p.pq = pq_params_of(c);
        p.start = c->opq_start;
        p.outer_iters = c->opq_outer_iters;
        p.inner_iters = c->opq_inner_iters;
        pqe_opq_trace_clear(&s->trace);
        st = pqe_opq_nonparametric(&p, x, n, rotation, &pq, &s->trace);
        break;
    }
    }
    free(y);
    if (st != PQE_OK) {
        free(rotation);
        pqe_pq_free(pq);
        return pqe_fail_context(st, "training %s", q->name);
    }
    pqe_pq_free(s->pq);
    free(s->rotation);
    s->pq = pq;
    s->rotation = rotation;
    return PQE_OK;
}

static size_t ours_code_bytes(const pqe_quantizer *q)
{
    return pqe_pq_code_bytes(state_of(q)->pq);
}

static double ours_code_bits(const pqe_quantizer *q)
{
    const ours_state *s = state_of(q);
    return (double)s->config.n_sub * (double)s->config.nbits;
}

static pqe_status ours_encode(const pqe_quantizer *q, const float *x, size_t n, uint8_t *codes)
{
    const ours_state *s = state_of(q);
    size_t cb = pqe_pq_code_bytes(s->pq);
    pqe_status st = PQE_OK;
    float *buf = NULL;

    if (s->rotation && !(buf = alloc_block(s)))
        return pqe_alloc_status();
    for (size_t start = 0; st == PQE_OK && start < n; start += BLOCK_ROWS) {
        size_t rows = block_of(n, start);
        const float *y;
        st = rotated_block(s, x, start, rows, buf, &y);
        if (st == PQE_OK)
            st = pqe_pq_encode(s->pq, y, rows, codes + start * cb);
    }
    free(buf);
    return st;
}

static pqe_status ours_decode(const pqe_quantizer *q, const uint8_t *codes, size_t n, float *out)
{
    const ours_state *s = state_of(q);
    size_t cb = pqe_pq_code_bytes(s->pq), dim = s->config.dim;
    pqe_status st = PQE_OK;
    float *buf = NULL;

    if (!s->rotation)
        return pqe_pq_decode(s->pq, codes, n, out);
    if (!(buf = alloc_block(s)))
        return pqe_alloc_status();
    for (size_t start = 0; st == PQE_OK && start < n; start += BLOCK_ROWS) {
        size_t rows = block_of(n, start);
        st = pqe_pq_decode(s->pq, codes + start * cb, rows, buf);
        if (st == PQE_OK)
            st = pqe_opq_unrotate(s->rotation, dim, buf, rows, out + start * dim);
    }
    free(buf);
    return st;
}

static pqe_status ours_reconstruct(const pqe_quantizer *q, const float *x, size_t n, float *out)
{
    const ours_state *s = state_of(q);
    size_t cb = pqe_pq_code_bytes(s->pq), dim = s->config.dim;
    pqe_status st = PQE_OK;
    uint8_t *codes = pqe_alloc_array((size_t)BLOCK_ROWS, cb, "codes");

    if (!codes)
        return pqe_alloc_status();
    for (size_t start = 0; st == PQE_OK && start < n; start += BLOCK_ROWS) {
        size_t rows = block_of(n, start);
        st = ours_encode(q, x + start * dim, rows, codes);
        if (st == PQE_OK)
            st = ours_decode(q, codes, rows, out + start * dim);
    }
    free(codes);
    return st;
}

static pqe_status ours_add(pqe_quantizer *q, const float *x, size_t n)
{
    ours_state *s = state_of(q);
    pqe_status st;
    uint8_t *codes = pqe_alloc_array(n, pqe_pq_code_bytes(s->pq), "base codes");

    if (!codes)
        return pqe_alloc_status();
    st = ours_encode(q, x, n, codes);
    if (st != PQE_OK) {
        free(codes);
        return st;
    }
    free(s->codes);
    s->codes = codes;
    s->n_codes = n;
    return PQE_OK;
}

static size_t sdc_limit(const ours_state *s)
{
    return s->config.sdc_memory_limit ? s->config.sdc_memory_limit
                                      : (size_t)PQE_SDC_MEMORY_LIMIT_DEFAULT;
}

static pqe_status ours_search(const pqe_quantizer *q, pqe_search_mode mode, const float *queries,
                              size_t n_queries, size_t k, int64_t *ids, float *distances)
{
    const ours_state *s = state_of(q);
    pqe_search_params params;
    pqe_status st = PQE_OK;
    float *rotated = NULL;
    const float *y = queries;

    memset(&params, 0, sizeof params);
    params.mode = mode;
    params.metric = s->config.metric;
    params.k = k;
    params.sdc_memory_limit = sdc_limit(s);
    params.n_threads = s->config.n_threads;
    if (s->rotation) {
        rotated = pqe_alloc_array(n_queries, s->config.dim * sizeof(float), "rotated queries");
        if (!rotated)
            return pqe_alloc_status();
        st = pqe_opq_rotate(s->rotation, s->config.dim, queries, n_queries, rotated);
        y = rotated;
    }
    if (st == PQE_OK)
        st = pqe_pq_search(s->pq, &params, s->codes, s->n_codes, y, n_queries, ids, distances);
    free(rotated);
    return st;
}

static bool ours_supports(const pqe_quantizer *q, pqe_search_mode mode)
{
    const ours_state *s = state_of(q);
    if (mode == PQE_SEARCH_ADC)
        return true;
    return mode == PQE_SEARCH_SDC && pqe_pq_sdc_table_bytes(s->pq) <= sdc_limit(s);
}

static size_t ours_n_sub(const pqe_quantizer *q)
{
    return state_of(q)->config.n_sub;
}

static pqe_status ours_subspace_error(const pqe_quantizer *q, const float *x, size_t n,
                                      double *sub_err)
{
    const ours_state *s = state_of(q);
    size_t cb = pqe_pq_code_bytes(s->pq);
    pqe_status st = PQE_OK;
    float *buf = NULL;
    uint8_t *codes = pqe_alloc_array((size_t)BLOCK_ROWS, cb, "codes");

    if (!codes || (s->rotation && !(buf = alloc_block(s)))) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    for (size_t start = 0; st == PQE_OK && start < n; start += BLOCK_ROWS) {
        size_t rows = block_of(n, start);
        const float *y;
        st = rotated_block(s, x, start, rows, buf, &y);
        if (st == PQE_OK)
            st = pqe_pq_encode(s->pq, y, rows, codes);
        if (st == PQE_OK)
            st = pqe_pq_subspace_error(s->pq, y, codes, rows, sub_err);
    }

cleanup:
    free(codes);
    free(buf);
    return st;
}

/* ---- the file format ---------------------------------------------------- */

/* Sizes of the parts after the header, checked for overflow. */
static pqe_status payload_sizes(size_t dim, size_t n_sub, unsigned nbits, bool rotated,
                                size_t *rotation_floats, size_t *codebook_floats, size_t *total)
{
    size_t ksub = (size_t)1 << nbits, floats;
    *rotation_floats = 0;
    if (rotated && !pqe_mul_ok(dim, dim, rotation_floats))
        return pqe_fail(PQE_ERR_OVERFLOW, "quantizer file: dimension %zu overflows", dim);
    if (!pqe_mul_ok(ksub, dim, codebook_floats) ||
        __builtin_add_overflow(*rotation_floats, *codebook_floats, &floats) ||
        !pqe_mul_ok(floats, 4, total) || __builtin_add_overflow(*total, HEADER_BYTES + 4, total))
        return pqe_fail(PQE_ERR_OVERFLOW, "quantizer file: %zu x 2^%u codebooks overflow", dim,
                        nbits);
    (void)n_sub;
    return PQE_OK;
}

static pqe_status ours_save(const pqe_quantizer *q, const char *path)
{
    const ours_state *s = state_of(q);
    const pqe_quantizer_config *c = &s->config;
    pqe_atomic_file af;
    pqe_status st;
    size_t rot_floats = 0, cb_floats = 0, total = 0;
    uint8_t *buf = NULL, *p;

    memset(&af, 0, sizeof af);
    st = payload_sizes(c->dim, c->n_sub, c->nbits, s->rotation != NULL, &rot_floats, &cb_floats,
                       &total);
    if (st != PQE_OK)
        return st;
    buf = pqe_calloc_array(total, 1, "quantizer file");
    if (!buf)
        return pqe_alloc_status();

    memcpy(buf, PQE_QUANTIZER_MAGIC, 8);
    pqe_put_u32(buf + 8, FILE_VERSION);
    pqe_put_u32(buf + 12, (uint32_t)c->rotation);
    pqe_put_u64(buf + 16, c->dim);
    pqe_put_u64(buf + 24, c->n_sub);
    pqe_put_u32(buf + 32, c->nbits);
    pqe_put_u32(buf + 36, (uint32_t)c->metric);
    pqe_put_u32(buf + 40, (uint32_t)c->opq_start);
    pqe_put_u32(buf + 44, c->opq_outer_iters);
    pqe_put_u32(buf + 48, c->opq_inner_iters);
    pqe_put_u32(buf + 52, c->kmeans_iters);
    pqe_put_u32(buf + 56, (uint32_t)c->kmeans_init);
    pqe_put_u32(buf + 60, 0);
    pqe_put_u64(buf + 64, c->max_points_per_centroid);
    pqe_put_u64(buf + 72, c->seed);
    pqe_put_u64(buf + 80, c->sdc_memory_limit);
    p = buf + HEADER_BYTES;
    if (s->rotation) {
        pqe_put_floats(p, s->rotation, rot_floats);
        p += 4 * rot_floats;
    }
    pqe_put_floats(p, pqe_pq_codebooks(s->pq), cb_floats);
    p += 4 * cb_floats;
    pqe_put_u32(p, pqe_crc32(buf, total - 4));

    st = pqe_atomic_open(path, &af);
    if (st != PQE_OK)
        goto cleanup;
    if (fwrite(buf, 1, total, af.fp) != total) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot write %zu bytes: %s", path, total, strerror(errno));
        pqe_atomic_abort(&af);
        goto cleanup;
    }
    st = pqe_atomic_commit(&af);

cleanup:
    free(buf);
    return st;
}

/* Builds the state of a quantizer from a file already read into memory. */
static pqe_status parse_file(const char *path, const uint8_t *buf, size_t size, pqe_quantizer **out)
{
    pqe_quantizer_config c;
    pqe_status st;
    uint32_t version, rotation, crc_stored, crc_actual;
    uint64_t dim64, n_sub64;
    size_t rot_floats = 0, cb_floats = 0, total = 0;
    float *codebooks = NULL;
    pqe_quantizer *q = NULL;
    ours_state *s;

    if (size < HEADER_BYTES)
        return pqe_fail(PQE_ERR_FORMAT, "%s: truncated: %zu bytes, a quantizer header needs %d",
                        path, size, HEADER_BYTES);
    version = pqe_get_u32(buf + 8);
    if (version != FILE_VERSION)
        return pqe_fail(PQE_ERR_FORMAT, "%s: format version %u is not supported (expected %d)",
                        path, version, FILE_VERSION);
    rotation = pqe_get_u32(buf + 12);
    dim64 = pqe_get_u64(buf + 16);
    n_sub64 = pqe_get_u64(buf + 24);
    c = pqe_quantizer_config_default(0, 0, 0);
    c.nbits = pqe_get_u32(buf + 32);
    if (rotation > PQE_ROTATION_OPQ_NONPARAMETRIC)
        return pqe_fail(PQE_ERR_FORMAT, "%s: unknown rotation %u at byte 12", path, rotation);
    if (dim64 == 0 || dim64 > MAX_FILE_DIM || n_sub64 == 0 || dim64 % n_sub64 != 0)
        return pqe_fail(PQE_ERR_FORMAT,
                        "%s: bad shape: dimension %llu with %llu subspaces (bytes 16-31)", path,
                        (unsigned long long)dim64, (unsigned long long)n_sub64);
    if (c.nbits < PQE_PQ_NBITS_MIN || c.nbits > PQE_PQ_NBITS_MAX)
        return pqe_fail(PQE_ERR_FORMAT, "%s: nbits %u at byte 32 is outside %d..%d", path, c.nbits,
                        PQE_PQ_NBITS_MIN, PQE_PQ_NBITS_MAX);
    c.dim = (size_t)dim64;
    c.n_sub = (size_t)n_sub64;
    c.rotation = (pqe_rotation)rotation;
    c.metric = (pqe_metric)pqe_get_u32(buf + 36);
    c.opq_start = (pqe_opq_start)pqe_get_u32(buf + 40);
    c.opq_outer_iters = pqe_get_u32(buf + 44);
    c.opq_inner_iters = pqe_get_u32(buf + 48);
    c.kmeans_iters = pqe_get_u32(buf + 52);
    c.kmeans_init = (pqe_kmeans_init)pqe_get_u32(buf + 56);
    c.max_points_per_centroid = (size_t)pqe_get_u64(buf + 64);
    c.seed = pqe_get_u64(buf + 72);
    c.sdc_memory_limit = (size_t)pqe_get_u64(buf + 80);
    if ((unsigned)c.metric > PQE_METRIC_DOT)
        return pqe_fail(PQE_ERR_FORMAT, "%s: unknown metric %u at byte 36", path,
                        (unsigned)c.metric);

    st = payload_sizes(c.dim, c.n_sub, c.nbits, rotation != 0, &rot_floats, &cb_floats, &total);
    if (st != PQE_OK)
        return st;
    if (size < total)
        return pqe_fail(PQE_ERR_FORMAT, "%s: truncated: %zu bytes, expected %zu for %s%zux%u", path,
                        size, total, rotation ? "a rotation and " : "", c.n_sub, c.nbits);
    if (size > total)
        return pqe_fail(PQE_ERR_FORMAT, "%s: %zu unexpected bytes after the end at byte %zu", path,
                        size - total, total);
    crc_stored = pqe_get_u32(buf + total - 4);
    crc_actual = pqe_crc32(buf, total - 4);
    if (crc_stored != crc_actual)
        return pqe_fail(PQE_ERR_FORMAT,
                        "%s: corrupt: checksum 0x%08x stored, 0x%08x computed over %zu bytes", path,
                        crc_stored, crc_actual, total - 4);

    st = pqe_quantizer_ours_new(&c, &q);
    if (st != PQE_OK)
        return pqe_fail_context(st, "%s", path);
    s = state_of(q);
    if (rotation) {
        s->rotation = pqe_alloc_array(rot_floats, sizeof(float), "rotation");
        if (!s->rotation) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        pqe_get_floats(buf + HEADER_BYTES, s->rotation, rot_floats);
    }
    codebooks = pqe_alloc_array(cb_floats, sizeof(float), "codebooks");
    if (!codebooks) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    pqe_get_floats(buf + HEADER_BYTES + 4 * rot_floats, codebooks, cb_floats);
    st = pqe_pq_set_codebooks(s->pq, codebooks);
    if (st != PQE_OK) {
        pqe_fail_context(st, "%s", path);
        goto cleanup;
    }
    q->trained = true;
    *out = q;
    q = NULL;

cleanup:
    free(codebooks);
    pqe_quantizer_free(q);
    return st;
}

pqe_status pqe_quantizer_ours_load(const char *path, FILE *fp, pqe_quantizer **out)
{
    pqe_status st;
    uint8_t *buf = NULL;
    long end;
    size_t size;

    if (fseek(fp, 0, SEEK_END) != 0 || (end = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0)
        return pqe_fail(PQE_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    size = (size_t)end;
    buf = pqe_alloc_array(size, 1, "quantizer file");
    if (!buf)
        return pqe_alloc_status();
    if (fread(buf, 1, size, fp) != size) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot read %zu bytes", path, size);
        goto cleanup;
    }
    st = parse_file(path, buf, size, out);

cleanup:
    free(buf);
    return st;
}

static const pqe_quantizer_ops ours_ops = {
    .train = ours_train,
    .add = ours_add,
    .code_bytes = ours_code_bytes,
    .code_bits = ours_code_bits,
    .encode = ours_encode,
    .decode = ours_decode,
    .reconstruct = ours_reconstruct,
    .search = ours_search,
    .supports = ours_supports,
    .n_sub = ours_n_sub,
    .subspace_error = ours_subspace_error,
    .save = ours_save,
    .free_state = ours_free_state,
};

static const char *name_prefix(pqe_rotation rotation)
{
    switch (rotation) {
    case PQE_ROTATION_OPQ_PARAMETRIC:
        return "OPQ-P";
    case PQE_ROTATION_OPQ_NONPARAMETRIC:
        return "OPQ-NP";
    case PQE_ROTATION_NONE:
        break;
    }
    return "PQ";
}

pqe_status pqe_quantizer_ours_new(const pqe_quantizer_config *config, pqe_quantizer **out)
{
    pqe_status st;
    ours_state *s;
    pqe_pq_params params;
    pqe_quantizer *q;

    if ((unsigned)config->rotation > PQE_ROTATION_OPQ_NONPARAMETRIC)
        return pqe_fail(PQE_ERR_PARAM,
                        "quantizer: unknown method %d (expected pq, opq-p or "
                        "opq-np)",
                        (int)config->rotation);
    if ((unsigned)config->metric > PQE_METRIC_DOT)
        return pqe_fail(PQE_ERR_PARAM, "quantizer: unknown metric %d", (int)config->metric);
    if (config->kmeans_iters == 0)
        return pqe_fail(PQE_ERR_PARAM, "quantizer: k-means iterations must be at least 1, not 0");
    if (config->rotation == PQE_ROTATION_OPQ_NONPARAMETRIC) {
        if (config->opq_inner_iters == 0)
            return pqe_fail(PQE_ERR_PARAM,
                            "quantizer: opq inner iterations must be at least 1, not 0");
        if ((unsigned)config->opq_start > PQE_OPQ_START_IDENTITY)
            return pqe_fail(PQE_ERR_PARAM, "quantizer: unknown opq start %d",
                            (int)config->opq_start);
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return pqe_fail(PQE_ERR_NOMEM, "quantizer: cannot allocate %zu bytes", sizeof *s);
    s->config = *config;

    /* An untrained PQ checks dim, M and nbits and names the valid values. */
    params = pq_params_of(config);
    st = pqe_pq_new(&params, &s->pq);
    if (st != PQE_OK) {
        ours_free_state(s);
        return st;
    }
    st = pqe_quantizer_wrap(&ours_ops, s, config->dim, config->metric, &q);
    if (st != PQE_OK)
        return st;
    snprintf(q->name, sizeof q->name, "%s%zux%u", name_prefix(config->rotation), config->n_sub,
             config->nbits);
    *out = q;
    return PQE_OK;
}
