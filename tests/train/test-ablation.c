/* g2c compare --table: the ablation's Markdown tables on a tiny catalog.
 * Every number in them must be the one stored by g2c eval / train /
 * compare, in the row of its model; the sections that need certain
 * variants say so when those are missing; bad requests are refused with
 * the model named and no file left behind. */
#include "test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static char db[4096];

/* A real from the catalog (NaN for NULL or no row). */
static double __attribute__((format(printf, 1, 2))) qd(const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    double v = NAN;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    else
        fprintf(stderr, "no value: %s\n", sql);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* A metric of a model's latest eval run. */
static double eval_metric(const char *model, const char *path)
{
    return qd("SELECT json_extract(r.metrics, '$.%s') FROM runs r JOIN models m ON "
              "m.id = r.model_id WHERE m.name = '%s' AND r.kind = 'eval' ORDER BY r.id DESC "
              "LIMIT 1", path, model);
}

static double p_value(const char *a, const char *b)
{
    return qd("SELECT json_extract(metrics, '$.p_value') FROM runs WHERE kind = 'compare' AND "
              "json_extract(params, '$.a') = '%s' AND json_extract(params, '$.b') = '%s' "
              "ORDER BY id DESC LIMIT 1", a, b);
}

static double cmp_value(const char *a, const char *b, const char *field)
{
    return qd("SELECT json_extract(metrics, '$.%s') FROM runs WHERE kind = 'compare' AND "
              "json_extract(params, '$.a') = '%s' AND json_extract(params, '$.b') = '%s' "
              "ORDER BY id DESC LIMIT 1", field, a, b);
}

static const char *f4(char *buf, double v)
{
    if (isnan(v))
        snprintf(buf, 32, "-");
    else
        snprintf(buf, 32, "%.4f", v);
    return buf;
}

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

enum { MAXC = 24 };

/* The cells of `model`'s row in the table under the heading that starts
 * with `section`, inside "## Task TASK".  Returns the cell count, 0 when
 * there is no such row. */
static int row_cells(const char *md, const char *task, const char *section, const char *model,
                     char cells[MAXC][96])
{
    char head[128], sec[160], row[160];
    snprintf(head, sizeof head, "## Task %s\n", task);
    snprintf(sec, sizeof sec, "### %s", section);
    snprintf(row, sizeof row, "\n| %s |", model);
    const char *t = strstr(md, head);
    if (!t)
        return 0;
    const char *next_task = strstr(t + 1, "\n## Task ");
    const char *s = strstr(t, sec);
    if (!s || (next_task && s > next_task))
        return 0;
    const char *next_sec = strstr(s + 1, "\n### ");
    const char *r = strstr(s, row);
    if (!r || (next_sec && r > next_sec) || (next_task && r > next_task))
        return 0;
    r += 2; /* past "\n|" */
    int n = 0;
    while (*r && *r != '\n' && n < MAXC) {
        const char *end = strstr(r, " |");
        if (!end)
            break;
        while (*r == ' ')
            r++;
        snprintf(cells[n++], 96, "%.*s", (int)(end - r), r);
        r = end + 2;
    }
    return n;
}

static void check_cell(const char *what, const char *model, const char *cell,
                       const char *expected)
{
    if (strcmp(cell, expected) != 0) {
        fprintf(stderr, "%s of %s: table says '%s', catalog '%s'\n", what, model, cell,
                expected);
        g2c_test_failures++;
    }
}

static void train(const char *tag, const char *args)
{
    g2c_test_cli_ok(tag, g2c_test_cli(db, tag, "train --preset tiny %s", args));
}

static void build_catalog(void)
{
    CHECK_OK(fixture_catalog(db, dir, 6, 12, "noa,ss,gs"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "gen_masson", "MASSON", 12, "cyclegan"));
    train("t-only", "--name only --task s-vs-noa --variant PAS_ONLY");
    train("t-noaug", "--name noaug --task s-vs-noa --variant PAS_ONLY --no-augment");
    train("t-all", "--name all --task s-vs-noa --variant PAS_ALL+ "
                   "--generators gen_he,gen_masson");
    train("t-frozen", "--name frozen --task s-vs-noa --variant PAS_ALL+ "
                      "--generators gen_he,gen_masson --freeze-generators");
    train("t-gs", "--name gs --task gs-vs-rest --variant PAS_ONLY");
    train("t-noeval", "--name noeval --task s-vs-noa --variant PAS_ONLY --seed 5");
    const char *models[] = {"only", "noaug", "all", "frozen", "gs"};
    for (int i = 0; i < 5; i++)
        g2c_test_cli_ok("eval", g2c_test_cli(db, "eval", "eval --model %s", models[i]));
    for (int i = 1; i < 4; i++)
        g2c_test_cli_ok("cmp", g2c_test_cli(db, "cmp", "compare --model only --model %s", models[i]));
    /* Stored the other way round: the table must still find it. */
    g2c_test_cli_ok("cmp-jf", g2c_test_cli(db, "cmp-jf", "compare --model frozen --model all"));
}

/* The tiny models are all perfect, so the stored numbers are made
 * distinct per model and per field (some with more than four decimals,
 * one null) so that a number in the wrong row or column shows. */
static void distinct_values(void)
{
    static const char *const models[] = {"only", "noaug", "all", "frozen", "gs"};
    for (int i = 0; i < 5; i++) {
        char sql[2048];
        double b = 0.01 * i + 0.000037;
        snprintf(sql, sizeof sql,
                 "UPDATE runs SET metrics = json_set(metrics, "
                 "'$.per_class.noa.accuracy', %.6f, '$.per_class.s.accuracy', %.6f, "
                 "'$.per_class.rest.accuracy', %.6f, '$.per_class.gs.accuracy', %.6f, "
                 "'$.balanced_accuracy', %.6f, '$.per_class.noa.f1', %.6f, "
                 "'$.per_class.s.f1', %s, '$.per_class.rest.f1', %.6f, "
                 "'$.per_class.gs.f1', %.6f, '$.macro_f1', %.6f, '$.accuracy', %.6f, "
                 "'$.train.accuracy', %.6f, '$.gap', %.6f, '$.n', %d, '$.train.n', %d) "
                 "WHERE kind = 'eval' AND model_id = (SELECT id FROM models WHERE name = '%s')",
                 0.1 + b, 0.2 + b, 0.3 + b, 0.4 + b, 0.5 + b, 0.6 + b,
                 i == 3 ? "json('null')" : "0.7", 0.8 + b, 0.9 + b, 0.15 + b, 0.25 + b,
                 0.35 + b, 0.45 + b, 20 + i, 70 + i, models[i]);
        CHECK_OK(fixture_exec(db, sql));
        snprintf(sql, sizeof sql,
                 "UPDATE runs SET metrics = json_set(metrics, '$.seconds', %d.25) WHERE "
                 "kind = 'train' AND model_id = (SELECT id FROM models WHERE name = '%s')",
                 60 * i + 7, models[i]);
        CHECK_OK(fixture_exec(db, sql));
    }
    CHECK_OK(fixture_exec(db, "UPDATE runs SET metrics = json_set(metrics, '$.p_value', "
                              "id * 0.0123457, '$.a_only', id, '$.b_only', id + 10, '$.n', "
                              "id + 100) WHERE kind = 'compare'"));
}

static void check_per_class(const char *md)
{
    static const char *const models[] = {"only", "noaug", "all", "frozen"};
    char cells[MAXC][96], buf[32], path[64];
    for (int i = 0; i < 4; i++) {
        const char *m = models[i];
        int n = row_cells(md, "s-vs-noa", "Accuracy per class", m, cells);
        /* model variant glomeruli acc-noa acc-s balanced F1-noa F1-s macro-F1 */
        CHECK(n == 9);
        if (n != 9)
            continue;
        snprintf(buf, sizeof buf, "%lld", (long long)eval_metric(m, "n"));
        check_cell("n", m, cells[2], buf);
        static const char *const cls[] = {"noa", "s"};
        for (int c = 0; c < 2; c++) {
            snprintf(path, sizeof path, "per_class.%s.accuracy", cls[c]);
            check_cell(path, m, cells[3 + c], f4(buf, eval_metric(m, path)));
            snprintf(path, sizeof path, "per_class.%s.f1", cls[c]);
            check_cell(path, m, cells[6 + c], f4(buf, eval_metric(m, path)));
        }
        check_cell("balanced", m, cells[5], f4(buf, eval_metric(m, "balanced_accuracy")));
        check_cell("macro F1", m, cells[8], f4(buf, eval_metric(m, "macro_f1")));
    }
    CHECK(row_cells(md, "s-vs-noa", "Accuracy per class", "frozen", cells) == 9 &&
          strcmp(cells[1], "PAS_ALL+, frozen generators") == 0);
    CHECK(row_cells(md, "s-vs-noa", "Accuracy per class", "noaug", cells) == 9 &&
          strcmp(cells[1], "PAS_ONLY, no augmentation") == 0);
    CHECK(strstr(md, "| model | variant | glomeruli | acc noa | acc s | balanced acc | "
                     "F1 noa | F1 s | macro F1 |\n|---|---|---:|") != NULL);
    /* The other task has its own table, with its own classes. */
    CHECK(row_cells(md, "gs-vs-rest", "Accuracy per class", "gs", cells) == 9 &&
          strcmp(cells[3], f4(buf, eval_metric("gs", "per_class.rest.accuracy"))) == 0);
    CHECK(row_cells(md, "s-vs-noa", "Accuracy per class", "gs", cells) == 0);
}

static void check_gap(const char *md)
{
    static const char *const models[] = {"only", "noaug", "all", "frozen", "gs"};
    char cells[MAXC][96], buf[32];
    for (int i = 0; i < 5; i++) {
        const char *m = models[i], *task = i == 4 ? "gs-vs-rest" : "s-vs-noa";
        int n = row_cells(md, task, "Train accuracy", m, cells);
        CHECK(n == 7);
        if (n != 7)
            continue;
        snprintf(buf, sizeof buf, "%lld", (long long)eval_metric(m, "train.n"));
        check_cell("train n", m, cells[2], buf);
        check_cell("train acc", m, cells[3], f4(buf, eval_metric(m, "train.accuracy")));
        check_cell("test acc", m, cells[5], f4(buf, eval_metric(m, "accuracy")));
        check_cell("gap", m, cells[6], f4(buf, eval_metric(m, "gap")));
    }
}

static void check_ablations(const char *md)
{
    char cells[MAXC][96], buf[64];
    /* Joint vs frozen: both rows and the p-value of the compare run stored
     * as (frozen, all). */
    CHECK(row_cells(md, "s-vs-noa", "Joint vs separate", "all", cells) == 6 &&
          strcmp(cells[1], "fine-tuned jointly") == 0 &&
          strcmp(cells[2], f4(buf, eval_metric("all", "balanced_accuracy"))) == 0);
    CHECK(row_cells(md, "s-vs-noa", "Joint vs separate", "frozen", cells) == 6);
    /* Stored as (frozen, all): the one-sided counts are swapped back. */
    char line[256];
    snprintf(line, sizeof line, "McNemar, joint vs frozen: p = %.4g (%lld glomeruli; only all "
             "right %lld, only frozen right %lld).", p_value("frozen", "all"),
             (long long)cmp_value("frozen", "all", "n"), (long long)cmp_value("frozen", "all",
                                                                               "b_only"),
             (long long)cmp_value("frozen", "all", "a_only"));
    if (!strstr(md, line)) {
        fprintf(stderr, "missing: %s\n", line);
        g2c_test_failures++;
    }
    /* Augmentation: the PAS_ONLY pair and G2C, not the frozen model. */
    CHECK(row_cells(md, "s-vs-noa", "G2C vs conventional", "only", cells) == 8 &&
          strcmp(cells[7], "baseline") == 0);
    CHECK(row_cells(md, "s-vs-noa", "G2C vs conventional", "noaug", cells) == 8 &&
          strcmp(cells[2], "none") == 0);
    snprintf(buf, sizeof buf, "%.4g", p_value("only", "all"));
    CHECK(row_cells(md, "s-vs-noa", "G2C vs conventional", "all", cells) == 8 &&
          strcmp(cells[7], buf) == 0);
    CHECK(row_cells(md, "s-vs-noa", "G2C vs conventional", "frozen", cells) == 0);
    /* gs-vs-rest has one model: both sections explain what is missing. */
    const char *gs = strstr(md, "## Task gs-vs-rest");
    CHECK(gs && strstr(gs, "No pair: it needs PAS_ALL+") && strstr(gs, "Not enough models"));
}

static void check_mcnemar_time(const char *md)
{
    static const char *const models[] = {"noaug", "all", "frozen"};
    char cells[MAXC][96], buf[64];
    for (int i = 0; i < 3; i++) {
        const char *m = models[i];
        int n = row_cells(md, "s-vs-noa", "McNemar against only", m, cells);
        CHECK(n == 8);
        if (n != 8)
            continue;
        snprintf(buf, sizeof buf, "%.4g", p_value("only", m));
        check_cell("p", m, cells[5], buf);
        snprintf(buf, sizeof buf, "%lld", (long long)cmp_value("only", m, "n"));
        check_cell("paired", m, cells[2], buf);
        snprintf(buf, sizeof buf, "%lld", (long long)cmp_value("only", m, "a_only"));
        check_cell("only baseline right", m, cells[3], buf);
        snprintf(buf, sizeof buf, "%lld", (long long)cmp_value("only", m, "b_only"));
        check_cell("only model right", m, cells[4], buf);
        snprintf(buf, sizeof buf, "%.2f",
                 qd("SELECT json_extract(r.metrics, '$.seconds') / 60.0 FROM runs r JOIN "
                    "models m ON m.id = r.model_id WHERE m.name = '%s' AND r.kind = 'train'",
                    m));
        check_cell("train min", m, cells[6], buf);
        check_cell("epochs", m, cells[7], "2");
    }
    CHECK(row_cells(md, "s-vs-noa", "McNemar against only", "only", cells) == 8 &&
          strcmp(cells[2], "baseline") == 0);
    /* gs-vs-rest: no PAS_ONLY of that task was compared with anything. */
    CHECK(row_cells(md, "gs-vs-rest", "McNemar against gs", "gs", cells) == 8);
}

/* Level 2 given level 1: the given model and the excluded count. */
static void check_level2(const char *out)
{
    train("t-l2", "--name l2 --task ss-vs-gs --variant PAS_ONLY");
    int rc = g2c_test_cli(db, "eval-l2", "eval --model l2 --given only");
    if (rc != 0) {
        /* Level 1 called no test ss/gs glomerulus s: nothing to tabulate. */
        g2c_test_cli_expect("eval-l2", "err", "no glomeruli of task ss-vs-gs");
        fprintf(stderr, "level 2 not evaluable on this fixture; its table is not checked\n");
        return;
    }
    g2c_test_cli_ok("table-l2", g2c_test_cli(db, "table-l2", "compare --table %s --models l2", out));
    char *md = read_text(out), cells[MAXC][96], buf[64];
    CHECK(md != NULL);
    if (!md)
        return;
    snprintf(buf, sizeof buf, "only (%lld)", (long long)eval_metric("l2", "given_excluded"));
    CHECK(row_cells(md, "ss-vs-gs", "Accuracy per class", "l2", cells) == 10 &&
          strcmp(cells[2], buf) == 0 &&
          strcmp(cells[4], f4(buf, eval_metric("l2", "per_class.ss.accuracy"))) == 0);
    CHECK(strstr(md, "(g2c eval --given)") != NULL);
}

static void check_errors(const char *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.md", dir);
    CHECK(g2c_test_cli(db, "no-eval", "compare --table %s --models only,noeval", path) == 1);
    g2c_test_cli_expect("no-eval", "err",
                        "model 'noeval' has no g2c eval run on the test split");
    CHECK(g2c_test_cli(db, "unknown", "compare --table %s --models only,nosuch", path) == 1);
    g2c_test_cli_expect("unknown", "err", "no model named 'nosuch'");
    CHECK(g2c_test_cli(db, "twice", "compare --table %s --models only,only", path) == 1);
    g2c_test_cli_expect("twice", "err", "'only' is listed twice");
    CHECK(g2c_test_cli(db, "base", "compare --table %s --models only --baseline all", path) == 1);
    g2c_test_cli_expect("base", "err", "--baseline 'all' is not one of the models");
    CHECK(g2c_test_cli(db, "mix", "compare --table %s --model only --model all", path) == 2);
    g2c_test_cli_expect("mix", "err", "--table takes --models");
    CHECK(g2c_test_cli(db, "models", "compare --model only --model all --models a,b") == 2);
    g2c_test_cli_expect("models", "err", "go with --table");
    snprintf(path + strlen(path), 8, ".tmp");
    CHECK(access(path, F_OK) != 0);
    path[strlen(path) - 4] = '\0';
    CHECK(access(path, F_OK) != 0);
    /* A folder that does not exist: the file is named. */
    CHECK(g2c_test_cli(db, "nodir", "compare --table %s/none/t.md --models only", dir) == 1);
    g2c_test_cli_expect("nodir", "err", "none/t.md.tmp: cannot create");
    (void)out;
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    build_catalog();
    distinct_values();
    if (g2c_test_failures)
        return g2c_test_finish("ablation");
    char out[4200];
    snprintf(out, sizeof out, "%s/ablation.md", dir);
    long long runs = g2c_test_scalar(db, "SELECT count(*) FROM runs");
    g2c_test_cli_ok("table", g2c_test_cli(db, "table", "compare --table %s --title 'tiny ablation' "
                                                 "--models only,noaug,all,frozen,gs", out));
    CHECK(g2c_test_scalar(db, "SELECT count(*) FROM runs") == runs); /* read-only */
    char *md = read_text(out);
    CHECK(md != NULL);
    if (md) {
        CHECK(strncmp(md, "# tiny ablation\n", 16) == 0);
        check_per_class(md);
        check_gap(md);
        check_ablations(md);
        check_mcnemar_time(md);
        /* Tasks in the order of the task table, each once. */
        const char *a = strstr(md, "## Task s-vs-noa"), *b = strstr(md, "## Task gs-vs-rest");
        CHECK(a && b && a < b && !strstr(md, "## Task ss-vs-gs"));
    }
    /* Without --models: every model with an eval run, noeval left out. */
    g2c_test_cli_ok("table-all", g2c_test_cli(db, "table-all", "compare --table %s", out));
    md = read_text(out);
    char cells[MAXC][96];
    CHECK(md && row_cells(md, "s-vs-noa", "Accuracy per class", "frozen", cells) == 9 &&
          row_cells(md, "s-vs-noa", "Accuracy per class", "noeval", cells) == 0);
    check_errors(out);
    check_level2(out);
    return g2c_test_finish("ablation");
}
