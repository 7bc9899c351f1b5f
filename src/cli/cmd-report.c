/* g2c report: slide and patient reports for people (HTML), programs (JSON,
 * CSV) and the eye (overlay PNG). */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/report.h"

void g2c_cmd_report_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c report --slide S --out DIR [--model M]\n"
            "       g2c report --patient P --out DIR [--model M]\n"
            "\n"
            "Writes a report of one model's predictions for a slide (S = slide id or\n"
            "file name) or for every slide of a patient.  For a slide, DIR receives:\n"
            "  report.html    a self-contained page: slide thumbnail with every\n"
            "                 glomerulus box coloured by predicted class, counts per\n"
            "                 class, %% globally sclerosed, one row per glomerulus (crop,\n"
            "                 generated stain views, probabilities, annotated label) and\n"
            "                 provenance (model, run, catalog, slide fingerprint, version)\n"
            "  report.json    the same data (schemas/report.schema.json)\n"
            "  glomeruli.csv  one row per glomerulus\n"
            "  overlay.png    the thumbnail with the boxes drawn\n"
            "For a patient: index.html with one line per slide and the totals, and\n"
            "one such folder per slide (slide-ID/).  The catalog is only read.\n"
            "\n"
            "  --model M        model name or id (default: the newest model with\n"
            "                   predictions on the slide / the patient's slides)\n"
            "  --thumb-width N  slide thumbnail width in px (default 1200)\n"
            "  --crop-size N    crop thumbnails in the table, px (default 96)\n");
}

int g2c_cmd_report(G2cCli *cli, int argc, char **argv)
{
    enum { O_SLIDE = 1, O_PATIENT, O_MODEL, O_OUT, O_THUMB, O_CROP };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"slide", required_argument, NULL, O_SLIDE},
        {"patient", required_argument, NULL, O_PATIENT},
        {"model", required_argument, NULL, O_MODEL},
        {"out", required_argument, NULL, O_OUT},
        {"thumb-width", required_argument, NULL, O_THUMB},
        {"crop-size", required_argument, NULL, O_CROP},
        {0}};
    G2cReportOptions opt;
    g2c_report_options_default(&opt);
    int opt_c, help = 0, bad = 0;
    while ((opt_c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt_c, &help))
            continue;
        switch (opt_c) {
        case O_SLIDE: opt.slide = optarg; break;
        case O_PATIENT: opt.patient = optarg; break;
        case O_MODEL: opt.model = optarg; break;
        case O_OUT: opt.out_dir = optarg; break;
        case O_THUMB:
            bad |= g2c_cli_parse_int("--thumb-width", optarg, 64, 8192, &opt.thumb_width) != 0;
            break;
        case O_CROP:
            bad |= g2c_cli_parse_int("--crop-size", optarg, 16, 1024, &opt.crop_size) != 0;
            break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_report_usage(stdout);
        return G2C_EXIT_OK;
    }
    if (bad || optind != argc || !opt.out_dir || !opt.slide == !opt.patient) {
        if (!bad && optind == argc && !opt.slide == !opt.patient)
            g2c_cli_error("report", "give --slide or --patient (one of them)");
        else if (!bad && optind == argc && !opt.out_dir)
            g2c_cli_error("report", "--out DIR is required");
        g2c_cmd_report_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    opt.threads = cli->threads;
    opt.warn = g2c_cli_warn;
    opt.warn_ctx = cli;
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READONLY);
    if (!cat) {
        g2c_cli_error("report", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cReportResult result;
    int rc = g2c_report_write(cat, &opt, &result);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("report", NULL);
        return G2C_EXIT_FAILURE;
    }
    printf("wrote %s: %d slide report(s), %ld glomeruli, model %s%s\n", opt.out_dir,
           result.slides, result.glomeruli, result.model,
           result.skipped ? " (slides without its predictions left out)" : "");
    return G2C_EXIT_OK;
}
