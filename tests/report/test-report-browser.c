/* The report page in a real browser: headless Chromium loads report.html
 * and the patient index from disk (no network) and
 *  - --dump-dom: the DOM has one table row and one SVG rect per glomerulus,
 *    and the patient id "<script>alert(1)</script>" is text, not a script
 *    element;
 *  - --screenshot: a 1280x2000 PNG that is not blank and shows the class
 *    colours.
 * Skips (77) when Chromium is not installed ($G2C_CHROMIUM, else chromium
 * or chromium-browser on PATH). */
#include "fixture.h"
#include "testutil.h"

#include "ingest/slides.h"

#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/report.h"

#include <string.h>
#include <unistd.h>

static char chromium[4096];

static int find_chromium(void)
{
    const char *env = getenv("G2C_CHROMIUM");
    if (env && *env) {
        snprintf(chromium, sizeof chromium, "%s", env);
        return access(chromium, X_OK) == 0;
    }
    static const char *const names[] = {"chromium", "chromium-browser"};
    const char *path = getenv("PATH");
    for (int n = 0; n < 2; n++) {
        char dirs[8192];
        snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
        for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(chromium, sizeof chromium, "%s/%s", d, names[n]);
            if (access(chromium, X_OK) == 0)
                return 1;
        }
    }
    return 0;
}

/* Run headless Chromium on a page with one more flag; its stdout goes to
 * `out` (a path).  A fresh profile each time, so no state carries over. */
static int browse(const char *page, const char *flag, const char *out)
{
    static int n;
    n++;
    /* Each argument quoted into its own buffer: a redirection must never
     * point anywhere but the test's folder. */
    char exe[4200], profile[4200], url[4200], out_q[4200], err_q[4200], buf[4200];
    fx_quote_to(exe, sizeof exe, chromium);
    snprintf(buf, sizeof buf, "--user-data-dir=%s", fx_path("chromium-profile-%d", n));
    fx_quote_to(profile, sizeof profile, buf);
    snprintf(buf, sizeof buf, "file://%s", page);
    fx_quote_to(url, sizeof url, buf);
    fx_quote_to(out_q, sizeof out_q, out);
    fx_quote_to(err_q, sizeof err_q, fx_path("chromium-%d.err", n));
    return g2c_test_system(
        "timeout 90 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync "
        "%s %s %s >%s 2>%s",
        exe, profile, flag, url, out_q, err_q);
}

static void dom(void)
{
    char dom_path[4096];
    snprintf(dom_path, sizeof dom_path, "%s", fx_path("dom.html"));
    char page[4096];
    snprintf(page, sizeof page, "%s", fx_path("r1/report.html"));
    CHECK(browse(page, "--dump-dom", dom_path) == 0);
    char *text = test_read_text(dom_path);
    CHECK(strstr(text, "glomeruli-table") != NULL); /* the page did load */
    CHECK(fx_count(text, "<tr id=\"g") == 4);
    CHECK(fx_count(text, "<rect ") == 4);
    CHECK(fx_count(text, "<svg ") == 1);
    CHECK(strstr(text, "<script") == NULL);
    CHECK(strstr(text, "<strong id=\"patient\">&lt;script&gt;alert(1)&lt;/script&gt;</strong>") !=
          NULL);
    free(text);

    snprintf(dom_path, sizeof dom_path, "%s", fx_path("index-dom.html"));
    snprintf(page, sizeof page, "%s", fx_path("pat/index.html"));
    CHECK(browse(page, "--dump-dom", dom_path) == 0);
    text = test_read_text(dom_path);
    CHECK(fx_count(text, "<tr id=\"s") == 3);
    CHECK(strstr(text, "<script") == NULL);
    CHECK(strstr(text, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    free(text);
}

/* Pixels within 2 levels of a class colour (antialiasing aside, swatches
 * and box strokes are drawn in exactly these). */
static long colour_pixels(const G2cImage *img, const char *label)
{
    uint8_t rgb[3];
    g2c_report_label_color(label, rgb);
    long n = 0;
    for (long i = 0; i < (long)img->width * img->height; i++) {
        const uint8_t *p = img->rgb + i * 3;
        n += abs(p[0] - rgb[0]) <= 2 && abs(p[1] - rgb[1]) <= 2 && abs(p[2] - rgb[2]) <= 2;
    }
    return n;
}

static void screenshot(void)
{
    char shot[4096], arg[4200], flag[4300], page[4096], out[4096];
    snprintf(shot, sizeof shot, "%s", fx_path("shot.png"));
    snprintf(page, sizeof page, "%s", fx_path("r1/report.html"));
    snprintf(out, sizeof out, "%s", fx_path("shot.out"));
    snprintf(flag, sizeof flag, "--screenshot=%s", shot);
    fx_quote_to(arg, sizeof arg, flag);
    snprintf(flag, sizeof flag, "%s --window-size=1280,2000", arg);
    CHECK(browse(page, flag, out) == 0);
    G2cImage img = {0};
    CHECK_OK(g2c_png_read(shot, &img));
    if (!img.rgb)
        return;
    CHECK(img.width == 1280 && img.height == 2000);
    long white = 0, total = (long)img.width * img.height;
    for (long i = 0; i < total; i++)
        white += img.rgb[i * 3] > 245 && img.rgb[i * 3 + 1] > 245 && img.rgb[i * 3 + 2] > 245;
    fprintf(stderr, "screenshot: %.1f %% near-white; gs %ld, noa %ld, ss %ld class-colour px\n",
            100.0 * white / total, colour_pixels(&img, "gs"), colour_pixels(&img, "noa"),
            colour_pixels(&img, "ss"));
    CHECK(white < total * 0.95); /* the slide (400x300) and crops are there */
    CHECK(colour_pixels(&img, "gs") >= 100);
    CHECK(colour_pixels(&img, "noa") >= 100);
    CHECK(colour_pixels(&img, "ss") >= 100);
    CHECK(colour_pixels(&img, "nongs") < 20); /* not on this slide */
    g2c_image_free(&img);
}

int main(void)
{
    if (!find_chromium())
        g2c_test_skip("Chromium is not installed (apt-get install chromium, or set "
                      "G2C_CHROMIUM)");
    fx_make_catalog();
    CHECK(fx_g2c("r1", "report --slide 1 --out %s", fx_quote(fx_path("r1"))) == 0);
    CHECK(fx_g2c("pat", "report --patient %s --out %s", fx_quote(SCRIPT_PATIENT),
                 fx_quote(fx_path("pat"))) == 0);
    fx_validate(fx_path("r1/report.json"));
    fx_validate(fx_path("pat/slide-1/report.json"));
    dom();
    screenshot();
    return g2c_test_finish("report-browser");
}
