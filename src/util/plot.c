/* Line plots and a tiny bitmap font. */
#include "g2c/plot.h"

#include "g2c/error.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 3x5 font of our own: each glyph is five rows of three bits (bit 2 is
 * the left column). */
typedef struct {
    char ch;
    unsigned char rows[5];
} Glyph;

static const Glyph font[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
    {'3', {7, 1, 3, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
    {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 2, 2}}, {'8', {7, 5, 7, 5, 7}},
    {'9', {7, 5, 7, 1, 7}}, {'a', {2, 5, 7, 5, 5}}, {'b', {6, 5, 6, 5, 6}},
    {'c', {3, 4, 4, 4, 3}}, {'d', {6, 5, 5, 5, 6}}, {'e', {7, 4, 6, 4, 7}},
    {'f', {7, 4, 6, 4, 4}}, {'g', {3, 4, 5, 5, 3}}, {'h', {5, 5, 7, 5, 5}},
    {'i', {7, 2, 2, 2, 7}}, {'j', {1, 1, 1, 5, 2}}, {'k', {5, 5, 6, 5, 5}},
    {'l', {4, 4, 4, 4, 7}}, {'m', {5, 7, 7, 5, 5}}, {'n', {6, 5, 5, 5, 5}},
    {'o', {2, 5, 5, 5, 2}}, {'p', {6, 5, 6, 4, 4}}, {'q', {2, 5, 5, 6, 3}},
    {'r', {6, 5, 6, 5, 5}}, {'s', {3, 4, 2, 1, 6}}, {'t', {7, 2, 2, 2, 2}},
    {'u', {5, 5, 5, 5, 7}}, {'v', {5, 5, 5, 5, 2}}, {'w', {5, 5, 7, 7, 5}},
    {'x', {5, 5, 2, 5, 5}}, {'y', {5, 5, 2, 2, 2}}, {'z', {7, 1, 2, 4, 7}},
    {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}}, {'_', {0, 0, 0, 0, 7}},
    {':', {0, 2, 0, 2, 0}}, {'/', {1, 1, 2, 4, 4}}, {'+', {0, 2, 7, 2, 0}},
    {'(', {1, 2, 2, 2, 1}}, {')', {4, 2, 2, 2, 4}}, {'%', {5, 1, 2, 4, 5}},
    {'=', {0, 7, 0, 7, 0}}, {'>', {4, 2, 1, 2, 4}}, {'<', {1, 2, 4, 2, 1}},
};

static const Glyph *glyph(char c)
{
    c = (char)tolower((unsigned char)c);
    for (size_t i = 0; i < sizeof font / sizeof *font; i++)
        if (font[i].ch == c)
            return &font[i];
    return NULL;
}

static void put(G2cImage *img, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height)
        return;
    memcpy(img->rgb + ((size_t)y * img->width + x) * 3, rgb, 3);
}

void g2c_draw_text(G2cImage *img, int x, int y, const char *text, int scale,
                   const unsigned char rgb[3])
{
    for (; *text; text++, x += 4 * scale) {
        const Glyph *g = glyph(*text);
        if (!g)
            continue;
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++)
                if (g->rows[r] & (4 >> c))
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                            put(img, x + c * scale + dx, y + r * scale + dy, rgb);
    }
}

/* Bresenham, two pixels thick. */
static void line(G2cImage *img, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        put(img, x0, y0, rgb);
        put(img, x0, y0 + 1, rgb);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static const unsigned char palette[][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
};

int g2c_plot_lines(const char *title, const G2cSeries *series, int n_series, int width,
                   int height, G2cImage *out)
{
    if (width < 200 || height < 150)
        return g2c_error("plot: %dx%d is too small", width, height);
    if (g2c_image_alloc(out, width, height, 255) != 0)
        return -1;
    double lo = INFINITY, hi = -INFINITY;
    int n_max = 1;
    for (int s = 0; s < n_series; s++) {
        for (int i = 0; i < series[s].count; i++)
            if (isfinite(series[s].values[i])) {
                lo = fmin(lo, series[s].values[i]);
                hi = fmax(hi, series[s].values[i]);
            }
        if (series[s].count > n_max)
            n_max = series[s].count;
    }
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12) {
        hi += 0.5;
        lo -= 0.5;
    }
    const unsigned char black[3] = {0, 0, 0}, grey[3] = {200, 200, 200};
    int left = 60, right = width - 150, top = 30, bottom = height - 30;
    g2c_draw_text(out, left, 8, title, 3, black);
    for (int k = 0; k <= 4; k++) { /* horizontal grid and y labels */
        int y = bottom - (bottom - top) * k / 4;
        line(out, left, y, right, y, grey);
        char label[32];
        snprintf(label, sizeof label, "%.3g", lo + (hi - lo) * k / 4);
        g2c_draw_text(out, 4, y - 5, label, 2, black);
    }
    line(out, left, top, left, bottom, black);
    line(out, left, bottom, right, bottom, black);
    char xlabel[32];
    snprintf(xlabel, sizeof xlabel, "1");
    g2c_draw_text(out, left, bottom + 8, xlabel, 2, black);
    snprintf(xlabel, sizeof xlabel, "%d", n_max);
    g2c_draw_text(out, right - 16, bottom + 8, xlabel, 2, black);
    g2c_draw_text(out, (left + right) / 2 - 20, bottom + 8, "epoch", 2, black);
    for (int s = 0; s < n_series; s++) {
        const unsigned char *c = palette[s % 8];
        int px = -1, py = -1;
        for (int i = 0; i < series[s].count; i++) {
            double v = series[s].values[i];
            if (!isfinite(v))
                continue;
            int x = n_max > 1 ? left + (right - left) * i / (n_max - 1) : (left + right) / 2;
            int y = bottom - (int)lround((bottom - top) * (v - lo) / (hi - lo));
            if (px >= 0)
                line(out, px, py, x, y, c);
            else
                put(out, x, y, c);
            px = x;
            py = y;
        }
        int ly = top + 16 * s; /* legend */
        for (int k = 0; k < 12; k++)
            for (int t = 0; t < 6; t++)
                put(out, right + 10 + k, ly + t, c);
        g2c_draw_text(out, right + 28, ly - 2, series[s].name, 2, black);
    }
    return 0;
}

int g2c_plot_lines_png(const char *path, const char *title, const G2cSeries *series,
                       int n_series, int width, int height)
{
    G2cImage img;
    if (g2c_plot_lines(title, series, n_series, width, height, &img) != 0)
        return g2c_error_prefix("%s: ", path);
    int rc = g2c_png_write(path, &img);
    g2c_image_free(&img);
    return rc;
}
