/* Stage-1 generators for stage 2: found by model name in a catalog (kind
 * 'cyclegan', written by g2c pretrain), their target stain read from the
 * model's configuration and their architecture (ngf, residual blocks) from
 * the checkpoint's own tensors, so any ResnetGenerator file works. */
#include "stage2-private.h"

#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "a, b,c" -> names; empty items are an error. */
static int split_names(const char *names, char out[][S2_NAME], int max, int *n)
{
    *n = 0;
    const char *p = names;
    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            return g2c_error("--generators '%s': empty model name", names);
        if (*n == max)
            return g2c_error("--generators: at most %d generators", max);
        if (len >= S2_NAME)
            return g2c_error("--generators: model name too long");
        memcpy(out[*n], p, len);
        out[(*n)++][len] = '\0';
        if (!end)
            return 0;
        p = end + 1;
    }
}

/* Names of the catalog's stage-1 models, for messages. */
static void known_generators(G2cCatalog *cat, char *buf, size_t size)
{
    buf[0] = '\0';
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT name FROM models WHERE kind = 'cyclegan' ORDER BY name LIMIT 20");
    if (!st)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

/* ngf and the number of residual blocks from the tensors of a
 * ResnetGenerator file, with or without the "G_A." prefix. */
static int inspect_checkpoint(const char *path, S2GenSpec *g)
{
    G2cSafetensors *st = g2c_safetensors_open(path);
    if (!st)
        return -1;
    static const char *const prefixes[] = {"", "G_A."};
    int ndim = 0;
    int64_t shape[8];
    const float *w = NULL;
    for (int i = 0; i < 2 && !w; i++) {
        char name[64];
        snprintf(name, sizeof name, "%smodel.1.weight", prefixes[i]);
        if ((w = g2c_safetensors_get(st, name, &ndim, shape)))
            snprintf(g->file_prefix, sizeof g->file_prefix, "%s", prefixes[i]);
    }
    int rc = 0;
    if (!w)
        rc = g2c_error("%s: no ResnetGenerator tensors (model.1.weight or G_A.model.1.weight)",
                       path);
    else if (ndim != 4 || shape[1] != 3 || shape[2] != 7 || shape[3] != 7 || shape[0] < 1)
        rc = g2c_error("%s: tensor %smodel.1.weight is not a 7x7 convolution of RGB", path,
                       g->file_prefix);
    if (rc == 0) {
        g->ngf = (int)shape[0];
        g->n_blocks = 0;
        /* Blocks are model.10, model.11, ... (after pad, conv, norm, ReLU
         * and two down-sampling triples). */
        for (int b = 10;; b++) {
            char name[96];
            snprintf(name, sizeof name, "%smodel.%d.conv_block.1.weight", g->file_prefix, b);
            if (!g2c_safetensors_get(st, name, NULL, NULL))
                break;
            g->n_blocks++;
        }
    }
    g2c_safetensors_close(st);
    return rc;
}

int s2_canonical_stain(G2cCatalog *cat, const char *name, char *out, size_t size)
{
    int64_t id;
    if (g2c_catalog_stain_id(cat, name, &id) != 0)
        return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT name FROM stains WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : g2c_catalog_error(cat, "stain");
    if (rc == 0)
        snprintf(out, size, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

/* Target stain from the configuration (g2c pretrain writes source_stain
 * and target_stain); the source must be PAS, branch 0's stain. */
static int stains_of(G2cCatalog *cat, const char *model, const char *config, S2GenSpec *g)
{
    json_error_t err;
    json_t *j = json_loads(config ? config : "{}", 0, &err);
    if (!j)
        return g2c_error("model '%s': configuration is not JSON (%s)", model, err.text);
    const char *target = json_string_value(json_object_get(j, "target_stain"));
    const char *source = json_string_value(json_object_get(j, "source_stain"));
    if (!target)
        target = json_string_value(json_object_get(j, "stain"));
    int rc = 0;
    char src[64] = "PAS";
    if (!target)
        rc = g2c_error("model '%s': its configuration names no target_stain", model);
    else if (source && s2_canonical_stain(cat, source, src, sizeof src) != 0)
        rc = g2c_error_prefix("model '%s': ", model);
    else if (strcmp(src, "PAS") != 0)
        rc = g2c_error("model '%s' translates %s to %s; stage 2 needs generators from PAS "
                       "(branch 0 is the PAS crop)", model, src, target);
    else if (s2_canonical_stain(cat, target, g->stain, sizeof g->stain) != 0)
        rc = g2c_error_prefix("model '%s': ", model);
    json_decref(j);
    return rc;
}

void s2_catalog_dir(G2cCatalog *cat, char *out, size_t size)
{
    snprintf(out, size, "%s", g2c_catalog_path(cat));
    char *slash = strrchr(out, '/');
    if (slash)
        *(slash == out ? slash + 1 : slash) = '\0';
    else
        snprintf(out, size, ".");
}

/* Whether the model's stage-1 training has finished, for a warning. */
static void warn_unfinished(G2cCatalog *cat, const S2GenSpec *g,
                            void (*say)(void *, int, const char *), void *ctx)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT status FROM runs WHERE model_id = ?1 ORDER BY id DESC LIMIT 1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, g->model_id);
    if (sqlite3_step(st) == SQLITE_ROW && say &&
        strcmp((const char *)sqlite3_column_text(st, 0), "done") != 0) {
        char line[512];
        snprintf(line, sizeof line,
                 "warning: generator %s: its stage-1 run is '%s' (not finished); using its "
                 "last checkpoint", g->model, sqlite3_column_text(st, 0));
        say(ctx, 1, line);
    }
    sqlite3_finalize(st);
}

static int lookup_one(G2cCatalog *cat, const char *name, S2GenSpec *g,
                      void (*say)(void *, int, const char *), void *ctx)
{
    memset(g, 0, sizeof *g);
    if (strlen(name) >= sizeof g->model)
        return g2c_error("generator model name too long");
    memcpy(g->model, name, strlen(name) + 1);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, kind, config, checkpoint FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        char known[1024];
        known_generators(cat, known, sizeof known);
        return g2c_error("%s: no model named '%s' (%s%s)", g2c_catalog_path(cat), name,
                         known[0] ? "stage-1 generators: " : "no stage-1 generators yet; run "
                                                             "g2c pretrain",
                         known);
    }
    g->model_id = sqlite3_column_int64(st, 0);
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    int rc = 0;
    if (strcmp(kind, "cyclegan") != 0)
        rc = g2c_error("model '%s' is of kind '%s', not a stage-1 generator (kind "
                       "'cyclegan', made by g2c pretrain)", name, kind);
    if (rc == 0)
        rc = stains_of(cat, name, (const char *)sqlite3_column_text(st, 2), g);
    if (rc == 0 && sqlite3_column_type(st, 3) == SQLITE_NULL)
        rc = g2c_error("model '%s' has no checkpoint yet (its stage-1 training has not "
                       "finished an epoch)", name);
    if (rc == 0) {
        const char *path = (const char *)sqlite3_column_text(st, 3);
        char dir[S2_PATH];
        s2_catalog_dir(cat, dir, sizeof dir);
        if (path[0] == '/')
            snprintf(g->checkpoint, sizeof g->checkpoint, "%s", path);
        else if (snprintf(g->checkpoint, sizeof g->checkpoint, "%s/%s", dir, path) >=
                 (int)sizeof g->checkpoint)
            rc = g2c_error("model '%s': checkpoint path too long", name);
    }
    sqlite3_finalize(st);
    if (rc == 0 && inspect_checkpoint(g->checkpoint, g) != 0)
        rc = g2c_error_prefix("generator model '%s': ", name);
    if (rc == 0)
        warn_unfinished(cat, g, say, ctx);
    return rc;
}

int s2_generators_lookup(G2cCatalog *cat, const char *names, S2GenSpec *out, int *n,
                         void (*say)(void *, int, const char *), void *ctx)
{
    char list[S2_MAX_GENERATORS][S2_NAME];
    if (split_names(names, list, S2_MAX_GENERATORS, n) != 0)
        return -1;
    for (int i = 0; i < *n; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(list[i], list[j]) == 0)
                return g2c_error("--generators names '%s' twice", list[i]);
        if (lookup_one(cat, list[i], &out[i], say, ctx) != 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(out[i].stain, out[j].stain) == 0)
                return g2c_error("generators '%s' and '%s' both make %s; give one generator "
                                 "per stain", out[j].model, out[i].model, out[i].stain);
    }
    return 0;
}
