/* Bad pipeline files: each mistake is reported with the file and the
 * place (line:column, or stage id and JSON path) before any stage runs,
 * and the catalog is left exactly as it was (or not created at all). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[2048], db[4096], fresh_db[4096];

static void write_file(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The catalog's bytes (with its write-ahead log) as one checksum. */
static unsigned long long catalog_sum(const char *path)
{
    unsigned long long h = 1469598103934665603ULL;
    const char *suffix[] = {"", "-wal"};
    for (int i = 0; i < 2; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        FILE *f = fopen(p, "rb");
        if (!f)
            continue;
        int c;
        while ((c = fgetc(f)) != EOF)
            h = (h ^ (unsigned)c) * 1099511628211ULL;
        fclose(f);
    }
    return h;
}

/* A pipeline that must be refused: exit status, message, nothing run, the
 * catalog unchanged and a missing catalog not created. */
static void refused(const char *name, const char *text, const char *extra, int status,
                    const char *needle)
{
    write_file(name, text);
    unsigned long long before = catalog_sum(db);
    int rc = g2c_test_cli(db, name, "run %s %s/%s", extra, dir, name);
    if (rc != status)
        fprintf(stderr, "%s: exit status %d, expected %d\n", name, rc, status);
    CHECK(rc == status);
    char where[256];
    snprintf(where, sizeof where, "%s", name);
    if (status == 1)
        g2c_test_cli_expect(name, "err", where);
    g2c_test_cli_expect(name, "err", needle);
    char *out = g2c_test_cli_output(name, "out");
    CHECK(strstr(out, "[1/") == NULL);
    free(out);
    CHECK(catalog_sum(db) == before);
    CHECK(g2c_test_cli(fresh_db, "fresh", "run %s %s/%s", extra, dir, name) == status);
    CHECK(access(fresh_db, F_OK) != 0);
}

#define INGEST "{\"id\": \"ingest\", \"stage\": \"ingest\", \"params\": {\"manifest\": \"m.csv\"}}"

int main(void)
{
    snprintf(dir, sizeof dir, "%s", g2c_test_tmpdir());
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    snprintf(fresh_db, sizeof fresh_db, "%s/fresh/never.db", dir);
    write_file("m.csv", "patient,slide,stain,annotations,split\n");
    /* A catalog with something in it: a valid pipeline's ingest of an empty
     * manifest (its stage row is in the catalog). */
    write_file("ok.json", "{\"stages\": [" INGEST "]}");
    CHECK(g2c_test_cli(db, "ok", "run %s/ok.json", dir) == 0);
    CHECK(g2c_test_scalar(db, "SELECT count(*) FROM pipeline_stages") == 1);
    char dir2[4200];
    snprintf(dir2, sizeof dir2, "%s/fresh", dir);
    CHECK(g2c_test_system("mkdir -p %s", dir2) == 0);
    /* Relative paths are relative to the catalog's folder: give fresh/ one. */
    CHECK(g2c_test_system("cp %s/m.csv %s/m.csv", dir, dir2) == 0);

    refused("syntax.json", "{\n  \"stages\": [\n    {\"id\": \"a\", \"stage\": \"ingest\",, }\n  ]\n}\n",
            "", 1, "syntax.json:3:");
    refused("kind.json", "{\"stages\": [" INGEST ", {\"id\": \"x\", \"stage\": \"trian\"}]}", "", 1,
            "stage 'x' (stages[1]): unknown stage 'trian'");
    refused("param.json",
            "{\"stages\": [{\"id\": \"in\", \"stage\": \"ingest\", \"params\": "
            "{\"manifest\": \"m.csv\", \"patchsize\": 64}}]}",
            "", 1, "stage 'in' (stages[0].params.patchsize): unknown parameter 'patchsize'");
    refused("type.json",
            "{\"stages\": [{\"id\": \"in\", \"stage\": \"ingest\", \"params\": "
            "{\"manifest\": \"m.csv\", \"patch-size\": \"big\"}}]}",
            "", 1, "stage 'in' (stages[0].params.patch-size): expected a whole number");
    refused("missing.json",
            "{\"stages\": [{\"id\": \"in\", \"stage\": \"ingest\", \"params\": "
            "{\"manifest\": \"no-such.csv\"}}]}",
            "", 1, "stage 'in' (stages[0].params.manifest): no such file or folder: ");
    refused("required.json",
            "{\"stages\": [" INGEST ", {\"id\": \"t\", \"stage\": \"train\", \"params\": "
            "{\"name\": \"m\", \"variant\": \"PAS_ONLY\"}}]}",
            "", 1, "stage 't' (stages[1]): a train stage needs the parameter 'task'");
    refused("dup.json", "{\"stages\": [" INGEST ", " INGEST "]}", "", 1,
            "stage 'ingest' (stages[1]): the id 'ingest' is also stages[0]'s");
    refused("order.json",
            "{\"stages\": [{\"id\": \"e\", \"stage\": \"eval\", \"params\": {\"model\": \"m\"}}, "
            "{\"id\": \"t\", \"stage\": \"train\", \"params\": {\"name\": \"m\", \"task\": "
            "\"s-vs-noa\", \"variant\": \"PAS_ONLY\"}}]}",
            "", 1, "stage 't' (stages[1]): a train stage cannot come after the eval stage 'e'");
    refused("unmade.json",
            "{\"stages\": [" INGEST ", {\"id\": \"e\", \"stage\": \"eval\", \"params\": "
            "{\"model\": \"ghost\"}}]}",
            "", 1,
            "stage 'e' (stages[1].params.model): model 'ghost' is made by no earlier stage");
    refused("var.json",
            "{\"stages\": [{\"id\": \"in\", \"stage\": \"ingest\", \"params\": "
            "{\"manifest\": \"${where}/m.csv\"}}]}",
            "", 1, "stage 'in' (stages[0].params.manifest): no variable 'where'");
    refused("set.json", "{\"variables\": {\"a\": \"1\"}, \"stages\": [" INGEST "]}", "--set b=2",
            1, "declares no variable 'b'");
    refused("key.json", "{\"stage\": [" INGEST "]}", "", 1, "unknown key 'stage'");
    refused("report.json",
            "{\"stages\": [" INGEST ", {\"id\": \"r\", \"stage\": \"report\", \"params\": "
            "{\"out\": \"reports\"}}]}",
            "", 1, "stage 'r' (stages[1]): a report stage needs either 'slide' or 'patient'");
    refused("only.json", "{\"stages\": [" INGEST "]}", "--only train", 1,
            "has no stage or stage kind 'train' (stages: ingest)");
    refused("usage.json", "{\"stages\": [" INGEST "]}", "--only ingest --from ingest", 2,
            "--only and --from do not go together");
    return g2c_test_finish("pipeline-errors");
}
