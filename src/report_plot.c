/* report_plot.c - recall against distortion, drawn with PLplot into a PNG
 * or SVG file, without a display.
 *
 * One panel per R (the first three R of the sweep): x is the relative
 * distortion on the base, y is 1-recall@R with ADC.  Each setting is a
 * point coloured by its code size (a legend in the corner) and labelled
 * with its setting label; the non-increasing isotonic fit of recall on
 * distortion (analysis.h, pqe_isotonic_decreasing over the plotted points)
 * is drawn as a step line.  The fit is recomputed here rather than taken
 * from the sweep's analysis so the line always belongs to the points on
 * the panel, whatever measure the analysis studied.
 *
 * PLplot choices and pitfalls:
 * - Drivers "pngcairo" and "svgcairo" (Debian: plplot-driver-cairo), or
 *   PLplot's own "svg" when svgcairo is missing; which exist is asked with
 *   plgDevs first, because PLplot prompts on stdin for an unknown device.
 * - Each call opens a fresh stream (plmkstrm) and ends it (plend1).
 * - PLplot calls exit() on a fatal error; the library must not exit, so an
 *   exit handler jumps back here and the call fails with PQE_ERR_IO.
 *   PLplot's state after such a jump is not cleaned up (TODO(robustness):
 *   it leaks the stream; no fatal error was seen in testing).  Its
 *   non-fatal warnings go to the pqeval log instead of stderr.
 * - Global state makes this not thread-safe (said in report.h).
 *
 * Depends on: report.h, sweep.h, analysis.h, atomic_file.h; PLplot.
 */
#include <math.h>
#include <stdarg.h>
#include <plplot/plplot.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pqeval/analysis.h"
#include "pqeval/atomic_file.h"
#include "pqeval/report.h"
#include "util.h"

enum {
    MAX_PANELS = 3,
    PANEL_WIDTH_PX = 640,
    PANEL_HEIGHT_PX = 520,
    FIRST_PALETTE = 2 /* cmap0: 0 background, 1 axes and text, then the palette */
};

/* A palette that stays apart on white (Tableau 10). */
static const int palette[][3] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
#define N_PALETTE ((int)(sizeof palette / sizeof palette[0]))

pqe_status pqe_plot_format_from_path(const char *path, pqe_plot_format *out)
{
    const char *dot = path ? strrchr(path, '.') : NULL;

    if (dot && !strcasecmp(dot, ".png")) {
        *out = PQE_PLOT_PNG;
        return PQE_OK;
    }
    if (dot && !strcasecmp(dot, ".svg")) {
        *out = PQE_PLOT_SVG;
        return PQE_OK;
    }
    return pqe_fail(PQE_ERR_PARAM, "plot %s: the name must end in .png or .svg",
                    path ? path : "(none)");
}

/* ---- PLplot's error paths ------------------------------------------------- */

static jmp_buf plot_escape;
static char plot_error[256];

static int on_plplot_exit(const char *message)
{
    pqe_text_printf(plot_error, sizeof plot_error, "%s", message ? message : "fatal error");
    longjmp(plot_escape, 1);
    return 1; /* not reached */
}

static void on_plplot_abort(const char *message)
{
    pqe_log(PQE_LOG_WARN, "plplot: %s", message ? message : "error");
}

/* Whether PLplot has a device of this name. */
static bool have_device(const char *name)
{
    const char **menu = NULL, **devs = NULL;
    int n = 64;
    bool found = false;

    menu = calloc((size_t)n, sizeof *menu);
    devs = calloc((size_t)n, sizeof *devs);
    if (menu && devs) {
        plgDevs(&menu, &devs, &n);
        for (int i = 0; i < n && !found; i++)
            found = devs[i] && !strcmp(devs[i], name);
    }
    free(menu);
    free(devs);
    return found;
}

/* ---- the data ----------------------------------------------------------- */

/* Labels for PLplot: '#' starts an escape sequence there. */
static void plot_text(char *buf, size_t size, const char *text)
{
    size_t o = 0;
    for (; text && *text && o + 2 < size; text++) {
        if (*text == '#')
            buf[o++] = '#';
        buf[o++] = *text;
    }
    buf[o] = '\0';
}

typedef struct panel_data {
    size_t n;
    double *x, *y, *fit;
    size_t *order;      /* points by ascending x */
    int *colour;        /* cmap0 index of each point */
    const char **label; /* borrowed */
} panel_data;

static const double *sort_x; /* qsort has no context argument */

static int by_x(const void *a, const void *b)
{
    double xa = sort_x[*(const size_t *)a], xb = sort_x[*(const size_t *)b];
    return (xa > xb) - (xa < xb);
}

/* Distinct code sizes, ascending, and the colour index of each setting. */
static size_t code_sizes(const pqe_sweep_result *self, double *sizes, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_results; i++) {
        double b = self->results[i].code_bits;
        size_t pos = 0;
        if (isnan(b))
            continue;
        while (pos < n && sizes[pos] < b)
            pos++;
        if ((pos < n && sizes[pos] == b) || n == max)
            continue;
        memmove(sizes + pos + 1, sizes + pos, (n - pos) * sizeof *sizes);
        sizes[pos] = b;
        n++;
    }
    return n;
}

static int colour_of(double bits, const double *sizes, size_t n_sizes)
{
    for (size_t s = 0; s < n_sizes; s++) {
        if (sizes[s] == bits)
            return FIRST_PALETTE + (int)(s % N_PALETTE);
    }
    return 1;
}

static void panel_free(panel_data *p)
{
    free(p->x);
    free(p->y);
    free(p->fit);
    free(p->order);
    free(p->colour);
    free(p->label);
    memset(p, 0, sizeof *p);
}

/* The points of panel R = r_value: settings with a finite x and y. */
static pqe_status panel_collect(const pqe_sweep_result *self, size_t r_value, const double *sizes,
                                size_t n_sizes, panel_data *p)
{
    size_t n = self->n_results;
    pqe_status st = PQE_OK;

    memset(p, 0, sizeof *p);
    p->x = pqe_alloc_array(n, sizeof *p->x, "plot points");
    p->y = pqe_alloc_array(n, sizeof *p->y, "plot points");
    p->fit = pqe_alloc_array(n, sizeof *p->fit, "plot points");
    p->order = pqe_alloc_array(n, sizeof *p->order, "plot points");
    p->colour = pqe_alloc_array(n, sizeof *p->colour, "plot points");
    p->label = pqe_alloc_array(n, sizeof *p->label, "plot points");
    if (!p->x || !p->y || !p->fit || !p->order || !p->colour || !p->label) {
        panel_free(p);
        return pqe_alloc_status();
    }
    for (size_t i = 0; i < n; i++) {
        const pqe_setting_result *r = &self->results[i];
        double y = NAN;
        for (size_t j = 0; j < r->n_r; j++) {
            if (r->r_values[j] == r_value)
                y = r->recall_adc[j];
        }
        if (!isfinite(y) || !isfinite(r->rel_mse_base))
            continue;
        p->x[p->n] = r->rel_mse_base;
        p->y[p->n] = y;
        p->colour[p->n] = colour_of(r->code_bits, sizes, n_sizes);
        p->label[p->n] = r->setting.label ? r->setting.label : r->setting.key;
        p->order[p->n] = p->n;
        p->n++;
    }
    if (p->n > 0)
        st = pqe_isotonic_decreasing(p->x, p->y, p->n, p->fit);
    sort_x = p->x;
    qsort(p->order, p->n, sizeof *p->order, by_x);
    if (st != PQE_OK)
        panel_free(p);
    return st;
}

/* ---- drawing -------------------------------------------------------------- */

static void draw_panel(const panel_data *p, size_t r_value, const double *sizes, size_t n_sizes)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    double dx, dy;
    char text[128];

    for (size_t i = 0; i < p->n; i++) {
        xmin = fmin(xmin, p->x[i]);
        xmax = fmax(xmax, p->x[i]);
        ymin = fmin(ymin, p->y[i]);
        ymax = fmax(ymax, p->y[i]);
    }
    if (p->n == 0) {
        xmin = 0;
        xmax = 1;
        ymin = 0;
        ymax = 1;
    }
    dx = xmax > xmin ? xmax - xmin : fmax(fabs(xmax), 1e-3);
    dy = ymax > ymin ? ymax - ymin : 0.1;
    xmin -= 0.08 * dx;
    xmax += 0.35 * dx; /* room for the labels and the legend on the right */
    ymin = fmax(0.0, ymin - 0.10 * dy);
    ymax = fmin(1.05, ymax + 0.10 * dy);
    if (ymax <= ymin)
        ymax = ymin + 0.05;

    pladv(0);
    plvpor(0.16, 0.96, 0.14, 0.90);
    plwind(xmin, xmax, ymin, ymax);
    plcol0(1);
    plschr(0.0, 0.65);
    plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
    pqe_text_printf(text, sizeof text, "1-recall@%zu (ADC) against distortion", r_value);
    pllab("relative distortion (MSE / mean squared norm)", "1-recall", text);

    /* the isotonic fit as a step line through the sorted points */
    if (p->n > 1) {
        PLFLT *lx = malloc(2 * p->n * sizeof *lx), *ly = malloc(2 * p->n * sizeof *ly);
        if (lx && ly) {
            size_t m = 0;
            for (size_t k = 0; k < p->n; k++) {
                size_t i = p->order[k];
                if (k > 0) {
                    lx[m] = p->x[i];
                    ly[m] = ly[m - 1];
                    m++;
                }
                lx[m] = p->x[i];
                ly[m] = p->fit[i];
                m++;
            }
            plcol0(1);
            pllsty(2);
            plwidth(1.5);
            plline((PLINT)m, lx, ly);
            pllsty(1);
            plwidth(1.0);
        }
        free(lx);
        free(ly);
    }

    /* the points and their labels */
    plschr(0.0, 0.55);
    for (size_t i = 0; i < p->n; i++) {
        PLFLT x = p->x[i], y = p->y[i];
        plcol0(p->colour[i]);
        plssym(0.0, 1.3);
        plpoin(1, &x, &y, 17);
        plot_text(text, sizeof text, p->label[i]);
        plptex(x + 0.015 * dx, y, 1.0, 0.0, 0.0, text);
    }

    /* legend: one line per code size, top right (where the heuristic
     * puts no points: high distortion with high recall) */
    plschr(0.0, 0.6);
    for (size_t s = 0; s < n_sizes; s++) {
        plcol0(FIRST_PALETTE + (int)(s % N_PALETTE));
        pqe_text_printf(text, sizeof text, "%.0f bits", sizes[s]);
        plptex(xmax - 0.03 * (xmax - xmin), ymax - (0.06 + 0.05 * (double)s) * (ymax - ymin), 1.0,
               0.0, 1.0, text);
    }
    plcol0(1);
    plschr(0.0, 1.0);
}

/* Draws every panel into tmp with the device, on a fresh PLplot stream. */
static pqe_status render(const char *device, const char *tmp, const char *path,
                         const panel_data *panels, const size_t *r_values, size_t n_panels,
                         const double *sizes, size_t n_sizes)
{
    PLINT old_stream = 0, stream = -1;

    plot_error[0] = '\0';
    plsexit(on_plplot_exit);
    plsabort(on_plplot_abort);
    if (setjmp(plot_escape) != 0) {
        plsexit(NULL);
        plsabort(NULL);
        return pqe_fail(PQE_ERR_IO, "plot %s: plplot: %s", path, plot_error);
    }
    plgstrm(&old_stream);
    plmkstrm(&stream);
    if (stream < 0) {
        plsexit(NULL);
        plsabort(NULL);
        return pqe_fail(PQE_ERR_IO, "plot %s: plplot has no free stream", path);
    }
    plsdev(device);
    plsfnam(tmp);
    plspage(0.0, 0.0, (PLINT)(PANEL_WIDTH_PX * n_panels), PANEL_HEIGHT_PX, 0, 0);
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    for (int c = 0; c < N_PALETTE; c++)
        plscol0(FIRST_PALETTE + c, palette[c][0], palette[c][1], palette[c][2]);
    plssub((PLINT)n_panels, 1);
    plinit();
    for (size_t k = 0; k < n_panels; k++)
        draw_panel(&panels[k], r_values[k], sizes, n_sizes);
    plend1();
    plsstrm(old_stream);
    plsexit(NULL);
    plsabort(NULL);
    return PQE_OK;
}

pqe_status pqe_results_plot(const pqe_sweep_result *self, pqe_plot_format format, const char *path)
{
    const pqe_setting_result *src = NULL;
    const char *device;
    double sizes[4 * N_PALETTE];
    size_t n_sizes, n_panels;
    panel_data panels[MAX_PANELS];
    char *tmp = NULL;
    pqe_status st = PQE_OK;

    memset(panels, 0, sizeof panels);
    if (!self || !path)
        return pqe_fail(PQE_ERR_PARAM, "plot: no results or no path given");
    /* PLplot takes "%n" in a file name for a family member number and
     * writes elsewhere (the output came out empty, the drawing was left in
     * a stray file). */
    if (strstr(path, "%n"))
        return pqe_fail(PQE_ERR_PARAM,
                        "plot %s: PLplot reads '%%n' in a file name as a page number; choose a "
                        "name without it",
                        path);
    for (size_t i = 0; i < self->n_results && !src; i++) {
        if (self->results[i].n_r > 0)
            src = &self->results[i];
    }
    if (!src)
        return pqe_fail(PQE_ERR_PARAM, "plot %s: no setting has a recall to plot", path);

    /* The device. */
    if (format == PQE_PLOT_PNG)
        device = "pngcairo";
    else
        device = have_device("svgcairo") ? "svgcairo" : "svg";
    if (!have_device(device))
        return pqe_fail(PQE_ERR_UNSUPPORTED,
                        "plot %s: PLplot has no '%s' driver (install plplot-driver-cairo)", path,
                        device);

    /* The points, one panel per R. */
    n_sizes = code_sizes(self, sizes, sizeof sizes / sizeof sizes[0]);
    n_panels = src->n_r < MAX_PANELS ? src->n_r : MAX_PANELS;
    for (size_t k = 0; k < n_panels && st == PQE_OK; k++)
        st = panel_collect(self, src->r_values[k], sizes, n_sizes, &panels[k]);
    if (st != PQE_OK)
        goto cleanup;

    /* Draw into a temporary file beside path, then rename it. */
    st = pqe_atomic_temp_name(path, &tmp);
    if (st != PQE_OK)
        goto cleanup;
    st = render(device, tmp, path, panels, src->r_values, n_panels, sizes, n_sizes);
    if (st == PQE_OK)
        st = pqe_atomic_rename(tmp, path);
    else
        unlink(tmp);

cleanup:
    free(tmp);
    for (size_t k = 0; k < MAX_PANELS; k++)
        panel_free(&panels[k]);
    return st;
}
