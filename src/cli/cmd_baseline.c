/* cmd_baseline.c - 'pqeval baseline' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_baseline(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("baseline: not available in this build yet");
}
