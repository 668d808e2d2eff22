/* topk.c - bounded max-heap for top-k selection with a total order on
 * (distance, id).
 *
 * A binary max-heap of size k keeps the k best pairs seen so far; the root
 * is the worst of them, so a new pair is compared once against it.  At the
 * end a heap sort puts the pairs in ascending order.  O(n log k) worst case,
 * O(n) when most candidates fail the root test, which is the usual case.
 *
 * Depends on: topk.h.
 */
#include "topk.h"

#include <math.h>

void pqe_topk_init(pqe_topk *self, size_t k, float *dist, int64_t *ids)
{
    self->dist = dist;
    self->ids = ids;
    self->k = k;
    self->size = 0;
}

/* Moves entry i down until both children come before it. */
static void sift_down(float *dist, int64_t *ids, size_t size, size_t i)
{
    float d = dist[i];
    int64_t id = ids[i];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= size)
            break;
        if (child + 1 < size &&
            pqe_topk_after(dist[child + 1], ids[child + 1], dist[child], ids[child]))
            child++;
        if (!pqe_topk_after(dist[child], ids[child], d, id))
            break;
        dist[i] = dist[child];
        ids[i] = ids[child];
        i = child;
    }
    dist[i] = d;
    ids[i] = id;
}

void pqe_topk_push(pqe_topk *self, float dist, int64_t id)
{
    if (self->size < self->k) {
        /* Sift up from the new leaf. */
        size_t i = self->size++;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!pqe_topk_after(dist, id, self->dist[parent], self->ids[parent]))
                break;
            self->dist[i] = self->dist[parent];
            self->ids[i] = self->ids[parent];
            i = parent;
        }
        self->dist[i] = dist;
        self->ids[i] = id;
        return;
    }
    if (!pqe_topk_after(self->dist[0], self->ids[0], dist, id))
        return;
    self->dist[0] = dist;
    self->ids[0] = id;
    sift_down(self->dist, self->ids, self->size, 0);
}

float pqe_topk_bound(const pqe_topk *self)
{
    return self->size < self->k ? INFINITY : self->dist[0];
}

void pqe_topk_finish(pqe_topk *self, float pad)
{
    /* Heap sort: move the root (the last in order) to the end each time. */
    for (size_t n = self->size; n > 1; n--) {
        float d = self->dist[0];
        int64_t id = self->ids[0];
        self->dist[0] = self->dist[n - 1];
        self->ids[0] = self->ids[n - 1];
        self->dist[n - 1] = d;
        self->ids[n - 1] = id;
        sift_down(self->dist, self->ids, n - 1, 0);
    }
    for (size_t i = self->size; i < self->k; i++) {
        self->dist[i] = pad;
        self->ids[i] = -1;
    }
}
