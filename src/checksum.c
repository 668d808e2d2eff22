/* checksum.c - SHA-256 of dataset files, so that results name exactly the
 * data they were measured on.
 *
 * Depends on: io.h (declaration), OpenSSL libcrypto (EVP digest interface).
 */
#include "pqeval/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

enum { CHUNK_BYTES = 1 << 20 };

pqe_status pqe_sha256_files(const char *const *paths, size_t n_paths, char hex[65])
{
    pqe_status st = PQE_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(CHUNK_BYTES);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    FILE *fp = NULL;

    hex[0] = '\0';
    if (!ctx || !buf) {
        st = pqe_fail(PQE_ERR_NOMEM, "sha256: cannot allocate the digest state");
        goto cleanup;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        st = pqe_fail(PQE_ERR_INTERNAL, "sha256: EVP_DigestInit_ex failed");
        goto cleanup;
    }
    for (size_t f = 0; f < n_paths; f++) {
        size_t got;
        fp = fopen(paths[f], "rb");
        if (!fp) {
            st = pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", paths[f], strerror(errno));
            goto cleanup;
        }
        while ((got = fread(buf, 1, CHUNK_BYTES, fp)) > 0) {
            if (EVP_DigestUpdate(ctx, buf, got) != 1) {
                st = pqe_fail(PQE_ERR_INTERNAL, "sha256: EVP_DigestUpdate failed");
                goto cleanup;
            }
        }
        if (ferror(fp)) {
            st = pqe_fail(PQE_ERR_IO, "%s: read error", paths[f]);
            goto cleanup;
        }
        fclose(fp);
        fp = NULL;
    }
    if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 || digest_len != 32) {
        st = pqe_fail(PQE_ERR_INTERNAL, "sha256: EVP_DigestFinal_ex failed");
        goto cleanup;
    }
    for (unsigned i = 0; i < digest_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);

cleanup:
    if (fp)
        fclose(fp);
    EVP_MD_CTX_free(ctx);
    free(buf);
    return st;
}
