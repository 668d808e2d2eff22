/* dataset.c - the in-memory dataset and metric names.
 *
 * Depends on: status.h.
 */
#include "pqeval/dataset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *pqe_metric_name(pqe_metric metric)
{
    switch (metric) {
    case PQE_METRIC_EUCLIDEAN:
        return "euclidean";
    case PQE_METRIC_ANGULAR:
        return "angular";
    case PQE_METRIC_DOT:
        return "dot";
    }
    return "unknown";
}

pqe_status pqe_metric_parse(const char *name, pqe_metric *out)
{
    static const struct {
        const char *name;
        pqe_metric metric;
    } names[] = {
        {"euclidean", PQE_METRIC_EUCLIDEAN},
        {"l2", PQE_METRIC_EUCLIDEAN},
        {"angular", PQE_METRIC_ANGULAR},
        {"cosine", PQE_METRIC_ANGULAR},
        {"dot", PQE_METRIC_DOT},
        {"ip", PQE_METRIC_DOT},
        {"inner_product", PQE_METRIC_DOT},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (name && !strcasecmp(name, names[i].name)) {
            *out = names[i].metric;
            return PQE_OK;
        }
    }
    return pqe_fail(PQE_ERR_PARAM, "unknown metric '%s' (expected euclidean, angular or dot)",
                    name ? name : "");
}

pqe_dataset *pqe_dataset_new(void)
{
    pqe_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        pqe_fail(PQE_ERR_NOMEM, "cannot allocate a dataset");
    return ds;
}

void pqe_dataset_free(pqe_dataset *self)
{
    if (!self)
        return;
    free(self->path);
    free(self->name);
    free(self->train);
    free(self->test);
    free(self->learn);
    free(self->neighbors);
    free(self->distances);
    free(self);
}
