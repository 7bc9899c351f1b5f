/* g2c eval: a trained G2C model on a split; metrics table, predictions. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/train.h"

#include <math.h>
#include <string.h>

void g2c_cmd_eval_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c eval --model MODEL [--split test|val|train] [--given L1MODEL]\n"
            "\n"
            "Runs a trained G2C model on the labelled PAS glomeruli of a split\n"
            "(default test) and on the train split, and prints per-class accuracy,\n"
            "balanced (category-averaged) accuracy, F1 per class and macro, the\n"
            "confusion matrix, and train and test accuracy with their gap.  The\n"
            "metrics are stored as a run (kind eval) and each glomerulus's prediction\n"
            "in the predictions table (replacing this model's earlier ones).\n"
            "\n"
            "  --given L1MODEL  for a level-2 model (task ss-vs-gs): evaluate only on\n"
            "                   the glomeruli the level-1 model (task s-vs-noa) correctly\n"
            "                   called s, as the paper does\n");
}

static void say(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "g2c eval: %s\n", line);
}

static const char *num(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4f", v);
    return buf;
}

static void print_table(const char *model, const char *split, const G2cEvalResult *r)
{
    const G2cTask *t = r->task;
    const G2cMetrics *m = &r->metrics;
    char a[32], b[32], c[32];
    printf("model %s (task %s, variant %s), %s split: %lld glomeruli\n\n", model, t->name,
           r->variant, split, (long long)m->total);
    printf("%-8s %8s %10s %9s %10s %8s\n", "class", "support", "predicted", "accuracy",
           "precision", "F1");
    for (int i = 0; i < t->classes; i++)
        printf("%-8s %8lld %10lld %9s %10s %8s\n", t->class_names[i],
               (long long)m->support[i], (long long)m->predicted[i],
               num(a, sizeof a, m->recall[i]), num(b, sizeof b, m->precision[i]),
               num(c, sizeof c, m->f1[i]));
    printf("\nbalanced accuracy %s   macro F1 %s   accuracy %s\n",
           num(a, sizeof a, m->balanced_accuracy), num(b, sizeof b, m->macro_f1),
           num(c, sizeof c, m->accuracy));
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%-8s", "");
    for (int j = 0; j < t->classes; j++)
        printf(" %8s", t->class_names[j]);
    printf("\n");
    for (int i = 0; i < t->classes; i++) {
        printf("%-8s", t->class_names[i]);
        for (int j = 0; j < t->classes; j++)
            printf(" %8lld", (long long)r->confusion.counts[i][j]);
        printf("\n");
    }
    if (r->given_excluded)
        printf("\n%lld glomeruli left out: the level-1 model did not call them %s\n",
               (long long)r->given_excluded, t->parent_class);
    if (strcmp(split, "train") != 0) {
        const G2cMetrics *tr = &r->train_metrics;
        char gap[32] = "-";
        if (!isnan(tr->accuracy))
            snprintf(gap, sizeof gap, "%+.4f", tr->accuracy - m->accuracy);
        printf("\ntrain accuracy %s (balanced %s, %lld glomeruli), %s accuracy %s: gap %s\n",
               num(a, sizeof a, tr->accuracy), num(b, sizeof b, tr->balanced_accuracy),
               (long long)tr->total, split, num(c, sizeof c, m->accuracy), gap);
    }
    printf("\nstored as run %lld\n", (long long)r->run_id);
}

int g2c_cmd_eval(G2cCli *cli, int argc, char **argv)
{
    enum { O_MODEL = 1, O_SPLIT, O_GIVEN };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, O_MODEL},
        {"split", required_argument, NULL, O_SPLIT},
        {"given", required_argument, NULL, O_GIVEN},
        {0}};
    G2cEvalOptions o = {.split = "test", .say = say, .ctx = cli};
    int c, help = 0, bad = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, c, &help))
            continue;
        switch (c) {
        case O_MODEL: o.model = optarg; break;
        case O_SPLIT: o.split = optarg; break;
        case O_GIVEN: o.given = optarg; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_eval_usage(stdout);
        return G2C_EXIT_OK;
    }
    if (!bad && (optind < argc || !o.model)) {
        fprintf(stderr, optind < argc ? "g2c eval: unexpected argument '%s'\n"
                                      : "g2c eval: --model is required%s\n",
                optind < argc ? argv[optind] : "");
        bad = 1;
    }
    if (bad) {
        g2c_cmd_eval_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("eval", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cEvalResult r;
    int rc = g2c_eval(cat, &o, &r);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("eval", NULL);
        return G2C_EXIT_FAILURE;
    }
    print_table(o.model, o.split, &r);
    return G2C_EXIT_OK;
}
