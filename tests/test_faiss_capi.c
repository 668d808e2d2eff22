/* test_faiss_capi.c - FAISS is reachable from C through its C API (built by
 * scripts/deps): a flat index on a few vectors returns the exact answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>

static void flat_l2_exact_search(void **state)
{
    (void)state;
    /* Five points on a line in 2-D and one query at x = 2.2: the order of
     * squared distances is known by hand. */
    const float base[] = {0, 0, 1, 0, 2, 0, 3, 0, 10, 0};
    const float query[] = {2.2f, 0};
    FaissIndexFlatL2 *index = NULL;
    idx_t labels[3];
    float dist[3];

    assert_int_equal(faiss_IndexFlatL2_new_with(&index, 2), 0);
    assert_int_equal(faiss_Index_add((FaissIndex *)index, 5, base), 0);
    assert_int_equal(faiss_Index_ntotal((FaissIndex *)index), 5);
    assert_int_equal(faiss_Index_search((FaissIndex *)index, 1, query, 3, dist, labels), 0);
    assert_int_equal(labels[0], 2);
    assert_int_equal(labels[1], 3);
    assert_int_equal(labels[2], 1);
    assert_float_equal(dist[0], 0.04f, 1e-5);
    assert_float_equal(dist[1], 0.64f, 1e-5);
    assert_float_equal(dist[2], 1.44f, 1e-5);
    faiss_Index_free((FaissIndex *)index);
}

static void index_factory_reports_errors(void **state)
{
    (void)state;
    FaissIndex *index = NULL;
    /* A factory string FAISS cannot parse fails with a message, not a crash. */
    assert_int_not_equal(faiss_index_factory(&index, 8, "NoSuchIndex123", METRIC_L2), 0);
    assert_non_null(faiss_get_last_error());
    assert_int_equal(faiss_index_factory(&index, 8, "PQ2x4", METRIC_L2), 0);
    assert_non_null(index);
    assert_int_equal(faiss_Index_is_trained(index), 0);
    faiss_Index_free(index);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flat_l2_exact_search),
        cmocka_unit_test(index_factory_reports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
