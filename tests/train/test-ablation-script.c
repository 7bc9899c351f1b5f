/* pipelines/ablation.sh end to end on a tiny catalog (tiny preset): every
 * variant trained, evaluated and compared, the Markdown tables with a row
 * per model, the rescued-cases sheet (or the note that none was rescued),
 * and a second run that trains nothing again. */
#include "test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"

#include <string.h>
#include <unistd.h>

static const char *dir;
static char db[4096];

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int run_script(const char *log)
{
    return g2c_test_system("cd '%s' && sh '%s' --db g2c.db --task s-vs-noa --generators "
                           "gen_he,gen_masson --g2c '%s' -- --preset tiny >%s 2>&1",
                           dir, g2c_test_source_path("pipelines/ablation.sh"),
                           getenv("G2C_EXE"), log);
}

/* What a run of the script printed. */
static char *log_text(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return read_text(path);
}

static void show_log(const char *name)
{
    char *text = log_text(name);
    fprintf(stderr, "--- %s\n%s\n", name, text ? text : "(none)");
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    CHECK_OK(fixture_catalog(db, dir, 6, 12, "noa,ss,gs"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "gen_masson", "MASSON", 12, "cyclegan"));
    if (g2c_test_failures)
        return g2c_test_finish("ablation-script");
    int rc = run_script("first.log");
    CHECK(rc == 0);
    if (rc != 0)
        show_log("first.log");
    static const char *const models[] = {"abl-pas-only", "abl-pas-only-noaug", "abl-pas-HE",
                                         "abl-pas-MASSON", "abl-pas-all", "abl-pas-all+",
                                         "abl-pas-all+frozen"};
    char path[4200], row[128];
    snprintf(path, sizeof path, "%s/ablation-s-vs-noa.md", dir);
    char *md = read_text(path);
    CHECK(md != NULL);
    for (int i = 0; md && i < 7; i++) {
        snprintf(row, sizeof row, "\n| %s | ", models[i]);
        const char *a = strstr(md, "### Accuracy per class"), *r = strstr(md, row);
        if (!a || !r || r < a) {
            fprintf(stderr, "no row for %s in the tables\n", models[i]);
            g2c_test_failures++;
        }
    }
    CHECK(md && strncmp(md, "# G2C ablation: s-vs-noa\n", 25) == 0);
    CHECK(md && strstr(md, "McNemar, joint vs frozen: p = "));
    CHECK(md && strstr(md, "| abl-pas-only-noaug | PAS_ONLY | none |"));
    /* Every model compared with PAS_ONLY, and joint with frozen. */
    CHECK(g2c_test_scalar(db, "SELECT count(*) FROM runs WHERE kind = 'compare' AND "
                              "json_extract(params, '$.a') = 'abl-pas-only'") == 6);
    CHECK(g2c_test_scalar(db, "SELECT count(*) FROM runs WHERE kind = 'compare' AND "
                              "json_extract(params, '$.a') = 'abl-pas-all+' AND "
                              "json_extract(params, '$.b') = 'abl-pas-all+frozen'") == 1);
    CHECK(g2c_test_scalar(db, "SELECT count(*) FROM models WHERE name = 'abl-pas-only-noaug' "
                              "AND json_extract(config, '$.augment') = 0") == 1);
    snprintf(path, sizeof path, "%s/ablation-s-vs-noa-rescued.png", dir);
    char *log = log_text("first.log");
    CHECK(log && (access(path, F_OK) == 0 ? strstr(log, "ablation-s-vs-noa-rescued.png: ") != NULL
                                          : strstr(log, "no glomerulus rescued") != NULL));
    /* Again: nothing retrained, the tables written again. */
    long long epochs = g2c_test_scalar(db, "SELECT count(*) FROM run_epochs");
    rc = run_script("second.log");
    CHECK(rc == 0);
    if (rc != 0)
        show_log("second.log");
    CHECK(g2c_test_scalar(db, "SELECT count(*) FROM run_epochs") == epochs);
    log = log_text("second.log");
    CHECK(log && strstr(log, "(already trained)") && strstr(log, "== tables: "));
    /* Level 2 evaluated given the level-1 baseline, as in the paper. */
    CHECK(g2c_test_system("cd '%s' && sh '%s' --db g2c.db --task ss-vs-gs --generators "
                          "gen_he --only only --prefix l2 --given abl-pas-only --g2c '%s' -- "
                          "--preset tiny >third.log 2>&1",
                          dir, g2c_test_source_path("pipelines/ablation.sh"),
                          getenv("G2C_EXE")) == 0);
    snprintf(path, sizeof path, "%s/ablation-ss-vs-gs.md", dir);
    md = read_text(path);
    CHECK(md && strstr(md, "| l2-pas-only | PAS_ONLY | abl-pas-only ("));
    log = log_text("third.log");
    CHECK(log && !strstr(log, "note: ss-vs-gs"));
    /* Without --given it says what it does instead. */
    CHECK(g2c_test_system("cd '%s' && sh '%s' --db g2c.db --task ss-vs-gs --generators "
                          "gen_he --only '' --g2c '%s' >fourth.log 2>&1", dir,
                          g2c_test_source_path("pipelines/ablation.sh"),
                          getenv("G2C_EXE")) == 0);
    log = log_text("fourth.log");
    CHECK(log && strstr(log, "note: ss-vs-gs without --given"));
    return g2c_test_finish("ablation-script");
}
