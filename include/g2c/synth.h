/* Synthetic multi-stain kidney tissue, for tests and the built-in demo.
 *
 * A scene is a seed, a size, a scale (µm per pixel) and a list of glomeruli
 * (centre, capsule radius, class).  Everything else - the irregular tissue
 * region on white glass, the tubules and their nuclei, the interstitium
 * with its fibroblasts and capillaries, and each glomerulus' capillary
 * network and cells - follows from the seed alone, so rendering one scene
 * in several stains gives the same tissue, coloured differently: the
 * "same tissue, several stains" setting of G2C.
 *
 * Glomerular classes and what they look like in geometry:
 *   noa  normal tuft: lobulated, cellular, open capillary loops, thin
 *        capsule, clear Bowman's space.
 *   ss   segmental sclerosis: one sector of the tuft (40-70 degrees each
 *        side of a random direction, sparing the hilum) has lost its
 *        capillary loops and most nuclei and is replaced by homogeneous
 *        matrix with some collagen; the segment adheres to the capsule
 *        (synechia); a little periglomerular fibrosis.
 *   gs   global sclerosis: the whole tuft is retracted and solid, glassy
 *        matrix plus collagen with scattered pyknotic nuclei; Bowman's space
 *        filled with concentric fibrous tissue except for a retraction
 *        cleft; thickened, wrinkled capsule; periglomerular fibrosis.
 *
 * Which stain carries which cue (the point of having several):
 *   PAS     matrix and membranes magenta, nuclei blue-purple.  The normal
 *           mesangium is already magenta, so a sclerosed segment is only
 *           somewhat darker: gs is clear, ss is weakly contrasted.
 *   HE      everything eosinophilic pink, nuclei purple, red cells red.
 *           Matrix, membranes and collagen barely differ from cytoplasm:
 *           the only cue is the loss of nuclei and capillary lumens.
 *   MASSON  (trichrome) collagen strongly blue, matrix and membranes
 *           blue-grey, cytoplasm red, nuclei dark.  Sclerosis and fibrosis
 *           stand out in blue: the strongest cue for both ss and gs.
 *   PASM    (Jones silver) membranes and matrix black and sharp on a pink
 *           H&E counterstain: the capillary loops of a normal tuft are a
 *           fine black lace; a sclerosed segment is a solid black area,
 *           and the capsule and synechia are crisp.  Collagen only brown-grey.
 *
 * Speed: a 4096x4096 field renders in well under two seconds on one core.
 */
#ifndef G2C_SYNTH_H
#define G2C_SYNTH_H

#include <stdint.h>

#include "g2c/annot.h"
#include "g2c/image.h"

typedef enum {
    G2C_STAIN_PAS = 0,
    G2C_STAIN_HE,
    G2C_STAIN_MASSON,
    G2C_STAIN_PASM,
    G2C_STAIN_COUNT
} G2cStain;

typedef enum {
    G2C_GLOM_NOA = 0, /* no abnormality */
    G2C_GLOM_SS,      /* segmental sclerosis */
    G2C_GLOM_GS,      /* global sclerosis */
    G2C_GLOM_CLASS_COUNT
} G2cGlomClass;

typedef struct {
    double cx, cy;  /* centre, level-0 pixels */
    double radius;  /* Bowman's capsule radius, pixels: 4 px .. 400 µm */
    G2cGlomClass cls;
} G2cSynthGlom;

typedef struct {
    uint64_t seed;
    int width, height;
    double mpp;                /* µm per pixel; 0 = 0.5 */
    const G2cSynthGlom *gloms; /* not owned */
    int glom_count;
} G2cSynthScene;

/* "PAS", "HE", "MASSON", "PASM" (parsing ignores case). */
const char *g2c_stain_name(G2cStain stain);
int g2c_stain_parse(const char *name, G2cStain *stain);
/* "noa", "ss", "gs" (parsing ignores case). */
const char *g2c_glom_class_name(G2cGlomClass cls);
int g2c_glom_class_parse(const char *name, G2cGlomClass *cls);

/* Render the scene in one stain into out (allocated here, width x height).
 * Deterministic: the same scene gives the same bytes. */
int g2c_synth_render(const G2cSynthScene *scene, G2cStain stain, G2cImage *out);

/* How much of (x, y) is tissue, 0..1, by the same rule the renderer uses
 * (the renderer samples it on a grid, so edges may differ by a pixel). */
double g2c_synth_tissue_at(const G2cSynthScene *scene, double x, double y);

/* ---- whole slide layouts ---------------------------------------------- */

typedef struct {
    int count;                     /* glomeruli to place */
    double mix[G2C_GLOM_CLASS_COUNT]; /* relative share of noa, ss, gs;
                                    * all 0 = equal shares */
    double radius_um_min, radius_um_max; /* capsule radius; 0 = 70..100 µm */
    double mpp;                    /* µm per pixel; 0 = 0.5 */
} G2cSynthLayoutOptions;

/* Place opt->count glomeruli without overlap inside the tissue of a
 * width x height field with this seed.  The class counts follow the mix
 * exactly (largest remainder), in shuffled order.  *gloms is malloc'd.
 * Fails, naming the numbers, when they do not fit. */
int g2c_synth_layout(uint64_t seed, int width, int height, const G2cSynthLayoutOptions *opt,
                     G2cSynthGlom **gloms, int *count);

/* Append one box per glomerulus (the capsule's bounding box, clipped to the
 * field) with the class name as label and "g1", "g2", ... as source id. */
int g2c_synth_boxes(const G2cSynthScene *scene, G2cAnnotationList *out);

#endif
