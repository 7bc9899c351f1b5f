#include "test-train-fixture.h"

#include "ingest/slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/models.h"
#include "g2c/nn.h"
#include "g2c/path.h"
#include "g2c/tiffwriter.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { W = 384, H = 256, BOX = 32 };

static void darken(G2cImage *img, int x0, int y0, int w, int h)
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)(p[c] / 2);
        }
}

/* The i-th item of a comma-separated list, cycling. */
static void nth_label(const char *labels, int i, char *out, size_t size)
{
    int n = 1;
    for (const char *p = labels; *p; p++)
        n += *p == ',';
    i %= n;
    const char *p = labels;
    while (i-- > 0)
        p = strchr(p, ',') + 1;
    size_t len = strchr(p, ',') ? (size_t)(strchr(p, ',') - p) : strlen(p);
    snprintf(out, size, "%.*s", (int)len, p);
}

static int write_slide(const char *dir, int patient, int per_slide, const char *labels,
                       int *label_index, FILE *manifest)
{
    G2cImage img;
    test_slide_image(&img, W, H, 1000 + (uint64_t)patient);
    char csv[4096], text[64];
    snprintf(csv, sizeof csv, "%s/P%d.csv", dir, patient);
    FILE *f = fopen(csv, "w");
    if (!f)
        return -1;
    fputs("x,y,w,h,label\n", f);
    for (int b = 0; b < per_slide; b++) {
        int x = 16 + (b % 8) * 44, y = 40 + (b / 8) * 44;
        char label[16];
        nth_label(labels, (*label_index)++, label, sizeof label);
        if (strcmp(label, "ss") == 0)
            darken(&img, x, y, BOX / 2, BOX);
        else if (strcmp(label, "gs") == 0)
            darken(&img, x, y, BOX, BOX);
        snprintf(text, sizeof text, "%d,%d,%d,%d,%s\n", x, y, BOX, BOX,
                 strcmp(label, "-") == 0 ? "" : label);
        fputs(text, f);
    }
    fclose(f);
    char path[4096];
    snprintf(path, sizeof path, "%s/P%d-PAS.tiff", dir, patient);
    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.mpp = 0.5;
    opt.tile_size = 128;
    int rc = g2c_tiff_write(path, &img, &opt);
    g2c_image_free(&img);
    fprintf(manifest, "P%d,P%d-PAS.tiff,PAS,P%d.csv\n", patient, patient, patient);
    return rc;
}

int fixture_catalog(const char *db, const char *dir, int patients, int per_slide,
                    const char *labels)
{
    if (per_slide > 40)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.csv", dir);
    FILE *m = fopen(path, "w");
    if (!m)
        return -1;
    fputs("patient,slide,stain,annotations\n", m);
    int label_index = 0, rc = 0;
    for (int p = 1; p <= patients && rc == 0; p++)
        rc = write_slide(dir, p, per_slide, labels, &label_index, m);
    fclose(m);
    if (rc != 0)
        return -1;
    return g2c_test_system("\"%s\" --quiet --db %s ingest --patch-size 32 --margin 0 %s "
                           ">/dev/null", getenv("G2C_EXE"), db, path) == 0
               ? 0
               : -1;
}

int fixture_generator(const char *db, const char *dir, const char *name, const char *stain,
                      uint64_t seed, const char *kind)
{
    return fixture_generator_arch(db, dir, name, stain, seed, kind, 4, 1);
}

int fixture_generator_arch(const char *db, const char *dir, const char *name,
                           const char *stain, uint64_t seed, const char *kind, int ngf,
                           int n_blocks)
{
    char folder[4096], path[4200];
    snprintf(folder, sizeof folder, "%s/%s", dir, name);
    snprintf(path, sizeof path, "%s/G.safetensors", folder);
    if (g2c_make_dirs(folder) != 0)
        return -1;
    G2cParams p;
    G2cConvNet net;
    G2cResnetGenConfig cfg = {3, 3, ngf, n_blocks};
    g2c_params_init(&p);
    int rc = g2c_resnet_gen_build(&net, &cfg, &p, "");
    if (rc == 0)
        rc = g2c_params_finalize(&p);
    if (rc == 0) {
        G2cRng rng;
        g2c_rng_seed(&rng, seed);
        g2c_convnet_init(&net, &p, 0.02f, &rng);
        const char *keys[] = {"source_stain", "target_stain"};
        const char *values[] = {"PAS", stain};
        rc = g2c_checkpoint_save(path, &p, NULL, 2, keys, values);
    }
    g2c_params_free(&p);
    if (rc != 0)
        return -1;
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READWRITE);
    if (!cat)
        return -1;
    char config[256];
    snprintf(config, sizeof config,
             "{\"kind\":\"cyclegan\",\"source_stain\":\"PAS\",\"target_stain\":\"%s\","
             "\"ngf\":%d,\"n_blocks\":%d}", stain, ngf, n_blocks);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO models (name, kind, config, checkpoint) VALUES (?1, ?2, ?3, ?4)");
    rc = st ? 0 : -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, config, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, path, -1, SQLITE_STATIC);
        rc = g2c_catalog_step_done(cat, st);
        sqlite3_finalize(st);
    }
    g2c_catalog_close(cat);
    return rc;
}

int fixture_exec(const char *db, const char *sql)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READWRITE);
    if (!cat)
        return -1;
    int rc = sqlite3_exec(g2c_catalog_db(cat), sql, NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : g2c_catalog_error(cat, sql);
    g2c_catalog_close(cat);
    return rc;
}

void fixture_snapshot(const char *db, char *out, int size)
{
    snprintf(out, (size_t)size,
             "models %lld runs %lld epochs %lld predictions %lld unsplit %lld labels %lld",
             g2c_test_scalar(db, "SELECT count(*) FROM models"),
             g2c_test_scalar(db, "SELECT count(*) FROM runs"),
             g2c_test_scalar(db, "SELECT count(*) FROM run_epochs"),
             g2c_test_scalar(db, "SELECT count(*) FROM predictions"),
             g2c_test_scalar(db, "SELECT count(*) FROM slides WHERE split IS NULL"),
             g2c_test_scalar(db, "SELECT count(*) FROM labels"));
}

int fixture_same_tensor(const char *a, const char *name_a, const char *b, const char *name_b)
{
    G2cSafetensors *sa = g2c_safetensors_open(a), *sb = g2c_safetensors_open(b);
    int same = 0;
    if (sa && sb) {
        int na, nb;
        int64_t shape_a[8], shape_b[8];
        const float *va = g2c_safetensors_get(sa, name_a, &na, shape_a);
        const float *vb = g2c_safetensors_get(sb, name_b, &nb, shape_b);
        if (va && vb && na == nb) {
            size_t n = 1;
            same = 1;
            for (int d = 0; d < na; d++) {
                same &= shape_a[d] == shape_b[d];
                n *= (size_t)shape_a[d];
            }
            same = same && memcmp(va, vb, n * sizeof(float)) == 0;
        }
    }
    g2c_safetensors_close(sa);
    g2c_safetensors_close(sb);
    return same;
}

/* Tensor names of a safetensors file, from its JSON header. */
static json_t *header_of(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char len8[8];
    json_t *h = NULL;
    if (fread(len8, 1, 8, f) == 8) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = n << 8 | len8[i];
        char *text = n < (1u << 26) ? malloc(n + 1) : NULL;
        if (text && fread(text, 1, n, f) == n) {
            text[n] = '\0';
            h = json_loads(text, 0, NULL);
        }
        free(text);
    }
    fclose(f);
    return h;
}

int fixture_same_tensors(const char *a, const char *b, const char *prefix, int *n)
{
    json_t *h = header_of(a);
    *n = 0;
    if (!h)
        return 0;
    int same = 1;
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v)
    {
        if (strncmp(key, prefix, strlen(prefix)) != 0 || strcmp(key, "__metadata__") == 0)
            continue;
        (*n)++;
        if (!fixture_same_tensor(a, key, b, key)) {
            fprintf(stderr, "tensor %s differs between %s and %s\n", key, a, b);
            same = 0;
        }
    }
    json_decref(h);
    return same;
}
