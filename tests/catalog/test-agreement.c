/* The `agrees` column of glomerulus_results (and so the disagreements
 * view): labels that stand for several grades (s = ss or gs, nongs = noa
 * or ss) agree with each grade they include, in either direction. */
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <stdio.h>
#include <string.h>

static void exec(G2cCatalog *cat, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(g2c_catalog_db(cat), sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        CHECK(0);
    }
}

/* agrees for one annotation labelled `annotated` predicted as `predicted`:
 * 1, 0, or -1 for NULL. */
static int agrees(G2cCatalog *cat, const char *annotated, const char *predicted)
{
    static int n;
    char sql[1024];
    n++;
    exec(cat, "INSERT OR IGNORE INTO labels (name) VALUES ('s')");
    snprintf(sql, sizeof sql,
             "INSERT INTO annotations (id, slide_id, label_id, x, y, w, h, source_file, "
             "source_format) VALUES (%d, 1, (SELECT id FROM labels WHERE name = %s%s%s), "
             "0, 0, 10, 10, 'a.csv', 'csv');"
             "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, "
             "probabilities, confidence) VALUES (%d, 1, 1, "
             "(SELECT id FROM labels WHERE name = '%s'), '{}', 0.9);",
             n, annotated ? "'" : "", annotated ? annotated : "NULL", annotated ? "'" : "", n,
             predicted);
    exec(cat, sql);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(agrees, -1) FROM glomerulus_results WHERE annotation_id = %d", n);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    int v = -2;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/agreement.db", g2c_test_tmpdir());
    G2cCatalog *cat = g2c_catalog_open(path, G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    exec(cat, "INSERT INTO patients (id, external_id) VALUES (1, 'P1');"
              "INSERT INTO slides (id, patient_id, stain_id, path, name, vendor, width, "
              "height, level_count, fingerprint, file_size) VALUES (1, 1, (SELECT id FROM "
              "stains WHERE name = 'PAS'), '/x.tiff', 'x.tiff', 'generic-tiff', 100, 100, 1, "
              "'f', 1);"
              "INSERT INTO models (id, name, kind) VALUES (1, 'm', 'g2c');"
              "INSERT INTO runs (id, kind, model_id) VALUES (1, 'infer', 1);");

    /* Same grade. */
    CHECK(agrees(cat, "gs", "gs") == 1);
    CHECK(agrees(cat, "noa", "gs") == 0);
    /* s-vs-noa: s includes ss and gs. */
    CHECK(agrees(cat, "ss", "s") == 1);
    CHECK(agrees(cat, "gs", "s") == 1);
    CHECK(agrees(cat, "noa", "s") == 0);
    CHECK(agrees(cat, "gs", "noa") == 0);
    /* gs-vs-rest: nongs includes noa and ss. */
    CHECK(agrees(cat, "noa", "nongs") == 1);
    CHECK(agrees(cat, "ss", "nongs") == 1);
    CHECK(agrees(cat, "gs", "nongs") == 0);
    CHECK(agrees(cat, "nongs", "gs") == 0);
    /* nongs and s overlap in ss: not a contradiction. */
    CHECK(agrees(cat, "nongs", "s") == 1);
    /* No annotation label: no verdict. */
    CHECK(agrees(cat, NULL, "gs") == -1);

    /* The summaries count from the same column: 5 disagreements above. */
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT count(*) FROM disagreements");
    CHECK(st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 5);
    sqlite3_finalize(st);
    st = g2c_catalog_prepare(cat, "SELECT disagreements, annotated FROM patient_summary");
    CHECK(st && sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == 5 && sqlite3_column_int(st, 1) == 11);
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
    return g2c_test_finish("agreement");
}
