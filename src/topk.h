/* topk.h - the k smallest (distance, id) pairs of a stream, through a
 * bounded max-heap.  Internal; not installed.
 *
 * Order: by distance, then by smaller id, so equal distances come out in a
 * fixed order.  The heap lives in the caller's output row (k distances and
 * k ids); pqe_topk_finish sorts it in place and pads the unused tail.
 *
 * Depends on: nothing but libc.
 */
#ifndef PQEVAL_TOPK_H
#define PQEVAL_TOPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pqe_topk {
    float *dist;  /* k entries: the heap's distances (largest first once full) */
    int64_t *ids; /* k entries: their ids */
    size_t k;     /* capacity */
    size_t size;  /* entries held, <= k */
} pqe_topk;

/* Starts an empty heap over the caller's arrays of k entries (k >= 1). */
void pqe_topk_init(pqe_topk *self, size_t k, float *dist, int64_t *ids);

/* True if (da, ia) comes after (db, ib) in the result order. */
static inline bool pqe_topk_after(float da, int64_t ia, float db, int64_t ib)
{
    return da > db || (da == db && ia > ib);
}

/* Offers one pair; it is kept if the heap is not full or it comes before
 * the current last pair. */
void pqe_topk_push(pqe_topk *self, float dist, int64_t id);

/* A distance bound for a scan with increasing ids: a candidate whose
 * distance is not strictly below it cannot enter (INFINITY while the heap
 * is not full). */
float pqe_topk_bound(const pqe_topk *self);

/* Sorts the kept pairs into result order and fills the rest of the row with
 * id -1 and distance pad. */
void pqe_topk_finish(pqe_topk *self, float pad);

#endif
