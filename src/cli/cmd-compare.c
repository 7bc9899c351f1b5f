/* g2c compare: McNemar's exact test between two models' predictions. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/train.h"

void g2c_cmd_compare_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c compare --model A --model B [--split test|val|train]\n"
            "\n"
            "Compares two models of the same task on the glomeruli of a split that\n"
            "both have predictions for (g2c eval stores them): the 2x2 table of right\n"
            "and wrong answers, and McNemar's exact test on the glomeruli where exactly\n"
            "one model is right (two-sided binomial, p = 1 when they never differ).\n"
            "Stored as a run (kind compare).\n");
}

int g2c_cmd_compare(G2cCli *cli, int argc, char **argv)
{
    enum { O_MODEL = 1, O_SPLIT };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, O_MODEL},
        {"split", required_argument, NULL, O_SPLIT},
        {0}};
    const char *models[2] = {NULL, NULL}, *split = "test";
    int n_models = 0, c, help = 0, bad = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, c, &help))
            continue;
        switch (c) {
        case O_MODEL:
            if (n_models < 2)
                models[n_models] = optarg;
            n_models++;
            break;
        case O_SPLIT: split = optarg; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_compare_usage(stdout);
        return G2C_EXIT_OK;
    }
    if (!bad && (n_models != 2 || optind < argc)) {
        fprintf(stderr, "g2c compare: give --model exactly twice%s\n",
                optind < argc ? " and no other arguments" : "");
        bad = 1;
    }
    if (bad) {
        g2c_cmd_compare_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("compare", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cCompareResult r;
    int rc = g2c_compare(cat, models[0], models[1], split, &r);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("compare", NULL);
        return G2C_EXIT_FAILURE;
    }
    printf("models A = %s, B = %s (task %s), %s split: %lld glomeruli predicted by both\n\n",
           models[0], models[1], r.task, split, (long long)r.n);
    printf("%-12s %10s %10s\n", "", "B right", "B wrong");
    printf("%-12s %10lld %10lld\n", "A right", (long long)r.both_right, (long long)r.a_only);
    printf("%-12s %10lld %10lld\n", "A wrong", (long long)r.b_only, (long long)r.both_wrong);
    printf("\naccuracy A %.4f, B %.4f\n", r.accuracy_a, r.accuracy_b);
    printf("McNemar exact test: %lld discordant (A only %lld, B only %lld), p = %.6g\n",
           (long long)(r.a_only + r.b_only), (long long)r.a_only, (long long)r.b_only,
           r.p_value);
    printf("stored as run %lld\n", (long long)r.run_id);
    return G2C_EXIT_OK;
}
