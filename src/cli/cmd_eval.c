/* cmd_eval.c - 'pqeval eval': sweep codebook settings on a dataset, measure
 * distortion and recall, judge whether distortion predicts recall, and
 * write the table, JSON, CSV and plot.
 *
 * Depends on: io.h (loading), sweep.h (the job), report.h (outputs).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "pqeval/io.h"
#include "pqeval/report.h"
#include "pqeval/sweep.h"

/* More iterations than this are a typing error, not an experiment: k-means
 * and OPQ converge in tens. */
enum { ITERS_MAX = 10000 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pqeval eval DATASET [options]\n\n"
            "Trains every setting of a grid on DATASET (an ann-benchmarks HDF5 file or a\n"
            "texmex X_base.fvecs/.bvecs with its siblings), measures distortion and recall\n"
            "against the dataset's exact ground truth, and judges whether lower distortion\n"
            "means higher recall.  Lists are comma-separated.\n\n"
            "grid:\n"
            "  --methods LIST        pq, opq-p (parametric OPQ), opq-np (non-parametric)\n"
            "                        [pq,opq-p,opq-np]; 'none' for FAISS only\n"
            "  -M, --subspaces LIST  numbers of subspaces M, each dividing the dimension [8,16]\n"
            "  --nbits LIST          bits per subspace code, 1..16 [8]\n"
            "  --train-size LIST     training vectors, 0 = all available [0]\n"
            "  --iters LIST          k-means iterations [25]\n"
            "  --seeds LIST          seeds; each setting runs once per seed [1]\n"
            "  --faiss STRING        a FAISS index_factory string, e.g. 'OPQ16,PQ16'\n"
            "                        (repeatable)\n"
            "  --quantizer FILE      a quantizer saved by 'pqeval train', evaluated as it\n"
            "                        is, e.g. a baseline codebook (repeatable)\n"
            "  --init random|k-means++          k-means initialisation [random]\n"
            "  --max-points-per-centroid N      subsample k-means input, 0 = never [256]\n"
            "  --opq-outer N, --opq-inner N     OPQ-NP iterations [25, 4]\n"
            "  --opq-start identity|parametric  OPQ-NP starting rotation [identity]\n\n"
            "measurement:\n"
            "  --queries N           use the first N queries [all]\n"
            "  --heldout N           when training on the base, keep N base vectors out of\n"
            "                        training to measure held-out distortion [0]\n"
            "  --train-on-base       train on the base even if the dataset has a learn part\n"
            "  --recall-at LIST      R values of 1-recall@R [1,10,100]\n"
            "  -k N                  k of k-recall@k [10]\n"
            "  --adc-pairs N         pairs sampled for the ADC distance error [10000]\n"
            "  --no-sdc              skip SDC search\n"
            "  --threads N           OpenMP threads [all cores]\n"
            "  --check-groundtruth   recompute the ground truth of a sample of queries first\n\n"
            "output:\n"
            "  -o, --output-dir DIR  write NAME.json, NAME.csv, NAME.png, NAME.svg there\n"
            "                        [results]\n"
            "  --name NAME           file stem [<dataset>-sweep]\n"
            "  --json FILE, --csv FILE, --plot FILE.png|FILE.svg   explicit paths instead\n"
            "  --no-plot             skip the plot\n"
            "  --save-ids DIR        also write each setting's returned ids as texmex .ivecs:\n"
            "                        DIR/NNN-adc.ivecs and DIR/NNN-sdc.ivecs, NNN = its index\n"
            "                        in the JSON's settings (0-based)\n"
            "  --quiet, --verbose\n\n"
            "exit status: 0 success, 2 usage or input error\n");
}

/* ---- list parsing ----------------------------------------------------- */

typedef bool (*item_fn)(const char *option, const char *item, void *out, size_t index);

static bool parse_list(const char *option, const char *text, void *out, size_t *n, size_t max,
                       item_fn fn)
{
    const char *p = text;

    *n = 0;
    if (!*text) {
        pqe_cli_error("%s: empty list", option);
        return false;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len == 0) {
            pqe_cli_error("%s: empty item in '%s'", option, text);
            return false;
        }
        if (len >= sizeof item) {
            pqe_cli_error("%s: item too long in '%s'", option, text);
            return false;
        }
        if (*n >= max) {
            pqe_cli_error("%s: at most %zu values", option, max);
            return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!fn(option, item, out, (*n)++))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

/* Repeated values would give settings with the same key, which a baseline
 * cannot tell apart. */
static bool distinct(const char *option, const void *values, size_t n, size_t size)
{
    const unsigned char *v = values;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!memcmp(v + i * size, v + j * size, size)) {
                pqe_cli_error("%s: a value is repeated (item %zu and %zu)", option, i + 1, j + 1);
                return false;
            }
    return true;
}

static bool item_size(const char *option, const char *item, void *out, size_t index)
{
    return pqe_cli_parse_size(option, item, &((size_t *)out)[index]);
}

static bool item_uint(const char *option, const char *item, void *out, size_t index)
{
    return pqe_cli_parse_uint(option, item, &((unsigned *)out)[index]);
}

static bool item_u64(const char *option, const char *item, void *out, size_t index)
{
    unsigned long long v;
    if (!pqe_cli_parse_u64(option, item, &v))
        return false;
    ((uint64_t *)out)[index] = v;
    return true;
}

static bool item_method(const char *option, const char *item, void *out, size_t index)
{
    if (pqe_rotation_parse(item, &((pqe_rotation *)out)[index]) != PQE_OK) {
        pqe_cli_error("%s: unknown method '%s' (expected pq, opq-p or opq-np)", option, item);
        return false;
    }
    return true;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct progress_state {
    bool tty;
    double last;
} progress_state;

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_progress(size_t setting, size_t n_settings, const char *label, const char *stage,
                        void *user)
{
    progress_state *p = user;
    bool done = !strcmp(stage, "done");

    if (pqe_cli_verbosity < 0)
        return;
    if (p->tty) {
        /* A live line, refreshed at most a few times a second. */
        double t = wall_seconds();
        if (!done && t - p->last < 0.2 && strcmp(stage, "train") != 0)
            return;
        p->last = t;
        fprintf(stderr, "\r\033[K[%zu/%zu] %s: %s", done ? setting : setting + 1, n_settings, label,
                done ? "done" : stage);
        if (done && setting == n_settings)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (done) {
        fprintf(stderr, "pqeval: [%zu/%zu] %s done\n", setting, n_settings, label);
    } else if (pqe_cli_verbosity > 0) {
        fprintf(stderr, "pqeval: [%zu/%zu] %s: %s\n", setting + 1, n_settings, label, stage);
    }
}

/* ---- outputs ------------------------------------------------------------- */

static char *join_path(const char *dir, const char *name, const char *ext)
{
    size_t len = strlen(dir) + strlen(name) + strlen(ext) + 3;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s%s", dir, name, ext);
    return p;
}

static bool make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST)
        return true;
    pqe_cli_error("%s: cannot create the output folder: %s", dir, strerror(errno));
    return false;
}

static const char *file_stem(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    char *dot;
    base = base ? base + 1 : path;
    snprintf(buf, cap, "%s", base);
    dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
    return buf;
}

/* Writes one .ivecs file per setting and search mode with the returned ids
 * (n_queries rows of ids_k). */
static pqe_status save_ids(const pqe_sweep_result *res, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return pqe_fail(PQE_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    for (size_t i = 0; i < res->n_results; i++) {
        const pqe_setting_result *r = &res->results[i];
        const int64_t *ids[2] = {r->ids_adc, r->ids_sdc};
        const char *mode[2] = {"adc", "sdc"};
        for (int m = 0; m < 2; m++) {
            size_t n = r->n_queries * r->ids_k;
            int32_t *buf;
            char path[4096];
            pqe_status st;
            if (!ids[m])
                continue;
            buf = malloc((n ? n : 1) * sizeof *buf);
            if (!buf)
                return pqe_fail(PQE_ERR_NOMEM, "cannot allocate %zu ids", n);
            for (size_t j = 0; j < n; j++)
                buf[j] = ids[m][j] < 0 || ids[m][j] > INT32_MAX ? -1 : (int32_t)ids[m][j];
            snprintf(path, sizeof path, "%s/%03zu-%s.ivecs", dir, i, mode[m]);
            st = pqe_ivecs_write(path, buf, r->n_queries, r->ids_k);
            free(buf);
            if (st != PQE_OK)
                return st;
        }
    }
    return PQE_OK;
}

int pqe_cmd_eval(int argc, char **argv)
{
    pqe_sweep_grid grid = pqe_sweep_grid_default();
    pqe_sweep_options opt = pqe_sweep_options_default();
    pqe_load_options load = pqe_load_options_default();
    const char *dataset_path = NULL, *out_dir = "results", *name = NULL;
    const char *json_path = NULL, *csv_path = NULL, *plots[4], *ids_dir = NULL;
    size_t n_plots = 0;
    bool no_plot = false, methods_given = false, m_given = false, nbits_given = false;
    char *owned_paths[4] = {NULL, NULL, NULL, NULL};
    pqe_dataset *ds = NULL;
    pqe_setting *settings = NULL;
    size_t n_settings = 0;
    pqe_sweep_result *res = NULL;
    progress_state progress = {pqe_cli_stderr_is_tty(), 0};
    int rc = PQE_EXIT_USAGE;
    pqe_status st;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t n;
#define NEED_VALUE                                                                                 \
    do {                                                                                           \
        if (!v) {                                                                                  \
            pqe_cli_error("%s needs a value", a);                                                  \
            goto done;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = PQE_EXIT_OK;
            goto done;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            continue;
        } else if (!strcmp(a, "--methods")) {
            NEED_VALUE;
            methods_given = true;
            if (!strcmp(v, "none")) {
                grid.n_methods = 0;
                continue;
            }
            if (!parse_list(a, v, grid.methods, &grid.n_methods, 3, item_method) ||
                !distinct(a, grid.methods, grid.n_methods, sizeof grid.methods[0]))
                goto done;
        } else if (!strcmp(a, "-M") || !strcmp(a, "--subspaces")) {
            NEED_VALUE;
            m_given = true;
            if (!parse_list(a, v, grid.n_sub, &grid.n_n_sub, PQE_GRID_MAX, item_size) ||
                !distinct(a, grid.n_sub, grid.n_n_sub, sizeof grid.n_sub[0]))
                goto done;
        } else if (!strcmp(a, "--nbits")) {
            NEED_VALUE;
            nbits_given = true;
            if (!parse_list(a, v, grid.nbits, &grid.n_nbits, PQE_GRID_MAX, item_uint) ||
                !distinct(a, grid.nbits, grid.n_nbits, sizeof grid.nbits[0]))
                goto done;
        } else if (!strcmp(a, "--train-size")) {
            NEED_VALUE;
            if (!parse_list(a, v, grid.n_train, &grid.n_n_train, PQE_GRID_MAX, item_size) ||
                !distinct(a, grid.n_train, grid.n_n_train, sizeof grid.n_train[0]))
                goto done;
        } else if (!strcmp(a, "--iters")) {
            NEED_VALUE;
            if (!parse_list(a, v, grid.kmeans_iters, &grid.n_kmeans_iters, PQE_GRID_MAX, item_uint))
                goto done;
            for (size_t j = 0; j < grid.n_kmeans_iters; j++)
                if (grid.kmeans_iters[j] == 0 || grid.kmeans_iters[j] > ITERS_MAX) {
                    pqe_cli_error("--iters: expected 1 to %d k-means iterations, not %u", ITERS_MAX,
                                  grid.kmeans_iters[j]);
                    goto done;
                }
        } else if (!strcmp(a, "--seeds")) {
            NEED_VALUE;
            if (!parse_list(a, v, grid.seeds, &grid.n_seeds, PQE_GRID_MAX, item_u64) ||
                !distinct(a, grid.seeds, grid.n_seeds, sizeof grid.seeds[0]))
                goto done;
        } else if (!strcmp(a, "--faiss")) {
            NEED_VALUE;
            if (grid.n_faiss >= PQE_GRID_MAX) {
                pqe_cli_error("--faiss: at most %d factory strings", PQE_GRID_MAX);
                goto done;
            }
            if (!*v) {
                pqe_cli_error("--faiss: empty factory string");
                goto done;
            }
            for (size_t f = 0; f < grid.n_faiss; f++)
                if (!strcmp(grid.faiss[f], v)) {
                    pqe_cli_error("--faiss: '%s' is given twice", v);
                    goto done;
                }
            grid.faiss[grid.n_faiss++] = v;
        } else if (!strcmp(a, "--quantizer")) {
            NEED_VALUE;
            if (grid.n_quantizers >= PQE_GRID_MAX) {
                pqe_cli_error("--quantizer: at most %d files", PQE_GRID_MAX);
                goto done;
            }
            for (size_t f = 0; f < grid.n_quantizers; f++)
                if (!strcmp(grid.quantizers[f], v)) {
                    pqe_cli_error("--quantizer: '%s' is given twice", v);
                    goto done;
                }
            grid.quantizers[grid.n_quantizers++] = v;
        } else if (!strcmp(a, "--init")) {
            NEED_VALUE;
            if (!strcmp(v, "random"))
                grid.base.kmeans_init = PQE_KMEANS_INIT_RANDOM;
            else if (!strcmp(v, "k-means++") || !strcmp(v, "kmeans++"))
                grid.base.kmeans_init = PQE_KMEANS_INIT_PLUSPLUS;
            else {
                pqe_cli_error("--init: expected random or k-means++, not '%s'", v);
                goto done;
            }
        } else if (!strcmp(a, "--max-points-per-centroid")) {
            NEED_VALUE;
            if (!pqe_cli_parse_size(a, v, &grid.base.max_points_per_centroid))
                goto done;
        } else if (!strcmp(a, "--opq-outer")) {
            NEED_VALUE;
            if (!pqe_cli_parse_uint(a, v, &grid.base.opq_outer_iters))
                goto done;
            if (grid.base.opq_outer_iters > ITERS_MAX) {
                pqe_cli_error("--opq-outer: at most %d iterations, not %u", ITERS_MAX,
                              grid.base.opq_outer_iters);
                goto done;
            }
        } else if (!strcmp(a, "--opq-inner")) {
            NEED_VALUE;
            if (!pqe_cli_parse_uint(a, v, &grid.base.opq_inner_iters))
                goto done;
            if (grid.base.opq_inner_iters > ITERS_MAX) {
                pqe_cli_error("--opq-inner: at most %d iterations, not %u", ITERS_MAX,
                              grid.base.opq_inner_iters);
                goto done;
            }
        } else if (!strcmp(a, "--opq-start")) {
            NEED_VALUE;
            if (!strcmp(v, "parametric"))
                grid.base.opq_start = PQE_OPQ_START_PARAMETRIC;
            else if (!strcmp(v, "identity"))
                grid.base.opq_start = PQE_OPQ_START_IDENTITY;
            else {
                pqe_cli_error("--opq-start: expected parametric or identity, not '%s'", v);
                goto done;
            }
        } else if (!strcmp(a, "--queries")) {
            NEED_VALUE;
            if (!pqe_cli_parse_size(a, v, &opt.n_queries))
                goto done;
            if (opt.n_queries == 0) {
                pqe_cli_error("--queries: at least 1 query is needed");
                goto done;
            }
        } else if (!strcmp(a, "--heldout")) {
            NEED_VALUE;
            if (!pqe_cli_parse_size(a, v, &opt.n_heldout))
                goto done;
        } else if (!strcmp(a, "--train-on-base")) {
            opt.train_on_base = true;
        } else if (!strcmp(a, "--recall-at")) {
            NEED_VALUE;
            if (!parse_list(a, v, opt.r_values, &opt.n_r, PQE_MAX_RECALL_R, item_size) ||
                !distinct(a, opt.r_values, opt.n_r, sizeof opt.r_values[0]))
                goto done;
        } else if (!strcmp(a, "-k")) {
            NEED_VALUE;
            if (!pqe_cli_parse_size(a, v, &opt.k))
                goto done;
        } else if (!strcmp(a, "--adc-pairs")) {
            NEED_VALUE;
            if (!pqe_cli_parse_size(a, v, &opt.adc_pairs))
                goto done;
        } else if (!strcmp(a, "--no-sdc")) {
            opt.sdc = false;
        } else if (!strcmp(a, "--threads")) {
            unsigned t;
            NEED_VALUE;
            if (!pqe_cli_parse_uint(a, v, &t))
                goto done;
            if (t == 0 || t > 4096) {
                pqe_cli_error("--threads: expected 1 to 4096, not %u", t);
                goto done;
            }
            opt.n_threads = (int)t;
            grid.base.n_threads = (int)t;
        } else if (!strcmp(a, "--check-groundtruth")) {
            load.check_groundtruth = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output-dir")) {
            NEED_VALUE;
            out_dir = v;
        } else if (!strcmp(a, "--name")) {
            NEED_VALUE;
            if (!*v || strchr(v, '/')) {
                pqe_cli_error("--name: expected a file stem without '/', not '%s'", v);
                goto done;
            }
            name = v;
        } else if (!strcmp(a, "--json")) {
            NEED_VALUE;
            json_path = v;
        } else if (!strcmp(a, "--csv")) {
            NEED_VALUE;
            csv_path = v;
        } else if (!strcmp(a, "--plot")) {
            pqe_plot_format f;
            NEED_VALUE;
            if (pqe_plot_format_from_path(v, &f) != PQE_OK) {
                pqe_cli_error("--plot: '%s' must end in .png or .svg", v);
                goto done;
            }
            if (n_plots >= 4) {
                pqe_cli_error("--plot: at most 4 plots");
                goto done;
            }
            plots[n_plots++] = v;
        } else if (!strcmp(a, "--save-ids")) {
            NEED_VALUE;
            ids_dir = v;
            opt.keep_ids = true;
        } else if (!strcmp(a, "--no-plot")) {
            no_plot = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            pqe_cli_error("eval: unknown option '%s' (see 'pqeval eval --help')", a);
            goto done;
        } else if (!dataset_path) {
            dataset_path = a;
        } else {
            pqe_cli_error("eval: one dataset only; '%s' is extra", a);
            goto done;
        }
        (void)n;
#undef NEED_VALUE
    }
    if (!dataset_path) {
        usage(stderr);
        pqe_cli_error("eval: no dataset given");
        goto done;
    }

    /* Defaults for the axes not given: our three methods at M = 8, 16 and
     * nbits = 8, unless only FAISS strings were asked for. */
    if (!methods_given && !((grid.n_faiss || grid.n_quantizers) && !m_given && !nbits_given)) {
        grid.methods[0] = PQE_ROTATION_NONE;
        grid.methods[1] = PQE_ROTATION_OPQ_PARAMETRIC;
        grid.methods[2] = PQE_ROTATION_OPQ_NONPARAMETRIC;
        grid.n_methods = 3;
    }
    if (!m_given) {
        grid.n_sub[0] = 8;
        grid.n_sub[1] = 16;
        grid.n_n_sub = 2;
    }
    if (!nbits_given) {
        grid.nbits[0] = 8;
        grid.n_nbits = 1;
    }

    /* Load and validate the dataset. */
    pqe_cli_info("loading %s", dataset_path);
    st = pqe_dataset_load(dataset_path, &load, &ds);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto done;
    }
    if (opt.n_queries > ds->n_test)
        pqe_cli_warn("--queries %zu: the dataset has %zu queries; using all of them", opt.n_queries,
                     ds->n_test);
    st = pqe_sweep_expand(&grid, ds->dim, ds->metric, &settings, &n_settings);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto done;
    }
    pqe_cli_info("%s: %zu base vectors, %zu queries, dimension %zu, %s; %zu settings", dataset_path,
                 ds->n_train, ds->n_test, ds->dim, pqe_metric_name(ds->metric), n_settings);

    /* Output paths are settled before the work, so a bad folder fails fast. */
    if (!json_path || !csv_path || (!no_plot && n_plots == 0)) {
        char stem_buf[256], default_name[300];
        if (!name) {
            snprintf(default_name, sizeof default_name, "%s-sweep",
                     file_stem(dataset_path, stem_buf, sizeof stem_buf));
            name = default_name;
        }
        if (!make_dir(out_dir))
            goto done;
        if (!json_path)
            json_path = owned_paths[0] = join_path(out_dir, name, ".json");
        if (!csv_path)
            csv_path = owned_paths[1] = join_path(out_dir, name, ".csv");
        if (!no_plot && n_plots == 0) {
            plots[n_plots++] = owned_paths[2] = join_path(out_dir, name, ".png");
            plots[n_plots++] = owned_paths[3] = join_path(out_dir, name, ".svg");
        }
        if (!json_path || !csv_path || (!no_plot && (!plots[0] || !plots[1]))) {
            pqe_cli_error("out of memory");
            goto done;
        }
    }

    /* Every output must be writable, distinct, and not an input, before
     * minutes of work are spent. */
    {
        const char *inputs[1] = {dataset_path};
        const char *outs[6];
        const char *names[6];
        size_t n_outs = 0;
        outs[n_outs] = json_path;
        names[n_outs++] = "--json";
        outs[n_outs] = csv_path;
        names[n_outs++] = "--csv";
        for (size_t p = 0; !no_plot && p < n_plots; p++) {
            outs[n_outs] = plots[p];
            names[n_outs++] = "--plot";
            if (strstr(plots[p], "%n")) {
                pqe_cli_error("--plot: '%s': PLplot reads '%%n' in a file name as a page number",
                              plots[p]);
                goto done;
            }
        }
        for (size_t o = 0; o < n_outs; o++) {
            if (!pqe_cli_check_output(names[o], outs[o], inputs, 1))
                goto done;
            for (size_t o2 = 0; o2 < o; o2++)
                if (!strcmp(outs[o], outs[o2])) {
                    pqe_cli_error("%s and %s name the same file '%s'", names[o2], names[o],
                                  outs[o]);
                    goto done;
                }
        }
        if (ids_dir) {
            struct stat sb;
            if (stat(ids_dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
                pqe_cli_error("--save-ids: '%s' exists and is not a folder", ids_dir);
                goto done;
            }
        }
    }

    opt.progress = on_progress;
    opt.progress_user = &progress;
    st = pqe_sweep_run(ds, settings, n_settings, &opt, &res);
    if (progress.tty && pqe_cli_verbosity >= 0 && st != PQE_OK)
        fputc('\n', stderr);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto done;
    }

    st = pqe_results_print_table(res, stdout);
    if (st == PQE_OK)
        st = pqe_results_write_json(res, PQE_RESULTS_KIND_RESULTS, json_path);
    if (st == PQE_OK)
        st = pqe_results_write_csv(res, csv_path);
    for (size_t p = 0; st == PQE_OK && !no_plot && p < n_plots; p++) {
        pqe_plot_format f;
        st = pqe_plot_format_from_path(plots[p], &f);
        if (st == PQE_OK)
            st = pqe_results_plot(res, f, plots[p]);
    }
    if (st == PQE_OK && ids_dir)
        st = save_ids(res, ids_dir);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto done;
    }
    pqe_cli_info("wrote %s", json_path);
    pqe_cli_info("wrote %s", csv_path);
    for (size_t p = 0; !no_plot && p < n_plots; p++)
        pqe_cli_info("wrote %s", plots[p]);
    rc = PQE_EXIT_OK;

done:
    for (size_t i = 0; i < n_settings; i++)
        pqe_setting_clear(&settings[i]);
    free(settings);
    pqe_sweep_result_free(res);
    pqe_dataset_free(ds);
    for (int i = 0; i < 4; i++)
        free(owned_paths[i]);
    return rc;
}
