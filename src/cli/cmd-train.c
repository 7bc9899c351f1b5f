/* g2c train: stage 2, the G2C classifier fine-tuned jointly with the
 * stage-1 generators. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/train.h"

#include <stdlib.h>
#include <string.h>

void g2c_cmd_train_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c train --name MODEL --task TASK --variant VARIANT\n"
            "                 [--generators NAME,NAME [--generator-db FILE]]\n"
            "                 [--preset tiny|cpu|paper] [--epochs N] [--freeze-epochs K]\n"
            "                 [--freeze-generators] [--lr F] [--lr-step N] [--lr-divisor F]\n"
            "                 [--gamma F] [--batch N] [--no-augment] [--seed S]\n"
            "                 [--split-by patient|slide] [--test-fraction F]\n"
            "                 [--checkpoint-dir DIR]\n"
            "\n"
            "Trains a G2C classifier on the catalog's labelled PAS glomerulus crops\n"
            "(train split).  Branch 0 sees the PAS crop, each further branch the crop\n"
            "translated by a stage-1 generator (g2c pretrain); generators and\n"
            "classifier are optimised together (SGD, momentum 0.9, weight decay 5e-4,\n"
            "focal loss with class-balancing weights) after K epochs with the\n"
            "generators frozen.  A checkpoint is written after every epoch: running the\n"
            "same command again after an interruption resumes it.\n"
            "\n"
            "tasks:\n");
    for (int i = 0; i < g2c_task_count(); i++) {
        const G2cTask *t = g2c_task_at(i);
        fprintf(out, "  %-11s %s (classes:", t->name, t->description);
        for (int c = 0; c < t->classes; c++)
            fprintf(out, " %s = {%s}", t->class_names[c], t->class_labels[c]);
        fprintf(out, ")\n");
    }
    fprintf(out,
            "\n"
            "variants:\n"
            "  PAS_ONLY    one branch, the PAS crop (no generators)\n"
            "  PAS_<STAIN> PAS plus the generator of that stain, e.g. PAS_HE\n"
            "  PAS_ALL     PAS plus every generator given\n"
            "  PAS_ALL+    the same with cross-stain attention\n"
            "\n"
            "  --generators LIST   stage-1 models (kind cyclegan), comma-separated\n"
            "  --generator-db FILE look them up in another catalog (transfer: reuse\n"
            "                      generators pre-trained elsewhere)\n"
            "  --preset P          tiny (tests: 16 px, 2 epochs), cpu (96 px, 30 epochs,\n"
            "                      default), paper (224 px, Inception stem, 60 epochs)\n"
            "  --epochs N          epochs (preset)\n"
            "  --freeze-epochs K   generators frozen for the first K epochs (preset)\n"
            "  --freeze-generators generators never trained (separate optimisation)\n"
            "  --lr F              initial learning rate (0.01)\n"
            "  --lr-step N         divide the learning rate every N epochs (preset; 0 never)\n"
            "  --lr-divisor F      ... by F (10)\n"
            "  --gamma F           focal-loss gamma (2; 0 = weighted cross-entropy)\n"
            "  --batch N           crops per step (preset)\n"
            "  --momentum F        SGD momentum (0.9)\n"
            "  --weight-decay F    (5e-4)\n"
            "  --no-augment        no flips or colour jitter (see docs/stage2.md)\n"
            "  --seed S            weights, shuffling, augmentation and split (1)\n"
            "  --split-by U        for slides without a split: assign whole patients\n"
            "                      (default) or slides to train or test, and store it\n"
            "  --test-fraction F   share of glomeruli for test when assigning (0.25)\n"
            "  --checkpoint-dir D  where the checkpoint goes (default: models/ beside\n"
            "                      the catalog)\n"
            "\n"
            "exit status: 0 trained, 1 failed (the message says why), 2 usage error\n");
}

static void say(void *ctx, int notable, const char *line)
{
    G2cCli *cli = ctx;
    g2c_cli_progress_done(cli);
    if (strncmp(line, "warning: ", 9) == 0)
        fprintf(stderr, "g2c train: %s\n", line);
    else if (notable || !cli->quiet)
        printf("%s\n", line);
    fflush(stdout);
}

static void progress(void *ctx, int epoch, int epochs, int step, int steps, double loss)
{
    g2c_cli_progress(ctx, "train: epoch %d/%d step %d/%d loss %.4f", epoch, epochs, step,
                     steps, loss);
}

static int parse_split_by(const char *v, G2cSplitBy *out)
{
    if (strcmp(v, "patient") == 0)
        *out = G2C_SPLIT_BY_PATIENT;
    else if (strcmp(v, "slide") == 0)
        *out = G2C_SPLIT_BY_SLIDE;
    else {
        fprintf(stderr, "g2c train: --split-by is 'patient' or 'slide', not '%s'\n", v);
        return -1;
    }
    return 0;
}

int g2c_cmd_train(G2cCli *cli, int argc, char **argv)
{
    enum { O_NAME = 1, O_TASK, O_VARIANT, O_GENS, O_GENDB, O_PRESET, O_EPOCHS, O_FREEZE,
           O_FREEZE_GENS, O_LR, O_LR_STEP, O_LR_DIV, O_GAMMA, O_BATCH, O_MOMENTUM, O_WD,
           O_NO_AUG, O_SEED, O_SPLIT_BY, O_TEST_FRAC, O_CKPT };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"name", required_argument, NULL, O_NAME},
        {"task", required_argument, NULL, O_TASK},
        {"variant", required_argument, NULL, O_VARIANT},
        {"generators", required_argument, NULL, O_GENS},
        {"generator-db", required_argument, NULL, O_GENDB},
        {"preset", required_argument, NULL, O_PRESET},
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"freeze-epochs", required_argument, NULL, O_FREEZE},
        {"freeze-generators", no_argument, NULL, O_FREEZE_GENS},
        {"lr", required_argument, NULL, O_LR},
        {"lr-step", required_argument, NULL, O_LR_STEP},
        {"lr-divisor", required_argument, NULL, O_LR_DIV},
        {"gamma", required_argument, NULL, O_GAMMA},
        {"batch", required_argument, NULL, O_BATCH},
        {"momentum", required_argument, NULL, O_MOMENTUM},
        {"weight-decay", required_argument, NULL, O_WD},
        {"no-augment", no_argument, NULL, O_NO_AUG},
        {"seed", required_argument, NULL, O_SEED},
        {"split-by", required_argument, NULL, O_SPLIT_BY},
        {"test-fraction", required_argument, NULL, O_TEST_FRAC},
        {"checkpoint-dir", required_argument, NULL, O_CKPT},
        {0}};
    G2cTrainOptions o;
    g2c_train_options_default(&o);
    int c, help = 0, bad = 0, seed = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, c, &help))
            continue;
        switch (c) {
        case O_NAME: o.name = optarg; break;
        case O_TASK: o.task = optarg; break;
        case O_VARIANT: o.variant = optarg; break;
        case O_GENS: o.generators = optarg; break;
        case O_GENDB: o.generator_db = optarg; break;
        case O_PRESET: o.preset = optarg; break;
        case O_EPOCHS: bad |= g2c_cli_parse_int("--epochs", optarg, 1, 100000, &o.epochs); break;
        case O_FREEZE:
            bad |= g2c_cli_parse_int("--freeze-epochs", optarg, 0, 100000, &o.freeze_epochs);
            break;
        case O_FREEZE_GENS: o.freeze_generators = 1; break;
        case O_LR: bad |= g2c_cli_parse_double("--lr", optarg, 1e-9, 10, &o.lr); break;
        case O_LR_STEP:
            bad |= g2c_cli_parse_int("--lr-step", optarg, 0, 100000, &o.lr_step);
            break;
        case O_LR_DIV:
            bad |= g2c_cli_parse_double("--lr-divisor", optarg, 1e-3, 1e6, &o.lr_divisor);
            break;
        case O_GAMMA: bad |= g2c_cli_parse_double("--gamma", optarg, 0, 10, &o.gamma); break;
        case O_BATCH: bad |= g2c_cli_parse_int("--batch", optarg, 1, 4096, &o.batch); break;
        case O_MOMENTUM:
            bad |= g2c_cli_parse_double("--momentum", optarg, 0, 0.999999, &o.momentum);
            break;
        case O_WD:
            bad |= g2c_cli_parse_double("--weight-decay", optarg, 0, 1, &o.weight_decay);
            break;
        case O_NO_AUG: o.augment = 0; break;
        case O_SEED: bad |= g2c_cli_parse_int("--seed", optarg, 0, 2147483647, &seed); break;
        case O_SPLIT_BY: bad |= parse_split_by(optarg, &o.split_by); break;
        case O_TEST_FRAC:
            bad |= g2c_cli_parse_double("--test-fraction", optarg, 0, 0.95, &o.test_fraction);
            break;
        case O_CKPT: o.checkpoint_dir = optarg; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_train_usage(stdout);
        return G2C_EXIT_OK;
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "g2c train: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && (!o.name || !o.task || !o.variant)) {
        fprintf(stderr, "g2c train: --name, --task and --variant are required\n");
        bad = 1;
    }
    if (bad) {
        g2c_cmd_train_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    o.seed = (uint64_t)seed;
    o.threads = cli->threads;
    o.say = say;
    o.progress = progress;
    o.ctx = cli;
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("train", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cTrainResult r;
    int rc = g2c_train(cat, &o, &r);
    g2c_cli_progress_done(cli);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("train", NULL);
        return G2C_EXIT_FAILURE;
    }
    if (!cli->quiet)
        printf("trained %s: %d epoch%s run now (%d train glomeruli), %.1f s of training in "
               "all, %.1f ms per step; last epoch loss %.4f, train accuracy %.4f\n"
               "next: g2c eval --model %s\n",
               o.name, r.epochs_run, r.epochs_run == 1 ? "" : "s", r.train_crops, r.seconds,
               r.ms_per_step, r.last_loss, r.last_train_accuracy, o.name);
    return G2C_EXIT_OK;
}
