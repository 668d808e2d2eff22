/* rng.c - xoshiro256** seeded by splitmix64.
 *
 * Reference: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021.  Written from the published recurrence.
 *
 * Depends on: libc.
 */
#include "pqeval/rng.h"

#include <stdlib.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void pqe_rng_seed(pqe_rng *self, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        self->s[i] = splitmix64(&state);
}

uint64_t pqe_rng_next(pqe_rng *self)
{
    uint64_t *s = self->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t pqe_rng_below(pqe_rng *self, uint64_t bound)
{
    /* Rejection of the short last interval keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do {
        r = pqe_rng_next(self);
    } while (r >= limit);
    return r % bound;
}

double pqe_rng_uniform(pqe_rng *self)
{
    return (double)(pqe_rng_next(self) >> 11) * 0x1.0p-53;
}

void pqe_rng_permutation(pqe_rng *self, size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)pqe_rng_below(self, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

void pqe_rng_sample(pqe_rng *self, size_t n, size_t k, size_t *out)
{
    /* Floyd's algorithm would avoid the O(n) buffer; a partial Fisher-Yates
     * over an index array is simpler and n is at most a dataset size. */
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        /* Fall back to sequential selection sampling (Knuth's algorithm S),
         * which needs no memory and yields indices in increasing order. */
        size_t chosen = 0;
        for (size_t i = 0; i < n && chosen < k; i++) {
            if (pqe_rng_below(self, n - i) < k - chosen)
                out[chosen++] = i;
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)pqe_rng_below(self, n - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        out[i] = idx[i];
    }
    free(idx);
}

uint64_t pqe_rng_derive(uint64_t seed, uint64_t stream)
{
    uint64_t state = seed ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    splitmix64(&state);
    return splitmix64(&state);
}
