/* rng.h - the seeded random number generator every random choice uses.
 *
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64: small, fast,
 * and the same sequence on every platform for a given seed.  There is no
 * hidden clock seeding anywhere in pqeval: each caller passes a seed.
 *
 * Depends on: nothing.
 */
#ifndef PQEVAL_RNG_H
#define PQEVAL_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqe_rng {
    uint64_t s[4];
} pqe_rng;

/* Seeds the generator; two generators with the same seed give the same
 * sequence. */
void pqe_rng_seed(pqe_rng *self, uint64_t seed);

/* The next 64 random bits. */
uint64_t pqe_rng_next(pqe_rng *self);

/* A uniform integer in [0, bound), without modulo bias; bound > 0. */
uint64_t pqe_rng_below(pqe_rng *self, uint64_t bound);

/* A uniform double in [0, 1). */
double pqe_rng_uniform(pqe_rng *self);

/* Fills perm[0..n) with a uniformly random permutation of 0..n-1. */
void pqe_rng_permutation(pqe_rng *self, size_t *perm, size_t n);

/* Chooses k distinct indices out of n (k <= n) in random order. */
void pqe_rng_sample(pqe_rng *self, size_t n, size_t k, size_t *out);

/* A seed derived from a base seed and a stream number, for giving each
 * thread, subspace or repetition its own independent sequence. */
uint64_t pqe_rng_derive(uint64_t seed, uint64_t stream);

#ifdef __cplusplus
}
#endif

#endif
