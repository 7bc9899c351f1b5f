/* g2c ingest: slides, annotations and glomerulus crops into the catalog. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/ingest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void g2c_cmd_ingest_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c ingest [OPTIONS] MANIFEST.csv\n"
            "       g2c ingest [OPTIONS] --patient ID --stain STAIN [--annotations FILE]\n"
            "                  [--split train|val|test] SLIDE\n"
            "\n"
            "Adds slides (any format OpenSlide reads), their glomerulus annotations\n"
            "(QuPath GeoJSON, ASAP XML, Aperio ImageScope XML, or CSV x,y,w,h,label)\n"
            "and one crop per glomerulus to the catalog.  Each slide is one\n"
            "transaction; re-ingesting an unchanged slide does nothing.\n"
            "\n"
            "The manifest is a CSV with the header patient,slide,stain and optional\n"
            "annotations and split columns; paths are relative to the manifest.\n"
            "\n"
            "crop options:\n"
            "  --patch-size N   crops are N x N pixels (default 224)\n"
            "  --margin F       context around each box, as a fraction of its longer\n"
            "                   side, on each side (default 0.1)\n"
            "  --fit scale      the box plus margin, made square, is resampled to the\n"
            "                   patch (default)\n"
            "  --fit fixed      crops are read at exactly --mpp um/px around the box\n"
            "                   centre (glomerulus size preserved)\n"
            "  --mpp F          resolution for --fit fixed (default 0.5)\n"
            "  --png-level N    zlib level of stored crops, 0-9 (default 1; lossless)\n"
            "  --reingest       replace slides whose file changed since ingestion\n"
            "\n"
            "exit status: 0 all rows done, 1 none done, 3 some rows failed\n");
}

typedef struct {
    int added, unchanged, replaced, failed;
    long glomeruli;
} Tally;

static void report_bad_row(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "g2c ingest: error: %s\n", message);
}

static int64_t start_run(G2cCatalog *cat, const char *params)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "INSERT INTO runs (kind, params) "
                                                "VALUES ('ingest', ?1)");
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, params, -1, SQLITE_STATIC);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc == 0 ? sqlite3_last_insert_rowid(g2c_catalog_db(cat)) : 0;
}

static void finish_run(G2cCatalog *cat, int64_t run_id, const Tally *t)
{
    const char *status = t->failed == 0 ? "done"
                         : (t->added + t->unchanged + t->replaced) ? "partial"
                                                                    : "failed";
    json_t *metrics = json_pack("{s:i,s:i,s:i,s:i,s:I}", "added", t->added, "unchanged",
                                t->unchanged, "replaced", t->replaced, "failed", t->failed,
                                "glomeruli", (json_int_t)t->glomeruli);
    char *text = json_dumps(metrics, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "UPDATE runs SET status = ?1, metrics = ?2, "
             "finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?3");
    if (st) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text ? text : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, run_id);
        g2c_catalog_step_done(cat, st);
        sqlite3_finalize(st);
    }
    free(text);
    json_decref(metrics);
}

static char *params_json(const G2cIngestOptions *o, const char *input)
{
    json_t *p = json_pack("{s:s,s:i,s:f,s:s,s:f,s:i}", "input", input, "patch_size",
                          o->patch_size, "margin", o->margin, "fit",
                          o->fit == G2C_FIT_FIXED ? "fixed" : "scale", "mpp", o->mpp,
                          "reingest", o->reingest);
    char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);
    return text;
}

static void ingest_rows(G2cCli *cli, G2cCatalog *cat, const char *manifest,
                        const G2cManifestRow *rows, int n, const G2cIngestOptions *opt,
                        Tally *t)
{
    static const char *const verbs[] = {"added", "unchanged", "replaced"};
    for (int i = 0; i < n; i++) {
        g2c_cli_progress(cli, "ingest: slide %d/%d %s", i + 1, n, rows[i].slide);
        G2cIngestResult r;
        g2c_error_clear();
        if (g2c_ingest_slide(cat, &rows[i], opt, &r) != 0) {
            g2c_cli_progress_done(cli);
            if (rows[i].line)
                fprintf(stderr, "g2c ingest: error: %s:%ld: %s\n", manifest, rows[i].line,
                        g2c_error_message());
            else
                g2c_cli_error("ingest", NULL);
            t->failed++;
            continue;
        }
        g2c_cli_progress_done(cli);
        if (!cli->quiet || r.outcome != G2C_INGEST_UNCHANGED)
            printf("%-9s %s (patient %s, %s, %d glomeruli%s)\n", verbs[r.outcome],
                   rows[i].slide, rows[i].patient, rows[i].stain, r.annotations,
                   r.clipped ? ", some clipped" : "");
        fflush(stdout);
        t->added += r.outcome == G2C_INGEST_ADDED;
        t->unchanged += r.outcome == G2C_INGEST_UNCHANGED;
        t->replaced += r.outcome == G2C_INGEST_REPLACED;
        t->glomeruli += r.annotations;
    }
}

int g2c_cmd_ingest(G2cCli *cli, int argc, char **argv)
{
    enum { O_PATIENT = 1, O_STAIN, O_ANNOT, O_SPLIT, O_PATCH, O_MARGIN, O_FIT, O_MPP,
           O_PNG, O_REINGEST };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"patient", required_argument, NULL, O_PATIENT},
        {"stain", required_argument, NULL, O_STAIN},
        {"annotations", required_argument, NULL, O_ANNOT},
        {"split", required_argument, NULL, O_SPLIT},
        {"patch-size", required_argument, NULL, O_PATCH},
        {"margin", required_argument, NULL, O_MARGIN},
        {"fit", required_argument, NULL, O_FIT},
        {"mpp", required_argument, NULL, O_MPP},
        {"png-level", required_argument, NULL, O_PNG},
        {"reingest", no_argument, NULL, O_REINGEST},
        {0}};
    G2cIngestOptions opt;
    g2c_ingest_options_default(&opt);
    opt.mpp = 0.5;
    G2cManifestRow single = {0};
    int opt_c, help = 0, bad = 0;
    while ((opt_c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt_c, &help))
            continue;
        switch (opt_c) {
        case O_PATIENT: snprintf(single.patient, sizeof single.patient, "%s", optarg); break;
        case O_STAIN: snprintf(single.stain, sizeof single.stain, "%s", optarg); break;
        case O_ANNOT:
            bad |= snprintf(single.annotations, sizeof single.annotations, "%s", optarg) >=
                   (int)sizeof single.annotations;
            break;
        case O_SPLIT: snprintf(single.split, sizeof single.split, "%s", optarg); break;
        case O_PATCH: bad |= g2c_cli_parse_int("--patch-size", optarg, 8, 4096, &opt.patch_size); break;
        case O_MARGIN: bad |= g2c_cli_parse_double("--margin", optarg, 0, 10, &opt.margin); break;
        case O_MPP: bad |= g2c_cli_parse_double("--mpp", optarg, 0.01, 1000, &opt.mpp); break;
        case O_PNG: bad |= g2c_cli_parse_int("--png-level", optarg, 0, 9, &opt.png_level); break;
        case O_REINGEST: opt.reingest = 1; break;
        case O_FIT:
            if (strcmp(optarg, "scale") == 0)
                opt.fit = G2C_FIT_SCALE;
            else if (strcmp(optarg, "fixed") == 0)
                opt.fit = G2C_FIT_FIXED;
            else {
                fprintf(stderr, "g2c ingest: --fit is 'scale' or 'fixed', not '%s'\n", optarg);
                bad = 1;
            }
            break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_ingest_usage(stdout);
        return G2C_EXIT_OK;
    }
    int single_mode = single.patient[0] || single.stain[0];
    if (bad || optind != argc - 1 || (single_mode && !(single.patient[0] && single.stain[0]))) {
        if (single_mode && !bad)
            fprintf(stderr, "g2c ingest: a single slide needs both --patient and --stain\n");
        g2c_cmd_ingest_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    const char *input = argv[optind];
    opt.threads = cli->threads;
    opt.warn = g2c_cli_warn;
    opt.warn_ctx = cli;

    G2cManifestRow *rows = &single;
    int n = 1, bad_rows = 0;
    if (single_mode) {
        snprintf(single.slide, sizeof single.slide, "%s", input);
        if (single.split[0] && strcmp(single.split, "train") && strcmp(single.split, "val") &&
            strcmp(single.split, "test")) {
            fprintf(stderr, "g2c ingest: --split is train, val or test\n");
            return G2C_EXIT_USAGE;
        }
    } else if (g2c_manifest_read(input, &rows, &n, &bad_rows, report_bad_row, NULL) != 0) {
        g2c_cli_error("ingest", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READWRITE);
    if (!cat) {
        g2c_cli_error("ingest", NULL);
        if (!single_mode)
            free(rows);
        return G2C_EXIT_FAILURE;
    }
    char *params = params_json(&opt, input);
    int64_t run_id = start_run(cat, params ? params : "{}");
    free(params);
    Tally t = {.failed = bad_rows};
    ingest_rows(cli, cat, input, rows, n, &opt, &t);
    if (run_id)
        finish_run(cat, run_id, &t);
    g2c_catalog_close(cat);
    if (!single_mode)
        free(rows);
    int done = t.added + t.unchanged + t.replaced;
    if (!cli->quiet)
        printf("ingest: %d added, %d unchanged, %d replaced, %d failed; %ld glomeruli\n",
               t.added, t.unchanged, t.replaced, t.failed, t.glomeruli);
    if (t.failed == 0)
        return G2C_EXIT_OK;
    return done ? G2C_EXIT_PARTIAL : G2C_EXIT_FAILURE;
}
