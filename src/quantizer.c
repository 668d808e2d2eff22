/* quantizer.c - the pqe_quantizer interface: argument and state checks, then
 * dispatch through the table of operations of quantizer_impl.h to our PQ/OPQ
 * (quantizer_ours.c) or a FAISS index (quantizer_faiss.c).
 *
 * Depends on: quantizer_impl.h, util.h, status.h.
 */
#include "pqeval/quantizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantizer_impl.h"
#include "util.h"

static const char *const rotation_names[] = {"pq", "opq-p", "opq-np"};

const char *pqe_rotation_name(pqe_rotation rotation)
{
    if ((unsigned)rotation < sizeof rotation_names / sizeof rotation_names[0])
        return rotation_names[rotation];
    return "unknown";
}

pqe_status pqe_rotation_parse(const char *name, pqe_rotation *out)
{
    if (!name || !out)
        return pqe_fail(PQE_ERR_PARAM, "rotation: no name given");
    for (size_t i = 0; i < sizeof rotation_names / sizeof rotation_names[0]; i++) {
        if (!strcmp(name, rotation_names[i])) {
            *out = (pqe_rotation)i;
            return PQE_OK;
        }
    }
    return pqe_fail(PQE_ERR_PARAM, "unknown method '%s' (expected pq, opq-p or opq-np)", name);
}

pqe_quantizer_config pqe_quantizer_config_default(size_t dim, size_t n_sub, unsigned nbits)
{
    pqe_quantizer_config c;

    memset(&c, 0, sizeof c);
    c.dim = dim;
    c.n_sub = n_sub;
    c.nbits = nbits;
    c.metric = PQE_METRIC_EUCLIDEAN;
    c.rotation = PQE_ROTATION_NONE;
    c.opq_start = PQE_OPQ_START_IDENTITY; /* see pqe_quantizer_config_default */
    c.opq_outer_iters = PQE_OPQ_OUTER_ITERS_DEFAULT;
    c.opq_inner_iters = PQE_OPQ_INNER_ITERS_DEFAULT;
    c.kmeans_iters = PQE_KMEANS_ITERS_DEFAULT;
    c.kmeans_init = PQE_KMEANS_INIT_RANDOM;
    c.max_points_per_centroid = PQE_KMEANS_MAX_POINTS_PER_CENTROID;
    c.seed = 1234;
    c.n_threads = 0;
    c.sdc_memory_limit = 0;
    return c;
}

pqe_status pqe_quantizer_wrap(const pqe_quantizer_ops *ops, void *state, size_t dim,
                              pqe_metric metric, pqe_quantizer **out)
{
    pqe_quantizer *q = calloc(1, sizeof *q);

    *out = NULL;
    if (!q) {
        ops->free_state(state);
        return pqe_fail(PQE_ERR_NOMEM, "quantizer: cannot allocate %zu bytes", sizeof *q);
    }
    q->ops = ops;
    q->state = state;
    q->dim = dim;
    q->metric = metric;
    *out = q;
    return PQE_OK;
}

pqe_status pqe_quantizer_new(const pqe_quantizer_config *config, pqe_quantizer **out)
{
    if (!config || !out)
        return pqe_fail(PQE_ERR_PARAM, "quantizer: missing config or output");
    *out = NULL;
    return pqe_quantizer_ours_new(config, out);
}

pqe_status pqe_quantizer_new_faiss(const char *factory, size_t dim, pqe_metric metric,
                                   int n_threads, pqe_quantizer **out)
{
    if (!factory || !out)
        return pqe_fail(PQE_ERR_PARAM, "faiss quantizer: missing factory string or output");
    *out = NULL;
    if (dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "faiss quantizer '%s': dimension must be positive", factory);
    return pqe_quantizer_faiss_create(factory, dim, metric, n_threads, out);
}

void pqe_quantizer_free(pqe_quantizer *self)
{
    if (!self)
        return;
    self->ops->free_state(self->state);
    free(self);
}

pqe_status pqe_quantizer_train(pqe_quantizer *self, const float *x, size_t n)
{
    pqe_status st;

    if (!self || (!x && n > 0))
        return pqe_fail(PQE_ERR_PARAM, "quantizer: missing training vectors");
    if (n == 0)
        return pqe_fail(PQE_ERR_PARAM, "%s: no training vectors given", self->name);
    if (self->added)
        return pqe_fail(PQE_ERR_PARAM, "%s: cannot train after vectors were added", self->name);
    self->trained = false;
    st = self->ops->train(self, x, n);
    if (st == PQE_OK)
        self->trained = true;
    return st;
}

/* The common check of the calls that need a trained quantizer. */
static pqe_status need_trained(const pqe_quantizer *self, const char *what)
{
    if (!self)
        return pqe_fail(PQE_ERR_PARAM, "quantizer: %s on a NULL quantizer", what);
    if (!self->trained)
        return pqe_fail(PQE_ERR_PARAM, "%s: %s before training", self->name, what);
    return PQE_OK;
}

pqe_status pqe_quantizer_add(pqe_quantizer *self, const float *x, size_t n)
{
    pqe_status st = need_trained(self, "add");

    if (st != PQE_OK)
        return st;
    if (!x && n > 0)
        return pqe_fail(PQE_ERR_PARAM, "%s: add without vectors", self->name);
    if (self->added)
        return pqe_fail(PQE_ERR_PARAM, "%s: vectors were already added (%zu of them)", self->name,
                        self->n_added);
    st = self->ops->add(self, x, n);
    if (st == PQE_OK) {
        self->added = true;
        self->n_added = n;
    }
    return st;
}

size_t pqe_quantizer_code_bytes(const pqe_quantizer *self)
{
    return self && self->trained ? self->ops->code_bytes(self) : 0;
}

double pqe_quantizer_code_bits(const pqe_quantizer *self)
{
    return self ? self->ops->code_bits(self) : 0.0;
}

pqe_status pqe_quantizer_encode(const pqe_quantizer *self, const float *x, size_t n, uint8_t *codes)
{
    pqe_status st = need_trained(self, "encode");

    if (st != PQE_OK)
        return st;
    if (n > 0 && (!x || !codes))
        return pqe_fail(PQE_ERR_PARAM, "%s: encode without vectors or output", self->name);
    return n == 0 ? PQE_OK : self->ops->encode(self, x, n, codes);
}

pqe_status pqe_quantizer_decode(const pqe_quantizer *self, const uint8_t *codes, size_t n,
                                float *out)
{
    pqe_status st = need_trained(self, "decode");

    if (st != PQE_OK)
        return st;
    if (n > 0 && (!codes || !out))
        return pqe_fail(PQE_ERR_PARAM, "%s: decode without codes or output", self->name);
    return n == 0 ? PQE_OK : self->ops->decode(self, codes, n, out);
}

pqe_status pqe_quantizer_reconstruct(const pqe_quantizer *self, const float *x, size_t n,
                                     float *out)
{
    pqe_status st = need_trained(self, "reconstruct");

    if (st != PQE_OK)
        return st;
    if (n > 0 && (!x || !out))
        return pqe_fail(PQE_ERR_PARAM, "%s: reconstruct without vectors or output", self->name);
    return n == 0 ? PQE_OK : self->ops->reconstruct(self, x, n, out);
}

pqe_status pqe_quantizer_search(const pqe_quantizer *self, pqe_search_mode mode,
                                const float *queries, size_t n_queries, size_t k, int64_t *ids,
                                float *distances)
{
    pqe_status st = need_trained(self, "search");

    if (st != PQE_OK)
        return st;
    if (!self->added)
        return pqe_fail(PQE_ERR_PARAM, "%s: search before any vectors were added", self->name);
    if (mode != PQE_SEARCH_ADC && mode != PQE_SEARCH_SDC)
        return pqe_fail(PQE_ERR_PARAM, "%s: unknown search mode %d", self->name, (int)mode);
    if (k == 0)
        return pqe_fail(PQE_ERR_PARAM, "%s: search for k = 0 neighbours", self->name);
    if (n_queries > 0 && (!queries || !ids || !distances))
        return pqe_fail(PQE_ERR_PARAM, "%s: search without queries or outputs", self->name);
    return n_queries == 0 ? PQE_OK
                          : self->ops->search(self, mode, queries, n_queries, k, ids, distances);
}

bool pqe_quantizer_supports(const pqe_quantizer *self, pqe_search_mode mode)
{
    return self && self->trained && self->ops->supports(self, mode);
}

size_t pqe_quantizer_n_sub(const pqe_quantizer *self)
{
    return self ? self->ops->n_sub(self) : 0;
}

pqe_status pqe_quantizer_subspace_error(const pqe_quantizer *self, const float *x, size_t n,
                                        double *sub_err)
{
    pqe_status st = need_trained(self, "subspace error");

    if (st != PQE_OK)
        return st;
    if (n > 0 && (!x || !sub_err))
        return pqe_fail(PQE_ERR_PARAM, "%s: subspace error without vectors or output", self->name);
    return n == 0 ? PQE_OK : self->ops->subspace_error(self, x, n, sub_err);
}

size_t pqe_quantizer_dim(const pqe_quantizer *self)
{
    return self ? self->dim : 0;
}

pqe_metric pqe_quantizer_metric(const pqe_quantizer *self)
{
    return self ? self->metric : PQE_METRIC_EUCLIDEAN;
}

bool pqe_quantizer_is_trained(const pqe_quantizer *self)
{
    return self && self->trained;
}

const char *pqe_quantizer_name(const pqe_quantizer *self)
{
    return self ? self->name : "(null)";
}

pqe_status pqe_quantizer_save(const pqe_quantizer *self, const char *path)
{
    pqe_status st = need_trained(self, "save");

    if (st != PQE_OK)
        return st;
    if (!path)
        return pqe_fail(PQE_ERR_PARAM, "%s: save without a file name", self->name);
    return self->ops->save(self, path);
}

pqe_status pqe_quantizer_load(const char *path, pqe_quantizer **out)
{
    pqe_status st;
    FILE *fp;
    char magic[8];
    size_t got;

    if (!path || !out)
        return pqe_fail(PQE_ERR_PARAM, "quantizer load: missing file name or output");
    *out = NULL;
    fp = fopen(path, "rb");
    if (!fp)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    got = fread(magic, 1, sizeof magic, fp);
    if (got == sizeof magic && !memcmp(magic, PQE_QUANTIZER_MAGIC, sizeof magic)) {
        st = pqe_quantizer_ours_load(path, fp, out);
        fclose(fp);
        return st;
    }
    fclose(fp);

    /* Not ours: perhaps a FAISS index written by write_index. */
    st = pqe_quantizer_faiss_load(path, out);
    if (st != PQE_OK)
        return pqe_fail_context(st,
                                "%s: not a pqeval quantizer file (it does not start with "
                                "\"%s\") and not a FAISS index either",
                                path, PQE_QUANTIZER_MAGIC);
    return PQE_OK;
}
