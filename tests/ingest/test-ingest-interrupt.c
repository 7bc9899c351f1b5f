/* kill -9 in the middle of an ingestion, then the same command again: the
 * catalog ends up exactly as after one uninterrupted run. */
#include "slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SLIDES = 6, BOXES = 40 };

static const char *dir;

static void make_inputs(void)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/manifest.csv", dir);
    FILE *m = fopen(path, "w");
    fputs("patient,slide,stain,annotations\n", m);
    for (int s = 0; s < SLIDES; s++) {
        snprintf(path, sizeof path, "%s/s%d.tiff", dir, s);
        CHECK_OK(test_slide_write(path, 800, 600, 100 + (uint64_t)s));
        snprintf(path, sizeof path, "%s/s%d.csv", dir, s);
        FILE *a = fopen(path, "w");
        for (int b = 0; b < BOXES; b++) {
            snprintf(line, sizeof line, "%d,%d,%d,%d,%s\n", 60 + (b * 97) % 640,
                     70 + (b * 53) % 460, 40 + b % 30, 40 + b % 20, b % 3 ? "noa" : "gs");
            fputs(line, a);
        }
        fclose(a);
        fprintf(m, "P%d,s%d.tiff,PAS,s%d.csv\n", s / 2, s, s);
    }
    fclose(m);
}

static pid_t start_ingest(const char *db)
{
    pid_t pid = fork();
    if (pid == 0) {
        char manifest[4096];
        snprintf(manifest, sizeof manifest, "%s/manifest.csv", dir);
        freopen("/dev/null", "w", stdout);
        const char *exe = getenv("G2C_EXE");
        execl(exe, exe, "--quiet", "--threads", "1", "--db", db, "ingest", "--png-level", "6",
              manifest, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int64_t count_slides(const char *db)
{
    sqlite3 *h;
    int64_t n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 1000);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, "SELECT count(*) FROM slides", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
    return n;
}

/* Everything the catalog holds about the data, without times and run ids. */
static char *dump(const char *db)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    if (!cat)
        return strdup("");
    static const char *const queries[] = {
        "SELECT id, external_id FROM patients ORDER BY id",
        "SELECT id, patient_id, stain_id, path, width, height, level_count, mpp_x, "
        "fingerprint FROM slides ORDER BY id",
        "SELECT * FROM slide_levels ORDER BY 1, 2",
        "SELECT id, slide_id, label_id, x, y, w, h, source_id, clipped FROM annotations "
        "ORDER BY id",
        "SELECT id, slide_id, annotation_id, level, x, y, w, h, length(png), hex(png) "
        "FROM patches ORDER BY id",
    };
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    text[0] = '\0';
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        sqlite3_stmt *st = g2c_catalog_prepare(cat, queries[q]);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const char *v = (const char *)sqlite3_column_text(st, c);
                size_t n = strlen(v ? v : "") + 2;
                if (len + n + 1 > cap) {
                    cap = 2 * (len + n + 1);
                    text = realloc(text, cap);
                }
                len += (size_t)sprintf(text + len, "%s|", v ? v : "");
            }
            text[len++] = '\n';
            text[len] = '\0';
        }
        sqlite3_finalize(st);
    }
    g2c_catalog_close(cat);
    return text;
}

int main(void)
{
    dir = g2c_test_tmpdir();
    make_inputs();
    char whole[4096], interrupted[4096];
    snprintf(whole, sizeof whole, "%s/whole.db", dir);
    snprintf(interrupted, sizeof interrupted, "%s/interrupted.db", dir);

    CHECK(wait_status(start_ingest(whole)) == 0);
    CHECK(count_slides(whole) == SLIDES);

    /* Kill once at least one slide is in, before all are. */
    pid_t pid = start_ingest(interrupted);
    struct timespec tick = {0, 2000000};
    int64_t n = 0;
    for (int i = 0; i < 30000 && n < 1; i++) {
        nanosleep(&tick, NULL);
        n = count_slides(interrupted);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    int64_t after_kill = count_slides(interrupted);
    fprintf(stderr, "killed with %lld of %d slides in the catalog\n", (long long)after_kill,
            SLIDES);
    CHECK(after_kill >= 1 && after_kill < SLIDES);

    CHECK(wait_status(start_ingest(interrupted)) == 0);
    char *a = dump(whole), *b = dump(interrupted);
    CHECK(strlen(a) > 1000);
    CHECK(strcmp(a, b) == 0);
    free(a);
    free(b);
    return g2c_test_finish("ingest-interrupt");
}
