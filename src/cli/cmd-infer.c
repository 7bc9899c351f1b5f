/* g2c infer: a trained G2C model on the glomeruli of ingested PAS slides;
 * predictions (and generated views) into the catalog. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/infer.h"

#include <string.h>

void g2c_cmd_infer_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c infer --model MODEL [--slide S | --patient P | --all] [--views]\n"
            "                 [--rescore] [--given L1MODEL] [--batch N]\n"
            "\n"
            "Runs a trained G2C model (g2c train) on the glomerulus crops of ingested\n"
            "PAS slides and stores one prediction per glomerulus (predictions table)\n"
            "under a run of kind infer.  Glomeruli the model already scored are\n"
            "skipped, so the same command run again changes nothing; each slide is\n"
            "written in one transaction, so an interrupted infer continues where it\n"
            "stopped.  New slides go through g2c ingest first.\n"
            "\n"
            "  --slide S        one slide (id or file name)\n"
            "  --patient P      every PAS slide of a patient\n"
            "  --all            every PAS slide (the default)\n"
            "  --views          also store each glomerulus's generated stain views\n"
            "                   (generated_views table) for g2c report; glomeruli scored\n"
            "                   without them are scored again\n"
            "  --rescore        score again glomeruli the model already scored\n"
            "  --given L1MODEL  for a level-2 model (task ss-vs-gs): score only the\n"
            "                   glomeruli the level-1 model (task s-vs-noa) called s\n"
            "  --batch N        crops per forward pass (default 32)\n"
            "\n"
            "exit status: 0 done (or nothing to do), 1 nothing done, 2 usage error,\n"
            "3 some slides failed (reported; the others were written)\n");
}

static void say(void *ctx, const char *line)
{
    G2cCli *cli = ctx;
    if (cli->progress)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "g2c infer: %s\n", line);
}

static void progress(void *ctx, int slide, int slides, const char *name, int64_t done,
                     int64_t total)
{
    g2c_cli_progress(ctx, "infer: slide %d/%d %.60s, glomeruli %lld/%lld", slide + 1, slides,
                     name, (long long)done, (long long)total);
}

static void print_result(const G2cInferOptions *o, const G2cInferResult *r)
{
    if (r->run_id == 0) {
        printf("model %s: nothing to do (%lld glomeruli already scored%s; --rescore to score "
               "them again)\n", o->model, (long long)r->skipped,
               o->views ? ", with their views" : "");
        return;
    }
    printf("model %s: %lld glomeruli scored on %d slide(s) in %.1f s (%.1f glomeruli/s), "
           "run %lld\n", o->model, (long long)r->scored, r->slides_written, r->seconds,
           r->seconds > 0 ? (double)r->scored / r->seconds : 0.0, (long long)r->run_id);
    if (r->skipped)
        printf("skipped %lld glomeruli already scored (--rescore to score them again)\n",
               (long long)r->skipped);
    if (r->not_given)
        printf("left out %lld glomeruli the --given model did not call sclerosed\n",
               (long long)r->not_given);
    if (r->views)
        printf("stored %lld generated views\n", (long long)r->views);
    if (r->slides_failed)
        printf("%d slide(s) failed and were left unscored (see the messages above)\n",
               r->slides_failed);
}

int g2c_cmd_infer(G2cCli *cli, int argc, char **argv)
{
    enum { O_MODEL = 1, O_SLIDE, O_PATIENT, O_ALL, O_VIEWS, O_RESCORE, O_GIVEN, O_BATCH };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, O_MODEL},
        {"slide", required_argument, NULL, O_SLIDE},
        {"patient", required_argument, NULL, O_PATIENT},
        {"all", no_argument, NULL, O_ALL},
        {"views", no_argument, NULL, O_VIEWS},
        {"rescore", no_argument, NULL, O_RESCORE},
        {"given", required_argument, NULL, O_GIVEN},
        {"batch", required_argument, NULL, O_BATCH},
        {0}};
    G2cInferOptions o = {.say = say, .progress = progress, .ctx = cli};
    int c, help = 0, bad = 0, all = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, c, &help))
            continue;
        switch (c) {
        case O_MODEL: o.model = optarg; break;
        case O_SLIDE: o.slide = optarg; break;
        case O_PATIENT: o.patient = optarg; break;
        case O_ALL: all = 1; break;
        case O_VIEWS: o.views = 1; break;
        case O_RESCORE: o.rescore = 1; break;
        case O_GIVEN: o.given = optarg; break;
        case O_BATCH: bad |= g2c_cli_parse_int("--batch", optarg, 1, 4096, &o.batch) != 0; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_infer_usage(stdout);
        return G2C_EXIT_OK;
    }
    const char *problem = optind < argc                   ? "unexpected argument"
                          : !o.model                      ? "--model is required"
                          : (!!o.slide + !!o.patient + all) > 1 ? "--slide, --patient and --all "
                                                                  "exclude each other"
                                                          : NULL;
    if (!bad && problem) {
        fprintf(stderr, "g2c infer: %s%s%s\n", problem, optind < argc ? ": " : "",
                optind < argc ? argv[optind] : "");
        bad = 1;
    }
    if (bad) {
        g2c_cmd_infer_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    o.threads = cli->threads;
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("infer", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cInferResult r;
    int rc = g2c_infer(cat, &o, &r);
    g2c_cli_progress_done(cli);
    if (rc != 0) {
        g2c_catalog_close(cat);
        g2c_cli_error("infer", NULL);
        return G2C_EXIT_FAILURE;
    }
    print_result(&o, &r);
    g2c_catalog_close(cat);
    return r.slides_failed ? G2C_EXIT_PARTIAL : G2C_EXIT_OK;
}
