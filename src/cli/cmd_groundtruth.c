/* cmd_groundtruth.c - 'pqeval groundtruth' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_groundtruth(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("groundtruth: not available in this build yet");
}
