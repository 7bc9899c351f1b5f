/* Tile import: a folder of PNG and TIFF tiles (strip, tiled, RGBA, grey),
 * sorted and brought to one size; bad files are named in the error. */
#include "g2c/error.h"
#include "g2c/refset.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

static char folder[4096];

static const char *path_in(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static const char *make_dir(const char *name)
{
    snprintf(folder, sizeof folder, "%s/%s", g2c_test_tmpdir(), name);
    mkdir(folder, 0700);
    return folder;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* A w x h TIFF, every pixel `px` (spp bytes), strip or tiled. */
static void write_tiff(const char *path, int w, int h, int spp, int photometric,
                       const uint8_t *px, int tiled, int extra_alpha)
{
    TIFF *t = TIFFOpen(path, "w");
    CHECK(t != NULL);
    if (!t)
        return;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, (uint16_t)photometric);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, (uint16_t)PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, (uint16_t)COMPRESSION_ADOBE_DEFLATE);
    if (extra_alpha) {
        uint16_t kind = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, (uint16_t)1, &kind);
    }
    if (tiled) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, (uint32_t)16);
        TIFFSetField(t, TIFFTAG_TILELENGTH, (uint32_t)16);
        size_t n = (size_t)16 * 16 * spp;
        uint8_t *tile = malloc(n);
        for (size_t i = 0; i < n; i++)
            tile[i] = px[i % (size_t)spp];
        for (int y = 0; y < h; y += 16)
            for (int x = 0; x < w; x += 16)
                TIFFWriteTile(t, tile, (uint32_t)x, (uint32_t)y, 0, 0);
        free(tile);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)8);
        uint8_t *row = malloc((size_t)w * spp);
        for (int i = 0; i < w * spp; i++)
            row[i] = px[i % spp];
        for (int y = 0; y < h; y++)
            TIFFWriteScanline(t, row, (uint32_t)y, 0);
        free(row);
    }
    TIFFClose(t);
}

static int pixel_is(const G2cImage *img, int x, int y, int r, int g, int b, int tol)
{
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

/* A 100x80 PNG: the left 10 columns red, the rest blue. */
static void write_png_tile(const char *path)
{
    G2cImage img;
    g2c_image_alloc(&img, 100, 80, 0);
    for (int y = 0; y < 80; y++)
        for (int x = 0; x < 100; x++) {
            uint8_t *p = img.rgb + ((size_t)y * 100 + x) * 3;
            p[0] = x < 10 ? 255 : 0;
            p[2] = x < 10 ? 0 : 255;
        }
    CHECK_OK(g2c_png_write(path, &img));
    g2c_image_free(&img);
}

static void good_folder(const char *dir)
{
    write_png_tile(path_in(dir, "d.png"));
    write_png_tile(path_in(dir, "A.PNG"));
    const uint8_t rgb[3] = {10, 200, 30}, rgba[4] = {200, 0, 0, 128}, grey[1] = {77};
    write_tiff(path_in(dir, "b.tif"), 50, 40, 3, PHOTOMETRIC_RGB, rgb, 0, 0);
    write_tiff(path_in(dir, "c.TIFF"), 40, 48, 4, PHOTOMETRIC_RGB, rgba, 1, 1);
    write_tiff(path_in(dir, "e.tiff"), 64, 64, 1, PHOTOMETRIC_MINISBLACK, grey, 1, 0);
    write_bytes(path_in(dir, "notes.txt"), "not a tile", 10);
    write_bytes(path_in(dir, ".hidden.png"), "garbage", 7);
}

static void test_read_folder(void)
{
    const char *dir = make_dir("good");
    good_folder(dir);
    G2cTile *tiles;
    int n;
    CHECK_OK(g2c_tiles_read_dir(dir, 32, G2C_TILE_RESIZE, &tiles, &n));
    CHECK(n == 5);
    if (n != 5)
        return;
    const char *order[5] = {"A.PNG", "b.tif", "c.TIFF", "d.png", "e.tiff"};
    for (int i = 0; i < 5; i++) {
        CHECK(strcmp(tiles[i].name, order[i]) == 0);
        CHECK(tiles[i].image.width == 32 && tiles[i].image.height == 32);
    }
    /* The centre square of the PNG drops its red left edge. */
    CHECK(pixel_is(&tiles[0].image, 0, 0, 0, 0, 255, 0));
    CHECK(pixel_is(&tiles[1].image, 16, 16, 10, 200, 30, 0));
    /* Half-transparent red over white. */
    CHECK(pixel_is(&tiles[2].image, 5, 30, 227, 127, 127, 2));
    CHECK(pixel_is(&tiles[4].image, 31, 31, 77, 77, 77, 0));
    g2c_tiles_free(tiles, n);

    /* Native size, and centre crops. */
    CHECK_OK(g2c_tiles_read_dir(dir, 0, G2C_TILE_RESIZE, &tiles, &n));
    if (n == 5) {
        CHECK(tiles[0].image.width == 100 && tiles[0].image.height == 80);
        CHECK(tiles[2].image.width == 40 && tiles[2].image.height == 48);
    }
    g2c_tiles_free(tiles, n);
    CHECK_OK(g2c_tiles_read_dir(dir, 40, G2C_TILE_CROP, &tiles, &n));
    if (n == 5) {
        CHECK(tiles[0].image.width == 40 && tiles[0].image.height == 40);
        CHECK(pixel_is(&tiles[0].image, 0, 0, 0, 0, 255, 0)); /* x 30..69 of 100 */
    }
    g2c_tiles_free(tiles, n);

    /* A crop larger than a tile is an error naming the tile. */
    CHECK(g2c_tiles_read_dir(dir, 45, G2C_TILE_CROP, &tiles, &n) == -1);
    CHECK(tiles == NULL && n == 0);
    CHECK(strstr(g2c_error_message(), "b.tif: tile 50x40 is smaller than the 45 px crop") !=
          NULL);
}

static void expect_error(const char *dirname, const char *file, const void *bytes, size_t size,
                         const char *what)
{
    const char *dir = make_dir(dirname);
    write_png_tile(path_in(dir, "a.png"));
    write_bytes(path_in(dir, file), bytes, size);
    G2cTile *tiles;
    int n;
    CHECK(g2c_tiles_read_dir(dir, 32, G2C_TILE_RESIZE, &tiles, &n) == -1);
    CHECK(tiles == NULL);
    const char *msg = g2c_error_message();
    char expect[4200];
    snprintf(expect, sizeof expect, "%s/%s: ", dir, file);
    if (strstr(msg, expect) != msg || strstr(msg, what) == NULL) {
        fprintf(stderr, "message: %s\n", msg);
        CHECK(0);
    }
}

static void test_bad_files(void)
{
    expect_error("garbage", "b.png", "this is not an image", 20, "neither a PNG nor a TIFF");

    /* A real PNG cut short. */
    long size = 0;
    write_png_tile(path_in(g2c_test_tmpdir(), "whole.png"));
    uint8_t *png = g2c_test_read_file(path_in(g2c_test_tmpdir(), "whole.png"), &size);
    CHECK(png != NULL);
    if (png)
        expect_error("cut-png", "b.png", png, size / 2, "PNG");
    free(png);

    /* A real TIFF cut short, and one whose header points nowhere. */
    const uint8_t rgb[3] = {1, 2, 3};
    write_tiff(path_in(g2c_test_tmpdir(), "whole.tif"), 64, 64, 3, PHOTOMETRIC_RGB, rgb, 0, 0);
    uint8_t *tif = g2c_test_read_file(path_in(g2c_test_tmpdir(), "whole.tif"), &size);
    CHECK(tif != NULL);
    if (tif)
        expect_error("cut-tiff", "b.tif", tif, 60, "TIFF");
    /* Directory intact, first strip's compressed data (from offset 8) trashed:
     * the error comes from reading the pixels. */
    if (tif && size > 64) {
        memset(tif + 8, 0xff, 32);
        expect_error("bad-strip", "b.tif", tif, size, "TIFF: ZIPDecode");
    }
    free(tif);
    const uint8_t header[8] = {'I', 'I', 42, 0, 0xff, 0xff, 0, 0};
    expect_error("bad-ifd", "c.tiff", header, sizeof header, "TIFF");

    /* A folder with a tile's name. */
    const char *dir = make_dir("subfolder");
    mkdir(path_in(dir, "sub.png"), 0700);
    G2cTile *tiles;
    int n;
    CHECK(g2c_tiles_read_dir(dir, 32, G2C_TILE_RESIZE, &tiles, &n) == -1);
    CHECK(strstr(g2c_error_message(), "/sub.png: not a regular file") != NULL);

    CHECK(g2c_tiles_read_dir("/nonexistent/tiles", 32, G2C_TILE_RESIZE, &tiles, &n) == -1);
    CHECK(strstr(g2c_error_message(), "/nonexistent/tiles: cannot open folder") != NULL);

    /* An empty folder holds no tiles, which is not an error here. */
    CHECK_OK(g2c_tiles_read_dir(make_dir("empty"), 32, G2C_TILE_RESIZE, &tiles, &n));
    CHECK(n == 0);
    g2c_tiles_free(tiles, n);
}

int main(void)
{
    test_read_folder();
    test_bad_files();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("refset-tiles");
}
