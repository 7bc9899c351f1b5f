/* The SQLite catalog: the one way g2c opens, migrates and writes its
 * database.  The schema is SQL text in schemas/ (embedded at build time);
 * every statement is prepared with bound parameters. */
#ifndef G2C_CATALOG_H
#define G2C_CATALOG_H

#include <sqlite3.h>
#include <stdint.h>

/* Schema version this build writes; older catalogs are migrated forward on
 * open, newer ones are refused. */
#define G2C_CATALOG_VERSION 4

typedef enum {
    G2C_CATALOG_READWRITE = 0, /* create if missing, migrate forward */
    G2C_CATALOG_READONLY = 1,  /* must exist and be current; no writes */
} G2cCatalogMode;

typedef struct G2cCatalog G2cCatalog;

G2cCatalog *g2c_catalog_open(const char *path, G2cCatalogMode mode);
void g2c_catalog_close(G2cCatalog *cat);
sqlite3 *g2c_catalog_db(G2cCatalog *cat);
const char *g2c_catalog_path(const G2cCatalog *cat);

/* Transactions.  begin takes the write lock at once (BEGIN IMMEDIATE), so a
 * writer never fails half-way on a lock it could not upgrade. */
int g2c_catalog_begin(G2cCatalog *cat);
int g2c_catalog_commit(G2cCatalog *cat);
void g2c_catalog_rollback(G2cCatalog *cat);

/* Prepare a statement; errors carry SQLite's message. */
sqlite3_stmt *g2c_catalog_prepare(G2cCatalog *cat, const char *sql);
/* Step a statement expected to finish (INSERT/UPDATE/DELETE); 0 or -1. */
int g2c_catalog_step_done(G2cCatalog *cat, sqlite3_stmt *stmt);
/* Record SQLite's current error message with a context. */
int g2c_catalog_error(G2cCatalog *cat, const char *context);

/* Vocabulary lookups, accepting the canonical name or an alias (no case).
 * Return 0 and the id, or -1 with "unknown stain 'X' (known: PAS, HE, ...)". */
int g2c_catalog_stain_id(G2cCatalog *cat, const char *name, int64_t *id);
int g2c_catalog_label_id(G2cCatalog *cat, const char *name, int64_t *id);
/* Patient by external id, created when missing (inside the caller's
 * transaction). */
int g2c_catalog_patient_id(G2cCatalog *cat, const char *external_id, int64_t *id);

/* Apply the forward migrations to reach G2C_CATALOG_VERSION (done by open;
 * exposed for tests). */
int g2c_catalog_migrate(G2cCatalog *cat);

#endif
