/* cmd_check.c - 'pqeval check' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("check: not available in this build yet");
}
