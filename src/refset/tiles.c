/* Import of a folder of existing tiles (PNG, TIFF) as reference-set images,
 * brought to one size.  See g2c/refset.h. */
#include "g2c/refset.h"
#include "g2c/error.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <tiffio.h>

enum { MAX_TILE_PIXELS = 1 << 28 };

/* ---- TIFF --------------------------------------------------------------- */

/* libtiff reports through handlers; these keep its first error per open
 * file (not the process-wide handler, which other modules may set). */
typedef struct {
    char message[512];
} TiffErrors;

static int tiff_on_error(TIFF *tif, void *user, const char *module, const char *fmt,
                         va_list ap)
{
    (void)tif;
    TiffErrors *e = user;
    if (e->message[0] == '\0') {
        char text[400];
        vsnprintf(text, sizeof text, fmt, ap);
        snprintf(e->message, sizeof e->message, "%s%s%s", module ? module : "",
                 module ? ": " : "", text);
    }
    return 1; /* handled: keep libtiff from printing it */
}

static int tiff_on_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                           va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1;
}

/* Copy libtiff's ABGR raster (premultiplied alpha) into RGB over white. */
static void raster_to_rgb(const uint32_t *raster, G2cImage *img)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = raster[i];
        int a = (int)TIFFGetA(v), back = 255 - a;
        int c[3] = {(int)TIFFGetR(v) + back, (int)TIFFGetG(v) + back, (int)TIFFGetB(v) + back};
        for (int k = 0; k < 3; k++)
            img->rgb[i * 3 + k] = (uint8_t)(c[k] > 255 ? 255 : c[k]);
    }
}

static int read_tiff_open(TIFF *tif, TiffErrors *errors, G2cImage *img)
{
    char emsg[1024] = "";
    if (!TIFFRGBAImageOK(tif, emsg))
        return g2c_error("TIFF: %s", emsg[0] ? emsg : "cannot convert to RGB");
    uint32_t w = 0, h = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    if (w == 0 || h == 0 || (uint64_t)w * h > MAX_TILE_PIXELS)
        return g2c_error("TIFF: size %ux%u out of range for a tile", (unsigned)w, (unsigned)h);
    uint32_t *raster = malloc((size_t)w * h * sizeof *raster);
    if (!raster)
        return g2c_error("TIFF: out of memory for %ux%u pixels", (unsigned)w, (unsigned)h);
    if (!TIFFReadRGBAImageOriented(tif, w, h, raster, ORIENTATION_TOPLEFT, 1)) {
        free(raster);
        return g2c_error("TIFF: %s", errors->message[0] ? errors->message
                                                        : "cannot read the pixels");
    }
    int rc = g2c_image_alloc(img, (int)w, (int)h, 255);
    if (rc == 0)
        raster_to_rgb(raster, img);
    free(raster);
    return rc;
}

static int read_tiff(const char *path, G2cImage *img)
{
    TiffErrors errors = {""};
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return g2c_error("%s: out of memory", path);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_on_error, &errors);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_on_warning, NULL);
    TIFF *tif = TIFFOpenExt(path, "r", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif)
        return g2c_error("%s: TIFF: %s", path,
                         errors.message[0] ? errors.message : "cannot open");
    int rc = read_tiff_open(tif, &errors, img);
    TIFFClose(tif);
    if (rc != 0)
        return g2c_error_prefix("%s: ", path);
    return 0;
}

/* ---- one tile ----------------------------------------------------------- */

int g2c_tile_read(const char *path, G2cImage *img)
{
    img->width = img->height = 0;
    img->rgb = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return g2c_error("%s: cannot open file", path);
    if (!S_ISREG(st.st_mode))
        return g2c_error("%s: not a regular file", path);
    unsigned char sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return g2c_error("%s: cannot open file", path);
    size_t got = fread(sig, 1, sizeof sig, f);
    fclose(f);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got == 8 && memcmp(sig, png_sig, 8) == 0)
        return g2c_png_read(path, img);
    /* Classic and BigTIFF, either byte order. */
    if (got >= 4 && ((sig[0] == 'I' && sig[1] == 'I' && (sig[2] == 42 || sig[2] == 43) &&
                      sig[3] == 0) ||
                     (sig[0] == 'M' && sig[1] == 'M' && sig[2] == 0 &&
                      (sig[3] == 42 || sig[3] == 43))))
        return read_tiff(path, img);
    return g2c_error("%s: neither a PNG nor a TIFF file", path);
}

/* Bring a tile to size x size as `fit` says; replaces *img. */
static int fit_tile(G2cImage *img, int size, G2cTileFit fit)
{
    if (size <= 0 || (img->width == size && img->height == size))
        return 0;
    int side = fit == G2C_TILE_CROP ? size
             : img->width < img->height ? img->width : img->height;
    if (fit == G2C_TILE_CROP && (img->width < size || img->height < size))
        return g2c_error("tile %dx%d is smaller than the %d px crop", img->width,
                         img->height, size);
    G2cImage square, out;
    if (g2c_image_alloc(&square, side, side, 255) != 0)
        return -1;
    g2c_image_blit(img, (img->width - side) / 2, (img->height - side) / 2, side, side,
                   &square, 0, 0);
    if (side == size) {
        g2c_image_free(img);
        *img = square;
        return 0;
    }
    if (g2c_image_alloc(&out, size, size, 255) != 0 || g2c_image_resize(&square, &out) != 0) {
        g2c_image_free(&square);
        g2c_image_free(&out);
        return -1;
    }
    g2c_image_free(&square);
    g2c_image_free(img);
    *img = out;
    return 0;
}

/* ---- folders ------------------------------------------------------------ */

static int is_tile_name(const char *name)
{
    if (name[0] == '.')
        return 0;
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".tif") == 0 ||
                   strcasecmp(dot, ".tiff") == 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The sorted tile file names of dir. */
static int list_tiles(const char *dir, char ***names_out, int *count)
{
    *names_out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return g2c_error("%s: cannot open folder", dir);
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_tile_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *grown);
            if (!grown)
                break;
            names = grown;
        }
        if ((names[n] = strdup(e->d_name)) == NULL)
            break;
        n++;
    }
    int failed = e != NULL;
    closedir(d);
    if (failed) {
        free_names(names, n);
        return g2c_error("%s: out of memory listing the folder", dir);
    }
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, by_name);
    *names_out = names;
    *count = n;
    return 0;
}

static int read_one(const char *dir, const char *name, int size, G2cTileFit fit,
                    G2cImage *img)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (!path)
        return g2c_error("out of memory");
    snprintf(path, len, "%s/%s", dir, name);
    int rc = g2c_tile_read(path, img);
    if (rc == 0 && fit_tile(img, size, fit) != 0) {
        g2c_error_prefix("%s: ", path);
        g2c_image_free(img);
        rc = -1;
    }
    free(path);
    return rc;
}

int g2c_tiles_read_dir(const char *dir, int size, G2cTileFit fit, G2cTile **tiles,
                       int *count)
{
    *tiles = NULL;
    *count = 0;
    char **names;
    int n;
    if (list_tiles(dir, &names, &n) != 0)
        return -1;
    G2cTile *out = calloc(n ? (size_t)n : 1, sizeof *out);
    if (!out) {
        free_names(names, n);
        return g2c_error("out of memory for %d tiles", n);
    }
    for (int i = 0; i < n; i++) {
        if (read_one(dir, names[i], size, fit, &out[i].image) != 0) {
            g2c_tiles_free(out, i); /* frees the names already moved */
            for (int j = i; j < n; j++)
                free(names[j]);
            free(names);
            return -1;
        }
        out[i].name = names[i];
    }
    free(names);
    *tiles = out;
    *count = n;
    return 0;
}

void g2c_tiles_free(G2cTile *tiles, int count)
{
    if (!tiles)
        return;
    for (int i = 0; i < count; i++) {
        free(tiles[i].name);
        g2c_image_free(&tiles[i].image);
    }
    free(tiles);
}
