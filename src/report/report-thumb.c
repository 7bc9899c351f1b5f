/* The slide thumbnail (~1200 px wide, read through OpenSlide from the
 * coarsest level that is still fine enough) and the overlay: the same
 * picture with every box drawn in its predicted class's colour.
 *
 * A slide whose file is gone still gets a report, on a grey canvas of the
 * slide's shape: the crops and predictions live in the catalog, and a
 * report without the picture is more use than none.  A file whose content
 * changed since ingestion is read but flagged, since the boxes may no
 * longer fit it. */
#include "report-private.h"

#include "g2c/error.h"
#include "g2c/slide.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Level pixels read per band: bounds memory for slides whose coarsest
 * level is still large (a single-level TIFF, say). */
#define BAND_PIXELS 16e6

static int read_banded(G2cSlide *s, double W, double H, G2cImage *out)
{
    int tw = out->width, th = out->height;
    double dsx = W / tw, dsy = H / th;
    int level = g2c_slide_best_level(s, fmin(dsx, dsy));
    double lds = g2c_slide_info(s)->level_downsample[level];
    double per_row = (W / lds) * (dsy / lds);
    int band = (int)fmax(1, fmin(th, BAND_PIXELS / fmax(per_row, 1)));
    for (int r0 = 0; r0 < th; r0 += band) {
        int r1 = r0 + band < th ? r0 + band : th;
        G2cImage part;
        if (g2c_slide_read_box(s, 0, r0 * dsy, W, (r1 - r0) * dsy, tw, r1 - r0, &part,
                               NULL) != 0)
            return -1;
        g2c_image_blit(&part, 0, 0, tw, r1 - r0, out, 0, r0);
        g2c_image_free(&part);
    }
    return 0;
}

static void note(G2cRepData *d, const G2cReportOptions *opt, const char *fmt, ...)
    G2C_PRINTF(3, 4);
static void note(G2cRepData *d, const G2cReportOptions *opt, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(d->slide_note);
    d->slide_note = g2c_rep_strdup(msg);
    if (opt->warn) {
        char full[2600];
        snprintf(full, sizeof full, "slide '%.400s' (id %lld): %s", d->slide.name,
                 (long long)d->slide.id, msg);
        opt->warn(opt->warn_ctx, full);
    }
}

/* The picture under the boxes; grey when the slide cannot be read. */
static int slide_picture(const G2cReportOptions *opt, G2cRepData *d, G2cImage *img)
{
    if (g2c_image_alloc(img, d->thumb_width, d->thumb_height, 0xd0) != 0)
        return -1;
    G2cSlide *s = g2c_slide_open(d->slide.path);
    if (!s) {
        note(d, opt, "the slide cannot be read (%s); boxes are drawn on a blank canvas",
             g2c_error_message());
        return 0;
    }
    const G2cSlideInfo *info = g2c_slide_info(s);
    if (strcmp(info->fingerprint, d->slide.fingerprint) != 0)
        note(d, opt, "the slide file changed since it was ingested (fingerprint %s, catalog "
                     "%s); the boxes may not match the picture", info->fingerprint,
             d->slide.fingerprint);
    G2cImage tmp;
    if (g2c_image_alloc(&tmp, img->width, img->height, 255) == 0) {
        if (read_banded(s, (double)d->slide.width, (double)d->slide.height, &tmp) == 0) {
            g2c_image_free(img);
            *img = tmp;
        } else {
            g2c_image_free(&tmp);
            note(d, opt, "the slide cannot be read (%s); boxes are drawn on a blank canvas",
                 g2c_error_message());
        }
    }
    g2c_slide_close(s);
    return 0;
}

static void fill(G2cImage *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 >= img->width ? img->width - 1 : x1;
    y1 = y1 >= img->height ? img->height - 1 : y1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            memcpy(img->rgb + ((size_t)y * img->width + x) * 3, rgb, 3);
}

/* An outline `line` px thick, inside the box's pixel bounds. */
static void draw_box(G2cImage *img, double sx, double sy, const G2cRepGlom *g, int line)
{
    uint8_t rgb[3];
    g2c_report_label_color(g->predicted, rgb);
    int x0 = (int)floor(g->x * sx), y0 = (int)floor(g->y * sy);
    int x1 = (int)ceil((g->x + g->w) * sx) - 1, y1 = (int)ceil((g->y + g->h) * sy) - 1;
    x1 = x1 < x0 ? x0 : x1;
    y1 = y1 < y0 ? y0 : y1;
    int t = line;
    if (2 * t > x1 - x0 + 1 || 2 * t > y1 - y0 + 1) { /* tiny box: solid */
        fill(img, x0, y0, x1, y1, rgb);
        return;
    }
    fill(img, x0, y0, x1, y0 + t - 1, rgb);
    fill(img, x0, y1 - t + 1, x1, y1, rgb);
    fill(img, x0, y0, x0 + t - 1, y1, rgb);
    fill(img, x1 - t + 1, y0, x1, y1, rgb);
}

int g2c_rep_thumbnail(const G2cReportOptions *opt, G2cRepData *d)
{
    int64_t W = d->slide.width > 0 ? d->slide.width : 1;
    int64_t H = d->slide.height > 0 ? d->slide.height : 1;
    int tw = opt->thumb_width > 0 ? opt->thumb_width : 1200;
    tw = tw > W ? (int)W : tw;
    int th = (int)llround((double)H * tw / (double)W);
    d->thumb_width = tw;
    d->thumb_height = th < 1 ? 1 : th;
    G2cImage img;
    if (slide_picture(opt, d, &img) != 0)
        return -1;
    /* The page's copy is JPEG (the boxes are SVG over it); overlay.png,
     * for programs and print, is lossless. */
    int rc = g2c_rep_jpeg_encode(&img, 85, &d->thumb_img, &d->thumb_img_size);
    int line = tw >= 800 ? 3 : 2;
    double sx = (double)tw / W, sy = (double)d->thumb_height / H;
    for (int i = 0; rc == 0 && i < d->n_gloms; i++)
        draw_box(&img, sx, sy, &d->gloms[i], line);
    if (rc == 0) /* zlib 3: tissue barely compresses anyway; level 6 took 3x longer */
        rc = g2c_png_encode(&img, 3, &d->overlay_png, &d->overlay_png_size);
    g2c_image_free(&img);
    return rc;
}

int g2c_rep_small_overlay(const G2cRepData *d, int width, uint8_t **jpeg, size_t *size)
{
    G2cImage full, small;
    if (g2c_png_decode(d->overlay_png, d->overlay_png_size, &full) != 0)
        return -1;
    int w = width < full.width ? width : full.width;
    int h = (int)llround((double)full.height * w / full.width);
    int rc = g2c_image_alloc(&small, w, h < 1 ? 1 : h, 255);
    if (rc == 0)
        rc = g2c_image_resize(&full, &small);
    g2c_image_free(&full);
    if (rc == 0)
        rc = g2c_rep_jpeg_encode(&small, 85, jpeg, size);
    g2c_image_free(&small);
    return rc;
}
