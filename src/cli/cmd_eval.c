/* cmd_eval.c - 'pqeval eval' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("eval: not available in this build yet");
}
