/* quantizer_impl.h - the inside of pqe_quantizer: a table of operations
 * that each kind of quantizer (ours in quantizer_ours.c, FAISS's in
 * quantizer_faiss.c) fills in.  quantizer.c checks the arguments and the
 * state (trained, added) and then calls through the table, so the
 * implementations may assume valid arguments.
 *
 * Not installed.  Depends on: quantizer.h.
 */
#ifndef PQEVAL_QUANTIZER_IMPL_H
#define PQEVAL_QUANTIZER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pqeval/quantizer.h"

typedef struct pqe_quantizer_ops {
    pqe_status (*train)(pqe_quantizer *self, const float *x, size_t n);
    pqe_status (*add)(pqe_quantizer *self, const float *x, size_t n);
    size_t (*code_bytes)(const pqe_quantizer *self);
    double (*code_bits)(const pqe_quantizer *self);
    pqe_status (*encode)(const pqe_quantizer *self, const float *x, size_t n, uint8_t *codes);
    pqe_status (*decode)(const pqe_quantizer *self, const uint8_t *codes, size_t n, float *out);
    pqe_status (*reconstruct)(const pqe_quantizer *self, const float *x, size_t n, float *out);
    pqe_status (*search)(const pqe_quantizer *self, pqe_search_mode mode, const float *queries,
                         size_t n_queries, size_t k, int64_t *ids, float *distances);
    bool (*supports)(const pqe_quantizer *self, pqe_search_mode mode);
    size_t (*n_sub)(const pqe_quantizer *self);
    pqe_status (*subspace_error)(const pqe_quantizer *self, const float *x, size_t n,
                                 double *sub_err);
    pqe_status (*save)(const pqe_quantizer *self, const char *path);
    void (*free_state)(void *state);
} pqe_quantizer_ops;

struct pqe_quantizer {
    const pqe_quantizer_ops *ops;
    void *state;       /* the implementation's, freed by ops->free_state */
    size_t dim;        /* dimension of the vectors it takes */
    pqe_metric metric; /* of the data it is used on */
    char name[128];    /* pqe_quantizer_name() */
    bool trained;      /* train (or load) succeeded */
    bool added;        /* add succeeded */
    size_t n_added;    /* vectors in the database */
};

/* Allocates a quantizer with the given table and state (taking ownership
 * of state even on failure). */
pqe_status pqe_quantizer_wrap(const pqe_quantizer_ops *ops, void *state, size_t dim,
                              pqe_metric metric, pqe_quantizer **out);

/* The two kinds; quantizer.c dispatches to these. */
pqe_status pqe_quantizer_ours_new(const pqe_quantizer_config *config, pqe_quantizer **out);
pqe_status pqe_quantizer_ours_load(const char *path, FILE *fp, pqe_quantizer **out);
pqe_status pqe_quantizer_faiss_create(const char *factory, size_t dim, pqe_metric metric,
                                      int n_threads, pqe_quantizer **out);
pqe_status pqe_quantizer_faiss_load(const char *path, pqe_quantizer **out);

/* The magic that opens our quantizer files (8 bytes). */
#define PQE_QUANTIZER_MAGIC "PQEQUANT"

#endif
