/* JPEG for the pictures inside reports, through libjpeg-turbo.
 *
 * Tissue barely compresses as PNG (a 96 px crop is about 20 kB); as JPEG at
 * quality 85 it is a few kB, which keeps a 500-glomeruli page small enough
 * to open quickly.  The catalog itself keeps lossless PNG. */
#include "report-private.h"

#include "g2c/error.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
} ErrorManager;

static void on_error(j_common_ptr cinfo)
{
    ErrorManager *err = (ErrorManager *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    g2c_error("JPEG: %s", message);
    longjmp(err->jump, 1);
}

int g2c_rep_jpeg_encode(const G2cImage *img, int quality, uint8_t **jpeg, size_t *size)
{
    *jpeg = NULL;
    *size = 0;
    if (img->width <= 0 || img->height <= 0 || !img->rgb)
        return g2c_error("JPEG: cannot encode a %dx%d image", img->width, img->height);
    struct jpeg_compress_struct cinfo;
    ErrorManager err;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = on_error;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &length);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = img->rgb + (size_t)cinfo.next_scanline * (size_t)img->width * 3;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *jpeg = buffer;
    *size = length;
    return 0;
}
