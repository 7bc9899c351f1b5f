/* Applying a trained generator to crops of any size. */
#include "g2c/pretrain.h"

#include "g2c/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* One pass holds every stage's activations; beyond this many (padded)
 * pixels a paper-size generator would need several GiB. */
enum { MAX_PIXELS = 1024 * 1024, MIN_SIDE = 8 };

static int round4(int v)
{
    return (v + 3) / 4 * 4;
}

/* Mirror without repeating the edge pixel (ReflectionPad2d's rule). */
static int mirror(int i, int n)
{
    return i < n ? i : 2 * (n - 1) - i;
}

static void padded_tensor(const G2cImage *in, int pw, int ph, float *t)
{
    const size_t plane = (size_t)pw * ph;
    for (int y = 0; y < ph; y++) {
        const uint8_t *row = in->rgb + (size_t)mirror(y, in->height) * in->width * 3;
        for (int x = 0; x < pw; x++) {
            const uint8_t *px = row + 3 * mirror(x, in->width);
            size_t i = (size_t)y * pw + x;
            for (int c = 0; c < 3; c++)
                t[c * plane + i] = (float)px[c] / 127.5f - 1.0f;
        }
    }
}

static int size_acts(const G2cConvNet *net, G2cNetActs *acts, int pw, int ph)
{
    if (acts->mem && acts->batch == 1 && acts->in_w == pw && acts->in_h == ph)
        return 0;
    g2c_net_acts_free(acts);
    return g2c_net_acts_init(acts, net, 1, ph, pw);
}

static int check_input(const G2cConvNet *net, const G2cImage *in)
{
    if (net->in_c != 3)
        return g2c_error("%s: a generator of %d input channels cannot take "
                         "RGB images", net->prefix, net->in_c);
    if (in->width < MIN_SIDE || in->height < MIN_SIDE)
        return g2c_error("%dx%d image: the generator needs at least %d px "
                         "on each side", in->width, in->height, MIN_SIDE);
    if ((long)round4(in->width) * round4(in->height) > MAX_PIXELS)
        return g2c_error("%dx%d image: too large for one pass (at most %d "
                         "pixels); resize it first (g2c translate --size)",
                         in->width, in->height, MAX_PIXELS);
    return 0;
}

int g2c_convnet_translate(const G2cConvNet *net, G2cParams *p,
                          G2cNetActs *acts, const G2cImage *in,
                          G2cImage *out)
{
    memset(out, 0, sizeof *out);
    if (check_input(net, in) != 0)
        return -1;
    const int pw = round4(in->width), ph = round4(in->height);
    if (size_acts(net, acts, pw, ph) != 0)
        return -1;
    float *x = malloc((size_t)3 * pw * ph * sizeof *x);
    if (!x)
        return g2c_error("out of memory for a %dx%d image", pw, ph);
    padded_tensor(in, pw, ph, x);
    g2c_convnet_forward(net, p, x, acts);
    free(x);
    G2cImage full;
    if (g2c_tensor_to_image(acts->out, acts->out_w, acts->out_h, &full) != 0)
        return -1;
    if (pw == in->width && ph == in->height) {
        *out = full;
        return 0;
    }
    int rc = g2c_image_alloc(out, in->width, in->height, 0);
    if (rc == 0)
        g2c_image_blit(&full, 0, 0, in->width, in->height, out, 0, 0);
    g2c_image_free(&full);
    return rc;
}

/* ---- generators from files and the catalog ------------------------------ */

int g2c_generator_open(const char *path, const G2cResnetGenConfig *cfg,
                       G2cGenerator *g)
{
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    g2c_params_init(&g->params);
    if (g2c_resnet_gen_build(&g->net, cfg, &g->params, "") != 0 ||
        g2c_params_finalize(&g->params) != 0 ||
        g2c_checkpoint_load(path, &g->params, NULL, 1) != 0) {
        g2c_generator_free(g);
        return -1;
    }
    return 0;
}

void g2c_generator_free(G2cGenerator *g)
{
    g2c_net_acts_free(&g->acts);
    g2c_params_free(&g->params);
}

int g2c_generator_apply(G2cGenerator *g, const G2cImage *in, G2cImage *out)
{
    return g2c_convnet_translate(&g->net, &g->params, &g->acts, in, out);
}

static int config_int(json_t *cfg, const char *key, int *out)
{
    json_t *v = json_object_get(cfg, key);
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > 4096)
        return g2c_error("configuration: %s missing or not a positive "
                         "integer", key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int load_from_row(sqlite3_stmt *st, const char *model, G2cGenerator *g)
{
    const char *kind = (const char *)sqlite3_column_text(st, 0);
    const char *config = (const char *)sqlite3_column_text(st, 1);
    const char *path = (const char *)sqlite3_column_text(st, 2);
    if (strcmp(kind, "cyclegan") != 0)
        return g2c_error("model %s is a %s model, not a CycleGAN generator",
                         model, kind);
    if (!path)
        return g2c_error("model %s has no generator yet (its pre-training "
                         "has not completed an epoch)", model);
    json_error_t jerr;
    json_t *cfg = json_loads(config, 0, &jerr);
    G2cResnetGenConfig gc = {3, 3, 0, 0};
    int size = 0;
    int rc = cfg ? 0 : g2c_error("configuration: %s", jerr.text);
    if (rc == 0 && (config_int(cfg, "ngf", &gc.ngf) != 0 ||
                    config_int(cfg, "n_blocks", &gc.n_blocks) != 0 ||
                    config_int(cfg, "size", &size) != 0))
        rc = -1;
    json_decref(cfg);
    if (rc != 0)
        return g2c_error_prefix("model %s: ", model);
    if (g2c_generator_open(path, &gc, g) != 0)
        return g2c_error_prefix("model %s: ", model);
    g->train_size = size;
    return 0;
}

int g2c_generator_load(G2cCatalog *cat, const char *model, G2cGenerator *g)
{
    memset(g, 0, sizeof *g);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT kind, config, checkpoint FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    int rc;
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = g2c_error("no model named '%s' in the catalog", model);
    else
        rc = load_from_row(st, model, g);
    sqlite3_finalize(st);
    return rc;
}
