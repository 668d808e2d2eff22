/* pqeval_bench.c - pqeval's quantizers against FAISS's, in one process, on
 * the same data and threads (issue #7).
 *
 * For each dataset (Fashion-MNIST, the SIFT set of shared/datasets) and
 * each setting PQ{M}x{nbits} it times, as the median of several runs:
 * PQ training, encoding, ADC search, SDC search, the 4-bit fast scan
 * against FAISS's PQ{M}x4fs, and the exact ground truth (an sgemm brute
 * force written here against IndexFlatL2).  FAISS is reached through its C
 * API (index_factory, train, sa_encode, add, search), plus the one setter
 * it lacks, IndexPQ's search_type, for SDC (faiss_pq_sdc.cpp).
 *
 * Each row prints both times, the speedup (FAISS time / our time: above 1
 * means ours is faster), the quality next to the speed (distortion for
 * training, k-recall@k against exact neighbours for searches), the
 * heap memory a run allocated at its peak beyond what was live before it,
 * and how close each side is to the machine's limit: GFLOP/s against a
 * large cblas_sgemm timed in the same run (training, encoding, ground
 * truth), or bytes of codes scanned per second against the rate at which
 * the same threads merely read an array of the same size (searches).
 *
 * Memory is measured by counting heap bytes in malloc/free wrappers defined
 * below (glibc's __libc_* functions do the work); the kernel's peak-RSS
 * reset (/proc/self/clear_refs) is not available on every machine.
 *
 * FAISS's training uses "PQ{M}x{nbits}np": plain "PQ{M}x{nbits}" also runs
 * polysemous training (a reordering of the centroids for Hamming search)
 * after k-means, which pqeval does not do; "np" compares the same work.
 *
 * Depends on: the public pqeval API (pq.h, search.h, fastscan.h, io.h),
 * simd/adc_kernels.h, topk.h and util.h (internal), the FAISS C API and
 * faiss_pq_sdc.h (IndexPQ's search_type), CBLAS, OpenMP.
 */
#include <cblas.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <immintrin.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>

#include "faiss_pq_sdc.h"
#include "pqeval/fastscan.h"
#include "pqeval/io.h"
#include "pqeval/pq.h"
#include "pqeval/search.h"
#include "simd/adc_kernels.h"
#include "topk.h"
#include "util.h"

/* OpenBLAS extensions (not in cblas.h everywhere). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

/* ---- heap accounting: malloc wrappers ------------------------------------ */

static atomic_llong heap_live; /* bytes allocated now */
static atomic_llong heap_peak; /* largest heap_live since the last reset */

/* AddressSanitizer brings its own allocator: no wrappers then (the extra
 * MiB columns read 0). */
#if defined(__SANITIZE_ADDRESS__) && !defined(PQEVAL_BENCH_NO_HEAP_COUNT)
#define PQEVAL_BENCH_NO_HEAP_COUNT 1
#endif

#ifndef PQEVAL_BENCH_NO_HEAP_COUNT
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

static void heap_add(void *p)
{
    if (!p)
        return;
    long long now = atomic_fetch_add(&heap_live, (long long)malloc_usable_size(p)) +
                    (long long)malloc_usable_size(p);
    long long peak = atomic_load(&heap_peak);
    while (now > peak && !atomic_compare_exchange_weak(&heap_peak, &peak, now))
        ;
}

static void heap_sub(void *p)
{
    if (p)
        atomic_fetch_sub(&heap_live, (long long)malloc_usable_size(p));
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    heap_add(p);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    heap_add(p);
    return p;
}

void *realloc(void *old, size_t size)
{
    heap_sub(old);
    void *p = __libc_realloc(old, size);
    heap_add(p);
    if (!p && size && old)
        heap_add(old); /* failed: the old block is still live */
    return p;
}

void free(void *p)
{
    heap_sub(p);
    __libc_free(p);
}

void *memalign(size_t align, size_t size)
{
    void *p = __libc_memalign(align, size);
    heap_add(p);
    return p;
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    void *p = memalign(align, size);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(page, (size + page - 1) / page * page);
}

#endif

/* Starts a measurement: the peak is reset to what is live now. */
static long long heap_mark(void)
{
    long long live = atomic_load(&heap_live);
    atomic_store(&heap_peak, live);
    return live;
}

/* MiB allocated at the peak beyond the mark. */
static double heap_extra_mib(long long mark)
{
    return (double)(atomic_load(&heap_peak) - mark) / (1024.0 * 1024.0);
}

/* ---- small helpers -------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "pqeval_bench: error: %s: %s\n", what, why);
    exit(2);
}

static void *xmalloc(size_t n, size_t size)
{
    void *p = n && size ? malloc(n * size) : malloc(1);
    if (!p || (size && n > SIZE_MAX / size))
        die("allocation", "out of memory");
    return p;
}

/* Dies with pqeval's message, prefixed by `what` unless it already starts
 * with it (messages about a file name the file themselves). */
static void check_pqe(pqe_status st, const char *what)
{
    if (st != PQE_OK) {
        const char *msg = pqe_last_error();
        if (strncmp(msg, what, strlen(what)) == 0) {
            fprintf(stderr, "pqeval_bench: error: %s\n", msg);
            exit(2);
        }
        die(what, msg);
    }
}

static void check_faiss(int rc, const char *what)
{
    if (rc != 0) {
        const char *msg = faiss_get_last_error();
        die(what, msg ? msg : "FAISS failed");
    }
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int quiet;

static void progress(const char *fmt, ...)
{
    va_list ap;
    if (quiet)
        return;
    va_start(ap, fmt);
    fputs("pqeval_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- the table ------------------------------------------------------------ */

enum { MAX_ROWS = 128 };

/* Training runs (training sets) of a --quick and of a full run. */
enum { QUICK_TRAIN_RUNS = 5, FULL_TRAIN_RUNS = 5 };

typedef struct row {
    char dataset[32];
    char op[48];
    double ours_s, faiss_s;       /* median seconds; NAN = not measured */
    char ours_q[32], faiss_q[32]; /* quality (distortion, recall), "" if none */
    double ours_rate, faiss_rate; /* GFLOP/s or GB/s */
    double limit;                 /* the machine's rate for this row */
    const char *unit;             /* "GFLOP/s" or "GB/s" */
    double ours_mib, faiss_mib;   /* peak extra heap */
    const char *note;             /* "" or a short remark */
    double bound_mib;             /* searches: one table block per thread; NAN if none */
    /* training: distortion on the base over the runs (one training set each) */
    double d_ours_mean, d_ours_sd, d_faiss_mean, d_faiss_sd;
    int d_runs;
} row;

static row rows[MAX_ROWS];
static size_t n_rows;

static row *add_row(const char *dataset, const char *op)
{
    if (n_rows == MAX_ROWS)
        die("table", "too many rows");
    row *r = &rows[n_rows++];
    memset(r, 0, sizeof *r);
    snprintf(r->dataset, sizeof r->dataset, "%s", dataset);
    snprintf(r->op, sizeof r->op, "%s", op);
    r->ours_s = r->faiss_s = NAN;
    r->ours_rate = r->faiss_rate = NAN;
    r->ours_mib = r->faiss_mib = NAN;
    r->limit = NAN;
    r->unit = "";
    r->note = "";
    r->bound_mib = NAN;
    return r;
}

static void fmt_time(char *buf, size_t size, double s)
{
    if (isnan(s))
        snprintf(buf, size, "n/a");
    else if (s >= 1)
        snprintf(buf, size, "%.2f s", s);
    else
        snprintf(buf, size, "%.1f ms", s * 1e3);
}

static void fmt_rate(char *buf, size_t size, double rate, double limit, const char *unit)
{
    if (isnan(rate))
        buf[0] = 0;
    else if (isnan(limit) || limit <= 0)
        snprintf(buf, size, "%.3g %s", rate, unit);
    else
        snprintf(buf, size, "%.3g %s (%.0f%%)", rate, unit, 100 * rate / limit);
}

static void fmt_mib(char *buf, size_t size, double mib)
{
    if (isnan(mib))
        buf[0] = 0;
    else
        snprintf(buf, size, "%.1f", mib < 0 ? 0.0 : mib);
}

static void print_table(void)
{
    printf("| dataset | operation | ours | FAISS | speedup | quality ours / FAISS | "
           "rate ours (%% of limit) | rate FAISS (%% of limit) | extra MiB ours / FAISS |\n");
    printf("|---|---|---:|---:|---:|---|---|---|---|\n");
    for (size_t i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        char ot[32], ft[32], sp[32], orate[64], frate[64], om[16], fm[16];
        fmt_time(ot, sizeof ot, r->ours_s);
        fmt_time(ft, sizeof ft, r->faiss_s);
        if (isnan(r->ours_s) || isnan(r->faiss_s))
            snprintf(sp, sizeof sp, "n/a");
        else
            snprintf(sp, sizeof sp, "%.2fx", r->faiss_s / r->ours_s);
        fmt_rate(orate, sizeof orate, r->ours_rate, r->limit, r->unit);
        fmt_rate(frate, sizeof frate, r->faiss_rate, r->limit, r->unit);
        fmt_mib(om, sizeof om, r->ours_mib);
        fmt_mib(fm, sizeof fm, r->faiss_mib);
        printf("| %s | %s%s%s | %s | %s | %s | %s / %s | %s | %s | %s / %s |\n", r->dataset, r->op,
               r->note[0] ? " " : "", r->note, ot, ft, sp, r->ours_q[0] ? r->ours_q : "-",
               r->faiss_q[0] ? r->faiss_q : "-", orate, frate, om[0] ? om : "-", fm[0] ? fm : "-");
    }
}

/* ---- machine limits ------------------------------------------------------- */

/* GFLOP/s of a square cblas_sgemm of size n (best of three). */
static double measure_sgemm_peak(size_t n)
{
    float *a = xmalloc(n * n, sizeof *a), *b = xmalloc(n * n, sizeof *b);
    float *c = xmalloc(n * n, sizeof *c);
    double best = 0;
    for (size_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 13) * 0.1f;
        b[i] = (float)(i % 7) * 0.2f;
    }
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0f, a,
                    (int)n, b, (int)n, 0.0f, c, (int)n);
        double g = 2.0 * (double)n * n * n / (now_s() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* Sums the 64-bit words of buf (AVX2 loads when the CPU has them, so that
 * the loop is bound by reading, not by adding). */
__attribute__((target("avx2"))) static uint64_t sum_words_avx2(const uint64_t *buf, size_t words)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= words; i += 8) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *)(const void *)(buf + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *)(const void *)(buf + i + 4)));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)(void *)lanes, _mm256_add_epi64(s0, s1));
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < words; i++)
        s += buf[i];
    return s;
}

static uint64_t sum_words(const uint64_t *buf, size_t words)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= words; i += 4) {
        s0 += buf[i];
        s1 += buf[i + 1];
        s2 += buf[i + 2];
        s3 += buf[i + 3];
    }
    for (; i < words; i++)
        s0 += buf[i];
    return s0 + s1 + s2 + s3;
}

/* GB/s at which n_threads threads each read a buffer of `bytes` bytes,
 * repeated (best of three): what a scan that only read its codes would
 * reach. */
static double measure_read_rate(size_t bytes, int n_threads)
{
    size_t words = bytes / sizeof(uint64_t) + 1;
    uint64_t *buf = xmalloc(words, sizeof *buf);
    uint64_t sink = 0;
    double best = 0;
    int avx2 = __builtin_cpu_supports("avx2");
    size_t reps = (size_t)(4e9 / (double)bytes) + 8; /* about 4 GB read per trial */
    for (size_t i = 0; i < words; i++)
        buf[i] = i * 2654435761u;
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
#pragma omp parallel for num_threads(n_threads) schedule(static) reduction(+ : sink)
        for (size_t rep = 0; rep < reps; rep++)
            sink += avx2 ? sum_words_avx2(buf, words) : sum_words(buf, words);
        double g = (double)reps * (double)words * sizeof *buf / (now_s() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(buf);
    if (sink == 42) /* keeps the sums from being optimised away */
        fputc(' ', stderr);
    return best;
}

/* ---- data ----------------------------------------------------------------- */

typedef struct dataset {
    const char *name;
    size_t dim;
    float *base, *query, *train; /* train may alias base */
    size_t n_base, n_query, n_train;
    bool train_is_base;
    /* Where each part comes from, for messages: a file, or "FILE 'train'". */
    char base_src[4200], query_src[4200], train_src[4200];
} dataset;

static void dataset_free(dataset *ds)
{
    free(ds->base);
    free(ds->query);
    if (!ds->train_is_base)
        free(ds->train);
}

/* Reads rows [0, n) of an xvecs file, n clipped to the file. */
static float *read_xvecs(const char *path, size_t *n, size_t *dim)
{
    pqe_array_info info;
    check_pqe(pqe_xvecs_info(path, &info), path);
    if (*n == 0 || *n > info.rows)
        *n = info.rows;
    *dim = info.cols;
    float *x = xmalloc(*n * info.cols, sizeof *x);
    check_pqe(pqe_xvecs_read_rows(path, 0, *n, x), path);
    return x;
}

/* Dies unless the parts of ds have one dimension. */
static void check_same_dim(const dataset *ds, size_t d_base, size_t d_query, size_t d_train)
{
    if (d_base == d_query && d_base == d_train)
        return;
    fprintf(stderr, "pqeval_bench: error: %s: the dimensions differ: %s has d = %zu, %s d = %zu",
            ds->name, ds->base_src, d_base, ds->query_src, d_query);
    if (strcmp(ds->train_src, ds->base_src) != 0)
        fprintf(stderr, ", %s d = %zu", ds->train_src, d_train);
    fprintf(stderr, "\n");
    exit(2);
}

static void load_sift(const char *dir, size_t max_base, size_t max_query, size_t max_train,
                      dataset *ds)
{
    size_t d1, d2, d3;
    memset(ds, 0, sizeof *ds);
    ds->name = "sift-debian";
    ds->n_base = max_base;
    ds->n_query = max_query;
    ds->n_train = max_train;
    snprintf(ds->base_src, sizeof ds->base_src, "%s/siftdeb_base.bvecs", dir);
    snprintf(ds->query_src, sizeof ds->query_src, "%s/siftdeb_query.bvecs", dir);
    snprintf(ds->train_src, sizeof ds->train_src, "%s/siftdeb_learn.bvecs", dir);
    ds->base = read_xvecs(ds->base_src, &ds->n_base, &d1);
    ds->query = read_xvecs(ds->query_src, &ds->n_query, &d2);
    ds->train = read_xvecs(ds->train_src, &ds->n_train, &d3);
    check_same_dim(ds, d1, d2, d3);
    ds->dim = d1;
}

/* Fashion-MNIST: base = the 60000 training images, queries = the 10000
 * test images (ann-benchmarks' split); PQ is trained on (a prefix of) the
 * base, as ann-benchmarks-style evaluations do.  From the prepared HDF5
 * file if given, else from the IDX files. */
static void load_fmnist(const char *hdf5, const char *idx_dir, size_t max_base, size_t max_query,
                        size_t max_train, dataset *ds)
{
    pqe_array_info bi, qi;
    memset(ds, 0, sizeof *ds);
    ds->name = "fashion-mnist";
    if (hdf5) {
        snprintf(ds->base_src, sizeof ds->base_src, "%s 'train'", hdf5);
        snprintf(ds->query_src, sizeof ds->query_src, "%s 'test'", hdf5);
        snprintf(ds->train_src, sizeof ds->train_src, "%s 'train'", hdf5);
        check_pqe(pqe_hdf5_array_info(hdf5, "train", &bi), hdf5);
        check_pqe(pqe_hdf5_array_info(hdf5, "test", &qi), hdf5);
        check_same_dim(ds, bi.cols, qi.cols, bi.cols);
        ds->n_base = max_base && max_base < bi.rows ? max_base : bi.rows;
        ds->n_query = max_query && max_query < qi.rows ? max_query : qi.rows;
        ds->dim = bi.cols;
        ds->base = xmalloc(ds->n_base * ds->dim, sizeof(float));
        ds->query = xmalloc(ds->n_query * ds->dim, sizeof(float));
        check_pqe(pqe_hdf5_read_rows(hdf5, "train", 0, ds->n_base, ds->base), hdf5);
        check_pqe(pqe_hdf5_read_rows(hdf5, "test", 0, ds->n_query, ds->query), hdf5);
    } else {
        float *all;
        snprintf(ds->base_src, sizeof ds->base_src, "%s/train-images-idx3-ubyte.gz", idx_dir);
        snprintf(ds->query_src, sizeof ds->query_src, "%s/t10k-images-idx3-ubyte.gz", idx_dir);
        snprintf(ds->train_src, sizeof ds->train_src, "%s", ds->base_src);
        check_pqe(pqe_idx_read(ds->base_src, &bi, &ds->base), ds->base_src);
        check_pqe(pqe_idx_read(ds->query_src, &qi, &all), ds->query_src);
        ds->query = all; /* freed with ds, whatever happens next */
        check_same_dim(ds, bi.cols, qi.cols, bi.cols);
        ds->dim = bi.cols;
        ds->n_base = max_base && max_base < bi.rows ? max_base : bi.rows;
        ds->n_query = max_query && max_query < qi.rows ? max_query : qi.rows;
        /* the first n_query rows of ds->query are used */
    }
    ds->train = ds->base;
    ds->train_is_base = true;
    ds->n_train = max_train && max_train < ds->n_base ? max_train : ds->n_base;
}

/* Dies with the file, row, column and value of the first non-finite value
 * of x (n x d). */
static void check_finite(const char *src, const float *x, size_t n, size_t d)
{
    size_t i = pqe_first_nonfinite(x, n * d);
    if (i < n * d) {
        fprintf(stderr, "pqeval_bench: error: %s: row %zu, column %zu is %g\n", src, i / d, i % d,
                (double)x[i]);
        exit(2);
    }
}

/* Everything the benchmark of ds needs, checked before any timing starts:
 * a dimension that M = BENCH_M divides, queries, more training vectors than
 * the K = 256 centroids of PQ16x8 (with exactly K FAISS copies the points
 * and skips k-means), at least k base vectors, finite values. */
enum { BENCH_M = 16, BENCH_K = 256 };

static void check_dataset(const dataset *ds, size_t k)
{
    if (ds->dim == 0 || ds->dim % BENCH_M != 0) {
        fprintf(stderr,
                "pqeval_bench: error: %s: d = %zu is not a positive multiple of M = %d (the bench "
                "runs PQ%dx8 and PQ%dx4)\n",
                ds->base_src, ds->dim, BENCH_M, BENCH_M, BENCH_M);
        exit(2);
    }
    if (ds->n_query == 0) {
        fprintf(stderr, "pqeval_bench: error: %s: no query vectors\n", ds->query_src);
        exit(2);
    }
    if (ds->n_base < k) {
        fprintf(stderr, "pqeval_bench: error: %s: %zu base vectors, fewer than --k %zu\n",
                ds->base_src, ds->n_base, k);
        exit(2);
    }
    if (ds->n_train <= BENCH_K) {
        fprintf(stderr,
                "pqeval_bench: error: %s: %zu training vectors; PQ%dx8 needs more than its %d "
                "centroids\n",
                ds->train_src, ds->n_train, BENCH_M, BENCH_K);
        exit(2);
    }
    check_finite(ds->base_src, ds->base, ds->n_base, ds->dim);
    check_finite(ds->query_src, ds->query, ds->n_query, ds->dim);
    if (!ds->train_is_base)
        check_finite(ds->train_src, ds->train, ds->n_train, ds->dim);
}

/* ---- exact k-NN: ours, by blocked sgemm ---------------------------------- */

enum { GT_QUERY_BLOCK = 256, GT_BASE_BLOCK = 4096 };

/* Squared L2 top-k of every query: |x|^2 - 2 q.x per block from one sgemm,
 * a bounded heap per query, |q|^2 added at the end. */
static void exact_knn(const float *base, size_t nb, const float *queries, size_t nq, size_t d,
                      size_t k, int n_threads, int64_t *ids, float *dist)
{
    float *xn = xmalloc(nb, sizeof *xn);
    float *ip = xmalloc((size_t)GT_QUERY_BLOCK * GT_BASE_BLOCK, sizeof *ip);
    pqe_topk *heaps = xmalloc(GT_QUERY_BLOCK, sizeof *heaps);

#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (size_t j = 0; j < nb; j++) {
        float s = 0;
        for (size_t t = 0; t < d; t++)
            s += base[j * d + t] * base[j * d + t];
        xn[j] = s;
    }
    for (size_t q0 = 0; q0 < nq; q0 += GT_QUERY_BLOCK) {
        size_t qb = nq - q0 < GT_QUERY_BLOCK ? nq - q0 : GT_QUERY_BLOCK;
        for (size_t i = 0; i < qb; i++)
            pqe_topk_init(&heaps[i], k, dist + (q0 + i) * k, ids + (q0 + i) * k);
        for (size_t b0 = 0; b0 < nb; b0 += GT_BASE_BLOCK) {
            size_t bb = nb - b0 < GT_BASE_BLOCK ? nb - b0 : GT_BASE_BLOCK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)bb, (int)d, 1.0f,
                        queries + q0 * d, (int)d, base + b0 * d, (int)d, 0.0f, ip, (int)bb);
#pragma omp parallel for num_threads(n_threads) schedule(static)
            for (size_t i = 0; i < qb; i++) {
                const float *row_ip = ip + i * bb;
                float bound = pqe_topk_bound(&heaps[i]);
                for (size_t j = 0; j < bb; j++) {
                    float v = xn[b0 + j] - 2 * row_ip[j];
                    if (v < bound) {
                        pqe_topk_push(&heaps[i], v, (int64_t)(b0 + j));
                        bound = pqe_topk_bound(&heaps[i]);
                    }
                }
            }
        }
        for (size_t i = 0; i < qb; i++) {
            const float *q = queries + (q0 + i) * d;
            float qn = 0;
            for (size_t t = 0; t < d; t++)
                qn += q[t] * q[t];
            pqe_topk_finish(&heaps[i], INFINITY);
            for (size_t j = 0; j < k; j++)
                dist[(q0 + i) * k + j] += qn;
        }
    }
    free(xn);
    free(ip);
    free(heaps);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* k-recall@k: mean fraction of each query's true top-k (distinct ids)
 * found in its returned top-k; a sorted copy of each true row makes it
 * k log k per query. */
static double recall_at(const int64_t *got, const int64_t *truth, size_t nq, size_t k)
{
    size_t hits = 0;
    int64_t *sorted = xmalloc(k, sizeof *sorted);
    for (size_t q = 0; q < nq; q++) {
        memcpy(sorted, truth + q * k, k * sizeof *sorted);
        qsort(sorted, k, sizeof *sorted, cmp_i64);
        for (size_t i = 0; i < k; i++)
            hits += got[q * k + i] >= 0 &&
                    bsearch(&got[q * k + i], sorted, k, sizeof *sorted, cmp_i64) != NULL;
    }
    free(sorted);
    return (double)hits / (double)(nq * k);
}

/* Mean squared reconstruction error per vector. */
static double distortion(const float *x, const float *rec, size_t n, size_t d)
{
    double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) {
            double e = (double)x[i * d + t] - rec[i * d + t];
            s += e * e;
        }
        total += s;
    }
    return total / (double)n;
}

/* ---- the benchmark of one setting --------------------------------------- */

typedef struct config {
    int runs_train; /* median of this many training runs */
    int runs;       /* and of this many runs of everything else */
    size_t k;       /* neighbours per query */
    int n_threads;
    double sgemm_peak; /* GFLOP/s */
    double read_rate;  /* GB/s for an array of the codes' size, set per dataset */
} config;

/* The memory target of a search: one block of tables per thread.  A block
 * is what a thread works on at once: the float tables of the `lanes`
 * queries one pass of the scan serves (the batched ADC kernel of
 * simd/adc_kernels.h interleaves them) and the table being built, plus 64
 * KiB for quantised tables, result heaps and candidate buffers. */
static double table_block_mib(const config *cfg, size_t table_bytes, size_t lanes)
{
    return (double)cfg->n_threads * ((double)(lanes + 1) * (double)table_bytes + 65536.0) /
           (1024.0 * 1024.0);
}

static FaissIndex *faiss_new(const dataset *ds, const char *spec)
{
    FaissIndex *index = NULL;
    check_faiss(faiss_index_factory(&index, (int)ds->dim, spec, METRIC_L2), spec);
    return index;
}

/* Mean and sample standard deviation of n values. */
static void mean_sd(const double *v, size_t n, double *mean, double *sd)
{
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        m += v[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
}

/* The training vectors in the order of run `run`: run 0 as stored, later
 * runs shuffled (Fisher-Yates, a fixed xorshift seed per run).  Both sides
 * train on the same order.  Which points k-means starts from and which it
 * subsamples depends on the order, for FAISS (whose seed its C API cannot
 * set) as for us, so each run is a draw of the codebooks' randomness. */
static void training_order(const dataset *ds, int run, float *out)
{
    size_t n = ds->n_train, d = ds->dim;
    size_t *perm = xmalloc(n, sizeof *perm);
    uint64_t state = 0x9e3779b97f4a7c15ull * (uint64_t)(run + 1);

    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; run > 0 && i > 1; i--) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        size_t j = (size_t)(state % i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * d, ds->train + perm[i] * d, d * sizeof *out);
    free(perm);
}

/* Distortion on the base: mean squared reconstruction error per vector. */
static double base_distortion_ours(const dataset *ds, const pqe_pq *pq, uint8_t *codes, float *rec)
{
    check_pqe(pqe_pq_encode(pq, ds->base, ds->n_base, codes), "pq encode");
    check_pqe(pqe_pq_decode(pq, codes, ds->n_base, rec), "pq decode");
    return distortion(ds->base, rec, ds->n_base, ds->dim);
}

static double base_distortion_faiss(const dataset *ds, FaissIndex *index, uint8_t *codes,
                                    float *rec)
{
    check_faiss(faiss_Index_sa_encode(index, (idx_t)ds->n_base, ds->base, codes), "faiss encode");
    check_faiss(faiss_Index_sa_decode(index, (idx_t)ds->n_base, codes, rec), "faiss decode");
    return distortion(ds->base, rec, ds->n_base, ds->dim);
}

/* "D=mean sd rel%", the relative deviation left out when the mean is 0. */
static void fmt_distortion(char *buf, size_t size, double mean, double sd)
{
    if (mean > 0)
        snprintf(buf, size, "D=%.4g sd %.2f%%", mean, 100 * sd / mean);
    else
        snprintf(buf, size, "D=%.4g", mean);
}

/* Trains both quantizers runs times, each run on its own order of the
 * training vectors (training_order), and measures each codebook's
 * distortion on the base; keeps the quantizers of run 0. */

static void bench_train(const config *cfg, const dataset *ds, size_t M, unsigned nbits,
                        pqe_pq **ours_out, FaissIndex **faiss_out, row *r)
{
    char spec[64];
    size_t runs = (size_t)cfg->runs_train;
    double *t_ours = xmalloc(runs, sizeof(double)), *t_faiss = xmalloc(runs, sizeof(double));
    double *d_ours = xmalloc(runs, sizeof(double)), *d_faiss = xmalloc(runs, sizeof(double));
    pqe_pq_params params = pqe_pq_params_default(ds->dim, M, nbits);
    size_t K = (size_t)1 << nbits, dsub = ds->dim / M;
    size_t n_used = ds->n_train < 256 * K ? ds->n_train : 256 * K;
    double flops =
        2.0 * (double)n_used * (double)K * (double)dsub * (double)M * PQE_KMEANS_ITERS_DEFAULT;
    float *train = xmalloc(ds->n_train * ds->dim, sizeof *train);
    float *rec = xmalloc(ds->n_base * ds->dim, sizeof *rec);
    uint8_t *codes = xmalloc(ds->n_base, M * 2 + 8);

    params.kmeans.n_threads = cfg->n_threads;
    snprintf(spec, sizeof spec, "PQ%zux%unp", M, nbits);
    for (size_t run = 0; run < runs; run++) {
        pqe_pq *pq = NULL;
        FaissIndex *index = faiss_new(ds, spec);
        long long mark;
        double t0;

        training_order(ds, (int)run, train);
        check_pqe(pqe_pq_new(&params, &pq), "pq");
        mark = heap_mark();
        t0 = now_s();
        check_pqe(pqe_pq_train(pq, train, ds->n_train), "pq train");
        t_ours[run] = now_s() - t0;
        r->ours_mib = heap_extra_mib(mark);

        mark = heap_mark();
        t0 = now_s();
        check_faiss(faiss_Index_train(index, (idx_t)ds->n_train, train), "faiss train");
        t_faiss[run] = now_s() - t0;
        r->faiss_mib = heap_extra_mib(mark);

        d_ours[run] = base_distortion_ours(ds, pq, codes, rec);
        d_faiss[run] = base_distortion_faiss(ds, index, codes, rec);
        if (run > 0) {
            pqe_pq_free(pq);
            faiss_Index_free(index);
        } else {
            *ours_out = pq;
            *faiss_out = index;
        }
        progress("%s train PQ%zux%u run %zu: ours %.2f s D=%.5g, FAISS %.2f s D=%.5g", ds->name, M,
                 nbits, run, t_ours[run], d_ours[run], t_faiss[run], d_faiss[run]);
    }
    r->ours_s = median(t_ours, runs);
    r->faiss_s = median(t_faiss, runs);
    r->ours_rate = flops / r->ours_s / 1e9;
    r->faiss_rate = flops / r->faiss_s / 1e9;
    r->limit = cfg->sgemm_peak;
    r->unit = "GFLOP/s";
    mean_sd(d_ours, runs, &r->d_ours_mean, &r->d_ours_sd);
    mean_sd(d_faiss, runs, &r->d_faiss_mean, &r->d_faiss_sd);
    r->d_runs = (int)runs;
    fmt_distortion(r->ours_q, sizeof r->ours_q, r->d_ours_mean, r->d_ours_sd);
    fmt_distortion(r->faiss_q, sizeof r->faiss_q, r->d_faiss_mean, r->d_faiss_sd);
    free(train);
    free(rec);
    free(codes);
    free(t_ours);
    free(t_faiss);
    free(d_ours);
    free(d_faiss);
}

/* Times cfg->runs searches of ours (the fast scan fs if it is not NULL,
 * else pqe_pq_search of pq over codes, with *sp) and, unless findex is
 * NULL, of FAISS's findex as it is set up, each followed by its k-recall@k
 * against truth; fills r's medians, recalls, code-scan rates (code_bytes
 * and faiss_code_bytes per base vector) and peak extra heap.  A side not
 * timed keeps r's NAN. */
static void time_search(const config *cfg, const dataset *ds, const pqe_search_params *sp,
                        const pqe_pq *pq, const uint8_t *codes, const pqe_fastscan *fs,
                        double code_bytes, FaissIndex *findex, double faiss_code_bytes,
                        const int64_t *truth, row *r)
{
    size_t n = ds->n_base, nq = ds->n_query, k = sp->k;
    int64_t *ids = xmalloc(nq * k, sizeof *ids);
    float *dist = xmalloc(nq * k, sizeof *dist);
    double *t_ours = xmalloc((size_t)cfg->runs, sizeof(double));
    double *t_faiss = xmalloc((size_t)cfg->runs, sizeof(double));
    double recall_ours = 0, recall_faiss = 0;
    for (int run = 0; run < cfg->runs; run++) {
        long long mark = heap_mark();
        double t0 = now_s();
        if (fs)
            check_pqe(pqe_fastscan_search(fs, sp, ds->query, nq, ids, dist), "fast scan search");
        else
            check_pqe(pqe_pq_search(pq, sp, codes, n, ds->query, nq, ids, dist), "pq search");
        t_ours[run] = now_s() - t0;
        r->ours_mib = heap_extra_mib(mark);
        recall_ours = recall_at(ids, truth, nq, k);
        if (!findex)
            continue;
        mark = heap_mark();
        t0 = now_s();
        check_faiss(faiss_Index_search(findex, (idx_t)nq, ds->query, (idx_t)k, dist, ids),
                    "faiss search");
        t_faiss[run] = now_s() - t0;
        r->faiss_mib = heap_extra_mib(mark);
        recall_faiss = recall_at(ids, truth, nq, k);
    }
    r->ours_s = median(t_ours, (size_t)cfg->runs);
    snprintf(r->ours_q, sizeof r->ours_q, "R=%.3f", recall_ours);
    r->ours_rate = (double)nq * (double)n * code_bytes / r->ours_s / 1e9;
    if (findex) {
        r->faiss_s = median(t_faiss, (size_t)cfg->runs);
        snprintf(r->faiss_q, sizeof r->faiss_q, "R=%.3f", recall_faiss);
        r->faiss_rate = (double)nq * (double)n * faiss_code_bytes / r->faiss_s / 1e9;
    }
    r->limit = cfg->read_rate;
    r->unit = "GB/s";
    free(ids);
    free(dist);
    free(t_ours);
    free(t_faiss);
}

static void bench_setting(const config *cfg, const dataset *ds, size_t M, unsigned nbits,
                          const int64_t *truth)
{
    char op[64], spec[64];
    pqe_pq *pq = NULL;
    FaissIndex *findex = NULL;
    size_t n = ds->n_base, d = ds->dim, k = cfg->k;
    size_t code_bytes, faiss_code_bytes;
    uint8_t *codes, *fcodes;
    double *t_ours = xmalloc((size_t)cfg->runs, sizeof(double));
    double *t_faiss = xmalloc((size_t)cfg->runs, sizeof(double));
    size_t K = (size_t)1 << nbits;
    long long mark;
    row *r;

    /* Training, with the distortion of each on the base. */
    snprintf(op, sizeof op, "train PQ%zux%u", M, nbits);
    r = add_row(ds->name, op);
    bench_train(cfg, ds, M, nbits, &pq, &findex, r);
    code_bytes = pqe_pq_code_bytes(pq);
    /* IndexPQ's packed code size.  (faiss_Index_sa_code_size of the 1.7.3 C
     * API never writes its output, so it cannot be asked.) */
    faiss_code_bytes = (M * nbits + 7) / 8;
    codes = xmalloc(n, code_bytes);
    fcodes = xmalloc(n, faiss_code_bytes);

    /* Encoding the base. */
    snprintf(op, sizeof op, "encode PQ%zux%u", M, nbits);
    row *re = add_row(ds->name, op);
    for (int run = 0; run < cfg->runs; run++) {
        double t0;
        mark = heap_mark();
        t0 = now_s();
        check_pqe(pqe_pq_encode(pq, ds->base, n, codes), "pq encode");
        t_ours[run] = now_s() - t0;
        re->ours_mib = heap_extra_mib(mark);
        mark = heap_mark();
        t0 = now_s();
        check_faiss(faiss_Index_sa_encode(findex, (idx_t)n, ds->base, fcodes), "faiss encode");
        t_faiss[run] = now_s() - t0;
        re->faiss_mib = heap_extra_mib(mark);
    }
    re->ours_s = median(t_ours, (size_t)cfg->runs);
    re->faiss_s = median(t_faiss, (size_t)cfg->runs);
    re->ours_rate = 2.0 * (double)n * (double)K * (double)d / re->ours_s / 1e9;
    re->faiss_rate = 2.0 * (double)n * (double)K * (double)d / re->faiss_s / 1e9;
    re->limit = cfg->sgemm_peak;
    re->unit = "GFLOP/s";

    /* ADC search: ours over our codes, FAISS's IndexPQ over its own. */
    check_faiss(faiss_Index_add(findex, (idx_t)n, ds->base), "faiss add");
    pqe_search_params sp = {PQE_SEARCH_ADC, PQE_METRIC_EUCLIDEAN, k, 0, cfg->n_threads};
    snprintf(op, sizeof op, "ADC search PQ%zux%u", M, nbits);
    row *ra = add_row(ds->name, op);
    time_search(cfg, ds, &sp, pq, codes, NULL, (double)code_bytes, findex, (double)faiss_code_bytes,
                truth, ra);
    ra->bound_mib = table_block_mib(cfg, M * K * sizeof(float), pqe_adc_scanner_active().lanes);

    /* SDC: ours over our codes, FAISS's IndexPQ (ST_SDC) over its own.  Our
     * search builds its centroid-to-centroid table each time (it is timed);
     * FAISS's is built once, untimed, before its first SDC search, as
     * IndexPQ keeps it.  FAISS's SDC exists for nbits = 8 only. */
    if (pqe_pq_sdc_table_bytes(pq) <= PQE_SDC_MEMORY_LIMIT_DEFAULT) {
        bool faiss_sdc = nbits == 8;
        snprintf(op, sizeof op, "SDC search PQ%zux%u", M, nbits);
        row *rs = add_row(ds->name, op);
        sp.mode = PQE_SEARCH_SDC;
        if (faiss_sdc)
            check_faiss(pqeval_bench_faiss_pq_use_sdc(findex), "faiss sdc");
        time_search(cfg, ds, &sp, pq, codes, NULL, (double)code_bytes, faiss_sdc ? findex : NULL,
                    (double)faiss_code_bytes, truth, rs);
        if (faiss_sdc)
            check_faiss(pqeval_bench_faiss_pq_use_adc(findex), "faiss adc");
        else
            rs->note = "(FAISS: SDC needs nbits = 8)";
        sp.mode = PQE_SEARCH_ADC;
    }

    /* Fast scan (nbits = 4): ours from our codes, FAISS's PQ{M}x4fs trained
     * on the same data (its training is not timed here). */
    if (nbits == 4) {
        pqe_fastscan *fs = NULL;
        FaissIndex *ffs = NULL;
        snprintf(spec, sizeof spec, "PQ%zux4fs", M);
        ffs = faiss_new(ds, spec);
        check_faiss(faiss_Index_train(ffs, (idx_t)ds->n_train, ds->train), "faiss fs train");
        check_faiss(faiss_Index_add(ffs, (idx_t)n, ds->base), "faiss fs add");
        check_pqe(pqe_fastscan_new(pq, codes, n, &fs), "fast scan");

        snprintf(op, sizeof op, "fast-scan search PQ%zux4", M);
        row *rf = add_row(ds->name, op);
        time_search(cfg, ds, &sp, NULL, NULL, fs, M / 2.0, ffs, M / 2.0, truth, rf);
        rf->bound_mib = table_block_mib(cfg, M * 16 * sizeof(float), 1);
        pqe_fastscan_free(fs);
        faiss_Index_free(ffs);
    }

    faiss_Index_free(findex);
    pqe_pq_free(pq);
    free(codes);
    free(fcodes);
    free(t_ours);
    free(t_faiss);
}

/* Exact ground truth: ours (sgemm brute force) against IndexFlatL2; returns
 * the ids (nq x k) for the recalls. */
static int64_t *bench_groundtruth(const config *cfg, const dataset *ds)
{
    size_t nq = ds->n_query, k = cfg->k, n = ds->n_base, d = ds->dim;
    int64_t *ids = xmalloc(nq * k, sizeof *ids), *fids = xmalloc(nq * k, sizeof *fids);
    float *dist = xmalloc(nq * k, sizeof *dist);
    double *t_ours = xmalloc((size_t)cfg->runs, sizeof(double));
    double *t_faiss = xmalloc((size_t)cfg->runs, sizeof(double));
    FaissIndexFlatL2 *flat = NULL;
    row *r = add_row(ds->name, "exact k-NN (brute force)");

    check_faiss(faiss_IndexFlatL2_new_with(&flat, (idx_t)d), "flat");
    check_faiss(faiss_Index_add((FaissIndex *)flat, (idx_t)n, ds->base), "flat add");
    for (int run = 0; run < cfg->runs; run++) {
        long long mark = heap_mark();
        double t0 = now_s();
        exact_knn(ds->base, n, ds->query, nq, d, k, cfg->n_threads, ids, dist);
        t_ours[run] = now_s() - t0;
        r->ours_mib = heap_extra_mib(mark);
        mark = heap_mark();
        t0 = now_s();
        check_faiss(
            faiss_Index_search((FaissIndex *)flat, (idx_t)nq, ds->query, (idx_t)k, dist, fids),
            "flat search");
        t_faiss[run] = now_s() - t0;
        r->faiss_mib = heap_extra_mib(mark);
    }
    r->ours_s = median(t_ours, (size_t)cfg->runs);
    r->faiss_s = median(t_faiss, (size_t)cfg->runs);
    r->ours_rate = 2.0 * (double)nq * (double)n * (double)d / r->ours_s / 1e9;
    r->faiss_rate = 2.0 * (double)nq * (double)n * (double)d / r->faiss_s / 1e9;
    r->limit = cfg->sgemm_peak;
    r->unit = "GFLOP/s";
    /* Agreement of the two (ties may order differently). */
    snprintf(r->ours_q, sizeof r->ours_q, "agree=%.4f", recall_at(ids, fids, nq, k));
    faiss_Index_free((FaissIndex *)flat);
    free(fids);
    free(dist);
    free(t_ours);
    free(t_faiss);
    return ids;
}

static void bench_dataset(config *cfg, const dataset *ds, const size_t *sub_counts,
                          size_t n_sub_counts)
{
    progress("%s: %zu base, %zu queries, %zu training vectors, d = %zu", ds->name, ds->n_base,
             ds->n_query, ds->n_train, ds->dim);
    printf("- %s: %zu base vectors, %zu queries, %zu training vectors, d = %zu\n", ds->name,
           ds->n_base, ds->n_query, ds->n_train, ds->dim);
    int64_t *truth = bench_groundtruth(cfg, ds);
    for (size_t i = 0; i < n_sub_counts; i++) {
        size_t M = sub_counts[i]; /* check_dataset made sure that M divides d */
        /* Read rate over an array the size of the nbits = 8 codes. */
        cfg->read_rate = measure_read_rate(ds->n_base * M, cfg->n_threads);
        bench_setting(cfg, ds, M, 8, truth);
        bench_setting(cfg, ds, M, 4, truth);
    }
    free(truth);
}

/* ---- targets --------------------------------------------------------------- */

static const row *find_row(const char *dataset_name, const char *prefix, const char *suffix)
{
    for (size_t i = 0; i < n_rows; i++) {
        size_t lp = strlen(rows[i].op), ls = strlen(suffix);
        if (strcmp(rows[i].dataset, dataset_name) == 0 &&
            strncmp(rows[i].op, prefix, strlen(prefix)) == 0 && lp >= ls &&
            strcmp(rows[i].op + lp - ls, suffix) == 0)
            return &rows[i];
    }
    return NULL;
}

static void print_targets(void)
{
    printf("\nTargets (issue #7), per row: speedup = FAISS time / our time\n\n");
    for (size_t i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        double sp = r->faiss_s / r->ours_s, need;
        const char *what;
        if (isnan(sp))
            continue;
        if (strncmp(r->op, "train", 5) == 0) {
            /* Equal or lower distortion: our mean at most FAISS's, or above
             * it by less than twice the standard error of the difference
             * of the means (the two k-means are the same algorithm; which
             * is lower in one draw is chance). */
            double diff = r->d_ours_mean - r->d_faiss_mean;
            double se = sqrt((r->d_ours_sd * r->d_ours_sd + r->d_faiss_sd * r->d_faiss_sd) /
                             (double)r->d_runs);
            const char *verdict = diff <= 0                         ? "lower"
                                  : r->d_runs > 1 && diff <= 2 * se ? "equal within the noise"
                                  : r->d_runs > 1                   ? "HIGHER"
                                                                    : "HIGHER in one draw "
                                                                      "(no noise estimate: use --runs-train 2 "
                                                                      "or more)";
            double scale = r->d_faiss_mean > 0 ? 100 / r->d_faiss_mean : 0;
            need = 3;
            printf("- %s %s: %.2fx (need >= 3x) at mean distortion %.5g vs %.5g over %d training "
                   "set%s, %+.2f%% (2 standard errors: %.2f%%): %s: %s\n",
                   r->dataset, r->op, sp, r->d_ours_mean, r->d_faiss_mean, r->d_runs,
                   r->d_runs == 1 ? "" : "s", diff * scale, 2 * se * scale, verdict,
                   sp >= need && verdict[0] != 'H' ? "met" : "NOT met");
            continue;
        }
        if (strncmp(r->op, "ADC search", 10) == 0 && strstr(r->op, "x8")) {
            need = 1.5;
            what = "ADC nbits=8";
        } else if (strncmp(r->op, "fast-scan", 9) == 0) {
            need = 1.0;
            what = "fast scan vs PQ{M}x4fs";
        } else if (strncmp(r->op, "encode", 6) == 0) {
            need = 1.0;
            what = "encoding";
        } else {
            continue;
        }
        printf("- %s %s (%s): %.2fx (need >= %.1fx): %s\n", r->dataset, r->op, what, sp, need,
               sp >= need ? "met" : "NOT met");
    }
    for (size_t i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (isnan(r->bound_mib))
            continue;
        printf("- %s %s: our extra heap %.2f MiB beyond the codes, against one block of tables "
               "per thread (%.2f MiB): %s\n",
               r->dataset, r->op, r->ours_mib, r->bound_mib,
               r->ours_mib <= r->bound_mib ? "met" : "NOT met");
    }
    (void)find_row;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: pqeval_bench [--quick] [--dataset fashion-mnist|sift|all] [--runs N] "
        "[--runs-train N]\n"
        "                    [--threads N] [--simd portable|avx2|avx512] [--k K]\n"
        "                    [--fmnist-hdf5 FILE] [--fmnist-idx DIR] [--sift-dir DIR]\n"
        "                    [--max-train N] [--max-base N] [--queries N] [--quiet]\n"
        "Times pqeval's PQ training, encoding, ADC/SDC/fast-scan search and exact k-NN\n"
        "against FAISS's (C API; SDC through the one setter it lacks) in one process and\n"
        "prints a Markdown table of medians, speedups (FAISS time / our time) and rates\n"
        "against the machine's limits.\n"
        "--dataset sift is the SIFT set of --sift-dir (sift-debian in the table) [all].\n"
        "--threads 2, --k 10 and the best SIMD level of this CPU by default.\n"
        "--quick: 20000 base vectors, 200 queries, 10000 training vectors, %d training runs,\n"
        "3 runs of the rest.  Default: whole bases, 1000 queries, 20000 training vectors,\n"
        "%d training runs (each on its own order of the training vectors), 5 runs of the rest.\n"
        "Every number must be a whole number of at least 1 (--runs and --runs-train at\n"
        "most 1000, --threads 1024, --k 100000).  Exit status 0 once the table is\n"
        "printed, whether or not every target is met; 2 on bad options or input.\n",
        QUICK_TRAIN_RUNS, FULL_TRAIN_RUNS);
}

/* A whole number in [1, max] for option `opt`, or death naming the value. */
static size_t parse_count(const char *opt, const char *v, size_t max)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || v[0] < '0' || v[0] > '9' || *end || x < 1 || (unsigned long long)x > max) {
        fprintf(stderr, "pqeval_bench: error: %s: \"%s\" is not a whole number from 1 to %zu\n",
                opt, v, max);
        exit(2);
    }
    return (size_t)x;
}

/* Dies before any work if a file the run needs cannot be read. */
static void require_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pqeval_bench: error: %s: cannot open: %s\n", path, strerror(errno));
        exit(2);
    }
    fclose(f);
}

static const char *loadavg(char *buf, size_t size)
{
    FILE *f = fopen("/proc/loadavg", "r");
    buf[0] = 0;
    if (f) {
        if (fgets(buf, (int)size, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
    return buf;
}

static const char *cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, size, "unknown");
    if (!f)
        return buf;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                snprintf(buf, size, "%s", colon + 2);
                buf[strcspn(buf, "\n")] = 0;
            }
            break;
        }
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *which = "all", *fmnist_hdf5 = NULL;
    const char *fmnist_idx = "/usr/share/datasets/fashion-mnist";
    const char *shared = getenv("PQEVAL_SHARED_DATASETS");
    char sift_dir[4096], la0[128], la1[128], cpu[256];
    const char *simd = NULL;
    int runs = 0, runs_train = 0;
    size_t max_train = 0, max_base = 0, n_queries = 0;
    config cfg = {0, 0, 10, 2, 0, 0};
    double t_start = now_s();

    snprintf(sift_dir, sizeof sift_dir, "%s/sift-debian", shared ? shared : "../shared/datasets");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            quick = true;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (v && strcmp(a, "--dataset") == 0) {
            which = v, i++;
        } else if (v && strcmp(a, "--runs") == 0) {
            runs = (int)parse_count(a, v, 1000), i++;
        } else if (v && strcmp(a, "--threads") == 0) {
            cfg.n_threads = (int)parse_count(a, v, 1024), i++;
        } else if (v && strcmp(a, "--runs-train") == 0) {
            runs_train = (int)parse_count(a, v, 1000), i++;
        } else if (v && strcmp(a, "--max-train") == 0) {
            max_train = parse_count(a, v, (size_t)1 << 40), i++;
        } else if (v && strcmp(a, "--max-base") == 0) {
            max_base = parse_count(a, v, (size_t)1 << 40), i++;
        } else if (v && strcmp(a, "--queries") == 0) {
            n_queries = parse_count(a, v, (size_t)1 << 40), i++;
        } else if (v && strcmp(a, "--k") == 0) {
            cfg.k = parse_count(a, v, 100000), i++;
        } else if (v && strcmp(a, "--simd") == 0) {
            simd = v, i++;
        } else if (v && strcmp(a, "--fmnist-hdf5") == 0) {
            fmnist_hdf5 = v, i++;
        } else if (v && strcmp(a, "--fmnist-idx") == 0) {
            fmnist_idx = v, i++;
        } else if (v && strcmp(a, "--sift-dir") == 0) {
            if (strlen(v) >= sizeof sift_dir) {
                fprintf(stderr,
                        "pqeval_bench: error: --sift-dir: a path of %zu characters; at "
                        "most %zu\n",
                        strlen(v), sizeof sift_dir - 1);
                return 2;
            }
            snprintf(sift_dir, sizeof sift_dir, "%s", v), i++;
        } else {
            usage(stderr);
            fprintf(stderr, "pqeval_bench: error: unknown or incomplete option %s\n", a);
            return 2;
        }
    }
    if (strcmp(which, "all") != 0 && strcmp(which, "fashion-mnist") != 0 &&
        strcmp(which, "sift") != 0) {
        fprintf(stderr,
                "pqeval_bench: error: --dataset: \"%s\" is not fashion-mnist, sift or all\n",
                which);
        return 2;
    }
    bool want_fmnist = strcmp(which, "all") == 0 || strcmp(which, "fashion-mnist") == 0;
    bool want_sift = strcmp(which, "all") == 0 || strcmp(which, "sift") == 0;
    if (want_fmnist) {
        char path[4200]; /* dir (< 4096) and a file name */
        if (fmnist_hdf5) {
            require_file(fmnist_hdf5);
        } else {
            snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", fmnist_idx);
            require_file(path);
            snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", fmnist_idx);
            require_file(path);
        }
    }
    if (want_sift) {
        static const char *const files[] = {"base", "query", "learn"};
        char path[4200];
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "%s/siftdeb_%s.bvecs", sift_dir, files[f]);
            require_file(path);
        }
    }
    if (simd) {
        pqe_simd_level level;
        check_pqe(pqe_simd_level_parse(simd, &level), "--simd");
        check_pqe(pqe_simd_force(level), "--simd");
    }
    if (max_train && max_train <= BENCH_K) {
        fprintf(stderr,
                "pqeval_bench: error: --max-train %zu: PQ%dx8 needs more training vectors than "
                "its %d centroids\n",
                max_train, BENCH_M, BENCH_K);
        exit(2);
    }
    if (max_base && want_fmnist && max_base <= BENCH_K) {
        fprintf(stderr,
                "pqeval_bench: error: --max-base %zu: Fashion-MNIST trains on its base, and "
                "PQ%dx8 needs more training vectors than its %d centroids\n",
                max_base, BENCH_M, BENCH_K);
        exit(2);
    }
    if (max_base && cfg.k > max_base) {
        fprintf(stderr,
                "pqeval_bench: error: --k %zu is more than the %zu base vectors of --max-base\n",
                cfg.k, max_base);
        exit(2);
    }
    if (!max_train)
        max_train = quick ? 10000 : 20000;
    if (!max_base)
        max_base = quick ? 20000 : 0;
    if (!n_queries)
        n_queries = quick ? 200 : 1000;
    cfg.runs = runs > 0 ? runs : (quick ? 3 : 5);
    cfg.runs_train = runs_train > 0 ? runs_train : (quick ? QUICK_TRAIN_RUNS : FULL_TRAIN_RUNS);
    omp_set_num_threads(cfg.n_threads);
    openblas_set_num_threads(cfg.n_threads);
    if ((long)cfg.n_threads > sysconf(_SC_NPROCESSORS_ONLN))
        fprintf(stderr,
                "pqeval_bench: warning: --threads %d is more than the %ld online CPUs: both sides "
                "will share cores and the times say little\n",
                cfg.n_threads, sysconf(_SC_NPROCESSORS_ONLN));

    /* Every dataset is read and checked before anything is timed. */
    dataset fmnist, sift;
    if (want_fmnist) {
        progress("reading fashion-mnist");
        load_fmnist(fmnist_hdf5, fmnist_idx, max_base, n_queries, max_train, &fmnist);
        check_dataset(&fmnist, cfg.k);
    }
    if (want_sift) {
        progress("reading sift-debian");
        load_sift(sift_dir, max_base, n_queries, max_train, &sift);
        check_dataset(&sift, cfg.k);
    }

    loadavg(la0, sizeof la0);
    progress("measuring the sgemm peak");
    cfg.sgemm_peak = measure_sgemm_peak(quick ? 1536 : 2048);

    printf("# pqeval bench: ours vs FAISS %s\n\n", quick ? "(--quick)" : "(full)");
    printf("- CPU: %s, %d thread%s used (%ld online); SIMD level %s; OpenBLAS core %s\n",
           cpu_model(cpu, sizeof cpu), cfg.n_threads, cfg.n_threads == 1 ? "" : "s",
           sysconf(_SC_NPROCESSORS_ONLN), pqe_simd_level_name(pqe_simd_active()),
           openblas_get_corename());
    printf("- sgemm peak (cblas_sgemm %d^3, best of 3): %.1f GFLOP/s\n", quick ? 1536 : 2048,
           cfg.sgemm_peak);
    printf("- medians of %d training runs and %d runs of everything else; k = %zu\n",
           cfg.runs_train, cfg.runs, cfg.k);
    printf("- OMP_WAIT_POLICY=%s; load average at start: %s\n",
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(unset)", la0);

    const size_t subs[] = {BENCH_M};
    if (want_fmnist)
        bench_dataset(&cfg, &fmnist, subs, 1);
    if (want_sift)
        bench_dataset(&cfg, &sift, subs, 1);
    if (want_fmnist)
        dataset_free(&fmnist);
    if (want_sift)
        dataset_free(&sift);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("- load average at end: %s; wall time %.0f s; peak RSS (ru_maxrss) %.0f MiB\n\n",
           loadavg(la1, sizeof la1), now_s() - t_start, (double)ru.ru_maxrss / 1024.0);
    print_table();
    printf("\nspeedup = FAISS time / our time (above 1: ours faster).  quality: D = distortion "
           "(mean squared error per base vector), for training its mean over the training runs "
           "(each on its own order of the training vectors) and its relative standard "
           "deviation, R = %zu-recall@%zu against the exact "
           "neighbours, agree = overlap of our exact top-k with IndexFlatL2's.  Rates: GFLOP/s "
           "of the k-means assignment products (training), of n*K*d*2 (encoding) or of the "
           "brute force, against the sgemm peak; GB/s of codes scanned against the rate of "
           "merely reading an array of the same size on the same threads.  extra MiB: heap "
           "allocated at the peak of a run beyond what was live before it.\n",
           cfg.k, cfg.k);
    print_targets();
    return 0;
}
