#include "g2c/image.h"
#include "g2c/error.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int g2c_image_alloc(G2cImage *img, int width, int height, uint8_t fill)
{
    img->width = 0;
    img->height = 0;
    img->rgb = NULL;
    if (width <= 0 || height <= 0 || width > 1 << 20 || height > 1 << 20)
        return g2c_error("image size %dx%d out of range", width, height);
    size_t n = (size_t)width * (size_t)height * 3;
    img->rgb = malloc(n);
    if (!img->rgb)
        return g2c_error("out of memory for a %dx%d image", width, height);
    memset(img->rgb, fill, n);
    img->width = width;
    img->height = height;
    return 0;
}

void g2c_image_free(G2cImage *img)
{
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

/* ---- PNG writing ------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
} MemWriter;

static void mem_write(png_structp png, png_bytep bytes, png_size_t n)
{
    MemWriter *w = png_get_io_ptr(png);
    if (w->failed)
        return;
    if (w->size + n > w->capacity) {
        size_t cap = w->capacity ? w->capacity : 4096;
        while (cap < w->size + n)
            cap *= 2;
        uint8_t *grown = realloc(w->data, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->data = grown;
        w->capacity = cap;
    }
    memcpy(w->data + w->size, bytes, n);
    w->size += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

static void png_error_fn(png_structp png, png_const_charp msg)
{
    g2c_error("PNG: %s", msg);
    png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int encode_rows(png_structp png, png_infop info, const G2cImage *img, int level)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level < 0 ? 6 : level);
    /* At the fast levels (the catalog's crops use 1; every caller at
     * levels 1-3 stores slide pixels) one filter for every row ("Up")
     * instead of libpng's per-row trial of all five, and deflate's
     * run-length strategy, encode crops in 40-46 % of the time of the
     * defaults at the same size (+0.4 to +3 %; docs/benchmarks.md,
     * Ingestion). */
    if (level >= 1 && level <= 3) {
        png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
        png_set_compression_strategy(png, Z_RLE);
    }
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++)
        png_write_row(png, img->rgb + (size_t)y * (size_t)img->width * 3);
    png_write_end(png, info);
    return 0;
}

int g2c_png_encode(const G2cImage *img, int level, uint8_t **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_fn,
                                              png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return g2c_error("PNG: out of memory");
    }
    MemWriter w = {0};
    png_set_write_fn(png, &w, mem_write, mem_flush);
    int rc = encode_rows(png, info, img, level);
    png_destroy_write_struct(&png, &info);
    if (rc == 0 && w.failed)
        rc = g2c_error("PNG: out of memory");
    if (rc != 0) {
        free(w.data);
        return -1;
    }
    *out = w.data;
    *out_size = w.size;
    return 0;
}

/* ---- PNG reading ------------------------------------------------------- */

/* libpng's simplified API reads any colour type and composites alpha over
 * a background, which is what every caller here wants. */
static int decode_image(png_image *pi, G2cImage *img)
{
    if (PNG_IMAGE_FAILED(*pi))
        return g2c_error("PNG: %s", pi->message);
    pi->format = PNG_FORMAT_RGB;
    if (g2c_image_alloc(img, (int)pi->width, (int)pi->height, 0) != 0) {
        png_image_free(pi);
        return -1;
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(pi, &white, img->rgb, 0, NULL)) {
        g2c_error("PNG: %s", pi->message);
        png_image_free(pi);
        g2c_image_free(img);
        return -1;
    }
    return 0;
}

int g2c_png_decode(const uint8_t *data, size_t size, G2cImage *img)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    png_image_begin_read_from_memory(&pi, data, size);
    return decode_image(&pi, img);
}

int g2c_png_read(const char *path, G2cImage *img)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    png_image_begin_read_from_file(&pi, path);
    if (decode_image(&pi, img) != 0)
        return g2c_error_prefix("%s: ", path);
    return 0;
}

int g2c_png_write(const char *path, const G2cImage *img)
{
    uint8_t *png;
    size_t size;
    if (g2c_png_encode(img, -1, &png, &size) != 0)
        return g2c_error_prefix("%s: ", path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(png);
        return g2c_error("%s: cannot create file", path);
    }
    size_t written = fwrite(png, 1, size, f);
    free(png);
    if (fclose(f) != 0 || written != size) {
        remove(path);
        return g2c_error("%s: write failed", path);
    }
    return 0;
}

/* ---- resampling -------------------------------------------------------- */

/* Area filter: the weight of source cell i in destination cell j is the
 * overlap of [i, i+1) with [j*s, (j+1)*s), s = src/dst, along each axis, and
 * a pixel's weight is the product of its two.  That product separates, so
 * the weights are worked out once per axis (`taps` per destination cell,
 * already divided by their sum) and the image is filtered one axis at a
 * time: each output row first sums its source rows (contiguous, which the
 * compiler vectorises), then that one row is filtered across.  Float sums
 * of the same weights put a value within 1 of the exact area average
 * (tests/util compares against a float64 reference). */
typedef struct {
    int first, count; /* source cells first .. first + count - 1 */
} AreaSpan;

static float *area_weights(int src_n, int dst_n, AreaSpan *span, int *taps_out)
{
    double s = (double)src_n / dst_n;
    int taps = (int)ceil(s) + 1;
    float *w = calloc((size_t)dst_n * (size_t)taps, sizeof *w);
    if (!w)
        return NULL;
    for (int j = 0; j < dst_n; j++) {
        double a = j * s, b = (j + 1) * s, total = 0;
        int first = (int)a, k = 0;
        for (int i = first; i < src_n && i < b && k < taps; i++, k++)
            total += (i + 1 < b ? i + 1 : b) - (i > a ? i : a);
        for (int q = 0; q < k; q++) {
            int i = first + q;
            double overlap = (i + 1 < b ? i + 1 : b) - (i > a ? i : a);
            w[(size_t)j * taps + q] = (float)(overlap / total);
        }
        span[j].first = first;
        span[j].count = k;
    }
    *taps_out = taps;
    return w;
}

static uint8_t to_byte(float v)
{
    int i = (int)(v + 0.5f);
    return (uint8_t)(i > 255 ? 255 : i < 0 ? 0 : i);
}

/* Output row y: its source rows summed into acc (one float per byte of a
 * source row), then acc filtered across into the row's pixels. */
static void area_row(const G2cImage *src, G2cImage *dst, int y, const AreaSpan *ys,
                     const float *wy, const AreaSpan *xs, const float *wx, int xtaps,
                     float *acc)
{
    size_t len = (size_t)src->width * 3;
    const uint8_t *r0 = src->rgb + (size_t)ys->first * len;
    for (size_t x = 0; x < len; x++)
        acc[x] = wy[0] * r0[x];
    for (int k = 1; k < ys->count; k++) {
        const uint8_t *r = r0 + (size_t)k * len;
        float w = wy[k];
        for (size_t x = 0; x < len; x++)
            acc[x] += w * r[x];
    }
    uint8_t *q = dst->rgb + (size_t)y * dst->width * 3;
    for (int j = 0; j < dst->width; j++, q += 3) {
        const float *w = wx + (size_t)j * xtaps, *p = acc + (size_t)xs[j].first * 3;
        float r = 0, g = 0, b = 0;
        for (int k = 0; k < xs[j].count; k++, p += 3) {
            r += w[k] * p[0];
            g += w[k] * p[1];
            b += w[k] * p[2];
        }
        q[0] = to_byte(r);
        q[1] = to_byte(g);
        q[2] = to_byte(b);
    }
}

static int resize_area(const G2cImage *src, G2cImage *dst)
{
    AreaSpan *xs = malloc((size_t)dst->width * sizeof *xs);
    AreaSpan *ys = malloc((size_t)dst->height * sizeof *ys);
    int xtaps = 0, ytaps = 0;
    float *wx = xs ? area_weights(src->width, dst->width, xs, &xtaps) : NULL;
    float *wy = ys ? area_weights(src->height, dst->height, ys, &ytaps) : NULL;
    float *acc = malloc((size_t)src->width * 3 * sizeof *acc);
    int ok = xs && ys && wx && wy && acc;
    for (int y = 0; ok && y < dst->height; y++)
        area_row(src, dst, y, &ys[y], wy + (size_t)y * ytaps, xs, wx, xtaps, acc);
    free(xs);
    free(ys);
    free(wx);
    free(wy);
    free(acc);
    return ok ? 0 : g2c_error("out of memory resizing %dx%d to %dx%d", src->width,
                              src->height, dst->width, dst->height);
}

static void resize_bilinear(const G2cImage *src, G2cImage *dst)
{
    double sx = (double)src->width / dst->width;
    double sy = (double)src->height / dst->height;
    for (int y = 0; y < dst->height; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        if (fy < 0)
            fy = 0;
        int y0 = (int)fy;
        int y1 = y0 + 1 < src->height ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < dst->width; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            if (fx < 0)
                fx = 0;
            int x0 = (int)fx;
            int x1 = x0 + 1 < src->width ? x0 + 1 : x0;
            double tx = fx - x0;
            const uint8_t *a = src->rgb + ((size_t)y0 * src->width + x0) * 3;
            const uint8_t *b = src->rgb + ((size_t)y0 * src->width + x1) * 3;
            const uint8_t *c = src->rgb + ((size_t)y1 * src->width + x0) * 3;
            const uint8_t *d = src->rgb + ((size_t)y1 * src->width + x1) * 3;
            uint8_t *q = dst->rgb + ((size_t)y * dst->width + x) * 3;
            for (int k = 0; k < 3; k++) {
                double top = a[k] + (b[k] - a[k]) * tx;
                double bottom = c[k] + (d[k] - c[k]) * tx;
                q[k] = (uint8_t)(top + (bottom - top) * ty + 0.5);
            }
        }
    }
}

int g2c_image_resize(const G2cImage *src, G2cImage *dst)
{
    if (src->width <= 0 || src->height <= 0 || dst->width <= 0 || dst->height <= 0)
        return g2c_error("resize: empty image");
    if (src->width == dst->width && src->height == dst->height) {
        memcpy(dst->rgb, src->rgb, (size_t)src->width * src->height * 3);
        return 0;
    }
    if (dst->width <= src->width && dst->height <= src->height)
        return resize_area(src, dst);
    resize_bilinear(src, dst);
    return 0;
}

void g2c_image_blit(const G2cImage *src, int x, int y, int w, int h,
                    G2cImage *dst, int dx, int dy)
{
    for (int row = 0; row < h; row++) {
        int sy = y + row, ty = dy + row;
        if (sy < 0 || sy >= src->height || ty < 0 || ty >= dst->height)
            continue;
        for (int col = 0; col < w; col++) {
            int sx = x + col, tx = dx + col;
            if (sx < 0 || sx >= src->width || tx < 0 || tx >= dst->width)
                continue;
            memcpy(dst->rgb + ((size_t)ty * dst->width + tx) * 3,
                   src->rgb + ((size_t)sy * src->width + sx) * 3, 3);
        }
    }
}
