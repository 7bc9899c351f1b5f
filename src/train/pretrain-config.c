/* What a pre-training run is: the two stains, their reference sets, the
 * architecture and schedule, as one JSON configuration that the catalog
 * row and both checkpoints carry, so that a changed command is noticed. */
#include "pretrain-private.h"

#include "g2c/error.h"
#include "g2c/refset_store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const SIDE_NAME[2] = {"source", "target"};

/* ---- stains and reference sets ------------------------------------------ */

static int canonical_stain(G2cCatalog *cat, const char *name, PtSide *s)
{
    if (g2c_catalog_stain_id(cat, name, &s->stain_id) != 0)
        return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT name FROM stains WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, s->stain_id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : g2c_catalog_error(cat, "stains");
    if (rc == 0)
        snprintf(s->stain, sizeof s->stain, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

static int add_set(PtSide *s, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 1);
    if (s->n_sets == G2C_PRETRAIN_MAX_SETS)
        return g2c_error("more than %d reference sets of stain %s", G2C_PRETRAIN_MAX_SETS,
                         s->stain);
    if (strlen(name) >= G2C_PRETRAIN_MAX_NAME)
        return g2c_error("reference set name '%.40s...' is too long", name);
    for (int i = 0; i < s->n_sets; i++)
        if (strcmp(s->sets[i].name, name) == 0)
            return g2c_error("reference set '%s' is named twice", name);
    PtSet *set = &s->sets[s->n_sets++];
    set->id = sqlite3_column_int64(st, 0);
    snprintf(set->name, sizeof set->name, "%s", name);
    set->crops = sqlite3_column_int(st, 2);
    s->crops += set->crops;
    return 0;
}

static const char SET_COLUMNS[] =
    "SELECT r.id, r.name, (SELECT count(*) FROM patches p WHERE p.refset_id = r.id), "
    "r.stain_id, s.name FROM refsets r JOIN stains s ON s.id = r.stain_id ";

static int all_sets_of_stain(G2cCatalog *cat, PtSide *s)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE r.stain_id = ?1 ORDER BY r.name", SET_COLUMNS);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, s->stain_id);
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
        rc = add_set(s, st);
    sqlite3_finalize(st);
    if (rc == 0 && s->n_sets == 0)
        rc = g2c_error("no reference sets of stain %s in the catalog (build one with "
                       "'g2c refset NAME --stain %s')",
                       s->stain, s->stain);
    return rc;
}

static int named_set(G2cCatalog *cat, PtSide *s, const char *name)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE r.name = ?1", SET_COLUMNS);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc;
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = g2c_error("no reference set named '%s' (see g2c refset --list)", name);
    else if (sqlite3_column_int64(st, 3) != s->stain_id)
        rc = g2c_error("reference set '%s' holds %s crops, not %s", name,
                       sqlite3_column_text(st, 4), s->stain);
    else
        rc = add_set(s, st);
    sqlite3_finalize(st);
    return rc;
}

int pt_resolve_side(Pretrain *pt, int which, const char *stain, const char *const *sets,
                    int n_sets)
{
    PtSide *s = &pt->side[which];
    memset(s, 0, sizeof *s);
    int rc = canonical_stain(pt->cat, stain, s);
    if (rc == 0 && n_sets == 0)
        rc = all_sets_of_stain(pt->cat, s);
    for (int i = 0; rc == 0 && i < n_sets; i++)
        rc = named_set(pt->cat, s, sets[i]);
    if (rc != 0)
        g2c_error_prefix("%s: ", SIDE_NAME[which]);
    return rc;
}

int pt_check_name(const char *name)
{
    size_t n = strlen(name);
    int ok = n > 0 && n < 100 && name[0] != '.' && name[0] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)name[i]) || strchr("._-", name[i]) != NULL;
    return ok ? 0
              : g2c_error("model name '%s': use 1 to 99 letters, digits, '.', '_' or "
                          "'-', not starting with '.' or '-' (it names a folder)",
                          name);
}

/* ---- the configuration ----------------------------------------------------- */

/* The float's shortest decimal, so 0.999f reads 0.999 in the JSON. */
static double decimal(float f)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", (double)f);
    return strtod(buf, NULL);
}

static json_t *sets_json(const PtSide *s)
{
    json_t *a = json_array();
    for (int i = 0; i < s->n_sets; i++)
        json_array_append_new(a, json_pack("{s:s, s:i}", "name", s->sets[i].name,
                                           "crops", s->sets[i].crops));
    return a;
}

int pt_make_config(Pretrain *pt)
{
    const G2cPretrainOptions *o = pt->opt;
    const G2cCycleGanConfig *c = &pt->cgc;
    json_t *cfg = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
        " s:I, s:i, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:i}",
        "kind", "cyclegan", "preset", o->arch.name ? o->arch.name : "custom", "source_stain",
        pt->side[0].stain, "target_stain", pt->side[1].stain, "source_refsets",
        sets_json(&pt->side[0]), "target_refsets", sets_json(&pt->side[1]), "ngf", c->gen.ngf,
        "n_blocks", c->gen.n_blocks, "ndf", c->disc.ndf, "n_layers", c->disc.n_layers, "size",
        o->arch.size, "load_size", g2c_pretrain_load_size(o->arch.size), "epochs",
        o->arch.epochs, "decay_epochs", o->arch.decay_epochs, "max_images", o->arch.max_images,
        "eval_images", o->eval_images, "seed", (json_int_t)o->seed, "batch", c->batch,
        "gan_mode", "lsgan", "lr", 2e-4, "beta1", decimal(c->beta1), "lambda_A",
        decimal(c->lambda_A), "lambda_B", decimal(c->lambda_B), "lambda_idt",
        decimal(c->lambda_idt), "beta2", decimal(c->beta2), "pool_size", c->pool_size);
    if (!cfg)
        return g2c_error("cannot build the configuration JSON");
    pt->config = cfg;
    pt->config_text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    return pt->config_text ? 0 : g2c_error("out of memory");
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        size_t want = (*len + n + 1) * 2;
        char *grown = realloc(*buf, want);
        if (!grown)
            return;
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

static char *short_dump(json_t *v)
{
    if (!v)
        return strdup("(none)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
    if (s && strlen(s) > 80)
        strcpy(s + 74, " ...");
    return s;
}

static void diff_key(const char *key, json_t *a, json_t *b, char **buf, size_t *len,
                     size_t *cap)
{
    if (a && b && json_equal(a, b))
        return;
    char *sa = short_dump(a), *sb = short_dump(b);
    char line[256];
    snprintf(line, sizeof line, "%s%s %s -> %s", *len ? "; " : "", key, sa ? sa : "?",
             sb ? sb : "?");
    append(buf, len, cap, line);
    free(sa);
    free(sb);
}

char *pt_config_diff(json_t *old, json_t *now)
{
    char *buf = calloc(1, 64);
    size_t len = 0, cap = 64;
    const char *key;
    json_t *v;
    if (!buf)
        return NULL;
    json_object_foreach(now, key, v) {
        diff_key(key, json_object_get(old, key), v, &buf, &len, &cap);
    }
    json_object_foreach(old, key, v) {
        if (!json_object_get(now, key))
            diff_key(key, v, NULL, &buf, &len, &cap);
    }
    return buf;
}

/* ---- the crops ----------------------------------------------------------------- */

static int load_side_images(Pretrain *pt, const PtSide *s, G2cImage **out, int *count)
{
    G2cImage *all = NULL;
    int n = 0;
    for (int i = 0; i < s->n_sets; i++) {
        G2cImage *imgs;
        int k;
        if (g2c_refset_load(pt->cat, s->sets[i].name, &imgs, &k) != 0)
            goto fail;
        G2cImage *grown = realloc(all, (size_t)(n + k) * sizeof *all);
        if (!grown) {
            for (int j = 0; j < k; j++)
                g2c_image_free(&imgs[j]);
            free(imgs);
            g2c_error("out of memory for the crops of %s", s->sets[i].name);
            goto fail;
        }
        all = grown;
        memcpy(all + n, imgs, (size_t)k * sizeof *imgs);
        n += k;
        free(imgs);
    }
    *out = all;
    *count = n;
    return 0;
fail:
    for (int j = 0; j < n; j++)
        g2c_image_free(&all[j]);
    free(all);
    return -1;
}

static void set_list(const PtSide *s, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n_sets && used + 1 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                 s->sets[i].name);
}

int pt_load_data(Pretrain *pt)
{
    for (int side = 0; side < 2; side++) {
        const PtSide *s = &pt->side[side];
        G2cImage *imgs;
        int n;
        if (load_side_images(pt, s, &imgs, &n) != 0)
            return -1;
        /* Each side has its own split stream, so adding crops to one side
         * leaves the other side's split alone. */
        G2cRng split;
        g2c_rng_seed(&split, pt->opt->seed ^ (side ? 0x74617267ULL : 0x736f7572ULL));
        if (g2c_pretrain_data_make(imgs, n, pt->opt->arch.size, pt->opt->eval_images,
                                   pt->opt->arch.max_images, &split, &pt->data[side]) != 0) {
            char list[512];
            set_list(s, list, sizeof list);
            return g2c_error_prefix("%s reference sets (%s): ", s->stain, list);
        }
    }
    return 0;
}
