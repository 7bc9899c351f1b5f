/* g2c export: predictions back to the slide viewer. */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/report.h"

void g2c_cmd_export_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c export --geojson --out DIR [--slide S | --patient P] [--model M]\n"
            "\n"
            "Writes each slide's classified glomeruli as QuPath GeoJSON, one file per\n"
            "slide (DIR/<slide file name>.geojson; File > Import objects from file):\n"
            "rectangles with objectType \"annotation\", the predicted class (and its\n"
            "colour) as classification, and the probabilities and confidence as\n"
            "measurements.  Without --slide or --patient, every slide with predictions\n"
            "from the model.  The catalog is only read.\n"
            "\n"
            "  --slide S     slide id or file name\n"
            "  --patient P   every slide of the patient\n"
            "  --model M     model name or id (default: the newest model with predictions\n"
            "                on the chosen slides)\n");
}

int g2c_cmd_export(G2cCli *cli, int argc, char **argv)
{
    enum { O_GEOJSON = 1, O_SLIDE, O_PATIENT, O_MODEL, O_OUT };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"geojson", no_argument, NULL, O_GEOJSON},
        {"slide", required_argument, NULL, O_SLIDE},
        {"patient", required_argument, NULL, O_PATIENT},
        {"model", required_argument, NULL, O_MODEL},
        {"out", required_argument, NULL, O_OUT},
        {0}};
    G2cReportOptions opt;
    g2c_report_options_default(&opt);
    int c, help = 0, bad = 0, geojson = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, c, &help))
            continue;
        switch (c) {
        case O_GEOJSON: geojson = 1; break;
        case O_SLIDE: opt.slide = optarg; break;
        case O_PATIENT: opt.patient = optarg; break;
        case O_MODEL: opt.model = optarg; break;
        case O_OUT: opt.out_dir = optarg; break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_export_usage(stdout);
        return G2C_EXIT_OK;
    }
    if (bad || optind != argc || !geojson || !opt.out_dir || (opt.slide && opt.patient)) {
        if (!bad && optind == argc) {
            if (!geojson)
                g2c_cli_error("export", "choose a format: --geojson");
            else if (!opt.out_dir)
                g2c_cli_error("export", "--out DIR is required");
            else
                g2c_cli_error("export", "give --slide or --patient, not both");
        }
        g2c_cmd_export_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READONLY);
    if (!cat) {
        g2c_cli_error("export", NULL);
        return G2C_EXIT_FAILURE;
    }
    G2cReportResult result;
    int rc = g2c_export_geojson(cat, &opt, &result);
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("export", NULL);
        return G2C_EXIT_FAILURE;
    }
    printf("wrote %s: %d GeoJSON file(s), %ld glomeruli, model %s\n", opt.out_dir,
           result.slides, result.glomeruli, result.model);
    return G2C_EXIT_OK;
}
