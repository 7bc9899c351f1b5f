/* Shared by the stage-1 tests (test-pretrain*.c, test-translate.c): a
 * catalog in a fresh folder with two small reference sets made of the
 * test-slide pattern, and the g2c program run on it. */
#ifndef G2C_TEST_PRETRAIN_FIXTURE_H
#define G2C_TEST_PRETRAIN_FIXTURE_H

#include <stdint.h>

/* A fresh folder with catalog.db holding pas-a (12 PAS crops) and he-a
 * (12 HE crops, the same pattern with red and blue swapped), 40 px. */
void pf_init(void);
const char *pf_dir(void);
const char *pf_db(void);

/* Tiles of the pattern into DIR/sub/ (made), size x size px. */
void pf_make_tiles(const char *sub, int count, int size, uint64_t seed, int swap);

/* Run `g2c --quiet --db catalog.db ARGS`, stdout and stderr into
 * DIR/tag.out and DIR/tag.err; returns the exit status. */
int pf_g2c(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CHECK that DIR/tag.<stream> contains needle (prints the text if not). */
void pf_expect(const char *tag, const char *stream, const char *needle);

/* The first column of the first row of sql on the catalog, or -1. */
int64_t pf_scalar(const char *sql);

/* Path under the test folder (a static buffer, one of 4 in turn). */
const char *pf_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pf_exists(const char *path);
/* 1 when both files exist and have the same bytes. */
int pf_same_bytes(const char *a, const char *b);

/* /usr/bin/python3 with torch (CI has none: the PyTorch checks skip). */
int pf_have_torch(void);

#endif
