/* cmd_prepare.c - 'pqeval prepare' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_prepare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("prepare: not available in this build yet");
}
