/* g2c compare: McNemar's exact test between two models' predictions, the
 * rescued-cases sheet, and the ablation's tables as Markdown. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/train.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TABLE_MODELS = 64, DEFAULT_RESCUED_MAX = 32 };

void g2c_cmd_compare_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c compare --model A --model B [--split test|val|train]\n"
            "                   [--rescued FILE.png [--max N]]\n"
            "       g2c compare --table FILE.md [--models A,B,...] [--baseline M]\n"
            "                   [--title TEXT] [--split S]\n"
            "\n"
            "Compares two models of the same task on the glomeruli of a split that\n"
            "both have predictions for (g2c eval stores them): the 2x2 table of right\n"
            "and wrong answers, and McNemar's exact test on the glomeruli where exactly\n"
            "one model is right (two-sided binomial, p = 1 when they never differ).\n"
            "Stored as a run (kind compare).\n"
            "\n"
            "  --rescued FILE.png  also list the glomeruli A got wrong and B right and\n"
            "                      draw them (PAS crop, B's generated stains, labels);\n"
            "                      none rescued: the list says so, no file is written\n"
            "  --max N             at most N glomeruli on the sheet (default %d, 0 = all)\n"
            "\n"
            "  --table FILE.md     the ablation's tables (per-class accuracy, balanced\n"
            "                      accuracy and F1; train/test gap; joint vs frozen\n"
            "                      generators; G2C vs augmentation; McNemar against the\n"
            "                      baseline and training time) from the stored runs;\n"
            "                      changes nothing in the catalog\n"
            "  --models A,B,...    the models, in table order (default: every g2c model\n"
            "                      with an eval run on the split)\n"
            "  --baseline M        what p-values are against (default: per task, the\n"
            "                      first PAS_ONLY model with augmentation)\n",
            DEFAULT_RESCUED_MAX);
}

typedef struct {
    const char *models[2];
    int n_models;
    const char *split, *rescued, *table, *model_list, *baseline, *title;
    int max;
} Args;

/* ---- --table ------------------------------------------------------------------ */

/* "a, b,c" -> names (pointing into buf, which is modified). */
static int split_list(char *buf, const char **names, int max)
{
    int n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        if (!*tok)
            continue;
        if (n == max)
            return g2c_error("--models: more than %d models", max);
        names[n++] = tok;
    }
    return n;
}

/* Written beside the target and renamed, so a failure leaves no half
 * table. */
static int write_table(G2cCli *cli, const Args *a)
{
    char *list = a->model_list ? strdup(a->model_list) : NULL;
    const char *names[MAX_TABLE_MODELS];
    int n = list ? split_list(list, names, MAX_TABLE_MODELS) : 0;
    G2cAblationOptions o = {names, n, a->baseline, a->split, a->title};
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->table);
    G2cCatalog *cat = n >= 0 ? g2c_catalog_open(cli->db, G2C_CATALOG_READONLY) : NULL;
    FILE *f = cat ? fopen(tmp, "w") : NULL;
    int rc = f ? 0 : -1;
    if (cat && !f)
        g2c_error("%s: cannot create (%s)", tmp, strerror(errno));
    if (rc == 0)
        rc = g2c_ablation_markdown(cat, &o, f);
    if (f && fclose(f) != 0 && rc == 0)
        rc = g2c_error("%s: write error", tmp);
    if (rc == 0 && rename(tmp, a->table) != 0)
        rc = g2c_error("%s: cannot rename to %s", tmp, a->table);
    if (rc != 0 && f)
        remove(tmp);
    g2c_catalog_close(cat);
    free(list);
    if (rc != 0) {
        g2c_cli_error("compare", NULL);
        return G2C_EXIT_FAILURE;
    }
    if (!cli->quiet)
        printf("wrote %s\n", a->table);
    return G2C_EXIT_OK;
}

/* ---- --model A --model B ----------------------------------------------------------- */

static void print_compare(const Args *a, const G2cCompareResult *r)
{
    printf("models A = %s, B = %s (task %s), %s split: %lld glomeruli predicted by both\n\n",
           a->models[0], a->models[1], r->task, a->split, (long long)r->n);
    printf("%-12s %10s %10s\n", "", "B right", "B wrong");
    printf("%-12s %10lld %10lld\n", "A right", (long long)r->both_right, (long long)r->a_only);
    printf("%-12s %10lld %10lld\n", "A wrong", (long long)r->b_only, (long long)r->both_wrong);
    printf("\naccuracy A %.4f, B %.4f\n", r->accuracy_a, r->accuracy_b);
    printf("McNemar exact test: %lld discordant (A only %lld, B only %lld), p = %.6g\n",
           (long long)(r->a_only + r->b_only), (long long)r->a_only, (long long)r->b_only,
           r->p_value);
    printf("stored as run %lld\n", (long long)r->run_id);
}

static int rescued(G2cCli *cli, G2cCatalog *cat, const Args *a)
{
    G2cRescued r;
    if (g2c_rescued_find(cat, a->models[0], a->models[1], a->split, &r) != 0)
        return -1;
    printf("\nrescued (A wrong, B right): %d of %lld glomeruli\n", r.count,
           (long long)r.paired);
    for (int i = 0; i < r.count; i++) {
        const G2cRescuedCase *c = &r.cases[i];
        printf("  glomerulus %lld  %s/%s  true %s (%s)  A %s %.3f  B %s %.3f\n",
               (long long)c->annotation_id, c->patient, c->slide, c->truth_class, c->truth,
               c->predicted_a, c->confidence_a, c->predicted_b, c->confidence_b);
    }
    int rc = 0;
    if (r.count == 0) {
        printf("no glomerulus rescued: no sheet written (%s)\n", a->rescued);
    } else {
        int w, h, shown = a->max > 0 && a->max < r.count ? a->max : r.count;
        rc = g2c_rescued_sheet(cat, &r, shown, cli->threads, a->rescued, &w, &h);
        if (rc == 0)
            printf("wrote %s: %d glomeruli, %dx%d px\n", a->rescued, shown, w, h);
    }
    g2c_rescued_free(&r);
    return rc;
}

static int compare_pair(G2cCli *cli, const Args *a)
{
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("compare", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cCompareResult r;
    int rc = g2c_compare(cat, a->models[0], a->models[1], a->split, &r);
    if (rc == 0)
        print_compare(a, &r);
    if (rc == 0 && a->rescued)
        rc = rescued(cli, cat, a);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("compare", NULL);
        return G2C_EXIT_FAILURE;
    }
    return G2C_EXIT_OK;
}

/* ---- options ------------------------------------------------------------------------- */

static const char *misuse(const Args *a, int extra)
{
    if (extra)
        return "no arguments besides the options, please";
    if (a->table) {
        if (a->n_models || a->rescued)
            return "--table takes --models A,B,..., not --model or --rescued";
        return NULL;
    }
    if (a->model_list || a->baseline || a->title)
        return "--models, --baseline and --title go with --table";
    if (a->n_models != 2)
        return "give --model exactly twice";
    if (a->max >= 0 && !a->rescued)
        return "--max goes with --rescued";
    return NULL;
}

int g2c_cmd_compare(G2cCli *cli, int argc, char **argv)
{
    enum { O_MODEL = 1, O_SPLIT, O_RESCUED, O_MAX, O_TABLE, O_MODELS, O_BASELINE, O_TITLE };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, O_MODEL},
        {"split", required_argument, NULL, O_SPLIT},
        {"rescued", required_argument, NULL, O_RESCUED},
        {"max", required_argument, NULL, O_MAX},
        {"table", required_argument, NULL, O_TABLE},
        {"models", required_argument, NULL, O_MODELS},
        {"baseline", required_argument, NULL, O_BASELINE},
        {"title", required_argument, NULL, O_TITLE},
        {0}};
    Args a = {.split = "test", .max = -1};
    int c, help = 0, bad = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, c, &help))
            continue;
        switch (c) {
        case O_MODEL:
            if (a.n_models < 2)
                a.models[a.n_models] = optarg;
            a.n_models++;
            break;
        case O_SPLIT: a.split = optarg; break;
        case O_RESCUED: a.rescued = optarg; break;
        case O_MAX: bad |= g2c_cli_parse_int("--max", optarg, 0, 100000, &a.max) != 0; break;
        case O_TABLE: a.table = optarg; break;
        case O_MODELS: a.model_list = optarg; break;
        case O_BASELINE: a.baseline = optarg; break;
        case O_TITLE: a.title = optarg; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_compare_usage(stdout);
        return G2C_EXIT_OK;
    }
    const char *why = bad ? NULL : misuse(&a, optind < argc);
    if (why)
        fprintf(stderr, "g2c compare: %s\n", why);
    if (bad || why) {
        g2c_cmd_compare_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    if (a.max < 0)
        a.max = DEFAULT_RESCUED_MAX;
    return a.table ? write_table(cli, &a) : compare_pair(cli, &a);
}
