/* g2c infer: placeholder until the command lands. */
#include "cli.h"

void g2c_cmd_infer_usage(FILE *out)
{
    fprintf(out, "usage: g2c infer (not available yet)\n");
}

int g2c_cmd_infer(G2cCli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    g2c_cli_error("infer", "not available yet");
    return G2C_EXIT_FAILURE;
}
