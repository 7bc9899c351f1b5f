/* The catalog: creation, forward migration, refusal of what it cannot
 * understand, vocabulary lookups. */
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <string.h>

static int64_t scalar(G2cCatalog *cat, const char *sql)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    int64_t v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        fclose(f);
        return NULL;
    }
    text[n] = '\0';
    fclose(f);
    return text;
}

/* A catalog as version 1 of g2c wrote it: the base schema only. */
static void make_v1_catalog(const char *path)
{
    char *sql = read_file(g2c_test_source_path("schemas/catalog.sql"));
    CHECK(sql != NULL);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "INSERT INTO patients (external_id) VALUES ('P-old')", NULL,
                       NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    free(sql);
}

static void set_raw(const char *path, const char *sql)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

int main(void)
{
    char path[4096];
    const char *dir = g2c_test_tmpdir();

    /* Fresh catalog: current version, WAL, vocabularies present. */
    snprintf(path, sizeof path, "%s/fresh.db", dir);
    G2cCatalog *cat = g2c_catalog_open(path, G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    CHECK(scalar(cat, "PRAGMA user_version") == G2C_CATALOG_VERSION);
    CHECK(scalar(cat, "SELECT count(*) FROM pipeline_stages") == 0);
    CHECK(scalar(cat, "PRAGMA foreign_keys") == 1);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "PRAGMA journal_mode");
    CHECK(st && sqlite3_step(st) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0);
    sqlite3_finalize(st);

    int64_t id = 0, id2 = 0;
    CHECK_OK(g2c_catalog_stain_id(cat, "PAS", &id));
    CHECK_OK(g2c_catalog_stain_id(cat, "h&e", &id2));
    CHECK(id2 == scalar(cat, "SELECT id FROM stains WHERE name = 'HE'"));
    CHECK(g2c_catalog_stain_id(cat, "Giemsa", &id) == -1);
    CHECK(strstr(g2c_error_message(), "unknown stain 'Giemsa'") != NULL);
    CHECK(strstr(g2c_error_message(), "PAS, HE") != NULL);
    CHECK_OK(g2c_catalog_label_id(cat, "GS", &id));
    CHECK(id == scalar(cat, "SELECT id FROM labels WHERE name = 'gs'"));
    CHECK(g2c_catalog_label_id(cat, "crescent", &id) == -1);

    /* Patients are created once. */
    CHECK_OK(g2c_catalog_begin(cat));
    CHECK_OK(g2c_catalog_patient_id(cat, "P1", &id));
    CHECK_OK(g2c_catalog_patient_id(cat, "P1", &id2));
    CHECK(id == id2);
    g2c_catalog_rollback(cat);
    CHECK(scalar(cat, "SELECT count(*) FROM patients") == 0);
    g2c_catalog_close(cat);

    /* Read-only opening of the same file works; of a missing file fails. */
    cat = g2c_catalog_open(path, G2C_CATALOG_READONLY);
    CHECK(cat != NULL);
    g2c_catalog_close(cat);
    snprintf(path, sizeof path, "%s/missing.db", dir);
    CHECK(g2c_catalog_open(path, G2C_CATALOG_READONLY) == NULL);
    CHECK(strstr(g2c_error_message(), "missing.db") != NULL);

    /* A version-1 catalog is migrated forward and keeps its data. */
    snprintf(path, sizeof path, "%s/v1.db", dir);
    make_v1_catalog(path);
    cat = g2c_catalog_open(path, G2C_CATALOG_READONLY);
    CHECK(cat == NULL); /* read-only cannot migrate */
    CHECK(strstr(g2c_error_message(), "version 1") != NULL);
    cat = g2c_catalog_open(path, G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    CHECK(scalar(cat, "PRAGMA user_version") == G2C_CATALOG_VERSION);
    CHECK(scalar(cat, "SELECT count(*) FROM patients WHERE external_id = 'P-old'") == 1);
    CHECK(scalar(cat, "SELECT count(*) FROM sqlite_master WHERE name = 'pipeline_stages'") == 1);
    g2c_catalog_close(cat);

    /* A catalog from a newer g2c is refused, untouched. */
    snprintf(path, sizeof path, "%s/future.db", dir);
    make_v1_catalog(path);
    set_raw(path, "PRAGMA user_version = 99");
    CHECK(g2c_catalog_open(path, G2C_CATALOG_READWRITE) == NULL);
    CHECK(strstr(g2c_error_message(), "newer") != NULL);

    /* Somebody else's database is refused. */
    snprintf(path, sizeof path, "%s/other.db", dir);
    set_raw(path, "CREATE TABLE t (x)");
    CHECK(g2c_catalog_open(path, G2C_CATALOG_READWRITE) == NULL);
    CHECK(strstr(g2c_error_message(), "not a g2c catalog") != NULL);

    /* Not a database at all. */
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "wb");
    fputs("this is not sqlite, just text long enough to look like a header......"
          "..............................................................", f);
    fclose(f);
    CHECK(g2c_catalog_open(path, G2C_CATALOG_READWRITE) == NULL);
    CHECK(strstr(g2c_error_message(), "junk.db") != NULL);
    return g2c_test_finish("catalog");
}
