/* g2c translate: apply a pre-trained generator to crops (G2C stage 1). */
#include "cli.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/path.h"
#include "g2c/pretrain.h"
#include "g2c/refset_store.h"

#include <stdlib.h>
#include <string.h>

void g2c_cmd_translate_usage(FILE *out)
{
    fprintf(out,
            "usage: g2c translate --model MODEL --refset NAME --out DIR [--size PX]\n"
            "       g2c translate --model MODEL --annotations-of-slide SLIDE --out DIR\n"
            "                     [--size PX]\n"
            "       g2c translate --model MODEL --out DIR [--size PX] IMAGE.png...\n"
            "\n"
            "Applies the generator of a model trained by 'g2c pretrain' (its\n"
            "G.safetensors) and writes one PNG per input into DIR: NAME-0001.png ...\n"
            "for a reference set, SLIDE-annN.png (N = the annotation's id) for the\n"
            "glomerulus crops of a slide (its id, file name or path), and the input's\n"
            "file name for PNG files.  Outputs have the size of their input: sides\n"
            "that are not a multiple of 4 are mirrored out to one for the network\n"
            "and cut back after.  Inputs of at most 1024x1024 pixels; --size PX\n"
            "resizes every input to PX x PX first (e.g. to the model's crop size, so\n"
            "that tissue appears at the scale it was trained on).\n"
            "\n"
            "exit status: 0 all written, 1 nothing written, 3 some inputs failed\n");
}

typedef struct {
    G2cGenerator gen;
    const char *out;
    int size;
    int written, failed;
    int have_dir; /* made on the first write, so a refused command makes none */
} Job;

/* Translate one image into DIR/name; a failure is reported and counted. */
static void translate_one(Job *job, const G2cImage *in, const char *name)
{
    G2cImage sized = {0}, out = {0};
    const G2cImage *src = in;
    int rc = 0;
    if (job->size > 0) {
        rc = g2c_image_alloc(&sized, job->size, job->size, 0);
        if (rc == 0)
            rc = g2c_image_resize(in, &sized);
        src = &sized;
    }
    if (rc == 0)
        rc = g2c_generator_apply(&job->gen, src, &out);
    char path[4608];
    snprintf(path, sizeof path, "%s/%s", job->out, name);
    if (rc == 0 && !job->have_dir && (rc = g2c_make_dirs(job->out)) == 0)
        job->have_dir = 1;
    if (rc == 0)
        rc = g2c_png_write(path, &out);
    if (rc == 0) {
        job->written++;
    } else {
        g2c_error_prefix("%s: ", name);
        g2c_cli_error("translate", NULL);
        job->failed++;
    }
    g2c_image_free(&sized);
    g2c_image_free(&out);
}

static int from_refset(Job *job, G2cCatalog *cat, const char *refset)
{
    G2cImage *imgs;
    int n;
    if (g2c_refset_load(cat, refset, &imgs, &n) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char name[300];
        snprintf(name, sizeof name, "%s-%04d.png", refset, i + 1);
        translate_one(job, &imgs[i], name);
        g2c_image_free(&imgs[i]);
    }
    free(imgs);
    return 0;
}

/* A slide by id, file name or path; a name shared by two slides is
 * ambiguous. */
static int find_slide(G2cCatalog *cat, const char *slide, int64_t *id, char *stem, size_t size)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, name FROM slides WHERE CAST(id AS TEXT) = ?1 OR name = ?1 "
             "OR path = ?1 ORDER BY id");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, slide, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == 0) {
            *id = sqlite3_column_int64(st, 0);
            snprintf(stem, size, "%s", sqlite3_column_text(st, 1));
        }
    }
    sqlite3_finalize(st);
    if (n == 0)
        return g2c_error("no slide '%s' in the catalog (give its id, file name or path)",
                         slide);
    if (n > 1)
        return g2c_error("%d slides are named '%s'; give the id or the path", n, slide);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    return 0;
}

static int from_slide(Job *job, G2cCatalog *cat, const char *slide)
{
    int64_t id = 0;
    char stem[256] = "";
    if (find_slide(cat, slide, &id, stem, sizeof stem) != 0)
        return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT p.annotation_id, p.png FROM patches p JOIN annotations a "
             "ON a.id = p.annotation_id WHERE a.slide_id = ?1 ORDER BY p.annotation_id, p.id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char name[300];
        snprintf(name, sizeof name, "%s-ann%lld.png", stem,
                 (long long)sqlite3_column_int64(st, 0));
        G2cImage img;
        n++;
        if (g2c_png_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                           &img) != 0) {
            g2c_error_prefix("%s: stored crop: ", name);
            g2c_cli_error("translate", NULL);
            job->failed++;
            continue;
        }
        translate_one(job, &img, name);
        g2c_image_free(&img);
    }
    sqlite3_finalize(st);
    if (n == 0)
        return g2c_error("slide '%s' has no glomerulus crops in the catalog", slide);
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int check_unique_names(char **files, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(base_name(files[i]), base_name(files[j])) == 0)
                return g2c_error("%s and %s would both be written as %s", files[j], files[i],
                                 base_name(files[i]));
    return 0;
}

static void from_files(Job *job, char **files, int n)
{
    for (int i = 0; i < n; i++) {
        G2cImage img;
        char name[300];
        const char *base = base_name(files[i]);
        size_t len = strlen(base);
        int is_png = len > 4 && strcmp(base + len - 4, ".png") == 0;
        snprintf(name, sizeof name, "%s%s", base, is_png ? "" : ".png");
        if (g2c_png_read(files[i], &img) != 0) {
            g2c_cli_error("translate", NULL);
            job->failed++;
            continue;
        }
        translate_one(job, &img, name);
        g2c_image_free(&img);
    }
}

static int run(Job *job, G2cCatalog *cat, const char *model, const char *refset,
               const char *slide, char **files, int n_files)
{
    if (g2c_generator_load(cat, model, &job->gen) != 0)
        return -1;
    int rc = check_unique_names(files, n_files);
    if (rc == 0 && refset)
        rc = from_refset(job, cat, refset);
    else if (rc == 0 && slide)
        rc = from_slide(job, cat, slide);
    else if (rc == 0)
        from_files(job, files, n_files);
    g2c_generator_free(&job->gen);
    return rc;
}

int g2c_cmd_translate(G2cCli *cli, int argc, char **argv)
{
    enum { O_MODEL = 1, O_REFSET, O_SLIDE, O_OUT, O_SIZE };
    static const struct option options[] = {
        G2C_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, O_MODEL},
        {"refset", required_argument, NULL, O_REFSET},
        {"annotations-of-slide", required_argument, NULL, O_SLIDE},
        {"out", required_argument, NULL, O_OUT},
        {"size", required_argument, NULL, O_SIZE},
        {0}};
    const char *model = NULL, *refset = NULL, *slide = NULL;
    Job job;
    memset(&job, 0, sizeof job);
    int opt, help = 0, bad = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (g2c_cli_common_option(cli, opt, &help))
            continue;
        switch (opt) {
        case O_MODEL: model = optarg; break;
        case O_REFSET: refset = optarg; break;
        case O_SLIDE: slide = optarg; break;
        case O_OUT: job.out = optarg; break;
        case O_SIZE: bad |= g2c_cli_parse_int("--size", optarg, 8, 1024, &job.size); break;
        default: bad = 1;
        }
    }
    if (help) {
        g2c_cmd_translate_usage(stdout);
        return G2C_EXIT_OK;
    }
    int n_files = argc - optind;
    int sources = (refset != NULL) + (slide != NULL) + (n_files > 0);
    if (bad || !model || !job.out || sources != 1) {
        g2c_cmd_translate_usage(stderr);
        return G2C_EXIT_USAGE;
    }
    G2cCatalog *cat = g2c_catalog_open(cli->db, G2C_CATALOG_READONLY);
    int rc = cat ? run(&job, cat, model, refset, slide, argv + optind, n_files) : -1;
    g2c_catalog_close(cat);
    if (rc != 0) {
        g2c_cli_error("translate", NULL);
        return job.written > 0 ? G2C_EXIT_PARTIAL : G2C_EXIT_FAILURE;
    }
    printf("wrote %d translated crops to %s", job.written, job.out);
    if (job.failed)
        printf(" (%d failed)", job.failed);
    printf("\n");
    if (job.failed)
        return job.written > 0 ? G2C_EXIT_PARTIAL : G2C_EXIT_FAILURE;
    return G2C_EXIT_OK;
}
