/* Contact sheets: grid geometry, white gutters, thumbnails in their cells,
 * aspect kept, and the PNG file. */
#include "g2c/error.h"
#include "g2c/refset.h"
#include "testutil.h"

#include <string.h>

static int pixel_is(const G2cImage *img, int x, int y, int r, int g, int b)
{
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    return p[0] == r && p[1] == g && p[2] == b;
}

int main(void)
{
    G2cImage imgs[5];
    for (int i = 0; i < 5; i++) {
        CHECK_OK(g2c_image_alloc(&imgs[i], 40, 40, 0));
        for (size_t k = 0; k < 40 * 40; k++)
            imgs[i].rgb[k * 3] = (uint8_t)(50 * i); /* red channel tells them apart */
    }
    /* The last one is wide: it fills the cell's width, centred vertically. */
    g2c_image_free(&imgs[4]);
    CHECK_OK(g2c_image_alloc(&imgs[4], 80, 40, 0));

    G2cImage sheet;
    CHECK_OK(g2c_contact_sheet(imgs, 5, 16, 3, &sheet));
    CHECK(sheet.width == 3 * 16 + 4 * 2);
    CHECK(sheet.height == 2 * 16 + 3 * 2);
    if (sheet.width == 56 && sheet.height == 38) {
        int white_gutters = 1;
        for (int y = 0; y < sheet.height; y++)
            for (int x = 0; x < sheet.width; x++) {
                int gx = x % 18 < 2, gy = y % 18 < 2;
                if ((gx || gy) && !pixel_is(&sheet, x, y, 255, 255, 255))
                    white_gutters = 0;
            }
        CHECK(white_gutters);
        CHECK(pixel_is(&sheet, 2, 2, 0, 0, 0));             /* image 0, first cell */
        CHECK(pixel_is(&sheet, 2 + 18 * 2 + 15, 17, 100, 0, 0)); /* image 2 */
        CHECK(pixel_is(&sheet, 2, 20 + 15, 150, 0, 0));      /* image 3, second row */
        /* Image 4 is 16x8 in a 16x16 cell: white above and below it. */
        CHECK(pixel_is(&sheet, 20 + 8, 20 + 1, 255, 255, 255));
        CHECK(pixel_is(&sheet, 20 + 8, 20 + 8, 0, 0, 0));
        CHECK(pixel_is(&sheet, 20 + 8, 20 + 14, 255, 255, 255));
    }
    g2c_image_free(&sheet);

    /* Fewer images than columns: the sheet is as wide as the images. */
    CHECK_OK(g2c_contact_sheet(imgs, 2, 10, 8, &sheet));
    CHECK(sheet.width == 2 * 10 + 3 * 2 && sheet.height == 10 + 2 * 2);
    g2c_image_free(&sheet);

    char path[4200];
    snprintf(path, sizeof path, "%s/sheet.png", g2c_test_tmpdir());
    CHECK_OK(g2c_contact_sheet_write(path, imgs, 5, 24, 2));
    G2cImage back;
    CHECK_OK(g2c_png_read(path, &back));
    CHECK(back.width == 2 * 24 + 3 * 2 && back.height == 3 * 24 + 4 * 2);
    g2c_image_free(&back);
    remove(path);

    CHECK(g2c_contact_sheet(imgs, 0, 16, 3, &sheet) == -1);
    CHECK(g2c_contact_sheet(imgs, 5, 0, 3, &sheet) == -1);
    CHECK(g2c_contact_sheet_write("/nonexistent/dir/sheet.png", imgs, 5, 16, 3) == -1);
    CHECK(strstr(g2c_error_message(), "/nonexistent/dir/sheet.png") != NULL);

    for (int i = 0; i < 5; i++)
        g2c_image_free(&imgs[i]);
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("refset-sheet");
}
