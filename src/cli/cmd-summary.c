/* g2c summary: what the catalog holds, at a glance. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

void g2c_cmd_summary_usage(FILE *out)
{
    fprintf(out, "usage: g2c summary [--db FILE]\n\n"
                 "Prints counts of patients, slides per stain, glomeruli per label,\n"
                 "crops, reference sets, models and runs.\n");
}

/* Print each row of a two-column query as "  name  count". */
static int print_rows(G2cCatalog *cat, const char *title, const char *sql)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    printf("%s\n", title);
    int rc, rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        printf("  %-24s %lld\n", name ? (const char *)name : "(none)",
               (long long)sqlite3_column_int64(st, 1));
        rows++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return g2c_catalog_error(cat, title);
    if (!rows)
        printf("  (none)\n");
    return 0;
}

int g2c_cmd_summary(G2cCli *cli, int argc, char **argv)
{
    static const struct option options[] = {G2C_COMMON_LONG_OPTIONS, {0}};
    int opt, help = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1)
        if (!g2c_cli_common_option(cli, opt, &help)) {
            g2c_cmd_summary_usage(stderr);
            return G2C_EXIT_USAGE;
        }
    if (help) {
        g2c_cmd_summary_usage(stdout);
        return G2C_EXIT_OK;
    }
    if (optind != argc) {
        g2c_cmd_summary_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READONLY);
    if (!cat) {
        g2c_cli_error("summary", NULL);
        return G2C_EXIT_FAILURE;
    }
    printf("catalog %s\n", cli->db);
    int rc = print_rows(cat, "totals",
                        "SELECT 'patients', count(*) FROM patients "
                        "UNION ALL SELECT 'slides', count(*) FROM slides "
                        "UNION ALL SELECT 'glomeruli', count(*) FROM annotations "
                        "UNION ALL SELECT 'crops', count(*) FROM patches "
                        "UNION ALL SELECT 'reference sets', count(*) FROM refsets "
                        "UNION ALL SELECT 'models', count(*) FROM models "
                        "UNION ALL SELECT 'predictions', count(*) FROM predictions");
    if (rc == 0)
        rc = print_rows(cat, "slides per stain",
                        "SELECT st.name, count(*) FROM slides s JOIN stains st "
                        "ON st.id = s.stain_id GROUP BY st.id ORDER BY st.id");
    if (rc == 0)
        rc = print_rows(cat, "glomeruli per label",
                        "SELECT l.name, count(*) FROM annotations a LEFT JOIN labels l "
                        "ON l.id = a.label_id GROUP BY l.id ORDER BY l.id");
    if (rc == 0)
        rc = print_rows(cat, "glomeruli per patient",
                        "SELECT p.external_id, count(a.id) FROM patients p "
                        "JOIN slides s ON s.patient_id = p.id "
                        "LEFT JOIN annotations a ON a.slide_id = s.id "
                        "GROUP BY p.id ORDER BY p.external_id");
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("summary", NULL);
        return G2C_EXIT_FAILURE;
    }
    return G2C_EXIT_OK;
}
