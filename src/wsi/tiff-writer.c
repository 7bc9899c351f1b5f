/* Tiled pyramidal TIFF writer (see include/g2c/tiffwriter.h). */
#include "g2c/tiffwriter.h"
#include "g2c/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

enum { DEFAULT_TILE = 256, DEFAULT_JPEG_QUALITY = 90 };

void g2c_tiff_options_init(G2cTiffOptions *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->tile_size = DEFAULT_TILE;
    opt->compression = G2C_TIFF_DEFLATE;
    opt->jpeg_quality = DEFAULT_JPEG_QUALITY;
}

const char *g2c_tiff_compression_name(G2cTiffCompression c)
{
    switch (c) {
    case G2C_TIFF_DEFLATE: return "deflate";
    case G2C_TIFF_LZW: return "lzw";
    case G2C_TIFF_JPEG: return "jpeg";
    }
    return "?";
}

int g2c_tiff_compression_parse(const char *name, G2cTiffCompression *c)
{
    static const G2cTiffCompression all[] = {G2C_TIFF_DEFLATE, G2C_TIFF_LZW, G2C_TIFF_JPEG};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, g2c_tiff_compression_name(all[i])) == 0) {
            *c = all[i];
            return 0;
        }
    return g2c_error("unknown TIFF compression '%s' (deflate, lzw, jpeg)", name);
}

void g2c_tiff_level_size(int width, int height, int level, int *lw, int *lh)
{
    for (int i = 0; i < level; i++) {
        width = width / 2 > 0 ? width / 2 : 1;
        height = height / 2 > 0 ? height / 2 : 1;
    }
    *lw = width;
    *lh = height;
}

static int tile_of(const G2cTiffOptions *opt)
{
    return opt->tile_size > 0 ? opt->tile_size : DEFAULT_TILE;
}

int g2c_tiff_level_count(int width, int height, const G2cTiffOptions *opt)
{
    int tile = tile_of(opt);
    int n = 1;
    /* Stop once a level fits in one tile, or when halving no longer
     * shrinks anything (a 1-pixel-high strip). */
    while ((width > tile || height > tile) && (width > 1 || height > 1) &&
           n < G2C_TIFF_MAX_LEVELS) {
        if (opt->levels > 0 && n >= opt->levels)
            break;
        width = width / 2 > 0 ? width / 2 : 1;
        height = height / 2 > 0 ? height / 2 : 1;
        n++;
    }
    return n;
}

/* ---- libtiff messages into g2c errors ---------------------------------- */

typedef struct {
    char message[512];
} TiffMessages;

static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt,
                         va_list ap)
{
    (void)tif;
    TiffMessages *m = user;
    char text[400];
    vsnprintf(text, sizeof text, fmt, ap);
    /* Keep the first message: later ones are usually consequences. */
    if (!m->message[0])
        snprintf(m->message, sizeof m->message, "%s: %s", module ? module : "libtiff", text);
    return 1;
}

static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                           va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1; /* silence: warnings about unknown tags are not ours to print */
}

static int tiff_fail(const TiffMessages *m, const char *what)
{
    if (m->message[0])
        return g2c_error("%s (%s)", what, m->message);
    return g2c_error("%s", what);
}

/* ---- one level ---------------------------------------------------------- */

static int set_level_tags(TIFF *tif, const G2cImage *lvl, int level, const G2cTiffOptions *opt,
                          int level0_width, const char *description)
{
    int tile = tile_of(opt);
    int ok = 1;
    ok &= TIFFSetField(tif, TIFFTAG_SUBFILETYPE, level == 0 ? 0 : FILETYPE_REDUCEDIMAGE);
    ok &= TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)lvl->width);
    ok &= TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)lvl->height);
    ok &= TIFFSetField(tif, TIFFTAG_TILEWIDTH, (uint32_t)tile);
    ok &= TIFFSetField(tif, TIFFTAG_TILELENGTH, (uint32_t)tile);
    ok &= TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    ok &= TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    ok &= TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    ok &= TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    ok &= TIFFSetField(tif, TIFFTAG_SOFTWARE, "g2c");
    if (level == 0)
        ok &= TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, description);
    if (opt->mpp > 0) {
        /* Every level carries the resolution of its own pixels. */
        double scale = (double)lvl->width / level0_width;
        float ppcm = (float)(10000.0 / opt->mpp * scale);
        ok &= TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
        ok &= TIFFSetField(tif, TIFFTAG_XRESOLUTION, ppcm);
        ok &= TIFFSetField(tif, TIFFTAG_YRESOLUTION, ppcm);
    }
    switch (opt->compression) {
    case G2C_TIFF_JPEG: {
        int q = opt->jpeg_quality > 0 && opt->jpeg_quality <= 100 ? opt->jpeg_quality
                                                                  : DEFAULT_JPEG_QUALITY;
        ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
        ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
        ok &= TIFFSetField(tif, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
        ok &= TIFFSetField(tif, TIFFTAG_JPEGQUALITY, q);
        /* libtiff converts our RGB to YCbCr itself. */
        ok &= TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        break;
    }
    case G2C_TIFF_LZW:
        ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
        ok &= TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        break;
    case G2C_TIFF_DEFLATE:
        ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        ok &= TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        ok &= TIFFSetField(tif, TIFFTAG_ZIPQUALITY, 4);
        break;
    }
    return ok ? 0 : -1;
}

/* Copy one tile out of the level; the parts past the right and bottom edges
 * are white, like slide background. */
static void fill_tile(const G2cImage *lvl, int tx, int ty, int tile, uint8_t *buf)
{
    int w = lvl->width - tx < tile ? lvl->width - tx : tile;
    int h = lvl->height - ty < tile ? lvl->height - ty : tile;
    size_t row_bytes = (size_t)tile * 3;
    for (int y = 0; y < tile; y++) {
        uint8_t *dst = buf + (size_t)y * row_bytes;
        if (y < h) {
            memcpy(dst, lvl->rgb + ((size_t)(ty + y) * lvl->width + tx) * 3, (size_t)w * 3);
            memset(dst + (size_t)w * 3, 255, row_bytes - (size_t)w * 3);
        } else {
            memset(dst, 255, row_bytes);
        }
    }
}

static int write_level(TIFF *tif, const G2cImage *lvl, int level, const G2cTiffOptions *opt,
                       int level0_width, const char *description, const TiffMessages *msgs)
{
    int tile = tile_of(opt);
    if (set_level_tags(tif, lvl, level, opt, level0_width, description) != 0)
        return tiff_fail(msgs, "cannot set the TIFF tags");
    uint8_t *buf = malloc((size_t)tile * tile * 3);
    if (!buf)
        return g2c_error("out of memory for a %dx%d tile", tile, tile);
    for (int ty = 0; ty < lvl->height; ty += tile)
        for (int tx = 0; tx < lvl->width; tx += tile) {
            fill_tile(lvl, tx, ty, tile, buf);
            if (TIFFWriteTile(tif, buf, (uint32_t)tx, (uint32_t)ty, 0, 0) < 0) {
                free(buf);
                return tiff_fail(msgs, "cannot write a tile");
            }
        }
    free(buf);
    if (!TIFFWriteDirectory(tif))
        return tiff_fail(msgs, "cannot write the TIFF directory");
    return 0;
}

/* ---- the pyramid -------------------------------------------------------- */

static int write_pyramid(TIFF *tif, const G2cImage *img, const G2cTiffOptions *opt,
                         const char *description, const TiffMessages *msgs)
{
    int levels = g2c_tiff_level_count(img->width, img->height, opt);
    if (write_level(tif, img, 0, opt, img->width, description, msgs) != 0)
        return g2c_error_prefix("level 0: ");
    /* Level k+1 is made from level k, then level k is dropped: only two
     * reduced levels are alive at any time. */
    const G2cImage *prev = img;
    G2cImage held = {0};
    for (int level = 1; level < levels; level++) {
        G2cImage next;
        int w, h;
        g2c_tiff_level_size(img->width, img->height, level, &w, &h);
        if (g2c_image_alloc(&next, w, h, 255) != 0 || g2c_image_resize(prev, &next) != 0) {
            g2c_image_free(&next);
            g2c_image_free(&held);
            return g2c_error_prefix("level %d: ", level);
        }
        g2c_image_free(&held);
        held = next;
        prev = &held;
        if (write_level(tif, &held, level, opt, img->width, description, msgs) != 0) {
            g2c_image_free(&held);
            return g2c_error_prefix("level %d: ", level);
        }
    }
    g2c_image_free(&held);
    return 0;
}

static uint64_t pyramid_bytes(const G2cImage *img, const G2cTiffOptions *opt)
{
    uint64_t total = 0;
    int tile = tile_of(opt);
    int levels = g2c_tiff_level_count(img->width, img->height, opt);
    for (int level = 0; level < levels; level++) {
        int w, h;
        g2c_tiff_level_size(img->width, img->height, level, &w, &h);
        uint64_t tw = (uint64_t)(w + tile - 1) / tile, th = (uint64_t)(h + tile - 1) / tile;
        total += tw * th * (uint64_t)tile * tile * 3;
    }
    return total;
}

static int check_args(const char *path, const G2cImage *img, const G2cTiffOptions *opt)
{
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return g2c_error("%s: empty image", path);
    int tile = tile_of(opt);
    if (tile % 16 != 0 || tile > 4096)
        return g2c_error("%s: tile size %d is not a multiple of 16 up to 4096", path, tile);
    if (opt->mpp < 0 || opt->mpp != opt->mpp)
        return g2c_error("%s: bad resolution %g µm/px", path, opt->mpp);
    if (opt->compression != G2C_TIFF_DEFLATE && opt->compression != G2C_TIFF_LZW &&
        opt->compression != G2C_TIFF_JPEG)
        return g2c_error("%s: unknown compression %d", path, (int)opt->compression);
    return 0;
}

/* Create an empty temporary file beside path, readable like a normal new
 * file (mkstemp makes it 0600). */
static int make_temp(const char *path, char *tmp, size_t tmp_size)
{
    if ((size_t)snprintf(tmp, tmp_size, "%s.tmp-XXXXXX", path) >= tmp_size)
        return g2c_error("%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return g2c_error("%s: cannot create a temporary file: %s", path, strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return g2c_error("%s: cannot set permissions: %s", tmp, strerror(err));
    }
    close(fd);
    return 0;
}

int g2c_tiff_write(const char *path, const G2cImage *img, const G2cTiffOptions *opt_in)
{
    G2cTiffOptions opt;
    if (opt_in)
        opt = *opt_in;
    else
        g2c_tiff_options_init(&opt);
    if (check_args(path, img, &opt) != 0)
        return -1;
    char description[512];
    if (opt.description)
        snprintf(description, sizeof description, "%s", opt.description);
    else
        snprintf(description, sizeof description,
                 "g2c tiled pyramidal TIFF (g2c_tiff_write), %dx%d, %s", img->width,
                 img->height, g2c_tiff_compression_name(opt.compression));

    char tmp[4096];
    if (make_temp(path, tmp, sizeof tmp) != 0)
        return -1;
    TiffMessages msgs = {{0}};
    TIFFOpenOptions *oo = TIFFOpenOptionsAlloc();
    if (!oo) {
        unlink(tmp);
        return g2c_error("%s: out of memory", path);
    }
    TIFFOpenOptionsSetErrorHandlerExtR(oo, on_tiff_error, &msgs);
    TIFFOpenOptionsSetWarningHandlerExtR(oo, on_tiff_warning, &msgs);
    /* Classic TIFF offsets are 32-bit: go BigTIFF where the data could
     * pass 4 GiB (OpenSlide reads both). */
    const char *mode = pyramid_bytes(img, &opt) > ((uint64_t)3 << 30) ? "w8" : "w";
    TIFF *tif = TIFFOpenExt(tmp, mode, oo);
    TIFFOpenOptionsFree(oo);
    if (!tif) {
        tiff_fail(&msgs, "cannot open for writing");
        unlink(tmp);
        return g2c_error_prefix("%s: ", path);
    }
    int rc = write_pyramid(tif, img, &opt, description, &msgs);
    TIFFClose(tif);
    if (rc == 0 && msgs.message[0])
        rc = tiff_fail(&msgs, "write failed");
    if (rc == 0 && rename(tmp, path) != 0)
        rc = g2c_error("cannot rename %s: %s", tmp, strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        return g2c_error_prefix("%s: ", path);
    }
    return 0;
}
