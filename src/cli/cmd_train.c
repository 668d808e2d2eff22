/* cmd_train.c - 'pqeval train' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("train: not available in this build yet");
}
