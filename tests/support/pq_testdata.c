/* pq_testdata.c - .bvecs and IDX readers for the quantizer tests.
 *
 * Depends on: pq_testdata.h; zlib.
 */
#include "support/pq_testdata.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

float *pqt_read_bvecs(const char *path, size_t skip, size_t max_n, size_t *n, size_t *dim)
{
    FILE *fp = fopen(path, "rb");
    float *x = NULL;
    uint8_t *rec = NULL;
    int32_t d = 0;
    size_t got = 0;

    *n = 0;
    *dim = 0;
    if (!fp)
        return NULL;
    if (fread(&d, 4, 1, fp) != 1 || d <= 0 || d > 100000)
        goto fail;
    rec = malloc(4 + (size_t)d);
    x = malloc(max_n * (size_t)d * sizeof *x);
    if (!rec || !x)
        goto fail;
    if (fseek(fp, (long)(skip * (4 + (size_t)d)), SEEK_SET) != 0)
        goto fail;
    while (got < max_n && fread(rec, 1, 4 + (size_t)d, fp) == 4 + (size_t)d) {
        for (int32_t j = 0; j < d; j++)
            x[got * (size_t)d + (size_t)j] = rec[4 + j];
        got++;
    }
    fclose(fp);
    free(rec);
    *n = got;
    *dim = (size_t)d;
    return x;

fail:
    fclose(fp);
    free(rec);
    free(x);
    return NULL;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

float *pqt_read_idx_images_gz(const char *path, size_t skip, size_t max_n, size_t *n, size_t *dim)
{
    gzFile gz = gzopen(path, "rb");
    uint8_t header[16], *img = NULL;
    float *x = NULL;
    size_t count, d, got = 0;

    *n = 0;
    *dim = 0;
    if (!gz)
        return NULL;
    if (gzread(gz, header, 16) != 16 || be32(header) != 0x803)
        goto fail;
    count = be32(header + 4);
    d = (size_t)be32(header + 8) * be32(header + 12);
    if (d == 0 || skip > count)
        goto fail;
    if (max_n > count - skip)
        max_n = count - skip;
    img = malloc(d);
    x = malloc((max_n ? max_n : 1) * d * sizeof *x);
    if (!img || !x)
        goto fail;
    for (size_t i = 0; i < skip; i++) {
        if (gzread(gz, img, (unsigned)d) != (int)d)
            goto fail;
    }
    while (got < max_n && gzread(gz, img, (unsigned)d) == (int)d) {
        for (size_t j = 0; j < d; j++)
            x[got * d + j] = img[j];
        got++;
    }
    gzclose(gz);
    free(img);
    *n = got;
    *dim = d;
    return x;

fail:
    gzclose(gz);
    free(img);
    free(x);
    return NULL;
}

const char *pqt_sift_path(const char *file)
{
    static char buf[4096];
    const char *root = getenv("PQEVAL_SHARED_DATASETS");
    if (!root || !*root)
        root = "/work/shared/datasets";
    snprintf(buf, sizeof buf, "%s/sift-debian/%s", root, file);
    return buf;
}

int pqt_sanitized(void)
{
    const char *s = getenv("PQEVAL_SANITIZED");
    return s && *s && strcmp(s, "0") != 0;
}
