/* g2c-mkslide: writes test slides (tiled pyramidal TIFF that OpenSlide
 * opens) and their annotations.
 *
 *   g2c-mkslide from-png IN.png OUT.tiff [options]
 *   g2c-mkslide synth OUT_PREFIX --seed S --size WxH --glomeruli N [options]
 *   g2c-mkslide mosaic OUT.tiff --crops DIR --labels labels.csv --count N [options]
 *
 * Exit status: 0 done, 1 failed (the message names the file), 2 bad usage.
 */
#include "g2c/annot.h"
#include "g2c/csv.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/rng.h"
#include "g2c/synth.h"
#include "g2c/tiffwriter.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- help ------------------------------------------------------------------ */

static const char *const help_main =
    "usage: g2c-mkslide COMMAND ... (g2c-mkslide COMMAND --help for details)\n"
    "\n"
    "Writes tiled pyramidal TIFF slides that OpenSlide opens, for tests and demos.\n"
    "\n"
    "commands:\n"
    "  from-png IN.png OUT.tiff            a PNG image as a slide\n"
    "  synth OUT_PREFIX --seed S --size WxH --glomeruli N\n"
    "                                      synthetic kidney tissue in several stains,\n"
    "                                      with the glomeruli's boxes and classes\n"
    "  mosaic OUT.tiff --crops DIR --labels labels.csv --count N\n"
    "                                      real glomerulus crops on a white canvas,\n"
    "                                      with their boxes and labels\n";

static const char *const help_common =
    "slide options:\n"
    "  --mpp X        microns per level-0 pixel, written as the TIFF resolution\n"
    "                 (default 0.5)\n"
    "  --tile N       tile size, a multiple of 16 (default 256)\n"
    "  --levels N     at most N pyramid levels (default: halve until one tile)\n"
    "  --jpeg         JPEG tiles (lossy, small) instead of lossless Deflate\n"
    "  --quality Q    JPEG quality 1-100 (default 90)\n";

static const char *const help_from_png =
    "usage: g2c-mkslide from-png IN.png OUT.tiff [--mpp 0.5] [--tile 256] [--jpeg]\n"
    "\n"
    "Writes IN.png as a tiled pyramidal TIFF.  Lossless by default, so the\n"
    "slide's level-0 pixels are exactly the PNG's.\n\n";

static const char *const help_synth =
    "usage: g2c-mkslide synth OUT_PREFIX --seed S --size WxH --glomeruli N\n"
    "           [--stains PAS,HE,MASSON,PASM] [--mpp 0.5]\n"
    "           [--annotations geojson,csv,asap,imagescope] [--mix NOA:SS:GS]\n"
    "\n"
    "Renders one synthetic kidney field (same tissue, same glomeruli) in each\n"
    "stain and writes OUT_PREFIX-<STAIN>.tiff per stain, plus the glomeruli's\n"
    "boxes with their class (noa, ss, gs) in each annotation format asked for:\n"
    "  geojson     OUT_PREFIX.geojson        (QuPath)\n"
    "  csv         OUT_PREFIX.csv            (x,y,w,h,label)\n"
    "  asap        OUT_PREFIX.asap.xml       (ASAP)\n"
    "  imagescope  OUT_PREFIX.imagescope.xml (Aperio ImageScope)\n"
    "\n"
    "  --seed S         the random seed; the same seed gives the same bytes\n"
    "  --size WxH       level-0 size in pixels\n"
    "  --glomeruli N    number of glomeruli, placed without overlap in the tissue\n"
    "  --stains LIST    comma-separated stains (default PAS,HE,MASSON,PASM)\n"
    "  --annotations L  comma-separated formats (default geojson)\n"
    "  --mix A:B:C      relative shares of noa, ss and gs (default 1:1:1)\n\n";

static const char *const help_mosaic =
    "usage: g2c-mkslide mosaic OUT.tiff --crops DIR --labels labels.csv --count N\n"
    "           [--seed S] [--spacing PX] [--mpp 0.5]\n"
    "\n"
    "Lays N glomerulus crops (PNG files listed in labels.csv, columns file and\n"
    "label, paths relative to DIR), picked at random with the seed, on a white\n"
    "canvas in a jittered grid, and writes the slide plus OUT.csv\n"
    "(x,y,w,h,label,id; id = the crop's file) and OUT.geojson with their boxes.\n"
    "The level-0 pixels inside each box are exactly the crop's.\n"
    "\n"
    "  --crops DIR      folder the file column is relative to\n"
    "  --labels CSV     the crop list\n"
    "  --count N        crops to place\n"
    "  --seed S         random seed (default 1)\n"
    "  --spacing PX     white space between grid cells (default 64)\n\n";

/* ---- options --------------------------------------------------------------- */

typedef struct {
    const char *positional[2];
    int n_positional;
    G2cTiffOptions tiff;
    uint64_t seed;
    int seed_given;
    int width, height;
    int count; /* glomeruli or crops; -1 = not given */
    const char *stains;
    const char *annotations;
    const char *mix;
    const char *crops;
    const char *labels;
    int spacing;
} Options;

static int usage_error(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "g2c-mkslide %s: ", cmd);
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see g2c-mkslide %s --help)\n", cmd);
    return 2;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return -1;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end || a <= 0 || b <= 0 || a > 1 << 20 || b > 1 << 20)
        return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

/* Options that take a value; returns 0, or 2 after printing the problem. */
static int take_value(const char *cmd, Options *o, const char *name, const char *v)
{
    long n;
    if (strcmp(name, "--mpp") == 0) {
        char *end;
        double mpp = strtod(v, &end);
        if (end == v || *end || !(mpp > 0 && mpp < 1000))
            return usage_error(cmd, "--mpp needs a positive number, not '%s'", v);
        o->tiff.mpp = mpp;
    } else if (strcmp(name, "--tile") == 0) {
        if (parse_int(v, 16, 4096, &n) != 0 || n % 16)
            return usage_error(cmd, "--tile needs a multiple of 16 up to 4096, not '%s'", v);
        o->tiff.tile_size = (int)n;
    } else if (strcmp(name, "--levels") == 0) {
        if (parse_int(v, 1, G2C_TIFF_MAX_LEVELS, &n) != 0)
            return usage_error(cmd, "--levels needs a count from 1, not '%s'", v);
        o->tiff.levels = (int)n;
    } else if (strcmp(name, "--quality") == 0) {
        if (parse_int(v, 1, 100, &n) != 0)
            return usage_error(cmd, "--quality needs 1 to 100, not '%s'", v);
        o->tiff.jpeg_quality = (int)n;
    } else if (strcmp(name, "--seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-')
            return usage_error(cmd, "--seed needs a non-negative integer, not '%s'", v);
        o->seed = s;
        o->seed_given = 1;
    } else if (strcmp(name, "--size") == 0) {
        if (parse_size(v, &o->width, &o->height) != 0)
            return usage_error(cmd, "--size needs WIDTHxHEIGHT, not '%s'", v);
    } else if (strcmp(name, "--glomeruli") == 0 || strcmp(name, "--count") == 0) {
        if (parse_int(v, 0, 1000000, &n) != 0)
            return usage_error(cmd, "--glomeruli/--count needs a count, not '%s'", v);
        o->count = (int)n;
    } else if (strcmp(name, "--spacing") == 0) {
        if (parse_int(v, 0, 100000, &n) != 0)
            return usage_error(cmd, "--spacing needs pixels, not '%s'", v);
        o->spacing = (int)n;
    } else if (strcmp(name, "--stains") == 0) {
        o->stains = v;
    } else if (strcmp(name, "--annotations") == 0) {
        o->annotations = v;
    } else if (strcmp(name, "--mix") == 0) {
        o->mix = v;
    } else if (strcmp(name, "--crops") == 0) {
        o->crops = v;
    } else if (strcmp(name, "--labels") == 0) {
        o->labels = v;
    } else {
        return usage_error(cmd, "unknown option '%s'", name);
    }
    return 0;
}

/* Returns 0, 1 when --help was shown, or 2 on a usage error. */
static int parse_options(const char *cmd, int argc, char **argv, const char *help, Options *o)
{
    memset(o, 0, sizeof *o);
    g2c_tiff_options_init(&o->tiff);
    o->tiff.mpp = 0.5;
    o->count = -1;
    o->seed = 1;
    o->spacing = 64;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help, stdout);
            fputs(help_common, stdout);
            return 1;
        }
        if (strcmp(a, "--jpeg") == 0) {
            o->tiff.compression = G2C_TIFF_JPEG;
        } else if (strncmp(a, "--", 2) == 0) {
            const char *eq = strchr(a, '=');
            char name[64];
            const char *value;
            if (eq) { /* --name=value */
                snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
                value = eq + 1;
            } else {
                snprintf(name, sizeof name, "%s", a);
                if (i + 1 >= argc)
                    return usage_error(cmd, "option '%s' needs a value", a);
                value = argv[++i];
            }
            int rc = take_value(cmd, o, name, value);
            if (rc)
                return rc;
        } else if (o->n_positional < 2) {
            o->positional[o->n_positional++] = a;
        } else {
            return usage_error(cmd, "unexpected argument '%s'", a);
        }
    }
    return 0;
}

/* ---- slides ---------------------------------------------------------------- */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int write_slide(const char *path, const G2cImage *img, const G2cTiffOptions *opt,
                       const char *description)
{
    G2cTiffOptions o = *opt;
    o.description = description;
    double t0 = seconds();
    if (g2c_tiff_write(path, img, &o) != 0)
        return -1;
    fprintf(stderr, "wrote %s: %dx%d, %d levels, %.2f s\n", path, img->width, img->height,
            g2c_tiff_level_count(img->width, img->height, &o), seconds() - t0);
    return 0;
}

/* ---- annotation writers ---------------------------------------------------- */

/* Text for an XML attribute. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A CSV field, quoted when it has to be. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && (!s[0] || s[strlen(s) - 1] != ' ')) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        g2c_error("%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return g2c_error("%s: write failed: %s", path, strerror(errno));
    return 0;
}

static int write_csv(const char *path, const G2cAnnotationList *list, int with_id)
{
    FILE *f = open_out(path);
    if (!f)
        return -1;
    fputs(with_id ? "x,y,w,h,label,id\n" : "x,y,w,h,label\n", f);
    for (int i = 0; i < list->count; i++) {
        const G2cAnnotation *a = &list->items[i];
        fprintf(f, "%.10g,%.10g,%.10g,%.10g,", a->x, a->y, a->w, a->h);
        csv_field(f, a->label);
        if (with_id) {
            fputc(',', f);
            csv_field(f, a->source_id);
        }
        fputc('\n', f);
    }
    return close_out(f, path);
}

/* The corners of a box, clockwise from the top left. */
static void corners(const G2cAnnotation *a, double xs[4], double ys[4])
{
    xs[0] = a->x, ys[0] = a->y;
    xs[1] = a->x + a->w, ys[1] = a->y;
    xs[2] = a->x + a->w, ys[2] = a->y + a->h;
    xs[3] = a->x, ys[3] = a->y + a->h;
}

static const char *group_colour(const char *label)
{
    if (strcmp(label, "gs") == 0 || strcmp(label, "GS") == 0)
        return "#F4FA58";
    if (strcmp(label, "ss") == 0)
        return "#FE9A2E";
    return "#64FE2E";
}

static int write_asap(const char *path, const G2cAnnotationList *list)
{
    FILE *f = open_out(path);
    if (!f)
        return -1;
    fputs("<?xml version=\"1.0\"?>\n<ASAP_Annotations>\n\t<Annotations>\n", f);
    for (int i = 0; i < list->count; i++) {
        const G2cAnnotation *a = &list->items[i];
        double xs[4], ys[4];
        corners(a, xs, ys);
        fputs("\t\t<Annotation Name=\"", f);
        xml_text(f, a->source_id);
        fputs("\" Type=\"Rectangle\" PartOfGroup=\"", f);
        xml_text(f, a->label[0] ? a->label : "None");
        fprintf(f, "\" Color=\"%s\">\n\t\t\t<Coordinates>\n", group_colour(a->label));
        for (int k = 0; k < 4; k++)
            fprintf(f, "\t\t\t\t<Coordinate Order=\"%d\" X=\"%.10g\" Y=\"%.10g\" />\n", k, xs[k],
                    ys[k]);
        fputs("\t\t\t</Coordinates>\n\t\t</Annotation>\n", f);
    }
    fputs("\t</Annotations>\n\t<AnnotationGroups>\n", f);
    /* One group per distinct label, in order of first use. */
    for (int i = 0; i < list->count; i++) {
        const char *label = list->items[i].label;
        int seen = !label[0];
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(list->items[j].label, label) == 0;
        if (seen)
            continue;
        fputs("\t\t<Group Name=\"", f);
        xml_text(f, label);
        fprintf(f, "\" PartOfGroup=\"None\" Color=\"%s\">\n\t\t\t<Attributes />\n\t\t</Group>\n",
                group_colour(label));
    }
    fputs("\t</AnnotationGroups>\n</ASAP_Annotations>\n", f);
    return close_out(f, path);
}

static int write_imagescope(const char *path, const G2cAnnotationList *list, double mpp)
{
    FILE *f = open_out(path);
    if (!f)
        return -1;
    fprintf(f, "<?xml version=\"1.0\"?>\n<Annotations MicronsPerPixel=\"%.6f\">\n", mpp);
    fputs("\t<Annotation Id=\"1\" Name=\"glomeruli\" Type=\"4\" LineColor=\"65280\">\n"
          "\t\t<Attributes><Attribute Name=\"Description\" Id=\"0\" Value=\"\"/></Attributes>\n"
          "\t\t<Regions>\n",
          f);
    for (int i = 0; i < list->count; i++) {
        const G2cAnnotation *a = &list->items[i];
        double xs[4], ys[4];
        corners(a, xs, ys);
        fprintf(f, "\t\t\t<Region Id=\"%d\" Type=\"1\" Text=\"", i + 1);
        xml_text(f, a->label);
        fputs("\" NegativeROA=\"0\">\n\t\t\t\t<Attributes/>\n\t\t\t\t<Vertices>\n", f);
        for (int k = 0; k < 4; k++)
            fprintf(f, "\t\t\t\t\t<Vertex X=\"%.10g\" Y=\"%.10g\" Z=\"0\"/>\n", xs[k], ys[k]);
        fputs("\t\t\t\t</Vertices>\n\t\t\t</Region>\n", f);
    }
    fputs("\t\t</Regions>\n\t\t<Plots/>\n\t</Annotation>\n</Annotations>\n", f);
    return close_out(f, path);
}

/* Write the boxes in one named format to PREFIX + the format's suffix. */
static int write_annotations(const char *prefix, const char *format,
                             const G2cAnnotationList *list, double mpp)
{
    char path[4096];
    int rc;
    if (strcmp(format, "geojson") == 0) {
        snprintf(path, sizeof path, "%s.geojson", prefix);
        rc = g2c_annot_write_geojson(path, list);
    } else if (strcmp(format, "csv") == 0) {
        snprintf(path, sizeof path, "%s.csv", prefix);
        rc = write_csv(path, list, 0);
    } else if (strcmp(format, "asap") == 0) {
        snprintf(path, sizeof path, "%s.asap.xml", prefix);
        rc = write_asap(path, list);
    } else if (strcmp(format, "imagescope") == 0) {
        snprintf(path, sizeof path, "%s.imagescope.xml", prefix);
        rc = write_imagescope(path, list, mpp);
    } else {
        return g2c_error("unknown annotation format '%s' (geojson, csv, asap, imagescope)",
                         format);
    }
    if (rc == 0)
        fprintf(stderr, "wrote %s: %d boxes\n", path, list->count);
    return rc;
}

/* ---- comma-separated lists ---------------------------------------------------- */

enum { MAX_ITEMS = 16 };

/* Split "a,b,c" into at most MAX_ITEMS items of < 32 bytes. */
static int split_list(const char *cmd, const char *what, const char *s, char items[][32],
                      int *n)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len >= 32 || *n == MAX_ITEMS)
            return usage_error(cmd, what, s);
        memcpy(items[*n], p, len);
        items[*n][len] = 0;
        (*n)++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

/* ---- from-png ---------------------------------------------------------------- */

static int cmd_from_png(int argc, char **argv)
{
    Options o;
    int rc = parse_options("from-png", argc, argv, help_from_png, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (o.n_positional != 2)
        return usage_error("from-png", "needs IN.png and OUT.tiff%s", "");
    G2cImage img;
    if (g2c_png_read(o.positional[0], &img) != 0) { /* the message names the file */
        fprintf(stderr, "g2c-mkslide from-png: %s\n", g2c_error_message());
        return 1;
    }
    char desc[512];
    snprintf(desc, sizeof desc, "g2c-mkslide from-png %s", o.positional[0]);
    rc = write_slide(o.positional[1], &img, &o.tiff, desc);
    g2c_image_free(&img);
    if (rc != 0) {
        fprintf(stderr, "g2c-mkslide from-png: %s\n", g2c_error_message());
        return 1;
    }
    return 0;
}

/* ---- synth ------------------------------------------------------------------- */

static int parse_mix(const char *s, double mix[G2C_GLOM_CLASS_COUNT])
{
    char *end;
    const char *p = s;
    for (int c = 0; c < G2C_GLOM_CLASS_COUNT; c++) {
        mix[c] = strtod(p, &end);
        if (end == p || mix[c] < 0 || (c < G2C_GLOM_CLASS_COUNT - 1 && *end != ':'))
            return -1;
        p = end + 1;
    }
    return *end ? -1 : 0;
}

static int synth_write(const Options *o, const char *prefix, const G2cStain *stains,
                       int n_stains, char formats[][32], int n_formats,
                       const G2cSynthScene *scene)
{
    for (int i = 0; i < n_stains; i++) {
        double t0 = seconds();
        G2cImage img;
        if (g2c_synth_render(scene, stains[i], &img) != 0)
            return -1;
        fprintf(stderr, "rendered %s %dx%d in %.2f s\n", g2c_stain_name(stains[i]),
                scene->width, scene->height, seconds() - t0);
        char path[4096], desc[512];
        snprintf(path, sizeof path, "%s-%s.tiff", prefix, g2c_stain_name(stains[i]));
        snprintf(desc, sizeof desc,
                 "g2c-mkslide synth: synthetic kidney, stain %s, seed %llu, %d glomeruli",
                 g2c_stain_name(stains[i]), (unsigned long long)scene->seed,
                 scene->glom_count);
        int rc = write_slide(path, &img, &o->tiff, desc);
        g2c_image_free(&img);
        if (rc != 0)
            return -1;
    }
    G2cAnnotationList boxes = {0};
    int rc = g2c_synth_boxes(scene, &boxes);
    for (int i = 0; rc == 0 && i < n_formats; i++)
        rc = write_annotations(prefix, formats[i], &boxes, scene->mpp);
    g2c_annot_list_free(&boxes);
    return rc;
}

static int cmd_synth(int argc, char **argv)
{
    const char *cmd = "synth";
    Options o;
    int rc = parse_options(cmd, argc, argv, help_synth, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (o.n_positional != 1)
        return usage_error(cmd, "needs one OUT_PREFIX%s", "");
    if (!o.seed_given || o.width == 0 || o.count < 0)
        return usage_error(cmd, "needs --seed, --size and --glomeruli%s", "");

    char names[MAX_ITEMS][32], formats[MAX_ITEMS][32];
    int n_stains, n_formats;
    if ((rc = split_list(cmd, "bad --stains list '%s'", o.stains ? o.stains : "PAS,HE,MASSON,PASM",
                         names, &n_stains)) ||
        (rc = split_list(cmd, "bad --annotations list '%s'",
                         o.annotations ? o.annotations : "geojson", formats, &n_formats)))
        return rc;
    G2cStain stains[MAX_ITEMS];
    for (int i = 0; i < n_stains; i++)
        if (g2c_stain_parse(names[i], &stains[i]) != 0)
            return usage_error(cmd, "%s", g2c_error_message());
    for (int i = 0; i < n_formats; i++)
        if (strcmp(formats[i], "geojson") && strcmp(formats[i], "csv") &&
            strcmp(formats[i], "asap") && strcmp(formats[i], "imagescope"))
            return usage_error(cmd, "unknown annotation format '%s' (geojson, csv, asap, "
                                    "imagescope)", formats[i]);
    G2cSynthLayoutOptions lay = {0};
    lay.count = o.count;
    lay.mpp = o.tiff.mpp;
    if (o.mix && parse_mix(o.mix, lay.mix) != 0)
        return usage_error(cmd, "--mix needs NOA:SS:GS shares, not '%s'", o.mix);

    G2cSynthGlom *gloms = NULL;
    int n = 0;
    if (g2c_synth_layout(o.seed, o.width, o.height, &lay, &gloms, &n) != 0) {
        fprintf(stderr, "g2c-mkslide synth: %s\n", g2c_error_message());
        return 1;
    }
    G2cSynthScene scene = {o.seed, o.width, o.height, o.tiff.mpp, gloms, n};
    rc = synth_write(&o, o.positional[0], stains, n_stains, formats, n_formats, &scene);
    free(gloms);
    if (rc != 0) {
        fprintf(stderr, "g2c-mkslide synth: %s\n", g2c_error_message());
        return 1;
    }
    return 0;
}

/* ---- mosaic ------------------------------------------------------------------- */

typedef struct {
    char *file;
    char *label;
} Crop;

typedef struct {
    Crop *items;
    int count, capacity;
} CropList;

static void crops_free(CropList *l)
{
    for (int i = 0; i < l->count; i++) {
        free(l->items[i].file);
        free(l->items[i].label);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int crops_push(CropList *l, const char *file, const char *label)
{
    if (l->count == l->capacity) {
        int cap = l->capacity ? l->capacity * 2 : 256;
        Crop *grown = realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return g2c_error("out of memory");
        l->items = grown;
        l->capacity = cap;
    }
    Crop *c = &l->items[l->count];
    c->file = strdup(file);
    c->label = strdup(label);
    if (!c->file || !c->label) {
        free(c->file);
        free(c->label);
        return g2c_error("out of memory");
    }
    l->count++;
    return 0;
}

static int header_column(const G2cCsvRow *row, const char *name)
{
    for (int k = 0; k < row->n_fields; k++)
        if (strcmp(row->fields[k], name) == 0)
            return k;
    return -1;
}

/* labels.csv: a header naming `file` and `label`, then one crop a line. */
static int read_crop_list(const char *path, CropList *out)
{
    G2cCsvReader *r = g2c_csv_open(path);
    if (!r)
        return -1;
    G2cCsvRow row;
    int rc = g2c_csv_next(r, &row);
    int fc = -1, lc = -1;
    if (rc == 1) {
        fc = header_column(&row, "file");
        lc = header_column(&row, "label");
        if (fc < 0 || lc < 0)
            rc = g2c_error("%s:%ld: the header must name the columns file and label", path,
                           row.line);
    } else if (rc == 0) {
        rc = g2c_error("%s: empty file", path);
    }
    while (rc == 1 && (rc = g2c_csv_next(r, &row)) == 1) {
        if (row.n_fields <= fc || row.n_fields <= lc || !row.fields[fc][0]) {
            rc = g2c_error("%s:%ld: missing file or label", path, row.line);
            break;
        }
        if (crops_push(out, row.fields[fc], row.fields[lc]) != 0) {
            rc = -1;
            break;
        }
    }
    g2c_csv_close(r);
    if (rc < 0) {
        crops_free(out);
        return -1;
    }
    return 0;
}

/* Pick `count` distinct crops at random (a partial Fisher-Yates shuffle). */
static void pick(CropList *l, int count, uint64_t seed)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    for (int i = 0; i < count; i++) {
        int j = i + (int)g2c_rng_below(&rng, (uint64_t)(l->count - i));
        Crop tmp = l->items[i];
        l->items[i] = l->items[j];
        l->items[j] = tmp;
    }
}

static int load_crops(const char *dir, const CropList *l, int count, G2cImage *imgs,
                      int *cell)
{
    *cell = 0;
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, l->items[i].file);
        if (g2c_png_read(path, &imgs[i]) != 0) {
            for (int j = 0; j < i; j++)
                g2c_image_free(&imgs[j]);
            return -1; /* the message names the file */
        }
        if (imgs[i].width > *cell)
            *cell = imgs[i].width;
        if (imgs[i].height > *cell)
            *cell = imgs[i].height;
    }
    return 0;
}

/* Crops on a white canvas in a grid of cell + spacing, each jittered
 * inside its cell's spare room; boxes record exactly where they went. */
static int lay_out(const CropList *l, const G2cImage *imgs, int count, int cell, int spacing,
                   uint64_t seed, G2cImage *canvas, G2cAnnotationList *boxes)
{
    int cols = 1;
    while (cols * cols < count)
        cols++;
    int rows = (count + cols - 1) / cols;
    int pitch = cell + spacing;
    long w = (long)cols * pitch + spacing, h = (long)rows * pitch + spacing;
    if (w > 1 << 20 || h > 1 << 20)
        return g2c_error("a %ldx%ld mosaic is too large", w, h);
    if (g2c_image_alloc(canvas, (int)w, (int)h, 255) != 0)
        return -1;
    G2cRng rng;
    g2c_rng_seed(&rng, seed ^ 0x4D05A1CULL);
    for (int i = 0; i < count; i++) {
        const G2cImage *c = &imgs[i];
        /* Up to half the spacing of jitter: neighbours never touch. */
        uint64_t room_x = (uint64_t)(cell - c->width + spacing / 2 + 1);
        uint64_t room_y = (uint64_t)(cell - c->height + spacing / 2 + 1);
        int x = spacing + (i % cols) * pitch + (int)g2c_rng_below(&rng, room_x);
        int y = spacing + (i / cols) * pitch + (int)g2c_rng_below(&rng, room_y);
        g2c_image_blit(c, 0, 0, c->width, c->height, canvas, x, y);
        G2cAnnotation a;
        memset(&a, 0, sizeof a);
        a.x = x;
        a.y = y;
        a.w = c->width;
        a.h = c->height;
        snprintf(a.label, sizeof a.label, "%s", l->items[i].label);
        snprintf(a.source_id, sizeof a.source_id, "%s", l->items[i].file);
        if (g2c_annot_list_push(boxes, &a) != 0) {
            g2c_image_free(canvas);
            return -1;
        }
    }
    return 0;
}

/* OUT.tiff -> OUT (the prefix of the annotation files). */
static void strip_extension(const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s", path);
    char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = 0;
}

static int mosaic_run(const Options *o)
{
    CropList crops = {0};
    if (read_crop_list(o->labels, &crops) != 0)
        return -1;
    if (o->count > crops.count) {
        int have = crops.count;
        crops_free(&crops);
        return g2c_error("%s lists %d crops, fewer than --count %d", o->labels, have, o->count);
    }
    pick(&crops, o->count, o->seed);
    G2cImage *imgs = calloc((size_t)o->count, sizeof *imgs);
    int cell = 0, rc = imgs ? 0 : g2c_error("out of memory");
    if (rc == 0)
        rc = load_crops(o->crops, &crops, o->count, imgs, &cell);
    G2cImage canvas = {0};
    G2cAnnotationList boxes = {0};
    if (rc == 0) {
        rc = lay_out(&crops, imgs, o->count, cell, o->spacing, o->seed, &canvas, &boxes);
        for (int i = 0; i < o->count; i++)
            g2c_image_free(&imgs[i]);
    }
    free(imgs);
    crops_free(&crops);
    if (rc == 0) {
        char desc[512], prefix[4096], path[4200];
        snprintf(desc, sizeof desc, "g2c-mkslide mosaic: %d crops from %s, seed %llu", o->count,
                 o->labels, (unsigned long long)o->seed);
        rc = write_slide(o->positional[0], &canvas, &o->tiff, desc);
        strip_extension(o->positional[0], prefix, sizeof prefix);
        snprintf(path, sizeof path, "%s.csv", prefix);
        if (rc == 0 && (rc = write_csv(path, &boxes, 1)) == 0)
            fprintf(stderr, "wrote %s: %d boxes\n", path, boxes.count);
        if (rc == 0)
            rc = write_annotations(prefix, "geojson", &boxes, o->tiff.mpp);
    }
    g2c_image_free(&canvas);
    g2c_annot_list_free(&boxes);
    return rc;
}

static int cmd_mosaic(int argc, char **argv)
{
    const char *cmd = "mosaic";
    Options o;
    int rc = parse_options(cmd, argc, argv, help_mosaic, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (o.n_positional != 1)
        return usage_error(cmd, "needs one OUT.tiff%s", "");
    if (!o.crops || !o.labels || o.count < 1)
        return usage_error(cmd, "needs --crops, --labels and --count (at least 1)%s", "");
    if (mosaic_run(&o) != 0) {
        fprintf(stderr, "g2c-mkslide mosaic: %s\n", g2c_error_message());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "from-png") == 0)
        return cmd_from_png(argc - 2, argv + 2);
    if (strcmp(argv[1], "synth") == 0)
        return cmd_synth(argc - 2, argv + 2);
    if (strcmp(argv[1], "mosaic") == 0)
        return cmd_mosaic(argc - 2, argv + 2);
    fprintf(stderr, "g2c-mkslide: unknown command '%s' (from-png, synth, mosaic; see --help)\n",
            argv[1]);
    return 2;
}
