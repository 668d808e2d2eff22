/* cmd_convert.c - 'pqeval convert' (not written yet: its issue fills it in). */
#include "cli/cli.h"

int pqe_cmd_convert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pqe_cli_error("convert: not available in this build yet");
}
