/* Contact sheets: a grid of thumbnails on white, for eyeballing a reference
 * set.  See g2c/refset.h. */
#include "g2c/refset.h"
#include "g2c/error.h"

enum { GUTTER = 2 };

/* Scale one image to fit a thumb x thumb cell (aspect kept) and paste it
 * centred at (x, y) of the sheet. */
static int paste_thumbnail(const G2cImage *img, int thumb, G2cImage *sheet, int x, int y)
{
    int w = thumb, h = thumb;
    if (img->width > img->height)
        h = (int)((long long)thumb * img->height / img->width);
    else if (img->height > img->width)
        w = (int)((long long)thumb * img->width / img->height);
    if (w < 1)
        w = 1;
    if (h < 1)
        h = 1;
    G2cImage small;
    if (g2c_image_alloc(&small, w, h, 255) != 0)
        return -1;
    if (g2c_image_resize(img, &small) != 0) {
        g2c_image_free(&small);
        return -1;
    }
    g2c_image_blit(&small, 0, 0, w, h, sheet, x + (thumb - w) / 2, y + (thumb - h) / 2);
    g2c_image_free(&small);
    return 0;
}

int g2c_contact_sheet(const G2cImage *images, int count, int thumb, int columns,
                      G2cImage *sheet)
{
    sheet->width = sheet->height = 0;
    sheet->rgb = NULL;
    if (count <= 0)
        return g2c_error("contact sheet: no images");
    if (thumb <= 0 || columns <= 0)
        return g2c_error("contact sheet: thumbnail size %d and columns %d must be positive",
                         thumb, columns);
    int cols = columns < count ? columns : count;
    int rows = (count + cols - 1) / cols;
    long long width = (long long)cols * thumb + (long long)(cols + 1) * GUTTER;
    long long height = (long long)rows * thumb + (long long)(rows + 1) * GUTTER;
    if (width > 1 << 20 || height > 1 << 20)
        return g2c_error("contact sheet: %lldx%lld pixels is too large", width, height);
    if (g2c_image_alloc(sheet, (int)width, (int)height, 255) != 0)
        return g2c_error_prefix("contact sheet: ");
    for (int i = 0; i < count; i++) {
        int x = GUTTER + (i % cols) * (thumb + GUTTER);
        int y = GUTTER + (i / cols) * (thumb + GUTTER);
        if (paste_thumbnail(&images[i], thumb, sheet, x, y) != 0) {
            g2c_image_free(sheet);
            return g2c_error_prefix("contact sheet: image %d: ", i);
        }
    }
    return 0;
}

int g2c_contact_sheet_write(const char *path, const G2cImage *images, int count, int thumb,
                            int columns)
{
    G2cImage sheet;
    if (g2c_contact_sheet(images, count, thumb, columns, &sheet) != 0)
        return g2c_error_prefix("%s: ", path);
    int rc = g2c_png_write(path, &sheet);
    g2c_image_free(&sheet);
    return rc;
}
