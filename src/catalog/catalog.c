/* Opening, migrating and transacting on the catalog. */
#include "g2c/catalog.h"
#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char g2c_catalog_sql[];
extern const char g2c_migration_0002[];
extern const char g2c_migration_0003[];
extern const char g2c_migration_0004[];

/* Forward migrations: migrations[i] takes a catalog from version i+1 to
 * i+2.  Version 1 is schemas/catalog.sql itself. */
static const char *const migrations[] = {
    g2c_migration_0002,
    g2c_migration_0003,
    g2c_migration_0004,
};

struct G2cCatalog {
    sqlite3 *db;
    char *path;
};

int g2c_catalog_error(G2cCatalog *cat, const char *context)
{
    return g2c_error("%s: %s: %s", cat->path, context, sqlite3_errmsg(cat->db));
}

sqlite3 *g2c_catalog_db(G2cCatalog *cat)
{
    return cat->db;
}

const char *g2c_catalog_path(const G2cCatalog *cat)
{
    return cat->path;
}

static int exec(G2cCatalog *cat, const char *sql, const char *context)
{
    char *msg = NULL;
    if (sqlite3_exec(cat->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        g2c_error("%s: %s: %s", cat->path, context, msg ? msg : sqlite3_errmsg(cat->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int query_int(G2cCatalog *cat, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return g2c_catalog_error(cat, sql);
    return 0;
}

sqlite3_stmt *g2c_catalog_prepare(G2cCatalog *cat, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK) {
        g2c_catalog_error(cat, "prepare");
        return NULL;
    }
    return st;
}

int g2c_catalog_step_done(G2cCatalog *cat, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return g2c_catalog_error(cat, sqlite3_sql(stmt));
    return 0;
}

int g2c_catalog_begin(G2cCatalog *cat)
{
    return exec(cat, "BEGIN IMMEDIATE", "begin transaction");
}

int g2c_catalog_commit(G2cCatalog *cat)
{
    return exec(cat, "COMMIT", "commit");
}

void g2c_catalog_rollback(G2cCatalog *cat)
{
    if (!sqlite3_get_autocommit(cat->db))
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Each step (the base schema, then each migration) is one transaction, so
 * an interrupted upgrade leaves the catalog at the last complete version. */
static int apply_step(G2cCatalog *cat, const char *sql, int to_version)
{
    char context[64];
    snprintf(context, sizeof context, "migrating to schema version %d", to_version);
    if (g2c_catalog_begin(cat) != 0)
        return -1;
    if (exec(cat, sql, context) != 0) {
        g2c_catalog_rollback(cat);
        return -1;
    }
    return g2c_catalog_commit(cat);
}

int g2c_catalog_migrate(G2cCatalog *cat)
{
    int64_t version = 0, objects = 0;
    if (query_int(cat, "PRAGMA user_version", &version) != 0 ||
        query_int(cat, "SELECT count(*) FROM sqlite_master", &objects) != 0)
        return -1;
    if (version == 0 && objects > 0)
        return g2c_error("%s: not a g2c catalog (it has tables but no schema version)",
                         cat->path);
    if (version > G2C_CATALOG_VERSION)
        return g2c_error("%s: catalog schema version %lld is newer than this g2c "
                         "understands (%d); upgrade g2c", cat->path, (long long)version,
                         G2C_CATALOG_VERSION);
    if (version == 0) {
        if (apply_step(cat, g2c_catalog_sql, 1) != 0)
            return -1;
        version = 1;
    }
    for (; version < G2C_CATALOG_VERSION; version++)
        if (apply_step(cat, migrations[version - 1], (int)version + 1) != 0)
            return -1;
    return 0;
}

static int check_current(G2cCatalog *cat)
{
    int64_t version = 0;
    if (query_int(cat, "PRAGMA user_version", &version) != 0)
        return -1;
    if (version != G2C_CATALOG_VERSION)
        return g2c_error("%s: catalog schema version %lld, this g2c needs %d "
                         "(open it once read-write to migrate)", cat->path,
                         (long long)version, G2C_CATALOG_VERSION);
    return 0;
}

G2cCatalog *g2c_catalog_open(const char *path, G2cCatalogMode mode)
{
    G2cCatalog *cat = calloc(1, sizeof *cat);
    if (!cat || !(cat->path = strdup(path))) {
        free(cat);
        g2c_error("out of memory");
        return NULL;
    }
    int flags = mode == G2C_CATALOG_READONLY ? SQLITE_OPEN_READONLY
                                             : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (mode == G2C_CATALOG_READONLY && access(path, F_OK) != 0) {
        g2c_error("%s: no such catalog (run 'g2c ingest' first)", path);
        g2c_catalog_close(cat);
        return NULL;
    }
    if (sqlite3_open_v2(path, &cat->db, flags, NULL) != SQLITE_OK) {
        g2c_error("%s: cannot open catalog: %s", path,
                  cat->db ? sqlite3_errmsg(cat->db) : "out of memory");
        g2c_catalog_close(cat);
        return NULL;
    }
    sqlite3_busy_timeout(cat->db, 10000);
    sqlite3_extended_result_codes(cat->db, 1);
    int ok;
    if (mode == G2C_CATALOG_READONLY) {
        ok = exec(cat, "PRAGMA foreign_keys = ON", "configure") == 0 &&
             check_current(cat) == 0;
    } else {
        /* WAL lets readers (g2c query, the sqlite3 shell) work while a run
         * writes; synchronous=FULL makes every committed slide durable. */
        ok = exec(cat, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                       "PRAGMA foreign_keys = ON", "configure") == 0 &&
             g2c_catalog_migrate(cat) == 0;
    }
    if (!ok) {
        g2c_catalog_close(cat);
        return NULL;
    }
    return cat;
}

void g2c_catalog_close(G2cCatalog *cat)
{
    if (!cat)
        return;
    if (cat->db)
        sqlite3_close_v2(cat->db);
    free(cat->path);
    free(cat);
}

/* Look a name up in a vocabulary table and its alias table; on failure the
 * message lists the known names, which is what a user needs to fix a
 * manifest. */
static int vocabulary_id(G2cCatalog *cat, const char *kind, const char *table,
                         const char *alias_table, const char *alias_column,
                         const char *name, int64_t *id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id FROM %s WHERE name = ?1 COLLATE NOCASE "
             "UNION ALL SELECT %s FROM %s WHERE alias = ?1 LIMIT 1",
             table, alias_column, alias_table);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql, "SELECT group_concat(name, ', ') FROM (SELECT name FROM %s ORDER BY id)",
             table);
    st = g2c_catalog_prepare(cat, sql);
    const char *known = NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        known = (const char *)sqlite3_column_text(st, 0);
    g2c_error("unknown %s '%s' (known: %s)", kind, name, known ? known : "none");
    sqlite3_finalize(st);
    return -1;
}

int g2c_catalog_stain_id(G2cCatalog *cat, const char *name, int64_t *id)
{
    return vocabulary_id(cat, "stain", "stains", "stain_aliases", "stain_id", name, id);
}

int g2c_catalog_label_id(G2cCatalog *cat, const char *name, int64_t *id)
{
    return vocabulary_id(cat, "label", "labels", "label_aliases", "label_id", name, id);
}

int g2c_catalog_patient_id(G2cCatalog *cat, const char *external_id, int64_t *id)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO patients (external_id) VALUES (?1) "
             "ON CONFLICT (external_id) DO UPDATE SET external_id = excluded.external_id "
             "RETURNING id");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, external_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else
        g2c_catalog_error(cat, "patient");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}
