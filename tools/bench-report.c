/* Benchmark of g2c report on a large slide: does a page with hundreds of
 * glomeruli still generate and open quickly?
 *
 *   bench-report [--glomeruli N] [--views V] [--size PX] [--keep DIR]
 *
 * Builds a synthetic PAS slide (PX x PX, default 9000, 0.5 um/px) with N
 * glomeruli (default 500), ingests it with 224 px crops, inserts one
 * model's predictions and V generated stain views per glomerulus (default
 * 3: HE, MASSON, PASM; the PAS crop stands in for each), then times
 *   - g2c_report_write (median of 3): catalog -> report.html, report.json,
 *     glomeruli.csv, overlay.png;
 *   - headless Chromium loading report.html with --dump-dom and with
 *     --screenshot (1280x2000), minus the same for an empty page (browser
 *     start-up), median of 3 each, when chromium is installed.
 * Prints the figures docs/benchmarks.md "Reports" records.  Exit 1 on
 * failure. */
#include "g2c/annot.h"
#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/ingest.h"
#include "g2c/report.h"
#include "g2c/rng.h"
#include "g2c/synth.h"
#include "g2c/tiffwriter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { REPEATS = 3 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of finished child processes (Chromium and its helpers). */
static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double v[REPEATS])
{
    qsort(v, REPEATS, sizeof v[0], cmp_double);
    return v[REPEATS / 2];
}

static double kilobytes(const char *dir, const char *name)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / 1e3 : -1;
}

/* Slide, boxes and manifest row in dir. */
static int make_slide(const char *dir, int size, int count, G2cManifestRow *row)
{
    G2cSynthLayoutOptions lo = {.count = count, .radius_um_min = 35, .radius_um_max = 50,
                                .mpp = 0.5};
    G2cSynthGlom *gloms;
    int n;
    if (g2c_synth_layout(7, size, size, &lo, &gloms, &n) != 0)
        return -1;
    G2cSynthScene scene = {.seed = 7, .width = size, .height = size, .mpp = 0.5,
                           .gloms = gloms, .glom_count = n};
    G2cImage img;
    double t0 = now();
    int rc = g2c_synth_render(&scene, G2C_STAIN_PAS, &img);
    G2cAnnotationList boxes = {0};
    if (rc == 0)
        rc = g2c_synth_boxes(&scene, &boxes);
    memset(row, 0, sizeof *row);
    snprintf(row->patient, sizeof row->patient, "BENCH-1");
    snprintf(row->slide, sizeof row->slide, "%.3000s/bench-PAS.tiff", dir);
    snprintf(row->stain, sizeof row->stain, "PAS");
    snprintf(row->annotations, sizeof row->annotations, "%.3000s/bench.geojson", dir);
    if (rc == 0)
        rc = g2c_annot_write_geojson(row->annotations, &boxes);
    if (rc == 0) {
        G2cTiffOptions opt;
        g2c_tiff_options_init(&opt);
        opt.mpp = 0.5;
        opt.compression = G2C_TIFF_JPEG;
        rc = g2c_tiff_write(row->slide, &img, &opt);
        g2c_image_free(&img);
    }
    printf("slide: %dx%d px, %d glomeruli, made in %.1f s\n", size, size, boxes.count,
           now() - t0);
    g2c_annot_list_free(&boxes);
    free(gloms);
    return rc;
}

/* One model's predictions (random but plausible) and generated views. */
static int predict(G2cCatalog *cat, int views)
{
    sqlite3 *db = g2c_catalog_db(cat);
    if (sqlite3_exec(db,
                     "BEGIN;"
                     "INSERT INTO models (name, kind, config) VALUES ('bench-g2c', 'g2c',"
                     " '{\"stains\": [\"HE\", \"MASSON\", \"PASM\"]}');"
                     "INSERT INTO runs (kind, model_id, status) VALUES ('infer', 1, 'done');",
                     NULL, NULL, NULL) != SQLITE_OK)
        return g2c_catalog_error(cat, "model");
    sqlite3_stmt *ids = g2c_catalog_prepare(cat, "SELECT id FROM annotations ORDER BY id");
    sqlite3_stmt *ins = g2c_catalog_prepare(
        cat, "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, "
             "probabilities, confidence) VALUES (?1, 1, 1, (SELECT id FROM labels WHERE "
             "name = ?2), ?3, ?4)");
    if (!ids || !ins)
        return -1;
    static const char *const names[3] = {"noa", "ss", "gs"};
    G2cRng rng;
    g2c_rng_seed(&rng, 11);
    while (sqlite3_step(ids) == SQLITE_ROW) {
        double p[3], sum = 0;
        for (int k = 0; k < 3; k++)
            sum += p[k] = 0.05 + g2c_rng_uniform(&rng) * (k == 0 ? 2.0 : 1.0);
        int best = 0;
        for (int k = 0; k < 3; k++) {
            p[k] /= sum;
            best = p[k] > p[best] ? k : best;
        }
        char probs[128];
        snprintf(probs, sizeof probs, "{\"noa\": %.4f, \"ss\": %.4f, \"gs\": %.4f}", p[0], p[1],
                 p[2]);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, sqlite3_column_int64(ids, 0));
        sqlite3_bind_text(ins, 2, names[best], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, probs, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 4, p[best]);
        if (g2c_catalog_step_done(cat, ins) != 0)
            return -1;
    }
    sqlite3_finalize(ids);
    sqlite3_finalize(ins);
    static const char *const stains[3] = {"'HE'", "'MASSON'", "'PASM'"};
    for (int v = 0; v < views && v < 3; v++) {
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT INTO generated_views SELECT annotation_id, 1, %s, png "
                                  "FROM patches WHERE annotation_id IS NOT NULL", stains[v]);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return g2c_catalog_error(cat, "views");
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return g2c_catalog_error(cat, "commit");
    return 0;
}

static int time_report(const char *db, const char *out, double *median, double *cpu)
{
    double t[REPEATS], c[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
        if (!cat)
            return -1;
        G2cReportOptions opt;
        g2c_report_options_default(&opt);
        opt.slide = "1";
        opt.out_dir = out;
        G2cReportResult res;
        double t0 = now(), c0 = cpu_now();
        int rc = g2c_report_write(cat, &opt, &res);
        t[r] = now() - t0;
        c[r] = cpu_now() - c0;
        g2c_catalog_close(cat);
        if (rc != 0)
            return -1;
    }
    *median = median3(t);
    *cpu = median3(c);
    return 0;
}

/* Wall time of headless Chromium on a page (median of 3), -1 on failure;
 * *cpu: the median CPU time of Chromium's processes. */
static double time_chromium(const char *dir, const char *page, const char *what, double *cpu)
{
    double t[REPEATS], c[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%s/profile' && timeout 120 chromium --headless --no-sandbox "
                 "--disable-gpu --disable-quic --no-first-run --disable-background-networking "
                 "--disable-component-update --disable-sync --user-data-dir='%s/profile' %s "
                 "'file://%s' >'%s/chromium.out' 2>'%s/chromium.err'",
                 dir, dir, what, page, dir, dir);
        double t0 = now(), c0 = children_cpu();
        int rc = system(cmd);
        t[r] = now() - t0;
        c[r] = children_cpu() - c0;
        if (rc != 0)
            return -1;
    }
    *cpu = median3(c);
    return median3(t);
}

int main(int argc, char **argv)
{
    int count = 500, views = 3, size = 9000;
    const char *keep = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--glomeruli") == 0)
            count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--views") == 0)
            views = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--size") == 0)
            size = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = argv[i + 1];
    }
    char dir[3000];
    if (keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        mkdir(dir, 0755);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/g2c-bench-report-XXXXXX", tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    char db[4200], out[4200], page[4300], empty[4300];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(out, sizeof out, "%s/report", dir);
    G2cManifestRow row;
    G2cCatalog *cat = NULL;
    G2cIngestOptions io;
    g2c_ingest_options_default(&io);
    G2cIngestResult ir;
    double t0 = now();
    remove(db);
    if (make_slide(dir, size, count, &row) != 0 ||
        !(cat = g2c_catalog_open(db, G2C_CATALOG_READWRITE)) ||
        g2c_ingest_slide(cat, &row, &io, &ir) != 0 || predict(cat, views) != 0) {
        fprintf(stderr, "bench-report: %s\n", g2c_error_message());
        g2c_catalog_close(cat);
        return 1;
    }
    g2c_catalog_close(cat);
    printf("catalog: %d glomeruli with 224 px crops and %d generated views each, in %.1f s\n",
           ir.annotations, views, now() - t0);
    double gen, gen_cpu;
    if (time_report(db, out, &gen, &gen_cpu) != 0) {
        fprintf(stderr, "bench-report: %s\n", g2c_error_message());
        return 1;
    }
    snprintf(page, sizeof page, "%s/report.html", out);
    printf("report: %.2f s wall, %.2f s CPU to generate (median of %d); report.html %.2f MB, "
           "report.json %.0f kB, glomeruli.csv %.0f kB, overlay.png %.0f kB\n",
           gen, gen_cpu, REPEATS, kilobytes(out, "report.html") / 1e3,
           kilobytes(out, "report.json"), kilobytes(out, "glomeruli.csv"),
           kilobytes(out, "overlay.png"));
    snprintf(empty, sizeof empty, "%s/empty.html", dir);
    FILE *f = fopen(empty, "w");
    if (f) {
        fputs("<!DOCTYPE html><html><head><title>empty</title></head><body></body></html>\n", f);
        fclose(f);
    }
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        printf("chromium: not installed, load time not measured\n");
        return 0;
    }
    double c_base_dom, c_dom, c_base_shot, c_shot;
    double base_dom = time_chromium(dir, empty, "--dump-dom", &c_base_dom);
    double dom = time_chromium(dir, page, "--dump-dom", &c_dom);
    char shot[4400];
    snprintf(shot, sizeof shot, "--screenshot='%s/shot.png' --window-size=1280,2000", dir);
    double base_shot = time_chromium(dir, empty, shot, &c_base_shot);
    double shot_s = time_chromium(dir, page, shot, &c_shot);
    if (base_dom < 0 || dom < 0 || base_shot < 0 || shot_s < 0) {
        fprintf(stderr, "bench-report: chromium failed (see %s/chromium.err)\n", dir);
        return 1;
    }
    printf("chromium --dump-dom: %.2f s wall, %.2f s CPU (empty page %.2f s, %.2f s CPU: "
           "the page costs %.2f s wall, %.2f s CPU)\n",
           dom, c_dom, base_dom, c_base_dom, dom - base_dom, c_dom - c_base_dom);
    printf("chromium --screenshot 1280x2000: %.2f s wall, %.2f s CPU (empty page %.2f s, "
           "%.2f s CPU: the page costs %.2f s wall, %.2f s CPU)\n",
           shot_s, c_shot, base_shot, c_base_shot, shot_s - base_shot, c_shot - c_base_shot);
    if (!keep)
        printf("(files in %s)\n", dir);
    return 0;
}
