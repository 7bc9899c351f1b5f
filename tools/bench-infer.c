/* Inference speed: glomeruli per second of g2c infer at the cpu preset (96
 * px crops, light stem 32, units 64/128/256), PAS_ALL+ (three generators of
 * stage 1's cpu architecture, ngf 32, 6 residual blocks, with cross-stain
 * attention) beside PAS_ONLY, with random weights (speed does not depend
 * on them).
 *
 *   bench-infer [--glomeruli N] [--threads T] [--repeat R] [--no-torch]
 *
 * Builds a catalog in a temporary folder: one PAS slide row with N
 * glomeruli whose crops are 96 px PNGs of noise (16 of them labelled, so
 * that g2c train can make the models in one step), three generators, and
 * the two models (g2c_train, one epoch).  Then, median of R each:
 *   - forward: g2c_trained_model_predict on the decoded crops (what the
 *     model costs);
 *   - infer: g2c_infer --all --rescore (crops read and decoded, model,
 *     predictions written), and for PAS_ALL+ also with --views (three
 *     views per glomerulus encoded and stored).
 * With /usr/bin/python3 and torch, tools/bench_infer_peer.py times the same
 * networks' eval-mode forward in PyTorch at the same thread count.
 * docs/benchmarks.md, "Inference", records the figures. */
#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/infer.h"
#include "g2c/models.h"
#include "g2c/nn.h"
#include "g2c/rng.h"
#include "g2c/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { SIZE = 96, LABELLED = 16, MAX_REPEAT = 15 };

static const char *const stains[3] = {"HE", "MASSON", "PASM"};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static int exec(G2cCatalog *cat, const char *sql)
{
    return sqlite3_exec(g2c_catalog_db(cat), sql, NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : g2c_catalog_error(cat, "bench catalog");
}

/* One slide row (no file: infer reads only the crops) and n glomeruli. */
static int make_crops(G2cCatalog *cat, int n)
{
    if (exec(cat, "INSERT INTO patients (external_id) VALUES ('BENCH');"
                  "INSERT INTO slides (patient_id, stain_id, path, name, vendor, width, height, "
                  "level_count, fingerprint, file_size) VALUES (1, (SELECT id FROM stains WHERE "
                  "name = 'PAS'), '/nonexistent/bench-PAS.tiff', 'bench-PAS.tiff', 'none', "
                  "100000, 100000, 1, 'bench', 0)") != 0)
        return -1;
    sqlite3_stmt *a = g2c_catalog_prepare(
        cat, "INSERT INTO annotations (slide_id, label_id, x, y, w, h, source_file, "
             "source_format) VALUES (1, (SELECT id FROM labels WHERE name = ?1), ?2, 0, 96, "
             "96, 'bench', 'csv')");
    sqlite3_stmt *p = g2c_catalog_prepare(
        cat, "INSERT INTO patches (slide_id, annotation_id, width, height, png) VALUES "
             "(1, ?1, 96, 96, ?2)");
    G2cRng rng;
    g2c_rng_seed(&rng, 5);
    G2cImage img;
    int rc = a && p ? g2c_image_alloc(&img, SIZE, SIZE, 0) : -1;
    for (int i = 0; i < n && rc == 0; i++) {
        for (size_t k = 0; k < (size_t)SIZE * SIZE * 3; k++)
            img.rgb[k] = (uint8_t)(120 + (g2c_rng_next(&rng) >> 58) + (i % 3) * 30);
        uint8_t *png;
        size_t size;
        if ((rc = g2c_png_encode(&img, -1, &png, &size)) != 0)
            break;
        sqlite3_reset(a);
        if (i < LABELLED)
            sqlite3_bind_text(a, 1, i % 2 ? "gs" : "noa", -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(a, 1);
        sqlite3_bind_double(a, 2, 100.0 * i);
        rc = g2c_catalog_step_done(cat, a);
        sqlite3_reset(p);
        sqlite3_bind_int64(p, 1, sqlite3_last_insert_rowid(g2c_catalog_db(cat)));
        sqlite3_bind_blob(p, 2, png, (int)size, SQLITE_TRANSIENT);
        if (rc == 0)
            rc = g2c_catalog_step_done(cat, p);
        free(png);
    }
    if (a)
        g2c_image_free(&img);
    sqlite3_finalize(a);
    sqlite3_finalize(p);
    return rc;
}

/* A stage-1 generator of the cpu architecture, random N(0, 0.02) weights,
 * registered as g2c pretrain registers one. */
static int make_generator(G2cCatalog *cat, const char *dir, int i)
{
    char path[4200], name[32], config[256];
    snprintf(name, sizeof name, "pas2%s", stains[i]);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
    G2cParams p;
    G2cConvNet net;
    G2cResnetGenConfig cfg = {3, 3, 32, 6};
    g2c_params_init(&p);
    int rc = g2c_resnet_gen_build(&net, &cfg, &p, "");
    if (rc == 0)
        rc = g2c_params_finalize(&p);
    if (rc == 0) {
        G2cRng rng;
        g2c_rng_seed(&rng, 7 + (uint64_t)i);
        g2c_convnet_init(&net, &p, 0.02f, &rng);
        const char *keys[] = {"source_stain", "target_stain"};
        const char *values[] = {"PAS", stains[i]};
        rc = g2c_checkpoint_save(path, &p, NULL, 2, keys, values);
    }
    g2c_params_free(&p);
    snprintf(config, sizeof config,
             "{\"kind\":\"cyclegan\",\"source_stain\":\"PAS\",\"target_stain\":\"%s\","
             "\"ngf\":32,\"n_blocks\":6}", stains[i]);
    sqlite3_stmt *st = rc == 0 ? g2c_catalog_prepare(
                                     cat, "INSERT INTO models (name, kind, config, checkpoint) "
                                          "VALUES (?1, 'cyclegan', ?2, ?3)")
                               : NULL;
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, config, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
    rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

static int make_model(G2cCatalog *cat, const char *dir, const char *name, const char *variant,
                      const char *generators, int threads)
{
    G2cTrainOptions o;
    g2c_train_options_default(&o);
    o.name = name;
    o.task = "gs-vs-rest";
    o.variant = variant;
    o.generators = generators;
    o.preset = "cpu";
    o.checkpoint_dir = dir;
    o.epochs = 1;
    o.test_fraction = 0;
    o.split_by = G2C_SPLIT_BY_SLIDE;
    o.threads = threads;
    G2cTrainResult r;
    return g2c_train(cat, &o, &r);
}

/* Decoded crops of every glomerulus, for the forward-only figure. */
static int load_crops(G2cCatalog *cat, G2cImage *crops, int n)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT png FROM patches ORDER BY id");
    int i = 0, rc = st ? 0 : -1;
    while (rc == 0 && i < n && sqlite3_step(st) == SQLITE_ROW) {
        rc = g2c_png_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                            &crops[i]);
        i++;
    }
    sqlite3_finalize(st);
    return rc == 0 && i == n ? 0 : -1;
}

typedef struct {
    const char *name, *model;
    int branches, views;
    double forward, infer, infer_views, torch;
    double forward_cpu_ms, torch_cpu_ms; /* CPU ms (all threads) per glomerulus */
} Row;

static int time_forward(G2cCatalog *cat, Row *row, const G2cImage *crops, int n, int repeat,
                        int threads)
{
    G2cTrainedModel *m = g2c_trained_model_load(cat, row->model, threads);
    int *cls = malloc((size_t)n * sizeof *cls);
    float *probs = malloc((size_t)n * 2 * sizeof *probs);
    double t[MAX_REPEAT], c[MAX_REPEAT];
    int rc = m && cls && probs ? 0 : -1;
    for (int r = 0; r < repeat && rc == 0; r++) {
        double t0 = now(), c0 = cpu_now();
        for (int at = 0; at < n && rc == 0; at += 32)
            rc = g2c_trained_model_predict(m, crops + at, n - at < 32 ? n - at : 32, cls + at,
                                           probs + (size_t)at * 2, NULL);
        t[r] = now() - t0;
        c[r] = cpu_now() - c0;
    }
    if (rc == 0) {
        row->forward = n / median(t, repeat);
        row->forward_cpu_ms = 1000 * median(c, repeat) / n;
    }
    free(cls);
    free(probs);
    g2c_trained_model_free(m);
    return rc;
}

static int time_infer(G2cCatalog *cat, const char *model, int views, int n, int repeat,
                      int threads, double *per_second)
{
    double t[MAX_REPEAT];
    for (int r = 0; r < repeat; r++) {
        G2cInferOptions o = {.model = model, .rescore = 1, .views = views, .threads = threads};
        G2cInferResult res;
        double t0 = now();
        if (g2c_infer(cat, &o, &res) != 0 || res.scored != n)
            return -1;
        t[r] = now() - t0;
    }
    *per_second = n / median(t, repeat);
    return 0;
}

/* "name:K ..." -> "name glomeruli_per_second cpu_ms_per_glomerulus". */
static int run_torch(Row *rows, int n_rows, int threads, int repeat, int n)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tools/bench_infer_peer.py' %d %d %d",
             G2C_SOURCE_DIR, threads, repeat, n);
    for (int i = 0; i < n_rows; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s:%d", rows[i].model,
                 rows[i].branches);
    FILE *pp = popen(cmd, "r");
    if (!pp)
        return -1;
    char line[256], name[64];
    double v, cpu;
    while (fgets(line, sizeof line, pp))
        if (sscanf(line, "%63s %lf %lf", name, &v, &cpu) == 3) {
            for (int i = 0; i < n_rows; i++)
                if (strcmp(name, rows[i].model) == 0) {
                    rows[i].torch = v;
                    rows[i].torch_cpu_ms = cpu;
                }
        } else {
            fputs(line, stderr);
        }
    return pclose(pp) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    int n = 256, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), repeat = 3, torch = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-torch") == 0)
            torch = 0;
        else if (i + 1 < argc && strcmp(argv[i], "--glomeruli") == 0)
            n = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--repeat") == 0)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-infer [--glomeruli N] [--threads T] [--repeat R] "
                            "[--no-torch]\n");
            return 2;
        }
    }
    if (n < LABELLED || threads < 1 || repeat < 1 || repeat > MAX_REPEAT) {
        fprintf(stderr, "bench-infer: --glomeruli >= %d, --threads >= 1, --repeat 1..%d\n",
                LABELLED, MAX_REPEAT);
        return 2;
    }
    g2c_nn_set_threads(threads);
    char dir[] = "/tmp/g2c-bench-infer-XXXXXX", db[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READWRITE);
    Row rows[2] = {{"PAS_ONLY", "only", 1, 0, 0, 0, 0, 0},
                   {"PAS_ALL+", "all", 4, 1, 0, 0, 0, 0}};
    G2cImage *crops = calloc((size_t)n, sizeof *crops);
    double t0 = now();
    int rc = cat && crops ? make_crops(cat, n) : -1;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = make_generator(cat, dir, i);
    if (rc == 0)
        rc = make_model(cat, dir, "only", "PAS_ONLY", NULL, threads);
    if (rc == 0)
        rc = make_model(cat, dir, "all", "PAS_ALL+", "pas2HE,pas2MASSON,pas2PASM", threads);
    if (rc == 0)
        rc = load_crops(cat, crops, n);
    printf("g2c infer, cpu preset (96 px), %d glomeruli, %d thread%s, median of %d "
           "(set-up %.1f s)\n", n, threads, threads == 1 ? "" : "s", repeat, now() - t0);
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = time_forward(cat, &rows[i], crops, n, repeat, threads);
        if (rc == 0)
            rc = time_infer(cat, rows[i].model, 0, n, repeat, threads, &rows[i].infer);
        if (rc == 0 && rows[i].views)
            rc = time_infer(cat, rows[i].model, 1, n, repeat, threads, &rows[i].infer_views);
    }
    if (rc == 0 && torch && run_torch(rows, 2, threads, repeat, n) != 0)
        fprintf(stderr, "bench-infer: the PyTorch peer did not run (--no-torch to skip)\n");
    if (rc == 0) {
        printf("%-9s %2s %12s %12s %11s %12s %12s %12s\n", "variant", "K", "forward g/s",
               "infer g/s", "+views g/s", "PyTorch g/s", "CPU ms/g", "PyTorch CPU");
        for (int i = 0; i < 2; i++)
            printf("%-9s %2d %12.2f %12.2f %11.2f %12.2f %12.1f %12.1f\n", rows[i].name,
                   rows[i].branches, rows[i].forward, rows[i].infer, rows[i].infer_views,
                   rows[i].torch, rows[i].forward_cpu_ms, rows[i].torch_cpu_ms);
    } else {
        fprintf(stderr, "bench-infer: %s\n", g2c_error_message());
    }
    for (int i = 0; crops && i < n; i++)
        g2c_image_free(&crops[i]);
    free(crops);
    g2c_catalog_close(cat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-infer: could not remove %s\n", dir);
    return rc == 0 ? 0 : 1;
}
