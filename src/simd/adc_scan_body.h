/* adc_scan_body.h - the body of the batched ADC scan (pqe_adc_scan of
 * adc_kernels.h), written once and included by each kernels_<level>.c,
 * which first defines:
 *
 *   SCAN_NAME       the name of the entry point (pqe_adc_scan_<level>)
 *   SCAN_LANES      queries per vector, the interleave of the tables
 *   SCAN_ATTR       the function attribute of the level (its target)
 *   scan_vec        the vector type of SCAN_LANES floats
 *   scan_zero()     a vector of zeros
 *   scan_load(p)    SCAN_LANES floats from p (no alignment required)
 *   scan_add(a, b)  lane-wise a + b, rounded like a scalar float add
 *   scan_store(p, v)
 *   scan_any_lt(a, b)  non-zero if some lane of a is below that of b
 *
 * Each lane computes what search.c's one-query loop computes, in the same
 * order: d = 0; d += (t0 + t1) + (t2 + t3) per group of four subspaces; then
 * d += t for the last n_sub mod 4.  Two codes per iteration keep two
 * independent chains of adds in flight.  Copies of the loop with constant
 * n_sub and ksub let the compiler unroll it and fold the table offsets.
 *
 * Not a header of its own: no include guard, one inclusion per file.
 */

/* Four bytes of a code as one little-endian word. */
static inline SCAN_ATTR uint32_t scan_word(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap32(w);
#endif
    return w;
}

/* The entries of four consecutive subspaces (t at the first), indices in w. */
static inline SCAN_ATTR __attribute__((always_inline)) scan_vec scan_group(const float *t, size_t K,
                                                                           uint32_t w)
{
    scan_vec a = scan_load(t + (size_t)(w & 0xff) * SCAN_LANES);
    scan_vec b = scan_load(t + (K + ((w >> 8) & 0xff)) * SCAN_LANES);
    scan_vec c = scan_load(t + (2 * K + ((w >> 16) & 0xff)) * SCAN_LANES);
    scan_vec d = scan_load(t + (3 * K + (w >> 24)) * SCAN_LANES);
    return scan_add(scan_add(a, b), scan_add(c, d));
}

/* The distances of one code to every query of the batch. */
static inline SCAN_ATTR __attribute__((always_inline)) scan_vec
scan_code(const float *tables, size_t M, size_t K, const uint8_t *c)
{
    const float *t = tables;
    scan_vec d = scan_zero();
    size_t m = 0;
    for (; m + 4 <= M; m += 4, t += 4 * K * SCAN_LANES)
        d = scan_add(d, scan_group(t, K, scan_word(c + m)));
    for (; m < M; m++, t += K * SCAN_LANES)
        d = scan_add(d, scan_load(t + (size_t)c[m] * SCAN_LANES));
    return d;
}

static inline SCAN_ATTR __attribute__((always_inline)) size_t
scan_body(const float *tables, size_t M, size_t K, const uint8_t *codes, size_t n,
          const float *bounds, uint32_t *cand, float *cand_dist)
{
    scan_vec b = scan_load(bounds);
    size_t nc = 0, i = 0;

    for (; i + 2 <= n; i += 2) {
        const uint8_t *c0 = codes + i * M, *c1 = c0 + M;
        const float *t = tables;
        scan_vec d0 = scan_zero(), d1 = scan_zero();
        size_t m = 0;
        for (; m + 4 <= M; m += 4, t += 4 * K * SCAN_LANES) {
            d0 = scan_add(d0, scan_group(t, K, scan_word(c0 + m)));
            d1 = scan_add(d1, scan_group(t, K, scan_word(c1 + m)));
        }
        for (; m < M; m++, t += K * SCAN_LANES) {
            d0 = scan_add(d0, scan_load(t + (size_t)c0[m] * SCAN_LANES));
            d1 = scan_add(d1, scan_load(t + (size_t)c1[m] * SCAN_LANES));
        }
        int hit0 = scan_any_lt(d0, b), hit1 = scan_any_lt(d1, b);
        if (hit0 | hit1) {
            if (hit0) {
                cand[nc] = (uint32_t)i;
                scan_store(cand_dist + nc * SCAN_LANES, d0);
                nc++;
            }
            if (hit1) {
                cand[nc] = (uint32_t)(i + 1);
                scan_store(cand_dist + nc * SCAN_LANES, d1);
                nc++;
            }
        }
    }
    if (i < n) {
        scan_vec d = scan_code(tables, M, K, codes + i * M);
        if (scan_any_lt(d, b)) {
            cand[nc] = (uint32_t)i;
            scan_store(cand_dist + nc * SCAN_LANES, d);
            nc++;
        }
    }
    return nc;
}

SCAN_ATTR
size_t SCAN_NAME(const float *tables, size_t n_sub, size_t ksub, const uint8_t *codes, size_t n,
                 const float *bounds, uint32_t *cand, float *cand_dist)
{
    if (ksub == 256 && n_sub == 8)
        return scan_body(tables, 8, 256, codes, n, bounds, cand, cand_dist);
    if (ksub == 256 && n_sub == 16)
        return scan_body(tables, 16, 256, codes, n, bounds, cand, cand_dist);
    if (ksub == 256 && n_sub == 32)
        return scan_body(tables, 32, 256, codes, n, bounds, cand, cand_dist);
    return scan_body(tables, n_sub, ksub, codes, n, bounds, cand, cand_dist);
}
