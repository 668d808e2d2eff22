/* cli.h - what the subcommands of the pqeval program share.
 *
 * Exit codes of every subcommand: 0 success, 1 a check failed (a recall
 * regression, a validation finding), 2 usage or input error.  Errors are
 * printed as "pqeval: error: <what>: <why>" on stderr.
 *
 * Depends on: the library's public headers.
 */
#ifndef PQEVAL_CLI_H
#define PQEVAL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "pqeval/status.h"

enum { PQE_EXIT_OK = 0, PQE_EXIT_FAIL = 1, PQE_EXIT_USAGE = 2 };

/* Verbosity set by --quiet / --verbose (global options, before or after the
 * subcommand): -1 quiet, 0 normal, 1 verbose. */
extern int pqe_cli_verbosity;

/* "pqeval: error: " + message + newline on stderr; returns PQE_EXIT_USAGE. */
int pqe_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a failed library call: "pqeval: error: <pqe_last_error()>". */
int pqe_cli_fail(pqe_status status);

/* "pqeval: warning: ..." unless quiet. */
void pqe_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress/info lines on stderr unless quiet. */
void pqe_cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether stderr is a terminal (live progress lines only then). */
bool pqe_cli_stderr_is_tty(void);

/* Parses numbers strictly; on error prints which option and value and
 * returns false. */
bool pqe_cli_parse_size(const char *option, const char *text, size_t *out);
bool pqe_cli_parse_uint(const char *option, const char *text, unsigned *out);
bool pqe_cli_parse_u64(const char *option, const char *text, unsigned long long *out);
bool pqe_cli_parse_double(const char *option, const char *text, double *out);

/* Checks, before any work, that path (the value of option) can receive an
 * output: a non-empty name, not an existing directory, in a folder that
 * exists, and not the same file as any of the n_inputs inputs (NULL entries
 * skipped).  On error prints which option and why and returns false. */
bool pqe_cli_check_output(const char *option, const char *path, const char *const *inputs,
                          size_t n_inputs);

/* One subcommand: name, one-line summary, entry point (argv[0] is the
 * subcommand's name). */
typedef struct pqe_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} pqe_cli_command;

int pqe_cmd_info(int argc, char **argv);
int pqe_cmd_convert(int argc, char **argv);
int pqe_cmd_groundtruth(int argc, char **argv);
int pqe_cmd_prepare(int argc, char **argv);
int pqe_cmd_train(int argc, char **argv);
int pqe_cmd_eval(int argc, char **argv);
int pqe_cmd_check(int argc, char **argv);
int pqe_cmd_baseline(int argc, char **argv);

#endif
