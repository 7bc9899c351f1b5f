/* g2c run: a pipeline file's stages, each through the same command a
 * person would type, in this process; status in the catalog. */
#include "cli.h"

#include "g2c/error.h"
#include "g2c/pipeline.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

void g2c_cmd_run_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c run [--only STAGE | --from STAGE] [--set NAME=VALUE]... [--dry-run]\n"
            "               PIPELINE.json\n"
            "\n"
            "Runs the stages of a pipeline file in order - ingest, refset, pretrain,\n"
            "train, eval, infer, report; each stage has an id and the parameters of\n"
            "its command (each parameter is the command's long option) - and records\n"
            "each stage's status and parameters in the catalog.  Running it again\n"
            "skips the stages that are done, resumes an interrupted or failed one\n"
            "(ingest is idempotent, pretrain and train continue from their\n"
            "checkpoints, infer skips scored glomeruli), and runs again a stage whose\n"
            "parameters changed, with every stage after it.  The whole file is\n"
            "checked first (syntax, stage kinds and ids, parameters, names used\n"
            "before they are made, input files); a mistake stops it before anything\n"
            "runs.  Relative paths in the file are relative to the catalog's folder.\n"
            "Format: schemas/pipeline.schema.json; examples: pipelines/*.json.\n"
            "\n"
            "  --only STAGE     run only this stage (an id, or a kind: all of that kind)\n"
            "  --from STAGE     run this stage and all after it again\n"
            "  --set NAME=VALUE override a variable of the file's \"variables\"\n"
            "  --dry-run        print what would run, change nothing\n"
            "\n"
            "stage kinds and their parameters:\n");
    for (int k = 0; k < g2c_pipeline_kind_count(); k++) {
        fprintf(out, "  %-9s", g2c_pipeline_kind_name(k));
        int col = 11;
        for (int i = 0; g2c_pipeline_kind_param(k, i); i++) {
            const char *name = g2c_pipeline_kind_param(k, i);
            if (col + (int)strlen(name) + 1 > 78) {
                fprintf(out, "\n           ");
                col = 11;
            }
            col += fprintf(out, " %s", name);
        }
        fprintf(out, "\n");
    }
    fprintf(out, "\nexit status: 0 all done, 1 nothing run (bad file or first stage failed),\n"
                 "             2 usage error, 3 a stage failed after others ran\n");
}

/* The same as main() does for a command typed on the command line. */
static int exec_command(void *ctx, int argc, char **argv)
{
    const G2cCli *cli = ctx;
    const G2cCommand *c = g2c_cli_find(argv[0]);
    if (!c) {
        fprintf(stderr, "g2c run: no command '%s'\n", argv[0]);
        return G2C_EXIT_FAILURE;
    }
    G2cCli sub = *cli;
    optind = 0;
    int status = c->run(&sub, argc, argv);
    g2c_error_clear();
    return status;
}

enum { MAX_SETS = 64 };

typedef struct {
    const char *only, *from, *file;
    const char *sets[MAX_SETS];
    int n_sets, dry_run;
} RunArgs;

static int parse(G2cCli *cli, int argc, char **argv, RunArgs *a, int *help)
{
    enum { O_ONLY = 1, O_FROM, O_SET, O_DRY };
    static const struct option options[] = {G2C_COMMON_LONG_OPTIONS,
                                            {"only", required_argument, NULL, O_ONLY},
                                            {"from", required_argument, NULL, O_FROM},
                                            {"set", required_argument, NULL, O_SET},
                                            {"dry-run", no_argument, NULL, O_DRY},
                                            {0}};
    int opt, bad = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt, help))
            continue;
        switch (opt) {
        case O_ONLY: a->only = optarg; break;
        case O_FROM: a->from = optarg; break;
        case O_SET:
            if (a->n_sets < MAX_SETS)
                a->sets[a->n_sets++] = optarg;
            else
                bad = 1;
            break;
        case O_DRY: a->dry_run = 1; break;
        default: bad = 1;
        }
    }
    if (*help)
        return 0;
    if (!bad && optind != argc - 1) {
        fprintf(stderr, "g2c run: give one pipeline file\n");
        bad = 1;
    }
    if (!bad && a->only && a->from) {
        fprintf(stderr, "g2c run: --only and --from do not go together\n");
        bad = 1;
    }
    a->file = bad ? NULL : argv[optind];
    return bad ? -1 : 0;
}

int g2c_cmd_run(G2cCli *cli, int argc, char **argv)
{
    RunArgs a = {0};
    int help = 0;
    if (parse(cli, argc, argv, &a, &help) != 0 || help) {
        g2c_cmd_run_usage(help ? stdout : stderr);
        return help ? G2C_EXIT_OK : G2C_EXIT_USAGE;
    }
    char *db_copy = strdup(cli->db);
    if (!db_copy)
        return G2C_EXIT_FAILURE;
    G2cPipeline *p = g2c_pipeline_load(a.file, a.sets, a.n_sets, dirname(db_copy));
    free(db_copy);
    if (!p) {
        g2c_cli_error("run", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cPipelineRunOptions o = {.db = cli->db, .only = a.only, .from = a.from,
                               .dry_run = a.dry_run, .log = stdout, .exec = exec_command,
                               .exec_ctx = cli};
    G2cPipelineResult r;
    int rc = g2c_pipeline_run(p, &o, &r);
    g2c_pipeline_free(p);
    if (rc != 0) {
        g2c_cli_error("run", NULL);
        return r.ran > 0 ? G2C_EXIT_PARTIAL : G2C_EXIT_FAILURE;
    }
    return G2C_EXIT_OK;
}
