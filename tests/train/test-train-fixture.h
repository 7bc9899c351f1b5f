/* Catalogs for the stage-2 tests (g2c train / eval / compare): small PAS
 * test slides whose labelled glomerulus boxes carry a visible cue of their
 * class, and stage-1 generators with random weights registered as g2c
 * pretrain registers them. */
#ifndef G2C_TEST_TRAIN_FIXTURE_H
#define G2C_TEST_TRAIN_FIXTURE_H

#include <stdint.h>

/* One PAS slide per patient P1..Pn (384 x 256 px), `per_slide` 32 px boxes
 * each, labels taken in turn from the comma-separated `labels` (e.g.
 * "noa,ss,gs"; "-" for an unlabelled box).  Box pixels: noa as the
 * pattern, ss with its left half darkened, gs darkened all over.  Then
 * `g2c ingest` with 32 px crops.  Returns 0 or -1. */
int fixture_catalog(const char *db, const char *dir, int patients, int per_slide,
                    const char *labels);

/* A ResnetGenerator (ngf 4, 1 block) with N(0, 0.02) weights from seed,
 * saved as dir/NAME/G.safetensors under ResnetGenerator names, and a models
 * row NAME of `kind` (cyclegan for a real one) whose config says PAS ->
 * stain. */
int fixture_generator(const char *db, const char *dir, const char *name, const char *stain,
                      uint64_t seed, const char *kind);
/* The same with another architecture (ngf filters, n_blocks blocks). */
int fixture_generator_arch(const char *db, const char *dir, const char *name,
                           const char *stain, uint64_t seed, const char *kind, int ngf,
                           int n_blocks);

/* Run one SQL statement on the catalog; 0 or -1. */
int fixture_exec(const char *db, const char *sql);

/* Rows of every table g2c train/eval/compare write, and slides without a
 * split, as one comparable string ("models 2 runs 3 ..."). */
void fixture_snapshot(const char *db, char *out, int size);

/* Whether tensor `name` has identical values in two safetensors files. */
int fixture_same_tensor(const char *a, const char *name_a, const char *b, const char *name_b);
/* Whether every tensor of file a whose name starts with prefix is
 * bitwise equal in file b (same names); counts them into *n. */
int fixture_same_tensors(const char *a, const char *b, const char *prefix, int *n);

#endif
