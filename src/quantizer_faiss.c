/* quantizer_faiss.c - any FAISS index_factory string behind the
 * pqe_quantizer interface, through FAISS's C API.
 *
 * - Metric: METRIC_L2 for euclidean data, METRIC_INNER_PRODUCT for dot and
 *   angular (angular data are normalised by the caller).
 * - Codes: FAISS's standalone codec (sa_encode/sa_decode, code size
 *   sa_code_size).  Indexes without one (fast-scan PQ "PQ16x4fs" in FAISS
 *   1.7.3) have code_bytes 0; encode/decode fail with PQE_ERR_UNSUPPORTED
 *   and FAISS's message, and pqe_quantizer_reconstruct falls back to adding
 *   the vectors to a copy of the index and reconstructing them from it
 *   (a copy by clone_index, or by write_index/read_index through a
 *   temporary file where FAISS 1.7.3 cannot clone, as for fast-scan).
 * - Search: FAISS's own faiss_Index_search, i.e. ADC for PQ indexes; SDC
 *   is refused with PQE_ERR_UNSUPPORTED.
 * - Search parameters: FAISS's factory strings cannot set them, so a
 *   factory string may end with "|" and a ParameterSpace string, e.g.
 *   "IVF256,PQ16|nprobe=16"; it is applied with
 *   faiss_ParameterSpace_set_index_parameters when the index is made.
 *   Without one FAISS's defaults hold (nprobe = 1 for IVF indexes).
 * - code_bits: M * nbits when the factory string is a PQ after optional
 *   transforms ("PQ16", "OPQ16,PQ16x4fs", "PCA64,PQ8x10"); otherwise
 *   8 * sa_code_size (so "IVF256,PQ16" counts its list number too), or 0
 *   if neither is known.
 * - Seeds: FAISS's k-means has its own fixed default seed (1234), which the
 *   factory string cannot change; results are repeatable but do not follow
 *   pqeval's --seed.
 * - n_threads > 0 sets OpenMP's thread count for the calling thread around
 *   each FAISS call and restores it afterwards.
 * - Known shortcoming: FAISS itself prints some warnings to stderr (e.g.
 *   "WARNING clustering N points to K centroids"); they cannot be routed
 *   through pqe_log.
 *
 * Depends on: quantizer_impl.h, atomic_file.h, util.h; the FAISS C API and
 * OpenMP.
 */
#include <ctype.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/clone_index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "pqeval/atomic_file.h"
#include "quantizer_impl.h"
#include "util.h"

typedef struct faiss_state {
    FaissIndex *index;
    int n_threads;      /* 0 = leave OpenMP alone */
    size_t code_size;   /* sa_code_size, 0 if there is no standalone codec */
    char *no_sa_reason; /* FAISS's message when code_size is 0 (owned) */
    double code_bits;   /* parsed from the factory string; 0 = use 8 * code_size */
} faiss_state;

static faiss_state *state_of(const pqe_quantizer *q)
{
    return (faiss_state *)q->state;
}

static void faiss_free_state(void *state)
{
    faiss_state *s = state;
    if (!s)
        return;
    if (s->index)
        faiss_Index_free(s->index);
    free(s->no_sa_reason);
    free(s);
}

/* FAISS's last error, trimmed of trailing blanks. */
static const char *faiss_message(void)
{
    static _Thread_local char buf[768];
    const char *m = faiss_get_last_error();
    size_t len;

    if (!m || !*m)
        return "no message from faiss";
    snprintf(buf, sizeof buf, "%s", m);
    len = strlen(buf);
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    return buf;
}

/* Sets OpenMP's thread count for a FAISS call; returns the old one. */
static int threads_enter(const faiss_state *s)
{
    int old = omp_get_max_threads();
    if (s->n_threads > 0)
        omp_set_num_threads(s->n_threads);
    return old;
}

static void threads_leave(const faiss_state *s, int old)
{
    if (s->n_threads > 0)
        omp_set_num_threads(old);
}

/* Whether a factory component is a vector transform ("OPQ16_64", "PCA64",
 * "RR64", "L2norm", "ITQ", "Pad128"). */
static bool is_transform(const char *c, size_t len)
{
    static const char *const prefixes[] = {"OPQ", "PCA", "RR", "L2norm", "ITQ", "Pad"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (len >= pl && !strncmp(c, prefixes[i], pl))
            return true;
    }
    return false;
}

/* M * nbits for "[transforms,]PQ{M}[x{nbits}][fs|np|...]", else 0. */
static double parse_pq_bits(const char *factory)
{
    const char *last = strrchr(factory, ',');
    const char *p = last ? last + 1 : factory;
    unsigned long m, nbits = 8;
    char *end;

    for (const char *c = factory; c < p;) {
        const char *comma = strchr(c, ',');
        if (!is_transform(c, (size_t)(comma - c)))
            return 0;
        c = comma + 1;
    }
    if (strncmp(p, "PQ", 2) != 0 || !isdigit((unsigned char)p[2]))
        return 0;
    m = strtoul(p + 2, &end, 10);
    if (*end == 'x') {
        if (!isdigit((unsigned char)end[1]))
            return 0;
        nbits = strtoul(end + 1, &end, 10);
    }
    /* Suffixes that do not change the code: fast-scan, no-precompute. */
    if (*end && strcmp(end, "fs") && strcmp(end, "fsr") && strcmp(end, "np"))
        return 0;
    return (double)m * (double)nbits;
}

/* The code size by experiment: one vector encoded into buffers filled with
 * 0x00 and with 0xff; bytes past the code keep their fill in both.  Needed
 * because faiss_Index_sa_code_size of FAISS 1.7.3's C API checks that the
 * index has a codec but never writes the size (fixed in later FAISS).
 * Exact for encoders that write whole bytes, which FAISS's do (the
 * scalar quantizer, the one that ORs bits in, clears its codes first). */
static size_t measure_code_size(const faiss_state *s, const float *x, size_t dim)
{
    size_t cap = 16 * dim + 4096, size = 0;
    uint8_t *a = malloc(cap), *b = malloc(cap);

    if (a && b) {
        memset(a, 0x00, cap);
        memset(b, 0xff, cap);
        if (faiss_Index_sa_encode(s->index, 1, x, a) == 0 &&
            faiss_Index_sa_encode(s->index, 1, x, b) == 0) {
            for (size_t i = cap; i > 0; i--) {
                if (a[i - 1] != 0x00 || b[i - 1] != 0xff) {
                    size = i;
                    break;
                }
            }
        }
    }
    free(a);
    free(b);
    return size;
}

/* Records whether the (trained) index has a standalone codec, and its
 * size; x is one vector to encode for measuring it (NULL: zeros). */
static void probe_codec(faiss_state *s, const float *x, size_t dim)
{
    size_t size = 0;
    float *zeros = NULL;

    free(s->no_sa_reason);
    s->no_sa_reason = NULL;
    s->code_size = 0;
    if (!faiss_Index_is_trained(s->index))
        return;
    if (faiss_Index_sa_code_size(s->index, &size) != 0) {
        s->no_sa_reason = strdup(faiss_message());
        return;
    }
    if (size == 0) {
        if (!x) {
            zeros = calloc(dim, sizeof *zeros);
            x = zeros;
        }
        if (x)
            size = measure_code_size(s, x, dim);
        free(zeros);
    }
    s->code_size = size;
    if (size == 0)
        s->no_sa_reason = strdup("the standalone encoder wrote no bytes");
}

static pqe_status faiss_train(pqe_quantizer *q, const float *x, size_t n)
{
    faiss_state *s = state_of(q);
    int old = threads_enter(s);
    int rc = faiss_Index_train(s->index, (idx_t)n, x);

    threads_leave(s, old);
    if (rc != 0)
        return pqe_fail(PQE_ERR_FAISS, "%s: training on %zu vectors failed: %s", q->name, n,
                        faiss_message());
    probe_codec(s, x, q->dim);
    return PQE_OK;
}

static pqe_status faiss_add(pqe_quantizer *q, const float *x, size_t n)
{
    faiss_state *s = state_of(q);
    int old = threads_enter(s);
    int rc = faiss_Index_add(s->index, (idx_t)n, x);

    threads_leave(s, old);
    if (rc != 0)
        return pqe_fail(PQE_ERR_FAISS, "%s: adding %zu vectors failed: %s", q->name, n,
                        faiss_message());
    return PQE_OK;
}

static size_t faiss_code_bytes(const pqe_quantizer *q)
{
    return state_of(q)->code_size;
}

static double faiss_code_bits(const pqe_quantizer *q)
{
    const faiss_state *s = state_of(q);
    return s->code_bits > 0 ? s->code_bits : 8.0 * (double)s->code_size;
}

static pqe_status no_codec(const pqe_quantizer *q, const char *what)
{
    const faiss_state *s = state_of(q);
    return pqe_fail(PQE_ERR_UNSUPPORTED,
                    "%s: %s needs a standalone codec, which this index "
                    "does not have: %s",
                    q->name, what, s->no_sa_reason ? s->no_sa_reason : "sa_code_size is 0");
}

static pqe_status faiss_encode(const pqe_quantizer *q, const float *x, size_t n, uint8_t *codes)
{
    const faiss_state *s = state_of(q);
    int old, rc;

    if (s->code_size == 0)
        return no_codec(q, "encode");
    old = threads_enter(s);
    rc = faiss_Index_sa_encode(s->index, (idx_t)n, x, codes);
    threads_leave(s, old);
    if (rc != 0)
        return pqe_fail(PQE_ERR_FAISS, "%s: encoding %zu vectors failed: %s", q->name, n,
                        faiss_message());
    return PQE_OK;
}

static pqe_status faiss_decode(const pqe_quantizer *q, const uint8_t *codes, size_t n, float *out)
{
    const faiss_state *s = state_of(q);
    int old, rc;

    if (s->code_size == 0)
        return no_codec(q, "decode");
    old = threads_enter(s);
    rc = faiss_Index_sa_decode(s->index, (idx_t)n, codes, out);
    threads_leave(s, old);
    if (rc != 0)
        return pqe_fail(PQE_ERR_FAISS, "%s: decoding %zu codes failed: %s", q->name, n,
                        faiss_message());
    return PQE_OK;
}

/* A copy of the index: faiss_clone_index, or for the indexes it cannot
 * clone (fast-scan in FAISS 1.7.3) a write_index/read_index round trip
 * through an anonymous temporary file. */
static int copy_index(const FaissIndex *index, FaissIndex **out)
{
    FILE *fp;
    int rc;

    if (faiss_clone_index(index, out) == 0)
        return 0;
    fp = tmpfile();
    if (!fp)
        return -1;
    rc = faiss_write_index(index, fp);
    if (rc == 0 && fflush(fp) == 0 && fseek(fp, 0, SEEK_SET) == 0)
        rc = faiss_read_index(fp, 0, out);
    else if (rc == 0)
        rc = -1;
    fclose(fp);
    return rc;
}

/* Without a standalone codec: add x to a copy and reconstruct it. */
static pqe_status reconstruct_by_clone(const pqe_quantizer *q, const float *x, size_t n, float *out)
{
    const faiss_state *s = state_of(q);
    pqe_status st = PQE_OK;
    FaissIndex *clone = NULL;
    idx_t first;
    int old = threads_enter(s);

    if (copy_index(s->index, &clone) != 0) {
        st = pqe_fail(PQE_ERR_UNSUPPORTED, "%s: reconstruct: the index cannot be copied: %s",
                      q->name, faiss_message());
        goto cleanup;
    }
    first = faiss_Index_ntotal(clone);
    if (faiss_Index_add(clone, (idx_t)n, x) != 0) {
        st = pqe_fail(PQE_ERR_FAISS, "%s: reconstruct: adding %zu vectors failed: %s", q->name, n,
                      faiss_message());
        goto cleanup;
    }
    if (faiss_Index_reconstruct_n(clone, first, (idx_t)n, out) != 0)
        st = pqe_fail(PQE_ERR_UNSUPPORTED,
                      "%s: reconstruct: the index has no standalone codec (%s) and cannot "
                      "reconstruct either: %s",
                      q->name, s->no_sa_reason ? s->no_sa_reason : "", faiss_message());

cleanup:
    threads_leave(s, old);
    if (clone)
        faiss_Index_free(clone);
    return st;
}

static pqe_status faiss_reconstruct(const pqe_quantizer *q, const float *x, size_t n, float *out)
{
    const faiss_state *s = state_of(q);
    enum { ROWS = 4096 };
    pqe_status st = PQE_OK;
    uint8_t *codes;

    if (s->code_size == 0)
        return reconstruct_by_clone(q, x, n, out);
    codes = pqe_alloc_array(ROWS, s->code_size, "codes");
    if (!codes)
        return pqe_alloc_status();
    for (size_t start = 0; st == PQE_OK && start < n; start += ROWS) {
        size_t rows = n - start < ROWS ? n - start : ROWS;
        st = faiss_encode(q, x + start * q->dim, rows, codes);
        if (st == PQE_OK)
            st = faiss_decode(q, codes, rows, out + start * q->dim);
    }
    free(codes);
    return st;
}

static pqe_status faiss_search(const pqe_quantizer *q, pqe_search_mode mode, const float *queries,
                               size_t n_queries, size_t k, int64_t *ids, float *distances)
{
    const faiss_state *s = state_of(q);
    int old, rc;

    if (mode != PQE_SEARCH_ADC)
        return pqe_fail(PQE_ERR_UNSUPPORTED,
                        "%s: %s search is not supported for FAISS indexes (FAISS searches with "
                        "its own asymmetric distances)",
                        q->name, pqe_search_mode_name(mode));
    old = threads_enter(s);
    rc = faiss_Index_search(s->index, (idx_t)n_queries, queries, (idx_t)k, distances, (idx_t *)ids);
    threads_leave(s, old);
    if (rc != 0)
        return pqe_fail(PQE_ERR_FAISS, "%s: search of %zu queries failed: %s", q->name, n_queries,
                        faiss_message());
    return PQE_OK;
}

static bool faiss_supports(const pqe_quantizer *q, pqe_search_mode mode)
{
    (void)q;
    return mode == PQE_SEARCH_ADC;
}

static size_t faiss_n_sub(const pqe_quantizer *q)
{
    (void)q;
    return 0;
}

static pqe_status faiss_subspace_error(const pqe_quantizer *q, const float *x, size_t n,
                                       double *sub_err)
{
    (void)x;
    (void)n;
    (void)sub_err;
    return pqe_fail(PQE_ERR_UNSUPPORTED,
                    "%s: per-subspace errors are not available for FAISS "
                    "indexes",
                    q->name);
}

/* Written with faiss's own write_index, atomically. */
static pqe_status faiss_save(const pqe_quantizer *q, const char *path)
{
    const faiss_state *s = state_of(q);
    pqe_status st;
    char *tmp = NULL;

    st = pqe_atomic_temp_name(path, &tmp);
    if (st != PQE_OK)
        return st;
    if (faiss_write_index_fname(s->index, tmp) != 0) {
        st = pqe_fail(PQE_ERR_FAISS, "%s: writing the FAISS index failed: %s", path,
                      faiss_message());
        remove(tmp);
    } else {
        st = pqe_atomic_rename(tmp, path);
    }
    free(tmp);
    return st;
}

static const pqe_quantizer_ops faiss_ops = {
    .train = faiss_train,
    .add = faiss_add,
    .code_bytes = faiss_code_bytes,
    .code_bits = faiss_code_bits,
    .encode = faiss_encode,
    .decode = faiss_decode,
    .reconstruct = faiss_reconstruct,
    .search = faiss_search,
    .supports = faiss_supports,
    .n_sub = faiss_n_sub,
    .subspace_error = faiss_subspace_error,
    .save = faiss_save,
    .free_state = faiss_free_state,
};

pqe_status pqe_quantizer_faiss_create(const char *factory, size_t dim, pqe_metric metric,
                                      int n_threads, pqe_quantizer **out)
{
    pqe_status st = PQE_OK;
    faiss_state *s = NULL;
    FaissParameterSpace *space = NULL;
    pqe_quantizer *q = NULL;
    char *description = NULL, *params;
    FaissMetricType faiss_metric =
        metric == PQE_METRIC_EUCLIDEAN ? METRIC_L2 : METRIC_INNER_PRODUCT;

    if ((unsigned)metric > PQE_METRIC_DOT)
        return pqe_fail(PQE_ERR_PARAM, "faiss:%s: unknown metric %d", factory, (int)metric);
    if (dim > (size_t)INT32_MAX)
        return pqe_fail(PQE_ERR_PARAM, "faiss:%s: dimension %zu is too large", factory, dim);
    description = strdup(factory);
    s = calloc(1, sizeof *s);
    if (!description || !s) {
        st = pqe_fail(PQE_ERR_NOMEM, "faiss:%s: out of memory", factory);
        goto cleanup;
    }
    s->n_threads = n_threads;
    params = strchr(description, '|');
    if (params)
        *params++ = '\0';

    if (faiss_index_factory(&s->index, (int)dim, description, faiss_metric) != 0 || !s->index) {
        st = pqe_fail(PQE_ERR_FAISS, "faiss index_factory(%zu, \"%s\") failed: %s", dim,
                      description, faiss_message());
        goto cleanup;
    }
    if (params && *params) {
        if (faiss_ParameterSpace_new(&space) != 0 ||
            faiss_ParameterSpace_set_index_parameters(space, s->index, params) != 0) {
            st = pqe_fail(PQE_ERR_FAISS, "faiss:%s: cannot set parameters \"%s\": %s", factory,
                          params, faiss_message());
            goto cleanup;
        }
    }
    s->code_bits = parse_pq_bits(description);
    probe_codec(s, NULL, dim);

    st = pqe_quantizer_wrap(&faiss_ops, s, dim, metric, &q);
    s = NULL; /* owned by q now, or freed */
    if (st != PQE_OK)
        goto cleanup;
    snprintf(q->name, sizeof q->name, "faiss:%s", factory);
    q->trained = false;
    *out = q;

cleanup:
    if (space)
        faiss_ParameterSpace_free(space);
    faiss_free_state(s);
    free(description);
    return st;
}

pqe_status pqe_quantizer_faiss_load(const char *path, pqe_quantizer **out)
{
    pqe_status st;
    faiss_state *s = calloc(1, sizeof *s);
    pqe_quantizer *q = NULL;
    pqe_metric metric;
    const char *base;

    if (!s)
        return pqe_fail(PQE_ERR_NOMEM, "%s: out of memory", path);
    if (faiss_read_index_fname(path, 0, &s->index) != 0 || !s->index) {
        st = pqe_fail(PQE_ERR_FORMAT, "faiss read_index: %s", faiss_message());
        faiss_free_state(s);
        return st;
    }
    metric = faiss_Index_metric_type(s->index) == METRIC_L2 ? PQE_METRIC_EUCLIDEAN : PQE_METRIC_DOT;
    probe_codec(s, NULL, (size_t)faiss_Index_d(s->index));
    st = pqe_quantizer_wrap(&faiss_ops, s, (size_t)faiss_Index_d(s->index), metric, &q);
    if (st != PQE_OK)
        return st;
    base = strrchr(path, '/');
    snprintf(q->name, sizeof q->name, "faiss:%s", base ? base + 1 : path);
    q->trained = faiss_Index_is_trained(s->index) != 0;
    q->n_added = (size_t)faiss_Index_ntotal(s->index);
    q->added = q->n_added > 0;
    *out = q;
    return PQE_OK;
}
