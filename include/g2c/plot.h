/* Line plots as PNG (loss curves, accuracies), drawn with g2c's own raster
 * code and a small built-in 3x5 pixel font, so no plotting library is
 * needed. */
#ifndef G2C_PLOT_H
#define G2C_PLOT_H

#include "g2c/image.h"

typedef struct {
    const char *name;    /* legend text: lower-case letters, digits, ._-:/ */
    const double *values; /* y for x = 1 .. count */
    int count;
} G2cSeries;

/* Plot the series on shared axes into a width x height image (allocated
 * here): a frame, the y range and x range written at the axes, one colour
 * per series, and a legend. */
int g2c_plot_lines(const char *title, const G2cSeries *series, int n_series, int width,
                   int height, G2cImage *out);
int g2c_plot_lines_png(const char *path, const char *title, const G2cSeries *series,
                       int n_series, int width, int height);

/* Draw text with the built-in font at (x, y), each font pixel scale x scale.
 * Characters the font lacks are drawn as blanks. */
void g2c_draw_text(G2cImage *img, int x, int y, const char *text, int scale,
                   const unsigned char rgb[3]);

#endif
