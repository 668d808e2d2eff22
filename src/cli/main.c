/* main.c - the pqeval program: global options and the subcommand table.
 *
 * Depends on: cli.h and the subcommand files cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pqeval/status.h"

static const pqe_cli_command commands[] = {
    {"info", "describe dataset files: shapes, types, metric, norms, problems", pqe_cmd_info},
    {"convert", "convert between ann-benchmarks HDF5, texmex and IDX files", pqe_cmd_convert},
    {"groundtruth", "compute exact k nearest neighbours into a dataset", pqe_cmd_groundtruth},
    {"prepare", "build a standard dataset (fashion-mnist) from local files", pqe_cmd_prepare},
    {"train", "train one quantizer and save it", pqe_cmd_train},
    {"eval", "sweep codebook settings: distortion, recall, the heuristic", pqe_cmd_eval},
    {"check", "compare results against a baseline; exit 1 on a regression", pqe_cmd_check},
    {"baseline", "write or update a baseline from a results file", pqe_cmd_baseline},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: pqeval [--quiet|--verbose] COMMAND [ARGS]\n"
                 "       pqeval --version | --help\n\n"
                 "Trains product quantizers, measures their distortion and recall, and tests\n"
                 "whether distortion predicts recall.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'pqeval COMMAND --help' describes each command.\n"
                 "exit status: 0 success, 1 check failed, 2 usage or input error\n");
}

static void log_to_stderr(pqe_log_level level, const char *message, void *user)
{
    (void)user;
    if (level == PQE_LOG_WARN && pqe_cli_verbosity >= 0)
        fprintf(stderr, "pqeval: warning: %s\n", message);
    else if (level == PQE_LOG_INFO && pqe_cli_verbosity >= 0)
        fprintf(stderr, "pqeval: %s\n", message);
    else if (level == PQE_LOG_DEBUG && pqe_cli_verbosity > 0)
        fprintf(stderr, "pqeval: debug: %s\n", message);
}

int main(int argc, char **argv)
{
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--version")) {
            printf("pqeval %s\n", pqe_version());
            return PQE_EXIT_OK;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            pqe_cli_verbosity = -1;
        } else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            pqe_cli_verbosity = 1;
        } else {
            usage(stderr);
            return pqe_cli_error("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return pqe_cli_error("no command given");
    }

    /* --quiet/--verbose may also follow the subcommand's name. */
    for (int j = i + 1; j < argc; j++) {
        if (!strcmp(argv[j], "--quiet"))
            pqe_cli_verbosity = -1;
        else if (!strcmp(argv[j], "--verbose"))
            pqe_cli_verbosity = 1;
    }
    pqe_set_log(log_to_stderr, NULL);

    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (!strcmp(argv[i], commands[c].name))
            return commands[c].run(argc - i, argv + i);
    }
    usage(stderr);
    return pqe_cli_error("unknown command '%s'", argv[i]);
}
