/* report.h - what a sweep leaves behind: the results JSON (written and read
 * back), a CSV with one row per setting, an aligned table for a terminal and
 * a plot of recall against distortion.
 *
 * The JSON schema is documented in docs/results-schema.md.  A baseline for
 * 'pqeval check' is a results file marked "kind": "baseline"; both are read
 * by the same reader.  Every file is written atomically (atomic_file.h): a
 * failed write leaves the old file, if any, untouched.
 *
 * Depends on: status.h, sweep.h (and analysis.h for the analysis section);
 * jansson (JSON) and PLplot (plots) privately.
 */
#ifndef PQEVAL_REPORT_H
#define PQEVAL_REPORT_H

#include <stdio.h>

#include "pqeval/status.h"
#include "pqeval/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the results JSON this pqeval writes; the reader accepts it
 * and older ones. */
enum { PQE_RESULTS_SCHEMA_VERSION = 1 };

typedef enum pqe_results_kind {
    PQE_RESULTS_KIND_RESULTS = 0, /* written by a sweep ("kind": "results") */
    PQE_RESULTS_KIND_BASELINE = 1 /* written by 'pqeval baseline' ("kind": "baseline") */
} pqe_results_kind;

/* Writes a sweep as JSON to path, atomically.  NaN and infinite values are
 * written as null.  Fails with PQE_ERR_IO (naming the file) or
 * PQE_ERR_NOMEM. */
pqe_status pqe_results_write_json(const pqe_sweep_result *self, pqe_results_kind kind,
                                  const char *path);

/* Reads a results or baseline JSON file into a new sweep result (free with
 * pqe_sweep_result_free).  Everything the writer wrote comes back except
 * the analyses, which are left out (n_analyses 0: they are recomputed,
 * never compared).
 * kind may be NULL.  Fails with PQE_ERR_IO when the file cannot be read, and
 * with PQE_ERR_FORMAT for invalid JSON (the message gives the line and
 * column), a newer schema, or a field that is missing or of the wrong type
 * (the message gives the JSON path, e.g. "$.settings[2].recall.adc[1]"). */
pqe_status pqe_results_read(const char *path, pqe_sweep_result **out, pqe_results_kind *kind);

/* Writes one CSV row per setting (with a header row) to path, atomically.
 * Empty cells where a value is NaN or does not apply. */
pqe_status pqe_results_write_csv(const pqe_sweep_result *self, const char *path);

/* Prints an aligned table (setting, bits, distortion, recall, k-recall,
 * timings), about 100 columns wide, followed by the analysis lines and the
 * verdict when the sweep has an analysis.  Fails with PQE_ERR_IO if the
 * stream reports an error. */
pqe_status pqe_results_print_table(const pqe_sweep_result *self, FILE *out);

typedef enum pqe_plot_format {
    PQE_PLOT_PNG = 0, /* PLplot's pngcairo driver */
    PQE_PLOT_SVG = 1  /* PLplot's svgcairo driver */
} pqe_plot_format;

/* The format a file name asks for: ".png" or ".svg" (any case).  Fails with
 * PQE_ERR_PARAM otherwise. */
pqe_status pqe_plot_format_from_path(const char *path, pqe_plot_format *out);

/* Plots 1-recall@R (ADC) against relative distortion, one panel per R (at
 * most three), each point labelled with its setting and coloured by code
 * size, with the monotone (isotonic) fit of the analysis drawn as a step
 * line.  Needs no display.  Written to a temporary name, then renamed onto
 * path.  PLplot keeps global state: not safe to call from several threads
 * at once.  Fails with PQE_ERR_PARAM if there is nothing to plot,
 * PQE_ERR_UNSUPPORTED if PLplot lacks the driver (plplot-driver-cairo) and
 * PQE_ERR_IO if PLplot cannot write the file. */
pqe_status pqe_results_plot(const pqe_sweep_result *self, pqe_plot_format format, const char *path);

#ifdef __cplusplus
}
#endif

#endif
