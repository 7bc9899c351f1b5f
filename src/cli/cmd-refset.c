/* g2c refset: reference sets of unlabelled crops per stain (G2C stage 1). */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/refset_store.h"

#include <stdlib.h>
#include <string.h>

void g2c_cmd_refset_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c refset NAME --stain STAIN [--count N] [--size PX] [--mpp UM]\n"
            "                  [--min-tissue F] [--max-overlap F] [--even] [--seed S]\n"
            "                  [--split SPLIT]\n"
            "       g2c refset NAME --stain STAIN --import DIR [--size PX] [--crop]\n"
            "       g2c refset NAME --export DIR\n"
            "       g2c refset --list\n"
            "       g2c refset --show NAME\n"
            "\n"
            "Builds a reference set: N random square crops of tissue from the\n"
            "catalog's slides of one stain (no annotations needed).  Tissue is found\n"
            "on a thumbnail (Otsu's threshold on saturation, then specks removed and\n"
            "small holes filled); crops lie where the tissue fraction is at least\n"
            "--min-tissue, no two overlap by more than --max-overlap of a crop, and\n"
            "they are spread over the slides in proportion to tissue area (or evenly\n"
            "with --even).  The same seed gives the same set.\n"
            "\n"
            "  --count N        crops (default 500)\n"
            "  --size PX        crops are PX x PX pixels (default 128)\n"
            "  --mpp UM         resolution of the crops in um/px (default 1.0;\n"
            "                   0 = each slide's level-0 pixels)\n"
            "  --min-tissue F   minimum tissue fraction of a crop (default 0.5)\n"
            "  --max-overlap F  maximum overlap of two crops, as a fraction of a crop\n"
            "                   (default 0.25)\n"
            "  --even           the same number of crops from every slide\n"
            "  --seed S         random seed (default 1)\n"
            "  --split SPLIT    only slides of this split (train, val, test)\n"
            "  --import DIR     import a folder of PNG / TIFF tiles instead; --size\n"
            "                   resizes them (0 = as they are), --crop centre-crops\n"
            "  --export DIR     write the crops as PNGs and a contact sheet\n");
}

static int list_sets(G2cCatalog *cat)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT r.name, s.name, r.crop_size, r.mpp, "
             "(SELECT count(*) FROM patches p WHERE p.refset_id = r.id), "
             "json_extract(r.params, '$.method'), r.created_at "
             "FROM refsets r JOIN stains s ON s.id = r.stain_id ORDER BY r.name");
    if (!st)
        return -1;
    printf("%-24s %-10s %6s %7s %7s %-8s %s\n", "name", "stain", "size", "um/px", "crops",
           "method", "created");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char mpp[32] = "-";
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            snprintf(mpp, sizeof mpp, "%.3g", sqlite3_column_double(st, 3));
        printf("%-24s %-10s %6d %7s %7d %-8s %s\n", sqlite3_column_text(st, 0),
               sqlite3_column_text(st, 1), sqlite3_column_int(st, 2), mpp,
               sqlite3_column_int(st, 4), sqlite3_column_text(st, 5),
               sqlite3_column_text(st, 6));
    }
    sqlite3_finalize(st);
    return 0;
}

static int show_set(G2cCatalog *cat, const char *name)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT r.id, s.name, r.crop_size, r.mpp, r.seed, r.params, r.created_at "
             "FROM refsets r JOIN stains s ON s.id = r.stain_id WHERE r.name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return g2c_error("no reference set named '%s' (see g2c refset --list)", name);
    }
    int64_t id = sqlite3_column_int64(st, 0);
    printf("reference set %s\n  stain      %s\n  crop size  %d px\n", name,
           sqlite3_column_text(st, 1), sqlite3_column_int(st, 2));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        printf("  resolution %.4g um/px\n", sqlite3_column_double(st, 3));
    if (sqlite3_column_type(st, 4) != SQLITE_NULL)
        printf("  seed       %lld\n", (long long)sqlite3_column_int64(st, 4));
    printf("  parameters %s\n  created    %s\n", sqlite3_column_text(st, 5),
           sqlite3_column_text(st, 6));
    sqlite3_finalize(st);
    st = g2c_catalog_prepare(
        cat, "SELECT coalesce(sl.name, '(imported tiles)'), coalesce(pa.external_id, ''), "
             "count(*) FROM patches p LEFT JOIN slides sl ON sl.id = p.slide_id "
             "LEFT JOIN patients pa ON pa.id = sl.patient_id WHERE p.refset_id = ?1 "
             "GROUP BY p.slide_id ORDER BY p.slide_id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    printf("  crops per slide:\n");
    while (sqlite3_step(st) == SQLITE_ROW)
        printf("    %-40s %-12s %d\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
               sqlite3_column_int(st, 2));
    sqlite3_finalize(st);
    return 0;
}

int g2c_cmd_refset(G2cCli *cli, int argc, char **argv)
{
    enum { O_STAIN = 1, O_COUNT, O_SIZE, O_MPP, O_MINT, O_MAXO, O_EVEN, O_SEED, O_SPLIT,
           O_IMPORT, O_CROP, O_EXPORT, O_LIST, O_SHOW };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"stain", required_argument, NULL, O_STAIN},
        {"count", required_argument, NULL, O_COUNT},
        {"size", required_argument, NULL, O_SIZE},
        {"mpp", required_argument, NULL, O_MPP},
        {"min-tissue", required_argument, NULL, O_MINT},
        {"max-overlap", required_argument, NULL, O_MAXO},
        {"even", no_argument, NULL, O_EVEN},
        {"seed", required_argument, NULL, O_SEED},
        {"split", required_argument, NULL, O_SPLIT},
        {"import", required_argument, NULL, O_IMPORT},
        {"crop", no_argument, NULL, O_CROP},
        {"export", required_argument, NULL, O_EXPORT},
        {"list", no_argument, NULL, O_LIST},
        {"show", required_argument, NULL, O_SHOW},
        {0}};
    G2cRefsetBuild b;
    g2c_refset_build_default(&b);
    b.mpp = 1.0;
    const char *import_dir = NULL, *export_dir = NULL, *show = NULL;
    int list = 0, crop = 0, size_given = 0, opt, help = 0, bad = 0, seed = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt, &help))
            continue;
        switch (opt) {
        case O_STAIN: b.stain = optarg; break;
        case O_COUNT: bad |= g2c_cli_parse_int("--count", optarg, 1, 10000000, &b.count); break;
        case O_SIZE:
            bad |= g2c_cli_parse_int("--size", optarg, 0, 4096, &b.size);
            size_given = 1;
            break;
        case O_MPP: bad |= g2c_cli_parse_double("--mpp", optarg, 0, 1000, &b.mpp); break;
        case O_MINT: bad |= g2c_cli_parse_double("--min-tissue", optarg, 0, 1, &b.min_tissue); break;
        case O_MAXO: bad |= g2c_cli_parse_double("--max-overlap", optarg, 0, 1, &b.max_overlap); break;
        case O_EVEN: b.allocation = G2C_ALLOC_EVEN; break;
        case O_SEED: bad |= g2c_cli_parse_int("--seed", optarg, 0, 2147483647, &seed); break;
        case O_SPLIT: b.split = optarg; break;
        case O_IMPORT: import_dir = optarg; break;
        case O_CROP: crop = 1; break;
        case O_EXPORT: export_dir = optarg; break;
        case O_LIST: list = 1; break;
        case O_SHOW: show = optarg; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_refset_usage(stdout);
        return G2C_EXIT_OK;
    }
    b.seed = (uint64_t)seed;
    b.threads = cli->threads;
    b.warn = g2c_cli_warn;
    b.warn_ctx = cli;
    int named = optind == argc - 1;
    b.name = named ? argv[optind] : NULL;
    int modes = list + (show != NULL) + (named && export_dir != NULL) +
                (named && !export_dir);
    if (bad || modes != 1 || optind < argc - 1 || (named && !export_dir && !b.stain) ||
        (!size_given && import_dir == NULL && b.size == 0)) {
        g2c_cmd_refset_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    if (b.size == 0 && !import_dir) {
        fprintf(stderr, "g2c refset: --size 0 is only for --import\n");
        return G2C_EXIT_USAGE;
    }
    int readonly = list || show || export_dir;
    G2cCatalog *cat = g2c_catalog_open(cli->db, readonly ? G2C_CATALOG_READONLY
                                                         : G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("refset", NULL);
        return G2C_EXIT_FAILURE;
    }
    int rc, written = 0;
    int64_t id = 0;
    if (list) {
        rc = list_sets(cat);
    } else if (show) {
        rc = show_set(cat, show);
    } else if (export_dir) {
        rc = g2c_refset_export(cat, b.name, export_dir, &written);
        if (rc == 0)
            printf("exported %d crops and contact-sheet.png to %s\n", written, export_dir);
    } else if (import_dir) {
        rc = g2c_refset_import(cat, b.name, b.stain, import_dir, size_given ? b.size : 0,
                               crop ? G2C_TILE_CROP : G2C_TILE_RESIZE, &id);
        if (rc == 0)
            printf("imported reference set %s from %s\n", b.name, import_dir);
    } else {
        g2c_cli_progress(cli, "refset: building %s (%d crops of %s)", b.name, b.count, b.stain);
        rc = g2c_refset_build(cat, &b, &id);
        g2c_cli_progress_done(cli);
        if (rc == 0)
            printf("built reference set %s: %d crops of %d px from %s slides\n", b.name,
                   b.count, b.size, b.stain);
    }
    if (rc != 0)
        g2c_cli_error("refset", NULL);
    g2c_catalog_close(cat);
    return rc == 0 ? G2C_EXIT_OK : G2C_EXIT_FAILURE;
}
