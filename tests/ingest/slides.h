/* Test slides made on the fly: a deterministic pattern written as a tiled
 * pyramidal TIFF, so the ingestion tests need nothing outside the repo. */
#ifndef G2C_TEST_SLIDES_H
#define G2C_TEST_SLIDES_H

#include "g2c/image.h"

#include <stdint.h>

/* A width x height image: white glass with a tissue-coloured band whose
 * texture depends on seed (so two seeds give two different slides). */
void test_slide_image(G2cImage *img, int width, int height, uint64_t seed);
/* Write it to path (mpp 0.5, lossless); returns 0 or -1. */
int test_slide_write(const char *path, int width, int height, uint64_t seed);
/* Write text to a file. */
void test_write_text(const char *path, const char *text);
/* Read a whole file into a NUL-terminated string (caller frees). */
char *test_read_text(const char *path);

#endif
