/* cmd_info.c - 'pqeval info' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("info: not available in this build yet");
}
