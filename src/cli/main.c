/* g2c: glomerulus classification from whole-slide images (G2C). */
#include "cli.h"

#include "g2c/error.h"
#include "g2c/nn.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const G2cCommand commands[] = {
    {"ingest", "add slides, annotations and glomerulus crops to the catalog",
     g2c_cmd_ingest, g2c_cmd_ingest_usage},
    {"query", "named questions and read-only SQL over the catalog", g2c_cmd_query,
     g2c_cmd_query_usage},
    {"refset", "build, import, list and export reference sets of one stain",
     g2c_cmd_refset, g2c_cmd_refset_usage},
    {"summary", "print what the catalog holds", g2c_cmd_summary, g2c_cmd_summary_usage},
    {"pretrain", "train a stain generator (CycleGAN) from two stains' reference sets",
     g2c_cmd_pretrain, g2c_cmd_pretrain_usage},
    {"translate", "apply a trained generator to crops or PNG files", g2c_cmd_translate,
     g2c_cmd_translate_usage},
    {"report", "slide and patient reports: HTML page, JSON, CSV, overlay image",
     g2c_cmd_report, g2c_cmd_report_usage},
    {"export", "predictions as QuPath GeoJSON, back to the slide viewer", g2c_cmd_export,
     g2c_cmd_export_usage},
    {"train", "stage 2: train a G2C classifier jointly with stage-1 generators",
     g2c_cmd_train, g2c_cmd_train_usage},
    {"eval", "evaluate a G2C model on a split; store metrics and predictions", g2c_cmd_eval,
     g2c_cmd_eval_usage},
    {"compare", "McNemar's exact test between two models' predictions", g2c_cmd_compare,
     g2c_cmd_compare_usage},
    {"infer", "run a trained G2C model on ingested slides; store per-glomerulus results",
     g2c_cmd_infer, g2c_cmd_infer_usage},
    {"run", "run a pipeline file: ingest, refset, pretrain, train, eval, infer, report",
     g2c_cmd_run, g2c_cmd_run_usage},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: g2c [--db FILE] [--quiet] [--threads N] COMMAND [ARGS]\n"
            "\n"
            "g2c turns whole-slide images of kidney biopsies into per-glomerulus\n"
            "diagnoses with the G2C method (generators + multi-stain classifier).\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "  %-10s %s\n"
            "\n"
            "global options (also accepted after the command):\n"
            "  --db FILE      the catalog (default g2c.db)\n"
            "  --quiet        no progress display\n"
            "  --threads N    worker threads (default: all cores)\n"
            "\n"
            "exit status: 0 done, 1 failed (nothing done), 2 usage error,\n"
            "             3 partial failure (some items failed, the rest was done)\n"
            "\n"
            "'g2c help COMMAND' or 'g2c COMMAND --help' describes a command.\n",
            "help", "describe g2c or a command");
}

const G2cCommand *g2c_cli_find(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int g2c_cli_common_option(G2cCli *cli, int opt, int *help)
{
    switch (opt) {
    case 1000:
        cli->db = optarg;
        return 1;
    case 1001:
        cli->quiet = 1;
        cli->progress = 0;
        return 1;
    case 1002:
        if (g2c_cli_parse_int("--threads", optarg, 0, 256, &cli->threads) != 0)
            exit(G2C_EXIT_USAGE);
        g2c_nn_set_threads(cli->threads ? cli->threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
        return 1;
    case 'h':
        *help = 1;
        return 1;
    default:
        return 0;
    }
}

int g2c_cli_parse_int(const char *option, const char *value, int min, int max, int *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "g2c: %s expects a whole number from %d to %d, not '%s'\n", option,
                min, max, value);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int g2c_cli_parse_double(const char *option, const char *value, double min, double max,
                         double *out)
{
    char *end;
    double v = strtod(value, &end);
    if (*value == '\0' || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "g2c: %s expects a number from %g to %g, not '%s'\n", option, min,
                max, value);
        return -1;
    }
    *out = v;
    return 0;
}

void g2c_cli_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "g2c %s: error: %s\n", cmd, msg ? msg : g2c_error_message());
}

void g2c_cli_warn(void *ctx, const char *message)
{
    G2cCli *cli = ctx;
    if (cli->progress)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "warning: %s\n", message);
}

void g2c_cli_progress(const G2cCli *cli, const char *fmt, ...)
{
    if (!cli->progress)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void g2c_cli_progress_done(const G2cCli *cli)
{
    if (cli->progress)
        fputs("\r\033[K", stderr);
}

int main(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    G2cCli cli = {.db = "g2c.db", .progress = isatty(STDERR_FILENO)};
    static const struct option options[] = {G2C_COMMON_LONG_OPTIONS, {0}};
    int opt, help = 0;
    /* '+': stop at the command name; its own options are its own. */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1)
        if (!g2c_cli_common_option(&cli, opt, &help)) {
            usage(stderr);
            return G2C_EXIT_USAGE;
        }
    if (help || optind >= argc) {
        usage(help ? stdout : stderr);
        return help ? G2C_EXIT_OK : G2C_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        const G2cCommand *c = optind + 1 < argc ? g2c_cli_find(argv[optind + 1]) : NULL;
        if (optind + 1 < argc && !c) {
            fprintf(stderr, "g2c: no command '%s'\n", argv[optind + 1]);
            return G2C_EXIT_USAGE;
        }
        if (c)
            c->usage(stdout);
        else
            usage(stdout);
        return G2C_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("g2c %s\n", G2C_VERSION);
        return G2C_EXIT_OK;
    }
    const G2cCommand *c = g2c_cli_find(name);
    if (!c) {
        fprintf(stderr, "g2c: no command '%s' (see 'g2c help')\n", name);
        return G2C_EXIT_USAGE;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* glibc: 0 re-initialises getopt, so commands permute freely */
    return c->run(&cli, sub_argc, sub_argv);
}
