/* g2c run: placeholder until the command lands. */
#include "cli.h"

void g2c_cmd_run_usage(FILE *out)
{
    fprintf(out, "usage: g2c run (not available yet)\n");
}

int g2c_cmd_run(G2cCli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    g2c_cli_error("run", "not available yet");
    return G2C_EXIT_FAILURE;
}
