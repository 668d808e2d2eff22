/* test_status.c - error messages, checked allocation, the seeded RNG and
 * atomic files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqeval/atomic_file.h"
#include "pqeval/rng.h"
#include "pqeval/status.h"
#include "util.h"

static void fail_records_message(void **state)
{
    (void)state;
    assert_int_equal(pqe_fail(PQE_ERR_PARAM, "expected %d dimensions, not %d", 128, 127),
                     PQE_ERR_PARAM);
    assert_string_equal(pqe_last_error(), "expected 128 dimensions, not 127");
    pqe_fail_context(PQE_ERR_PARAM, "reading %s", "x.fvecs");
    assert_string_equal(pqe_last_error(), "reading x.fvecs: expected 128 dimensions, not 127");
    assert_string_equal(pqe_status_str(PQE_ERR_OVERFLOW), "size overflow");
}

static void alloc_detects_overflow(void **state)
{
    (void)state;
    size_t out;
    assert_null(pqe_alloc_array(SIZE_MAX / 2, 4, "codes"));
    assert_int_equal(pqe_alloc_status(), PQE_ERR_OVERFLOW);
    assert_non_null(strstr(pqe_last_error(), "codes"));
    assert_false(pqe_mul3_ok(SIZE_MAX / 3, 2, 2, &out));
    assert_true(pqe_mul3_ok(1000, 1000, 1000, &out));
    assert_int_equal(out, 1000000000);
}

static void rng_is_seeded_and_unbiased(void **state)
{
    (void)state;
    pqe_rng a, b;
    size_t counts[4] = {0};
    size_t perm[100];
    int seen[100] = {0};

    pqe_rng_seed(&a, 42);
    pqe_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(pqe_rng_next(&a), pqe_rng_next(&b));
    pqe_rng_seed(&b, 43);
    assert_int_not_equal(pqe_rng_next(&a), pqe_rng_next(&b));

    for (int i = 0; i < 40000; i++)
        counts[pqe_rng_below(&a, 4)]++;
    for (int i = 0; i < 4; i++) /* 10000 expected, sd 87: 6 sd is a bug */
        assert_in_range(counts[i], 9480, 10520);

    pqe_rng_permutation(&a, perm, 100);
    for (int i = 0; i < 100; i++)
        seen[perm[i]]++;
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
}

static void atomic_file_keeps_old_on_abort(void **state)
{
    (void)state;
    const char *dir = getenv("PQEVAL_TEST_TMP");
    char path[4096];
    char buf[64] = {0};
    pqe_atomic_file f;
    FILE *fp;

    snprintf(path, sizeof path, "%s/atomic.txt", dir ? dir : ".");
    assert_int_equal(pqe_atomic_open(path, &f), PQE_OK);
    fputs("first", f.fp);
    assert_int_equal(pqe_atomic_commit(&f), PQE_OK);

    assert_int_equal(pqe_atomic_open(path, &f), PQE_OK);
    fputs("second", f.fp);
    pqe_atomic_abort(&f);

    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "first");
    unlink(path);

    assert_int_not_equal(pqe_atomic_open("/nonexistent-dir/x/y.txt", &f), PQE_OK);
    assert_non_null(strstr(pqe_last_error(), "/nonexistent-dir/x/y.txt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_records_message),
        cmocka_unit_test(alloc_detects_overflow),
        cmocka_unit_test(rng_is_seeded_and_unbiased),
        cmocka_unit_test(atomic_file_keeps_old_on_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
