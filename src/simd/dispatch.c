/* dispatch.c - run-time choice of the SIMD kernels (portable, AVX2,
 * AVX-512) and the public kernel entry points that call the chosen one.
 *
 * The CPU is asked once, with GCC's __builtin_cpu_supports (which also
 * checks that the OS saves the wide registers).  AVX-512 needs both F and
 * BW (the byte shuffle of the fast scan is a BW instruction).  The level can
 * be forced for tests and the bench; the choice is one atomic integer, so a
 * kernel call costs one load and an indirect call.
 *
 * Depends on: adc_kernels.h, status.h.
 */
#include "simd/adc_kernels.h"

#include <stdatomic.h>
#include <string.h>

static const char *const level_names[PQE_SIMD_N_LEVELS] = {"portable", "avx2", "avx512"};

static const pqe_adc_table_fn adc_table_fns[PQE_SIMD_N_LEVELS] = {
    pqe_adc_table_portable, pqe_adc_table_avx2, pqe_adc_table_avx512};

static const pqe_fs_scan_fn fs_scan_fns[PQE_SIMD_N_LEVELS] = {pqe_fs_scan_portable,
                                                              pqe_fs_scan_avx2, pqe_fs_scan_avx512};

/* Outside x86 only the portable level is ever active (pqe_simd_force
 * refuses the others), and only it has a scan of its own. */
static const pqe_adc_scanner adc_scanners[PQE_SIMD_N_LEVELS] = {
    {4, pqe_adc_scan_portable},
#if defined(__x86_64__) || defined(__i386__)
    {8, pqe_adc_scan_avx2},
    {16, pqe_adc_scan_avx512},
#else
    {4, pqe_adc_scan_portable},
    {4, pqe_adc_scan_portable},
#endif
};

/* -1 until the first call decides; then a pqe_simd_level. */
static atomic_int active_level = -1;

const char *pqe_simd_level_name(pqe_simd_level level)
{
    if ((int)level < 0 || (int)level >= PQE_SIMD_N_LEVELS)
        return "unknown";
    return level_names[level];
}

pqe_status pqe_simd_level_parse(const char *name, pqe_simd_level *out)
{
    for (int i = 0; i < PQE_SIMD_N_LEVELS; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (pqe_simd_level)i;
            return PQE_OK;
        }
    }
    return pqe_fail(PQE_ERR_PARAM, "unknown SIMD level \"%s\": expected portable, avx2 or avx512",
                    name);
}

int pqe_simd_supported(pqe_simd_level level)
{
    switch (level) {
    case PQE_SIMD_PORTABLE:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case PQE_SIMD_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case PQE_SIMD_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
    case PQE_SIMD_AVX2:
    case PQE_SIMD_AVX512:
        return 0;
#endif
    }
    return 0;
}

pqe_simd_level pqe_simd_detect(void)
{
    if (pqe_simd_supported(PQE_SIMD_AVX512))
        return PQE_SIMD_AVX512;
    if (pqe_simd_supported(PQE_SIMD_AVX2))
        return PQE_SIMD_AVX2;
    return PQE_SIMD_PORTABLE;
}

pqe_simd_level pqe_simd_active(void)
{
    int level = atomic_load_explicit(&active_level, memory_order_relaxed);
    if (level < 0) {
        /* Two threads may both detect; they store the same answer. */
        level = (int)pqe_simd_detect();
        atomic_store_explicit(&active_level, level, memory_order_relaxed);
    }
    return (pqe_simd_level)level;
}

pqe_status pqe_simd_force(pqe_simd_level level)
{
    if ((int)level < 0 || (int)level >= PQE_SIMD_N_LEVELS)
        return pqe_fail(PQE_ERR_PARAM, "SIMD level %d is not one of 0..%d", (int)level,
                        PQE_SIMD_N_LEVELS - 1);
    if (!pqe_simd_supported(level))
        return pqe_fail(PQE_ERR_UNSUPPORTED, "this CPU cannot run the %s kernels",
                        pqe_simd_level_name(level));
    atomic_store_explicit(&active_level, (int)level, memory_order_relaxed);
    return PQE_OK;
}

void pqe_fs_scan(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                 uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    fs_scan_fns[pqe_simd_active()](blocks, n_blocks, n_sub, lut, limit, dist, mask);
}

void pqe_adc_table(const float *query, const float *cbt, size_t n_sub, size_t ksub, size_t dsub,
                   int ip, float *table)
{
    adc_table_fns[pqe_simd_active()](query, cbt, n_sub, ksub, dsub, ip, table);
}

pqe_adc_scanner pqe_adc_scanner_active(void)
{
    return adc_scanners[pqe_simd_active()];
}

pqe_adc_scanner pqe_adc_scanner_of(pqe_simd_level level)
{
    if ((int)level < 0 || (int)level >= PQE_SIMD_N_LEVELS || !pqe_simd_supported(level))
        level = PQE_SIMD_PORTABLE;
    return adc_scanners[level];
}
