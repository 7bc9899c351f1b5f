/* Bad requests to g2c report and g2c export: each is refused with a message
 * that names the catalog and what is missing, writes no output folder and
 * leaves the catalog byte for byte as it was. */
#include "fixture.h"
#include "testutil.h"

#include "ingest/slides.h"

#include "g2c/catalog.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

static int case_no;

static uint64_t file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint64_t h = 1469598103934665603ull;
    if (!f)
        return 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 1099511628211ull;
    fclose(f);
    return h;
}

/* Run a command that must fail with `status`, name each of the `want`
 * strings (NULL-terminated) in its message and write nothing. */
static void refused(const char *db, int status, const char *args, const char *const *want)
{
    char out[4096], tag[32];
    snprintf(out, sizeof out, "%s", fx_path("bad-%d", ++case_no));
    snprintf(tag, sizeof tag, "bad-%d", case_no);
    /* Each path quoted into a buffer of its own (see fx_quote). */
    char db_q[4200], out_q[4200], stdout_q[4200], stderr_q[4200];
    fx_quote_to(db_q, sizeof db_q, db);
    fx_quote_to(out_q, sizeof out_q, out);
    fx_quote_to(stdout_q, sizeof stdout_q, fx_path("%s.out", tag));
    fx_quote_to(stderr_q, sizeof stderr_q, fx_path("%s.err", tag));
    int rc = g2c_test_system("\"%s\" --quiet --db %s %s --out %s >%s 2>%s", getenv("G2C_EXE"),
                             db_q, args, out_q, stdout_q, stderr_q);
    char *err = fx_output(tag, "err");
    if (rc != status)
        fprintf(stderr, "case %d (%s): exit %d, expected %d\n", case_no, args, rc, status);
    CHECK(rc == status);
    for (int i = 0; want[i]; i++)
        if (!strstr(err, want[i])) {
            fprintf(stderr, "case %d (%s): message lacks '%s':\n%s", case_no, args, want[i], err);
            CHECK(0);
        }
    struct stat st;
    CHECK(stat(out, &st) != 0); /* no output folder */
    free(err);
}

#define REFUSED(db, status, args, ...)                           \
    do {                                                         \
        const char *const want_[] = {__VA_ARGS__, NULL};         \
        refused(db, status, args, want_);                        \
    } while (0)

static void bad_requests(void)
{
    char buf[2048];
    /* unknown slide, patient, model */
    REFUSED(fx_db, 1, "report --slide nope.tiff", fx_db, "no slide 'nope.tiff'",
            "'g2c query slides' lists the 5 slide(s)");
    REFUSED(fx_db, 1, "report --slide 99", "no slide '99'");
    REFUSED(fx_db, 1, "report --patient nobody", fx_db, "no patient 'nobody'",
            "2 patient(s)");
    REFUSED(fx_db, 1, "report --slide 1 --model zzz", fx_db, "no model 'zzz'",
            "(models: m-new <i>, m-old)");
    /* no predictions */
    REFUSED(fx_db, 1, "report --slide c.tiff", fx_db,
            "slide 'c.tiff' (id 4) has no predictions yet (run inference first)");
    REFUSED(fx_db, 1, "report --slide 2 --model m-old",
            "slide 'it's \"b\".tiff' (id 2) has no predictions from model 'm-old'",
            "(models with predictions on it: m-new <i>)");
    REFUSED(fx_db, 1, "report --patient P2 --model m-old",
            "patient 'P2' has no predictions from model 'm-old'",
            "(models with predictions on it: m-new <i>)");
    snprintf(buf, sizeof buf, "report --slide 3");
    REFUSED(fx_db, 1, buf, "slide 'he.tiff' (id 3) has no predictions yet");
    /* ambiguous */
    REFUSED(fx_db, 1, "report --slide a.tiff", "slide name 'a.tiff' is ambiguous",
            "slides 1 and 5", "give the slide id");
    /* command line */
    REFUSED(fx_db, 2, "report", "give --slide or --patient");
    REFUSED(fx_db, 2, "report --slide 1 --patient P2", "give --slide or --patient");
    REFUSED(fx_db, 2, "report --slide 1 --thumb-width 5", "--thumb-width expects");
    REFUSED(fx_db, 2, "report --slide 1 extra", "usage: g2c report");

    /* export */
    REFUSED(fx_db, 1, "export --geojson --slide nope.tiff", "no slide 'nope.tiff'");
    REFUSED(fx_db, 1, "export --geojson --patient nobody", "no patient 'nobody'");
    REFUSED(fx_db, 1, "export --geojson --model zzz", "no model 'zzz'");
    REFUSED(fx_db, 1, "export --geojson --slide 4", "slide 'c.tiff' (id 4) has no predictions");
    REFUSED(fx_db, 1, "export --geojson --slide 5 --model m-old",
            "slide 'a.tiff' (id 5) has no predictions from model 'm-old'");
    REFUSED(fx_db, 2, "export --slide 1", "choose a format: --geojson");
    REFUSED(fx_db, 2, "export --geojson --slide 1 --patient P2", "not both");
}

/* Catalogs without crops, without anything, and no catalog at all. */
static void bad_catalogs(void)
{
    char nocrops[4096], somecrops[4096], empty[4096], missing[4096];
    snprintf(nocrops, sizeof nocrops, "%s", fx_path("nocrops.db"));
    snprintf(somecrops, sizeof somecrops, "%s", fx_path("somecrops.db"));
    snprintf(empty, sizeof empty, "%s", fx_path("empty.db"));
    snprintf(missing, sizeof missing, "%s", fx_path("missing.db"));
    CHECK(g2c_test_system("cp %s %s && cp %s %s", fx_quote(fx_db), fx_quote(nocrops),
                          fx_quote(fx_db), fx_quote(somecrops)) == 0);
    CHECK(fx_sql(nocrops, "DELETE FROM patches") == 0);
    CHECK(fx_sql(somecrops, "DELETE FROM patches WHERE annotation_id IN "
                            "(SELECT id FROM annotations WHERE slide_id = 2)") == 0);
    G2cCatalog *cat = g2c_catalog_open(empty, G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    g2c_catalog_close(cat);
    uint64_t before = file_hash(nocrops);

    REFUSED(nocrops, 1, "report --slide 1", nocrops,
            "the catalog has no glomerulus crops yet, so slide 'a.tiff' (id 1) cannot be shown",
            "run 'g2c ingest'");
    char buf[256];
    snprintf(buf, sizeof buf, "report --patient %s", fx_quote(SCRIPT_PATIENT));
    REFUSED(nocrops, 1, buf, "no glomerulus crops yet");
    REFUSED(somecrops, 1, "report --slide 2",
            "slide 'it's \"b\".tiff' (id 2) has glomeruli but no crops of them yet");
    REFUSED(empty, 1, "report --slide 1", empty, "the catalog has no slides yet",
            "run 'g2c ingest' first");
    REFUSED(empty, 1, "export --geojson", "the catalog has no predictions yet");
    REFUSED(missing, 1, "report --slide 1", "missing.db: no such catalog");
    struct stat st;
    CHECK(stat(missing, &st) != 0);
    CHECK(file_hash(nocrops) == before);
}

int main(void)
{
    fx_make_catalog();
    uint64_t before = file_hash(fx_db);
    CHECK(before != 0);
    bad_requests();
    bad_catalogs();
    CHECK(file_hash(fx_db) == before); /* nothing changed in the catalog */
    return g2c_test_finish("report-errors");
}
