#include "test-pretrain-fixture.h"

#include "ingest/slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/image.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *dir;
static char db[4096];

const char *pf_dir(void)
{
    return dir;
}

const char *pf_db(void)
{
    return db;
}

const char *pf_path(const char *fmt, ...)
{
    static char buf[4][4096];
    static int next;
    char rel[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", dir, rel);
    return out;
}

int pf_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void pf_make_tiles(const char *sub, int count, int size, uint64_t seed, int swap)
{
    mkdir(pf_path("%s", sub), 0777);
    for (int i = 0; i < count; i++) {
        G2cImage whole, tile;
        test_slide_image(&whole, size, size * 2, seed * 1000 + (uint64_t)i);
        g2c_image_alloc(&tile, size, size, 0);
        g2c_image_blit(&whole, 0, size, size, size, &tile, 0, 0);
        for (int p = 0; swap && p < size * size; p++) {
            uint8_t *px = tile.rgb + 3 * p, t = px[0];
            px[0] = px[2];
            px[2] = t;
        }
        if (g2c_png_write(pf_path("%s/t%02d.png", sub, i), &tile) != 0) {
            fprintf(stderr, "cannot write a tile into %s\n", sub);
            exit(1);
        }
        g2c_image_free(&whole);
        g2c_image_free(&tile);
    }
}

int pf_g2c(const char *tag, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return g2c_test_system("\"%s\" --quiet --db %s %s >%s/%s.out 2>%s/%s.err",
                           getenv("G2C_EXE"), db, args, dir, tag, dir, tag);
}

void pf_expect(const char *tag, const char *stream, const char *needle)
{
    char *text = test_read_text(pf_path("%s.%s", tag, stream));
    if (!strstr(text, needle)) {
        fprintf(stderr, "%s.%s: expected \"%s\" in:\n%s\n", tag, stream, needle, text);
        g2c_test_failures++;
    }
    free(text);
}

int64_t pf_scalar(const char *sql)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    int64_t v = -1;
    sqlite3_stmt *st = cat ? g2c_catalog_prepare(cat, sql) : NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
    return v;
}

int pf_same_bytes(const char *a, const char *b)
{
    long na = 0, nb = 0;
    unsigned char *x = g2c_test_read_file(a, &na), *y = g2c_test_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, (size_t)na) == 0;
    free(x);
    free(y);
    return same;
}

int pf_have_torch(void)
{
    if (!pf_exists("/usr/bin/python3"))
        return 0;
    return g2c_test_system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

void pf_init(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/catalog.db", dir);
    if (!getenv("G2C_EXE"))
        g2c_test_skip("G2C_EXE is not set (run through meson test)");
    pf_make_tiles("pas", 12, 40, 1, 0);
    pf_make_tiles("he", 12, 40, 2, 1);
    if (pf_g2c("import-pas", "refset pas-a --stain PAS --import %s/pas", dir) != 0 ||
        pf_g2c("import-he", "refset he-a --stain HE --import %s/he", dir) != 0) {
        fprintf(stderr, "cannot import the test reference sets\n");
        exit(1);
    }
}
