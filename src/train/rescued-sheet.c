/* The rescued-cases sheet (the paper's Figure 3): each glomerulus that
 * model A got wrong and model B right, as its PAS crop beside the stains
 * B's generators make of it, with the labels written under it.  The
 * geometry is spelled out in include/g2c/train.h so that it can be
 * checked. */
#include "stage2-private.h"

#include "g2c/error.h"
#include "g2c/plot.h"
#include "g2c/refset.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { LINE = 12, MARGIN = 8, SPACE = 16, MIN_CASE_W = 160, FONT = 2, CHAR_W = 4 * FONT };

static const unsigned char black[3] = {0, 0, 0}, red[3] = {190, 20, 20},
                           green[3] = {20, 130, 40}, grey[3] = {90, 90, 90};

typedef struct {
    int tiles, strip_w, case_w, case_h, columns, rows, width, height;
} Layout;

static Layout layout(int n, int generators)
{
    Layout l;
    const int t = G2C_RESCUED_TILE;
    l.tiles = 1 + generators;
    l.strip_w = l.tiles * t + 2 * (l.tiles + 1);
    l.case_w = l.strip_w > MIN_CASE_W ? l.strip_w : MIN_CASE_W;
    l.case_h = LINE + t + 4 + 4 * LINE;
    l.columns = (G2C_RESCUED_MAX_WIDTH - 2 * MARGIN + SPACE) / (l.case_w + SPACE);
    l.columns = l.columns < 1 ? 1 : l.columns > n ? n : l.columns;
    l.rows = (n + l.columns - 1) / l.columns;
    l.width = 2 * MARGIN + l.columns * l.case_w + (l.columns - 1) * SPACE;
    l.height = 2 * MARGIN + 3 * LINE + 8 + l.rows * l.case_h + (l.rows - 1) * SPACE;
    return l;
}

/* Text cut to what fits in `width` pixels (the font has no wrapping). */
static void text(G2cImage *img, int x, int y, int width, const char *s,
                 const unsigned char rgb[3])
{
    char buf[256];
    int fit = width / CHAR_W;
    snprintf(buf, sizeof buf, "%.*s", fit < 255 ? fit : 255, s);
    g2c_draw_text(img, x, y, buf, FONT, rgb);
}

/* The stored crop of a glomerulus (the first patch cut for it). */
static int load_crop(sqlite3_stmt *st, int64_t annotation_id, G2cImage *img)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, annotation_id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return g2c_error("glomerulus %lld has no stored crop", (long long)annotation_id);
    if (g2c_png_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), img))
        return g2c_error_prefix("glomerulus %lld: ", (long long)annotation_id);
    return 0;
}

static int load_crops(G2cCatalog *cat, const G2cRescued *r, int n, G2cImage *crops)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT png FROM patches WHERE id = (SELECT min(id) FROM patches WHERE "
             "annotation_id = ?1)");
    if (!st)
        return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = load_crop(st, r->cases[i].annotation_id, &crops[i]);
    sqlite3_finalize(st);
    return rc;
}

static void header(G2cImage *sheet, const G2cRescued *r, int n)
{
    int w = sheet->width - 2 * MARGIN;
    char line[512];
    snprintf(line, sizeof line, "rescued on the %s split: a wrong, b right", r->split);
    text(sheet, MARGIN, MARGIN, w, line, black);
    snprintf(line, sizeof line, "a = %s   b = %s", r->model_a, r->model_b);
    text(sheet, MARGIN, MARGIN + LINE, w, line, black);
    snprintf(line, sizeof line, "%d of %lld glomeruli rescued, %d shown", r->count,
             (long long)r->paired, n);
    text(sheet, MARGIN, MARGIN + 2 * LINE, w, line, grey);
}

/* One case at (x, y): stain captions, the strip of crops, four lines. */
static int draw_case(G2cImage *sheet, const Layout *l, int x, int y, const G2cRescuedCase *c,
                     const G2cImage *tiles, G2cTrainedModel *b)
{
    const int t = G2C_RESCUED_TILE;
    for (int k = 0; k < l->tiles; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s", k ? g2c_trained_model_stain(b, k - 1) : "pas");
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        text(sheet, x + 2 + k * (t + 2), y, t, name, grey);
    }
    G2cImage strip;
    if (g2c_contact_sheet(tiles, l->tiles, t, l->tiles, &strip) != 0)
        return g2c_error_prefix("glomerulus %lld: ", (long long)c->annotation_id);
    g2c_image_blit(&strip, 0, 0, strip.width, strip.height, sheet, x, y + LINE);
    g2c_image_free(&strip);
    int ty = y + LINE + t + 4 + 1;
    char line[256];
    if (strcmp(c->truth, c->truth_class) == 0)
        snprintf(line, sizeof line, "true: %s", c->truth);
    else
        snprintf(line, sizeof line, "true: %s (%s)", c->truth_class, c->truth);
    text(sheet, x, ty, l->case_w, line, black);
    snprintf(line, sizeof line, "id %lld %s", (long long)c->annotation_id, c->slide);
    text(sheet, x, ty + LINE, l->case_w, line, grey);
    snprintf(line, sizeof line, "a: %s %.2f", c->predicted_a, c->confidence_a);
    text(sheet, x, ty + 2 * LINE, l->case_w, line, red);
    snprintf(line, sizeof line, "b: %s %.2f", c->predicted_b, c->confidence_b);
    text(sheet, x, ty + 3 * LINE, l->case_w, line, green);
    return 0;
}

static int draw(G2cImage *sheet, const Layout *l, const G2cRescued *r, int n,
                const G2cImage *crops, const G2cImage *views, G2cTrainedModel *b)
{
    if (g2c_image_alloc(sheet, l->width, l->height, 255) != 0)
        return -1;
    header(sheet, r, n);
    const int g = l->tiles - 1;
    G2cImage tiles[G2C_CLS_MAX_BRANCHES];
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        tiles[0] = crops[i];
        for (int k = 0; k < g; k++)
            tiles[1 + k] = views[(size_t)i * g + k];
        int x = MARGIN + (i % l->columns) * (l->case_w + SPACE);
        int y = MARGIN + 3 * LINE + 8 + (i / l->columns) * (l->case_h + SPACE);
        rc = draw_case(sheet, l, x, y, &r->cases[i], tiles, b);
    }
    if (rc != 0)
        g2c_image_free(sheet);
    return rc;
}

/* B run again on the crops, for the generated stains. */
static int generate(G2cTrainedModel *b, const G2cImage *crops, int n, G2cImage *views)
{
    const int k = g2c_trained_model_task(b)->classes;
    int *classes = malloc((size_t)n * sizeof *classes);
    float *probs = malloc((size_t)n * k * sizeof *probs);
    int rc = classes && probs ? g2c_trained_model_predict(b, crops, n, classes, probs, views)
                              : g2c_error("out of memory");
    free(classes);
    free(probs);
    return rc;
}

int g2c_rescued_sheet(G2cCatalog *cat, const G2cRescued *r, int n, int threads,
                      const char *png_path, int *width, int *height)
{
    if (n <= 0 || n > r->count)
        n = r->count;
    if (n == 0)
        return g2c_error("%s: no rescued glomeruli to draw", png_path);
    G2cTrainedModel *b = g2c_trained_model_load(cat, r->model_b, threads);
    if (!b)
        return -1;
    const int g = g2c_trained_model_generators(b);
    G2cImage *crops = calloc((size_t)n, sizeof *crops);
    G2cImage *views = calloc((size_t)n * (g ? g : 1), sizeof *views);
    int rc = crops && views ? load_crops(cat, r, n, crops) : g2c_error("out of memory");
    if (rc == 0 && g > 0)
        rc = generate(b, crops, n, views);
    Layout l = layout(n, g);
    G2cImage sheet = {0};
    if (rc == 0)
        rc = draw(&sheet, &l, r, n, crops, views, b);
    if (rc == 0) {
        rc = g2c_png_write(png_path, &sheet);
        g2c_image_free(&sheet);
    }
    if (rc == 0) {
        *width = l.width;
        *height = l.height;
    }
    for (int i = 0; crops && i < n; i++)
        g2c_image_free(&crops[i]);
    for (int i = 0; views && i < n * g; i++)
        g2c_image_free(&views[i]);
    free(crops);
    free(views);
    g2c_trained_model_free(b);
    return rc;
}
