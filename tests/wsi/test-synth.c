/* The synthetic multi-stain generator: determinism, one geometry in every
 * stain, the class cue, the tissue mask, layouts and boxes, errors. */
#include "g2c/error.h"
#include "g2c/synth.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { W = 1024, H = 1024 };

/* Glass is bright and grey; tissue is darker or coloured. */
static int is_glass(const uint8_t *p)
{
    int lo = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
    int hi = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
    return lo >= 232 && hi - lo <= 12;
}

static double glass_fraction(const G2cImage *img)
{
    size_t n = (size_t)img->width * img->height, glass = 0;
    for (size_t i = 0; i < n; i++)
        glass += is_glass(img->rgb + i * 3);
    return (double)glass / (double)n;
}

/* Masson's collagen blue: blue well above red and green. */
static int is_blue(const uint8_t *p)
{
    return p[2] > p[0] + 50 && p[2] > p[1] + 25;
}

/* Share of blue pixels in the inner 0.6 of each glomerulus' radius. */
static double blue_share(const G2cImage *img, const G2cSynthGlom *g)
{
    double r = 0.6 * g->radius;
    long blue = 0, total = 0;
    for (int y = (int)(g->cy - r); y <= (int)(g->cy + r); y++)
        for (int x = (int)(g->cx - r); x <= (int)(g->cx + r); x++) {
            if (x < 0 || y < 0 || x >= img->width || y >= img->height)
                continue;
            double dx = x + 0.5 - g->cx, dy = y + 0.5 - g->cy;
            if (dx * dx + dy * dy > r * r)
                continue;
            total++;
            blue += is_blue(img->rgb + ((size_t)y * img->width + x) * 3);
        }
    return total ? (double)blue / (double)total : 0;
}

/* Mean colour of the inner 0.6 radius of a glomerulus. */
static void mean_colour(const G2cImage *img, const G2cSynthGlom *g, double out[3])
{
    double r = 0.6 * g->radius, acc[3] = {0, 0, 0};
    long n = 0;
    for (int y = (int)(g->cy - r); y <= (int)(g->cy + r); y++)
        for (int x = (int)(g->cx - r); x <= (int)(g->cx + r); x++) {
            double dx = x + 0.5 - g->cx, dy = y + 0.5 - g->cy;
            if (x < 0 || y < 0 || x >= img->width || y >= img->height || dx * dx + dy * dy > r * r)
                continue;
            const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
            for (int c = 0; c < 3; c++)
                acc[c] += p[c];
            n++;
        }
    for (int c = 0; c < 3; c++)
        out[c] = n ? acc[c] / n : 0;
}

/* How far apart a class's glomeruli look from normal ones in a stain:
 * the distance of the class-mean colours, in grey levels. */
static double class_contrast(const G2cImage *img, const G2cSynthScene *scene, G2cGlomClass cls)
{
    double mean[2][3] = {{0}};
    int n[2] = {0, 0};
    for (int i = 0; i < scene->glom_count; i++) {
        const G2cSynthGlom *g = &scene->gloms[i];
        int k = g->cls == G2C_GLOM_NOA ? 0 : g->cls == cls ? 1 : -1;
        if (k < 0)
            continue;
        double c[3];
        mean_colour(img, g, c);
        for (int j = 0; j < 3; j++)
            mean[k][j] += c[j];
        n[k]++;
    }
    double d2 = 0;
    for (int j = 0; j < 3; j++) {
        double diff = mean[1][j] / (n[1] ? n[1] : 1) - mean[0][j] / (n[0] ? n[0] : 1);
        d2 += diff * diff;
    }
    return sqrt(d2);
}

static void test_names(void)
{
    G2cStain s;
    CHECK(g2c_stain_parse("masson", &s) == 0 && s == G2C_STAIN_MASSON);
    CHECK(strcmp(g2c_stain_name(G2C_STAIN_PASM), "PASM") == 0);
    CHECK(g2c_stain_parse("Jones", &s) == -1);
    CHECK(strstr(g2c_error_message(), "'Jones'") != NULL);
    G2cGlomClass c;
    CHECK(g2c_glom_class_parse("GS", &c) == 0 && c == G2C_GLOM_GS);
    CHECK(strcmp(g2c_glom_class_name(G2C_GLOM_SS), "ss") == 0);
    CHECK(g2c_glom_class_parse("fsgs", &c) == -1);
}

static void test_layout(G2cSynthGlom **gloms, int *n)
{
    G2cSynthLayoutOptions opt = {0};
    opt.count = 9;
    opt.mpp = 1.0;
    CHECK_OK(g2c_synth_layout(42, W, H, &opt, gloms, n));
    CHECK(*n == 9);
    int per_class[G2C_GLOM_CLASS_COUNT] = {0};
    for (int i = 0; i < *n; i++) {
        const G2cSynthGlom *g = &(*gloms)[i];
        per_class[g->cls]++;
        CHECK(g->radius >= 70 && g->radius <= 100);
        CHECK(g->cx - g->radius >= 0 && g->cx + g->radius <= W);
        CHECK(g->cy - g->radius >= 0 && g->cy + g->radius <= H);
        for (int j = 0; j < i; j++) {
            const G2cSynthGlom *o = &(*gloms)[j];
            CHECK(hypot(g->cx - o->cx, g->cy - o->cy) > g->radius + o->radius);
        }
    }
    CHECK(per_class[0] == 3 && per_class[1] == 3 && per_class[2] == 3);

    /* The same seed gives the same layout; the mix is followed exactly. */
    G2cSynthGlom *again;
    int m;
    CHECK_OK(g2c_synth_layout(42, W, H, &opt, &again, &m));
    CHECK(m == *n && memcmp(again, *gloms, sizeof *again * (size_t)m) == 0);
    free(again);
    opt.mix[G2C_GLOM_NOA] = 2;
    opt.mix[G2C_GLOM_GS] = 1;
    opt.count = 4;
    CHECK_OK(g2c_synth_layout(5, W, H, &opt, &again, &m));
    int noa = 0, gs = 0;
    for (int i = 0; i < m; i++) {
        noa += again[i].cls == G2C_GLOM_NOA;
        gs += again[i].cls == G2C_GLOM_GS;
    }
    CHECK(m == 4 && noa == 3 && gs == 1);
    free(again);

    opt.count = 400;
    CHECK(g2c_synth_layout(42, W, H, &opt, &again, &m) == -1);
    CHECK(strstr(g2c_error_message(), "of 400 glomeruli") != NULL);
    CHECK(again == NULL && m == 0);
}

static void test_boxes(const G2cSynthScene *scene)
{
    G2cAnnotationList list = {0};
    CHECK_OK(g2c_synth_boxes(scene, &list));
    CHECK(list.count == scene->glom_count);
    for (int i = 0; i < list.count && i < scene->glom_count; i++) {
        const G2cAnnotation *a = &list.items[i];
        const G2cSynthGlom *g = &scene->gloms[i];
        CHECK(strcmp(a->label, g2c_glom_class_name(g->cls)) == 0);
        CHECK(a->x <= g->cx - g->radius + 1e-9 && a->x + a->w >= g->cx + g->radius - 1e-9);
        CHECK(a->w < 2 * g->radius + 2 && a->h < 2 * g->radius + 2);
        CHECK(a->x == floor(a->x) && a->w == floor(a->w));
    }
    CHECK(list.count > 0 && strcmp(list.items[0].source_id, "g1") == 0);
    g2c_annot_list_free(&list);
}

static void test_render(const G2cSynthScene *scene)
{
    G2cImage img[G2C_STAIN_COUNT];
    for (int s = 0; s < G2C_STAIN_COUNT; s++)
        CHECK_OK(g2c_synth_render(scene, (G2cStain)s, &img[s]));

    /* Determinism, and the seed matters. */
    G2cImage again;
    CHECK_OK(g2c_synth_render(scene, G2C_STAIN_HE, &again));
    CHECK(memcmp(again.rgb, img[G2C_STAIN_HE].rgb, (size_t)W * H * 3) == 0);
    g2c_image_free(&again);
    G2cSynthScene other = *scene;
    other.seed++;
    CHECK_OK(g2c_synth_render(&other, G2C_STAIN_HE, &again));
    CHECK(memcmp(again.rgb, img[G2C_STAIN_HE].rgb, (size_t)W * H * 3) != 0);
    g2c_image_free(&again);

    /* Tissue on glass: neither everything nor nothing, and the same pixels
     * are glass in every stain (one geometry). */
    double glass = glass_fraction(&img[G2C_STAIN_PAS]);
    CHECK(glass > 0.08 && glass < 0.8);
    for (int s = 1; s < G2C_STAIN_COUNT; s++) {
        size_t differ = 0;
        for (size_t i = 0; i < (size_t)W * H; i++)
            differ += is_glass(img[0].rgb + i * 3) != is_glass(img[s].rgb + i * 3);
        CHECK((double)differ / (W * H) < 0.03);
    }
    /* g2c_synth_tissue_at agrees with the picture away from the edge. */
    int agree = 0, asked = 0;
    for (int y = 8; y < H; y += 37)
        for (int x = 5; x < W; x += 41) {
            double t = g2c_synth_tissue_at(scene, x + 0.5, y + 0.5);
            if (t > 0 && t < 1)
                continue;
            asked++;
            int glassy = is_glass(img[G2C_STAIN_PAS].rgb + ((size_t)y * W + x) * 3);
            agree += t == 0 ? glassy : 1;
        }
    CHECK(asked > 100 && agree == asked);

    /* The class cue: Masson's blue grows from noa to ss to gs. */
    double share[G2C_GLOM_CLASS_COUNT] = {0};
    int count[G2C_GLOM_CLASS_COUNT] = {0};
    for (int i = 0; i < scene->glom_count; i++) {
        const G2cSynthGlom *g = &scene->gloms[i];
        share[g->cls] += blue_share(&img[G2C_STAIN_MASSON], g);
        count[g->cls]++;
    }
    for (int c = 0; c < G2C_GLOM_CLASS_COUNT; c++)
        share[c] /= count[c] ? count[c] : 1;
    fprintf(stderr, "masson blue share: noa %.3f ss %.3f gs %.3f\n", share[0], share[1],
            share[2]);
    CHECK(share[G2C_GLOM_GS] > 0.8);
    CHECK(share[G2C_GLOM_SS] > share[G2C_GLOM_NOA] + 0.1);
    CHECK(share[G2C_GLOM_GS] > share[G2C_GLOM_SS] + 0.2);
    CHECK(share[G2C_GLOM_NOA] < 0.2);

    /* Extra stains help: the segmental lesion stands out more in Masson
     * and silver than in PAS (the source stain) or HE. */
    double ss[G2C_STAIN_COUNT], gs[G2C_STAIN_COUNT];
    for (int s = 0; s < G2C_STAIN_COUNT; s++) {
        ss[s] = class_contrast(&img[s], scene, G2C_GLOM_SS);
        gs[s] = class_contrast(&img[s], scene, G2C_GLOM_GS);
        fprintf(stderr, "%-6s contrast to noa: ss %5.1f gs %5.1f\n", g2c_stain_name((G2cStain)s),
                ss[s], gs[s]);
        CHECK(gs[s] > ss[s]);
    }
    CHECK(ss[G2C_STAIN_MASSON] > ss[G2C_STAIN_PAS]);
    CHECK(ss[G2C_STAIN_PASM] > ss[G2C_STAIN_PAS]);
    CHECK(ss[G2C_STAIN_MASSON] > ss[G2C_STAIN_HE]);
    CHECK(ss[G2C_STAIN_PASM] > ss[G2C_STAIN_HE]);

    for (int s = 0; s < G2C_STAIN_COUNT; s++)
        g2c_image_free(&img[s]);
}

static void test_errors(void)
{
    G2cSynthScene bad = {1, 0, 100, 0.5, NULL, 0};
    G2cImage img;
    CHECK(g2c_synth_render(&bad, G2C_STAIN_PAS, &img) == -1);
    CHECK(strstr(g2c_error_message(), "0x100") != NULL);
    CHECK(img.rgb == NULL);
    G2cSynthGlom g = {50, 50, -3, G2C_GLOM_GS};
    G2cSynthScene one = {1, 100, 100, 0.5, &g, 1};
    CHECK(g2c_synth_render(&one, G2C_STAIN_PAS, &img) == -1);
    CHECK(strstr(g2c_error_message(), "glomerulus 1") != NULL);
    g.radius = 2000; /* 1 mm */
    CHECK(g2c_synth_render(&one, G2C_STAIN_PAS, &img) == -1);
    CHECK(strstr(g2c_error_message(), "radius 2000 px") != NULL);
    /* Tiny fields and a glomerulus given by hand, partly outside the
     * field, still render. */
    G2cSynthScene tiny = {3, 1, 1, 0.5, NULL, 0};
    CHECK_OK(g2c_synth_render(&tiny, G2C_STAIN_HE, &img));
    g2c_image_free(&img);
    tiny.width = 300;
    tiny.height = 3;
    CHECK_OK(g2c_synth_render(&tiny, G2C_STAIN_MASSON, &img));
    g2c_image_free(&img);
    g.radius = 40;
    g.cx = 10;
    CHECK_OK(g2c_synth_render(&one, G2C_STAIN_PASM, &img));
    g2c_image_free(&img);
}

int main(void)
{
    test_names();
    G2cSynthGlom *gloms = NULL;
    int n = 0;
    test_layout(&gloms, &n);
    G2cSynthScene scene = {42, W, H, 1.0, gloms, n};
    test_boxes(&scene);
    test_render(&scene);
    test_errors();
    free(gloms);
    return g2c_test_finish("synth");
}
