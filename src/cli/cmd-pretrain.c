/* g2c pretrain: CycleGAN pre-training of a stain generator (G2C stage 1). */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/pretrain.h"

#include <stdlib.h>
#include <string.h>

void g2c_cmd_pretrain_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c pretrain --source STAIN --target STAIN [--source-set NAME]...\n"
            "                    [--target-set NAME]... [--name MODEL] [--preset P]\n"
            "                    [--epochs N] [--decay-epochs N] [--size PX] [--max-images N]\n"
            "                    [--eval-images N] [--seed S] [--out DIR]\n"
            "                    [--stop-after-epoch N] [--restart]\n"
            "\n"
            "Trains a CycleGAN (Zhu et al.) between the reference sets of two stains:\n"
            "G translates SOURCE crops into TARGET (CycleGAN's G_A), F the other way,\n"
            "each judged by a 70x70 PatchGAN; LSGAN losses, cycle L1 weight 10,\n"
            "identity 5, Adam 2e-4 (beta1 0.5), image pools of 50, batch 1.  Crops are\n"
            "resized to 9/8 of the crop size, cut at random and flipped at random; an\n"
            "epoch is max(|source|, |target|) steps with a random target crop.  The\n"
            "learning rate is constant for --epochs, then falls linearly over\n"
            "--decay-epochs.\n"
            "\n"
            "The run folder (default models/MODEL/ beside the catalog) gets\n"
            "checkpoints every epoch, G.safetensors (the generator under PyTorch\n"
            "ResnetGenerator names), losses.csv, losses.png, samples-epoch-NNN.png\n"
            "(source | generated | reconstructed) and held-out.png.  The catalog gets\n"
            "the model, its reference sets, the run and a row per epoch.  Run the same\n"
            "command again after an interruption to continue from the last complete\n"
            "epoch (the result is the same as an uninterrupted run).  At the end a\n"
            "quality report compares generated crops with held-out real target crops:\n"
            "a two-sample test (held-out accuracy of a small CNN telling them apart;\n"
            "50%% = indistinguishable) and the CIELAB colour distance, next to the same\n"
            "for the untranslated source crops.\n"
            "\n"
            "  --source STAIN, --target STAIN   the two stains (e.g. PAS, HE)\n"
            "  --source-set NAME  reference sets to use (repeat or comma-separate;\n"
            "  --target-set NAME  default: every set of the stain)\n"
            "  --name MODEL       model name (default SOURCE2TARGET, e.g. PAS2HE)\n"
            "  --preset P         architecture and schedule (default cpu):\n");
    int n;
    const G2cPretrainPreset *p = g2c_pretrain_presets(&n);
    fprintf(out, "      %-6s %4s %6s %4s %5s %7s %10s  %s\n", "preset", "ngf", "blocks", "ndf",
            "size", "epochs", "max images", "for");
    for (int i = 0; i < n; i++) {
        char epochs[32], max[16];
        snprintf(epochs, sizeof epochs, "%d+%d", p[i].epochs, p[i].decay_epochs);
        snprintf(max, sizeof max, "%d", p[i].max_images);
        fprintf(out, "      %-6s %4d %6d %4d %5d %7s %10s  %s\n", p[i].name, p[i].ngf,
                p[i].n_blocks, p[i].ndf, p[i].size, epochs, p[i].max_images ? max : "all",
                p[i].purpose);
    }
    fprintf(out,
            "  --epochs N         epochs at the full learning rate (preset's)\n"
            "  --decay-epochs N   epochs of linear decay after them (preset's)\n"
            "  --size PX          crop size, a multiple of 4 from 24 (preset's)\n"
            "  --max-images N     training crops per side at most (0 = all)\n"
            "  --eval-images N    held-out crops per side at most (default 100; at\n"
            "                     least 4, about a fifth of each side is held out)\n"
            "  --seed S           random seed (default 1)\n"
            "  --out DIR          the run folder\n"
            "  --stop-after-epoch N  stop once epoch N is saved (to split a long run)\n"
            "  --restart          discard the folder's checkpoints and a differing\n"
            "                     configuration of MODEL, and train from the start\n");
}

typedef struct {
    G2cPretrainOptions o;
    char *lists[2 * G2C_PRETRAIN_MAX_SETS]; /* strdup'd option values */
    int n_lists;
    int epochs, decay, size, max_images; /* -1: the preset's */
    const char *preset;
} Args;

/* "a,b" or repeated options: each name appended to names[]. */
static int add_sets(Args *a, const char *value, const char **names, int *count)
{
    if (a->n_lists == 2 * G2C_PRETRAIN_MAX_SETS)
        return -1;
    char *copy = strdup(value);
    if (!copy)
        return -1;
    a->lists[a->n_lists++] = copy;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*count == G2C_PRETRAIN_MAX_SETS) {
            fprintf(stderr, "g2c pretrain: at most %d reference sets per side\n",
                    G2C_PRETRAIN_MAX_SETS);
            return -1;
        }
        names[(*count)++] = t;
    }
    return 0;
}

static int apply_preset(Args *a)
{
    if (a->preset) {
        const G2cPretrainPreset *p = g2c_pretrain_preset_find(a->preset);
        if (!p) {
            fprintf(stderr, "g2c pretrain: %s\n", g2c_error_message());
            return -1;
        }
        a->o.arch = *p;
    }
    if (a->epochs >= 0)
        a->o.arch.epochs = a->epochs;
    if (a->decay >= 0)
        a->o.arch.decay_epochs = a->decay;
    if (a->size >= 0)
        a->o.arch.size = a->size;
    if (a->max_images >= 0)
        a->o.arch.max_images = a->max_images;
    if (a->o.arch.size % 4 != 0) {
        fprintf(stderr, "g2c pretrain: --size %d is not a multiple of 4\n", a->o.arch.size);
        return -1;
    }
    return 0;
}

static void progress(void *ctx, int epoch, int epochs, int step, int steps)
{
    g2c_cli_progress(ctx, "pretrain: epoch %d/%d, step %d/%d", epoch, epochs, step, steps);
}

static int parse(G2cCli *cli, int argc, char **argv, Args *a, int *help)
{
    enum { O_SOURCE = 1, O_TARGET, O_SSET, O_TSET, O_NAME, O_PRESET, O_EPOCHS, O_DECAY,
           O_SIZE, O_MAX, O_EVAL, O_SEED, O_OUT, O_STOP, O_RESTART };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"source", required_argument, NULL, O_SOURCE},
        {"target", required_argument, NULL, O_TARGET},
        {"source-set", required_argument, NULL, O_SSET},
        {"target-set", required_argument, NULL, O_TSET},
        {"name", required_argument, NULL, O_NAME},
        {"preset", required_argument, NULL, O_PRESET},
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"decay-epochs", required_argument, NULL, O_DECAY},
        {"size", required_argument, NULL, O_SIZE},
        {"max-images", required_argument, NULL, O_MAX},
        {"eval-images", required_argument, NULL, O_EVAL},
        {"seed", required_argument, NULL, O_SEED},
        {"out", required_argument, NULL, O_OUT},
        {"stop-after-epoch", required_argument, NULL, O_STOP},
        {"restart", no_argument, NULL, O_RESTART},
        {0}};
    G2cPretrainOptions *o = &a->o;
    int opt, bad = 0, seed = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt, help))
            continue;
        switch (opt) {
        case O_SOURCE: o->source_stain = optarg; break;
        case O_TARGET: o->target_stain = optarg; break;
        case O_SSET: bad |= add_sets(a, optarg, o->source_sets, &o->n_source_sets); break;
        case O_TSET: bad |= add_sets(a, optarg, o->target_sets, &o->n_target_sets); break;
        case O_NAME: o->name = optarg; break;
        case O_PRESET: a->preset = optarg; break;
        case O_EPOCHS: bad |= g2c_cli_parse_int("--epochs", optarg, 0, 100000, &a->epochs); break;
        case O_DECAY: bad |= g2c_cli_parse_int("--decay-epochs", optarg, 0, 100000, &a->decay); break;
        case O_SIZE: bad |= g2c_cli_parse_int("--size", optarg, 24, 1024, &a->size); break;
        case O_MAX: bad |= g2c_cli_parse_int("--max-images", optarg, 0, 100000000, &a->max_images); break;
        case O_EVAL: bad |= g2c_cli_parse_int("--eval-images", optarg, 4, 100000, &o->eval_images); break;
        case O_SEED: bad |= g2c_cli_parse_int("--seed", optarg, 0, 2147483647, &seed); break;
        case O_OUT: o->out_dir = optarg; break;
        case O_STOP: bad |= g2c_cli_parse_int("--stop-after-epoch", optarg, 1, 100000, &o->stop_after_epoch); break;
        case O_RESTART: o->restart = 1; break;
        default: bad = 1;
        }
    }
    o->seed = (uint64_t)seed;
    if (*help)
        return 0;
    if (!bad && (!o->source_stain || !o->target_stain || optind != argc)) {
        fprintf(stderr, "g2c pretrain: %s\n", optind != argc ? "unexpected argument"
                                                             : "--source and --target are needed");
        bad = 1;
    }
    if (!bad && a->epochs == 0 && a->decay == 0) {
        fprintf(stderr, "g2c pretrain: --epochs 0 and --decay-epochs 0 leave nothing to train\n");
        bad = 1;
    }
    return bad || apply_preset(a) != 0 ? -1 : 0;
}

static void report(const G2cPretrainResult *r)
{
    if (r->already_trained) {
        printf("model %s is already trained (%d epochs) in %s; nothing to do "
               "(--restart trains it again)\n",
               r->model, r->epochs_done, r->out_dir);
        return;
    }
    if (r->epochs_run > 0)
        printf("%d epochs in this run: %.1f s per epoch, %.2f pairs/s\n", r->epochs_run,
               r->seconds_per_epoch, r->pairs_per_second);
    if (r->stopped)
        printf("stopped after epoch %d of %d as asked; run the same command again to "
               "continue\n",
               r->epochs_done, r->epochs_total);
    else
        printf("trained %s (%d epochs) into %s\n", r->model, r->epochs_done, r->out_dir);
}

int g2c_cmd_pretrain(G2cCli *cli, int argc, char **argv)
{
    Args a;
    memset(&a, 0, sizeof a);
    g2c_pretrain_options_default(&a.o);
    a.epochs = a.decay = a.size = a.max_images = -1;
    int help = 0;
    int rc = parse(cli, argc, argv, &a, &help);
    if (help || rc != 0) {
        g2c_cmd_pretrain_usage(help ? stdout : stderr);
        for (int i = 0; i < a.n_lists; i++)
            free(a.lists[i]);
        return help ? G2C_EXIT_OK : G2C_EXIT_USAGE;
    }
    a.o.log = stdout;
    a.o.progress = progress;
    a.o.progress_ctx = cli;
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    G2cPretrainResult r;
    rc = cat ? g2c_pretrain(cat, &a.o, &r) : -1;
    g2c_cli_progress_done(cli);
    if (rc == 0)
        report(&r);
    else
        g2c_cli_error("pretrain", NULL);
    g2c_catalog_close(cat);
    for (int i = 0; i < a.n_lists; i++)
        free(a.lists[i]);
    return rc == 0 ? G2C_EXIT_OK : G2C_EXIT_FAILURE;
}
