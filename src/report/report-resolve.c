/* Which slide, patient and model a report is about, and whether the
 * catalog has what the report needs.  Every refusal says what was asked,
 * what the catalog has instead and which command fills the gap. */
#include "report-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

/* The scope's slides as an SQL condition on `col`, bound to ?1. */
static const char *scope_sql(const G2cRepScope *scope)
{
    switch (scope->kind) {
    case G2C_SCOPE_SLIDE: return "= ?1";
    case G2C_SCOPE_PATIENT: return "IN (SELECT id FROM slides WHERE patient_id = ?1)";
    default: return "IN (SELECT id FROM slides WHERE ?1 IS NOT NULL)";
    }
}

static sqlite3_stmt *prepare_scoped(G2cCatalog *cat, const G2cRepScope *scope,
                                    const char *before, const char *after)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "%s %s %s", before, scope_sql(scope), after);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (st)
        sqlite3_bind_int64(st, 1, scope->id);
    return st;
}

void g2c_rep_slide_label(G2cCatalog *cat, int64_t slide_id, char *buf, size_t size)
{
    snprintf(buf, size, "slide %lld", (long long)slide_id);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT name FROM slides WHERE id = ?1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, slide_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, size, "slide '%.400s' (id %lld)", sqlite3_column_text(st, 0),
                 (long long)slide_id);
    sqlite3_finalize(st);
}

static int count_rows(G2cCatalog *cat, const char *sql, const char *text, int64_t *n)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : g2c_catalog_error(cat, sql);
}

int g2c_rep_find_slide(G2cCatalog *cat, const char *spec, G2cRepScope *scope)
{
    const char *path = g2c_catalog_path(cat);
    /* An id wins over a file name that happens to be all digits. */
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, 0 FROM slides WHERE CAST(id AS TEXT) = ?1 "
             "UNION ALL SELECT id, 1 FROM slides WHERE (name = ?1 OR path = ?1) "
             "AND CAST(id AS TEXT) <> ?1 ORDER BY 2, 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_TRANSIENT);
    int64_t ids[8];
    int n = 0, by_name = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == 0)
            by_name = sqlite3_column_int(st, 1);
        if (n < 8)
            ids[n] = sqlite3_column_int64(st, 0);
        n++;
        if (!by_name)
            break; /* the id match; names do not count then */
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "finding the slide");
    if (n == 0) {
        int64_t slides = 0;
        if (count_rows(cat, "SELECT count(*) FROM slides", NULL, &slides) != 0)
            return -1;
        if (slides == 0)
            return g2c_error("%s: no slide '%s': the catalog has no slides yet (run 'g2c "
                             "ingest' first)", path, spec);
        return g2c_error("%s: no slide '%s' (give a slide id or file name; 'g2c query "
                         "slides' lists the %lld slide(s))", path, spec, (long long)slides);
    }
    if (n > 1 && by_name)
        return g2c_error("%s: slide name '%s' is ambiguous: slides %lld and %lld%s have it "
                         "(give the slide id)", path, spec, (long long)ids[0],
                         (long long)ids[1], n > 2 ? " and others" : "");
    scope->kind = G2C_SCOPE_SLIDE;
    scope->id = ids[0];
    g2c_rep_slide_label(cat, ids[0], scope->label, sizeof scope->label);
    return 0;
}

int g2c_rep_find_patient(G2cCatalog *cat, const char *spec, G2cRepScope *scope)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT id FROM patients WHERE external_id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        scope->id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "finding the patient");
    if (rc == SQLITE_DONE) {
        int64_t patients = 0;
        if (count_rows(cat, "SELECT count(*) FROM patients", NULL, &patients) != 0)
            return -1;
        return g2c_error("%s: no patient '%s' (the catalog has %lld patient(s); 'g2c query "
                         "patients' lists them)", g2c_catalog_path(cat), spec,
                         (long long)patients);
    }
    scope->kind = G2C_SCOPE_PATIENT;
    snprintf(scope->label, sizeof scope->label, "patient '%.500s'", spec);
    return 0;
}

/* "m1, m2" (at most 10 names) for messages, from a query of names. */
static void list_names(sqlite3_stmt *st, char *buf, size_t size)
{
    buf[0] = '\0';
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        size_t used = strlen(buf);
        if (n == 10) {
            snprintf(buf + used, size - used, ", ...");
            break;
        }
        snprintf(buf + used, size - used, "%s%s", n ? ", " : "", name ? name : "");
        n++;
    }
    sqlite3_finalize(st);
}

static void models_with_predictions(G2cCatalog *cat, const G2cRepScope *scope, char *buf,
                                    size_t size)
{
    buf[0] = '\0';
    sqlite3_stmt *st = prepare_scoped(
        cat, scope,
        "SELECT m.name FROM models m WHERE EXISTS (SELECT 1 FROM predictions p "
        "JOIN annotations a ON a.id = p.annotation_id WHERE p.model_id = m.id AND a.slide_id",
        ") ORDER BY m.created_at DESC, m.id DESC");
    if (st)
        list_names(st, buf, size);
}

/* An explicit model: by name first, then by id. */
static int named_model(G2cCatalog *cat, const char *spec, int64_t *id, char *name,
                       size_t name_size)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, name, 0 FROM models WHERE name = ?1 "
             "UNION ALL SELECT id, name, 1 FROM models WHERE CAST(id AS TEXT) = ?1 "
             "ORDER BY 3 LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(name, name_size, "%s", sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "finding the model");
    char known[512];
    st = g2c_catalog_prepare(cat, "SELECT name FROM models ORDER BY created_at DESC, id DESC");
    if (!st)
        return -1;
    list_names(st, known, sizeof known);
    if (!known[0])
        return g2c_error("%s: no model '%s': the catalog has no models yet",
                         g2c_catalog_path(cat), spec);
    return g2c_error("%s: no model '%s' (models: %s)", g2c_catalog_path(cat), spec, known);
}

int g2c_rep_find_model(G2cCatalog *cat, const G2cRepScope *scope, const char *spec,
                       int64_t *model_id, char *name, size_t name_size)
{
    const char *path = g2c_catalog_path(cat);
    if (spec) {
        if (named_model(cat, spec, model_id, name, name_size) != 0)
            return -1;
        sqlite3_stmt *st = prepare_scoped(
            cat, scope,
            "SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
            "WHERE p.model_id = ?2 AND a.slide_id", "");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 2, *model_id);
        int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_finalize(st);
        if (n < 0)
            return g2c_catalog_error(cat, "counting predictions");
        if (n > 0)
            return 0;
        char others[512];
        models_with_predictions(cat, scope, others, sizeof others);
        if (others[0])
            return g2c_error("%s: %s has no predictions from model '%s' (models with "
                             "predictions on it: %s)", path, scope->label, name, others);
        return g2c_error("%s: %s has no predictions from model '%s' (nor from any other "
                         "model: run inference first)", path, scope->label, name);
    }
    sqlite3_stmt *st = prepare_scoped(
        cat, scope,
        "SELECT m.id, m.name FROM models m WHERE EXISTS (SELECT 1 FROM predictions p "
        "JOIN annotations a ON a.id = p.annotation_id WHERE p.model_id = m.id AND a.slide_id",
        ") ORDER BY m.created_at DESC, m.id DESC LIMIT 1");
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *model_id = sqlite3_column_int64(st, 0);
        snprintf(name, name_size, "%s", sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "finding the newest model");
    return g2c_error("%s: %s has no predictions yet (run inference first)", path,
                     scope->label);
}

int g2c_rep_check_crops(G2cCatalog *cat, const G2cRepScope *scope)
{
    /* Slides with glomeruli but not one crop of them. */
    sqlite3_stmt *st = prepare_scoped(
        cat, scope,
        "SELECT s.id FROM slides s WHERE EXISTS (SELECT 1 FROM annotations a "
        "WHERE a.slide_id = s.id) AND NOT EXISTS (SELECT 1 FROM patches c JOIN annotations a "
        "ON a.id = c.annotation_id WHERE a.slide_id = s.id) AND s.id",
        "ORDER BY s.id LIMIT 1");
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    int64_t bad = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return g2c_catalog_error(cat, "checking crops");
    char label[600];
    g2c_rep_slide_label(cat, bad, label, sizeof label);
    int64_t crops = 0;
    if (count_rows(cat, "SELECT count(*) FROM patches WHERE annotation_id IS NOT NULL", NULL,
                   &crops) != 0)
        return -1;
    if (crops == 0)
        return g2c_error("%s: the catalog has no glomerulus crops yet, so %s cannot be "
                         "shown (run 'g2c ingest' on its slides first)",
                         g2c_catalog_path(cat), label);
    return g2c_error("%s: %s has glomeruli but no crops of them yet (crops are made by "
                     "'g2c ingest')", g2c_catalog_path(cat), label);
}

int g2c_rep_scope_slides(G2cCatalog *cat, const G2cRepScope *scope, int64_t model_id,
                         int64_t **ids, int **has, int *n)
{
    *ids = NULL;
    *has = NULL;
    *n = 0;
    sqlite3_stmt *st = prepare_scoped(
        cat, scope,
        "SELECT s.id, EXISTS (SELECT 1 FROM predictions p JOIN annotations a "
        "ON a.id = p.annotation_id WHERE a.slide_id = s.id AND p.model_id = ?2) "
        "FROM slides s WHERE s.id", "ORDER BY s.id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 2, model_id);
    int rc, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            int64_t *ni = realloc(*ids, (size_t)cap * sizeof **ids);
            int *nh = ni ? realloc(*has, (size_t)cap * sizeof **has) : NULL;
            if (ni)
                *ids = ni;
            if (!ni || !nh) {
                sqlite3_finalize(st);
                return g2c_error("out of memory");
            }
            *has = nh;
        }
        (*ids)[*n] = sqlite3_column_int64(st, 0);
        (*has)[*n] = sqlite3_column_int(st, 1);
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "listing slides");
    return 0;
}
