/* Benchmark of the reference-set core: tissue mask plus 1000 crop positions
 * for one slide must take at most 2 s (CLAM and slideflow report 1-2 s per
 * slide for segmentation and patch coordinates).
 *
 *   bench-refset [SLIDE]
 *
 * Two inputs: a real slide read whole at its lowest level through OpenSlide
 * (default CMU-1-Small-Region.svs from the shared data; skipped when absent),
 * and a large synthetic 4000 x 4000 thumbnail standing for a 32x downsample
 * of a 128000 px slide.  Exit 1 when either exceeds the budget. */
#include "g2c/error.h"
#include "g2c/refset.h"
#include "g2c/rng.h"

#include <math.h>
#include <openslide.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { N_CROPS = 1000, REPEATS = 3 };
static const double BUDGET_S = 2.0;

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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed run: detect, then sample; wall seconds for each, and the CPU
 * seconds of both (the machine may be shared: CPU time is the steadier). */
static int run_once(const G2cImage *thumb, double scale, const G2cSampleParams *sp,
                    double *detect_s, double *sample_s, double *cpu_s, G2cTissueStats *st)
{
    G2cTissueMask mask;
    double c0 = cpu_now(), t0 = now();
    if (g2c_tissue_detect(thumb, NULL, &mask, st) != 0)
        return -1;
    mask.scale = scale;
    double t1 = now();
    G2cCropPos *crops;
    int rc = g2c_sample_crops(&mask, 1, N_CROPS, sp, &crops);
    double t2 = now();
    *cpu_s = cpu_now() - c0;
    free(crops);
    g2c_tissue_mask_free(&mask);
    *detect_s = t1 - t0;
    *sample_s = t2 - t1;
    return rc;
}

/* Median of REPEATS runs; prints a line and returns 1 when over budget. */
static int bench(const char *label, const G2cImage *thumb, double scale, int crop_size)
{
    G2cSampleParams sp = {.crop_size = crop_size, .min_tissue = 0.5, .max_overlap = 0.25,
                          .allocation = G2C_ALLOC_PROPORTIONAL, .seed = 1};
    double det[REPEATS], smp[REPEATS], tot[REPEATS], cpu[REPEATS];
    G2cTissueStats st;
    for (int r = 0; r < REPEATS; r++) {
        if (run_once(thumb, scale, &sp, &det[r], &smp[r], &cpu[r], &st) != 0) {
            fprintf(stderr, "bench-refset: %s: %s\n", label, g2c_error_message());
            return 1;
        }
        tot[r] = det[r] + smp[r];
    }
    qsort(det, REPEATS, sizeof *det, cmp_double);
    qsort(smp, REPEATS, sizeof *smp, cmp_double);
    qsort(tot, REPEATS, sizeof *tot, cmp_double);
    qsort(cpu, REPEATS, sizeof *cpu, cmp_double);
    double total = tot[REPEATS / 2];
    printf("%-22s %5dx%-5d scale %4.0f  tissue %5.1f%%  mask %6.3f s  "
           "%d crops of %d px %6.3f s  total %6.3f s (cpu %6.3f s)  %s\n",
           label, thumb->width, thumb->height, scale,
           100.0 * (double)st.tissue_px / ((double)thumb->width * thumb->height),
           det[REPEATS / 2], N_CROPS, crop_size, smp[REPEATS / 2], total, cpu[REPEATS / 2],
           total <= BUDGET_S ? "ok" : "OVER BUDGET");
    return total > BUDGET_S;
}

/* ---- the real slide ----------------------------------------------------- */

static int read_lowest_level(const char *path, G2cImage *img, double *downsample)
{
    openslide_t *osr = openslide_open(path);
    if (!osr || openslide_get_error(osr)) {
        if (osr)
            openslide_close(osr);
        return g2c_error("%s: OpenSlide cannot open it", path);
    }
    int32_t level = openslide_get_level_count(osr) - 1;
    int64_t w, h;
    openslide_get_level_dimensions(osr, level, &w, &h);
    *downsample = openslide_get_level_downsample(osr, level);
    uint32_t *argb = malloc((size_t)w * (size_t)h * 4);
    int rc = argb ? g2c_image_alloc(img, (int)w, (int)h, 255) : g2c_error("out of memory");
    if (rc == 0) {
        openslide_read_region(osr, argb, 0, 0, level, w, h);
        if (openslide_get_error(osr))
            rc = g2c_error("%s: %s", path, openslide_get_error(osr));
    }
    /* Premultiplied ARGB: adding the missing coverage composites over white. */
    for (size_t i = 0; rc == 0 && i < (size_t)w * (size_t)h; i++) {
        uint32_t v = argb[i];
        int back = 255 - (int)(v >> 24);
        img->rgb[i * 3] = (uint8_t)(((v >> 16) & 255) + back);
        img->rgb[i * 3 + 1] = (uint8_t)(((v >> 8) & 255) + back);
        img->rgb[i * 3 + 2] = (uint8_t)((v & 255) + back);
    }
    free(argb);
    openslide_close(osr);
    return rc;
}

static const char *default_slide(void)
{
    static char path[4096];
    const char *env = getenv("G2C_SHARED_DATA");
    const char *root = getenv("G2C_SOURCE_ROOT");
    if (env)
        snprintf(path, sizeof path, "%s/slides/CMU-1-Small-Region.svs", env);
    else
        snprintf(path, sizeof path, "%s/../shared/data/slides/CMU-1-Small-Region.svs",
                 root ? root : ".");
    struct stat s;
    return stat(path, &s) == 0 ? path : NULL;
}

/* ---- the synthetic slide ------------------------------------------------ */

/* Glass with scanner noise, a dozen stained fragments with ragged edges and
 * lumens, and dust specks. */
static int synthetic(int size, G2cImage *img)
{
    if (g2c_image_alloc(img, size, size, 0) != 0)
        return -1;
    G2cRng rng;
    g2c_rng_seed(&rng, 2019);
    enum { FRAGMENTS = 12 };
    double cx[FRAGMENTS], cy[FRAGMENTS], rx[FRAGMENTS], ry[FRAGMENTS];
    for (int k = 0; k < FRAGMENTS; k++) {
        cx[k] = size * (0.1 + 0.8 * g2c_rng_uniform(&rng));
        cy[k] = size * (0.1 + 0.8 * g2c_rng_uniform(&rng));
        rx[k] = size * (0.03 + 0.08 * g2c_rng_uniform(&rng));
        ry[k] = size * (0.03 + 0.12 * g2c_rng_uniform(&rng));
    }
    /* Ragged edges: the radius wobbles by sin(x) cos(y), tabulated. */
    double *wx = malloc((size_t)FRAGMENTS * size * sizeof *wx);
    double *wy = malloc((size_t)FRAGMENTS * size * sizeof *wy);
    if (!wx || !wy) {
        free(wx);
        free(wy);
        g2c_image_free(img);
        return g2c_error("out of memory");
    }
    for (int k = 0; k < FRAGMENTS; k++)
        for (int i = 0; i < size; i++) {
            wx[k * size + i] = sin(0.05 * i + k);
            wy[k * size + i] = cos(0.07 * i - k);
        }
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            uint8_t *p = img->rgb + ((size_t)y * size + x) * 3;
            int tissue = 0;
            for (int k = 0; k < FRAGMENTS && !tissue; k++) {
                double dx = (x - cx[k]) / rx[k], dy = (y - cy[k]) / ry[k];
                double d2 = dx * dx + dy * dy;
                if (d2 > 1.2 || d2 < 0.8) {
                    tissue = d2 < 0.8;
                    continue;
                }
                double edge = 1 + 0.08 * wx[k * size + x] * wy[k * size + y];
                tissue = d2 < edge * edge;
            }
            int lumen = tissue && ((x / 23) * 7 + (y / 31) * 3) % 11 == 0 && (x % 23) > 6 &&
                        (y % 31) > 9;
            int noise = (int)g2c_rng_below(&rng, 16);
            if (tissue && !lumen) {
                p[0] = (uint8_t)(170 + noise);
                p[1] = (uint8_t)(80 + noise + (x * y) % 40);
                p[2] = (uint8_t)(150 + noise);
            } else {
                p[0] = p[1] = p[2] = (uint8_t)(236 + noise);
            }
        }
    }
    for (int s = 0; s < 300; s++) { /* dust */
        int x = (int)g2c_rng_below(&rng, (uint64_t)size - 4);
        int y = (int)g2c_rng_below(&rng, (uint64_t)size - 4);
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 3; i++)
                memset(img->rgb + ((size_t)(y + j) * size + x + i) * 3, 60, 3);
    }
    free(wx);
    free(wy);
    return 0;
}

static void print_machine(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            printf("cpu:%s", colon ? colon + 1 : line);
            break;
        }
    }
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    int over = 0;
    print_machine();
    const char *slide = argc > 1 ? argv[1] : default_slide();
    if (slide) {
        G2cImage img;
        double ds = 1, t0 = now();
        if (read_lowest_level(slide, &img, &ds) != 0) {
            fprintf(stderr, "bench-refset: %s\n", g2c_error_message());
            return 1;
        }
        const char *base = strrchr(slide, '/');
        printf("%s: lowest level %dx%d (downsample %.0f) read in %.3f s (not in the budget)\n",
               base ? base + 1 : slide, img.width, img.height, ds, now() - t0);
        over |= bench("real slide", &img, ds, 32);
        g2c_image_free(&img);
    } else {
        printf("real slide: skipped (CMU-1-Small-Region.svs not found; pass a slide "
               "or set G2C_SHARED_DATA)\n");
    }

    G2cImage syn;
    double t0 = now();
    if (synthetic(4000, &syn) != 0) {
        fprintf(stderr, "bench-refset: %s\n", g2c_error_message());
        return 1;
    }
    printf("synthetic: 4000x4000 generated in %.3f s (not in the budget)\n", now() - t0);
    over |= bench("synthetic 4000 @ 32x", &syn, 32, 256);
    g2c_image_free(&syn);
    printf("budget %.1f s per slide: %s\n", BUDGET_S, over ? "EXCEEDED" : "met");
    return over;
}
