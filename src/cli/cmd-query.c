/* g2c query: named questions and ad-hoc read-only SQL. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/query.h"

#include <string.h>

void g2c_cmd_query_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c query NAME [--patient ID] [--slide S] [--model M] [--format F]\n"
            "       g2c query --sql 'SELECT ...' [--format F]\n"
            "       g2c query --list\n"
            "\n"
            "Runs a named query (see --list) or one read-only SQL statement against\n"
            "the catalog and prints the rows.  The catalog is opened read-only, and a\n"
            "statement that would write is refused.  In --sql, :patient, :slide and\n"
            ":model are bound from the options.\n"
            "\n"
            "  --format F   table (default), csv or json\n"
            "  --patient ID, --slide S, --model M   filters of the named queries\n");
}

static void list_queries(void)
{
    int n;
    const G2cNamedQuery *q = g2c_named_queries(&n);
    for (int i = 0; i < n; i++)
        printf("  %-14s %s\n", q[i].name, q[i].description);
}

int g2c_cmd_query(G2cCli *cli, int argc, char **argv)
{
    enum { O_SQL = 1, O_LIST, O_FORMAT, O_PATIENT, O_SLIDE, O_MODEL };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"sql", required_argument, NULL, O_SQL},
        {"list", no_argument, NULL, O_LIST},
        {"format", required_argument, NULL, O_FORMAT},
        {"patient", required_argument, NULL, O_PATIENT},
        {"slide", required_argument, NULL, O_SLIDE},
        {"model", required_argument, NULL, O_MODEL},
        {0}};
    const char *sql = NULL;
    G2cQueryParams params = {0};
    G2cFormat format = G2C_FORMAT_TABLE;
    int opt, help = 0, list = 0, bad = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt, &help))
            continue;
        switch (opt) {
        case O_SQL: sql = optarg; break;
        case O_LIST: list = 1; break;
        case O_PATIENT: params.patient = optarg; break;
        case O_SLIDE: params.slide = optarg; break;
        case O_MODEL: params.model = optarg; break;
        case O_FORMAT:
            if (g2c_format_parse(optarg, &format) != 0) {
                g2c_cli_error("query", NULL);
                bad = 1;
            }
            break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_query_usage(stdout);
        return G2C_EXIT_OK;
    }
    int named = optind == argc - 1;
    if (bad || optind < argc - 1 || list + named + (sql != NULL) != 1) {
        g2c_cmd_query_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    if (list) {
        printf("named queries:\n");
        list_queries();
        return G2C_EXIT_OK;
    }
    if (named) {
        const G2cNamedQuery *q = g2c_named_query(argv[optind]);
        if (!q) {
            g2c_cli_error("query", NULL);
            return G2C_EXIT_USAGE;
        }
        sql = q->sql;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READONLY);
    if (!cat) {
        g2c_cli_error("query", NULL);
        return G2C_EXIT_FAILURE;
    }
    long rows;
    int rc = g2c_query_run(cat, sql, &params, format, stdout, &rows);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("query", NULL);
        return G2C_EXIT_FAILURE;
    }
    if (format == G2C_FORMAT_TABLE && !cli->quiet && rows == 0)
        fprintf(stderr, "(no rows)\n");
    return G2C_EXIT_OK;
}
